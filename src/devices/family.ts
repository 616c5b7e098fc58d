/**
 * Chip-family facts: which family (ESP32 or ESP8266) a device or an image belongs to, and the
 * rules that follow from the family alone. One home for each rule (issue 15):
 * - the default OTA port of each family (3232 ESP32, 8266 ESP8266; protocol.md §2.3), and which
 *   family a port implies;
 * - the signed-image rule: espota sends FILE.signed when it exists to an ESP8266 device only;
 * - the family an application image is built for, from its header (formats.md §4.2: an ESP32
 *   image has the 16-byte extended header, an ESP8266 one has not).
 * Pure: imports core and formats only.
 */
import { readImageHeader } from '../formats/image/walk.ts';

/** The two chip families ArduinoOTA runs on (every ESP32 variant is family 'esp32'). */
export type ChipFamily = 'esp32' | 'esp8266';

/** Default device OTA ports per family (ArduinoOTA and espota; protocol.md §2.3). */
export const DEFAULT_PORT = { esp32: 3232, esp8266: 8266 } as const;

/** What a device record or an upload knows of a device; any field may be missing. */
export interface FamilyHints {
  /** Core kind: 'esp32', 'esp32-legacy' or 'esp8266' (other text is ignored). */
  core?: string | null | undefined;
  /** Chip name ('esp8266', 'esp32s3', …). */
  chip?: string | null | undefined;
  port?: number | null | undefined;
}

/** The family a port implies: its default port; undefined for any other port. */
export function familyOfPort(port: number | null | undefined): ChipFamily | undefined {
  if (port === DEFAULT_PORT.esp32) return 'esp32';
  if (port === DEFAULT_PORT.esp8266) return 'esp8266';
  return undefined;
}

/**
 * The default OTA port for a family, a core kind ('esp32-legacy' is ESP32) or what a record
 * says (core, else chip): 8266 for ESP8266, else 3232 — the espota default for an unknown device.
 */
export function defaultPort(of?: ChipFamily | string | FamilyHints | null): number {
  const esp8266 =
    typeof of === 'string' ? of === 'esp8266' : of?.core === 'esp8266' || of?.chip === 'esp8266';
  return esp8266 ? DEFAULT_PORT.esp8266 : DEFAULT_PORT.esp32;
}

/**
 * The signed-image rule (espota.py, ESP8266 only): whether FILE.signed is sent instead of FILE.
 * `true`/`false` decide; `'auto'` or undefined: when the device looks like an ESP8266 (its port is
 * 8266, its core is esp8266, or its chip name contains 8266).
 */
export function sendsSignedImage(option: boolean | 'auto' | undefined, device: FamilyHints): boolean {
  if (option === true) return true;
  if (option === false) return false;
  return (
    device.port === DEFAULT_PORT.esp8266 ||
    device.core === 'esp8266' ||
    /8266/.test(device.chip ?? device.core ?? '')
  );
}

/** The chip family an application image is built for, from its header; undefined if unknown. */
export function imageFamily(head: Uint8Array, command: number): ChipFamily | undefined {
  if (command !== 0 || head.length < 24 || head[0] !== 0xe9) return undefined;
  try {
    return readImageHeader(head).extended === undefined ? 'esp8266' : 'esp32';
  } catch {
    return undefined;
  }
}

/** boards.txt ids of the esp8266/Arduino core that do not say "8266" themselves. */
const ESP8266_BOARDS = new Set([
  'generic',
  'esp8285',
  'espduino',
  'huzzah',
  'inventone',
  'cw01',
  'espresso_lite_v1',
  'espresso_lite_v2',
  'phoenix_v1',
  'phoenix_v2',
  'nodemcu',
  'nodemcuv2',
  'modwifi',
  'thing',
  'thingdev',
  'blynk',
  'esp210',
  'd1_mini',
  'd1_mini_pro',
  'd1_mini_lite',
  'd1_mini_clone',
  'd1',
  'espino',
  'espinotee',
  'wifinfo',
  'arduino-esp8266',
  'gen4iod',
  'oak',
  'wifiduino',
  'wifi_slot',
  'wiolink',
  'espectro',
  'eduinowifi',
  'sonoff',
  'agruminolemon',
  'wifi_kit_8',
]);

/**
 * The family an mDNS TXT `board` (a boards.txt id) names: an esp8266/Arduino id (`generic`,
 * `nodemcuv2`, `d1_mini`, …) or anything containing `8266`/`8285` is ESP8266; a name containing
 * `32` (`esp32`, `esp32s3`, `lolin32`, `d1_mini32`) is ESP32; undefined otherwise.
 */
export function familyOfBoard(board: string): ChipFamily | undefined {
  const b = board.toLowerCase();
  if (b === '') return undefined;
  if (ESP8266_BOARDS.has(b) || /8266|8285/.test(b)) return 'esp8266';
  if (/32/.test(b)) return 'esp32';
  return undefined;
}
