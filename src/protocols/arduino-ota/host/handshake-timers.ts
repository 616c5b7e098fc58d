import { AirflashError } from '../../../core/errors.ts';
import { lostAnswers } from './handshake-errors.ts';
import { MAX_ROUNDS, type Session } from './handshake-session.ts';
import { formatSeconds } from './recorder.ts';

/** A deadline of the current mode passed: re-invite, start a new round, probe, or give up. */
export async function onDeadline(s: Session): Promise<void> {
  switch (s.mode) {
    case 'invite':
      return inviteTimedOut(s);
    case 'collect':
      return collectTimedOut(s);
    case 'auth':
      return authTimedOut(s);
    case 'connect':
      return connectTimedOut(s);
  }
}

function inviteTimedOut(s: Session): void {
  const { rec, t, obs, ctx } = s;
  if (s.rebootWait()) {
    if (obs.rebootWait === undefined) {
      obs.rebootWait = true;
      rec.hint(
        `the device is rebooting after the previous update; inviting again at growing intervals from ${formatSeconds(t.rebootPollMs)} until it is back (up to ${formatSeconds((ctx.rebootingUntil ?? 0) - (s.roundInvites[0] ?? 0))})`,
      );
    }
    s.attempt--;
    s.invite('reboot');
    return;
  }
  if (!s.roundOver && s.attempt < t.inviteAttempts) {
    const waited = rec.now() - (s.roundInvites[0] ?? 0);
    if (!s.stillInvitingHinted && waited >= t.attemptTimeoutMs) {
      s.stillInvitingHinted = true;
      rec.hint(
        `no answer after ${formatSeconds(waited)}; still inviting (up to ${t.inviteAttempts} attempts)`,
      );
    }
    s.invite('retry');
    return;
  }
  throw new AirflashError(
    'NO_INVITATION_REPLY',
    `No answer from ${ctx.device.address} port ${ctx.device.port} to ${s.attempt} invitations in ${formatSeconds(rec.now() - (s.roundInvites[0] ?? 0))}.`,
    {
      phase: 'invite',
      hint:
        'Check the address and the port (ESP32 uses 3232, ESP8266 8266: -p PORT), that the sketch calls ' +
        'ArduinoOTA.begin() and calls ArduinoOTA.handle() often (no long delay() in loop()), and that ' +
        'UDP is not blocked between here and the device.',
    },
  );
}

async function collectTimedOut(s: Session): Promise<void> {
  s.rec.log('the expected answers to queued invitations did not come; inviting again');
  s.state.deviceWaitingAuth = true;
  await s.newRound('after-timeout', lostAnswers(s.ctx, 'The device stopped answering during authentication'));
}

async function authTimedOut(s: Session): Promise<void> {
  const { rec, obs } = s;
  const tr = s.lastTry();
  if (tr) tr.outcome = 'no-answer';
  const tries = obs.auth?.tries ?? [];
  // Only an explicit "Authentication Failed" says the password is wrong; silence after a prompt
  // answer to the invitation is a lost datagram (lossy link): TIMEOUT, not AUTH_FAILED.
  const refusedOnce = tries.some((x) => x.outcome === 'failed');
  const failure = refusedOnce
    ? new AirflashError(
        'AUTH_FAILED',
        `No answer to the authentication after ${formatSeconds(rec.now() - s.authSentAt)}.`,
        {
          phase: 'auth',
          hint: 'Check the password (the `password` option); if the device is busy, give it more time (`authTimeoutMs`).',
        },
      )
    : lostAnswers(s.ctx, `No answer to ${tries.length} authentication line(s)`);
  const current = s.secrets[s.secretIndex];
  const silentWithThis = tries.filter((x) => x.secret === current && x.outcome === 'no-answer').length;
  if (!refusedOnce && silentWithThis < 2 && s.rounds < MAX_ROUNDS) {
    // One lost answer: the same password hash again, with a new invitation.
    rec.log('no answer to the auth line (lost?); inviting again with the same password hash');
    await s.newRound('after-timeout', failure);
  } else if (s.secretIndex + 1 < s.secrets.length) {
    s.secretIndex++;
    rec.log('no answer to the auth line; trying the MD5 password hash with a new invitation');
    await s.newRound('fallback', failure);
  } else if (!s.staleRetryUsed) {
    s.staleRetryUsed = true;
    await s.newRound('after-timeout', failure);
  } else throw failure;
}

function connectTimedOut(s: Session): void {
  const { rec, obs } = s;
  const c = obs.connect as NonNullable<typeof obs.connect>;
  if (c.probeAnsweredAt !== undefined || s.finalWindow)
    throw s.connectFailure(
      `it answered again ${formatSeconds((c.probeAnsweredAt ?? rec.now()) - (obs.okAt ?? 0))} after its OK, so it is running but could not connect`,
    );
  if (rec.now() >= s.connectHardEnd)
    throw s.connectFailure(`waited ${formatSeconds(rec.now() - (obs.okAt ?? 0))}`);
  if (c.probes === 0)
    rec.hint(
      `the device said OK ${formatSeconds(rec.now() - (obs.okAt ?? 0))} ago but has not connected back; asking whether it is busy (waiting up to ${formatSeconds(s.connectHardEnd - (obs.okAt ?? 0))})`,
    );
  c.probes++;
  c.waitMs = Math.round(s.connectHardEnd - (obs.okAt ?? 0));
  s.send(s.ctx.invitation, { kind: 'invitation', reason: 'probe' });
  obs.invitationsSent++;
  s.deadline = Math.min(s.connectHardEnd, rec.now() + s.connectWindow);
}
