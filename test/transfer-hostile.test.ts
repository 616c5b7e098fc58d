/**
 * What counts as success, and nothing unbounded: scripted and hostile "devices" on loopback
 * (OK before the image, OK at once, one byte a second, a flood of digits or text) and a real
 * reply stream cut at every offset.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { uploadFleet } from '../src/fleet/fleet.ts';
import { replyByteCap, transferDeadlineMs } from '../src/protocols/arduino-ota/host/transfer-limits.ts';
import { type UploadEvent, type UploadObservation, upload } from '../src/upload/index.ts';
import { pause, type ScriptContext, startScriptedDevice } from './helpers/scripted-device.ts';

const ADDR = '127.0.0.71';
const fast = {
  attemptTimeoutMs: 300,
  inviteAttempts: 3,
  connectTimeoutMs: 1000,
  connectMaxMs: 1000,
  stallTimeoutMs: 400,
  resultTimeoutMs: 400,
};

function image(size: number): Uint8Array {
  const img = new Uint8Array(randomBytes(size));
  img[0] = 0xe9;
  return img;
}

async function run(
  script: (ctx: ScriptContext) => void | Promise<void>,
  data: Uint8Array,
  extra: { timeScale?: number; stallTimeoutMs?: number } = {},
) {
  const dev = await startScriptedDevice(ADDR, script);
  const events: UploadEvent[] = [];
  const started = Date.now();
  try {
    const outcome = await upload({
      host: ADDR,
      port: dev.port,
      data,
      // The transfer is under test, not the image (random bytes behind an 0xE9 magic).
      preflight: false,
      ...fast,
      ...extra,
      onEvent: (e) => events.push(e),
      // Far above every bound under test: reaching it means the upload was unbounded.
      signal: AbortSignal.timeout(15_000),
    }).then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    return { outcome, events, ms: Date.now() - started };
  } finally {
    await dev.close();
  }
}

function failure(outcome: Awaited<ReturnType<typeof run>>['outcome']) {
  assert.equal(outcome.ok, false, 'reported success');
  if (outcome.ok) throw new Error('unreachable');
  assert.ok(isAirflashError(outcome.e), String(outcome.e));
  const obs = outcome.e.data['observation'] as UploadObservation;
  return { e: outcome.e, obs };
}

/** The counts a device sends for `size` bytes read in `read`-byte steps, and then `OK`. */
function replyStream(size: number, read: number): string {
  let s = '';
  for (let left = size; left > 0; left -= read) s += String(Math.min(read, left));
  return `${s}OK`;
}

describe('transfer: an OK is success only after the whole image', () => {
  it('OK as soon as the device connects back (image larger than the write-ahead window) is BAD_REPLY', async () => {
    const { outcome } = await run(({ socket }) => {
      socket.write('OK');
    }, image(300_000));
    const { e, obs } = failure(outcome);
    assert.equal(e.code, 'BAD_REPLY', e.message);
    assert.equal(obs.transfer?.end, 'early-ok');
    assert.ok(obs.transfer && obs.transfer.bytesSent < 300_000);
  });

  it('OK at once for a small image (all of it in the socket buffers, no count) is BAD_REPLY', async () => {
    const { outcome } = await run(async ({ socket }) => {
      await pause(50);
      socket.write('OK');
    }, image(20_000));
    const { e, obs } = failure(outcome);
    assert.equal(e.code, 'BAD_REPLY', e.message);
    assert.equal(obs.transfer?.bytesConfirmed, 0);
  });

  it('counts for half the image then OK, before the rest was written: BAD_REPLY', async () => {
    const size = 200_000;
    const { outcome } = await run(async (ctx) => {
      await ctx.receivedAtLeast(50_000);
      ctx.socket.write(`${ctx.received()}OK`);
    }, image(size));
    const { e } = failure(outcome);
    assert.equal(e.code, 'BAD_REPLY', e.message);
  });

  it('the fleet records a device that answers OK at once as failed (BAD_REPLY), not ok', async () => {
    const dev = await startScriptedDevice(ADDR, ({ socket }) => {
      socket.write('OK');
    });
    try {
      const summary = await uploadFleet({
        targets: [{ name: 'impostor', host: ADDR, port: dev.port }],
        image: image(300_000),
        force: true,
        probe: false,
        ...fast,
      });
      const r = summary.results[0];
      assert.equal(r?.status, 'failed', `${r?.status} ${r?.code} ${r?.message}`);
      assert.equal(r.code, 'BAD_REPLY');
      assert.deepEqual(summary.devices.ok, []);
    } finally {
      await dev.close();
    }
  });

  const STREAM = replyStream(8000, 1460); // 14601460146014601460700OK, as a real ESP8266 (protocol.md §11.3)
  it(`a real reply stream cut at every offset (0…${STREAM.length}) is success only when complete`, async () => {
    for (let cut = 0; cut <= STREAM.length; cut++) {
      for (const piecewise of [false, true]) {
        const { outcome } = await run(async (ctx) => {
          await ctx.receivedAtLeast(ctx.size);
          const part = STREAM.slice(0, cut);
          if (piecewise)
            for (const ch of part) {
              ctx.socket.write(ch);
              await pause(1);
            }
          else if (part !== '') ctx.socket.write(part);
          ctx.socket.end();
        }, image(8000));
        const label = `cut ${cut} of ${STREAM.length}${piecewise ? ', one byte per write' : ''}`;
        if (cut === STREAM.length)
          assert.equal(outcome.ok, true, `${label}: ${outcome.ok ? '' : String(outcome.e)}`);
        else {
          assert.equal(outcome.ok, false, `${label}: reported success`);
          if (!outcome.ok) {
            assert.ok(isAirflashError(outcome.e), String(outcome.e));
            // "O" alone then EOF is the device text "O" (DEVICE_ERROR); everything else ends without OK
            assert.equal(outcome.e.code, cut === STREAM.length - 1 ? 'DEVICE_ERROR' : 'INCOMPLETE', label);
          }
        }
      }
    }
  });
});

