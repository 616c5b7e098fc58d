import type { Timeouts } from '../model/timeouts.ts';

/**
 * When the invitations of one round go out (docs/upload.md "The invitation schedule").
 *
 * A prompt device on a lossy link answers within milliseconds, so a lost invitation should cost
 * about a second, not an attempt (10 s). An ESP32 reads one queued datagram per
 * `ArduinoOTA.handle()` (arduino-esp32 ArduinoOTA.cpp `handle()`: `if (_udp_ota.parsePacket())
 * _onRx();`), and in WAITAUTH a datagram that is not an auth line sends it back to IDLE
 * (`_onRx`: `if (cmd != U_AUTH) { … _state = OTA_IDLE; return; }`): with a password, every
 * duplicate invitation queued behind the first costs the device one more loop period and a new
 * AUTH. So, before any answer of this handshake:
 *
 * - the second invitation goes out after `quickMs` (a tenth of the attempt timeout, at least
 *   250 ms), the others
 *   at the attempt timeouts as before (the third at 2 × `-t`, … the last at (attempts − 1) × `-t`);
 * - with a password and an image that is not an ESP8266 sketch (an ESP8266 reads datagrams in
 *   its network callback at once, so nothing queues), at most 2 invitations go out in any
 *   `windowMs` (just over 3 attempt timeouts, at least a 30 s loop period): a loop() of up to
 *   that period finds at most one duplicate queued behind the invitation it answers, which costs
 *   at most one restart of WAITAUTH;
 * - the round ends `attempts` × `-t` after its first invitation, as espota's does.
 *
 * After the first answer of any kind (the loop period is evident) and in later rounds, each
 * invitation waits one attempt timeout, as before, and when bounded never 3 within `windowMs`.
 * The auth phase never re-invites.
 *
 * The reboot wait (a device this process or another one just updated): invitations at
 * `rebootPollMs`, doubling, while the device is away. When bounded and the update before the
 * reboot showed a slow loop (or none is known), those would queue behind the first one the booted
 * device reads: instead one invitation every `rebootSpacing` for the whole first round.
 */

/** The loop period the bounded schedule protects at least (`delay(30000)`, × timeScale). */
export const PROTECTED_LOOP_MS = 30_000;

/** The shortest delay of the quick second invitation, ms. */
export const QUICK_FLOOR_MS = 250;

export interface InvitePlan {
  attemptMs: number;
  attempts: number;
  /** Delay of the second invitation of a first round. */
  quickMs: number;
  /** A window that holds at most 2 invitations when bounded. */
  windowMs: number;
}

export interface InviteMode {
  /** No answer of any kind in this handshake yet, first round. */
  quick: boolean;
  /** A password, and an image that is not for an ESP8266 (queued duplicates restart WAITAUTH). */
  bounded: boolean;
}

export function invitePlan(t: Timeouts): InvitePlan {
  const attemptMs = t.attemptTimeoutMs;
  // Never under QUICK_FLOOR_MS of real time (a time scale does not scale the network): an ICMP
  // "port unreachable" for the first invitation is heard before the second goes out.
  const quickMs = Math.min(attemptMs, Math.max(QUICK_FLOOR_MS, Math.round(attemptMs / 10)));
  const windowMs = Math.max(3 * attemptMs, Math.round(PROTECTED_LOOP_MS * t.timeScale)) + quickMs;
  return { attemptMs, attempts: t.inviteAttempts, quickMs, windowMs };
}

/**
 * The time the next invitation is due, given this round's send times (oldest first, at least
 * one); undefined when none is due any more (the round then ends at `roundEnd`).
 */
export function nextInvitationAt(
  sent: readonly number[],
  plan: InvitePlan,
  mode: InviteMode,
  counted: number = sent.length,
): number | undefined {
  const n = sent.length;
  const first = sent[0] ?? 0;
  const last = sent[n - 1] ?? first;
  if (counted >= plan.attempts) return undefined;
  const beforeLast = sent[n - 2];
  const windowed = (due: number): number =>
    mode.bounded && beforeLast !== undefined ? Math.max(due, beforeLast + plan.windowMs) : due;
  if (!mode.quick) return windowed(last + plan.attemptMs);
  const due = windowed(n === 1 ? first + plan.quickMs : first + n * plan.attemptMs);
  return due > first + (plan.attempts - 1) * plan.attemptMs ? undefined : due;
}

/**
 * The interval of a bounded reboot wait after an update that showed a loop period of `loopMs`:
 * twice that period (the new image may loop a little slower), so that the booted device never
 * finds a second invitation queued behind the one it reads; at least the quick delay, at most
 * the window.
 */
export function rebootSpacing(plan: InvitePlan, loopMs: number): number {
  return Math.min(plan.windowMs, Math.max(plan.quickMs, 2 * loopMs));
}

/** The next invitation of a spaced reboot wait, or undefined when none is due any more. */
export function nextSpacedAt(
  sent: readonly number[],
  plan: InvitePlan,
  spacingMs: number,
): number | undefined {
  const first = sent[0] ?? 0;
  const due = (sent.at(-1) ?? first) + spacingMs;
  return sent.length >= plan.attempts || due > first + (plan.attempts - 1) * plan.attemptMs ? undefined : due;
}

/** When a quick round whose invitations were sent at `sent` gives up waiting for an answer. */
export function roundEnd(sent: readonly number[], plan: InvitePlan): number {
  const first = sent[0] ?? 0;
  const last = sent.at(-1) ?? first;
  return Math.max(first + plan.attempts * plan.attemptMs, last + plan.attemptMs);
}
