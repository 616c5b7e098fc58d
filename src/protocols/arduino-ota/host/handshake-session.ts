import { sleep } from '../../../core/abort.ts';
import { AirflashError } from '../../../core/errors.ts';
import type { Inbox } from '../../../transport/inbox.ts';
import type { DatagramSocket, Stream } from '../../../transport/types.ts';
import type { SentDatagram } from '../model/options.ts';
import type { Timeouts } from '../model/timeouts.ts';
import {
  type AuthScheme,
  authResponse,
  formatAuthLine,
  type PasswordHashKind,
  passwordSecret,
  randomCnonce,
} from '../wire/index.ts';
import { udpError } from './handshake-errors.ts';
import {
  type InviteMode,
  invitePlan,
  nextInvitationAt,
  nextSpacedAt,
  rebootSpacing,
  roundEnd,
} from './invite-schedule.ts';
import { formatSeconds, type Recorder } from './recorder.ts';

export type HandshakeEvent =
  | {
      kind: 'udp';
      data: Uint8Array;
      from: string;
      port: number;
      at: number;
      /** Received on the socket that sent the first invitation: an answer to that one. */
      toFirst?: boolean;
    }
  | { kind: 'conn'; socket: Stream; from: string; at: number }
  /** The OS reported the device's UDP port closed (ICMP port unreachable on the connected socket). */
  | { kind: 'refused'; errno: string; at: number };

export interface HandshakeContext {
  rec: Recorder;
  t: Timeouts;
  /** The unconnected socket: every invitation after the first, the auth line, every answer. */
  udp: DatagramSocket;
  inbox: Inbox<HandshakeEvent>;
  device: { address: string; port: number };
  invitation: Uint8Array;
  password: string | undefined;
  md5Target: boolean;
  signal: AbortSignal | undefined;
  /** A socket connected to the device's port: sends the first invitation, to hear ICMP refusals. */
  connected?: DatagramSocket | undefined;
  /** The device said OK to an upload of this process moments ago: it is rebooting (host-lock.ts). */
  rebootingUntil?: number;
  /** The loop period the update before that reboot showed (0: not slow); undefined: unknown. */
  rebootLoopMs?: number | undefined;
  /** The chip family the image is built for (ports.ts), and whether `--force` skips the check. */
  imageFamily?: 'esp32' | 'esp8266' | undefined;
  force?: boolean;
}

/** Errors thrown by the handshake carry the device state so the caller can leave it idle. */
export class HandshakeState {
  deviceWaitingAuth = false;
}

/** New invitation rounds (stale re-invite, MD5 fallback, lost answers) before giving up. */
export const MAX_ROUNDS = 8;

export type Mode = 'invite' | 'collect' | 'auth' | 'connect';

/**
 * The state of one handshake and the actions every mode shares (send, invite, answer the
 * challenge, wait for the connect-back). The per-mode reactions live in handshake-replies.ts
 * (datagrams) and handshake-timers.ts (deadlines); handshake.ts drives them from the inbox.
 */
export class Session {
  readonly ctx: HandshakeContext;
  readonly state: HandshakeState;
  mode: Mode = 'invite';
  rounds = 1;
  attempt = 0;
  roundInvites: number[] = [];
  deadline = 0;
  scheme: AuthScheme | undefined;
  nonce = '';
  secrets: PasswordHashKind[] = [];
  secretIndex = 0;
  staleRisk = false;
  staleRetryUsed = false;
  pendingAuths = 0;
  authSentAt = 0;
  lastLatencyMs = 0;
  firstAnswerSeen = false;
  okViaAuth = false;
  connectWindow = 0;
  connectHardEnd = 0;
  finalWindow = false;
  rebootInvites = 0;
  /** No invitation is due any more in this round: its deadline is the end of the round. */
  roundOver = false;
  stillInvitingHinted = false;
  /** Invitations sent on the connected socket (the first; during a reboot wait, every one). */
  connectedSends = 0;
  /** This round's invitations went out spaced beyond the loop period (spaced reboot wait). */
  spaced = false;

  constructor(ctx: HandshakeContext, state: HandshakeState) {
    this.ctx = ctx;
    this.state = state;
  }

  get rec(): Recorder {
    return this.ctx.rec;
  }

  get t(): Timeouts {
    return this.ctx.t;
  }

  get obs(): Recorder['obs'] {
    return this.ctx.rec.obs;
  }

