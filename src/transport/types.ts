/**
 * What the ArduinoOTA host needs from the network, as a small interface (docs/architecture.md
 * "I/O behind interfaces"): a datagram socket, a TCP listener that accepts the device's stream, a
 * TCP connector, a resolver and a clock. `nodeTransport` (node.ts) implements it over node:dgram
 * and node:net; `MemoryTransport` (memory.ts) lets a test play the device with `mock.timers`.
 */

/** An address and port. */
export interface Peer {
  address: string;
  port: number;
}

/** Removes the listener it was returned for. */
export type Dispose = () => void;

export interface DatagramOptions {
  family: 4 | 6;
  /** Local address to bind. */
  address: string;
  /** Local port; 0 or absent picks one. */
  port?: number;
  /**
   * Connect the socket to this peer: it then takes datagrams from that peer only and hears the
   * OS report the peer's port closed (ICMP port unreachable: `onRefused`).
   */
  connect?: Peer;
}

export interface DatagramSocket {
  /** The bound local address and port. */
  readonly local: Peer;
  /** Send one datagram; `to` may be left out on a connected socket. Rejects on a send error. */
  send(bytes: Uint8Array, to?: Peer): Promise<void>;
  onMessage(listener: (data: Uint8Array, from: Peer) => void): Dispose;
  /** A connected socket's peer port is closed: ECONNREFUSED (Linux, macOS) or ECONNRESET (Windows). */
  onRefused(listener: (errno: string) => void): Dispose;
  /** Any other socket error. */
  onError(listener: (error: Error) => void): Dispose;
  close(): void;
}

/** Events of a byte stream (a TCP connection). */
export interface StreamEvents {
  data: (chunk: Uint8Array) => void;
  /** The peer ended its side. */
  end: () => void;
  close: () => void;
  error: (error: Error) => void;
  /** The write buffer emptied after `write()` returned false. */
  drain: () => void;
}

export interface Stream {
  readonly remote: Peer;
  /** Bytes written but not yet handed to the network. */
  readonly writableLength: number;
  readonly destroyed: boolean;
  /** Queue bytes; false asks the writer to wait for `drain`. */
  write(bytes: Uint8Array): boolean;
  on<K extends keyof StreamEvents>(event: K, listener: StreamEvents[K]): void;
  off<K extends keyof StreamEvents>(event: K, listener: StreamEvents[K]): void;
  destroy(): void;
}

export interface ListenOptions {
  address: string;
  /** 0 picks a free port. */
  port: number;
  backlog?: number;
  /** TCP_NODELAY on each accepted stream (no Nagle delay of small writes). Default false. */
  noDelay?: boolean;
}

export interface ConnectOptions {
  signal?: AbortSignal;
  /** TCP_NODELAY on the new stream (no Nagle delay of small writes). Default false. */
  noDelay?: boolean;
}

export interface StreamListener {
  readonly local: Peer;
  onConnection(listener: (stream: Stream) => void): Dispose;
  onError(listener: (error: Error) => void): Dispose;
  /** Stop listening; accepted streams are not closed by this. */
  close(): Promise<void>;
}

export interface Transport {
  /** Milliseconds on a monotonic clock (the recorder's time base). */
  now(): number;
  openDatagram(options: DatagramOptions): Promise<DatagramSocket>;
  listen(options: ListenOptions): Promise<StreamListener>;
  connect(to: Peer, options?: ConnectOptions): Promise<Stream>;
  /** Addresses of a host name (no literal handling: see resolveTarget). */
  resolve(host: string, options: { signal?: AbortSignal }): Promise<string[]>;
  /** The local address the OS would use to reach `address`; undefined without a route. */
  localAddressFor(address: string, family: 4 | 6): Promise<string | undefined>;
}
