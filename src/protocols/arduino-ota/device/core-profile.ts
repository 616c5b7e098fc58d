import type { CoreKind } from '../wire/index.ts';

/**
 * What differs between the emulated cores below ArduinoOTA's state machine: the network stack the
 * Arduino build links (lwIP options, client timeouts, IPv6), the mDNS TXT order on the wire, the
 * device's number scanner, and which Update library revision runs. One table per core, so a later
 * correction from the real sources is one line (docs/emulator.md "Per-core behaviour").
 */
export interface CoreProfile {
  /** lwIP TCP_MSS of the default Arduino build. */
  tcpMss: number;
  /** lwIP TCP_WND (the device's TCP receive window) of the default Arduino build. */
  tcpWnd: number;
  /** TCP connect timeout of the client ArduinoOTA connects back with, in device ms. */
  connectTimeoutMs: number;
  /** Does the default build answer on IPv6 (::1)? */
  ipv6: boolean;
  /** Longest digit run ArduinoOTA's parseInt() accepts; one more digit makes it return 0. */
  intDigits: number;
  /** TXT keys in the order the mDNS responder puts them on the wire. */
  txtWireOrder: readonly ('board' | 'tcp_check' | 'ssh_upload' | 'auth_upload')[];
}

/**
 * esp8266/Arduino (f946290e):
 * - tools/sdk/lwip2: the default "lwIP variant" menu entry is "v2 Lower Memory" (boards.txt
 *   `menu.ip.lm2f`), built with TCP_MSS 536 and TCP_WND = 4·TCP_MSS = 2144 (lwip2 glue
 *   `lwipopts.h`); the "Higher Bandwidth" variants use 1460.
 * - the same default variant is built without IPv6 (`lm2f` = "Lower Memory, no features"; the
 *   IPv6 variants are separate menu entries), so a default build has no ::1.
 * - libraries/ESP8266WiFi/src/WiFiClient.cpp: the client's `_timeout` starts at 5000 ms
 *   (`WiFiClient::WiFiClient()` → `setTimeout(5000)` via Stream) and bounds `connect()`.
 * - libraries/ArduinoOTA/ArduinoOTA.cpp `parseInt()`: `char data[16]`, `for (index = 0; index <
 *   sizeof(data); ++index)`: 15 digits and the terminator fit, a 16th digit returns 0.
 * - libraries/ESP8266mDNS/src/LEAmDNSControl / `enableArduino()` adds `tcp_check`, `ssh_upload`,
 *   `board`, `auth_upload` in that order with `addServiceTxt`, which prepends to the service's TXT
 *   list (`_addServiceTxt` → `stcMDNSServiceTxts::add` links new items at the head); the list is
 *   sent from its head: `auth_upload, board, ssh_upload, tcp_check` on the wire.
 */
const ESP8266: CoreProfile = {
  tcpMss: 536,
  tcpWnd: 4 * 536,
  connectTimeoutMs: 5000,
  ipv6: false,
  intDigits: 15,
  txtWireOrder: ['auth_upload', 'board', 'ssh_upload', 'tcp_check'],
};

/**
 * arduino-esp32 3.x:
 * - the Arduino sdkconfig (esp32-arduino-lib-builder `configs/defconfig.common`):
 *   CONFIG_LWIP_TCP_MSS=1436, CONFIG_LWIP_TCP_WND_DEFAULT=5744 (= 4·1436).
 * - libraries/Network/src/NetworkClient.cpp: `#define WIFI_CLIENT_DEF_CONN_TIMEOUT_MS (3000)`, the
 *   `_timeout` a fresh client's `connect()` waits in `select()`.
 * - IPv6 is enabled in the Arduino lwIP build (CONFIG_LWIP_IPV6=y).
 * - libraries/ArduinoOTA/src/ArduinoOTA.cpp `parseInt()`: `while (index < INT_BUFFER_SIZE - 1)`
 *   with INT_BUFFER_SIZE 16: 14 digits fit, the 15th returns 0.
 * - libraries/ESPmDNS/src/ESPmDNS.cpp `enableArduino()` adds `board`, `tcp_check`, `ssh_upload`,
 *   `auth_upload`; ESP-IDF mdns `_mdns_service_add_txt`/`mdns_service_txt_item_set` links each new
 *   item at the head of the service's txt list, and the packet writer walks it from the head:
 *   `auth_upload, ssh_upload, tcp_check, board` on the wire.
 */
const ESP32: CoreProfile = {
  tcpMss: 1436,
  tcpWnd: 4 * 1436,
  connectTimeoutMs: 3000,
  ipv6: true,
  intDigits: 14,
  txtWireOrder: ['auth_upload', 'ssh_upload', 'tcp_check', 'board'],
};

export function coreProfile(core: CoreKind): CoreProfile {
  return core === 'esp8266' ? ESP8266 : ESP32;
}

/** The `_arduino._tcp` TXT entries in the order `core` sends them. */
export function wireTxt(core: CoreKind, board: string, auth: boolean): Array<[string, string]> {
  const values: Record<string, string> = {
    board,
    tcp_check: 'no',
    ssh_upload: 'no',
    auth_upload: auth ? 'yes' : 'no',
  };
  return coreProfile(core).txtWireOrder.map((k) => [k, values[k] as string]);
}