  send(bytes: Uint8Array, entry: Omit<SentDatagram, 'at'>, connected = false): void {
    const { ctx } = this;
    this.obs.sent.push({ at: this.rec.now(), ...entry });
    this.rec.sentDatagram(entry.kind, bytes);
    const socket = connected && ctx.connected !== undefined ? ctx.connected : ctx.udp;
    if (socket === ctx.connected) this.connectedSends++;
    socket.send(bytes, ctx.device).catch((error: Error) => ctx.inbox.fail(udpError(error, ctx)));
  }

  invite(reason: SentDatagram['reason']): void {
    const { rec, t } = this;
    this.attempt++;
    this.roundInvites.push(rec.now());
    this.obs.invitationsSent++;
    this.send(
      this.ctx.invitation,
      { kind: 'invitation', attempt: this.attempt, reason },
      this.rounds === 1 && this.attempt === 1,
    );
    rec.log(`invitation ${this.attempt}/${t.inviteAttempts} (${reason})`);
    this.scheduleNext();
    if (this.spaced && this.roundInvites.length === 1) {
      this.obs.rebootWait = true;
      const loop = this.ctx.rebootLoopMs;
      rec.hint(
        `the device is rebooting after the previous update; its loop() ${loop === undefined ? 'may be slow' : `called ArduinoOTA.handle() only every ${formatSeconds(loop)}`}, so one invitation every ${formatSeconds(this.spacing())} (queued ones would restart its password wait)`,
      );
    }
    // Doubling from rebootPollMs: a booted device answers at once, and a slow loop() after the
    // reboot finds only a few queued invitations.
    if (this.rebootWait())
      this.deadline = rec.now() + Math.min(t.attemptTimeoutMs, t.rebootPollMs * 2 ** this.rebootInvites++);
  }

  /** The quick, bounded schedule of a first round before any answer (invite-schedule.ts). */
  inviteMode(): InviteMode {
    const { ctx } = this;
    return {
      quick: !this.firstAnswerSeen && this.rounds === 1 && ctx.rebootingUntil === undefined,
      bounded: ctx.password !== undefined && ctx.password !== '' && ctx.imageFamily !== 'esp8266',
    };
  }

  /**
   * A reboot wait that spaces its invitations: a password and an image that is not an ESP8266
   * sketch (queued duplicates restart WAITAUTH), and the update before the reboot showed a slow
   * loop or none is known (a reboot mark without one). Before any answer, in the first round.
   */
  spacedReboot(): boolean {
    const { ctx, t } = this;
    const loop = ctx.rebootLoopMs;
    return (
      !this.firstAnswerSeen &&
      this.rounds === 1 &&
      ctx.rebootingUntil !== undefined &&
      this.inviteMode().bounded &&
      (loop === undefined || loop >= t.loopSeenMs)
    );
  }

  /** The interval of the spaced reboot wait (invite-schedule.ts `rebootSpacing`). */
  spacing(): number {
    return rebootSpacing(invitePlan(this.t), this.ctx.rebootLoopMs ?? Number.POSITIVE_INFINITY);
  }

  /** Set the deadline: the next invitation's time, or the end of the round (`roundOver`). */
  private scheduleNext(): void {
    const plan = invitePlan(this.t);
    const mode = this.inviteMode();
    const now = this.rec.now();
    this.spaced = this.spacedReboot();
    const next = this.spaced
      ? nextSpacedAt(this.roundInvites, plan, this.spacing())
      : mode.quick
        ? nextInvitationAt(this.roundInvites, plan, mode)
        : nextInvitationAt(this.roundInvites, plan, mode, this.attempt);
    this.roundOver = next === undefined;
    this.deadline =
      next ?? (mode.quick || this.spaced ? roundEnd(this.roundInvites, plan) : now + plan.attemptMs);
  }

  /**
   * While a device we just updated reboots, invitations are lost (it is off the network): re-invite
   * often until it is back, without using up the attempts (a booted device answers at once).
   */
  rebootWait(): boolean {
    const until = this.ctx.rebootingUntil;
    return (
      !this.firstAnswerSeen &&
      this.rounds === 1 &&
      until !== undefined &&
      this.rec.now() < until &&
      !this.spacedReboot()
    );
  }

  /**
   * An answer at `at` is to the latest invitation, the earlier ones lost: it came within moments
   * of the latest (promptMs) after a silence a prompt device would not keep (half the quick second
   * invitation's delay, or of an attempt). While a device reboots its invitations are lost however
   * close together.
   */
  answersLatest(at: number, toFirst: boolean): boolean {
    const { t } = this;
    // The device answers the sender of the datagram it read: an answer to the first invitation's
    // own socket is that invitation's, however close to a later one it came.
    if (this.answersFirst(toFirst)) return false;
    const latest = this.roundInvites.at(-1);
    const previous = this.roundInvites.at(-2);
    if (latest === undefined || previous === undefined) return false;
    const promptMs = Math.min(200, Math.max(5, t.attemptTimeoutMs / 50));
    // Half the quick delay: a timer may fire a fraction of a millisecond before its time.
    const silenceMs = Math.min(t.attemptTimeoutMs / 2, invitePlan(t).quickMs / 2);
    return at - latest <= promptMs && (latest - previous >= silenceMs || this.obs.rebootWait === true);
  }

