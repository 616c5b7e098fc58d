import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { classifyReply } from './replies.ts';

/**
 * ArduinoOTA authentication (protocol.md §3). Two generations, told apart by the nonce length:
 * 32 hex → the legacy MD5 exchange (ESP8266, ESP32 ≤ 3.3.0); 64 hex → PBKDF2-HMAC-SHA256
 * (ESP32 ≥ 3.3.1).
 */
export type AuthScheme = 'md5' | 'sha256';

/** How the device stores its secret: MD5 hex of the password, or SHA-256 hex (3.3.1+). */
export type PasswordHashKind = 'md5' | 'sha256';

export const PBKDF2_ITERATIONS = 10_000;

export function md5hex(data: string | Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

export function sha256hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export type ChallengeParse =
  | { kind: 'ok' }
  | { kind: 'auth'; scheme: AuthScheme; nonce: string }
  | { kind: 'refused'; text: string }
  | { kind: 'bad-nonce'; nonce: string }
  | { kind: 'unknown'; text: string };

/** Classify the device's answer to an invitation (classifyReply, narrowed to what an invitation gets). */
export function parseInvitationReply(text: string): ChallengeParse {
  const r = classifyReply(text);
  if (r.kind === 'auth-failed' || r.kind === 'counts') return { kind: 'unknown', text };
  return r;
}

/** espota's deterministic cnonce: hash of file path as typed + size + file MD5 + target as typed. */
export function espotaCnonce(
  scheme: AuthScheme,
  filePath: string,
  size: number,
  fileMd5: string,
  target: string,
): string {
  const material = `${filePath}${size}${fileMd5}${target}`;
  return scheme === 'md5' ? md5hex(material) : sha256hex(material);
}

/** A random cnonce of the right length; devices check only its length (protocol.md §10.11). */
export function randomCnonce(scheme: AuthScheme): string {
  return randomBytes(scheme === 'md5' ? 16 : 32).toString('hex');
}

/** The stored secret the device compares against. */
export function passwordSecret(password: string, kind: PasswordHashKind): string {
  return kind === 'md5' ? md5hex(Buffer.from(password, 'utf8')) : sha256hex(Buffer.from(password, 'utf8'));
}

/** Legacy response: MD5hex(secret + ":" + nonce + ":" + cnonce), secret = MD5hex(password). */
export function md5Response(secret: string, nonce: string, cnonce: string): string {
  return md5hex(`${secret}:${nonce}:${cnonce}`);
}

/** PBKDF2 key (hex) from the secret's hex text and salt nonce:cnonce. */
export function pbkdf2KeyHex(secret: string, nonce: string, cnonce: string): string {
  return pbkdf2Sync(
    Buffer.from(secret, 'ascii'),
    Buffer.from(`${nonce}:${cnonce}`, 'ascii'),
    PBKDF2_ITERATIONS,
    32,
    'sha256',
  ).toString('hex');
}

/** 3.3.1+ response: SHA256hex(Khex + ":" + nonce + ":" + cnonce). */
export function sha256Response(secret: string, nonce: string, cnonce: string): string {
  return sha256hex(`${pbkdf2KeyHex(secret, nonce, cnonce)}:${nonce}:${cnonce}`);
}

/** The response for a challenge, given the stored secret (hex of the password hash). */
export function authResponse(scheme: AuthScheme, secret: string, nonce: string, cnonce: string): string {
  return scheme === 'md5' ? md5Response(secret, nonce, cnonce) : sha256Response(secret, nonce, cnonce);
}

/** Constant-time string compare for equal-length ASCII (the ESP8266 compares this way). */
export function safeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
