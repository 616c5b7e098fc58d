import { createSocket, type Socket as UdpSocket } from 'node:dgram';

/** The OS reported the device's UDP port closed (ICMP port unreachable). */
export interface PortRefusal {
  at: number;
  /** ECONNREFUSED (Linux, macOS) or ECONNRESET (Windows). */
  errno: string;
}

/**
 * The socket that sends the first invitation, connected to the device's OTA port: only a
 * connected UDP socket hears ICMP "port unreachable" (ECONNREFUSED on Linux and macOS, a reset on
 * Windows). It stays open for the handshake and its answers are read like the main socket's (a
 * connected socket only takes datagrams from the device's address and port). The main socket stays
 * unconnected so that answers from other addresses can still be seen. No extra datagram is sent.
 */
export class PortCheck {
  socket: UdpSocket | undefined;
  private readonly device: { address: string; port: number };

  constructor(device: { address: string; port: number }) {
    this.device = device;
  }

  /**
   * Open and connect. `onRefused` hears every port-unreachable report; other errors are ignored
   * (the check is optional). Returns false when the socket could not be opened.
   */
  async open(
    family: 4 | 6,
    local: string,
    now: () => number,
    onRefused: (r: PortRefusal) => void,
  ): Promise<boolean> {
    const s = createSocket(family === 6 ? 'udp6' : 'udp4');
    this.socket = s;
    s.on('error', (error: NodeJS.ErrnoException) => {
      const errno = error.code ?? '';
      if (errno === 'ECONNREFUSED' || errno === 'ECONNRESET') onRefused({ at: now(), errno });
    });
    try {
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind({ address: local, port: 0 }, () => {
          s.connect(this.device.port, this.device.address, () => {
            s.off('error', reject);
            resolve();
          });
        });
      });
      return true;
    } catch {
      this.close();
      return false;
    }
  }

  /** Send on the connected socket; false when there is none (the caller sends on its own). */
  send(bytes: Uint8Array, callback: (error: Error | null) => void): boolean {
    if (this.socket === undefined) return false;
    this.socket.send(bytes, callback);
    return true;
  }

  close(): void {
    const s = this.socket;
    this.socket = undefined;
    try {
      s?.close();
    } catch {
      // already closed
    }
  }
}
