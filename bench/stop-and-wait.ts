/**
 * The stop-and-wait reference client: espota's method (protocol.md §4.2) written in the project, so
 * the benchmark can calibrate the limit model without Python. One invitation socket, optional
 * auth (MD5 or PBKDF2 by nonce length), then: send one chunk (1024 bytes like the ESP32 espota,
 * 1460 like the ESP8266 one), wait for the device's reply, repeat; success only on `OK`.
 *
 * Library: `stopAndWaitUpload(options)`. CLI (one JSON line on stdout):
 *   node --import tsx bench/stop-and-wait.ts --ip 127.0.0.2 --port 3232 --file fw.bin [--chunk 1024]
 *        [--auth PW] [--timeout-ms 10000]
 */
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { AirflashError, isAirflashError } from '../src/core/errors.ts';
import {
  authResponse,
  COMMAND,
  formatAuthLine,
  formatInvitation,
  parseInvitationReply,
  passwordSecret,
  ReplyTokenizer,
  randomCnonce,
} from '../src/protocols/arduino-ota/wire/index.ts';

export interface StopAndWaitOptions {
  host: string;
  port: number;
  data: Uint8Array;
  /** Bytes per chunk; default 1024 (ESP32 espota). */
  chunkSize?: number;
  password?: string;
  filesystem?: boolean;
  /** Wait per invitation attempt, per chunk reply, and for the connect-back, ms. Default 10 000. */
  timeoutMs?: number;
  /** Invitation attempts. Default 10. */
  attempts?: number;
  signal?: AbortSignal;
}

export interface StopAndWaitResult {
  ok: true;
  bytes: number;
  chunks: number;
  /** From the first invitation to `OK`, ms. */
  durationMs: number;
  /** From the accepted connection to `OK`, ms. */
  transferMs: number;
  invitations: number;
}

interface Datagram {
  text: string;
  from: string;
}

/** A queue of datagrams with a timed wait. */
class DatagramQueue {
  private items: Datagram[] = [];
  private waiter: (() => void) | undefined;
  push(d: Datagram): void {
    this.items.push(d);
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
  async next(ms: number, signal?: AbortSignal): Promise<Datagram | undefined> {
    if (this.items.length > 0) return this.items.shift();
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiter = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiter = done;
      signal?.addEventListener('abort', done, { once: true });
    });
    return this.items.shift();
  }
}

function interrupted(): AirflashError {
  return new AirflashError('INTERRUPTED', 'The stop-and-wait upload was interrupted.');
}

