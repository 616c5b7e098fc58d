/**
 * The reboot wait on a password ESP32 whose loop() is slow (issue 11, the last gap): after this
 * process's update or another process's reboot mark, the quick re-invitations (every 250 ms,
 * doubling) queue in the device's UDP buffer while loop() sleeps, and each queued pair restarts
 * WAITAUTH once more. With a password, an image that is not an ESP8266 sketch and a slow loop seen
 * in the update before the reboot, the reboot wait invites one at a time, spaced so that no
 * duplicate queues (host/invite-schedule.ts `rebootSpacing`); a fast loop keeps the quick wait.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { deviceKey, markUpdated } from '../src/protocols/arduino-ota/host/host-lock.ts';
import {
  invitePlan,
  nextInvitationAt,
  rebootSpacing,
} from '../src/protocols/arduino-ota/host/invite-schedule.ts';
import { writeRebootMark } from '../src/protocols/arduino-ota/host/reboot-marks.ts';
import { resolveTimeouts } from '../src/protocols/arduino-ota/model/timeouts.ts';
import { upload } from '../src/upload/index.ts';
import { advance, startAttempt } from './helpers/memory-device.ts';

const TIMERS = { apis: ['setTimeout', 'Date'] as ('setTimeout' | 'Date')[] };
const tick = (ctx: { mock: { timers: { tick(ms: number): void } } }) => (ms: number) =>
  ctx.mock.timers.tick(ms);
const root = mkdtempSync(join(tmpdir(), 'airflash-rebootwait-'));
after(() => rmSync(root, { recursive: true, force: true }));

function inviteTimes(obs: { sent: { kind: string; at: number }[] }): number[] {
  const inv = obs.sent.filter((x) => x.kind === 'invitation');
  const t0 = inv[0]?.at ?? 0;
  return inv.map((x) => Math.round(x.at - t0));
}

describe('the spacing (pure)', () => {
  const plan = invitePlan(resolveTimeouts({}));
  it('twice the loop seen, never under the quick delay, never over the window', () => {
    assert.equal(rebootSpacing(plan, 30_000), 31_000);
    assert.equal(rebootSpacing(plan, 2_000), 4_000);
    assert.equal(rebootSpacing(plan, 100), 1_000);
    assert.equal(rebootSpacing(plan, 15_500), 31_000);
    assert.equal(rebootSpacing(plan, 15_499), 30_998);
  });
  it('later rounds, bounded: never 3 invitations within the window', () => {
    const slow = { quick: false, bounded: true };
    assert.equal(nextInvitationAt([0, 10_000], plan, slow), 31_000);
    assert.equal(nextInvitationAt([0, 31_000], plan, slow), 41_000);
    assert.equal(nextInvitationAt([0, 10_000], plan, { quick: false, bounded: false }), 20_000);
  });
});

describe('on the memory transport (mock.timers)', () => {
  const all = Array.from({ length: 40 }, (_, i) => i + 1);

  it('a password, an ESP32 image, a 30 s loop seen before the reboot: one invitation per 31 s, none queued', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const address = '127.0.112.1';
    markUpdated(deviceKey(address, 3232), Date.now(), 30_000);
    const a = startAttempt({ address, password: 'pw', dropInvitations: all }, { password: 'pw' });
    const spent = await advance(tick(ctx), () => a.outcome() !== undefined, 200_000, 50);
    assert.ok(a.outcome() && !a.outcome()?.ok, 'fails');
    assert.deepEqual(inviteTimes(a.obs), [0, 31_000, 62_000]);
    assert.ok(spent >= 100_000 && spent <= 100_100, `took ${spent} ms`);
    assert.ok(
      a.obs.hints.some((h) => /rebooting.*one invitation every 31\.0 s/.test(h)),
      a.obs.hints.join('\n'),
    );
  });

  it('the same device back after the first: its AUTH is answered at once (the lost one is not counted as queued)', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const address = '127.0.112.2';
    markUpdated(deviceKey(address, 3232), Date.now(), 30_000);
    const a = startAttempt({ address, password: 'pw', dropInvitations: [1], rttMs: 3 }, { password: 'pw' });
    await advance(tick(ctx), () => a.outcome() !== undefined, 60_000, 10);
    const o = a.outcome();
    assert.ok(o?.ok, String(o && !o.ok ? o.error : o));
    assert.deepEqual(inviteTimes(a.obs), [0, 31_000]);
    assert.equal(a.obs.backlogAtFirstAnswer, 0);
    assert.equal(a.device.authLines, 1);
  });

  it('a reboot mark that names no loop period (unknown): spaced by the whole window', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const address = '127.0.112.5';
    const dir = join(root, 'marks-unknown');
    assert.equal(
      await writeRebootMark(dir, deviceKey(address, 3232), { at: Date.now(), md5: '0'.repeat(32) }),
      true,
    );
    const a = startAttempt(
      { address, password: 'pw', dropInvitations: all },
      { password: 'pw', rebootMarks: dir },
    );
    await advance(tick(ctx), () => a.outcome() !== undefined, 200_000, 50);
    assert.deepEqual(inviteTimes(a.obs), [0, 31_000, 62_000]);
    assert.ok(
      a.obs.hints.some((h) => /loop\(\) may be slow, so one invitation every 31\.0 s/.test(h)),
      a.obs.hints.join('\n'),
    );
  });

  it('a reboot mark with a 2 s loop: every 4 s', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const address = '127.0.112.6';
    const dir = join(root, 'marks-2s');
    const mark = { at: Date.now(), md5: '0'.repeat(32), loopMs: 2_000 };
    assert.equal(await writeRebootMark(dir, deviceKey(address, 3232), mark), true);
    const a = startAttempt(
      { address, password: 'pw', dropInvitations: all },
      { password: 'pw', rebootMarks: dir },
    );
    await advance(tick(ctx), () => a.outcome() !== undefined, 200_000, 50);
    assert.deepEqual(
      inviteTimes(a.obs),
      [0, 4_000, 8_000, 12_000, 16_000, 20_000, 24_000, 28_000, 32_000, 36_000],
    );
  });

  it('the other re-invite path, a later round (lost auth answer), with a password: never 3 invitations in 31 s', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const later = Array.from({ length: 40 }, (_, i) => i + 2);
    const a = startAttempt(
      { address: '127.0.112.7', password: 'pw', dropAuthAnswers: [1], dropInvitations: later, rttMs: 3 },
      { password: 'pw' },
    );
    await advance(tick(ctx), () => a.outcome() !== undefined, 300_000, 50);
    const round2 = a.obs.sent.filter((x) => x.kind === 'invitation' && x.reason !== 'first');
    const r0 = round2[0]?.at ?? 0;
    assert.deepEqual(
      round2.slice(0, 4).map((x) => Math.round(x.at - r0)),
      [0, 10_000, 31_000, 41_000],
    );
  });

  for (const [label, loopMs, password] of [
    ['a fast loop with a password', 0, 'pw'],
    ['a slow loop without a password', 30_000, undefined],
  ] as const) {
    it(`${label}: the quick reboot wait as before (250 ms, doubling)`, async (ctx) => {
      ctx.mock.timers.enable(TIMERS);
      const address = password ? '127.0.112.3' : '127.0.112.4';
      markUpdated(deviceKey(address, 3232), Date.now(), loopMs);
      const pw = password ? { password } : {};
      const a = startAttempt({ address, dropInvitations: all, ...pw }, pw);
      await advance(tick(ctx), () => a.outcome() !== undefined, 200_000, 50);
      assert.deepEqual(inviteTimes(a.obs).slice(0, 6), [0, 250, 750, 1_750, 3_750, 7_750]);
    });
  }
});

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const run = join(import.meta.dirname, '..', 'src', 'cli', 'run.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', run, ...args], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

describe('against the emulator: a password ESP32 with delay(30000) in loop() (1:10), updated twice in a row', () => {
  const SCALE = 0.1;

  it('in one process: the second upload restarts WAITAUTH at most once and succeeds', async () => {
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.111.1',
      port: 0,
      password: 'pw',
      loopMs: 30_000,
      timeScale: SCALE,
    });
    try {
      const opts = { host: dev.address, port: dev.port, password: 'pw', timeScale: SCALE };
      await upload({ ...opts, data: buildEsp32App({ size: 20_000, seed: 91 }) });
      const before = dev.counters.invitations;
      const r = await upload({ ...opts, data: buildEsp32App({ size: 20_000, seed: 92 }) });
      const label = JSON.stringify(inviteTimes(r.observation));
      assert.ok(
        dev.counters.invitations - before <= 2,
        `${label}: ${dev.counters.invitations - before} AUTHs`,
      );
      assert.equal(r.observation.auth?.tries.length, 1, label);
      assert.equal(dev.counters.authFailures, 0);
      const boot = await dev.waitFor('booted', (e) => e.event === 'booted' && e.md5 === r.md5, 30_000);
      assert.equal(boot.event === 'booted' && boot.md5, r.md5);
    } finally {
      await dev.close();
    }
  });

  it('in two CLI processes (the reboot mark): the same', async () => {
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.111.2',
      password: 'pw',
      loopMs: 30_000,
      timeScale: SCALE,
    });
    try {
      const env = { XDG_CACHE_HOME: join(root, 'cache') };
      const files = [93, 94].map((seed) => {
        const f = join(root, `fw${seed}.bin`);
        writeFileSync(f, buildEsp32App({ size: 20_000, seed }));
        return f;
      });
      const args = (f: string) => [
        'upload',
        '-i',
        dev.address,
        '-a',
        'pw',
        '-f',
        f,
        '--time-scale',
        String(SCALE),
      ];
      const first = await cli(args(files[0] as string), env);
      assert.equal(first.code, 0, first.out);
      const before = dev.counters.invitations;
      const second = await cli(args(files[1] as string), env);
      assert.equal(second.code, 0, second.out);
      assert.match(second.out, /rebooting/);
      assert.ok(
        dev.counters.invitations - before <= 2,
        `${dev.counters.invitations - before} AUTHs\n${second.out}`,
      );
    } finally {
      await dev.close();
    }
  });
});

describe('against the emulator: a fast loop() keeps the quick reboot wait', () => {
  for (const password of [undefined, 'pw']) {
    it(`${password ? 'with' : 'without'} a password: the second upload is back within moments of the reboot`, async () => {
      const dev = await startDevice({
        core: 'esp32',
        address: password ? '127.0.111.3' : '127.0.111.4',
        port: 0,
        ...(password ? { password } : {}),
      });
      try {
        const opts = { host: dev.address, port: dev.port, ...(password ? { password } : {}) };
        await upload({ ...opts, data: buildEsp32App({ size: 20_000, seed: 95 }) });
        const r = await upload({ ...opts, data: buildEsp32App({ size: 20_000, seed: 96 }) });
        const times = inviteTimes(r.observation);
        assert.equal(r.observation.rebootWait, true, JSON.stringify(times));
        // Today: the device is back about 1 s after its OK, the reboot wait's invitations are
        // 250 ms apart at first; a bounded wait would not invite again before 31 s.
        assert.ok(r.durationMs < 8_000, `second upload took ${r.durationMs} ms: ${JSON.stringify(times)}`);
        assert.ok(times.length >= 2 && (times[1] as number) < 1_000, JSON.stringify(times));
      } finally {
        await dev.close();
      }
    });
  }
});
