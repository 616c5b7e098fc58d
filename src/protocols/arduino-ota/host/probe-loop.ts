/**
 * How often a device's loop() calls ArduinoOTA.handle(), measured from the answers to a few
 * harmless invitations on the port that answered (docs/diagnosis.md "airflash probe"). Used by
 * `probe()`; the sockets belong to it, this module only sends through them and times answers.
 */

import { sleep } from '../../../core/abort.ts';
import { RESET_DATAGRAM } from './handshake.ts';
import type { PortCheck, ProbeLoop } from './probe-types.ts';

/**
 * The longest round trip taken as "network", ms (a LAN, or a VPN to one, answers well within
 * it): a longer first-answer latency is mostly the wait for the device's next handle() call.
 * Scaled with the probe's timeScale, like its other waits (emulated devices).
 */
const MAX_RTT_MS = 250;

/** An answer (or an ICMP refusal) on one port, `at` ms after the probe started. */
export type LoopEvent = { kind: 'msg'; text: string; at: number } | { kind: 'refused'; at: number };

/** The port session measureLoop() talks through (probe's connected UDP socket). */
export interface LoopSession {
  /** Send at once; returns the send time. */
  send(data: Uint8Array): number;
  /** Send and resolve once the datagram has left the socket. */
  sent(data: Uint8Array): Promise<void>;
  next(ms: number, signal: AbortSignal | undefined): Promise<LoopEvent | undefined>;
}

