import { abortError } from '../util/abort.ts';

/**
 * A queue of events (datagrams, connections) that an async state machine pulls from with a
 * deadline. One waiter at a time. Timers and abort listeners are removed on every path.
 */
export class Inbox<T> {
  private readonly items: T[] = [];
  private waiter: ((item: T | undefined) => void) | undefined;
  private failure: unknown;

  push(item: T): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(item);
    } else this.items.push(item);
  }

  /** Fail the current and every later `next()` with this error (e.g. a socket error). */
  fail(error: unknown): void {
    this.failure ??= error;
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(undefined);
    }
  }

  /** The next item, or undefined when `ms` passed first. Rejects on abort or failure. */
  next(ms: number, signal?: AbortSignal): Promise<T | undefined> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const queued = this.items.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise<T | undefined>((resolve, reject) => {
      const finish = (item: T | undefined): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbortFn);
        if (this.failure !== undefined && item === undefined) reject(this.failure);
        else resolve(item);
      };
      const onAbortFn = (): void => {
        this.waiter = undefined;
        clearTimeout(timer);
        reject(abortError(signal as AbortSignal));
      };
      const timer = setTimeout(
        () => {
          this.waiter = undefined;
          signal?.removeEventListener('abort', onAbortFn);
          resolve(undefined);
        },
        Math.max(0, ms),
      );
      signal?.addEventListener('abort', onAbortFn, { once: true });
      this.waiter = finish;
    });
  }
}