/** Upload `data` the way espota does. Resolves on `OK`; rejects with an AirflashError otherwise. */
export async function stopAndWaitUpload(options: StopAndWaitOptions): Promise<StopAndWaitResult> {
  const chunkSize = options.chunkSize ?? 1024;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const attempts = options.attempts ?? 10;
  const { signal, data } = options;
  const v6 = options.host.includes(':');
  const local = v6 ? '::1' : '127.0.0.1';
  const md5 = createHash('md5').update(data).digest('hex');
  const udp = createSocket(v6 ? 'udp6' : 'udp4');
  const server = createServer({ noDelay: true });
  const queue = new DatagramQueue();
  const sockets = new Set<Socket>();
  let accepted: ((s: Socket) => void) | undefined;
  let pendingConn: Socket | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: local, port: 0 }, () => resolve());
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('error', () => {});
      if (pendingConn || s.remoteAddress?.replace(/^::ffff:/, '') !== options.host) {
        s.destroy();
        return;
      }
      pendingConn = s;
      accepted?.(s);
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: local, port: 0 }, () => resolve());
    });
    udp.on('message', (msg, rinfo) => queue.push({ text: msg.toString('latin1'), from: rinfo.address }));
    const tcpPort = (server.address() as { port: number }).port;
    const invitation = formatInvitation({
      command: options.filesystem ? COMMAND.filesystem : COMMAND.flash,
      port: tcpPort,
      size: data.length,
      md5,
    });
    const connected = new Promise<Socket>((resolve) => {
      if (pendingConn) resolve(pendingConn);
      accepted = resolve;
    });
    const started = performance.now();
    let invitations = 0;
    let answer: Datagram | undefined;
    const send = (bytes: Uint8Array): void => udp.send(bytes, options.port, options.host);
    for (let i = 0; i < attempts && !answer; i++) {
      send(invitation);
      invitations++;
      const deadline = performance.now() + timeoutMs;
      while (!answer) {
        const d = await queue.next(deadline - performance.now(), signal);
        if (signal?.aborted) throw interrupted();
        if (!d) break;
        if (d.from === options.host) answer = d;
      }
    }
    if (!answer)
      throw new AirflashError('NO_INVITATION_REPLY', `No answer from ${options.host}:${options.port}.`);
    let reply = parseInvitationReply(answer.text);
    if (reply.kind === 'auth') {
      if (!options.password)
        throw new AirflashError('AUTH_REQUIRED', 'The device asks for a password; none was given.');
      const cnonce = randomCnonce(reply.scheme);
      const secret = passwordSecret(options.password, reply.scheme === 'sha256' ? 'sha256' : 'md5');
      send(formatAuthLine(cnonce, authResponse(reply.scheme, secret, reply.nonce, cnonce)));
      const d = await queue.next(timeoutMs, signal);
      if (signal?.aborted) throw interrupted();
      if (!d) throw new AirflashError('AUTH_FAILED', 'No answer to the authentication.');
      if (d.text.startsWith('Authentication Failed'))
        throw new AirflashError('AUTH_FAILED', 'The device rejected the password.');
      reply = parseInvitationReply(d.text);
    }
    if (reply.kind === 'refused') throw new AirflashError('DEVICE_REFUSED', reply.text);
    if (reply.kind !== 'ok') throw new AirflashError('BAD_REPLY', `Unexpected answer "${answer.text}".`);

    let connectTimer: NodeJS.Timeout | undefined;
    const socket = await Promise.race([
      connected,
      new Promise<undefined>((r) => {
        connectTimer = setTimeout(() => r(undefined), timeoutMs);
      }),
    ]);
    clearTimeout(connectTimer);
    if (!socket) throw new AirflashError('NO_CONNECT_BACK', 'The device did not connect back.');
    const transferStart = performance.now();
    await sendChunks(socket, data, chunkSize, timeoutMs, signal);
    const end = performance.now();
    return {
      ok: true,
      bytes: data.length,
      chunks: Math.ceil(data.length / chunkSize),
      durationMs: end - started,
      transferMs: end - transferStart,
      invitations,
    };
  } finally {
    for (const s of sockets) s.destroy();
    try {
      udp.close();
    } catch {
      // not bound
    }
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** The data phase: chunk, wait for any reply, repeat; then wait for `OK`. */
function sendChunks(
  socket: Socket,
  data: Uint8Array,
  chunkSize: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const tokenizer = new ReplyTokenizer();
  return new Promise<void>((resolve, reject) => {
    let offset = 0;
    let sawOk = false;
    let waiting = false;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (error?: AirflashError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(
        () => finish(new AirflashError('TRANSFER_STALLED', `No reply after ${offset} bytes.`)),
        timeoutMs,
      );
    };
    const next = (): void => {
      if (offset >= data.length) {
        if (sawOk) finish();
        else arm();
        return;
      }
      const piece = data.subarray(offset, Math.min(data.length, offset + chunkSize));
      offset += piece.length;
      waiting = true;
      socket.write(piece);
      arm();
    };
    const onData = (chunk: Buffer): void => {
      for (const tok of tokenizer.push(chunk)) {
        if (tok.type === 'ok') sawOk = true;
        else if (tok.type === 'error') {
          finish(new AirflashError('DEVICE_ERROR', tok.text, { deviceText: tok.text }));
          return;
        }
      }
      if (sawOk && offset >= data.length) {
        finish();
        return;
      }
      if (waiting) {
        waiting = false;
        next();
      }
    };
    const onClose = (): void => {
      for (const tok of tokenizer.end()) {
        if (tok.type === 'error') {
          finish(new AirflashError('DEVICE_ERROR', tok.text, { deviceText: tok.text }));
          return;
        }
        if (tok.type === 'end' && tok.sawOk && offset >= data.length) {
          finish();
          return;
        }
      }
      finish(new AirflashError('INCOMPLETE', `The device closed the connection after ${offset} bytes.`));
    };
    const onAbort = (): void => finish(interrupted());
    socket.setNoDelay(true);
    socket.on('data', onData);
    socket.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    next();
  });
}

function argValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function cli(argv: string[]): Promise<number> {
  const host = argValue(argv, '--ip');
  const port = Number(argValue(argv, '--port') ?? 3232);
  const file = argValue(argv, '--file');
  if (!host || !file) {
    console.error('usage: stop-and-wait.ts --ip ADDR --port N --file FILE [--chunk 1024] [--auth PW]');
    return 2;
  }
  const started = performance.now();
  try {
    const data = new Uint8Array(await readFile(file));
    const password = argValue(argv, '--auth');
    const r = await stopAndWaitUpload({
      host,
      port,
      data,
      chunkSize: Number(argValue(argv, '--chunk') ?? 1024),
      timeoutMs: Number(argValue(argv, '--timeout-ms') ?? 10_000),
      ...(password === undefined ? {} : { password }),
      filesystem: argv.includes('-s'),
    });
    console.log(JSON.stringify({ type: 'result', ...r, seconds: r.durationMs / 1000 }));
    return 0;
  } catch (error) {
    const code = isAirflashError(error) ? error.code : 'INTERNAL';
    console.log(
      JSON.stringify({
        type: 'result',
        ok: false,
        code,
        message: (error as Error).message,
        seconds: (performance.now() - started) / 1000,
      }),
    );
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await cli(process.argv.slice(2));
}
