import { AirflashError } from '../../../core/errors.ts';
import type { ReceivedDatagram } from '../model/options.ts';
import {
  type AuthScheme,
  asciiText,
  classifyReply,
  type PasswordHashKind,
  type Reply,
} from '../wire/index.ts';
import { authFailed, PortRefusedError, refusedHint, wrongChip } from './handshake-errors.ts';
import { collectWindow, type HandshakeEvent, noteGap, type Session } from './handshake-session.ts';
import { formatSeconds } from './recorder.ts';

/** Datagrams recorded in the observation; later ones are only counted (`obs.udp.unrecorded`). */
export const RECEIVED_KEPT = 256;

export interface HandshakeOutcome {
  socket: Extract<HandshakeEvent, { kind: 'conn' }>['socket'];
  authScheme?: AuthScheme;
  passwordHash?: PasswordHashKind;
  /** The device may be waiting for an auth line we will never send (send a reset on failure). */
  deviceWaitingAuth: boolean;
}

type Datagram = Extract<HandshakeEvent, { kind: 'udp' }>;

/** The recorded kind of a reply (digits alone are not an answer to an invitation). */
function recordedKind(r: Reply): ReceivedDatagram['kind'] {
  return r.kind === 'counts' ? 'unknown' : r.kind;
}

/** Nothing listens on the device's port: acted on only before any answer (later it is stale). */
export function onRefused(s: Session, ev: Extract<HandshakeEvent, { kind: 'refused' }>): void {
  const { rec, obs, ctx } = s;
  if (s.mode !== 'invite' || s.firstAnswerSeen || s.rounds > 1) {
    rec.log(`ignored a late port-unreachable report (${ev.errno})`);
    return;
  }
  obs.portRefused ??= [];
  obs.portRefused.push({ port: ctx.device.port, at: ev.at, errno: ev.errno });
  const after = ev.at - (s.roundInvites[0] ?? ev.at);
  rec.log(`port ${ctx.device.port} unreachable (${ev.errno}) ${formatSeconds(after)} after the invitation`);
  throw new PortRefusedError(
    [ctx.device.port],
    `Nothing listens on UDP port ${ctx.device.port} at ${ctx.device.address}: the system answered the invitation with "port unreachable" after ${formatSeconds(after)}.`,
    'Check the port (ESP32 uses 3232, ESP8266 8266: -p PORT) and that the sketch calls ArduinoOTA.begin() ' +
      '(a device that crashed or restarted has no OTA service).',
  );
}

/** The device connected back: the handshake is done. */
export function onConnection(s: Session, ev: Extract<HandshakeEvent, { kind: 'conn' }>): HandshakeOutcome {
  const { rec, obs } = s;
  if (s.mode !== 'connect') {
    // The OK got lost, or came from a queued copy of our (identical) invitation.
    obs.connect = {
      waitMs: 0,
      refused: obs.connect?.refused ?? [],
      extra: obs.connect?.extra ?? 0,
      probes: 0,
      withoutOk: true,
    };
    rec.log('the device connected before its OK was seen');
  }
  const c = obs.connect as NonNullable<typeof obs.connect>;
  c.connectedAt = ev.at;
  c.from = ev.from;
  if (obs.okAt !== undefined)
    noteGap(rec, ev.at - obs.okAt, s.okViaAuth ? 'auth OK → connect' : 'OK → connect');
  const tr = s.lastTry();
  if (s.mode === 'auth' && tr) tr.outcome = 'ok';
  return {
    socket: ev.socket,
    ...(s.scheme === undefined ? {} : { authScheme: s.scheme }),
    ...(s.scheme === undefined ? {} : { passwordHash: s.secrets[s.secretIndex] as PasswordHashKind }),
    deviceWaitingAuth: s.state.deviceWaitingAuth,
  };
}

