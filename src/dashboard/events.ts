/**
 * Server-sent events: one stream per open page, every change pushed as `event: TYPE`.
 *
 * Bounded: at most `maxStreams` streams in all (503) and `maxStreamsPerClient` from one address
 * (429), both `TOO_MANY_CONNECTIONS`; a client that does not read is dropped once more than
 * `maxBufferedBytes` wait for it, or when its buffer stayed full for `stallMs` (checked with each
 * heartbeat), so a stalled page cannot make the server's memory grow.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AirflashError } from '../core/errors.ts';
import { HttpError } from './http.ts';

export interface EventHubOptions {
  /** Comment line sent to every stream this often (default 15 s); also when stalls are checked. */
  heartbeatMs?: number;
  /** Streams open at once, in all (default 64). */
  maxStreams?: number;
  /** Streams open at once from one client address (default 8). */
  maxStreamsPerClient?: number;
  /** Bytes that may wait for one client before it is dropped (default 1 MiB). */
  maxBufferedBytes?: number;
  /** How long a client's buffer may stay full before it is dropped (default 30 s). */
  stallMs?: number;
}

interface Client {
  res: ServerResponse;
  address: string;
  /** When a write last found the buffer full (null: it drained since). */
  blockedSince: number | null;
}

export class EventHub {
  #clients = new Set<Client>();
  #seq = 0;
  #heartbeat: NodeJS.Timeout;
  #dropped = 0;
  readonly maxStreams: number;
  readonly maxStreamsPerClient: number;
  readonly maxBufferedBytes: number;
  readonly stallMs: number;

  constructor(options: EventHubOptions = {}) {
    this.maxStreams = options.maxStreams ?? 64;
    this.maxStreamsPerClient = options.maxStreamsPerClient ?? 8;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    this.stallMs = options.stallMs ?? 30_000;
    this.#heartbeat = setInterval(() => {
      const now = Date.now();
      for (const client of this.#clients) {
        if (client.blockedSince !== null && now - client.blockedSince >= this.stallMs) this.#drop(client);
        else this.#write(client, ': keep-alive\n\n');
      }
    }, options.heartbeatMs ?? 15_000);
    this.#heartbeat.unref();
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Streams dropped because their client did not read. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Take over a response as an event stream; refuses (TOO_MANY_CONNECTIONS) beyond the limits. */
  attach(req: IncomingMessage, res: ServerResponse): void {
    const address = req.socket.remoteAddress ?? '?';
    if (this.#clients.size >= this.maxStreams) {
      throw new AirflashError(
        'TOO_MANY_CONNECTIONS',
        `The dashboard already serves ${this.maxStreams} live event streams.`,
        { hint: 'Close other dashboard pages, or try again later.' },
      );
    }
    let fromHere = 0;
    for (const c of this.#clients) if (c.address === address) fromHere += 1;
    if (fromHere >= this.maxStreamsPerClient) {
      throw new HttpError(
        429,
        'TOO_MANY_CONNECTIONS',
        `This client already has ${this.maxStreamsPerClient} live event streams open.`,
        { hint: 'Close some dashboard tabs.' },
      );
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    const client: Client = { res, address, blockedSince: null };
    this.#clients.add(client);
    const drop = (): void => {
      this.#clients.delete(client);
    };
    res.on('close', drop);
    res.on('error', drop);
    res.on('drain', () => {
      client.blockedSince = null;
    });
    this.#write(client, 'retry: 1000\n\n');
  }

  publish(type: string, data: unknown): void {
    if (this.#clients.size === 0) return;
    this.#seq += 1;
    const frame = `id: ${this.#seq}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of this.#clients) this.#write(client, frame);
  }

  #write(client: Client, text: string): void {
    if (client.res.writableLength + text.length > this.maxBufferedBytes) {
      this.#drop(client);
      return;
    }
    if (!client.res.write(text) && client.blockedSince === null) client.blockedSince = Date.now();
  }

  #drop(client: Client): void {
    this.#clients.delete(client);
    this.#dropped += 1;
    client.res.destroy();
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const client of this.#clients) client.res.end();
    this.#clients.clear();
  }
}
