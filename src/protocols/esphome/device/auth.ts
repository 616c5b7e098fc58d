/**
 * The device side of ESPHome's password check, written separately from the host's answer
 * (so the emulator never verifies with the uploader's code): ota_esphome.cpp builds the expected
 * digest over password ‖ nonce ‖ cnonce and compares it with what the client sent. Nonces: 2026
 * devices send the SHA-256 hex of 8 random bytes (64 characters, EOD-A); devices before SHA-256
 * auth sent the MD5 hex of a random 32-bit number printed as 8 lower-case hex digits (EOD-OLD).
 */
import { createHash } from 'node:crypto';

export type DeviceAuth = 'sha256' | 'md5';

export function deviceNonce(kind: DeviceAuth, random: () => number): string {
  if (kind === 'sha256') {
    const eight = Uint8Array.from({ length: 8 }, () => Math.floor(random() * 256));
    return createHash('sha256').update(eight).digest('hex');
  }
  const word = Math.floor(random() * 0x1_0000_0000)
    .toString(16)
    .padStart(8, '0');
  return createHash('md5').update(word, 'latin1').digest('hex');
}

/** The digest the device expects (lower-case hex). */
export function expectedAnswer(kind: DeviceAuth, password: string, nonce: string, cnonce: string): string {
  const h = createHash(kind);
  h.update(password, 'utf8');
  h.update(nonce, 'latin1');
  h.update(cnonce, 'latin1');
  return h.digest('hex');
}
