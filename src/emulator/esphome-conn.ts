/**
 * A transport `Stream` as the ESPHome shell's `EsphomeConn`: bytes queue as they arrive; reads
 * wait for them under the shell's (already scaled) timeouts. Listeners go in `close()`.
 *
 * With a link (`rttMs` > 0 or a `window`), the bytes pass a model of the TCP path first
 * (docs/emulator.md "ESPHome link model"): each direction is delayed by rtt/2, and the host's data
 * reaches the device only within the device's receive window: byte `i` arrives no earlier than
 * rtt after the device consumed byte `i − window` (the window update travels back, the data
 * forward). The socket itself is read at once (Node cannot shrink its receive buffer), so the
 * emulator holds what the host sent "on the wire" (at most what the host wrote ahead).
 */
import type { EsphomeConn } from '../protocols/esphome/device/session.ts';
import type { Stream } from '../transport/types.ts';

/** The path between the host and the emulated device; window 0 = unlimited. */
export interface StreamLink {
  rttMs: number;
  window: number;
}

export class StreamConn implements EsphomeConn {
  private readonly stream: Stream;
  private readonly link: StreamLink;
  private readonly modelled: boolean;
  private buf = new Uint8Array(0);
  private closed = false;
  private ended = false;
  private wake: (() => void) | undefined;
  /** Host bytes on the wire, each with the time it reaches the device (window aside). */
  private readonly wire: Array<{ bytes: Uint8Array; at: number }> = [];
  private arrived = 0;
  private consumed = 0;
  /** (time, bytes consumed by then), oldest first: what the host's window has heard of. */
  private readonly consumedLog: Array<{ t: number; total: number }> = [];
  private pumpTimer: NodeJS.Timeout | undefined;
  private writeFree = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly onData = (c: Uint8Array): void => {
    if (!this.modelled) {
      this.append(c);
      return;
    }
    this.wire.push({ bytes: c, at: performance.now() + this.link.rttMs / 2 });
    this.pump();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    if (this.wire.length === 0) this.closed = true;
    this.poke();
  };

  constructor(stream: Stream, link: StreamLink = { rttMs: 0, window: 0 }) {
    this.stream = stream;
    this.link = link;
    this.modelled = link.rttMs > 0 || link.window > 0;
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
    if (this.closed || this.stream.destroyed) return;
    if (this.link.rttMs <= 0) {
      this.stream.write(bytes);
      return;
    }
    const copy = bytes.slice();
    this.later(this.outgoingAt(), () => {
      if (!this.stream.destroyed) this.stream.write(copy);
    });
  }

  close(): void {
    this.closed = true;
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    this.stream.off('error', this.onEnd);
    if (this.pumpTimer !== undefined) clearTimeout(this.pumpTimer);
    this.wire.length = 0;
    // Let what was written reach the host before the FIN/RST.
    if (this.link.rttMs <= 0) setImmediate(() => this.stream.destroy());
    else this.later(this.outgoingAt(), () => setImmediate(() => this.stream.destroy()));
    this.poke();
  }

  private outgoingAt(): number {
    this.writeFree = Math.max(performance.now() + this.link.rttMs / 2, this.writeFree);
    return this.writeFree;
  }

  private later(at: number, fn: () => void): void {
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        fn();
      },
      Math.max(0, at - performance.now()),
    );
    this.timers.add(t);
  }

  private append(c: Uint8Array): void {
    const next = new Uint8Array(this.buf.length + c.length);
    next.set(this.buf);
    next.set(c, this.buf.length);
    this.buf = next;
    this.poke();
  }

  /** Bytes consumed as of time `t` (what a window update sent then said), pruning older entries. */
  private consumedAsOf(t: number): number {
    while (this.consumedLog.length > 1 && (this.consumedLog[1] as { t: number }).t <= t)
      this.consumedLog.shift();
    const first = this.consumedLog[0];
    return first !== undefined && first.t <= t ? first.total : 0;
  }

  /** Move what has arrived (by time and by window) into the read buffer; time the next move. */
  private pump(): void {
    if (this.pumpTimer !== undefined) clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    const now = performance.now();
    const limit =
      this.link.window > 0 ? this.consumedAsOf(now - this.link.rttMs) + this.link.window : Infinity;
    while (this.wire.length > 0 && this.arrived < limit) {
      const head = this.wire[0] as { bytes: Uint8Array; at: number };
      if (head.at > now) break;
      const k = Math.min(head.bytes.length, limit - this.arrived);
      this.append(head.bytes.subarray(0, k));
      this.arrived += k;
      if (k === head.bytes.length) this.wire.shift();
      else head.bytes = head.bytes.subarray(k);
    }
    if (this.wire.length === 0) {
      if (this.ended) {
        this.closed = true;
        this.poke();
      }
      return;
    }
    const head = this.wire[0] as { at: number };
    let next: number | undefined = head.at > now ? head.at : undefined;
    if (next === undefined) {
      // Window-bound: the next window update the host hears of (none yet: take() pumps again).
      const rise = this.consumedLog.find((e) => e.t > now - this.link.rttMs);
      if (rise !== undefined) next = rise.t + this.link.rttMs;
    }
    if (next !== undefined)
      this.pumpTimer = setTimeout(() => this.pump(), Math.max(0, next - performance.now()));
  }

  private take(n: number): Uint8Array {
    const out = this.buf.slice(0, n);
    this.buf = this.buf.subarray(n);
    if (this.modelled && n > 0) {
      this.consumed += n;
      this.consumedLog.push({ t: performance.now(), total: this.consumed });
      if (this.wire.length > 0) this.pump();
    }
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
