import { abortError } from '../core/abort.ts';

/** Default bound of an inbox: far above what an honest device sends in one handshake. */
export const INBOX_CAPACITY = 64;

/**
 * A bounded queue of events (datagrams, connections) that an async state machine pulls from with
 * a deadline. One waiter at a time. Timers and abort listeners are removed on every path.
 */
export class Inbox<T> {
  private readonly items: T[] = [];
  private waiter: ((item: T | undefined) => void) | undefined;
  private failure: unknown;

  readonly capacity: number;

  constructor(capacity: number = INBOX_CAPACITY) {
    this.capacity = capacity;
  }

  /** Items waiting to be read. */
  get length(): number {
    return this.items.length;
  }

  /**
   * Hand an item to the waiter or queue it. Returns false (and drops it) when the queue is full,
   * unless `essential` (one-off events such as the device's connection).
   */
  push(item: T, essential = false): boolean {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(item);
      return true;
    }
    if (!essential && this.items.length >= this.capacity) return false;
    this.items.push(item);
    return true;
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
