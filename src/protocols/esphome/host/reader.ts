/**
 * Exact-length reads over one `Stream` (espota2.py `receive_exactly`): bytes are queued as they
 * come; `take(n)` waits for n of them under a named timeout. A close before that is ESPHome's
 * "device closed connection without responding". Listeners are removed by `dispose()`.
 */
import { abortError } from '../../../core/abort.ts';
import { AirflashError } from '../../../core/errors.ts';
import type { Stream } from '../../../transport/types.ts';

interface Waiter {
  n: number;
  resolve(bytes: Uint8Array): void;
  reject(error: Error): void;
}

export class ByteReader {
  private chunks: Uint8Array[] = [];
  private queued = 0;
  private waiter: Waiter | undefined;
  private ended: Error | undefined;
  private readonly stream: Stream;
  private readonly off: () => void;

  constructor(stream: Stream) {
    this.stream = stream;
    const onData = (c: Uint8Array): void => {
      this.chunks.push(c);
      this.queued += c.length;
      this.pump();
    };
    const onClose = (): void => this.end(this.closedError());
    const onError = (error: Error): void =>
      this.end(new AirflashError('NETWORK_ERROR', `Connection error: ${error.message}`, { cause: error }));
    stream.on('data', onData);
    stream.on('end', onClose);
    stream.on('close', onClose);
    stream.on('error', onError);
    this.off = () => {
      stream.off('data', onData);
      stream.off('end', onClose);
      stream.off('close', onClose);
      stream.off('error', onError);
    };
  }

  /** Bytes received and not read yet. */
  get available(): number {
    return this.queued;
  }

  /** The connection ended (close, end or error). */
  get closed(): boolean {
    return this.ended !== undefined || this.stream.destroyed;
  }

  /** Wait for exactly `n` bytes for at most `timeoutMs`; `what` names the wait in the timeout error. */
  take(n: number, timeoutMs: number, what: string, signal?: AbortSignal): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => settle(() => reject(abortError(signal as AbortSignal)));
      const settle = (fn: () => void): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiter = undefined;
        fn();
      };
      if (signal?.aborted) return reject(abortError(signal));
      this.waiter = {
        n,
        resolve: (b) => settle(() => resolve(b)),
        reject: (e) => settle(() => reject(e)),
      };
      timer = setTimeout(
        () =>
          settle(() =>
            reject(
              new AirflashError(
                'TIMEOUT',
                `No answer from the device ${what} within ${Math.round(timeoutMs / 100) / 10} s.`,
                {
                  hint: 'The device stopped answering: check that it is powered and on the network, then upload again.',
                },
              ),
            ),
          ),
        timeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pump();
    });
  }

  /** The next queued byte without waiting, undefined when none (a peek for an error byte). */
  poll(): number | undefined {
    if (this.queued === 0) return undefined;
    return this.read(1)[0];
  }

  dispose(): void {
    this.off();
  }

  private read(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0] as Uint8Array;
      const k = Math.min(c.length, n - at);
      out.set(c.subarray(0, k), at);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.queued -= n;
    return out;
  }

  private pump(): void {
    const w = this.waiter;
    if (w === undefined) return;
    if (this.queued >= w.n) w.resolve(this.read(w.n));
    else if (this.ended) w.reject(this.ended);
  }

  private end(error: AirflashError): void {
    this.ended ??= error;
    this.pump();
  }

  private closedError(): AirflashError {
    return new AirflashError(
      'NETWORK_ERROR',
      'The device closed the connection without responding (out of memory, network, or interrupted).',
      { hint: 'Upload again; if it repeats, see the device log.' },
    );
  }
}
