/**
 * "It always dies at the same %": with retries, transfer failures at about the same offset on
 * every attempt point at the image or the flash region there, not at the link (a weak link fails
 * at random points). Compared from the bytes the device had confirmed when each attempt failed.
 */
import type { AirflashError, ErrorCode } from '../../../core/errors.ts';
import type { UploadObservation } from '../model/options.ts';
import type { Recorder } from './recorder.ts';

type Attempt = NonNullable<UploadObservation['previousAttempts']>[number];

/** Failures of the data phase, the only ones an offset belongs to. */
const TRANSFER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'INCOMPLETE',
  'TRANSFER_STALLED',
  'DEVICE_ERROR',
]);

/** Offsets closer than this count as the same: 2 % of the image, at least 8 KiB (an ESP8266
 * confirms once per drain of up to a few KiB, so two runs to the same byte report a little apart). */
export function sameOffsetTolerance(size: number): number {
  return Math.max(8192, Math.ceil(size * 0.02));
}

/** What the retry loop keeps of a failed attempt. */
export function attemptSummary(e: AirflashError, obs: UploadObservation): Attempt {
  const t = obs.transfer;
  return {
    code: e.code,
    message: e.message,
    ...(t && TRANSFER_CODES.has(e.code) ? { bytesConfirmed: t.bytesConfirmed, bytesSent: t.bytesSent } : {}),
  };
}

/** The confirmed offsets when every attempt failed in the transfer, else undefined. */
function transferOffsets(attempts: readonly Attempt[]): number[] | undefined {
  const offsets: number[] = [];
  for (const a of attempts) {
    if (a.bytesConfirmed === undefined) return undefined;
    offsets.push(a.bytesConfirmed);
  }
  return offsets;
}

/** True when at least two attempts failed in the transfer within the tolerance of each other. */
export function isSameOffset(attempts: readonly Attempt[], size: number): boolean {
  const offsets = transferOffsets(attempts);
  if (!offsets || offsets.length < 2) return false;
  return Math.max(...offsets) - Math.min(...offsets) <= sameOffsetTolerance(size);
}

/**
 * After a failed attempt: when this and every earlier attempt failed at about the same offset,
 * record it in the observation and warn (once: later attempts record it silently).
 */
export function noteSameOffset(rec: Recorder, previous: readonly Attempt[], e: AirflashError): void {
  const size = rec.obs.image.size ?? 0;
  const all = [...previous, attemptSummary(e, rec.obs)];
  if (!isSameOffset(all, size)) return;
  const offsets = transferOffsets(all) as number[];
  rec.obs.sameOffset = { attempts: all.length, offsets, code: e.code };
  const pct = Math.floor((100 * Math.min(...offsets)) / Math.max(1, size));
  const message =
    `All ${all.length} attempts failed at the same point of the image (about ${pct} %: ${offsets.join(', ')} bytes confirmed). ` +
    'A weak link fails at random points; the same offset every time points at the image (its content there) or at the ' +
    "device's flash in that region, not at the link.";
  if (isSameOffset(previous, size)) {
    rec.obs.warnings.push({ code: 'SAME_OFFSET', message });
    rec.log(`warning SAME_OFFSET: ${message}`);
  } else rec.warn('SAME_OFFSET', message);
}
