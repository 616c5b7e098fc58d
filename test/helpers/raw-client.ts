import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';

/**
 * A minimal host that speaks the espota protocol byte by byte, for golden-byte tests against the
 * emulator: UDP sockets you pick, a TCP listener, and everything the device sends recorded raw.
 */

export interface Datagram {
  data: Buffer;
  address: string;
  port: number;
}

export class RawUdp {
  readonly socket: UdpSocket;
  private readonly inbox: Datagram[] = [];
  private waiter: (() => void) | undefined;

  private constructor(socket: UdpSocket) {
    this.socket = socket;
    socket.on('message', (data, rinfo) => {
      this.inbox.push({ data, address: rinfo.address, port: rinfo.port });
      const w = this.waiter;
      this.waiter = undefined;
      w?.();
    });
  }

  static async open(address = '127.0.0.1'): Promise<RawUdp> {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => socket.bind({ address, port: 0 }, () => resolve()));
    return new RawUdp(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: string | Uint8Array, port: number, address = '127.0.0.1'): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
    return new Promise((resolve, reject) =>
      this.socket.send(buf, port, address, (e) => (e ? reject(e) : resolve())),
    );
  }

  /** The next datagram, or undefined after `timeoutMs`. */
  async recv(timeoutMs = 2000): Promise<Datagram | undefined> {
    const ready = this.inbox.shift();
    if (ready) return ready;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve();
      }, timeoutMs);
      this.waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    return this.inbox.shift();
  }

  /** Everything received so far, without waiting. */
  drain(): Datagram[] {
    return this.inbox.splice(0);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export interface Accepted {
  socket: Socket;
  /** Every byte the device sent, in order. */
  received: Buffer[];
  /** Resolves when the device closed (or the socket errored). */
  ended: Promise<void>;
  at: number;
  remoteAddress: string;
  /** True once the device closed the connection. */
  closed(): boolean;
  text(): string;
}

export class RawTcp {
  readonly server: Server;
  readonly accepted: Accepted[] = [];
  private waiter: (() => void) | undefined;

  private constructor(server: Server) {
    this.server = server;
    server.on('connection', (socket) => {
      const received: Buffer[] = [];
      let closed = false;
      const ended = new Promise<void>((resolve) => {
        socket.on('close', () => {
          closed = true;
          resolve();
        });
        socket.on('end', () => {
          closed = true;
        });
      });
      socket.on('data', (d: Buffer) => received.push(d));
      socket.on('error', () => {});
      this.accepted.push({
        socket,
        received,
        ended,
        at: performance.now(),
        remoteAddress: socket.remoteAddress ?? '',
        closed: () => closed,
        text: () => Buffer.concat(received).toString('latin1'),
      });
      const w = this.waiter;
      this.waiter = undefined;
      w?.();
    });
  }

  static async listen(address = '127.0.0.1'): Promise<RawTcp> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen({ host: address, port: 0 }, () => resolve()));
    return new RawTcp(server);
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  /** The n-th accepted connection (0-based), or undefined after `timeoutMs`. */
  async accept(timeoutMs = 3000, n = 0): Promise<Accepted | undefined> {
    const deadline = performance.now() + timeoutMs;
    while (this.accepted.length <= n) {
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.waiter = undefined;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.accepted[n];
  }

  async close(): Promise<void> {
    for (const a of this.accepted) a.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Wait until `conn` has received at least `bytes` reply bytes or `predicate` holds. */
export async function waitReply(
  conn: Accepted,
  until: (text: string) => boolean,
  timeoutMs = 3000,
): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const text = conn.text();
    if (until(text) || conn.closed()) return conn.text();
    if (performance.now() > deadline) return text;
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** espota's method: send a chunk, wait for the reply bytes, repeat. Returns the reply text of each chunk. */
export async function stopAndWait(
  conn: Accepted,
  image: Uint8Array,
  chunk: number,
  timeoutMs = 3000,
): Promise<string[]> {
  const replies: string[] = [];
  let seen = 0;
  for (let off = 0; off < image.length; off += chunk) {
    const part = image.subarray(off, Math.min(off + chunk, image.length));
    conn.socket.write(part);
    const text = await waitReply(conn, (t) => t.length > seen, timeoutMs);
    replies.push(text.slice(seen));
    seen = text.length;
  }
  return replies;
}

/** Stream the whole image at once (TCP flow control throttles). */
export function streamAll(conn: Accepted, image: Uint8Array): void {
  conn.socket.write(image);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
