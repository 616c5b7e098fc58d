/**
 * The one loop-period estimate from what an upload saw (the uploader's hint after a success and
 * the diagnosis of a failure both use it; `probe()` measures actively instead, probe-loop.ts).
 *
 * ESP32 answers, connects and reads the auth line each in its own handle() call, so a long
 * OK → connect gap measures the period (with the auth line → OK gap). ESP8266 connects in the same
 * handle() call that sends OK, so only a lower bound is seen there (a late answer).
 */
import type { UploadObservation } from './options.ts';

export interface LoopPeriod {
  ms: number;
  /** measured: the time between two handle() calls; at-least: a late answer bounds it from below. */
  kind: 'measured' | 'at-least';
}

/**
 * The loop period, or undefined when nothing shows a slow loop: an estimate already recorded in
 * the observation; else a measured OK → connect gap of at least `thresholdMs`; else a late answer
 * (after the invitation before it, or to the auth line) of at least `lateMs`.
 */
export function loopEstimate(
  obs: UploadObservation,
  thresholdMs: number,
  lateMs: number = thresholdMs,
): LoopPeriod | undefined {
  if (obs.loopPeriodMs !== undefined) return { ms: obs.loopPeriodMs, kind: obs.loopPeriodKind ?? 'measured' };
  const okAt = obs.okAt;
  const connectedAt = obs.connect?.connectedAt;
  const okToConnect = okAt !== undefined && connectedAt !== undefined ? connectedAt - okAt : undefined;
  const lastTry = obs.auth?.tries.findLast((tr) => tr.outcome === 'ok');
  const authToOk = lastTry?.answeredAt !== undefined ? lastTry.answeredAt - lastTry.sentAt : undefined;
  if (okToConnect !== undefined && okToConnect >= thresholdMs) {
    const gaps = [okToConnect];
    if (authToOk !== undefined && authToOk >= okToConnect / 2) gaps.push(authToOk);
    return { ms: Math.round(gaps.reduce((a, b) => a + b, 0) / gaps.length), kind: 'measured' };
  }
  const bounds = [obs.firstAnswerSinceLastInvitationMs ?? obs.firstAnswerLatencyMs ?? 0, authToOk ?? 0];
  const bound = Math.max(...bounds);
  return bound >= lateMs ? { ms: Math.round(bound), kind: 'at-least' } : undefined;
}
