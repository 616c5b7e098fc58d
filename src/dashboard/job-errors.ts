/** What a failed device of a dashboard update says: the error, its diagnosis, a refusal. */
import { type AirflashError, ERROR_CODES, type ErrorCode } from '../core/errors.ts';
import type { DeviceResult } from '../fleet/types.ts';
import type { UploadObservation } from '../upload/index.ts';
import type { JobError } from './job-types.ts';
import type { DashboardLibrary, DiagnosisView, FitVerdict } from './lib.ts';

export const OFFLINE_HINT =
  'It did not answer a short probe, so nothing was sent. Is it powered and on this network, and does its sketch call ArduinoOTA.begin() and handle()? A board whose loop() blocks longer than the wait looks offline too: raise --invite-timeout.';

/** Codes that mean the device did not answer at all. */
const OFFLINE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'NO_INVITATION_REPLY',
  'DEVICE_OFFLINE',
  'HOST_NOT_FOUND',
]);

const KNOWN_CODES: ReadonlySet<string> = new Set<string>(ERROR_CODES);

function isErrorCode(code: string | null): code is ErrorCode {
  return code !== null && KNOWN_CODES.has(code);
}

/** A code from a record that carries it as a string (a fleet result, a fit verdict). */
function errorCode(code: string | null, fallback: ErrorCode): ErrorCode {
  return isErrorCode(code) ? code : fallback;
}

/** The page's view of a failed upload: the error's own words and the ranked causes. */
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

/**
 * The error of a device the fleet reported failed or skipped: with the fleet's diagnosis (the
 * library's `diagnoseUpload()`, the same as `airflash upload`), its code, words, hint and the
 * device's text; without one (offline, stopped, a refused image), the result's own code and words.
 */
export function resultError(result: DeviceResult): JobError {
  const code = errorCode(result.code, 'INTERNAL');
  const d = result.diagnosis;
  if (d !== null) {
    return {
      code,
      message: result.message,
      ...(result.hint === undefined ? {} : { hint: result.hint }),
      ...(result.deviceText === undefined ? {} : { deviceText: result.deviceText }),
      offline: OFFLINE_CODES.has(code),
      diagnosis: d.causes.length === 0 ? null : { summary: d.summary, causes: d.causes },
    };
  }
  const offline = result.code === 'DEVICE_OFFLINE';
  return {
    code,
    message: result.message,
    ...(offline ? { hint: OFFLINE_HINT } : {}),
    offline,
    diagnosis: null,
  };
}

/** The error of a device refused by the fit check (before anything was sent). */
export function refusal(fit: FitVerdict): JobError {
  return {
    code: errorCode(fit.code, 'PREFLIGHT_NOT_APP'),
    message: fit.message,
    hint: 'Nothing was sent to this device. Pick a firmware built for it.',
    offline: false,
    diagnosis: null,
  };
}
