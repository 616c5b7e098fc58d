import { type Diagnosis, diagnose, needsFollowUp } from '../../diagnosis/diagnose.ts';
import { followUp } from '../../diagnosis/probe.ts';
import type { AirflashError } from '../../errors.ts';
import type { UploadObservation } from '../../uploader/index.ts';

export { renderDiagnosis } from '../../diagnosis/diagnose.ts';

/** What the CLI shows (and puts in the JSON `result.diagnosis`) for a failed upload. */
export type DiagnosisView = Diagnosis;

/**
 * The one call site for a failure's diagnosis: `diagnose()` from the diagnosis module. When no
 * invitation was answered it first runs the active follow-up (3232, 8266, the mDNS port, ICMP and
 * a TCP check; about 10 s × time scale) and says so through `onNote`.
 */
export async function diagnosisFor(
  error: AirflashError,
  options: { signal?: AbortSignal; onNote?: (text: string) => void } = {},
): Promise<DiagnosisView | null> {
  const observation = error.data['observation'] as UploadObservation | undefined;
  let result: Awaited<ReturnType<typeof followUp>> | undefined;
  if (observation && needsFollowUp(observation, error) && options.signal?.aborted !== true) {
    const address = observation.target.address ?? '';
    const loopback = address.startsWith('127.') || address === '::1';
    const waitMs = Math.round(10_000 * observation.options.timeScale);
    options.onNote?.(
      `No answer on port ${observation.target.port}: asking ${address} on ports 3232 and 8266${loopback ? '' : ' and the port it advertises over mDNS'} (up to ${(waitMs / 1000).toFixed(1)} s)…`,
    );
    try {
      result = await followUp(observation, {
        waitMs,
        mdns: !loopback,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch {
      // the diagnosis works without it
    }
  }
  return diagnose(observation, error, result ? { followUp: result } : {});
}
