import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import type { Inbox } from '../../../transport/inbox.ts';
import { normaliseAddress } from '../../../transport/node.ts';
import type { HandshakeEvent } from './handshake.ts';
import type { Recorder } from './recorder.ts';

/** Datagrams from other addresses kept as evidence (an answer through NAT, a second address). */
export const FOREIGN_KEPT = 8;

/**
 * What the invitation socket lets through to the handshake: datagrams from the device address
 * (queued in a bounded inbox), the first few from other addresses (evidence only), nothing once
 * `stop()` was called (the handshake is over). Counts go to `obs.udp` (docs/upload.md "Bounds").
 */
export class UdpIntake {
  private readonly onMessage = (msg: Buffer, rinfo: RemoteInfo): void => this.take(msg, rinfo);
  private readonly socket: UdpSocket;
  private readonly inbox: Inbox<HandshakeEvent>;
  private readonly rec: Recorder;
  private readonly device: { address: string };

  constructor(socket: UdpSocket, inbox: Inbox<HandshakeEvent>, rec: Recorder, device: { address: string }) {
    this.socket = socket;
    this.inbox = inbox;
    this.rec = rec;
    this.device = device;
    rec.obs.udp ??= { fromDevice: 0, foreign: 0, dropped: 0, afterHandshake: 0, queueLimit: inbox.capacity };
    socket.on('message', this.onMessage);
  }

  private take(msg: Buffer, rinfo: RemoteInfo): void {
    const stats = this.rec.obs.udp as NonNullable<Recorder['obs']['udp']>;
    const from = normaliseAddress(rinfo.address);
    if (from !== this.device.address) {
      stats.foreign++;
      if (stats.foreign > FOREIGN_KEPT) return;
    } else stats.fromDevice++;
    const ev: HandshakeEvent = { kind: 'udp', data: msg, from, port: rinfo.port, at: this.rec.now() };
    if (!this.inbox.push(ev)) stats.dropped++;
    stats.queueHighWater = Math.max(stats.queueHighWater ?? 0, this.inbox.length);
  }

  /** The handshake is over: stop reading (later datagrams are counted, not stored). */
  stop(): void {
    this.socket.off('message', this.onMessage);
    this.socket.on('message', () => {
      const stats = this.rec.obs.udp;
      if (stats) stats.afterHandshake++;
    });
  }
}
