/**
 * `UploadError`: a failed upload, with the protocol's typed observation of the (last) attempt and
 * the phase it failed in. The one `AirflashError` base stays: users still match on `code`; the
 * observation is also left in `data.observation` for callers of 0.1.
 */

import { AirflashError, type ErrorCode } from '../core/errors.ts';
import type { UploadPhase } from './types.ts';

const PHASES: ReadonlySet<string> = new Set<UploadPhase>([
  'resolve',
  'prepare',
  'preflight',
  'invite',
  'auth',
  'connect',
  'transfer',
  'result',
  'done',
]);

function isPhase(value: string | undefined): value is UploadPhase {
  return value !== undefined && PHASES.has(value);
}

export class UploadError<Observation> extends AirflashError {
  readonly observation: Observation;
  override readonly phase: UploadPhase;
  /** The protocol that made the attempt. */
  readonly protocol: string;

  constructor(from: AirflashError, observation: Observation, phase: UploadPhase, protocol: string) {
    super(from.code, from.message, {
      phase: isPhase(from.phase) ? from.phase : phase,
      ...(from.hint === undefined ? {} : { hint: from.hint }),
      ...(from.deviceText === undefined ? {} : { deviceText: from.deviceText }),
      data: { ...from.data, observation },
      ...(from.cause === undefined ? {} : { cause: from.cause }),
    });
    this.observation = observation;
    this.phase = isPhase(from.phase) ? from.phase : phase;
    this.protocol = protocol;
    if (from.stack !== undefined) this.stack = from.stack;
  }
}

/** Whether `value` is a failed upload (of any protocol), optionally with this code. */
export function isUploadError(value: unknown, code?: ErrorCode): value is UploadError<unknown> {
  return (
    value instanceof AirflashError &&
    'observation' in value &&
    'protocol' in value &&
    (code === undefined || value.code === code)
  );
}
