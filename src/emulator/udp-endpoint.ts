import { createSocket, type Socket } from 'node:dgram';
import { AirflashError } from '../core/errors.ts';
import type { LinkModel } from './link.ts';

export interface ReceivedDatagram {
  data: Buffer;
  address: string;
  port: number;
}

/**
 * The device's UDP socket seen through the link model: each datagram is lost with probability
 * `udpLoss` and delayed by rtt/2, in each direction (docs/emulator.md "Link model").
 */
export class UdpEndpoint {
  private readonly address: string;
  private readonly link: LinkModel;
  private readonly rnd: () => number;
  private socket: Socket | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private boundPort = 0;
  private stopped = false;

  constructor(address: string, link: LinkModel, rnd: () => number) {
    this.address = address;
    this.link = link;
    this.rnd = rnd;
  }

  get port(): number {
    return this.boundPort;
  }

  /**
   * Bind on `port` (0 = chosen by the OS). `accepting()` is asked when a datagram arrives and again
   * when it reaches the device; `deliver` gets the ones that survive.
   */
  async bind(port: number, accepting: () => boolean, deliver: (d: ReceivedDatagram) => void): Promise<void> {
    const socket = createSocket({ type: this.address.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(
          new AirflashError('BAD_ARGUMENT', `Cannot listen on ${this.address}:${port}: ${err.message}`, {
            hint: 'Pick another --port (0 lets the system choose) or another 127.0.0.x address.',
            cause: err,
          }),
        );
      };
      socket.once('error', onError);
      socket.bind({ address: this.address, port, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    socket.on('error', () => {
      // a send to a vanished host port: ignore, like lwIP
    });
    socket.on('message', (data, rinfo) => {
      if (!accepting()) return;
      if (this.link.udpLoss > 0 && this.rnd() < this.link.udpLoss) return;
      const d: ReceivedDatagram = { data, address: rinfo.address, port: rinfo.port };
      this.afterHalfRtt(() => {
        if (accepting()) deliver(d);
      });
    });
    this.socket = socket;
    this.boundPort = socket.address().port;
  }

  send(text: string | Uint8Array, ip: string, port: number): void {
    const data = typeof text === 'string' ? Buffer.from(text, 'latin1') : Buffer.from(text);
    if (this.link.udpLoss > 0 && this.rnd() < this.link.udpLoss) return;
    this.afterHalfRtt(() => {
      const socket = this.socket;
      if (!socket || this.stopped) return;
      try {
        socket.send(data, port, ip);
      } catch {
        // socket closed meanwhile
      }
    });
  }

  /** Send nothing more and drop what is still on the wire (the socket stays bound until close()). */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  async close(): Promise<void> {
    this.stop();
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private afterHalfRtt(fn: () => void): void {
    if (this.link.rttMs <= 0) {
      fn();
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, this.link.rttMs / 2);
    this.timers.add(t);
  }
}
