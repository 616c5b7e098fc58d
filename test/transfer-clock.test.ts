/**
 * The transfer's timers under an injected clock (mock.timers): the silence limit (stall timeout +
 * flash-pause allowance) and the overall deadline, each at the exact limit and one millisecond
 * more, over a real loopback TCP connection driven byte by byte by the test.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { Recorder } from '../src/protocols/arduino-ota/host/recorder.ts';
import { transfer } from '../src/protocols/arduino-ota/host/transfer.ts';
import {
  flashPauseAllowanceMs,
  transferDeadlineMs,
} from '../src/protocols/arduino-ota/host/transfer-limits.ts';
import type { UploadObservation } from '../src/protocols/arduino-ota/model/options.ts';
import { resolveTimeouts } from '../src/protocols/arduino-ota/model/timeouts.ts';
import { nodeStream } from '../src/transport/node.ts';
import type { PreparedImage } from '../src/upload/image.ts';
import { closableBytes } from '../src/upload/image-file.ts';

const ADDR = '127.0.0.77';
const SIZE = 8000;

function preparedImage(size: number): PreparedImage {
  const data = new Uint8Array(size);
  return {
    size,
    md5: '0'.repeat(32),
    head: data.subarray(0, 64),
    compressed: false,
    signedSubstituted: false,
    readOriginal: async () => data,
    openOriginal: async () => closableBytes(data),
    open: () => [data],
  };
}

/** A connected pair on loopback: `host` goes to transfer(), `device` is driven by the test. */
async function pair(): Promise<{ host: Socket; device: Socket; close: () => Promise<void> }> {
  const server = createServer();
  server.listen(0, ADDR);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const device = connect({ host: ADDR, port });
  const [host] = await accepted;
  device.on('error', () => {});
  host.on('error', () => {});
  return {
    host,
    device,
    close: async () => {
      host.destroy();
      device.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Let real I/O happen (socket reads and writes) without advancing the mocked clock. */
async function settleIo(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

async function startTransfer(stallTimeoutMs: number) {
  const t = resolveTimeouts({ stallTimeoutMs, resultTimeoutMs: 3000 });
  const obs = { timeline: [], warnings: [], hints: [] } as unknown as UploadObservation;
  const rec = new Recorder(obs, undefined);
  const p = await pair();
  let outcome: { ok: true } | { ok: false; e: unknown } | undefined;
  const done = transfer({
    rec,
    t,
    socket: nodeStream(p.host),
    image: preparedImage(SIZE),
    signal: undefined,
  }).then(
    () => {
      outcome = { ok: true };
    },
    (e: unknown) => {
      outcome = { ok: false, e };
    },
  );
  return { t, obs, p, done, outcome: () => outcome };
}

describe('transfer timers (mock.timers)', () => {
  it('silence: nothing at stall timeout + allowance − 1 ms, TRANSFER_STALLED at the limit', async (ctx) => {
    ctx.mock.timers.enable({ apis: ['setTimeout'] });
    const s = await startTransfer(5000);
    try {
      const limit = 5000 + flashPauseAllowanceMs(s.t);
      assert.equal(limit, 9096);
      await settleIo();
      ctx.mock.timers.tick(limit - 1);
      await settleIo();
      assert.equal(s.outcome(), undefined, 'gave up before the silence limit');
      ctx.mock.timers.tick(1);
      await s.done;
      const o = s.outcome();
      assert.ok(o && !o.ok && isAirflashError(o.e, 'TRANSFER_STALLED'), String(o && !o.ok ? o.e : o));
      assert.match(
        (o as { e: Error }).e.message,
        /nothing for 9\.1 s \(stall timeout 5\.0 s \+ 4\.1 s flash-pause allowance\)/,
      );
      assert.equal(s.obs.transfer?.silenceLimitMs, limit);
    } finally {
      await s.p.close();
    }
  });

  it('a byte every second keeps the silence timer alive, never the deadline', async (ctx) => {
    ctx.mock.timers.enable({ apis: ['setTimeout'] });
    const s = await startTransfer(5000);
    try {
      const deadline = transferDeadlineMs(SIZE, s.t);
      assert.equal(deadline, Math.ceil((SIZE / 4096) * 1000) + 5000 + 4096 + 3000);
      await settleIo();
      let elapsed = 0;
      while (elapsed + 1000 < deadline) {
        s.p.device.write('1');
        await settleIo();
        ctx.mock.timers.tick(1000);
        elapsed += 1000;
        await settleIo();
        assert.equal(
          s.outcome(),
          undefined,
          `ended after ${elapsed} ms, before the deadline of ${deadline} ms`,
        );
      }
      s.p.device.write('1');
      await settleIo();
      ctx.mock.timers.tick(deadline - elapsed - 1);
      await settleIo();
      assert.equal(s.outcome(), undefined, 'ended 1 ms before the deadline');
      ctx.mock.timers.tick(1);
      await s.done;
      const o = s.outcome();
      assert.ok(o && !o.ok && isAirflashError(o.e, 'TRANSFER_STALLED'));
      assert.equal(s.obs.transfer?.end, 'deadline');
    } finally {
      await s.p.close();
    }
  });
});
