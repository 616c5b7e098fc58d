/** What a failed device of a dashboard update says: the error, its diagnosis, a refusal. */
import type { AirflashError } from '../core/errors.ts';
import type { DeviceResult } from '../fleet/types.ts';
import type { UploadObservation } from '../upload/index.ts';
import type { JobDevice } from './jobs.ts';
import type { DashboardLibrary, DiagnosisView, FitVerdict } from './lib.ts';

export type JobError = NonNullable<JobDevice['error']>;

export const OFFLINE_HINT =
  'It did not answer a short probe, so nothing was sent. Is it powered and on this network, and does its sketch call ArduinoOTA.begin() and handle()? A board whose loop() blocks longer than the wait looks offline too: raise --invite-timeout.';

const OFFLINE_CODES = new Set(['NO_INVITATION_REPLY', 'DEVICE_OFFLINE', 'HOST_NOT_FOUND']);

export function isErrorView(value: unknown): value is JobError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>)['code'] === 'string' &&
    'offline' in value
  );
}

export async function errorView(
  error: AirflashError,
  lib: DashboardLibrary,
  observation?: UploadObservation,
): Promise<JobError> {
  let diagnosis: DiagnosisView | null = null;
  try {
    diagnosis = await lib.diagnose(observation, error);
  } catch {
    diagnosis = null;
  }
  return {
    code: error.code,
    message: error.message,
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    ...(error.deviceText === undefined ? {} : { deviceText: error.deviceText }),
    offline: OFFLINE_CODES.has(error.code),
    diagnosis,
  };
}

/** The error view of a failed fleet result: its code, words and the fleet's diagnosis. */
export function resultView(result: DeviceResult): JobError {
  const d = result.diagnosis;
  return {
    code: result.code ?? 'INTERNAL',
    message: result.message,
    ...(result.hint === undefined ? {} : { hint: result.hint }),
    ...(result.deviceText === undefined ? {} : { deviceText: result.deviceText }),
    offline: OFFLINE_CODES.has(result.code ?? ''),
    diagnosis: d === null || d.causes.length === 0 ? null : { summary: d.summary, causes: d.causes },
  };
}

/** The error of a device refused by the fit check (before anything was sent). */
export function refusal(fit: FitVerdict): JobError {
  return {
    code: fit.code ?? 'PREFLIGHT_NOT_APP',
    message: fit.message,
    hint: 'Nothing was sent to this device. Pick a firmware built for it.',
    offline: false,
    diagnosis: null,
  };
}
