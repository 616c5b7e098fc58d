/**
 * A transport `Stream` as the ESPHome shell's `EsphomeConn`: bytes queue as they arrive; reads
 * wait for them under the shell's (already scaled) timeouts. Listeners go in `close()`.
 */
import type { EsphomeConn } from '../protocols/esphome/device/session.ts';
import type { Stream } from '../transport/types.ts';

export class StreamConn implements EsphomeConn {
  private readonly stream: Stream;
  private buf = new Uint8Array(0);
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly onData = (c: Uint8Array): void => {
    const next = new Uint8Array(this.buf.length + c.length);
    next.set(this.buf);
    next.set(c, this.buf.length);
    this.buf = next;
    this.poke();
  };
  private readonly onEnd = (): void => {
    this.closed = true;
    this.poke();
  };

  constructor(stream: Stream) {
    this.stream = stream;
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
    stream.on('error', this.onEnd);
  }

  async readExactly(n: number, timeoutMs: number): Promise<Uint8Array | undefined> {
    const until = performance.now() + timeoutMs;
    while (this.buf.length < n) {
      if (this.closed) return undefined;
      const left = until - performance.now();
      if (left <= 0 || !(await this.waitData(left))) return undefined;
    }
    return this.take(n);
  }

  async readSome(max: number, timeoutMs: number): Promise<Uint8Array | undefined> {
    if (this.buf.length === 0) {
      if (this.closed) return undefined;
      if (!(await this.waitData(timeoutMs))) return this.closed ? undefined : new Uint8Array(0);
    }
    return this.take(Math.min(max, this.buf.length));
  }

  write(bytes: Uint8Array): void {
    if (!this.closed && !this.stream.destroyed) this.stream.write(bytes);
  }

  close(): void {
    this.closed = true;
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onEnd);
    // Let what was written reach the host before the FIN/RST.
    setImmediate(() => this.stream.destroy());
    this.poke();
  }

  private take(n: number): Uint8Array {
    const out = this.buf.slice(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** True when data (or the close) came before `ms`. */
  private waitData(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve(false);
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(this.buf.length > 0);
      };
    });
  }

  private poke(): void {
    this.wake?.();
  }
}