describe('transfer: a device cannot keep an upload alive forever', () => {
  it('one byte of counts every 50 ms (never OK) hits the overall deadline', async () => {
    const data = image(24_000);
    const { outcome, ms } = await run(
      async (ctx) => {
        while (!ctx.closed()) {
          ctx.socket.write('1');
          await pause(50);
        }
      },
      data,
      { timeScale: 0.05 },
    );
    const { e, obs } = failure(outcome);
    assert.equal(e.code, 'TRANSFER_STALLED', e.message);
    assert.equal(obs.transfer?.end, 'deadline');
    const deadline = obs.transfer?.deadlineMs ?? 0;
    // 24 000 B at 4 KiB/s × 0.05 + stall 400 + allowance 205 + result 400
    assert.equal(deadline, Math.ceil((24_000 / 4096) * 1000 * 0.05) + 400 + 205 + 400);
    assert.ok(ms < deadline + 3000, `took ${ms} ms for a deadline of ${deadline} ms`);
    assert.match(e.message, /deadline/);
  });

  it('the reply-byte cap: exactly the cap then OK is success, one byte more is BAD_REPLY', async () => {
    const size = 24_000;
    const cap = replyByteCap(size);
    assert.equal(cap, 2 * size + 4 * 1460 + 4096);
    for (const extra of [0, 1]) {
      const { outcome } = await run(async (ctx) => {
        await ctx.receivedAtLeast(ctx.size);
        ctx.socket.write(`${'1'.repeat(cap - 2 + extra)}OK`);
      }, image(size));
      if (extra === 0) assert.equal(outcome.ok, true, outcome.ok ? '' : String(outcome.e));
      else {
        const { e, obs } = failure(outcome);
        assert.equal(e.code, 'BAD_REPLY', e.message);
        assert.equal(obs.transfer?.replyBytes, cap + 1);
      }
    }
  });

  it('the deadline formula: size at 4 KiB/s plus the stall, allowance and result waits, scaled', () => {
    const t = { stallTimeoutMs: 10_000, resultTimeoutMs: 30_000, timeScale: 1 } as Parameters<
      typeof transferDeadlineMs
    >[1];
    assert.equal(transferDeadlineMs(1_250_000, t), Math.ceil(1_250_000 / 4.096) + 10_000 + 4096 + 30_000);
    assert.equal(transferDeadlineMs(0, t), 44_096);
    const half = { ...t, stallTimeoutMs: 5000, resultTimeoutMs: 15_000, timeScale: 0.5 };
    assert.equal(transferDeadlineMs(4096, half), 500 + 5000 + 2048 + 15_000);
  });

  for (const [what, fill] of [
    ['digits', '7'],
    ['text', 'x'],
  ] as const)
    it(`a flood of ${what} from the device ends with BAD_REPLY at the reply-byte cap`, async () => {
      const { outcome } = await run(async (ctx) => {
        const block = fill.repeat(16 * 1024);
        while (!ctx.closed()) {
          if (!ctx.socket.write(block)) await new Promise((r) => ctx.socket.once('drain', r));
          await pause(1);
        }
      }, image(24_000));
      const { e, obs } = failure(outcome);
      assert.equal(e.code, 'BAD_REPLY', e.message);
      assert.equal(obs.transfer?.end, 'reply-cap');
      const cap = 2 * 24_000 + 4 * 1460 + 4096;
      assert.ok((obs.transfer?.replyBytes ?? 0) > cap);
      assert.ok((obs.transfer?.replyBytes ?? 0) <= cap + 64 * 1024, String(obs.transfer?.replyBytes));
    });
});

describe('transfer: progress is what the device confirmed', () => {
  it('a device that holds every byte without counting shows 0 % while all is sent, then OK', async () => {
    const size = 48_000;
    const { outcome, events } = await run(
      async (ctx) => {
        await ctx.receivedAtLeast(ctx.size);
        await pause(150);
        ctx.socket.write(`${ctx.size}OK`);
      },
      image(size),
      { stallTimeoutMs: 2000 },
    );
    assert.equal(outcome.ok, true, outcome.ok ? '' : String(outcome.e));
    const progress = events.filter((e) => e.type === 'progress');
    const beforeOk = progress.filter((p) => p.bytes < size);
    assert.ok(beforeOk.length > 0);
    for (const p of beforeOk) assert.equal(p.bytes, 0, `progress ${p.bytes} before the device sent a count`);
    const flashing = progress.find((p) => p.stage === 'flashing' && p.bytes < size);
    assert.ok(flashing, 'no "flashing" progress once every byte was handed over');
    assert.equal(flashing.sent, size);
    assert.equal(progress.at(-1)?.bytes, size);
  });
});
