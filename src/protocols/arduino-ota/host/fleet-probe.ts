/**
 * A short "is it online?" check for fleet uploads, which leaves the device idle.
 *
 * It sends an invitation the device cannot begin: command 0, size 0 (both cores' `Update.begin(0)`
 * fails, protocol.md §2.2, §2.4), MD5 of nothing, and the port of a listener that closes anything
 * that connects. What each device does with it:
 * - ESP32 without password: `OK` at once, then `Update.begin(0)` fails at the next handle() and it
 *   is idle again (nothing is connected, its error callback reports "Begin Failed").
 * - ESP8266 without password: `ERR: ...` (the Updater's text) at the next handle(), idle ~100 ms later.
 * - Any device with a password: `AUTH <nonce>`. We answer with `0\n` (first number ≠ 200), which
 *   the device takes as a bad auth line and silently returns to idle (protocol.md §3.4).
 * The invitation is re-sent at most twice while nothing answered; each extra invitation a device
 * in WAITAUTH receives also returns it to idle, so it ends idle whatever the count (see docs/fleet.md).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { sleep, throwIfAborted } from '../../../core/abort.ts';
import { localAddressFor, normaliseAddress, resolveTarget } from '../../../transport/node.ts';
import { classifyReply, formatInvitation, replyAnswer } from '../wire/index.ts';
import { RESET_DATAGRAM } from './handshake.ts';

/** MD5 of zero bytes. */
const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
/** Sends of the probe invitation within the timeout. */
const PROBE_SENDS = 3;

export interface ProbeDeviceOptions {
  host: string;
  port: number;
  /** How long to wait for any answer. */
  timeoutMs: number;
  /** Multiplies the settle pauses. Default 1. */
  timeScale?: number;
  /** Local address to bind to (default: the one that routes to the device). */
  hostIp?: string;
  resolve?: (host: string, options: { signal?: AbortSignal }) => Promise<string[]>;
  signal?: AbortSignal;
}

export interface ProbeOutcome {
  online: boolean;
  /** What the device answered first. */
  answer?: 'ok' | 'auth' | 'error' | 'other';
  /** The first answer, verbatim (at most 80 characters). */
  text?: string;
  /** ms from the first invitation to the first answer. */
  latencyMs?: number;
  /** Invitations sent. */
  sent: number;
  /** The resolved address. */
  address?: string;
}

function classify(text: string): NonNullable<ProbeOutcome['answer']> {
  return replyAnswer(classifyReply(text));
}

/**
 * Ask whether the device at host:port runs an ArduinoOTA service, leaving it idle. Resolves
 * `{ online: false }` when nothing answered within `timeoutMs`; throws only HOST_NOT_FOUND,
 * NETWORK_ERROR (no route, cannot bind) or INTERRUPTED.
 */
export async function probeDevice(options: ProbeDeviceOptions): Promise<ProbeOutcome> {
  const { signal } = options;
  const scale = options.timeScale ?? 1;
  throwIfAborted(signal);
  const target = await resolveTarget(options.host, options.resolve, signal);
  const device = normaliseAddress(target.address);
  const local = options.hostIp ?? (await localAddressFor(target.address, target.family));
  if (local === undefined) return { online: false, sent: 0, address: target.address };

  let udp: UdpSocket | undefined;
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const outcome: ProbeOutcome = { online: false, sent: 0, address: target.address };
  try {
    const srv = createServer();
    server = srv;
    srv.on('connection', (s) => {
      // A device that did begin (it should not) connects here and is closed: it returns to idle.
      sockets.add(s);
      s.on('error', () => {});
      s.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ host: local, port: 0 }, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    srv.on('error', () => {});
    const tcpPort = (srv.address() as { port: number }).port;
    const u = createSocket(target.family === 6 ? 'udp6' : 'udp4');
    udp = u;
    u.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      u.once('error', reject);
      u.bind({ address: local, port: 0 }, () => {
        u.off('error', reject);
        resolve();
      });
    });
    const invitation = formatInvitation({ command: 0, port: tcpPort, size: 0, md5: EMPTY_MD5 });
    const started = performance.now();
    let answered: (() => void) | undefined;
    const firstAnswer = new Promise<void>((resolve) => {
      answered = resolve;
    });
    u.on('message', (msg, rinfo) => {
      if (normaliseAddress(rinfo.address) !== device || rinfo.port !== options.port) return;
      if (outcome.online) return;
      const text = msg.toString('latin1').trim();
      outcome.online = true;
      outcome.answer = classify(text);
      outcome.text = text.slice(0, 80);
      outcome.latencyMs = Math.round(performance.now() - started);
      answered?.();
    });
    const send = (data: Uint8Array): void => {
      try {
        u.send(data, options.port, target.address);
      } catch {
        // socket closed
      }
    };
    const gap = Math.max(1, Math.floor(options.timeoutMs / PROBE_SENDS));
    for (let i = 0; i < PROBE_SENDS && !outcome.online; i++) {
      send(invitation);
      outcome.sent++;
      const last = i === PROBE_SENDS - 1;
      await Promise.race([firstAnswer, sleep(last ? options.timeoutMs - gap * i : gap, signal)]);
    }
    if (outcome.answer === 'auth') {
      // Leave WAITAUTH: a datagram whose first number is not 200 is a bad auth line → idle.
      send(RESET_DATAGRAM);
      await sleep(Math.max(5, 20 * scale), signal);
    } else if (outcome.answer === 'error') {
      // ESP8266 waits 100 ms after `ERR:` before it reads invitations again.
      await sleep(Math.max(5, 250 * scale), signal);
    }
    return outcome;
  } finally {
    for (const s of sockets) s.destroy();
    if (udp) {
      try {
        udp.close();
      } catch {
        // already closed
      }
    }
    if (server) await new Promise<void>((r) => (server as Server).close(() => r()));
  }
}

/**
 * After an update: wait `graceMs`, then probe until the device answers again (it rebooted into
 * the new firmware and runs ArduinoOTA), for at most `timeoutMs` in total. Returns ms until it
 * answered, or undefined when it did not come back.
 */
export async function waitUntilBack(
  options: Omit<ProbeDeviceOptions, 'timeoutMs'> & {
    graceMs: number;
    timeoutMs: number;
    probeTimeoutMs: number;
  },
): Promise<number | undefined> {
  const started = performance.now();
  await sleep(options.graceMs, options.signal);
  for (;;) {
    const left = options.timeoutMs - (performance.now() - started);
    if (left <= 0) return undefined;
    const r = await probeDevice({
      ...options,
      timeoutMs: Math.max(1, Math.min(options.probeTimeoutMs, left)),
    });
    if (r.online) return Math.round(performance.now() - started);
  }
}
