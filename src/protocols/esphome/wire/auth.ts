/**
 * The password answer of ESPHome's native OTA (protocols-next.md §1.2 step 6; espota2.py
 * `perform_ota` auth): response = hex(H(password UTF-8 ‖ nonce ASCII ‖ cnonce ASCII)) with
 * H = SHA-256 after `02` or MD5 after the legacy `01`. No separators, no pre-hashing, no PBKDF2
 * (unlike ArduinoOTA). The cnonce has the nonce's length (random hex).
 */
import { createHash, randomBytes } from 'node:crypto';
import { type AuthKind, NONCE_LENGTH } from './constants.ts';

/** The hex answer to `nonce` with `cnonce`. */
export function authResponse(kind: AuthKind, password: string, nonce: string, cnonce: string): string {
  return createHash(kind === 'sha256' ? 'sha256' : 'md5')
    .update(Buffer.from(password, 'utf8'))
    .update(Buffer.from(nonce, 'latin1'))
    .update(Buffer.from(cnonce, 'latin1'))
    .digest('hex');
}

/** A fresh cnonce of the nonce's length (16 or 32 random bytes as hex, as espota2.py). */
export function makeCnonce(kind: AuthKind): string {
  return randomBytes(NONCE_LENGTH[kind] / 2).toString('hex');
}
