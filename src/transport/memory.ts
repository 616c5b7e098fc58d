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

/**
 * An in-memory Transport that a test drives as the device: it sees every datagram sent
 * (`sent`, `onSend`), delivers answers (`deliver`), reports a closed port (`refuse`) and connects
 * a stream to a listener (`connectStream`). Delivery is synchronous and stream data is handed over
 * in a microtask, so `mock.timers` alone decides when timeouts fire. The clock is `Date.now()`,
 * which `mock.timers.enable({ apis: ['setTimeout', 'Date'] })` controls.
 */
export interface MemoryDatagram {
  from: Peer;
  to: Peer;
  data: Uint8Array;
  /** Sent on a connected socket. */
  connected: boolean;
  at: number;
}

type Listeners<T> = Set<T>;

function add<T>(set: Listeners<T>, fn: T): Dispose {
  set.add(fn);
  return () => set.delete(fn);
}

class MemorySocket implements DatagramSocket {
  readonly local: Peer;
  readonly peer: Peer | undefined;
  closed = false;
  readonly messages: Listeners<(data: Uint8Array, from: Peer) => void> = new Set();
  readonly refusals: Listeners<(errno: string) => void> = new Set();
  readonly errors: Listeners<(error: Error) => void> = new Set();
  private readonly net: MemoryTransport;

  constructor(net: MemoryTransport, local: Peer, peer: Peer | undefined) {
    this.net = net;
    this.local = local;
    this.peer = peer;
  }

  send(bytes: Uint8Array, to?: Peer): Promise<void> {
    const target = this.peer ?? to;
    if (this.closed) return Promise.reject(new Error('socket closed'));
    if (target === undefined) return Promise.reject(new Error('no destination'));
    this.net.record({
      from: this.local,
      to: target,
      data: Uint8Array.from(bytes),
      connected: this.peer !== undefined,
      at: this.net.now(),
    });
    return Promise.resolve();
  }

  onMessage(listener: (data: Uint8Array, from: Peer) => void): Dispose {
    return add(this.messages, listener);
  }

  onRefused(listener: (errno: string) => void): Dispose {
    return add(this.refusals, listener);
  }

  onError(listener: (error: Error) => void): Dispose {
    return add(this.errors, listener);
  }

  close(): void {
    this.closed = true;
    this.messages.clear();
    this.refusals.clear();
    this.errors.clear();
  }
}

/** One end of an in-memory stream; `peerEnd` is the other. */
export class MemoryStream implements Stream {
  readonly remote: Peer;
  destroyed = false;
  ended = false;
  /** Every chunk written to this end. */
  readonly written: Uint8Array[] = [];
  peerEnd: MemoryStream | undefined;
  private readonly listeners: { [K in keyof StreamEvents]: Set<StreamEvents[K]> } = {
    data: new Set(),
    end: new Set(),
    close: new Set(),
    error: new Set(),
    drain: new Set(),
  };

  constructor(remote: Peer) {
    this.remote = remote;
  }

  get writableLength(): number {
    return 0;
  }

  /** Bytes written to this end so far. */
  get bytesWritten(): number {
    return this.written.reduce((n, c) => n + c.length, 0);
  }

  write(bytes: Uint8Array): boolean {
    if (this.destroyed) return false;
    const copy = Uint8Array.from(bytes);
    this.written.push(copy);
    const peer = this.peerEnd;
    queueMicrotask(() => {
      if (peer && !peer.destroyed) peer.emit('data', copy);
    });
    return true;
  }

  /** End this side: the peer sees `end` then `close`. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const peer = this.peerEnd;
    queueMicrotask(() => {
      if (!peer || peer.destroyed) return;
      peer.emit('end');
      peer.destroy();
    });
  }

  on<K extends keyof StreamEvents>(event: K, listener: StreamEvents[K]): void {
    this.listeners[event].add(listener);
  }

  off<K extends keyof StreamEvents>(event: K, listener: StreamEvents[K]): void {
    this.listeners[event].delete(listener);
  }

  /** Number of listeners still registered (a test checks that everything was removed). */
  listenerCount(): number {
    return Object.values(this.listeners).reduce((n, s) => n + s.size, 0);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('close');
    const peer = this.peerEnd;
    queueMicrotask(() => {
      if (peer && !peer.destroyed) peer.destroy();
    });
  }

  emit<K extends keyof StreamEvents>(event: K, ...args: Parameters<StreamEvents[K]>): void {
    for (const fn of [...this.listeners[event]]) (fn as (...a: Parameters<StreamEvents[K]>) => void)(...args);
  }
}

class MemoryListener implements StreamListener {
  readonly local: Peer;
  readonly connections: Set<(stream: Stream) => void> = new Set();
  readonly errors: Set<(error: Error) => void> = new Set();
  closed = false;

