/**
 * The primitives of `Noise_NNpsk0_25519_ChaChaPoly_SHA256` (Noise spec rev. 34 §§4, 12) on
 * node:crypto: X25519 with raw 32-byte keys, ChaCha20-Poly1305 with Noise's nonce layout (32 zero
 * bits, then the 64-bit counter little-endian), SHA-256, and HKDF as Noise defines it over
 * HMAC-SHA256. Pure: no I/O.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { AirflashError } from '../../../core/errors.ts';

export const DH_LEN = 32;
export const HASH_LEN = 32;
export const KEY_LEN = 32;
export const TAG_LEN = 16;

// DER wrappers of a raw X25519 key (RFC 8410): PKCS#8 for a private key, SPKI for a public one.
const PKCS8_X25519 = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);
const SPKI_X25519 = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]);

/** An X25519 key pair with both halves raw. */
export interface KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function privateKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== DH_LEN) throw new RangeError(`an X25519 private key is ${DH_LEN} bytes`);
  return createPrivateKey({ key: Buffer.from(concat(PKCS8_X25519, raw)), format: 'der', type: 'pkcs8' });
}

/** The key pair of a given raw private key (test vectors fix the ephemeral keys). */
export function keyPairFromPrivate(raw: Uint8Array): KeyPair {
  const spki = createPublicKey(privateKeyObject(raw)).export({ format: 'der', type: 'spki' });
  return { privateKey: Uint8Array.from(raw), publicKey: new Uint8Array(spki.subarray(spki.length - DH_LEN)) };
}

/** A fresh random key pair (GENERATE_KEYPAIR). */
export function generateKeyPair(): KeyPair {
  const { privateKey } = generateKeyPairSync('x25519');
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  return keyPairFromPrivate(new Uint8Array(pkcs8.subarray(pkcs8.length - DH_LEN)));
}

/** DH(key pair, public key): the 32-byte shared secret; a low-order peer key is refused. */
export function dh(own: KeyPair, peerPublic: Uint8Array): Uint8Array {
  if (peerPublic.length !== DH_LEN)
    throw new AirflashError('NOISE_HANDSHAKE_FAILED', 'The peer sent a short X25519 key.');
  try {
    const publicKey = createPublicKey({
      key: Buffer.from(concat(SPKI_X25519, peerPublic)),
      format: 'der',
      type: 'spki',
    });
    return new Uint8Array(diffieHellman({ privateKey: privateKeyObject(own.privateKey), publicKey }));
  } catch (error) {
    throw new AirflashError('NOISE_HANDSHAKE_FAILED', 'The peer sent an invalid X25519 key.', {
      cause: error,
    });
  }
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const m = createHmac('sha256', key);
  for (const p of parts) m.update(p);
  return new Uint8Array(m.digest());
}

/** Noise's HKDF(chaining_key, input_key_material, num_outputs) with num_outputs 2 or 3. */
export function hkdf(chainingKey: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
  const temp = hmac(chainingKey, ikm);
  const o1 = hmac(temp, Uint8Array.of(0x01));
  const o2 = hmac(temp, o1, Uint8Array.of(0x02));
  if (outputs === 2) return [o1, o2];
  return [o1, o2, hmac(temp, o2, Uint8Array.of(0x03))];
}

function nonceBytes(n: bigint): Buffer {
  const b = Buffer.alloc(12);
  b.writeBigUInt64LE(n, 4);
  return b;
}

/** ENCRYPT(k, n, ad, plaintext): ciphertext ‖ 16-byte tag. */
export function aeadEncrypt(key: Uint8Array, n: bigint, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, nonceBytes(n), { authTagLength: TAG_LEN });
  c.setAAD(ad, { plaintextLength: plaintext.length });
  const body = c.update(plaintext);
  c.final();
  return concat(body, c.getAuthTag());
}

/** DECRYPT(k, n, ad, ciphertext): the plaintext, or undefined when the tag does not verify. */
export function aeadDecrypt(
  key: Uint8Array,
  n: bigint,
  ad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array | undefined {
  if (ciphertext.length < TAG_LEN) return undefined;
  const body = ciphertext.subarray(0, ciphertext.length - TAG_LEN);
  const d = createDecipheriv('chacha20-poly1305', key, nonceBytes(n), { authTagLength: TAG_LEN });
  d.setAAD(ad, { plaintextLength: body.length });
  d.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_LEN));
  const out = d.update(body);
  try {
    d.final();
  } catch {
    return undefined;
  }
  return new Uint8Array(out);
}

export { concat };
