import { isIP } from 'node:net';
import { sleep, throwIfAborted } from '../core/abort.ts';
import { AirflashError, type ErrorCode, toAirflashError } from '../core/errors.ts';
import { uploadOnce } from '../protocols/arduino-ota/host/attempt.ts';
import { passwordLooksLikeOptions } from '../protocols/arduino-ota/host/handshake-errors.ts';
import { Recorder } from '../protocols/arduino-ota/host/recorder.ts';
import { attemptSummary, noteSameOffset } from '../protocols/arduino-ota/host/same-offset.ts';
import { withPortFallback } from '../protocols/arduino-ota/host/wrong-port.ts';
import { COMMAND, DEFAULT_PORT } from '../protocols/arduino-ota/wire/index.ts';
import { nodeTransport, type ResolvedTarget, resolveTarget } from '../transport/node.ts';
import { resolveTimeouts, TIMEOUT_COUNTS, type Timeouts, type UploadTimeouts } from './defaults.ts';
import { type PreparedImage, prepareImage } from './image.ts';
import { createPreflight } from './preflight.ts';
import type { UploadObservation, UploadOptions, UploadResult } from './types.ts';

/** Codes that a new attempt cannot fix. */
const NOT_RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BAD_ARGUMENT',
  'FILE_NOT_FOUND',
  'AUTH_REQUIRED',
  'AUTH_FAILED',
  'AUTH_UNSUPPORTED',
  'DEVICE_REFUSED',
  'HOST_NOT_FOUND',
  'INTERRUPTED',
]);

export function isRetryable(code: ErrorCode): boolean {
  return !NOT_RETRYABLE.has(code) && !code.startsWith('PREFLIGHT_');
}

function checkNumber(
  name: string,
  value: number | undefined,
  min: number,
  max: number,
  integer = true,
): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value)))
    throw new AirflashError(
      'BAD_ARGUMENT',
      `${name} must be ${integer ? 'an integer ' : ''}from ${min} to ${max}, not ${value}.`,
    );
}

function validate(o: UploadOptions): void {
  if (o.file === undefined && o.data === undefined)
    throw new AirflashError('BAD_ARGUMENT', 'No image given.', { hint: 'Pass the firmware with -f FILE.' });
  checkNumber('port', o.port, 1, 65535);
  checkNumber('advertisedPort', o.advertisedPort, 1, 65535);
  checkNumber('hostPort', o.hostPort, 0, 65535);
  checkNumber('inviteAttempts', o.inviteAttempts, 1, 1000);
  checkNumber('retries', o.retries, 0, 100);
  for (const k of [
    'attemptTimeoutMs',
    'authTimeoutMs',
    'connectTimeoutMs',
    'connectMaxMs',
    'stallTimeoutMs',
    'resultTimeoutMs',
  ] as const)
    checkNumber(k, o[k], 1, 24 * 3600 * 1000, false);
  for (const [k, v] of Object.entries(o.timeouts ?? {}) as [keyof UploadTimeouts, number | undefined][])
    if (TIMEOUT_COUNTS.has(k)) checkNumber(`timeouts.${k}`, v, 1, 1000);
    else checkNumber(`timeouts.${k}`, v, 0, 24 * 3600 * 1000, false);
  checkNumber('timeScale', o.timeScale, 0.0001, 1000, false);
  if (o.hostIp !== undefined && isIP(o.hostIp) === 0)
    throw new AirflashError('BAD_ARGUMENT', `-I/--host_ip must be a local IP address, not "${o.hostIp}".`);
}