/** A datagram: record it, note the first answer's timing, then react as the current mode does. */
export async function onDatagram(s: Session, ev: Datagram): Promise<void> {
  const { rec, obs, ctx } = s;
  const text = asciiText(ev.data.subarray(0, 512));
  const fromDevice = ev.from === ctx.device.address;
  const reply = classifyReply(text);
  const record: ReceivedDatagram = {
    at: ev.at,
    from: ev.from,
    fromPort: ev.port,
    fromDevice,
    text: text.slice(0, 256),
    kind: recordedKind(reply),
    use: 'ignored',
    ...(reply.kind === 'auth' || reply.kind === 'bad-nonce' ? { nonceLength: reply.nonce.length } : {}),
  };
  // Bounded: a device flooding datagrams gets the first RECEIVED_KEPT recorded, the rest counted.
  const kept = obs.received.length < RECEIVED_KEPT;
  if (kept) obs.received.push(record);
  else if (obs.udp) obs.udp.unrecorded = (obs.udp.unrecorded ?? 0) + 1;
  if (!fromDevice) {
    rec.log(`ignored a datagram from ${ev.from}:${ev.port} (not the device): ${JSON.stringify(record.text)}`);
    return;
  }
  if (kept) rec.log(`device → ${JSON.stringify(record.text)}`);
  if (!s.firstAnswerSeen) firstAnswer(s, ev.at, ev.toFirst === true);

  if (reply.kind === 'refused' && s.mode !== 'connect') {
    record.use = 'failed';
    obs.deviceText = text;
    throw new AirflashError('DEVICE_REFUSED', `The device refused the update: ${reply.text}`, {
      phase: s.mode === 'invite' ? 'invite' : 'auth',
      deviceText: text.trimEnd(),
      hint: refusedHint(reply.text),
    });
  }
  if ((reply.kind === 'unknown' || reply.kind === 'counts') && s.mode !== 'connect') {
    record.use = 'failed';
    obs.deviceText = text;
    throw new AirflashError(
      'BAD_REPLY',
      `The device answered something unexpected: ${JSON.stringify(text.slice(0, 80))}`,
      {
        phase: s.mode === 'invite' ? 'invite' : 'auth',
        deviceText: text,
        hint: `Check that ${ctx.device.address}:${ctx.device.port} is an ArduinoOTA service (another program may use that port).`,
      },
    );
  }
  switch (s.mode) {
    case 'invite':
      return inviteReply(s, ev, reply, record, text);
    case 'collect':
      return collectReply(s, ev, reply, record);
    case 'auth':
      return authReply(s, ev, reply, record);
    case 'connect':
      return connectReply(s, ev, reply, record, text);
  }
}

function firstAnswer(s: Session, at: number, toFirst: boolean): void {
  const { rec, obs, t } = s;
  s.firstAnswerSeen = true;
  const first = s.roundInvites[0] ?? 0;
  const last = s.roundInvites.filter((x) => x <= at).at(-1) ?? first;
  obs.firstAnswerLatencyMs = Math.round(at - first);
  obs.firstAnswerSinceLastInvitationMs = Math.round(at - last);
  const unanswered = s.roundInvites.filter((x) => x < at).length - 1;
  const late = obs.firstAnswerLatencyMs >= t.lateAnswerMs;
  if (
    unanswered > 0 &&
    ((late && obs.firstAnswerSinceLastInvitationMs < t.lateAnswerMs && !s.answersFirst(toFirst)) ||
      s.answersLatest(at, toFirst))
  ) {
    // The latest invitation was answered at once: the earlier ones were lost (the device was
    // away, e.g. rebooting, or the link drops datagrams), not delayed by a blocked loop().
    obs.invitationsLost = unanswered;
    if (!obs.rebootWait)
      rec.hint(
        `the device answered invitation ${unanswered + 1} at once but not the ${unanswered} before it: those were lost (the device was away, e.g. rebooting after an update, or datagrams are dropped), not delayed by loop()`,
      );
  } else if (late)
    rec.hint(
      `the device answered after ${formatSeconds(obs.firstAnswerLatencyMs)}: its loop() blocks ArduinoOTA.handle() (each step now waits for its next handle() call)`,
    );
}

