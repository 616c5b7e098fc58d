/**
 * The handshake's timing on the in-memory transport under mock.timers: every wait is counted in
 * mocked milliseconds, so these assertions hold on a loaded machine (no wall clock involved).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { advance, startAttempt } from './helpers/memory-device.ts';

const TIMERS = { apis: ['setTimeout', 'Date'] as ('setTimeout' | 'Date')[] };

describe('handshake on the memory transport (mock.timers)', () => {
  it('re-invites every attempt timeout and takes the answer to the third invitation', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const a = startAttempt({ dropInvitations: [1, 2], rttMs: 3 });
    const spent = await advance(
      (ms) => ctx.mock.timers.tick(ms),
      () => a.outcome() !== undefined,
      60_000,
      5,
    );
    const o = a.outcome();
    assert.ok(o?.ok, String(o && !o.ok ? o.error : o));
    assert.equal(a.obs.invitationsSent, 3);
    assert.deepEqual(
      a.obs.sent.filter((s) => s.kind === 'invitation').map((s) => s.reason),
      ['first', 'retry', 'retry'],
    );
    // Two attempt timeouts of 10 s, then a prompt answer.
    assert.ok(spent >= 20_000 && spent < 20_200, `took ${spent} ms`);
    assert.equal(a.device.net.openHandles(), 0, 'every socket and listener closed');
  });

  it('answers the AUTH challenge with the MD5 exchange and uploads', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const a = startAttempt({ password: 'pw', rttMs: 2 }, { password: 'pw' });
    const spent = await advance(
      (ms) => ctx.mock.timers.tick(ms),
      () => a.outcome() !== undefined,
      5_000,
    );
    const o = a.outcome();
    assert.ok(o?.ok, String(o && !o.ok ? o.error : o));
    assert.equal(o.result.authScheme, 'md5');
    assert.equal(a.obs.auth?.tries.length, 1);
    assert.equal(a.obs.auth?.tries[0]?.outcome, 'ok');
    assert.ok(spent < 100, `took ${spent} ms`);
  });

  it('a wrong password is AUTH_FAILED from the device’s own answer', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const a = startAttempt({ password: 'right', rttMs: 2 }, { password: 'wrong' });
    await advance(
      (ms) => ctx.mock.timers.tick(ms),
      () => a.outcome() !== undefined,
      5_000,
    );
    const o = a.outcome();
    assert.ok(o && !o.ok && isAirflashError(o.error, 'AUTH_FAILED'), String(o && !o.ok ? o.error : o));
    // The device was left waiting for nothing: no reset needed after an explicit refusal.
    assert.equal(a.obs.auth?.tries.at(-1)?.outcome, 'failed');
  });

  it('one lost auth answer: the same password hash again with a new invitation, never AUTH_FAILED', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const a = startAttempt({ password: 'pw', rttMs: 2, dropAuthAnswers: [1] }, { password: 'pw' });
    await advance(
      (ms) => ctx.mock.timers.tick(ms),
      () => a.outcome() !== undefined,
      30_000,
      5,
    );
    const o = a.outcome();
    assert.ok(o?.ok, String(o && !o.ok ? o.error : o));
    const tries = a.obs.auth?.tries ?? [];
    assert.equal(tries.length, 2);
    assert.equal(tries[0]?.outcome, 'no-answer');
    assert.equal(tries[1]?.secret, tries[0]?.secret);
    assert.equal(tries[1]?.outcome, 'ok');
  });

  it('ICMP port unreachable ends the invitation phase within the first attempt', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const a = startAttempt({ refuse: true, rttMs: 4 });
    const spent = await advance(
      (ms) => ctx.mock.timers.tick(ms),
      () => a.outcome() !== undefined,
      20_000,
    );
    const o = a.outcome();
    assert.ok(
      o && !o.ok && isAirflashError(o.error, 'NO_INVITATION_REPLY'),
      String(o && !o.ok ? o.error : o),
    );
    assert.equal((o.error as { data: { portRefused?: boolean } }).data.portRefused, true);
    assert.equal(a.obs.portRefused?.[0]?.errno, 'ECONNREFUSED');
    assert.ok(spent < 50, `took ${spent} ms`);
    assert.equal(a.obs.invitationsSent, 1);
  });

  it("ICMP port unreachable in Windows' form (ECONNRESET on the connected socket) is the same refusal", async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const a = startAttempt({ refuse: 'ECONNRESET', rttMs: 4 });
    const spent = await advance(
      (ms) => ctx.mock.timers.tick(ms),
      () => a.outcome() !== undefined,
      20_000,
    );
    const o = a.outcome();
    assert.ok(
      o && !o.ok && isAirflashError(o.error, 'NO_INVITATION_REPLY'),
      String(o && !o.ok ? o.error : o),
    );
    assert.equal((o.error as { data: { portRefused?: boolean } }).data.portRefused, true);
    assert.equal(a.obs.portRefused?.[0]?.errno, 'ECONNRESET');
    assert.ok(spent < 50, `took ${spent} ms`);
  });

  it('a lossy schedule (lost invitations and a lost auth answer) still uploads, as TIMEOUT-free success', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const a = startAttempt(
      { password: 'pw', rttMs: 3, dropInvitations: [1, 3], dropAuthAnswers: [1] },
      { password: 'pw' },
    );
    await advance(
      (ms) => ctx.mock.timers.tick(ms),
      () => a.outcome() !== undefined,
      120_000,
      10,
    );
    const o = a.outcome();
    assert.ok(o?.ok, String(o && !o.ok ? o.error : o));
    assert.ok(!a.obs.warnings.some((w) => w.code === 'AUTH_FAILED'));
    assert.equal(a.obs.auth?.tries.at(-1)?.outcome, 'ok');
  });

  it('no answer at all: NO_INVITATION_REPLY after inviteAttempts × attemptTimeoutMs, as configured', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const a = startAttempt(
      { dropInvitations: [1, 2, 3, 4, 5] },
      { timeouts: { invitation: 700, invitationAttempts: 5 } },
    );
    const spent = await advance(
      (ms) => ctx.mock.timers.tick(ms),
      () => a.outcome() !== undefined,
      10_000,
      10,
    );
    const o = a.outcome();
    assert.ok(
      o && !o.ok && isAirflashError(o.error, 'NO_INVITATION_REPLY'),
      String(o && !o.ok ? o.error : o),
    );
    assert.equal(a.obs.invitationsSent, 5);
    assert.ok(spent >= 3500 && spent <= 3520, `took ${spent} ms`);
  });

  it('right after an update the device reboots: re-invite at growing intervals, no "loop() blocks" note', async (ctx) => {
    ctx.mock.timers.enable(TIMERS);
    const first = startAttempt({ rttMs: 2 });
    await advance(
      (ms) => ctx.mock.timers.tick(ms),
      () => first.outcome() !== undefined,
      5_000,
    );
    assert.ok(first.outcome()?.ok);
    // The same device, off the network for its reboot: the first three invitations are lost.
    const a = startAttempt({ address: first.device.peer.address, rttMs: 2, dropInvitations: [1, 2, 3] });
    const spent = await advance(
      (ms) => ctx.mock.timers.tick(ms),
      () => a.outcome() !== undefined,
      60_000,
      5,
    );
    const o = a.outcome();
    assert.ok(o?.ok, String(o && !o.ok ? o.error : o));
    assert.equal(a.obs.rebootWait, true);
    assert.deepEqual(
      a.obs.sent.filter((x) => x.kind === 'invitation').map((x) => x.reason),
      ['first', 'reboot', 'reboot', 'reboot'],
    );
    assert.ok(!a.obs.hints.some((h) => /loop\(\) blocks/.test(h)), a.obs.hints.join('\n'));
    // 250 + 500 + 1000 ms of re-invitations, not an attempt timeout of 10 s.
    assert.ok(spent < 2_000, `took ${spent} ms`);
  });
});
