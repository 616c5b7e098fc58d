/**
 * One HTTP/1.1 request over Node's own `node:http` client, with what web OTA needs: a body of a
 * known length written chunk by chunk (each write awaited until the socket took it, so at most one
 * chunk is in user space and progress counts bytes flushed towards the device, not bytes queued),
 * a named timeout per phase (connect, upload-idle, response), an AbortSignal, a bounded reply body
 * (gunzipped when the device sends gzip, ElegantOTA's page), and every listener and socket gone
 * in `finally`.
 */
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { createGunzip } from 'node:zlib';
import { AirflashError } from '../../../core/errors.ts';
import type { HttpReply } from '../wire/profiles/index.ts';

export interface HttpBody {
  readonly length: number;
  readonly chunks: AsyncIterable<Uint8Array>;
}

export interface HttpRequestOptions {
  readonly address: string;
  readonly port: number;
  /** The `Host` header (the name the user gave, with the port when not 80). */
  readonly host: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: HttpBody;
  readonly connectMs: number;
  readonly idleMs: number;
  readonly responseMs: number;
  /** The reply body is cut here (a device page is small; an endless reply costs no memory). */
  readonly maxBody?: number;
  /** Body bytes the socket took so far (after each write completed). */
  readonly onAccepted?: (bytes: number) => void;
  readonly onSent?: (bytes: number) => void;
  readonly signal?: AbortSignal;
}

export interface HttpResult extends HttpReply {
  /** Body bytes flushed to the socket before the reply (or the failure). */
  readonly accepted: number;
  /** The device answered before the whole body was sent. */
  readonly early: boolean;
}

/** A failure of the exchange, with how far the body got (the attempt maps it to its phase). */
export class HttpExchangeError extends AirflashError {
  readonly accepted: number;
  readonly stage: 'connect' | 'upload' | 'response';
  constructor(error: AirflashError, accepted: number, stage: 'connect' | 'upload' | 'response') {
    super(error.code, error.message, {
      ...(error.hint === undefined ? {} : { hint: error.hint }),
      data: { ...error.data, accepted, stage },
      cause: error.cause ?? error,
    });
    this.accepted = accepted;
    this.stage = stage;
  }
}

const MAX_BODY = 64 * 1024;

function networkError(error: unknown, what: string): AirflashError {
  if (error instanceof AirflashError) return error;
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  return new AirflashError('NETWORK_ERROR', `${what}: ${code || message}.`, { cause: error });
}

async function readBody(res: IncomingMessage, max: number): Promise<string> {
  const gz = /gzip/i.test(String(res.headers['content-encoding'] ?? ''));
  const stream = gz ? res.pipe(createGunzip()) : res;
  const parts: Buffer[] = [];
  let got = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const room = max - got;
      if (room <= 0) break;
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      parts.push(part);
      got += part.length;
    }
  } catch (error) {
    if (!gz) throw error;
  } finally {
    if (gz) stream.destroy();
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Send one request and read its reply; throws `HttpExchangeError` (code NETWORK_ERROR, TIMEOUT,
 * TRANSFER_STALLED, INCOMPLETE or INTERRUPTED) with the bytes the device took. */
export async function httpRequest(o: HttpRequestOptions): Promise<HttpResult> {
  let accepted = 0;
  let stage: 'connect' | 'upload' | 'response' = 'connect';
  let timer: NodeJS.Timeout | undefined;
  let req: ClientRequest | undefined;
  let res: IncomingMessage | undefined;
  let fail: (e: AirflashError) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = (e) => reject(new HttpExchangeError(e, accepted, stage));
  });
  failed.catch(() => {});
  const arm = (ms: number, make: () => AirflashError): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => fail(make()), ms);
  };
  const onAbort = (): void => fail(new AirflashError('INTERRUPTED', 'The upload was interrupted.'));
  if (o.signal?.aborted)
    throw new HttpExchangeError(new AirflashError('INTERRUPTED', 'The upload was interrupted.'), 0, stage);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const headers: Record<string, string | number> = { Host: o.host, Connection: 'close', ...o.headers };
    if (o.body) headers['Content-Length'] = o.body.length;
    const r = request({
      host: o.address,
      port: o.port,
      method: o.method,
      path: o.path,
      headers,
      setHost: false,
      agent: false,
    });
    req = r;
    const responded = new Promise<IncomingMessage>((resolve) => r.once('response', resolve));
    r.on('error', (e) =>
      fail(
        stage === 'connect'
          ? networkError(e, `No HTTP connection to ${o.address}:${o.port}`)
          : stage === 'upload'
            ? new AirflashError(
                'INCOMPLETE',
                `The connection broke after ${accepted} of ${o.body?.length ?? 0} body bytes: ${(e as { code?: string }).code ?? e.message}.`,
                { cause: e },
              )
            : new AirflashError(
                'INCOMPLETE',
                `The device closed the connection without an answer after the whole image was sent (${(e as { code?: string }).code ?? e.message}).`,
                {
                  hint: 'The device may or may not have taken the update: check what it runs before uploading again.',
                  cause: e,
                },
              ),
      ),
    );
    arm(
      o.connectMs,
      () =>
        new AirflashError(
          'TIMEOUT',
          `No HTTP connection to ${o.address}:${o.port} within ${Math.round(o.connectMs)} ms (connect).`,
        ),
    );
    await Promise.race([
      new Promise<void>((resolve) =>
        r.once('socket', (s) => (s.connecting ? s.once('connect', () => resolve()) : resolve())),
      ),
      failed,
    ]);
    let early = false;
    if (o.body) {
      stage = 'upload';
      const stalled = (): AirflashError =>
        new AirflashError(
          'TRANSFER_STALLED',
          `The device took no body byte for ${Math.round(o.idleMs)} ms (upload-idle) at ${accepted} of ${o.body?.length ?? 0}.`,
        );
      arm(o.idleMs, stalled);
      let sent = 0;
      let answered = false;
      responded.then(() => {
        answered = true;
      });
      for await (const chunk of o.body.chunks) {
        if (answered) break;
        sent += chunk.length;
        o.onSent?.(sent);
        await Promise.race([
          new Promise<void>((resolve, reject) => r.write(chunk, (e) => (e ? reject(e) : resolve()))),
          failed,
          responded,
        ]);
        if (answered) break;
        accepted = sent;
        arm(o.idleMs, stalled);
        o.onAccepted?.(accepted);
      }
      early = answered;
    }
    stage = 'response';
    if (!early) r.end();
    arm(
      o.responseMs,
      () =>
        new AirflashError(
          'TIMEOUT',
          `The device sent no complete answer within ${Math.round(o.responseMs)} ms after the request (response).`,
        ),
    );
    res = await Promise.race([responded, failed]);
    const body = await Promise.race([readBody(res, o.maxBody ?? MAX_BODY), failed]);
    const out: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(res.headers)) out[k] = Array.isArray(v) ? v.join(', ') : v;
    return { status: res.statusCode ?? 0, headers: out, body, accepted, early };
  } catch (error) {
    if (error instanceof HttpExchangeError) throw error;
    throw new HttpExchangeError(networkError(error, `HTTP to ${o.address}:${o.port}`), accepted, stage);
  } finally {
    if (timer) clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
    res?.destroy();
    req?.destroy();
  }
}
