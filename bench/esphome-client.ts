/**
 * The two reference clients of the ESPHome bench, written from protocols-next.md §1.2 (not from
 * airflash's host): no password, no checks beyond the expected bytes.
 *
 * - `--mode stop-and-wait` is espota2.py's method (EO2-A `perform_ota`): Nagle left on, the image
 *   in 8192-byte blocks, and with OTA version 2 one `47` awaited after each block before the next.
 * - `--mode stream` is the practical limit of the link: TCP_NODELAY, the whole image written as
 *   fast as TCP takes it, the `47`s counted as they come.
 *
 * CLI (one JSON line on stdout, exit 0 when the device answered `45`):
 *   node bench/esphome-client.js --ip 127.0.0.2 --port 3232 --file fw.bin --mode stream
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';

export type EsphomeClientMode = 'stop-and-wait' | 'stream';

export interface EsphomeClientResult {
  ok: boolean;
  /** From the connect to the device's `45` (ms, this client's own clock). */
  durationMs: number;
  acks: number;
}

const MAGIC = [0x6c, 0x26, 0xf7, 0x5c, 0x45];
const BLOCK = 8192;

/** A socket's bytes as a queue of exact reads. */
class Bytes {
  private buf = Buffer.alloc(0);
  private want: (() => void) | undefined;
  private failure: Error | undefined;
  constructor(s: Socket) {
    s.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.want?.();
    });
    const fail = (e?: Error): void => {
      this.failure ??= e ?? new Error('the device closed the connection');
      this.want?.();
    };
    s.on('error', fail);
    s.on('close', () => fail());
  }
  async take(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => {
        this.want = r;
      });
      this.want = undefined;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  async expect(byte: number, what: string): Promise<void> {
    const got = (await this.take(1))[0] as number;
    if (got !== byte) throw new Error(`${what}: 0x${got.toString(16)}, not 0x${byte.toString(16)}`);
  }
}

export async function esphomeUpload(
  host: string,
  port: number,
  data: Uint8Array,
  mode: EsphomeClientMode,
  timeoutMs = 120_000,
): Promise<EsphomeClientResult> {
  const started = performance.now();
  const socket = connect({ host, port, noDelay: mode === 'stream' });
  const timer = setTimeout(() => socket.destroy(new Error(`not done within ${timeoutMs} ms`)), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const rx = new Bytes(socket);
    socket.write(Uint8Array.from(MAGIC));
    await rx.expect(0x00, 'after the magic');
    const version = (await rx.take(1))[0] as number;
    socket.write(Uint8Array.of(0x06)); // SHA-256 auth + extended
    const header = (await rx.take(1))[0] as number;
    if (header === 0x48) await rx.take(1);
    else if (header !== 0x40) throw new Error(`feature answer 0x${header.toString(16)}`);
    await rx.expect(0x41, 'auth (no password)');
    if (header === 0x48) socket.write(Uint8Array.of(0x00)); // OTA type: app
    const size = Buffer.alloc(4);
    size.writeUInt32BE(data.length);
    socket.write(size);
    await rx.expect(0x42, 'prepare');
    socket.write(createHash('md5').update(data).digest('hex'), 'latin1');
    await rx.expect(0x43, 'md5');
    let acks = 0;
    if (mode === 'stream') {
      socket.write(data);
      if (version >= 2)
        for (const end = Math.ceil(data.length / BLOCK); acks < end; acks++) await rx.expect(0x47, 'ack');
    } else {
      for (let at = 0; at < data.length; at += BLOCK) {
        socket.write(data.subarray(at, at + BLOCK));
        if (version >= 2) {
          await rx.expect(0x47, 'ack');
          acks++;
        }
      }
    }
    await rx.expect(0x44, 'receive ok');
    await rx.expect(0x45, 'update end ok');
    socket.write(Uint8Array.of(0x00));
    return { ok: true, durationMs: performance.now() - started, acks };
  } finally {
    clearTimeout(timer);
    socket.end();
    socket.destroySoon();
  }
}

function argValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function cli(argv: string[]): Promise<number> {
  const host = argValue(argv, '--ip');
  const file = argValue(argv, '--file');
  const mode = argValue(argv, '--mode');
  if (!host || !file || (mode !== 'stream' && mode !== 'stop-and-wait')) {
    console.error('usage: esphome-client --ip ADDR --port N --file FILE --mode stream|stop-and-wait');
    return 2;
  }
  const started = performance.now();
  try {
    const data = new Uint8Array(await readFile(file));
    const r = await esphomeUpload(host, Number(argValue(argv, '--port') ?? 3232), data, mode);
    console.log(JSON.stringify({ type: 'result', ...r, seconds: r.durationMs / 1000 }));
    return 0;
  } catch (error) {
    const message = (error as Error).message;
    const seconds = (performance.now() - started) / 1000;
    console.log(JSON.stringify({ type: 'result', ok: false, code: 'FAILED', message, seconds }));
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await cli(process.argv.slice(2));
}
