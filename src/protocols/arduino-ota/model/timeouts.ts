/**
 * Named per-phase waits of an upload, in ms (the `timeouts` upload option, docs/upload.md
 * "Timeouts"). Each left out keeps its default. The flat options (`attemptTimeoutMs`, …) win
 * when both are given.
 */
export interface UploadTimeouts {
  /** Per invitation attempt (espota `-t`). Default 10 000. */
  invitation?: number;
  /** Invitation attempts. Default 10. */
  invitationAttempts?: number;
  /** Answer to the auth line. Default 45 000 (adapts to a slow device). */
  auth?: number;
  /** First window for the device's connect-back after `OK`. Default 10 000. */
  accept?: number;
  /** Longest total connect-back wait while the device stays busy. Default 100 000. */
  acceptMax?: number;
  /** Longest device silence while it still has bytes to confirm. Default 10 000. */
  stall?: number;
  /** Longest wait for `OK` after the device confirmed every byte. Default 30 000. */
  result?: number;
  /** Pause before a new invitation round. Default 500. */
  reinvitePause?: number;
  /** Pause between retries of a whole upload (× attempt number). Default 1 000. */
  retryPause?: number;
  /** First re-invitation interval while a device we just updated reboots (doubles). Default 250. */
  rebootPoll?: number;
  /** How long a device we just updated may take to come back. Default 20 000. */
  rebootAllowance?: number;
}

/** The keys of UploadTimeouts that count attempts, not milliseconds. */
export const TIMEOUT_COUNTS: ReadonlySet<keyof UploadTimeouts> = new Set(['invitationAttempts']);

/** Default waits of an upload, in ms (docs/upload.md "Timeouts"). Multiplied by `timeScale`. */
export const DEFAULTS = {
  /** Per invitation attempt (espota `-t`, 10 s). */
  attemptTimeoutMs: 10_000,
  /** Invitation attempts: 10 × 10 s = espota's 100 s, and an answer to the 10th is taken. */
  inviteAttempts: 10,
  /** Answer to the auth line. Only waited out when the device stays silent. */
  authTimeoutMs: 45_000,
  /** First window for the connect-back after `OK`. */
  connectTimeoutMs: 10_000,
  /** Longest total connect-back wait while the device stays busy (silent to probes). */
  connectMaxMs: 100_000,
  /** Longest device silence while it still has bytes to confirm. */
  stallTimeoutMs: 10_000,
  /** Longest wait for `OK` after the device confirmed every byte. */
  resultTimeoutMs: 30_000,
  /** Added to adaptive waits (2 × latency + margin). */
  marginMs: 5_000,
  /** Pause before a new invitation after a failed or unanswered auth line. */
  reinvitePauseMs: 500,
  /** Pause between retries of a whole upload (× attempt number). */
  retryPauseMs: 1_000,
  /** An answer or loop period longer than this is reported as a sign of a blocked loop(). */
  lateAnswerMs: 1_000,
  /** A gap between two handle()-driven steps longer than this is reported as the loop period
   * (above ESP8266's fixed 100 ms between OK and connect). */
  loopSeenMs: 400,
  /** Re-invitation interval while a device we just updated reboots. */
  rebootPollMs: 250,
  /** How long after its OK a device we updated may take to come back (reboot + Wi-Fi + begin()). */
  rebootAllowanceMs: 20_000,
} as const;

export interface Timeouts {
  attemptTimeoutMs: number;
  inviteAttempts: number;
  authTimeoutMs: number;
  connectTimeoutMs: number;
  connectMaxMs: number;
  stallTimeoutMs: number;
  resultTimeoutMs: number;
  marginMs: number;
  reinvitePauseMs: number;
  retryPauseMs: number;
  lateAnswerMs: number;
  loopSeenMs: number;
  rebootPollMs: number;
  rebootAllowanceMs: number;
  timeScale: number;
}

export function resolveTimeouts(o: {
  attemptTimeoutMs?: number | undefined;
  inviteAttempts?: number | undefined;
  authTimeoutMs?: number | undefined;
  connectTimeoutMs?: number | undefined;
  connectMaxMs?: number | undefined;
  stallTimeoutMs?: number | undefined;
  resultTimeoutMs?: number | undefined;
  timeScale?: number | undefined;
  timeouts?: UploadTimeouts | undefined;
}): Timeouts {
  const scale = o.timeScale ?? 1;
  const n = o.timeouts ?? {};
  const s = (v: number): number => Math.max(1, Math.round(v * scale));
  const connectTimeoutMs = o.connectTimeoutMs ?? n.accept ?? s(DEFAULTS.connectTimeoutMs);
  const attemptTimeoutMs = o.attemptTimeoutMs ?? n.invitation ?? s(DEFAULTS.attemptTimeoutMs);
  const inviteAttempts = o.inviteAttempts ?? n.invitationAttempts ?? DEFAULTS.inviteAttempts;
  return {
    attemptTimeoutMs,
    inviteAttempts,
    authTimeoutMs: o.authTimeoutMs ?? n.auth ?? s(DEFAULTS.authTimeoutMs),
    connectTimeoutMs,
    connectMaxMs: Math.max(connectTimeoutMs, o.connectMaxMs ?? n.acceptMax ?? s(DEFAULTS.connectMaxMs)),
    stallTimeoutMs: o.stallTimeoutMs ?? n.stall ?? s(DEFAULTS.stallTimeoutMs),
    resultTimeoutMs: o.resultTimeoutMs ?? n.result ?? s(DEFAULTS.resultTimeoutMs),
    marginMs: s(DEFAULTS.marginMs),
    reinvitePauseMs: n.reinvitePause ?? s(DEFAULTS.reinvitePauseMs),
    retryPauseMs: n.retryPause ?? s(DEFAULTS.retryPauseMs),
    lateAnswerMs: s(DEFAULTS.lateAnswerMs),
    loopSeenMs: s(DEFAULTS.loopSeenMs),
    rebootPollMs: n.rebootPoll ?? s(DEFAULTS.rebootPollMs),
    rebootAllowanceMs: n.rebootAllowance ?? s(DEFAULTS.rebootAllowanceMs),
    timeScale: scale,
  };
}
