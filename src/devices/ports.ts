/**
 * The port rules built on the family defaults (devices/family.ts): a warning for the other
 * family's port, and the ports to try when nothing listens.
 */
import { type ChipFamily, DEFAULT_PORT } from './family.ts';

const FAMILY_LABEL: Record<ChipFamily, string> = { esp32: 'an ESP32', esp8266: 'an ESP8266' };

/** A warning when the port is the other family's default (8266 with an ESP32 app, 3232 with an ESP8266 sketch). */
export function portFamilyMismatch(port: number, family: ChipFamily | undefined): string | undefined {
  if (family === undefined) return undefined;
  const other: ChipFamily = family === 'esp32' ? 'esp8266' : 'esp32';
  if (port !== DEFAULT_PORT[other] || port === DEFAULT_PORT[family]) return undefined;
  return (
    `Port ${port} is the ${other === 'esp32' ? 'ESP32' : 'ESP8266'} default, but the image is for ${FAMILY_LABEL[family]}, ` +
    `which listens on ${DEFAULT_PORT[family]} by default (unless the sketch calls ArduinoOTA.setPort()).`
  );
}

/**
 * Ports to try when nothing listens on `given` (ICMP port unreachable): the port the device
 * advertises over mDNS, then the image family's default; for an image of unknown family (a
 * filesystem image), both defaults.
 */
export function alternatePorts(
  given: number,
  family: ChipFamily | undefined,
  advertised: number | undefined,
): number[] {
  const defaults = family === undefined ? [DEFAULT_PORT.esp32, DEFAULT_PORT.esp8266] : [DEFAULT_PORT[family]];
  const out: number[] = [];
  for (const p of [advertised, ...defaults])
    if (p !== undefined && p !== given && !out.includes(p)) out.push(p);
  return out;
}

/** The platformio.ini fix for a wrong port (one flag per line; never the password itself). */
export function uploadFlagsFix(port: number, withPassword: boolean): string {
  return `upload_flags =\n    ${withPassword ? '--auth=PASSWORD\n    ' : ''}--port=${port}`;
}
