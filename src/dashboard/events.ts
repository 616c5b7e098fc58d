/** Server-sent events: one stream per open page, every change pushed as `event: TYPE`. */
import type { ServerResponse } from 'node:http';

export class EventHub {
  #clients = new Set<ServerResponse>();
  #seq = 0;
  #heartbeat: NodeJS.Timeout;

  constructor(heartbeatMs = 15_000) {
    this.#heartbeat = setInterval(() => {
      for (const res of this.#clients) res.write(': keep-alive\n\n');
    }, heartbeatMs);
    this.#heartbeat.unref();
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Take over a response as an event stream. */
  attach(res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    this.#clients.add(res);
    const drop = (): void => {
      this.#clients.delete(res);
    };
    res.on('close', drop);
    res.on('error', drop);
  }

  publish(type: string, data: unknown): void {
    if (this.#clients.size === 0) return;
    this.#seq += 1;
    const frame = `id: ${this.#seq}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.#clients) res.write(frame);
  }

  close(): void {
    clearInterval(this.#heartbeat);
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }
}
