/** The ArduinoOTA observation a failed upload carries, for the follow-up and the diagnosis. */
import { isUploadError } from '../../upload-error.ts';
import type { UploadObservation } from './options.ts';

/** The protocol id ArduinoOTA tags its results, observations and errors with. */
export const ARDUINO_OTA_ID = 'arduino-ota';

function isObservation(o: unknown): o is UploadObservation {
  return typeof o === 'object' && o !== null && (o as { version?: unknown }).version === 1;
}

/**
 * The observation of a failed ArduinoOTA upload: an `UploadError` tagged `arduino-ota` carries it
 * typed. An `AirflashError` made by a caller of 0.1 may carry one in `data.observation` (the
 * record's `version: 1` says it is one).
 */
export function observationOf(error: unknown): UploadObservation | undefined {
  if (isUploadError(error)) {
    return error.protocol === ARDUINO_OTA_ID && isObservation(error.observation)
      ? error.observation
      : undefined;
  }
  if (typeof error !== 'object' || error === null) return undefined;
  const data = (error as { data?: unknown }).data;
  if (typeof data !== 'object' || data === null) return undefined;
  const o = (data as { observation?: unknown }).observation;
  return isObservation(o) ? o : undefined;
}
