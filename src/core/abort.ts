import { AirflashError } from './errors.ts';

/** Throw INTERRUPTED when the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

export function abortError(signal: AbortSignal): AirflashError {
  const reason: unknown = signal.reason;
  if (reason instanceof AirflashError) return reason;
  return new AirflashError('INTERRUPTED', 'The operation was interrupted.', {
    hint: 'Nothing was confirmed by the device; it keeps the firmware it had.',
    cause: reason,
  });
}

/** Abort-aware sleep; removes its listener and timer on every path. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Add an abort listener and get a disposer back. */
export function onAbort(signal: AbortSignal | undefined, fn: () => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    fn();
    return () => {};
  }
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}
