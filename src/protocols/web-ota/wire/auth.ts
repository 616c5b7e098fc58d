/**
 * HTTP authentication for web OTA: Basic (RFC 7617) and Digest (RFC 7616: MD5 and SHA-256, with
 * their `-sess` variants, `qop=auth`; RFC 2069 style without qop when the server offers none).
 * The challenge parser reads a `WWW-Authenticate` value with one or more challenges; the digest is
 * computed from the RFC's formulas (checked against the RFC 7616 §3.9.1 example in the tests).
 */
import { createHash } from 'node:crypto';
import { AirflashError } from '../../../core/errors.ts';

export interface Challenge {
  /** Lower case: `basic`, `digest`, or another scheme as sent. */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

/** At most this many challenges or parameters are read from one header (bounded work). */
const MAX_ITEMS = 32;

/** Parse a `WWW-Authenticate` value (RFC 9110 §11.6.1) into its challenges, in order. */
export function parseChallenges(header: string): Challenge[] {
  const out: Array<{ scheme: string; params: Record<string, string> }> = [];
  let i = 0;
  const s = header.slice(0, 4096);
  const skip = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === ',')) i++;
  };
  const token = (): string => {
    const m = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(s.slice(i));
    if (!m) return '';
    i += m[0].length;
    return m[0];
  };
  while (i < s.length && out.length < MAX_ITEMS) {
    skip();
    const name = token();
    if (name === '') break;
    while (s[i] === ' ' || s[i] === '\t') i++;
    const current = out.at(-1);
    if (s[i] === '=' && current !== undefined && Object.keys(current.params).length < MAX_ITEMS) {
      i++;
      while (s[i] === ' ') i++;
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++;
      } else value = token();
      current.params[name.toLowerCase()] = value;
    } else if (s[i] === '=') {
      break; // a parameter before any scheme: not a challenge
    } else out.push({ scheme: name.toLowerCase(), params: {} });
  }
  return out;
}

export function basicAuthorization(user: string, password: string): string {
  if (user.includes(':'))
    throw new AirflashError('BAD_ARGUMENT', 'A Basic-auth user name may not contain ":" (RFC 7617).');
  let binary = '';
  for (const b of new TextEncoder().encode(`${user}:${password}`)) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

function hash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(algorithm.startsWith('SHA-256') ? 'sha256' : 'md5')
    .update(text, 'utf8')
    .digest('hex');
}

/** The algorithm a Digest challenge names (absent = MD5), undefined when not supported. */
export function digestAlgorithm(challenge: Challenge): DigestAlgorithm | undefined {
  const a = (challenge.params['algorithm'] ?? 'MD5').toUpperCase();
  if (a === 'MD5') return 'MD5';
  if (a === 'MD5-SESS') return 'MD5-sess';
  if (a === 'SHA-256') return 'SHA-256';
  if (a === 'SHA-256-SESS') return 'SHA-256-sess';
  return undefined;
}

export interface DigestInput {
  readonly challenge: Challenge;
  readonly user: string;
  readonly password: string;
  readonly method: string;
  readonly uri: string;
  /** The client nonce (random, from the caller). */
  readonly cnonce: string;
  /** The nonce count, 1 for the first request with this nonce. */
  readonly nc: number;
}

/** The `response` value of RFC 7616 §3.4.1 (qop=auth), or RFC 2069's when the server offers no qop. */
export function digestResponse(
  input: DigestInput,
  algorithm: DigestAlgorithm,
  qop: 'auth' | undefined,
): string {
  const p = input.challenge.params;
  const realm = p['realm'] ?? '';
  const nonce = p['nonce'] ?? '';
  const nc = input.nc.toString(16).padStart(8, '0');
  let ha1 = hash(algorithm, `${input.user}:${realm}:${input.password}`);
  if (algorithm.endsWith('-sess')) ha1 = hash(algorithm, `${ha1}:${nonce}:${input.cnonce}`);
  const ha2 = hash(algorithm, `${input.method}:${input.uri}`);
  return qop === undefined
    ? hash(algorithm, `${ha1}:${nonce}:${ha2}`)
    : hash(algorithm, `${ha1}:${nonce}:${nc}:${input.cnonce}:${qop}:${ha2}`);
}

const quoted = (v: string): string => `"${v.replace(/["\\]/g, '\\$&')}"`;

/** The `Authorization: Digest …` value answering `challenge`. */
export function digestAuthorization(input: DigestInput): string {
  const p = input.challenge.params;
  const algorithm = digestAlgorithm(input.challenge);
  if (algorithm === undefined)
    throw new AirflashError(
      'AUTH_UNSUPPORTED',
      `The device asks for Digest with algorithm ${p['algorithm'] ?? '?'}, which airflash does not speak (MD5 and SHA-256 only).`,
    );
  if (p['nonce'] === undefined)
    throw new AirflashError('AUTH_UNSUPPORTED', 'The device sent a Digest challenge without a nonce.');
  const offered = (p['qop'] ?? '').split(',').map((x) => x.trim().toLowerCase());
  const qop = offered.includes('auth') ? 'auth' : undefined;
  if (qop === undefined && p['qop'] !== undefined)
    throw new AirflashError(
      'AUTH_UNSUPPORTED',
      `The device offers Digest qop "${p['qop']}" only; airflash answers qop=auth (or none).`,
    );
  const nc = input.nc.toString(16).padStart(8, '0');
  const parts = [
    `username=${quoted(input.user)}`,
    `realm=${quoted(p['realm'] ?? '')}`,
    `nonce=${quoted(p['nonce'])}`,
    `uri=${quoted(input.uri)}`,
    `algorithm=${algorithm}`,
    `response=${quoted(digestResponse(input, algorithm, qop))}`,
    ...(p['opaque'] === undefined ? [] : [`opaque=${quoted(p['opaque'])}`]),
    ...(qop === undefined ? [] : [`qop=auth`, `nc=${nc}`, `cnonce=${quoted(input.cnonce)}`]),
  ];
  return `Digest ${parts.join(', ')}`;
}
