/**
 * Web OTA's named budgets and cancellation over real sockets, against small servers that misbehave
 * on purpose: one that never reads the body (upload-idle → TRANSFER_STALLED, not before the
 * budget), one that reads it and never answers (response → TIMEOUT), and an AbortSignal
 * mid-upload (INTERRUPTED at once); the last two also wait until the server sees the host's
 * connection close. Address 127.0.185.1.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { describe, it } from 'node:test';
import { basicJournal } from '../src/protocols/journal.ts';
import type { PreparedImage } from '../src/protocols/types.ts';
import { runAttempt } from '../src/protocols/web-ota/host/attempt.ts';
import { type HttpObservation, resolveHttpTimeouts } from '../src/protocols/web-ota/model/options.ts';

const CHUNK = 64 * 1024;
const SIZE = 64 * 1024 * 1024; // more than loopback's socket buffers hold

function image(): PreparedImage {
  const chunk = new Uint8Array(CHUNK).fill(0xe9);
  return {
    size: SIZE,
    md5: '0'.repeat(32),
    head: chunk,
    compressed: false,
    signedSubstituted: false,
    readOriginal: () => Promise.reject(new Error('not used')),
    openOriginal: () => Promise.reject(new Error('not used')),
    open: () =>
      (function* () {
        for (let i = 0; i < SIZE / CHUNK; i++) yield chunk;
      })(),
  };
}

async function serve(
  onRequest: (req: IncomingMessage) => void,
): Promise<{ server: Server; port: number; closed: Promise<void> }> {
  let closedResolve: () => void = () => {};
  const closed = new Promise<void>((r) => {
    closedResolve = r;
  });
  const server = createServer((req) => {
    req.socket.once('close', () => closedResolve());
    onRequest(req);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.185.1', r));
  return { server, port: (server.address() as { port: number }).port, closed };
}

async function attempt(port: number, httpTimeouts: Record<string, number>, signal?: AbortSignal) {
  const obs: HttpObservation = {
    protocol: 'http',
    host: '127.0.185.1',
    port,
    stage: 'identify',
    bytesSent: 0,
    bytesAccepted: 0,
  };
  const options = { httpProfile: 'esphome' as const, httpTimeouts };
  const started = performance.now();
  const error = await runAttempt({
    options,
    host: '127.0.185.1',
    address: '127.0.185.1',
    port,
    image: image(),
    timeouts: resolveHttpTimeouts(options),
    journal: basicJournal('http', obs, undefined),
    ...(signal ? { signal } : {}),
  }).then(
    () => undefined,
    (e: unknown) => e as { code: string; message: string },
  );
  return { error, obs, ms: performance.now() - started };
}

describe('web OTA phases', () => {
  it('a device that stops reading: TRANSFER_STALLED after the upload-idle budget, not before', async () => {
    const s = await serve((req) => req.pause());
    try {
      const r = await attempt(s.port, { idleMs: 400 });
      assert.equal(r.error?.code, 'TRANSFER_STALLED');
      assert.match(r.error?.message ?? '', /upload-idle/);
      assert.ok(r.ms >= 400, `${r.ms} ms`);
      assert.ok(r.obs.bytesAccepted < SIZE);
    } finally {
      s.server.closeAllConnections();
      s.server.close();
    }
  });

  it('a device that reads everything and never answers: TIMEOUT after the response budget', async () => {
    const s = await serve((req) => req.resume());
    try {
      const r = await attempt(s.port, { responseMs: 300 });
      assert.equal(r.error?.code, 'TIMEOUT');
      assert.match(r.error?.message ?? '', /\(response\)/);
      assert.equal(r.obs.bytesAccepted, r.obs.bodyLength);
      await s.closed;
    } finally {
      s.server.closeAllConnections();
      s.server.close();
    }
  });

  it('an AbortSignal mid-upload: INTERRUPTED at once, the connection closed', async () => {
    const s = await serve((req) => req.resume());
    try {
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 100);
      const r = await attempt(s.port, {}, stop.signal);
      assert.equal(r.error?.code, 'INTERRUPTED');
      assert.ok(r.ms < 5000, `${r.ms} ms`);
      await s.closed;
    } finally {
      s.server.closeAllConnections();
      s.server.close();
    }
  });
});