/** What measureLoop() needs of the probe: its clock, its invitation, the port that answered. */
export interface LoopContext {
  now(): number;
  readonly invitation: Uint8Array;
}
export interface LoopTarget {
  check: PortCheck;
  session: LoopSession;
  answerAt?: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Measure the loop period on the port that answered. ESP32 reads one datagram per handle() call:
 * - no password: after each OK we invite again; the next OK comes one handle() call later
 *   (that call first runs the failed begin(0), then reads our invitation);
 * - password: after each AUTH we send `0\n` (read by the next call: silent, idle) and an
 *   invitation (read by the call after: AUTH) — one gap spans two handle() calls.
 * ESP8266 without a password answers ERR from handle(); it drops datagrams for 100 ms after it,
 * so we invite again 250 ms later and a gap is one period when the period exceeds that.
 * Gaps between answers do not depend on the phase of the loop when the probe starts.
 */
export async function measureLoop(
  ctx: LoopContext,
  st: LoopTarget,
  o: {
    samples: number;
    timeoutMs: number;
    scale: number;
    /** The quickest ICMP refusal seen: a pure round trip (Infinity when none). */
    rttMs: number;
    /** How long the first answer took: a round trip plus the wait for the next handle() call. */
    firstLatencyMs: number;
    signal: AbortSignal | undefined;
    onNote?: (m: string) => void;
  },
): Promise<ProbeLoop> {
  const { session, check } = st;
  const reply = check.reply;
  const answers: number[] = [st.answerAt as number];
  const callsPerGap = reply === 'auth' ? 2 : 1;
  const errPause = Math.max(5, Math.round(250 * o.scale));
  const gaps: number[] = [];
  // An answer "at once" still takes one round trip. The first answer's latency bounds the round
  // trip only from above (it also holds the wait for the next handle() call), and a LAN round
  // trip stays under MAX_RTT_MS. A gap under fastMs is "at once" — or, without a refusal to time
  // the link, possibly a loop period that the first answer's latency hid (checked below).
  const rtt = Math.min(o.rttMs, o.firstLatencyMs, MAX_RTT_MS * o.scale);
  const fastMs = Math.max(30, 60 * o.scale, Number.isFinite(rtt) ? 1.5 * rtt : 0);
  const floorMs = Math.max(30, 60 * o.scale);
  for (let i = 0; i < o.samples; i++) {
    if (reply === 'auth') {
      session.send(RESET_DATAGRAM);
      session.send(ctx.invitation);
      check.sent++;
    } else if (reply === 'ok') {
      session.send(ctx.invitation);
      check.sent++;
    } else {
      await sleep(errPause, o.signal);
      session.send(ctx.invitation);
      check.sent++;
    }
    const lastGap = gaps.at(-1) ?? 0;
    const wait = Math.max(o.timeoutMs, 3 * lastGap) + (reply === 'auth' ? o.timeoutMs : 0);
    const deadline = ctx.now() + wait;
    let got: number | undefined;
    while (got === undefined) {
      const left = deadline - ctx.now();
      if (left <= 0) break;
      const ev = await session.next(left, o.signal);
      if (ev === undefined) break;
      if (ev.kind === 'msg') got = ev.at;
    }
    if (got === undefined) {
      if (reply === 'auth') session.send(RESET_DATAGRAM);
      break;
    }
    const gap = got - (answers.at(-1) as number);
    answers.push(got);
    gaps.push(Math.round(gap));
    o.onNote?.(`answer ${i + 2} after ${(gap / 1000).toFixed(2)} s`);
    if (gap / callsPerGap >= 10_000 * o.scale) break;
    if (gap < fastMs) break;
  }
  if (reply === 'auth') await session.sent(RESET_DATAGRAM);
  if (gaps.length === 0)
    return {
      kind: 'none',
      gapsMs: [],
      why: 'the device stopped answering before a second answer; no period could be measured',
    };
  const g = median(gaps);
  if (reply === 'error') {
    if (g < 400 * o.scale)
      return {
        kind: 'fast',
        periodMs: Math.round(g),
        gapsMs: gaps,
        handleCallsPerGap: 1,
        why: `ESP8266 answers ERR from handle(); we wait ${errPause} ms after each ERR (it ignores datagrams for 100 ms), so periods under ~${Math.round(400 * o.scale)} ms look the same: handle() runs at least every ${(g / 1000).toFixed(2)} s`,
      };
    return {
      kind: 'measured',
      periodMs: Math.round(g),
      gapsMs: gaps,
      handleCallsPerGap: 1,
      why: 'ESP8266 answers ERR from handle(): the time between two ERR answers is one loop period',
    };
  }
  // OK answers: a device that calls handle() continuously answers one round trip after each
  // invitation, a periodic one at its next handle() call. Invite once more, half a gap after an
  // answer: continuous, the gap grows by that half; periodic, it stays one period.
  if (
    reply === 'ok' &&
    g < fastMs &&
    g >= floorMs &&
    !(o.rttMs <= MAX_RTT_MS * o.scale && 1.5 * o.rttMs > g)
  ) {
    const last = answers.at(-1) as number;
    await sleep(Math.round(g / 2), o.signal);
    session.send(ctx.invitation);
    check.sent++;
    const deadline = ctx.now() + Math.max(o.timeoutMs, 3 * g);
    let got: number | undefined;
    while (got === undefined && deadline > ctx.now()) {
      const ev = await session.next(deadline - ctx.now(), o.signal);
      if (ev === undefined) break;
      if (ev.kind === 'msg') got = ev.at;
    }
    if (got !== undefined) {
      const g2 = Math.round(got - last);
      o.onNote?.(`answer after a pause: ${(g2 / 1000).toFixed(2)} s after the previous one`);
      if (g2 < 1.25 * g)
        return {
          kind: 'measured',
          periodMs: Math.round(g),
          gapsMs: [...gaps, g2],
          handleCallsPerGap: 1,
          why: 'ESP32 reads one datagram per handle() call: the time between two OK answers is one loop period (an invitation sent half a period later was still answered at the next call)',
        };
    }
  }
  if (g < fastMs)
    return {
      kind: 'fast',
      periodMs: Math.round(g / callsPerGap),
      gapsMs: gaps,
      handleCallsPerGap: callsPerGap,
      why:
        reply === 'auth' && check.nonceLength === 32
          ? `the answers came at once (${Math.round(g)} ms apart): an ESP8266 answers AUTH from its network callback, so its loop cannot be seen this way (without the password); an ESP32 ≤ 3.3.0 answering this fast calls handle() continuously`
          : `the answers came at once (${Math.round(g)} ms apart): handle() runs continuously (no delay in loop())`,
    };
  return {
    kind: 'measured',
    periodMs: Math.round(g / callsPerGap),
    gapsMs: gaps,
    handleCallsPerGap: callsPerGap,
    why:
      reply === 'auth'
        ? 'ESP32 reads one datagram per handle() call: between two AUTH answers it read our idle datagram and our invitation, i.e. two loop periods'
        : 'ESP32 reads one datagram per handle() call: the time between two OK answers is one loop period',
  };
}
