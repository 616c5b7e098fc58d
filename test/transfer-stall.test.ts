/**
 * Stalls, same-offset failures and honest progress against the emulator (scaled time): the stall
 * timeout given is the one used (plus the named flash-pause allowance, never the host's socket
 * buffers), retries that die at the same offset say so, an ESP8266's progress moves steadily.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { diagnose } from '../src/diagnosis/index.ts';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App, buildEsp8266Sketch } from '../src/formats/index.ts';
import {
  AHEAD_LIMIT_BYTES,
  flashPauseAllowanceMs,
} from '../src/protocols/arduino-ota/host/transfer-limits.ts';
import { type UploadEvent, type UploadObservation, upload } from '../src/upload/index.ts';

const SCALE = 0.1;

async function failing(p: Promise<unknown>) {
  const e = await p.then(
    () => assert.fail('the upload succeeded'),
    (err: unknown) => err,
  );
  assert.ok(isAirflashError(e), String(e));
  return { e, obs: e.data['observation'] as UploadObservation };
}

describe('transfer stalls: --stall-timeout is honoured', () => {
  it('ESP8266 stall at 14 % of 1.25 MB with a 0.5 s stall timeout gives up after 0.5 s + the allowance', async () => {
    const dev = await startDevice({
      core: 'esp8266',
      address: '127.0.0.72',
      port: 0,
      timeScale: SCALE,
      faults: ['stall@14'],
    });
    try {
      const data = buildEsp8266Sketch({ size: 1_250_000 });
      const { e, obs } = await failing(
        upload({ host: dev.address, port: dev.port, data, timeScale: SCALE, stallTimeoutMs: 500 }),
      );
      assert.equal(e.code, 'TRANSFER_STALLED', e.message);
      const tr = obs.transfer;
      assert.ok(tr?.endedAt !== undefined && tr.lastDeviceDataAt !== undefined);
      const allowance = flashPauseAllowanceMs({ timeScale: SCALE } as never);
      assert.equal(allowance, 410);
      assert.equal(tr.flashPauseAllowanceMs, allowance);
      assert.equal(tr.silenceLimitMs, 500 + allowance);
      const silent = tr.endedAt - tr.lastDeviceDataAt;
      assert.ok(
        silent >= 500 + allowance - 20 && silent < 500 + allowance + 2500,
        `gave up after ${silent} ms of silence`,
      );
      // sent vs confirmed: the host never ran far ahead of the device, and the message says which is which
      assert.ok(
        tr.bytesConfirmed >= 0.08 * data.length && tr.bytesConfirmed <= 0.15 * data.length,
        String(tr.bytesConfirmed),
      );
      assert.ok(
        tr.bytesSent - tr.bytesConfirmed <= AHEAD_LIMIT_BYTES + 40 * 1460,
        `${tr.bytesSent} sent for ${tr.bytesConfirmed}`,
      );
      assert.match(
        e.message,
        /of 1250000 bytes confirmed by the device \(\d+ %; \d+ handed to the network\)/,
      );
      assert.match(e.message, /stall timeout 0\.5 s \+ 0\.4 s flash-pause allowance/);
      const stall = diagnose(obs, e).causes.find((c) => c.id === 'WEAK_LINK_STALL');
      assert.ok(stall, 'no WEAK_LINK_STALL cause');
      assert.ok(
        stall.evidence.some((l) =>
          /no reply for 910 ms \(stall timeout 500 ms \+ 410 ms flash-pause allowance/.test(l),
        ),
        stall.evidence.join('\n'),
      );
    } finally {
      await dev.close();
    }
  });
});

describe('transfer: retries that fail at the same offset point at the image or flash', () => {
  const data = buildEsp32App({ size: 200_000 });
  /** Upload with retries to an emulated ESP32 with these faults; the failure and the events. */
  async function retried(address: string, faults: string[], faultEvery: boolean, retries: number) {
    const dev = await startDevice({ core: 'esp32', address, port: 0, timeScale: SCALE, faults, faultEvery });
    try {
      const events: UploadEvent[] = [];
      const failed = await failing(
        upload({
          host: dev.address,
          port: dev.port,
          data,
          timeScale: SCALE,
          retries,
          onEvent: (ev) => events.push(ev),
        }),
      );
      const warnings = events.filter((ev) => ev.type === 'warning' && ev.code === 'SAME_OFFSET');
      return { ...failed, warnings };
    } finally {
      await dev.close();
    }
  }

  for (const fault of ['drop@50', 'corrupt@50'])
    it(`${fault} on every attempt: SAME_OFFSET warning, observation and diagnosis`, async () => {
      const { e, obs, warnings } = await retried('127.0.0.73', [fault], true, 2);
      assert.equal(e.code, fault.startsWith('drop') ? 'INCOMPLETE' : 'DEVICE_ERROR', e.message);
      assert.equal(warnings.length, 1, 'warned once, when first seen');
      assert.equal(obs.sameOffset?.attempts, 3);
      assert.equal(obs.previousAttempts?.length, 2);
      assert.ok(obs.warnings.some((w) => w.code === 'SAME_OFFSET'));
      const top = diagnose(obs, e).causes[0];
      assert.equal(top?.id, 'SAME_OFFSET');
      assert.ok(
        top.evidence.some((l) => /same offset/.test(l)),
        top.evidence.join('\n'),
      );
    });

  it('drops at 20 % and then 70 %: no SAME_OFFSET (a link failing at random points)', async () => {
    const { e, obs, warnings } = await retried('127.0.0.74', ['drop@20', 'drop@70'], false, 1);
    assert.equal(e.code, 'INCOMPLETE');
    assert.equal(obs.previousAttempts?.length, 1);
    assert.equal(obs.sameOffset, undefined);
    assert.equal(warnings.length, 0);
  });
});

describe('transfer: ESP8266 progress follows what the device confirmed', () => {
  it('1 MB to an ESP8266: progress moves in steps of at most one write-ahead window, then "flashing"', async () => {
    const dev = await startDevice({ core: 'esp8266', address: '127.0.0.75', port: 0, timeScale: SCALE });
    try {
      const data = buildEsp8266Sketch({ size: 1_000_000 });
      const events: UploadEvent[] = [];
      const r = await upload({
        host: dev.address,
        port: dev.port,
        data,
        timeScale: SCALE,
        onEvent: (ev) => events.push(ev),
      });
      assert.equal(r.ok, true);
      const progress = events.flatMap((ev) => (ev.type === 'progress' ? [ev] : []));
      let last = 0;
      let maxStep = 0;
      for (const p of progress) {
        assert.ok(p.bytes <= p.sent || p.bytes === 0, `${p.bytes} confirmed > ${p.sent} sent`);
        maxStep = Math.max(maxStep, p.bytes - last);
        last = p.bytes;
      }
      // one window, plus counts below the 1 % progress throttle
      assert.ok(maxStep <= AHEAD_LIMIT_BYTES + data.length / 100, `progress jumped by ${maxStep} bytes`);
      assert.ok(
        (r.observation.transfer?.countChunks ?? 0) >= 10,
        String(r.observation.transfer?.countChunks),
      );
      assert.ok(progress.some((p) => p.stage === 'flashing'));
    } finally {
      await dev.close();
    }
  });
});
