import { connect, type Socket } from 'node:net';
import { DeviceHalted } from './board/clock.ts';
import { TIMING_MODEL } from './board/timing.ts';

/**
 * The link model between the host and an emulated device (docs/emulator.md "Link model"):
 * - rttMs: every datagram and every TCP segment is delayed by rtt/2 in each direction;
 * - bandwidth: the host → device TCP path delivers at most this many bytes per second;
 * - window: the device's TCP receive window. Node cannot shrink a socket's receive buffer, so the
 *   emulator pauses reading the socket while the device holds ≥ window unprocessed bytes (the bytes
 *   still "on the wire" included) and resumes below it — an approximation (the kernel's own socket
 *   buffers still absorb some data);
 * - udpLoss: probability (0…1) that a datagram is lost, each direction.
 */
export interface LinkModel {
  rttMs: number;
  bandwidth: number;
  window: number;
  udpLoss: number;
}

export const DEFAULT_LINK: LinkModel = {
  rttMs: 0,
  bandwidth: 0,
  window: TIMING_MODEL.defaultWindow,
  udpLoss: 0,
};

export type WaitResult = 'data' | 'timeout' | 'closed';

/**
 * The device's TCP client connection to the host, seen through the link model. The device reads
 * from `rx` (what has "arrived"); writes are delayed by rtt/2.
 */
export class DeviceConn {
  readonly socket: Socket;
  private readonly link: LinkModel;
  private readonly rx: Buffer[] = [];
  private rxLen = 0;
  private inFlight = 0;
  private deliverFree = 0;
  private writeFree = 0;
  private peerEnded = false;
  private closed = false;
  private waiter: (() => void) | undefined;
  private goneWaiters: Array<() => void> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private paused = false;
  /** Bytes from the host still "on the wire", each with the time it reaches the device. */
  private readonly wire: Array<{ piece: Buffer | undefined; at: number }> = [];
  private pumpTimer: NodeJS.Timeout | undefined;
  /** The link went dead (stall fault): data from the host is lost, but its close is still seen. */
  private dead = false;
  /** Total bytes the host has sent that reached the device's buffer. */
  delivered = 0;

  private readonly mss: number;

