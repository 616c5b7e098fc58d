import type { AuthScheme } from './auth.ts';

/**
 * The one classifier of what an ArduinoOTA device says (protocol.md §2–§4), pure: its UDP answer to
 * an invitation or an auth line, or a whole TCP reply token. The handshake, the probes and the
 * invitation parser all use it.
 */
export type Reply =
  | { kind: 'ok' }
  | { kind: 'auth'; scheme: AuthScheme; nonce: string }
  /** AUTH with a nonce of neither 32 nor 64 hex digits. */
  | { kind: 'bad-nonce'; nonce: string }
  | { kind: 'auth-failed' }
  /** `ERR: …` (an ESP8266 that cannot begin); `text` without the prefix. */
  | { kind: 'refused'; text: string }
  /** Decimal digits only: byte counts of the TCP reply stream. */
  | { kind: 'counts'; text: string }
  | { kind: 'unknown'; text: string };

export const AUTH_FAILED_TEXT = 'Authentication Failed';

export function classifyReply(text: string): Reply {
  if (text === 'OK') return { kind: 'ok' };
  if (text.startsWith(AUTH_FAILED_TEXT)) return { kind: 'auth-failed' };
  if (text.startsWith('ERR')) return { kind: 'refused', text: text.replace(/^ERR:?\s?/, '').trimEnd() };
  if (text.startsWith('AUTH')) {
    const nonce = text.split(/\s+/)[1] ?? '';
    if (/^[0-9a-fA-F]{32}$/.test(nonce)) return { kind: 'auth', scheme: 'md5', nonce };
    if (/^[0-9a-fA-F]{64}$/.test(nonce)) return { kind: 'auth', scheme: 'sha256', nonce };
    return { kind: 'bad-nonce', nonce };
  }
  if (/^[0-9]+$/.test(text)) return { kind: 'counts', text };
  return { kind: 'unknown', text };
}

/** The coarse answer a probe reports: OK, AUTH (also with a bad nonce), ERR, or anything else. */
export function replyAnswer(reply: Reply): 'ok' | 'auth' | 'error' | 'other' {
  if (reply.kind === 'ok') return 'ok';
  if (reply.kind === 'auth' || reply.kind === 'bad-nonce') return 'auth';
  if (reply.kind === 'refused') return 'error';
  return 'other';
}
