/** What doctor knows about one PlatformIO environment, and the facts read off it (core, OTA or not). */

import { isAirflashCommand } from './airflash.ts';
import type { EspotaCore } from './espota.ts';
import type { ResolvedOption } from './platformio-ini.ts';

export interface EnvFacts {
  name: string;
  /** platformio.ini path shown in findings (relative to the project). */
  file: string;
  platform?: ResolvedOption;
  board?: ResolvedOption;
  framework?: ResolvedOption;
  uploadProtocol?: ResolvedOption;
  uploadPort?: ResolvedOption;
  uploadFlags?: ResolvedOption;
  /** upload_command (runs with upload_protocol = custom). */
  uploadCommand?: ResolvedOption;
  /** upload_flags split the PlatformIO way. */
  flags: string[];
  core?: EspotaCore;
}

const IPV4_RE = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/** PlatformIO switches to espota when upload_port looks like an IPv4 address or a .local name. */
export function looksLikeNetworkPort(port: string): boolean {
  const bare = port.replace(/^"|"$/g, '');
  return IPV4_RE.test(bare) || /^[^\\/]+\.local$/i.test(bare);
}

export function looksLikeSerialPort(port: string): boolean {
  return /^(COM\d+|\/dev\/|\/dev$)/i.test(port) || /tty|usbserial|usbmodem|wchusbserial/i.test(port);
}

export function isOtaEnv(env: EnvFacts): boolean {
  const protocol = env.uploadProtocol?.value.trim().toLowerCase();
  if (protocol === 'espota') return true;
  if (protocol === 'custom' && isAirflashCommand(env.uploadCommand?.value)) return true;
  const port = env.uploadPort?.value.trim();
  return port !== undefined && looksLikeNetworkPort(port);
}

/** ESP32 or ESP8266 from `platform` (and, failing that, `board`). */
export function coreOf(platform: string | undefined, board: string | undefined): EspotaCore | undefined {
  const p = (platform ?? '').toLowerCase();
  if (p.includes('espressif8266') || p.includes('esp8266')) return 'esp8266';
  if (p.includes('espressif32') || p.includes('esp32') || p.includes('pioarduino')) return 'esp32';
  const b = (board ?? '').toLowerCase();
  if (b === '') return undefined;
  if (
    /esp32|lolin32|nodemcu-32|ttgo|heltec|m5stack|featheresp32|lilygo|pico32|wrover|wroom|t-beam|xiao_esp32/.test(
      b,
    )
  )
    return 'esp32';
  if (
    /8266|8285|nodemcu|d1_mini|^d1$|esp01|esp07|esp12|wemos|huzzah|thing|wio_link|espino|espduino|oak/.test(b)
  )
    return 'esp8266';
  return undefined;
}

export function coreLabel(core: EspotaCore): string {
  return core === 'esp32' ? 'ESP32' : 'ESP8266';
}

export function otherCore(core: EspotaCore): EspotaCore {
  return core === 'esp32' ? 'esp8266' : 'esp32';
}
