/**
 * The transfer's timers on the in-memory transport under mock.timers: the stall limit, the overall
 * deadline, and an OK before the whole image was written (BAD_REPLY), in mocked milliseconds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import {
  AHEAD_LIMIT_BYTES,
  flashPauseAllowanceMs,
  transferDeadlineMs,
} from '../src/protocols/arduino-ota/host/transfer-limits.ts';
import { advance, startAttempt } from './helpers/memory-device.ts';

const TIMERS = { apis: ['setTimeout', 'Date'] as ('setTimeout' | 'Date')[] };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('transfer on the memory transport (mock.timers)', () => {
  it('a silent device: TRANSFER_STALLED at stall timeout + flash-pause allowance, not before', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    let connectedAt = -1;
    const a = startAttempt(
      {
        onStream: () => {
          connectedAt = Date.now();
        },
      },
      { timeouts: { stall: 5000 } },
    );
    await advance(
      (ms) => ctx.mock.timers.tick(ms),
      () => a.outcome() !== undefined,
      30_000,
      1,
    );
    const o = a.outcome();
    assert.ok(o && !o.ok && isAirflashError(o.error, 'TRANSFER_STALLED'), String(o && !o.ok ? o.error : o));
    assert.equal(a.obs.transfer?.end, 'stall');
    const limit = 5000 + flashPauseAllowanceMs(a.t);
    assert.equal(a.obs.transfer?.silenceLimitMs, limit);
    const waited = Date.now() - connectedAt;
    assert.ok(waited >= limit && waited <= limit + 2, `gave up after ${waited} ms, limit ${limit}`);
    assert.equal(a.device.net.openHandles(), 0);
  });

  it('a device trickling a count every second hits the overall deadline', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    let connectedAt = -1;
    const a = startAttempt(
      {
        onStream: (device) => {
          connectedAt = Date.now();
          const drip = (): void => {
            if (device.destroyed) return;
            device.write(enc('1'));
            setTimeout(drip, 1000);
          };
          drip();
        },
      },
      { timeouts: { stall: 5000, result: 3000 } },
    );
    await advance(
      (ms) => ctx.mock.timers.tick(ms),
      () => a.outcome() !== undefined,
      60_000,
      10,
    );
    const o = a.outcome();
    assert.ok(o && !o.ok && isAirflashError(o.error, 'TRANSFER_STALLED'), String(o && !o.ok ? o.error : o));
    assert.equal(a.obs.transfer?.end, 'deadline');
    const deadline = transferDeadlineMs(8000, a.t);
    const waited = Date.now() - connectedAt;
    assert.ok(
      waited >= deadline && waited <= deadline + 20,
      `ended after ${waited} ms, deadline ${deadline}`,
    );
  });

  it('OK before every byte was written is BAD_REPLY, not success', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const size = 4 * AHEAD_LIMIT_BYTES;
    const a = startAttempt(
      {
        onStream: (device) => {
          device.on('data', (chunk) => {
            device.write(enc(`${chunk.length}OK`));
          });
        },
      },
      {},
      size,
    );
    await advance(
      (ms) => ctx.mock.timers.tick(ms),
      () => a.outcome() !== undefined,
      5_000,
      1,
    );
    const o = a.outcome();
    assert.ok(o && !o.ok && isAirflashError(o.error, 'BAD_REPLY'), String(o && !o.ok ? o.error : o));
    assert.equal(a.obs.transfer?.end, 'early-ok');
    assert.ok((a.obs.transfer?.bytesSent ?? size) < size);
  });

  it('an Updater that counts every chunk and says OK after the last byte: success', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const size = 3 * AHEAD_LIMIT_BYTES + 123;
    const a = startAttempt({}, {}, size);
    await advance(
      (ms) => ctx.mock.timers.tick(ms),
      () => a.outcome() !== undefined,
      5_000,
      1,
    );
    const o = a.outcome();
    assert.ok(o?.ok, String(o && !o.ok ? o.error : o));
    assert.equal(a.obs.transfer?.bytesConfirmed, size);
    assert.equal(a.obs.transfer?.end, 'ok');
  });
});