  constructor(local: Peer) {
    this.local = local;
  }

  onConnection(listener: (stream: Stream) => void): Dispose {
    return add(this.connections, listener);
  }

  onError(listener: (error: Error) => void): Dispose {
    return add(this.errors, listener);
  }

  close(): Promise<void> {
    this.closed = true;
    this.connections.clear();
    this.errors.clear();
    return Promise.resolve();
  }
}

export class MemoryTransport implements Transport {
  /** Every datagram sent through this transport, in order. */
  readonly sent: MemoryDatagram[] = [];
  /** Called for each datagram sent (the test's device). */
  onSend: ((datagram: MemoryDatagram) => void) | undefined;
  /** Addresses `resolve()` returns per host name. */
  readonly hosts = new Map<string, string[]>();
  private readonly sockets: MemorySocket[] = [];
  private readonly listeners: MemoryListener[] = [];
  private nextPort = 40000;
  private readonly t0 = Date.now();

  now(): number {
    return Date.now() - this.t0;
  }

  /** @internal used by the sockets */
  record(d: MemoryDatagram): void {
    this.sent.push(d);
    this.onSend?.(d);
  }

  openDatagram(o: DatagramOptions): Promise<DatagramSocket> {
    const s = new MemorySocket(this, { address: o.address, port: o.port || this.nextPort++ }, o.connect);
    this.sockets.push(s);
    return Promise.resolve(s);
  }

  listen(o: ListenOptions): Promise<StreamListener> {
    const l = new MemoryListener({ address: o.address, port: o.port || this.nextPort++ });
    this.listeners.push(l);
    return Promise.resolve(l);
  }

  /** Every `connect()` asked for, in order, with its TCP_NODELAY wish. */
  readonly connects: Array<{ to: Peer; noDelay: boolean }> = [];
  /** The test's answer to `connect()`: the host's end of a stream, or undefined to refuse. */
  onConnect: ((to: Peer) => Stream | undefined) | undefined;

  /** Refused unless `onConnect` hands over a stream (the test plays the device). */
  connect(to: Peer, options: ConnectOptions = {}): Promise<Stream> {
    this.connects.push({ to, noDelay: options.noDelay === true });
    const stream = this.onConnect?.(to);
    if (stream) return Promise.resolve(stream);
    return Promise.reject(
      Object.assign(new Error(`connect ECONNREFUSED ${to.address}:${to.port}`), { code: 'ECONNREFUSED' }),
    );
  }

  resolve(host: string): Promise<string[]> {
    const a = this.hosts.get(host);
    return a ? Promise.resolve(a) : Promise.reject(new Error(`getaddrinfo ENOTFOUND ${host}`));
  }

  localAddressFor(address: string): Promise<string | undefined> {
    return Promise.resolve(address.includes(':') ? '::1' : '127.0.0.1');
  }

  /**
   * Deliver a datagram from `from` to every open socket bound to `to` (any socket when left out)
   * that takes it (a connected socket takes only its peer's). Returns how many took it.
   */
  deliver(from: Peer, data: Uint8Array | string, to?: Peer): number {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    let n = 0;
    for (const s of this.sockets) {
      if (s.closed) continue;
      if (to && (s.local.port !== to.port || s.local.address !== to.address)) continue;
      if (s.peer && (s.peer.address !== from.address || s.peer.port !== from.port)) continue;
      n++;
      for (const fn of [...s.messages]) fn(bytes, from);
    }
    return n;
  }

  /** ICMP port unreachable for `peer`: every open socket connected to it hears `errno`. */
  refuse(peer: Peer, errno = 'ECONNREFUSED'): number {
    let n = 0;
    for (const s of this.sockets) {
      if (s.closed || !s.peer || s.peer.address !== peer.address || s.peer.port !== peer.port) continue;
      n++;
      for (const fn of [...s.refusals]) fn(errno);
    }
    return n;
  }

  /** Connect from `from` to the open listener on `port`; returns the device's end. */
  connectStream(from: Peer, port: number): MemoryStream {
    const l = this.listeners.find((x) => !x.closed && x.local.port === port);
    if (!l) throw new Error(`nothing listens on port ${port}`);
    const device = new MemoryStream(l.local);
    const host = new MemoryStream(from);
    device.peerEnd = host;
    host.peerEnd = device;
    for (const fn of [...l.connections]) fn(host);
    return device;
  }

  /** Sockets and listeners still open (a test checks that an attempt closed everything). */
  openHandles(): number {
    return this.sockets.filter((s) => !s.closed).length + this.listeners.filter((l) => !l.closed).length;
  }
}