  /** The answer came to the connected socket, which sent one invitation only: it answers that one. */
  answersFirst(toFirst: boolean): boolean {
    return toFirst && this.connectedSends === 1;
  }

  async newRound(reason: SentDatagram['reason'], failure: AirflashError): Promise<void> {
    if (this.rounds >= MAX_ROUNDS) throw failure;
    this.rounds++;
    await sleep(this.t.reinvitePauseMs, this.ctx.signal);
    this.mode = 'invite';
    this.attempt = 0;
    this.roundInvites = [];
    this.spaced = false;
    this.rec.setPhase('invite');
    this.invite(reason);
  }

  answerAuth(): void {
    const { rec, t, ctx } = this;
    const kind = this.secrets[this.secretIndex] as PasswordHashKind;
    const s = this.scheme as AuthScheme;
    const cnonce = randomCnonce(s);
    const response = authResponse(s, passwordSecret(ctx.password ?? '', kind), this.nonce, cnonce);
    rec.setPhase('auth');
    this.send(formatAuthLine(cnonce, response), { kind: 'auth', reason: 'answer', secret: kind });
    this.authSentAt = rec.now();
    this.obs.auth?.tries.push({ secret: kind, sentAt: this.authSentAt, outcome: 'pending' });
    this.state.deviceWaitingAuth = false;
    this.mode = 'auth';
    // A prompt device answers the auth line within moments: wait one attempt, not the full auth
    // timeout, before taking the answer as lost (a slow device gets the adaptive wait).
    const authWait =
      this.lastLatencyMs < t.loopSeenMs ? Math.min(t.authTimeoutMs, t.attemptTimeoutMs) : t.authTimeoutMs;
    this.deadline = this.authSentAt + Math.max(authWait, adapt(t, this.lastLatencyMs, 2, 2 * t.marginMs));
    rec.log(
      `auth line sent (${s}, ${kind} password hash), waiting up to ${formatSeconds(this.deadline - this.authSentAt)}`,
    );
  }

  lastTry(): NonNullable<Recorder['obs']['auth']>['tries'][number] | undefined {
    return this.obs.auth?.tries.at(-1);
  }

  goConnect(at: number): void {
    const { rec, t, obs } = this;
    this.mode = 'connect';
    obs.okAt = at;
    rec.setPhase('connect');
    const loop = this.okViaAuth ? at - this.authSentAt : 0;
    if (this.okViaAuth) noteGap(rec, loop, 'auth line → OK');
    this.connectWindow = Math.max(
      t.connectTimeoutMs,
      adapt(t, this.lastLatencyMs, 2, t.marginMs),
      adapt(t, loop, 1.5, t.marginMs),
    );
    this.connectHardEnd = at + Math.max(t.connectMaxMs, this.connectWindow);
    this.deadline = at + this.connectWindow;
    obs.connect = {
      waitMs: Math.round(this.connectWindow),
      refused: obs.connect?.refused ?? [],
      extra: 0,
      probes: 0,
    };
    rec.log(`OK accepted; waiting up to ${formatSeconds(this.connectWindow)} for the device to connect back`);
  }

  connectFailure(why: string): AirflashError {
    const port = this.obs.local.tcpPort;
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
  }
}

export function collectWindow(t: Timeouts, latency: number): number {
  // Each awaited AUTH needs two handle() calls; the loop period is at least the latency seen.
  return Math.max(2 * t.authTimeoutMs, 4 * latency + 2 * t.marginMs);
}

/**
 * An adaptive wait: factor × the latency (or loop gap) seen + margin, but only when that latency
 * shows a slow device (≥ 400 ms, scaled); a prompt device keeps the configured waits.
 */
export function adapt(t: Timeouts, ms: number, factor: number, margin: number): number {
  return ms >= t.loopSeenMs ? factor * ms + margin : 0;
}

export function noteGap(rec: Recorder, ms: number, what: string): void {
  if (!(ms > 0)) return;
  rec.obs.loopGapsMs.push(Math.round(ms));
  rec.obs.loopPeriodEvidence ??= [];
  rec.obs.loopPeriodEvidence.push(`${what}: ${formatSeconds(ms)}`);
}