function newObservation(
  o: UploadOptions,
  t: Timeouts,
  passwordSource: 'option' | 'env' | undefined,
): UploadObservation {
  const pw = o.password ?? '';
  return {
    version: 1,
    startedAt: Date.now(),
    target: { host: o.host, port: o.port ?? DEFAULT_PORT.esp32 },
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

/** Upload options plus where the password came from (the CLI reads AIRFLASH_PASSWORD). */
export interface InternalUploadOptions extends UploadOptions {
  passwordSource?: 'option' | 'env';
}

/**
 * Upload a firmware (command 0) or filesystem (command 100) image to an ArduinoOTA device.
 * Resolves on the device's `OK` only. Every failure is an AirflashError whose
 * `data.observation` is the UploadObservation of the (last) attempt.
 */
export async function upload(options: UploadOptions): Promise<UploadResult> {
  const o = options as InternalUploadOptions;
  validate(o);
  const t = resolveTimeouts(o);
  const signal = o.signal;
  const passwordSource = o.passwordSource ?? (o.password ? 'option' : undefined);
  const retries = o.retries ?? 0;
  const previous: NonNullable<UploadObservation['previousAttempts']> = [];

  let rec = new Recorder(newObservation(o, t, passwordSource), o.onEvent, o.debug === true);
  let target: ResolvedTarget;
  let image: PreparedImage;
  try {
    throwIfAborted(signal);
    rec.setPhase('resolve');
    target = await resolveTarget(o.host, o.resolve, signal);
    rec.obs.target.address = target.address;
    rec.obs.target.family = target.family;
    rec.obs.target.resolvedBy = target.resolvedBy;
    rec.log(`target ${o.host} → ${target.address}:${rec.obs.target.port}`);
    rec.setPhase('prepare');
    const port = o.port ?? DEFAULT_PORT.esp32;
    const useSigned =
      o.signed === true ||
      ((o.signed === undefined || o.signed === 'auto') &&
        (port === DEFAULT_PORT.esp8266 || /8266/.test(o.context?.chip ?? o.context?.core ?? '')));
    image = await prepareImage({ file: o.file, data: o.data, compress: o.compress, useSigned, signal });
    applyImage(rec.obs, image);
    if (image.signedSubstituted)
      rec.warn(
        'SIGNED_IMAGE',
        `Sending the signed image ${image.sentPath} instead of ${image.path} (as espota does).`,
      );
    if (image.size === 0)
      throw new AirflashError(
        'PREFLIGHT_EMPTY',
        'The image is empty (0 bytes); there is nothing to upload.',
        {
          hint: 'Build the project again; the device cannot begin an update of size 0.',
        },
      );
    const check = o.preflight === undefined ? createPreflight() : o.preflight;
    if (check) {
      rec.setPhase('preflight');
      const outcome = await check({
        ...(image.path === undefined ? {} : { path: image.path }),
        size: image.size,
        md5: image.md5,
        command: rec.obs.image.command,
        head: image.head,
        read: () => image.readOriginal(),
        open: () => image.openOriginal(),
      });
      rec.obs.preflight = {
        ran: true,
        warnings: outcome?.warnings ?? [],
        ...(outcome?.info ? { info: outcome.info } : {}),
      };
      for (const w of outcome?.warnings ?? []) rec.warn(w.code, w.message);
      const maxSize = outcome?.info?.['maxSize'];
      if (typeof maxSize === 'number' && rec.obs.context.slotSize === undefined)
        rec.obs.context.slotSize = maxSize;
    }
  } catch (error) {
    throw finalise(rec, error);
  }

  for (let attempt = 1; ; attempt++) {
    try {
      const r = rec;
      const result = await withPortFallback(r, image, o, () =>
        uploadOnce(o, t, r, target, image, nodeTransport),
      );
      return { ...result, attempts: attempt };
    } catch (error) {
      const e = finalise(rec, error);
      noteSameOffset(rec, previous, e);
      if (attempt > retries || !isRetryable(e.code) || signal?.aborted) throw e;
      previous.push(attemptSummary(e, rec.obs));
      rec.emit({ type: 'retry', attempt, of: retries + 1, code: e.code, message: e.message });
      await sleep(t.retryPauseMs * attempt, signal).catch((err: unknown) => {
        throw finalise(rec, err);
      });
      const fresh = new Recorder(newObservation(o, t, passwordSource), o.onEvent, o.debug === true);
      fresh.obs.target = { ...rec.obs.target };
      fresh.obs.image = { ...rec.obs.image };
      if (rec.obs.preflight) fresh.obs.preflight = rec.obs.preflight;
      fresh.obs.previousAttempts = [...previous];
      rec = fresh;
    }
  }
}

function applyImage(obs: UploadObservation, image: PreparedImage): void {
  obs.image.size = image.size;
  obs.image.md5 = image.md5;
  obs.image.compressed = image.compressed;
  obs.image.signedSubstituted = image.signedSubstituted;
  if (image.sentPath !== undefined && image.sentPath !== image.path) obs.image.sentPath = image.sentPath;
  if (image.head.length > 0) obs.image.firstByte = image.head[0] as number;
}

/** Attach the observation and the outcome to the error; INTERRUPTED gets its full message. */
function finalise(rec: Recorder, error: unknown): AirflashError {
  let e = toAirflashError(error);
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
  Object.assign(e.data, { observation: rec.obs });
  return e;
}
