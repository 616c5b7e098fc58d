/**
 * The probe's sockets: one connected UDP socket per device port (so an ICMP "port unreachable"
 * is reported), a TCP listener that closes anything that connects, and the ask-every-port-at-once
 * step that probe(), followUp() and probeDevice() share.
 *
 * The invitation announces size 0, which no device can begin: ESP32 answers `OK` and its
 * `Update.begin(0)` fails silently at the next handle(); ESP8266 answers `ERR: ERROR[n]: …`; a
 * device with a password answers `AUTH <nonce>` and waits for an auth line, which `0\n` ends
 * silently (protocol.md §2.4, §3.4).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { sleep } from '../../../core/abort.ts';
import { AirflashError } from '../../../core/errors.ts';
import { Inbox } from '../../../transport/inbox.ts';
import { localAddressFor, normaliseAddress, resolveTarget } from '../../../transport/node.ts';
import { asciiText, classifyReply, formatInvitation, replyAnswer } from '../wire/index.ts';
import { RESET_DATAGRAM } from './handshake.ts';
import type { LoopEvent } from './probe-loop.ts';
import type { HostResolver, PortCheck, ReplyKind } from './probe-types.ts';

/** MD5 of zero bytes: the MD5 field of a size-0 invitation. */
const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

type PortEvent = LoopEvent;

/** A UDP socket connected to one device port (so ICMP "port unreachable" is reported). */
export class PortSession {
  readonly port: number;
  readonly inbox = new Inbox<PortEvent>();
  private readonly socket: UdpSocket;
  private readonly t0: number;
  closed = false;

  private constructor(socket: UdpSocket, port: number, t0: number) {
    this.socket = socket;
    this.port = port;
    this.t0 = t0;
    socket.on('message', (msg) =>
      this.inbox.push({ kind: 'msg', text: asciiText(msg.subarray(0, 512)), at: this.now() }),
    );
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') this.inbox.push({ kind: 'refused', at: this.now() });
    });
  }

  now(): number {
    return performance.now() - this.t0;
  }

  static async open(
    local: string,
    address: string,
    family: 4 | 6,
    port: number,
    t0: number,
  ): Promise<PortSession> {
    const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: local, port: 0 }, () => {
          socket.connect(port, address, () => {
            socket.off('error', reject);
            resolve();
          });
        });
      });
    } catch (error) {
      socket.close();
      throw new AirflashError(
        'NETWORK_ERROR',
        `Cannot open a UDP socket to ${address}:${port}: ${(error as Error).message}`,
        {
          cause: error,
          hint: 'Check that this computer is on the device network (and -I, if given).',
        },
      );
    }
    return new PortSession(socket, port, t0);
  }

  send(data: Uint8Array): number {
    const at = this.now();
    void this.sent(data);
    return at;
  }

  /** Send and resolve once the datagram has left this socket (its send callback ran). */
  sent(data: Uint8Array): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.socket.send(data, (error) => {
        if (error && (error as NodeJS.ErrnoException).code === 'ECONNREFUSED')
          this.inbox.push({ kind: 'refused', at: this.now() });
        resolve();
      });
    });
  }

  /** The next answer (refusals are returned too), or undefined after `ms`. */
  next(ms: number, signal: AbortSignal | undefined): Promise<PortEvent | undefined> {
    return this.inbox.next(ms, signal);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

export function classify(text: string): { reply: ReplyKind; nonceLength?: number } {
  const p = classifyReply(text);
  const reply = replyAnswer(p);
  return p.kind === 'auth' || p.kind === 'bad-nonce' ? { reply, nonceLength: p.nonce.length } : { reply };
}

/** Shared resources of one probe / follow-up: the closing TCP listener and the sessions. */
export class ProbeContext {
  readonly t0 = performance.now();
  readonly sessions: PortSession[] = [];
  server: Server | undefined;
  tcpPort = 0;
  invitation: Uint8Array = new Uint8Array(0);
  private readonly sockets = new Set<Socket>();
  readonly address: string;
  readonly family: 4 | 6;
  readonly local: string;

  constructor(address: string, family: 4 | 6, local: string) {
    this.address = address;
    this.family = family;
    this.local = local;
  }

  async start(): Promise<void> {
    const srv = createServer();
    this.server = srv;
    srv.on('connection', (s) => {
      // A device that did begin (it should not: size 0) is closed at once and returns to idle.
      this.sockets.add(s);
      s.on('error', () => {});
      s.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ host: this.local, port: 0 }, () => {
        srv.off('error', reject);
        resolve();
      });
    }).catch((error: Error) => {
      throw new AirflashError('NETWORK_ERROR', `Cannot listen on ${this.local}: ${error.message}`, {
        cause: error,
        hint: 'Check -I/--host_ip: it must be an address of this computer.',
      });
    });
    srv.on('error', () => {});
    this.tcpPort = (srv.address() as { port: number }).port;
    this.invitation = formatInvitation({ command: 0, port: this.tcpPort, size: 0, md5: EMPTY_MD5 });
  }

  async session(port: number): Promise<PortSession> {
    const s = await PortSession.open(this.local, this.address, this.family, port, this.t0);
    this.sessions.push(s);
    return s;
  }

  now(): number {
    return performance.now() - this.t0;
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.close();
    for (const s of this.sockets) s.destroy();
    const srv = this.server;
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
  }
}

