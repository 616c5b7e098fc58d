import type { AirflashError } from '../../core/errors.ts';
import { diagnoseUpload } from '../../diagnosis/diagnose-upload.ts';
import type { Diagnosis } from '../../diagnosis/index.ts';

export { renderDiagnosis } from '../../diagnosis/diagnose.ts';

/** What the CLI shows (and puts in the JSON `result.diagnosis`) for a failed upload. */
export type DiagnosisView = Diagnosis;

/** The CLI's call of the library's `diagnoseUpload()` (follow-up included, announced through `onNote`). */
export async function diagnosisFor(
  error: AirflashError,
  options: { signal?: AbortSignal; onNote?: (text: string) => void } = {},
): Promise<DiagnosisView | null> {
  return diagnoseUpload(error, {
    ...options,
    browse: async (o) => (await import('../../discovery/index.ts')).discoverAll(o),
  });
}
