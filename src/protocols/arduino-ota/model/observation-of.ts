/** The observation an upload's error carries (`error.data.observation`), for the follow-up and the diagnosis. */
import type { UploadObservation } from './options.ts';

/** The observation carried by an error (`error.data.observation`), if any. */
export function observationOf(error: unknown): UploadObservation | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const data = (error as { data?: unknown }).data;
  if (typeof data !== 'object' || data === null) return undefined;
  const o = (data as { observation?: unknown }).observation;
  return typeof o === 'object' && o !== null && (o as { version?: unknown }).version === 1
    ? (o as UploadObservation)
    : undefined;
}
