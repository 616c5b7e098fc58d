/** Small HTTP helpers for the dashboard: JSON replies, bounded bodies, the request guards. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import {
  AirflashError,
  type AirflashErrorDetails,
  type ErrorCode,
  httpStatusForCode,
} from '../core/errors.ts';

/**
 * An AirflashError answered with another status than its code's (`httpStatusForCode`, the one
 * table in src/core/errors.ts): a limit per client (429) where the code's status is 503, an image
 * the inspection refused (422, whatever its code).
 */
export class HttpError extends AirflashError {
  readonly status: number;

  constructor(status: number, code: ErrorCode, message: string, details: AirflashErrorDetails = {}) {
    super(code, message, details);
    this.status = status;
  }

  /** The ordinary prototype check (AirflashError's brand check would match every AirflashError). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(HttpError, value);
  }
}

/** Status for an error that reached the API. */
export function statusFor(error: AirflashError): number {
  return error instanceof HttpError ? error.status : httpStatusForCode(error.code);
}

export const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
};

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: unknown): void {
  if (error instanceof AirflashError) {
    sendJson(res, statusFor(error), {
      error: {
        code: error.code,
        message: error.message,
        ...(error.hint === undefined ? {} : { hint: error.hint }),
      },
    });
    return;
  }
  sendJson(res, 500, { error: { code: 'INTERNAL', message: 'Internal error; see the dashboard log.' } });
}

/** Read a body of at most `limit` bytes; 413 beyond it (before reading when Content-Length says so). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw tooLarge(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export function tooLarge(limit: number): AirflashError {
  return new AirflashError('TOO_LARGE', `The body is larger than the limit of ${limit} bytes.`, {
    hint: 'Firmware images for ESP boards are at most a few MiB; check that you picked the right file.',
  });
}

export async function readJson(req: IncomingMessage, limit = 1 << 20): Promise<Record<string, unknown>> {
  const body = await readBody(req, limit);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new AirflashError('BAD_JSON', 'The body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AirflashError('BAD_JSON', 'The body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

/** Constant-time comparison of two secrets of any length. */
export function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    try {
      out.set(name, decodeURIComponent(value));
    } catch {
      out.set(name, value);
    }
  }
  return out;
}

/** Split a Host header into host name (lower case, IPv6 without brackets) and port. */
export function parseHost(header: string | undefined): { name: string; port: number | null } | null {
  if (header === undefined || header === '') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(header.trim());
  if (m === null) return null;
  const name = (m[1] ?? m[2] ?? '').toLowerCase().replace(/\.$/, '');
  return { name, port: m[3] === undefined ? null : Number(m[3]) };
}

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/**
 * The host names a request may name in its Host header: the bound address, `localhost` when bound
 * to 127.0.0.1 or ::1, and any IP literal when bound to every interface. A DNS name that merely
 * resolves to us (DNS rebinding) is not among them.
 */
export function hostAllowed(name: string, bound: string, extra: readonly string[]): boolean {
  const b = bound.toLowerCase();
  if (name === b) return true;
  if (extra.includes(name)) return true;
  if ((b === '127.0.0.1' || b === '::1') && name === 'localhost') return true;
  if (isWildcard(b)) return isIP(name) !== 0 || name === 'localhost';
  return false;
}
