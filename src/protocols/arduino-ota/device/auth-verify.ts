import { createHash, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { AirflashError } from '../../../core/errors.ts';
import type { CoreKind } from '../wire/index.ts';

/**
 * The device side of ArduinoOTA authentication, written from docs protocol.md §3.1–§3.2 and the
 * device sources, on its own code path: it does not call the uploader's `authResponse()` or
 * `passwordSecret()`, so a wrong formula on either side fails the tests instead of agreeing with
 * itself. Checked against the published vectors of protocol.md §3.1 and §3.2
 * (test/emulator-auth.test.ts).
 */

const hex = (algorithm: 'md5' | 'sha256', text: string): string =>
  createHash(algorithm).update(text, 'latin1').digest('hex');

/** PBKDF2 iterations of the 3.3.1+ exchange (BasicOTA 3.3.2: "PBKDF2-HMAC-SHA256 with 10,000 iterations"). */
const DEVICE_PBKDF2_ITERATIONS = 10_000;

/**
 * The response the device expects to the auth line `200 <cnonce> <response>`.
 * - MD5 (ESP8266 ArduinoOTA.cpp `_onRx`; arduino-esp32 3.0–3.3.0 ArduinoOTA.cpp `_onRx`):
 *   MD5hex(`P + ":" + nonce + ":" + cnonce`), P = the stored 32-hex secret.
 * - PBKDF2 (arduino-esp32 ≥ 3.3.1, protocol.md §3.2): K = PBKDF2-HMAC-SHA256(password = the text
 *   of P, salt = `nonce + ":" + cnonce`, 10 000 iterations, 32 bytes); response =
 *   SHA256hex(`hex(K) + ":" + nonce + ":" + cnonce`).
 */
export function expectedDeviceResponse(
  scheme: 'md5' | 'pbkdf2',
  secret: string,
  nonce: string,
  cnonce: string,
): string {
  if (scheme === 'md5') return hex('md5', `${secret}:${nonce}:${cnonce}`);
  const key = pbkdf2Sync(
    Buffer.from(secret, 'latin1'),
    Buffer.from(`${nonce}:${cnonce}`, 'latin1'),
    DEVICE_PBKDF2_ITERATIONS,
    32,
    'sha256',
  ).toString('hex');
  return hex('sha256', `${key}:${nonce}:${cnonce}`);
}

/**
 * Does `response` match? Case-sensitive (ESP32 `String::equals`; ESP8266 compares the bytes), in
 * constant time for equal lengths.
 */
export function deviceAuthMatches(
  scheme: 'md5' | 'pbkdf2',
  secret: string,
  nonce: string,
  cnonce: string,
  response: string,
): boolean {
  const expected = Buffer.from(expectedDeviceResponse(scheme, secret, nonce, cnonce), 'latin1');
  const got = Buffer.from(response, 'latin1');
  return expected.length === got.length && timingSafeEqual(expected, got);
}

/**
 * `setPassword(pw)`: the stored secret. ESP8266 and ESP32 ≤ 3.3.0 store MD5hex(pw)
 * (ArduinoOTA.cpp `setPassword`: MD5Builder over the text); ESP32 ≥ 3.3.1 stores SHA256hex(pw)
 * (protocol.md §3.2).
 */
export function deviceSecretFromPassword(core: CoreKind, password: string): string {
  return hex(core === 'esp32' ? 'sha256' : 'md5', password);
}

/**
 * `setPasswordHash(h)`: what the device stores.
 * - ESP8266 (ArduinoOTA.cpp `setPasswordHash`: `_password = password` when not yet set) and
 *   ESP32 3.0–3.3.0 (`setPasswordHash`: `_password.clear(); _password = password;`) take any text
 *   verbatim: no length or hex check. A text that is not the MD5 hex of a password simply never
 *   matches a host's response.
 * - ESP32 ≥ 3.3.1 (PR #11905, "add errors for setPasswordHash"): ASSUMPTION (docs/emulator.md,
 *   assumption A4): it accepts 32 hex (MD5, deprecated, with a warning) or 64 hex (SHA-256) and
 *   refuses anything else, leaving the device without a password.
 */
export function deviceSecretFromHash(core: CoreKind, hash: string): string {
  if (core !== 'esp32') return hash;
  if (!/^([0-9a-fA-F]{32}|[0-9a-fA-F]{64})$/.test(hash)) {
    throw new AirflashError(
      'BAD_ARGUMENT',
      'passwordHash must be 32 (MD5) or 64 (SHA-256) hex characters on esp32 (≥ 3.3.1).',
      { hint: 'esp32-legacy and esp8266 store any text verbatim, as their setPasswordHash() does.' },
    );
  }
  return hash;
}