  constructor(socket: Socket, link: LinkModel, mss: number) {
    this.socket = socket;
    this.link = link;
    this.mss = mss;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      // The FIN travels behind the data on the same wire.
      this.wire.push({ piece: undefined, at: this.deliveryTime(0) });
      this.pump();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {
      this.closed = true;
      this.wake();
    });
  }

  private later(at: number, fn: () => void): void {
    const delay = at - performance.now();
    if (delay <= 0) {
      fn();
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, delay);
    this.timers.add(t);
  }

  private deliveryTime(length: number): number {
    const now = performance.now();
    const serial = this.link.bandwidth > 0 ? (length / this.link.bandwidth) * 1000 : 0;
    const start = Math.max(now, this.deliverFree);
    this.deliverFree = start + serial;
    return this.deliverFree + this.link.rttMs / 2;
  }

  private onData(chunk: Buffer): void {
    if (this.dead) return;
    this.inFlight += chunk.length;
    this.flow();
    // With a bandwidth cap, deliver segments of the device's TCP_MSS, each once its own bytes are
    // serialised (a 64 KiB socket read delivered whole would starve the device for its full
    // serialisation time). ESP32 Arduino: 1436; ESP8266 lwIP "v2 Lower Memory": 536 (core-profile.ts).
    const step = this.link.bandwidth > 0 ? this.mss : chunk.length;
    for (let i = 0; i < chunk.length; i += step) {
      const piece = chunk.subarray(i, Math.min(chunk.length, i + step));
      this.wire.push({ piece, at: this.deliveryTime(piece.length) });
    }
    this.pump();
  }

  /**
   * Deliver the pieces on the wire strictly in order. One timer for the head of the queue: separate
   * timers per piece can fire out of order when the event loop is late (Node runs overdue timers of
   * different durations in any order), which would reorder the byte stream.
   */
  private pump(): void {
    if (this.pumpTimer !== undefined) return;
    const now = performance.now();
    while (this.wire.length > 0 && (this.wire[0] as { at: number }).at <= now) {
      const { piece } = this.wire.shift() as { piece: Buffer | undefined; at: number };
      if (piece === undefined) {
        this.onEnd();
        continue;
      }
      if (this.dead) continue;
      this.inFlight -= piece.length;
      this.rx.push(piece);
      this.rxLen += piece.length;
      this.delivered += piece.length;
    }
    if (this.rxLen > 0) this.wake();
    const head = this.wire[0];
    if (head === undefined) return;
    this.pumpTimer = setTimeout(
      () => {
        this.pumpTimer = undefined;
        this.pump();
      },
      Math.max(0, head.at - now),
    );
  }

  private onEnd(): void {
    this.peerEnded = true;
    this.wake();
  }

  private flow(): void {
    const held = this.rxLen + this.inFlight;
    if (!this.paused && held >= this.link.window) {
      this.paused = true;
      this.socket.pause();
    } else if (this.paused && held < this.link.window) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
    if (!this.connected() && this.goneWaiters.length > 0) {
      const gone = this.goneWaiters;
      this.goneWaiters = [];
      for (const g of gone) g();
    }
  }

  available(): number {
    return this.rxLen;
  }

  /** The peer has not closed (or the socket is gone) — data already received is still readable. */
  connected(): boolean {
    return !this.closed && !this.peerEnded;
  }

  read(max: number): Uint8Array {
    const want = Math.min(max, this.rxLen);
    const out = new Uint8Array(want);
    let pos = 0;
    while (pos < want) {
      const head = this.rx[0] as Buffer;
      const n = Math.min(head.length, want - pos);
      out.set(head.subarray(0, n), pos);
      pos += n;
      if (n === head.length) this.rx.shift();
      else this.rx[0] = head.subarray(n);
    }
    this.rxLen -= want;
    this.flow();
    return out;
  }

  /**
   * Stall fault: from now on nothing the host sends reaches the device (a dead radio link). The
   * socket keeps flowing so that the host's close still reaches the device and ends its loop, as
   * it would once a real link recovers; an ESP32 meanwhile runs into its receive timeout.
   */
  goDead(): void {
    this.dead = true;
    this.wire.length = 0;
    this.rx.length = 0;
    this.rxLen = 0;
    this.inFlight = 0;
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** Wait until data is available, the connection ends, or `ms` passes. */
  waitData(ms: number, signal: AbortSignal): Promise<WaitResult> {
    if (this.rxLen > 0) return Promise.resolve('data');
    if (!this.connected()) return Promise.resolve('closed');
    return new Promise((resolve, reject) => {
      const done = (r: WaitResult | 'halt'): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.waiter = undefined;
        if (r === 'halt') reject(new DeviceHalted());
        else resolve(r);
      };
      const onAbort = (): void => done('halt');
      const timer = setTimeout(() => done('timeout'), Math.max(0, ms));
      this.waiter = () => done(this.rxLen > 0 ? 'data' : this.connected() ? 'timeout' : 'closed');
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Write ASCII text towards the host (after rtt/2). False when the connection is gone. */
  write(text: string): boolean {
    if (this.closed || this.socket.destroyed) return false;
    if (this.dead) return true; // lost on the dead link
    const data = Buffer.from(text, 'latin1');
    const at = Math.max(performance.now() + this.link.rttMs / 2, this.writeFree);
    this.writeFree = at;
    this.later(at, () => {
      if (!this.socket.destroyed) this.socket.write(data);
    });
    return true;
  }

  /** Graceful close (FIN) once the pending writes went out. */
  close(): void {
    if (this.dead) {
      // Nothing crosses the dead link, not even the FIN: the host sees silence until it gives up.
      const drop = (): void => {
        this.closed = true;
        this.socket.destroy();
      };
      if (!this.connected()) drop();
      else this.goneWaiters.push(drop);
      return;
    }
    const at = Math.max(performance.now() + this.link.rttMs / 2, this.writeFree);
    this.later(at, () => {
      if (!this.socket.destroyed) this.socket.end();
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.socket.destroy();
      }, 2000);
      t.unref();
      this.timers.add(t);
    });
  }

  /** Cut the connection at once (reset when possible), dropping pending writes. */
  destroy(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.pumpTimer !== undefined) clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    this.wire.length = 0;
    this.closed = true;
    if (!this.socket.destroyed) {
      // resetAndDestroy() on a socket whose peer already closed spins the event loop (Node 20):
      // reset only a connection that is still open both ways.
      const open = !this.peerEnded && !this.socket.readableEnded && this.socket.readyState === 'open';
      if (open && typeof this.socket.resetAndDestroy === 'function') this.socket.resetAndDestroy();
      else this.socket.destroy();
    }
    this.wake();
  }

  /** Drop timers (device shutting down). */
  dispose(): void {
    this.destroy();
  }
}

/** Open the device's TCP connection to the host. Resolves undefined on failure (Connect Failed). */
export function deviceConnect(
  host: string,
  port: number,
  localAddress: string,
  link: LinkModel,
  signal: AbortSignal,
  timeoutMs: number,
  mss: number,
): Promise<DeviceConn | undefined> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new DeviceHalted());
      return;
    }
    const family = host.includes(':') ? 6 : 4;
    const sameFamily = localAddress.includes(':') === (family === 6);
    const socket = connect({
      host,
      // WiFiClient::connect takes a uint16_t: an invitation's port field wraps (70000 → 4464).
      port: port & 0xffff,
      ...(sameFamily ? { localAddress } : {}),
      family,
    });
    let settled = false;
    const finish = (conn: DeviceConn | undefined, halt = false): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (halt) {
        socket.destroy();
        reject(new DeviceHalted());
      } else resolve(conn);
    };
    const onConnect = (): void => {
      const conn = new DeviceConn(socket, link, mss);
      if (link.rttMs > 0) {
        // The SYN-ACK travels back: the device sees the connection rtt/2 after the host accepted.
        setTimeout(() => finish(conn), link.rttMs / 2);
      } else finish(conn);
    };
    const onError = (): void => {
      socket.destroy();
      finish(undefined);
    };
    const onAbort = (): void => finish(undefined, true);
    const timer = setTimeout(() => {
      socket.destroy();
      finish(undefined);
    }, timeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
