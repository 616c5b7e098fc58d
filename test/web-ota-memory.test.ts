/**
 * Web OTA memory: a 16 MiB image streams through the multipart encoder and node:http without the
 * host holding it: the source makes each 64 KiB chunk on demand, a sink server on loopback reads
 * and drops the body and answers as ESPHome's web_server does. The host pulls the next chunk only
 * once the socket took the previous one: image bytes pulled from the source minus bytes the
 * socket took never exceed two chunks, so the host never holds the image (the RSS of the built
 * CLI for the same upload is `npm run bench`'s).
 * Address 127.0.184.1.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { basicJournal } from '../src/protocols/journal.ts';
import type { PreparedImage } from '../src/protocols/types.ts';
import { runAttempt } from '../src/protocols/web-ota/host/attempt.ts';
import { type HttpObservation, resolveHttpTimeouts } from '../src/protocols/web-ota/model/options.ts';

const SIZE = 16 * 1024 * 1024;
const CHUNK = 64 * 1024;

function chunkAt(i: number): Uint8Array {
  const c = new Uint8Array(CHUNK);
  c.fill(i & 0xff);
  if (i === 0) c[0] = 0xe9;
  return c;
}

let pulled = 0;

function lazyImage(): PreparedImage {
  const md5 = createHash('md5');
  for (let i = 0; i < SIZE / CHUNK; i++) md5.update(chunkAt(i));
  return {
    size: SIZE,
    md5: md5.digest('hex'),
    head: chunkAt(0),
    compressed: false,
    signedSubstituted: false,
    readOriginal: () => Promise.reject(new Error('the whole image is never read')),
    openOriginal: () => Promise.reject(new Error('not used')),
    open: () =>
      (function* () {
        for (let i = 0; i < SIZE / CHUNK; i++) {
          pulled += CHUNK;
          yield chunkAt(i);
        }
      })(),
  };
}

describe('web OTA memory', () => {
  it('16 MiB streams with the host holding only a few chunks; the device got every byte', async () => {
    let received = 0;
    const server = createServer((req, res) => {
      if (req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      req.on('data', (c: Buffer) => {
        received += c.length;
      });
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('Update Successful!'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.184.1', r));
    const port = (server.address() as { port: number }).port;
    let ahead = 0;
    const obs: HttpObservation = {
      protocol: 'http',
      host: '127.0.184.1',
      port,
      stage: 'identify',
      bytesSent: 0,
      bytesAccepted: 0,
    };
    let progress = 0;
    try {
      await runAttempt({
        options: { httpProfile: 'esphome', httpTimeouts: { rebootMs: 50, backOnlineMs: 2000 } },
        host: '127.0.184.1',
        address: '127.0.184.1',
        port,
        image: lazyImage(),
        timeouts: resolveHttpTimeouts({ httpTimeouts: { rebootMs: 50, backOnlineMs: 2000 } }),
        journal: basicJournal('http', obs, (e) => {
          if (e.type !== 'progress') return;
          progress = e.bytes;
          ahead = Math.max(ahead, pulled - e.bytes);
        }),
      });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    assert.equal(progress, SIZE);
    assert.equal(received, obs.bodyLength);
    assert.ok((obs.bodyLength ?? 0) > SIZE);
    // At most the chunk being written (each write is awaited before the next chunk is pulled).
    assert.ok(ahead <= 2 * CHUNK, `${ahead} bytes pulled ahead of the socket`);
    assert.equal(pulled, SIZE);
  });
});
