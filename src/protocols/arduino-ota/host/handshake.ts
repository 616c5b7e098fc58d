import type { Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import { sleep } from '../../../core/abort.ts';
import { AirflashError } from '../../../core/errors.ts';
import type { Inbox } from '../../../transport/inbox.ts';
import type { PortCheck } from '../../../transport/port-check.ts';
import type { Timeouts } from '../../../upload/defaults.ts';
import type { ReceivedDatagram, SentDatagram } from '../../../upload/types.ts';
import {
  type AuthScheme,
  asciiBytes,
  asciiText,
  authResponse,
  formatAuthLine,
  type PasswordHashKind,
  parseInvitationReply,
  passwordSecret,
  randomCnonce,
} from '../wire/index.ts';
import {
  AUTH_FAILED_TEXT,
  authFailed,
  lostAnswers,
  refusedHint,
  udpError,
  wrongChip,
} from './handshake-errors.ts';
import { formatSeconds, type Recorder } from './recorder.ts';

export type HandshakeEvent =
  | { kind: 'udp'; data: Uint8Array; from: string; port: number; at: number }
  | { kind: 'conn'; socket: Socket; from: string; at: number }
  /** The OS reported the device's UDP port closed (ICMP port unreachable, see port-check.ts). */
  | { kind: 'refused'; errno: string; at: number };

export interface HandshakeContext {
  rec: Recorder;
  t: Timeouts;
  udp: UdpSocket;
  inbox: Inbox<HandshakeEvent>;
  device: { address: string; port: number };
  invitation: Uint8Array;
  password: string | undefined;
  md5Target: boolean;
  signal: AbortSignal | undefined;
  /** Sends the first invitation on a socket connected to the device, to hear ICMP (port-check.ts). */
  portCheck?: PortCheck;
  /** The device said OK to an upload of this process moments ago: it is rebooting (host-lock.ts). */
  rebootingUntil?: number;
  /** The chip family the image is built for (ports.ts), and whether `--force` skips the check. */
  imageFamily?: 'esp32' | 'esp8266' | undefined;
  force?: boolean;
}

export interface HandshakeOutcome {
  socket: Socket;
  authScheme?: AuthScheme;
  passwordHash?: PasswordHashKind;
  /** The device may be waiting for an auth line we will never send (send a reset on failure). */
  deviceWaitingAuth: boolean;
}

/** A datagram that returns a device waiting for auth to idle and is ignored by an idle device. */
export const RESET_DATAGRAM = asciiBytes('0\n');

/** Datagrams recorded in the observation; later ones are only counted (`obs.udp.unrecorded`). */
export const RECEIVED_KEPT = 256;
/** New invitation rounds (stale re-invite, MD5 fallback, lost answers) before giving up. */
const MAX_ROUNDS = 8;

type ReplyKind = ReceivedDatagram['kind'];

function classify(text: string): { kind: ReplyKind; nonce?: string; scheme?: AuthScheme; refused?: string } {
  if (text.startsWith(AUTH_FAILED_TEXT)) return { kind: 'auth-failed' };
  const p = parseInvitationReply(text);
  switch (p.kind) {
    case 'ok':
      return { kind: 'ok' };
    case 'auth':
      return { kind: 'auth', nonce: p.nonce.toLowerCase(), scheme: p.scheme };
    case 'refused':
      return { kind: 'refused', refused: p.text };
    case 'bad-nonce':
      return { kind: 'bad-nonce', nonce: p.nonce };
    default:
      return { kind: 'unknown' };
  }
}

/** Errors thrown by the handshake carry the device state so the caller can leave it idle. */
export class HandshakeState {
  deviceWaitingAuth = false;
}

/**
 * Invitation, authentication and the wait for the connect-back, as one state machine over one UDP
 * socket (docs/upload.md "How airflash talks to the device"). Resolves with the device's TCP
 * connection.
 */
export async function handshake(ctx: HandshakeContext, state: HandshakeState): Promise<HandshakeOutcome> {
  const { rec, t, inbox, signal } = ctx;
  const obs = rec.obs;

  type Mode = 'invite' | 'collect' | 'auth' | 'connect';
  let mode = 'invite' as Mode;
  let rounds = 1;
  let attempt = 0;
  let roundInvites: number[] = [];
  let deadline = 0;
  let scheme: AuthScheme | undefined;
  let nonce = '';
  let secrets: PasswordHashKind[] = [];
  let secretIndex = 0;
  let staleRisk = false;
  let staleRetryUsed = false;
  let pendingAuths = 0;
  let authSentAt = 0;
  let lastLatencyMs = 0;
  let firstAnswerSeen = false;
  let okViaAuth = false;
  let connectWindow = 0;
  let connectHardEnd = 0;
  let finalWindow = false;
  let rebootInvites = 0;

  const send = (bytes: Uint8Array, entry: Omit<SentDatagram, 'at'>, connected = false): void => {
    const at = rec.now();
    obs.sent.push({ at, ...entry });
    rec.sentDatagram(entry.kind, bytes);
    const done = (error: Error | null): void => {
      if (error) inbox.fail(udpError(error, ctx));
    };
    if (!connected || ctx.portCheck?.send(bytes, done) !== true)
      ctx.udp.send(bytes, ctx.device.port, ctx.device.address, done);
  };

  const invite = (reason: SentDatagram['reason']): void => {
    attempt++;
    roundInvites.push(rec.now());
    obs.invitationsSent++;
    send(ctx.invitation, { kind: 'invitation', attempt, reason }, rounds === 1 && attempt === 1);
    rec.log(`invitation ${attempt}/${t.inviteAttempts} (${reason})`);
    deadline = rec.now() + t.attemptTimeoutMs;
    // Doubling from rebootPollMs: a booted device answers at once, and a slow loop() after the
    // reboot finds only a few queued invitations.
    if (rebootWait())
      deadline = rec.now() + Math.min(t.attemptTimeoutMs, t.rebootPollMs * 2 ** rebootInvites++);
  };
  // While a device we just updated reboots, invitations are lost (it is off the network): re-invite
  // often until it is back, without using up the attempts (a booted device answers at once).
  const rebootWait = (): boolean =>
    !firstAnswerSeen && rounds === 1 && ctx.rebootingUntil !== undefined && rec.now() < ctx.rebootingUntil;

  const newRound = async (reason: SentDatagram['reason'], failure: AirflashError): Promise<void> => {
    if (rounds >= MAX_ROUNDS) throw failure;
    rounds++;
    await sleep(t.reinvitePauseMs, signal);
    mode = 'invite';
    attempt = 0;
    roundInvites = [];
    rec.setPhase('invite');
    invite(reason);
  };

  const answerAuth = (): void => {
    const kind = secrets[secretIndex] as PasswordHashKind;
    const s = scheme as AuthScheme;
    const cnonce = randomCnonce(s);
    const response = authResponse(s, passwordSecret(ctx.password ?? '', kind), nonce, cnonce);
    rec.setPhase('auth');
    send(formatAuthLine(cnonce, response), { kind: 'auth', reason: 'answer', secret: kind });
    authSentAt = rec.now();
    obs.auth?.tries.push({ secret: kind, sentAt: authSentAt, outcome: 'pending' });
    state.deviceWaitingAuth = false;
    mode = 'auth';
    // A prompt device answers the auth line within moments: wait one attempt, not the full auth
    // timeout, before taking the answer as lost (a slow device gets the adaptive wait).
    const authWait =
      lastLatencyMs < t.loopSeenMs ? Math.min(t.authTimeoutMs, t.attemptTimeoutMs) : t.authTimeoutMs;
    deadline = authSentAt + Math.max(authWait, adapt(t, lastLatencyMs, 2, 2 * t.marginMs));
    rec.log(
      `auth line sent (${s}, ${kind} password hash), waiting up to ${formatSeconds(deadline - authSentAt)}`,
    );
  };

  const lastTry = () => obs.auth?.tries.at(-1);

  const goConnect = (at: number): void => {
    mode = 'connect';
    obs.okAt = at;
    rec.setPhase('connect');
    const loop = okViaAuth ? at - authSentAt : 0;
    if (okViaAuth) noteGap(rec, loop, 'auth line → OK');
    connectWindow = Math.max(
      t.connectTimeoutMs,
      adapt(t, lastLatencyMs, 2, t.marginMs),
      adapt(t, loop, 1.5, t.marginMs),
    );
    connectHardEnd = at + Math.max(t.connectMaxMs, connectWindow);
    deadline = at + connectWindow;
    obs.connect = {
      waitMs: Math.round(connectWindow),
      refused: obs.connect?.refused ?? [],
      extra: 0,
      probes: 0,
    };
    rec.log(`OK accepted; waiting up to ${formatSeconds(connectWindow)} for the device to connect back`);
  };

  const connectFailure = (why: string): AirflashError => {
    const port = rec.obs.local.tcpPort;
    return new AirflashError(
      'NO_CONNECT_BACK',
      `The device said OK but did not connect back to port ${port} (${why}).`,
      {
        phase: 'connect',
        hint:
          `Allow incoming TCP on port ${port} in the host firewall (or fix it with -P PORT and allow that), ` +
          'check that -I / the chosen local address is on the device network (VPN?), and on ESP32 check that ' +
          'the image fits the OTA slot (a too-big image looks the same).',
      },
    );
  };

  rec.setPhase('invite');
  invite('first');

  for (;;) {
    const ev = await inbox.next(deadline - rec.now(), signal);
    if (ev === undefined) {
      // A deadline passed.
      switch (mode) {
        case 'invite':
          if (rebootWait()) {
            if (obs.rebootWait === undefined) {
              obs.rebootWait = true;
              rec.hint(
                `the device is rebooting after the previous update; inviting again at growing intervals from ${formatSeconds(t.rebootPollMs)} until it is back (up to ${formatSeconds((ctx.rebootingUntil ?? 0) - (roundInvites[0] ?? 0))})`,
              );
            }
            attempt--;
            invite('reboot');
            continue;
          }
          if (attempt < t.inviteAttempts) {
            if (attempt === 1)
              rec.hint(
                `no answer after ${formatSeconds(t.attemptTimeoutMs)}; still inviting (up to ${t.inviteAttempts} attempts)`,
              );
            invite('retry');
            continue;
          }
          throw new AirflashError(
            'NO_INVITATION_REPLY',
            `No answer from ${ctx.device.address} port ${ctx.device.port} to ${attempt} invitations in ${formatSeconds(rec.now() - (roundInvites[0] ?? 0))}.`,
            {
              phase: 'invite',
              hint:
                'Check the address and the port (ESP32 uses 3232, ESP8266 8266: -p PORT), that the sketch calls ' +
                'ArduinoOTA.begin() and calls ArduinoOTA.handle() often (no long delay() in loop()), and that ' +
                'UDP is not blocked between here and the device.',
            },
          );
        case 'collect':
          rec.log('the expected answers to queued invitations did not come; inviting again');
          state.deviceWaitingAuth = true;
          await newRound(
            'after-timeout',
            lostAnswers(ctx, 'The device stopped answering during authentication'),
          );
          continue;
        case 'auth': {
          const tr = lastTry();
          if (tr) tr.outcome = 'no-answer';
          const tries = obs.auth?.tries ?? [];
          // Only an explicit "Authentication Failed" says the password is wrong; silence after a
          // prompt answer to the invitation is a lost datagram (lossy link): TIMEOUT, not AUTH_FAILED.
          const refusedOnce = tries.some((x) => x.outcome === 'failed');
          const failure = refusedOnce
            ? new AirflashError(
                'AUTH_FAILED',
                `No answer to the authentication after ${formatSeconds(rec.now() - authSentAt)}.`,
                {
                  phase: 'auth',
                  hint: 'Check the password (the `password` option); if the device is busy, give it more time (`authTimeoutMs`).',
                },
              )
            : lostAnswers(ctx, `No answer to ${tries.length} authentication line(s)`);
          const current = secrets[secretIndex];
          const silentWithThis = tries.filter(
            (x) => x.secret === current && x.outcome === 'no-answer',
          ).length;
          if (!refusedOnce && silentWithThis < 2 && rounds < MAX_ROUNDS) {
            // One lost answer: the same password hash again, with a new invitation.
            rec.log('no answer to the auth line (lost?); inviting again with the same password hash');
            await newRound('after-timeout', failure);
          } else if (secretIndex + 1 < secrets.length) {
            secretIndex++;
            rec.log('no answer to the auth line; trying the MD5 password hash with a new invitation');
            await newRound('fallback', failure);
          } else if (!staleRetryUsed) {
            staleRetryUsed = true;
            await newRound('after-timeout', failure);
          } else throw failure;
          continue;
        }
        case 'connect': {
          const c = obs.connect as NonNullable<typeof obs.connect>;
          if (c.probeAnsweredAt !== undefined || finalWindow)
            throw connectFailure(
              `it answered again ${formatSeconds((c.probeAnsweredAt ?? rec.now()) - (obs.okAt ?? 0))} after its OK, so it is running but could not connect`,
            );
          if (rec.now() >= connectHardEnd)
            throw connectFailure(`waited ${formatSeconds(rec.now() - (obs.okAt ?? 0))}`);
          if (c.probes === 0)
            rec.hint(
              `the device said OK ${formatSeconds(rec.now() - (obs.okAt ?? 0))} ago but has not connected back; asking whether it is busy (waiting up to ${formatSeconds(connectHardEnd - (obs.okAt ?? 0))})`,
            );
          c.probes++;
          c.waitMs = Math.round(connectHardEnd - (obs.okAt ?? 0));
          send(ctx.invitation, { kind: 'invitation', reason: 'probe' });
          obs.invitationsSent++;
          deadline = Math.min(connectHardEnd, rec.now() + connectWindow);
          continue;
        }
      }
      continue;
    }

    if (ev.kind === 'refused') {
      // Nothing listens on that port. Acted on only before any answer: later it is stale.
      if (mode !== 'invite' || firstAnswerSeen || rounds > 1) {
        rec.log(`ignored a late port-unreachable report (${ev.errno})`);
        continue;
      }
      obs.portRefused ??= [];
      obs.portRefused.push({ port: ctx.device.port, at: ev.at, errno: ev.errno });
      const after = ev.at - (roundInvites[0] ?? ev.at);
      rec.log(
        `port ${ctx.device.port} unreachable (${ev.errno}) ${formatSeconds(after)} after the invitation`,
      );
      throw new AirflashError(
        'NO_INVITATION_REPLY',
        `Nothing listens on UDP port ${ctx.device.port} at ${ctx.device.address}: the system answered the invitation with "port unreachable" after ${formatSeconds(after)}.`,
        {
          phase: 'invite',
          data: { portRefused: true },
          hint:
            'Check the port (ESP32 uses 3232, ESP8266 8266: -p PORT) and that the sketch calls ArduinoOTA.begin() ' +
            '(a device that crashed or restarted has no OTA service).',
        },
      );
    }

    if (ev.kind === 'conn') {
      if (mode !== 'connect') {
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
        noteGap(rec, ev.at - obs.okAt, okViaAuth ? 'auth OK → connect' : 'OK → connect');
      const tr = lastTry();
      if (mode === 'auth' && tr) tr.outcome = 'ok';
      return {
        socket: ev.socket,
        ...(scheme === undefined ? {} : { authScheme: scheme }),
        ...(scheme === undefined ? {} : { passwordHash: secrets[secretIndex] as PasswordHashKind }),
        deviceWaitingAuth: state.deviceWaitingAuth,
      };
    }

    // A datagram.
    const text = asciiText(ev.data.subarray(0, 512));
    const fromDevice = ev.from === ctx.device.address;
    const c = classify(text);
    const record: ReceivedDatagram = {
      at: ev.at,
      from: ev.from,
      fromPort: ev.port,
      fromDevice,
      text: text.slice(0, 256),
      kind: c.kind,
      use: 'ignored',
      ...(c.nonce === undefined ? {} : { nonceLength: c.nonce.length }),
    };
    // Bounded: a device flooding datagrams gets the first RECEIVED_KEPT recorded, the rest counted.
    const kept = obs.received.length < RECEIVED_KEPT;
    if (kept) obs.received.push(record);
    else if (obs.udp) obs.udp.unrecorded = (obs.udp.unrecorded ?? 0) + 1;
    if (!fromDevice) {
      rec.log(
        `ignored a datagram from ${ev.from}:${ev.port} (not the device): ${JSON.stringify(record.text)}`,
      );
      continue;
    }
    if (kept) rec.log(`device → ${JSON.stringify(record.text)}`);
    if (!firstAnswerSeen) {
      firstAnswerSeen = true;
      const first = roundInvites[0] ?? 0;
      const last = roundInvites.filter((s) => s <= ev.at).at(-1) ?? first;
      obs.firstAnswerLatencyMs = Math.round(ev.at - first);
      obs.firstAnswerSinceLastInvitationMs = Math.round(ev.at - last);
      const unanswered = roundInvites.filter((s) => s < ev.at).length - 1;
      if (
        obs.firstAnswerLatencyMs >= t.lateAnswerMs &&
        obs.firstAnswerSinceLastInvitationMs < t.lateAnswerMs
      ) {
        // The latest invitation was answered at once: the earlier ones were lost (the device was
        // away, e.g. rebooting, or the link drops datagrams), not delayed by a blocked loop().
        obs.invitationsLost = unanswered;
        if (!obs.rebootWait)
          rec.hint(
            `the device answered invitation ${unanswered + 1} at once but not the ${unanswered} before it: those were lost (the device was away, e.g. rebooting after an update, or datagrams are dropped), not delayed by loop()`,
          );
      } else if (obs.firstAnswerLatencyMs >= t.lateAnswerMs)
        rec.hint(
          `the device answered after ${formatSeconds(obs.firstAnswerLatencyMs)}: its loop() blocks ArduinoOTA.handle() (each step now waits for its next handle() call)`,
        );
    }

    if (c.kind === 'refused' && mode !== 'connect') {
      record.use = 'failed';
      obs.deviceText = text;
      throw new AirflashError('DEVICE_REFUSED', `The device refused the update: ${c.refused}`, {
        phase: mode === 'invite' ? 'invite' : 'auth',
        deviceText: text.trimEnd(),
        hint: refusedHint(c.refused ?? ''),
      });
    }
    if (c.kind === 'unknown' && mode !== 'connect') {
      record.use = 'failed';
      obs.deviceText = text;
      throw new AirflashError(
        'BAD_REPLY',
        `The device answered something unexpected: ${JSON.stringify(text.slice(0, 80))}`,
        {
          phase: mode === 'invite' ? 'invite' : 'auth',
          deviceText: text,
          hint: `Check that ${ctx.device.address}:${ctx.device.port} is an ArduinoOTA service (another program may use that port).`,
        },
      );
    }

    switch (mode) {
      case 'invite': {
        lastLatencyMs = Math.max(lastLatencyMs, ev.at - (roundInvites[0] ?? ev.at));
        if (c.kind === 'ok') {
          record.use = 'accepted';
          okViaAuth = false;
          goConnect(ev.at);
        } else if (c.kind === 'auth' || c.kind === 'bad-nonce') {
          state.deviceWaitingAuth = true;
          if (ctx.password === undefined || ctx.password === '') {
            record.use = 'failed';
            throw new AirflashError('AUTH_REQUIRED', 'The device wants a password and none was given.', {
              phase: 'auth',
              hint: 'Give the password set by ArduinoOTA.setPassword() in the sketch (the `password` option).',
            });
          }
          if (c.kind === 'bad-nonce') {
            record.use = 'failed';
            throw new AirflashError(
              'AUTH_UNSUPPORTED',
              `The device asked for a password with a nonce of ${c.nonce?.length ?? 0} characters; airflash knows 32 (MD5) and 64 (SHA-256).`,
              { phase: 'auth', deviceText: text, hint: 'Please report the device core version to airflash.' },
            );
          }
          scheme = c.scheme as AuthScheme;
          // Solid evidence of the core before any image byte: only arduino-esp32 ≥ 3.3.1 sends a
          // 64-hex (PBKDF2) nonce. A 32-hex nonce fits ESP8266 and ESP32 ≤ 3.3.0 alike: no verdict.
          if (scheme === 'sha256' && ctx.imageFamily === 'esp8266' && ctx.force !== true) {
            record.use = 'failed';
            throw wrongChip(
              'The device is an ESP32 (it asked for the password with a 64-hex PBKDF2 nonce, which only arduino-esp32 ≥ 3.3.1 sends), but the image is an ESP8266 sketch.',
            );
          }
          nonce = c.nonce as string;
          if (obs.auth === undefined) {
            obs.auth = { scheme, nonceLength: nonce.length, tries: [] };
            secrets = scheme === 'md5' ? ['md5'] : ctx.md5Target ? ['md5'] : ['sha256', 'md5'];
          } else {
            obs.auth.scheme = scheme;
            obs.auth.nonceLength = nonce.length;
          }
          // Every invitation sent before this answer is ahead of our auth line in the device's queue
          // (ESP32 reads one datagram per handle()); a queued invitation read while waiting for auth
          // resets the device, the next one gets a new AUTH. Even out the backlog, then answer the
          // last AUTH (protocol.md §5).
          let backlog = Math.max(0, roundInvites.length - 1);
          // An answer within moments of the latest invitation, after earlier ones went unanswered
          // for a whole attempt, is the answer to the latest one: a device that calls handle()
          // that often would have answered the earlier invitations long ago, so they were lost
          // (device rebooting, datagram loss), not queued. Waiting for their AUTHs would cost
          // minutes. If this guess is wrong, a stale "Authentication Failed" re-invites once.
          const latest = roundInvites.at(-1) ?? ev.at;
          const previous = roundInvites.at(-2);
          const promptMs = Math.min(200, Math.max(5, t.attemptTimeoutMs / 50));
          if (
            backlog > 0 &&
            previous !== undefined &&
            ev.at - latest <= promptMs &&
            // (while a device reboots its invitations are lost, however close together)
            (latest - previous >= t.attemptTimeoutMs / 2 || obs.rebootWait === true)
          ) {
            rec.log(
              `answered ${formatSeconds(ev.at - latest)} after the latest invitation: the ${backlog} earlier ones were lost, not queued`,
            );
            backlog = 0;
          }
          if (rounds === 1 && obs.backlogAtFirstAnswer === undefined) obs.backlogAtFirstAnswer = backlog;
          if (backlog > 0) {
            staleRisk = true;
            if (backlog % 2 === 1) {
              send(ctx.invitation, { kind: 'invitation', reason: 'backlog' });
              obs.invitationsSent++;
              backlog++;
            }
            pendingAuths = backlog / 2;
            mode = 'collect';
            record.use = 'counted';
            rec.setPhase('auth');
            deadline = ev.at + collectWindow(t, lastLatencyMs);
            rec.log(
              `${backlog} queued invitations may still reach the device; waiting for ${pendingAuths} more AUTH`,
            );
          } else {
            record.use = 'answered';
            answerAuth();
          }
        } else {
          record.use = 'stray';
        }
        break;
      }
      case 'collect': {
        if (c.kind === 'auth') {
          if (obs.auth?.tries.length === 0 && obs.received.filter((r) => r.kind === 'auth').length === 2)
            noteGap(
              rec,
              (ev.at - (obs.received.find((r) => r.kind === 'auth')?.at ?? ev.at)) / 2,
              'AUTH → AUTH / 2',
            );
          nonce = c.nonce as string;
          pendingAuths--;
          if (pendingAuths <= 0) {
            record.use = 'answered';
            answerAuth();
          } else {
            record.use = 'counted';
            deadline = ev.at + collectWindow(t, lastLatencyMs);
          }
        } else if (c.kind === 'ok') {
          // The device has no password after all (or a queued invitation got through): take it.
          record.use = 'accepted';
          goConnect(ev.at);
        } else record.use = 'stray';
        break;
      }
      case 'auth': {
        const tr = lastTry();
        if (c.kind === 'ok') {
          record.use = 'accepted';
          if (tr) {
            tr.outcome = 'ok';
            tr.answeredAt = ev.at;
          }
          if (secrets[secretIndex] === 'md5' && scheme === 'sha256')
            rec.warn(
              'MD5_PASSWORD_HASH',
              'The device stores an MD5 hash of its password (ArduinoOTA.setPasswordHash with an MD5 value); it worked with the MD5 fallback. Pass -m to skip the SHA-256 try, or store a SHA-256 hash.',
            );
          okViaAuth = true;
          goConnect(ev.at);
        } else if (c.kind === 'auth-failed') {
          record.use = 'failed';
          if (tr) {
            tr.outcome = 'failed';
            tr.answeredAt = ev.at;
          }
          lastLatencyMs = Math.max(lastLatencyMs, ev.at - authSentAt);
          const failure = authFailed(ctx, scheme as AuthScheme, secrets, secretIndex);
          if (staleRisk && !staleRetryUsed) {
            staleRetryUsed = true;
            staleRisk = false;
            rec.log('Authentication Failed may answer a stale queued datagram; inviting once more');
            await newRound('stale', failure);
          } else if (secretIndex + 1 < secrets.length) {
            secretIndex++;
            rec.log('SHA-256 password hash refused; trying the MD5 hash with a new invitation');
            await newRound('fallback', failure);
          } else throw failure;
        } else if (c.kind === 'auth') {
          // The device read another queued invitation: our auth line will meet the wrong nonce.
          record.use = 'stray';
          staleRisk = true;
          state.deviceWaitingAuth = true;
        } else record.use = 'stray';
        break;
      }
      case 'connect': {
        const conn = obs.connect as NonNullable<typeof obs.connect>;
        if (conn.probes > 0 && (c.kind === 'ok' || c.kind === 'auth' || c.kind === 'refused')) {
          conn.probeAnsweredAt ??= ev.at;
          record.use = 'stray';
          if (c.kind === 'auth') {
            state.deviceWaitingAuth = true;
            deadline = rec.now();
          } else if (c.kind === 'refused') {
            obs.deviceText = text;
            throw new AirflashError('DEVICE_REFUSED', `The device refused the update: ${c.refused}`, {
              phase: 'connect',
              deviceText: text.trimEnd(),
              hint: refusedHint(c.refused ?? ''),
            });
          } else if (!finalWindow) {
            // It is idle and will try to connect once more for this OK: one more window.
            finalWindow = true;
            deadline = ev.at + connectWindow;
          }
        } else {
          record.use = 'stray';
          if (c.kind === 'auth') state.deviceWaitingAuth = true;
        }
        break;
      }
    }
  }
}

function collectWindow(t: Timeouts, latency: number): number {
  // Each awaited AUTH needs two handle() calls; the loop period is at least the latency seen.
  return Math.max(2 * t.authTimeoutMs, 4 * latency + 2 * t.marginMs);
}

/**
 * An adaptive wait: factor × the latency (or loop gap) seen + margin, but only when that latency
 * shows a slow device (≥ 400 ms, scaled); a prompt device keeps the configured waits.
 */
function adapt(t: Timeouts, ms: number, factor: number, margin: number): number {
  return ms >= t.loopSeenMs ? factor * ms + margin : 0;
}

function noteGap(rec: Recorder, ms: number, what: string): void {
  if (!(ms > 0)) return;
  rec.obs.loopGapsMs.push(Math.round(ms));
  rec.obs.loopPeriodEvidence ??= [];
  rec.obs.loopPeriodEvidence.push(`${what}: ${formatSeconds(ms)}`);
}