/**
 * Resolve the device and open the probe's listener. With `noRoute: 'none'` it resolves undefined when
 * no local address routes to the device (the fleet's "offline"); otherwise that is NETWORK_ERROR.
 */
export async function openContext(
  host: string,
  options: { resolve?: HostResolver; hostIp?: string; signal?: AbortSignal },
): Promise<ProbeContext>;
export async function openContext(
  host: string,
  options: { resolve?: HostResolver; hostIp?: string; signal?: AbortSignal; noRoute: 'none' },
): Promise<ProbeContext | undefined>;
export async function openContext(
  host: string,
  options: { resolve?: HostResolver; hostIp?: string; signal?: AbortSignal; noRoute?: 'none' },
): Promise<ProbeContext | undefined> {
  const target = await resolveTarget(host, options.resolve, options.signal);
  const address = normaliseAddress(target.address);
  const local = options.hostIp ?? (await localAddressFor(target.address, target.family));
  if (local === undefined) {
    if (options.noRoute === 'none') return undefined;
    throw new AirflashError('NETWORK_ERROR', `No route from this computer to ${target.address}.`, {
      hint: 'Check that this computer is on the device network (Wi-Fi / VPN), or pass -I LOCAL_IP.',
    });
  }
  const ctx = new ProbeContext(address, target.family, local);
  await ctx.start();
  return ctx;
}

export interface AskState {
  check: PortCheck;
  session: PortSession;
  firstSentAt: number;
  answerAt?: number;
}

/**
 * Send one probe invitation to each port at once and wait for each port's first answer or
 * refusal (re-sent up to `repeat.sends` times in all while it has not answered). Once one port
 * answered, the others get `graceMs` more. Ports that end silent keep their
 * session open (the caller sends the idle datagram at the end).
 */
export async function askPorts(
  ctx: ProbeContext,
  ports: ReadonlyArray<{ port: number; source: PortCheck['source'] }>,
  waitMs: number,
  graceMs: number,
  signal: AbortSignal | undefined,
  repeat: {
    /** Invitations per port in all, evenly within `waitMs`, while it has not answered. Default 1. */
    sends?: number;
    /** Keep asking a port that refused (a device still booting refuses until ArduinoOTA.begin()). */
    retryRefused?: boolean;
  } = {},
): Promise<AskState[]> {
  const sends = repeat.sends ?? 1;
  const states: AskState[] = [];
  for (const p of ports) {
    const session = await ctx.session(p.port);
    const firstSentAt = session.send(ctx.invitation);
    states.push({
      check: { port: p.port, source: p.source, outcome: 'silent', sent: 1, waitedMs: 0 },
      session,
      firstSentAt,
    });
  }
  const start = ctx.now();
  let deadline = start + waitMs;
  const resendGap = Math.max(1, Math.floor(waitMs / Math.max(1, sends)));
  await Promise.all(
    states.map(async (st) => {
      for (;;) {
        const left = deadline - ctx.now();
        if (left <= 0) break;
        // A port that has not answered gets the invitation again (at most `sends` in all): a datagram
        // may be lost.
        if (st.check.sent < sends && ctx.now() - st.firstSentAt >= resendGap * st.check.sent) {
          st.session.send(ctx.invitation);
          st.check.sent++;
        }
        const ev = await st.session.next(Math.min(left, 50), signal);
        if (ev === undefined) continue;
        if (ev.kind === 'refused') {
          if (st.check.outcome !== 'refused') st.check.latencyMs = Math.round(ev.at - st.firstSentAt);
          st.check.outcome = 'refused';
          if (repeat.retryRefused === true) continue;
          break;
        }
        st.check.outcome = 'answered';
        st.answerAt = ev.at;
        st.check.latencyMs = Math.round(ev.at - st.firstSentAt);
        st.check.text = ev.text.slice(0, 120);
        const c = classify(ev.text);
        st.check.reply = c.reply;
        if (c.nonceLength !== undefined) st.check.nonceLength = c.nonceLength;
        deadline = Math.min(deadline, ctx.now() + graceMs);
        break;
      }
      st.check.waitedMs = Math.round(Math.min(ctx.now(), deadline) - start);
    }),
  );
  return states;
}

/** Leave every device we talked to idle: a device waiting for auth takes `0\n` as a failed auth. */
export async function sendIdle(states: AskState[], skip?: PortSession): Promise<void> {
  const sends: Promise<void>[] = [];
  for (const st of states) {
    if (st.session === skip) continue;
    if (st.check.outcome === 'refused') continue;
    if (st.check.outcome === 'answered' && st.check.reply !== 'auth') continue;
    sends.push(st.session.sent(RESET_DATAGRAM));
  }
  await Promise.all(sends);
}

/**
 * After an ESP8266 `ERR:` it ignores datagrams for 100 ms: wait that out (with a margin) so the
 * next upload's invitation is read. The idle datagrams (`0\n`) need no wait: sendIdle() resolves
 * once each has left its socket, and nothing comes back to observe.
 */
export async function settleAfter(
  states: AskState[],
  scale: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (states.some((s) => s.check.reply === 'error'))
    await sleep(Math.max(5, Math.round(250 * scale)), signal);
}
