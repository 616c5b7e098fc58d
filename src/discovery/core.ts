import { familyOfBoard, familyOfPort } from '../devices/family.ts';
import type { DiscoveredCore } from './types.ts';

/**
 * The TXT sets ArduinoOTA devices advertise (protocol.md §6), in the order each core builds them:
 * ESP32 `board, tcp_check, ssh_upload, auth_upload`; ESP8266 `tcp_check, ssh_upload, board,
 * auth_upload`. `auth_upload` is `yes` when a password was set at `ArduinoOTA.begin()`.
 */
export function arduinoTxt(
  core: 'esp32' | 'esp32-legacy' | 'esp8266',
  board: string,
  auth: boolean,
): Array<[string, string]> {
  const authValue = auth ? 'yes' : 'no';
  if (core === 'esp8266') {
    return [
      ['tcp_check', 'no'],
      ['ssh_upload', 'no'],
      ['board', board],
      ['auth_upload', authValue],
    ];
  }
  return [
    ['board', board],
    ['tcp_check', 'no'],
    ['ssh_upload', 'no'],
    ['auth_upload', authValue],
  ];
}

/**
 * Which core an advertisement implies, strongest evidence first:
 * 1. the order of the four ArduinoOTA TXT keys, as each core adds them or as it sends them (both
 *    responders prepend every added item to the service's list and send it from the head, so the
 *    wire order is the reverse, issue 13 item 7): ESP8266 adds `tcp_check, ssh_upload, board,
 *    auth_upload` and sends `auth_upload, board, ssh_upload, tcp_check`; ESP32 adds `board,
 *    tcp_check, ssh_upload, auth_upload` and sends `auth_upload, ssh_upload, tcp_check, board`.
 *    Any other order says nothing, and nothing but the core is read from the order;
 * 2. the `board` value: an esp8266/Arduino boards.txt id (`generic`, `nodemcuv2`, `d1_mini`, ...)
 *    or anything containing `8266`/`8285` is ESP8266; a name containing `32` (`esp32`, `esp32s3`,
 *    `lolin32`, `d1_mini32`) is ESP32;
 * 3. the port: 3232 is the ESP32 default, 8266 the ESP8266 one.
 * Undefined when none of these says anything.
 */
export function inferCore(
  txt: ReadonlyArray<readonly [string, string]>,
  port: number | undefined,
): DiscoveredCore | undefined {
  const keys = txt.map(([k]) => k.toLowerCase());
  const b = keys.indexOf('board');
  const t = keys.indexOf('tcp_check');
  const s = keys.indexOf('ssh_upload');
  const a = keys.indexOf('auth_upload');
  if (b >= 0 && t >= 0 && s >= 0 && a >= 0) {
    if (t < s && s < b && b < a) return 'esp8266';
    if (a < b && b < s && s < t) return 'esp8266';
    if (b < t && t < s && s < a) return 'esp32';
    if (a < s && s < t && t < b) return 'esp32';
  }
  const board = txt.find(([k]) => k.toLowerCase() === 'board')?.[1];
  return (board === undefined ? undefined : familyOfBoard(board)) ?? familyOfPort(port);
}
