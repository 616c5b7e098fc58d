import type { Inbox } from '../../../transport/inbox.ts';
import { normaliseAddress } from '../../../transport/node.ts';
import type { DatagramSocket, Dispose, Peer } from '../../../transport/types.ts';
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
  private readonly inbox: Inbox<HandshakeEvent>;
  private readonly rec: Recorder;
  private readonly device: { address: string };
  private readonly socket: DatagramSocket;
  /** The socket that sent the first invitation (answers to it arrive here). */
  private readonly first: boolean;
  private dispose: Dispose;

  constructor(
    socket: DatagramSocket,
    inbox: Inbox<HandshakeEvent>,
    rec: Recorder,
    device: { address: string },
    first = false,
  ) {
    this.socket = socket;
    this.first = first;
    this.inbox = inbox;
    this.rec = rec;
    this.device = device;
    rec.obs.udp ??= { fromDevice: 0, foreign: 0, dropped: 0, afterHandshake: 0, queueLimit: inbox.capacity };
    this.dispose = socket.onMessage((data, from) => this.take(data, from));
  }

  private take(data: Uint8Array, peer: Peer): void {
    const stats = this.rec.obs.udp as NonNullable<Recorder['obs']['udp']>;
    const from = normaliseAddress(peer.address);
    if (from !== this.device.address) {
      stats.foreign++;
      if (stats.foreign > FOREIGN_KEPT) return;
    } else stats.fromDevice++;
    const ev: HandshakeEvent = {
      kind: 'udp',
      data,
      from,
      port: peer.port,
      at: this.rec.now(),
      ...(this.first ? { toFirst: true } : {}),
    };
    if (!this.inbox.push(ev)) stats.dropped++;
    stats.queueHighWater = Math.max(stats.queueHighWater ?? 0, this.inbox.length);
  }

  /** The handshake is over: stop reading (later datagrams are counted, not stored). */
  stop(): void {
    this.dispose();
    this.dispose = this.socket.onMessage(() => {
      const stats = this.rec.obs.udp;
      if (stats) stats.afterHandshake++;
    });
  }
}