function inviteReply(s: Session, ev: Datagram, reply: Reply, record: ReceivedDatagram, text: string): void {
  const { rec, obs, t, ctx } = s;
  s.lastLatencyMs = Math.max(s.lastLatencyMs, ev.at - (s.roundInvites[0] ?? ev.at));
  if (reply.kind === 'ok') {
    record.use = 'accepted';
    s.okViaAuth = false;
    s.goConnect(ev.at);
    return;
  }
  if (reply.kind !== 'auth' && reply.kind !== 'bad-nonce') {
    record.use = 'stray';
    return;
  }
  s.state.deviceWaitingAuth = true;
  if (ctx.password === undefined || ctx.password === '') {
    record.use = 'failed';
    throw new AirflashError('AUTH_REQUIRED', 'The device wants a password and none was given.', {
      phase: 'auth',
      hint: 'Give the password set by ArduinoOTA.setPassword() in the sketch (the `password` option).',
    });
  }
  if (reply.kind === 'bad-nonce') {
    record.use = 'failed';
    throw new AirflashError(
      'AUTH_UNSUPPORTED',
      `The device asked for a password with a nonce of ${reply.nonce.length} characters; airflash knows 32 (MD5) and 64 (SHA-256).`,
      { phase: 'auth', deviceText: text, hint: 'Please report the device core version to airflash.' },
    );
  }
  s.scheme = reply.scheme;
  // Solid evidence of the core before any image byte: only arduino-esp32 ≥ 3.3.1 sends a 64-hex
  // (PBKDF2) nonce. A 32-hex nonce fits ESP8266 and ESP32 ≤ 3.3.0 alike: no verdict.
  if (s.scheme === 'sha256' && ctx.imageFamily === 'esp8266' && ctx.force !== true) {
    record.use = 'failed';
    throw wrongChip(
      'The device is an ESP32 (it asked for the password with a 64-hex PBKDF2 nonce, which only arduino-esp32 ≥ 3.3.1 sends), but the image is an ESP8266 sketch.',
    );
  }
  s.nonce = reply.nonce.toLowerCase();
  if (obs.auth === undefined) {
    obs.auth = { scheme: s.scheme, nonceLength: s.nonce.length, tries: [] };
    s.secrets = s.scheme === 'md5' ? ['md5'] : ctx.md5Target ? ['md5'] : ['sha256', 'md5'];
  } else {
    obs.auth.scheme = s.scheme;
    obs.auth.nonceLength = s.nonce.length;
  }
  // Every invitation sent before this answer is ahead of our auth line in the device's queue
  // (ESP32 reads one datagram per handle()); a queued invitation read while waiting for auth resets
  // the device, the next one gets a new AUTH. Even out the backlog, then answer the last AUTH
  // (protocol.md §5).
  let backlog = Math.max(0, s.roundInvites.length - 1);
  // An answer within moments of the latest invitation, after earlier ones went unanswered for a
  // whole attempt, is the answer to the latest one: a device that calls handle() that often would
  // have answered the earlier invitations long ago, so they were lost (device rebooting, datagram
  // loss), not queued. Waiting for their AUTHs would cost minutes. If this guess is wrong, a stale
  // "Authentication Failed" re-invites once.
  if (backlog > 0 && s.answersLatest(ev.at, ev.toFirst === true)) {
    const latest = s.roundInvites.at(-1) ?? ev.at;
    rec.log(
      `answered ${formatSeconds(ev.at - latest)} after the latest invitation: the ${backlog} earlier ones were lost, not queued`,
    );
    backlog = 0;
  } else if (backlog > 0 && s.spaced) {
    // Spaced beyond the loop period: the device read each before the next came (or was away).
    rec.log(`the ${backlog} earlier invitations were spaced beyond the loop period: none is queued`);
    backlog = 0;
  }
  if (s.rounds === 1 && obs.backlogAtFirstAnswer === undefined) obs.backlogAtFirstAnswer = backlog;
  if (backlog === 0) {
    record.use = 'answered';
    s.answerAuth();
    return;
  }
  s.staleRisk = true;
  if (backlog % 2 === 1) {
    s.send(ctx.invitation, { kind: 'invitation', reason: 'backlog' });
    obs.invitationsSent++;
    backlog++;
  }
  s.pendingAuths = backlog / 2;
  s.mode = 'collect';
  record.use = 'counted';
  rec.setPhase('auth');
  s.deadline = ev.at + collectWindow(t, s.lastLatencyMs);
  rec.log(
    `${backlog} queued invitations may still reach the device; waiting for ${s.pendingAuths} more AUTH`,
  );
}

