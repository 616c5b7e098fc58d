/**
 * The practical limit of the link: a minimal streaming ArduinoOTA client for the benchmark. No
 * auth, no checks, no adaptive waits, no pre-flight: send the invitation (again every
 * `--retry-ms` until the device answers), accept the connection, write the whole image as fast as
 * TCP takes it, and wait for `OK` in the reply stream. It does not come from the emulator's timing
 * model, so its time on a link is what any client could reach there.
 *
 * CLI (one JSON line on stdout, exit 0 on OK):
 *   node bench/stream-client.js --ip 127.0.0.2 --port 3232 --file fw.bin [--retry-ms 250]
 */
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';

export interface StreamResult {
  ok: boolean;
  /** From the first invitation to `OK` (or the failure), ms: this client's own clock. */
  durationMs: number;
  invitations: number;
  message?: string;
}

function argValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Stream `data` to the device at host:port; resolves on `OK`, rejects on anything else. */
export async function streamUpload(
  host: string,
  port: number,
  data: Uint8Array,
  retryMs = 250,
  timeoutMs = 60_000,
): Promise<StreamResult> {
  const md5 = createHash('md5').update(data).digest('hex');
  const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const server = createServer();
  let invitations = 0;
  let retry: ReturnType<typeof setInterval> | undefined;
  let deadline: ReturnType<typeof setTimeout> | undefined;
  let socket: Socket | undefined;
  const started = performance.now();
  try {
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    const tcpPort = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => udp.bind(0, host, resolve));
    const invitation = Buffer.from(`0 ${tcpPort} ${data.length} ${md5}\n`);
    const invite = (): void => {
      invitations++;
      udp.send(invitation, port, host);
    };
    const answered = new Promise<void>((resolve, reject) => {
      udp.on('message', (msg) => {
        if (msg.toString().startsWith('OK')) resolve();
        else reject(new Error(`the device answered ${JSON.stringify(msg.toString().slice(0, 80))}`));
      });
    });
    answered.catch(() => {}); // raced below; a later stray answer must not crash the process
    const connected = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const expired = new Promise<never>((_, reject) => {
      deadline = setTimeout(() => reject(new Error(`no OK within ${timeoutMs} ms`)), timeoutMs);
    });
    invite();
    retry = setInterval(invite, retryMs);
    await Promise.race([answered, expired]);
    clearInterval(retry);
    socket = await Promise.race([connected, expired]);
    const s = socket;
    const ok = new Promise<void>((resolve, reject) => {
      let text = '';
      s.on('data', (d: Buffer) => {
        text = (text + d.toString('latin1').replace(/[0-9]/g, '')).slice(-64);
        if (text.includes('OK')) resolve();
      });
      s.on('error', reject);
      s.on('close', () => reject(new Error(`the connection closed before OK (${JSON.stringify(text)})`)));
    });
    s.write(data);
    await Promise.race([ok, expired]);
    return { ok: true, durationMs: performance.now() - started, invitations };
  } finally {
    clearInterval(retry);
    clearTimeout(deadline);
    socket?.destroy();
    udp.close();
    server.close();
  }
}

async function cli(argv: string[]): Promise<number> {
  const host = argValue(argv, '--ip');
  const file = argValue(argv, '--file');
  if (!host || !file) {
    console.error('usage: stream-client --ip ADDR --port N --file FILE [--retry-ms 250]');
    return 2;
  }
  const started = performance.now();
  try {
    const data = new Uint8Array(await readFile(file));
    const r = await streamUpload(
      host,
      Number(argValue(argv, '--port') ?? 3232),
      data,
      Number(argValue(argv, '--retry-ms') ?? 250),
    );
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
