/**
 * The ArduinoOTA attempt journal: builds the UploadObservation of one attempt through the
 * Recorder, and turns a failure into an `UploadError<UploadObservation>` (with the outcome, the
 * "same offset" note of retries, and INTERRUPTED's full message).
 */

import { AirflashError, type ErrorCode, toAirflashError } from '../../../core/errors.ts';
import { DEFAULT_PORT } from '../../../devices/family.ts';
import type {
  AttemptJournal,
  PreflightOutcome,
  PreparedImage,
  ResolvedAddress,
  Target,
  UploadPhase,
} from '../../types.ts';
import { UploadError } from '../../upload-error.ts';
import type { UploadEvent, UploadObservation, UploadOptions } from '../model/options.ts';
import type { Timeouts } from '../model/timeouts.ts';
import { COMMAND } from '../wire/index.ts';
import { passwordLooksLikeOptions } from './handshake-errors.ts';
import { Recorder } from './recorder.ts';
import { attemptSummary, noteSameOffset } from './same-offset.ts';

/** Upload options plus where the password came from (the CLI reads AIRFLASH_PASSWORD). */
export interface InternalUploadOptions extends UploadOptions {
  passwordSource?: 'option' | 'env';
}

type Attempt = NonNullable<UploadObservation['previousAttempts']>[number];

function newObservation(o: InternalUploadOptions, target: Target, t: Timeouts): UploadObservation {
  const pw = o.password ?? '';
  const passwordSource = o.passwordSource ?? (o.password ? 'option' : undefined);
  return {
    version: 1,
    startedAt: Date.now(),
    target: { host: target.host, port: target.port ?? DEFAULT_PORT.esp32 },
    local: {},
    image: {
      ...(o.file === undefined ? {} : { path: o.file }),
      command: o.filesystem ? COMMAND.filesystem : COMMAND.flash,
      compressed: o.compress === true,
      signedSubstituted: false,
    },
    options: {
      passwordGiven: pw !== '',
      ...(passwordSource && pw !== '' ? { passwordSource } : {}),
      ...(pw !== ''
        ? {
            passwordLength: pw.length,
            passwordHasSpace: /\s/.test(pw),
            ...(passwordLooksLikeOptions(pw) ? { passwordLooksLikeOptions: true } : {}),
          }
        : {}),
      md5Target: o.md5Target === true,
      attemptTimeoutMs: t.attemptTimeoutMs,
      inviteAttempts: t.inviteAttempts,
      authTimeoutMs: t.authTimeoutMs,
      connectTimeoutMs: t.connectTimeoutMs,
      connectMaxMs: t.connectMaxMs,
      stallTimeoutMs: t.stallTimeoutMs,
      resultTimeoutMs: t.resultTimeoutMs,
      ...(o.hostPort ? { hostPortFixed: o.hostPort } : {}),
      ...(o.hostIp === undefined ? {} : { hostIpGiven: o.hostIp }),
      timeScale: t.timeScale,
    },
    context: { ...(o.context ?? {}) },
    sent: [],
    received: [],
    invitationsSent: 0,
    loopGapsMs: [],
    warnings: [],
    hints: [],
    timeline: [],
  };
}

export class ArduinoOtaJournal implements AttemptJournal<UploadObservation> {
  readonly rec: Recorder;
  readonly timeouts: Timeouts;
  private readonly options: InternalUploadOptions;
  private readonly target: Target;
  private readonly previous: Attempt[];

  constructor(options: InternalUploadOptions, target: Target, timeouts: Timeouts, previous: Attempt[] = []) {
    this.options = options;
    this.target = target;
    this.timeouts = timeouts;
    this.previous = previous;
    this.rec = new Recorder(
      newObservation(options, target, timeouts),
      options.onEvent,
      options.debug === true,
    );
  }

  get observation(): UploadObservation {
    return this.rec.obs;
  }

  get phase(): UploadPhase {
    return this.rec.phase;
  }

  setPhase(phase: UploadPhase): void {
    this.rec.setPhase(phase);
  }

  log(what: string): void {
    this.rec.log(what);
  }

  warn(code: string, message: string): void {
    this.rec.warn(code, message);
  }

  emit(event: UploadEvent): void {
    this.rec.emit(event);
  }

  resolved(a: ResolvedAddress): void {
    const obs = this.rec.obs;
    obs.target.address = a.address;
    if (a.resolvedBy !== 'none') {
      obs.target.family = a.family;
      obs.target.resolvedBy = a.resolvedBy;
    }
    this.rec.log(`target ${this.target.host} → ${a.address}:${obs.target.port}`);
  }

  prepared(image: PreparedImage): void {
    const obs = this.rec.obs;
    obs.image.size = image.size;
    obs.image.md5 = image.md5;
    obs.image.compressed = image.compressed;
    obs.image.signedSubstituted = image.signedSubstituted;
    if (image.sentPath !== undefined && image.sentPath !== image.path) obs.image.sentPath = image.sentPath;
    if (image.head.length > 0) obs.image.firstByte = image.head[0] as number;
    if (image.signedSubstituted)
      this.rec.warn(
        'SIGNED_IMAGE',
        `Sending the signed image ${image.sentPath} instead of ${image.path} (as espota does).`,
      );
  }

  checked(outcome: PreflightOutcome | undefined): void {
    const obs = this.rec.obs;
    obs.preflight = {
      ran: true,
      warnings: outcome?.warnings ?? [],
      ...(outcome?.info ? { info: outcome.info } : {}),
    };
    for (const w of outcome?.warnings ?? []) this.rec.warn(w.code, w.message);
    const maxSize = outcome?.info?.['maxSize'];
    if (typeof maxSize === 'number' && obs.context.slotSize === undefined) obs.context.slotSize = maxSize;
  }

  /** Attach the observation and the outcome to the error; INTERRUPTED gets its full message. */
  fail(error: unknown): UploadError<UploadObservation> {
    const rec = this.rec;
    if (error instanceof UploadError && error.observation === rec.obs)
      return error as UploadError<UploadObservation>;
    let e: AirflashError = toAirflashError(error);
    if (e.code === 'INTERRUPTED') {
      const sending = rec.phase === 'transfer' || rec.phase === 'result';
      e = new AirflashError(
        'INTERRUPTED',
        `Interrupted during ${rec.phase}${sending ? ' (the transfer was cut)' : ''}: the device keeps its old firmware.`,
        {
          phase: rec.phase,
          hint: 'Nothing was confirmed by the device, so it keeps the firmware it had. Run the upload again when ready.',
          cause: error,
        },
      );
    }
    if (rec.obs.outcome === undefined) {
      rec.obs.outcome = { ok: false, code: e.code, phase: rec.phase, message: e.message, at: rec.now() };
      rec.log(`failed: ${e.code} ${e.message}`);
    }
    noteSameOffset(rec, this.previous, e);
    return new UploadError(e, rec.obs, rec.phase, 'arduino-ota');
  }

  /** The next attempt: a fresh observation that keeps the target, the image, the pre-flight and
   * the attempts so far. */
  next(error: Error & { readonly code: ErrorCode }): ArduinoOtaJournal {
    const previous = [...this.previous, attemptSummary(toAirflashError(error), this.rec.obs)];
    const fresh = new ArduinoOtaJournal(this.options, this.target, this.timeouts, previous);
    const obs = fresh.rec.obs;
    obs.target = { ...this.rec.obs.target };
    obs.image = { ...this.rec.obs.image };
    if (this.rec.obs.preflight) obs.preflight = this.rec.obs.preflight;
    obs.previousAttempts = [...previous];
    return fresh;
  }
}
