import { createSocket, type Socket as NodeUdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { createServer, isIP, type Socket as NodeTcpSocket, connect as netConnect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { abortError, throwIfAborted } from '../core/abort.ts';
import { AirflashError } from '../core/errors.ts';
import type {
  ConnectOptions,
  DatagramOptions,
  DatagramSocket,
  Dispose,
  ListenOptions,
  Peer,
  Stream,
  StreamEvents,
  StreamListener,
  Transport,
} from './types.ts';

export interface ResolvedTarget {
  address: string;
  family: 4 | 6;
  resolvedBy: 'literal' | 'resolver';
}

/** Strip `[...]` around an IPv6 literal. */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Normalise an address as Node reports it (`::ffff:1.2.3.4` → `1.2.3.4`). */
export function normaliseAddress(address: string): string {
  const a = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  return a.toLowerCase();
}

export async function resolveTarget(
  host: string,
  resolver: ((host: string, options: { signal?: AbortSignal }) => Promise<string[]>) | undefined,
  signal: AbortSignal | undefined,
): Promise<ResolvedTarget> {
  throwIfAborted(signal);
  const bare = bareHost(host.trim());
  if (bare === '')
    throw new AirflashError('BAD_ARGUMENT', 'No device address given.', {
      hint: 'Pass the device with -i ADDRESS (an IP address, a host name or NAME.local).',
    });
  const literal = isIP(bare.split('%')[0] ?? '');
  if (literal !== 0) return { address: bare, family: literal === 6 ? 6 : 4, resolvedBy: 'literal' };
  let addresses: string[];
  try {
    addresses = resolver
      ? await resolver(bare, signal ? { signal } : {})
      : (await lookup(bare, { all: true })).map((a) => a.address);
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    if (error instanceof AirflashError) throw error;
    throw new AirflashError('HOST_NOT_FOUND', `Cannot resolve "${bare}": ${(error as Error).message}`, {
      cause: error,
      hint: bare.endsWith('.local')
        ? 'Use the device IP address, or make mDNS work (Bonjour on Windows, avahi + nss-mdns on Linux).'
        : 'Check the spelling, or use the device IP address (the serial monitor or your router shows it).',
    });
  }
  const v4 = addresses.find((a) => isIP(a) === 4);
  const chosen = v4 ?? addresses.find((a) => isIP(a) === 6);
  if (chosen === undefined)
    throw new AirflashError('HOST_NOT_FOUND', `"${bare}" resolved to no usable address.`, {
      hint: 'Use the device IP address.',
    });
  return { address: chosen, family: isIP(chosen) === 6 ? 6 : 4, resolvedBy: 'resolver' };
}

/**
 * The local address the OS would use to reach `address` (a connected UDP socket sends nothing).
 * Returns undefined when there is no route.
 */
export async function localAddressFor(address: string, family: 4 | 6): Promise<string | undefined> {
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  try {
    return await new Promise<string | undefined>((resolve) => {
      socket.once('error', () => resolve(undefined));
      socket.connect(9, address, () => {
        try {
          resolve(socket.address().address);
        } catch {
          resolve(undefined);
        }
      });
    });
  } finally {
    try {
      socket.close();
    } catch {
      // already closed
    }
  }
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

function closeQuietly(socket: NodeUdpSocket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

/** A node:dgram socket behind DatagramSocket. A connected one reports ICMP refusals. */
class NodeDatagram implements DatagramSocket {
  readonly local: Peer;
  private readonly socket: NodeUdpSocket;
  private readonly connected: boolean;

  constructor(socket: NodeUdpSocket, connected: boolean) {
    this.socket = socket;
    this.connected = connected;
    const a = socket.address();
    this.local = { address: a.address, port: a.port };
  }

  send(bytes: Uint8Array, to?: Peer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (error: Error | null): void => (error ? reject(error) : resolve());
      try {
        if (to === undefined || this.connected) this.socket.send(bytes, done);
        else this.socket.send(bytes, to.port, to.address, done);
      } catch (error) {
        reject(error as Error);
      }
    });
  }

  onMessage(listener: (data: Uint8Array, from: Peer) => void): Dispose {
    const fn = (msg: Buffer, rinfo: { address: string; port: number }): void =>
      listener(msg, { address: rinfo.address, port: rinfo.port });
    this.socket.on('message', fn);
    return () => this.socket.off('message', fn);
  }

  onRefused(listener: (errno: string) => void): Dispose {
    const fn = (error: NodeJS.ErrnoException): void => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET') listener(error.code);
    };
    this.socket.on('error', fn);
    return () => this.socket.off('error', fn);
  }

  onError(listener: (error: Error) => void): Dispose {
    const fn = (error: NodeJS.ErrnoException): void => {
      if (this.connected && (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET')) return;
      listener(error);
    };
    this.socket.on('error', fn);
    return () => this.socket.off('error', fn);
  }

  close(): void {
    this.socket.removeAllListeners('message');
    // A late ICMP report must not become an unhandled 'error'.
    this.socket.on('error', () => {});
    closeQuietly(this.socket);
  }
}

/** A node:net socket behind Stream. */
class NodeStream implements Stream {
  readonly remote: Peer;
  private readonly socket: NodeTcpSocket;

  constructor(socket: NodeTcpSocket) {
    this.socket = socket;
    this.remote = { address: normaliseAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  write(bytes: Uint8Array): boolean {
    return this.socket.write(bytes);
  }

  on<K extends keyof StreamEvents>(event: K, listener: StreamEvents[K]): void {
    this.socket.on(event, listener as unknown as (...args: unknown[]) => void);
  }

  off<K extends keyof StreamEvents>(event: K, listener: StreamEvents[K]): void {
    this.socket.off(event, listener as unknown as (...args: unknown[]) => void);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A node:net socket as a Stream (a test's or a caller's own connection). */
export function nodeStream(socket: NodeTcpSocket): Stream {
  return new NodeStream(socket);
}

async function openDatagram(o: DatagramOptions): Promise<DatagramSocket> {
  const s = createSocket(o.family === 6 ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind({ address: o.address, port: o.port ?? 0 }, () => {
        const peer = o.connect;
        if (peer === undefined) {
          s.off('error', reject);
          resolve();
          return;
        }
        s.connect(peer.port, peer.address, () => {
          s.off('error', reject);
          resolve();
        });
      });
    });
  } catch (error) {
    closeQuietly(s);
    throw error;
  }
  return new NodeDatagram(s, o.connect !== undefined);
}

async function listen(o: ListenOptions): Promise<StreamListener> {
  const server = createServer({ noDelay: o.noDelay === true });
  const accepted = new Set<NodeTcpSocket>();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: o.address, port: o.port, backlog: o.backlog ?? 4 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as { address: string; port: number };
  return {
    local: { address: a.address, port: a.port },
    onConnection(listener) {
      const fn = (s: NodeTcpSocket): void => {
        accepted.add(s);
        s.on('error', () => {});
        s.on('close', () => accepted.delete(s));
        listener(new NodeStream(s));
      };
      server.on('connection', fn);
      return () => server.off('connection', fn);
    },
    onError(listener) {
      server.on('error', listener);
      return () => server.off('error', listener);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function connect(to: Peer, options: ConnectOptions = {}): Promise<Stream> {
  const { signal } = options;
  throwIfAborted(signal);
  return new Promise<Stream>((resolve, reject) => {
    const s = netConnect({ host: to.address, port: to.port, noDelay: options.noDelay === true });
    const onAbort = (): void => {
      s.destroy();
      reject(abortError(signal as AbortSignal));
    };
    const onError = (error: Error): void => {
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    };
    s.once('error', onError);
    s.once('connect', () => {
      s.off('error', onError);
      s.on('error', () => {});
      signal?.removeEventListener('abort', onAbort);
      resolve(new NodeStream(s));
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The Transport over node:dgram, node:net and the system resolver. */
export const nodeTransport: Transport = {
  now: () => performance.now(),
  openDatagram,
  listen,
  connect,
  resolve: async (host) => (await lookup(host, { all: true })).map((a) => a.address),
  localAddressFor,
};