function collectReply(s: Session, ev: Datagram, reply: Reply, record: ReceivedDatagram): void {
  const { rec, obs, t } = s;
  if (reply.kind === 'auth') {
    if (obs.auth?.tries.length === 0 && obs.received.filter((r) => r.kind === 'auth').length === 2)
      noteGap(
        rec,
        (ev.at - (obs.received.find((r) => r.kind === 'auth')?.at ?? ev.at)) / 2,
        'AUTH → AUTH / 2',
      );
    s.nonce = reply.nonce.toLowerCase();
    s.pendingAuths--;
    if (s.pendingAuths <= 0) {
      record.use = 'answered';
      s.answerAuth();
    } else {
      record.use = 'counted';
      s.deadline = ev.at + collectWindow(t, s.lastLatencyMs);
    }
  } else if (reply.kind === 'ok') {
    // The device has no password after all (or a queued invitation got through): take it.
    record.use = 'accepted';
    s.goConnect(ev.at);
  } else record.use = 'stray';
}

async function authReply(s: Session, ev: Datagram, reply: Reply, record: ReceivedDatagram): Promise<void> {
  const { rec } = s;
  const tr = s.lastTry();
  if (reply.kind === 'ok') {
    record.use = 'accepted';
    if (tr) {
      tr.outcome = 'ok';
      tr.answeredAt = ev.at;
    }
    if (s.secrets[s.secretIndex] === 'md5' && s.scheme === 'sha256')
      rec.warn(
        'MD5_PASSWORD_HASH',
        'The device stores an MD5 hash of its password (ArduinoOTA.setPasswordHash with an MD5 value); it worked with the MD5 fallback. Pass -m to skip the SHA-256 try, or store a SHA-256 hash.',
      );
    s.okViaAuth = true;
    s.goConnect(ev.at);
  } else if (reply.kind === 'auth-failed') {
    record.use = 'failed';
    if (tr) {
      tr.outcome = 'failed';
      tr.answeredAt = ev.at;
    }
    s.lastLatencyMs = Math.max(s.lastLatencyMs, ev.at - s.authSentAt);
    const failure = authFailed(s.ctx, s.scheme as AuthScheme, s.secrets, s.secretIndex);
    if (s.staleRisk && !s.staleRetryUsed) {
      s.staleRetryUsed = true;
      s.staleRisk = false;
      rec.log('Authentication Failed may answer a stale queued datagram; inviting once more');
      await s.newRound('stale', failure);
    } else if (s.secretIndex + 1 < s.secrets.length) {
      s.secretIndex++;
      rec.log('SHA-256 password hash refused; trying the MD5 hash with a new invitation');
      await s.newRound('fallback', failure);
    } else throw failure;
  } else if (reply.kind === 'auth') {
    // The device read another queued invitation: our auth line will meet the wrong nonce.
    record.use = 'stray';
    s.staleRisk = true;
    s.state.deviceWaitingAuth = true;
  } else record.use = 'stray';
}

function connectReply(s: Session, ev: Datagram, reply: Reply, record: ReceivedDatagram, text: string): void {
  const { rec, obs } = s;
  const conn = obs.connect as NonNullable<typeof obs.connect>;
  record.use = 'stray';
  if (conn.probes === 0 || (reply.kind !== 'ok' && reply.kind !== 'auth' && reply.kind !== 'refused')) {
    if (reply.kind === 'auth') s.state.deviceWaitingAuth = true;
    return;
  }
  conn.probeAnsweredAt ??= ev.at;
  if (reply.kind === 'auth') {
    s.state.deviceWaitingAuth = true;
    s.deadline = rec.now();
  } else if (reply.kind === 'refused') {
    obs.deviceText = text;
    throw new AirflashError('DEVICE_REFUSED', `The device refused the update: ${reply.text}`, {
      phase: 'connect',
      deviceText: text.trimEnd(),
      hint: refusedHint(reply.text),
    });
  } else if (!s.finalWindow) {
    // It is idle and will try to connect once more for this OK: one more window.
    s.finalWindow = true;
    s.deadline = ev.at + s.connectWindow;
  }
}
