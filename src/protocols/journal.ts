/**
 * A plain attempt journal for a protocol whose observation is a simple record: phases, warnings
 * and progress go to `onEvent`; a failure becomes an `UploadError` carrying the observation.
 * (ArduinoOTA keeps its own, richer one: arduino-ota/host/journal.ts.)
 */

import { toAirflashError } from '../core/errors.ts';
import type { AttemptJournal, UploadEvent, UploadPhase } from './types.ts';
import { UploadError } from './upload-error.ts';

export function basicJournal<Observation>(
  protocol: string,
  observation: Observation,
  onEvent: ((event: UploadEvent) => void) | undefined,
  fresh: () => Observation = () => structuredClone(observation),
): AttemptJournal<Observation> {
  let phase: UploadPhase = 'resolve';
  const emit = (event: UploadEvent): void => onEvent?.(event);
  return {
    observation,
    get phase(): UploadPhase {
      return phase;
    },
    setPhase(p) {
      if (p === phase) return;
      phase = p;
      emit({ type: 'phase', phase: p });
    },
    log() {},
    warn: (code, message) => emit({ type: 'warning', code, message }),
    emit,
    resolved() {},
    prepared() {},
    checked(outcome) {
      for (const w of outcome?.warnings ?? []) emit({ type: 'warning', ...w });
    },
    fail: (error) =>
      error instanceof UploadError && error.observation === observation
        ? error
        : new UploadError(toAirflashError(error), observation, phase, protocol),
    next: () => basicJournal(protocol, fresh(), onEvent, fresh),
  };
}
