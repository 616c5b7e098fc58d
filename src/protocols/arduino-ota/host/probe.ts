/**
 * `probe()`: ask a device what OTA service it runs — whether ArduinoOTA answers, on which port,
 * whether it wants a password and which auth generation it speaks, how often its loop() calls
 * ArduinoOTA.handle() — without changing its firmware, and leave it idle (docs/diagnosis.md).
 *
 * `followUp()`: the active check after an upload whose invitations got no answer: other ports,
 * ICMP "port unreachable", a TCP reachability test and mDNS; its result feeds `diagnose()`.
 *
 * Safety (protocol.md §2.4, §3.4, §5):
 * - The invitation announces size 0, which no device can begin: ESP32 answers `OK` and its
 *   `Update.begin(0)` fails silently at the next handle() (the sketch's onError runs with
 *   OTA_BEGIN_ERROR); ESP8266 answers `ERR: ERROR[n]: …` from handle() (onError runs too). The TCP
 *   port in the invitation belongs to a listener that closes anything that connects.
 * - A device that answered `AUTH` waits for an auth line; the next datagram of any kind ends that.
 *   We send `0\n` (first number ≠ 200: a failed auth line, silent → IDLE; an idle device ignores
 *   it, the command is neither 0 nor 100).
 * - Ports that stayed silent get `0\n` too, in case a slow device reads our invitation later.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { sleep, throwIfAborted } from '../../../core/abort.ts';
import { AirflashError } from '../../../core/errors.ts';
import { DEFAULT_PORT } from '../../../devices/family.ts';
import { Inbox } from '../../../transport/inbox.ts';
import { localAddressFor, normaliseAddress, resolveTarget } from '../../../transport/node.ts';
import type { UploadObservation } from '../../../upload/index.ts';
import { observationOf } from '../diagnose/facts.ts';
import type { FollowUpResult, MdnsSeen, PortCheck, TcpCheck } from '../diagnose/types.ts';
import { asciiText, formatInvitation, parseInvitationReply } from '../wire/index.ts';
import { RESET_DATAGRAM } from './handshake.ts';
import { type LoopEvent, measureLoop, type ProbeLoop } from './probe-loop.ts';

export type { ProbeLoop } from './probe-loop.ts';

/** MD5 of zero bytes: the MD5 field of a size-0 invitation. */
const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

type ReplyKind = NonNullable<PortCheck['reply']>;

/** mDNS options: false = do not browse (the library default); true or options = browse. */
export type MdnsChoice =
  | boolean
  | {
      /** An mDNS transport (discovery's MdnsTransport), e.g. createMdnsBus().transport(addr). */
      transport?: unknown;
      /** Browse time, ms. Default 2500. */
      timeoutMs?: number;
      /** Interface name or IPv4 address to browse on. */
      interface?: string;
      /** mDNS group port (tests). */
      mdnsPort?: number;
    };

export interface ProbeOptions {
  /** Device address or name (when probe() is called with one options object). */
  host?: string;
  /** UDP OTA port to ask. Default: 3232, 8266 and the port advertised over mDNS. */
  port?: number;
  /** With `port`: also ask 3232 / 8266 / the mDNS port when `port` is silent. Default false. */
  alternatives?: boolean;
  /** How long to wait for a first answer, ms (a device whose loop() blocks answers late). Default 35 000. */
  timeoutMs?: number;
  /** Measure the loop period (a few more invitations). Default true. */
  loop?: boolean;
  /** Loop-period samples (gaps between answers). Default 2 (1 when a gap is ≥ 10 s). */
  samples?: number;
  /** Ask mDNS for the device's advertisement. Default false (the CLI turns it on). */
  mdns?: MdnsChoice;
  /** Local address to send from (espota -I). Default: the one that routes to the device. */
  hostIp?: string;
  /** Multiplies the default waits and pauses (emulated devices). Default 1. */
  timeScale?: number;
  /** Resolve a host name (default: the OS resolver; the CLI adds mDNS for .local names). */
  resolve?: (host: string, options: { signal?: AbortSignal }) => Promise<string[]>;
  /** Progress for people ("port 3232 answered …"); the library never prints. */
  onNote?: (message: string) => void;
  signal?: AbortSignal;
}

export interface ProbeResult {
  host: string;
  address: string;
  /** An ArduinoOTA service answered (on `port`). */
  answered: boolean;
  /** The port that answered, else the port asked first. */
  port: number;
  /** Every port asked, and what it did. */
  ports: PortCheck[];
  /** What the device answered first: OK (no password), AUTH (password), ERR (ESP8266 begin error). */
  reply?: ReplyKind;
  replyText?: string;
  /** ms from the first invitation to the first answer (depends on the phase of its loop). */
  latencyMs?: number;
  /** The device wants a password (undefined when it did not answer). */
  authRequired?: boolean;
  /** md5 (32-hex nonce) or sha256 (64-hex nonce, PBKDF2). */
  authScheme?: 'md5' | 'sha256';
  nonceLength?: number;
  /** The core family and version range the answers point to. */
  core: { family?: 'esp32' | 'esp8266'; range: string; why: string[] };
  loop: ProbeLoop;
  /** `handle()` period in ms when measured (same as loop.periodMs). */
  loopPeriodMs?: number;
  /** ESP8266 `ERR:` text (e.g. "ERROR[11]: Invalid bootstrapping state …"). */
  deviceError?: string;
  /** mDNS advertisements of this device (when asked). */
  mdns?: MdnsSeen[];
  /** Findings worth acting on ("reset the ESP8266 once", "answers on 3232, not 8266"). */
  notes: string[];
  /** What the probe did to the device (for the record). */
  sideEffects: string[];
  summary: string;
  durationMs: number;
}

// ------------------------------------------------------------------ one UDP port

type PortEvent = LoopEvent;

/** A UDP socket connected to one device port (so ICMP "port unreachable" is reported). */
class PortSession {
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

function classify(text: string): { reply: ReplyKind; nonceLength?: number } {
  const p = parseInvitationReply(text);
  if (p.kind === 'ok') return { reply: 'ok' };
  if (p.kind === 'auth') return { reply: 'auth', nonceLength: p.nonce.length };
  if (p.kind === 'bad-nonce') return { reply: 'auth', nonceLength: p.nonce.length };
  if (p.kind === 'refused') return { reply: 'error' };
  return { reply: 'other' };
}

/** Shared resources of one probe / follow-up: the closing TCP listener and the sessions. */
class ProbeContext {
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

async function openContext(
  host: string,
  options: { resolve?: ProbeOptions['resolve']; hostIp?: string; signal?: AbortSignal },
): Promise<ProbeContext> {
  const target = await resolveTarget(host, options.resolve, options.signal);
  const address = normaliseAddress(target.address);
  const local = options.hostIp ?? (await localAddressFor(target.address, target.family));
  if (local === undefined)
    throw new AirflashError('NETWORK_ERROR', `No route from this computer to ${target.address}.`, {
      hint: 'Check that this computer is on the device network (Wi-Fi / VPN), or pass -I LOCAL_IP.',
    });
  const ctx = new ProbeContext(address, target.family, local);
  await ctx.start();
  return ctx;
}

interface AskState {
  check: PortCheck;
  session: PortSession;
  firstSentAt: number;
  answerAt?: number;
}

/**
 * Send one probe invitation to each port at once and wait for each port's first answer or
 * refusal. Once one port answered, the others get `graceMs` more. Ports that end silent keep their
 * session open (the caller sends the idle datagram at the end).
 */
async function askPorts(
  ctx: ProbeContext,
  ports: Array<{ port: number; source: PortCheck['source'] }>,
  waitMs: number,
  graceMs: number,
  signal: AbortSignal | undefined,
): Promise<AskState[]> {
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
  await Promise.all(
    states.map(async (st) => {
      for (;;) {
        const left = deadline - ctx.now();
        if (left <= 0) break;
        const ev = await st.session.next(Math.min(left, 50), signal);
        if (ev === undefined) continue;
        if (ev.kind === 'refused') {
          st.check.outcome = 'refused';
          st.check.latencyMs = Math.round(ev.at - st.firstSentAt);
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
async function sendIdle(states: AskState[], skip?: PortSession): Promise<void> {
  const sends: Promise<void>[] = [];
  for (const st of states) {
    if (st.session === skip) continue;
    if (st.check.outcome === 'refused') continue;
    if (st.check.outcome === 'answered' && st.check.reply !== 'auth') continue;
    sends.push(st.session.sent(RESET_DATAGRAM));
  }
  await Promise.all(sends);
}

// ------------------------------------------------------------------ mDNS

async function lookupMdns(
  choice: MdnsChoice | undefined,
  host: string,
  address: string,
  signal: AbortSignal | undefined,
): Promise<{ seen: MdnsSeen[]; waitedMs: number } | undefined> {
  if (choice === undefined || choice === false) return undefined;
  const o = typeof choice === 'object' ? choice : {};
  const timeoutMs = o.timeoutMs ?? 2500;
  const mod = await import('../../../discovery/index.ts');
  type DiscoverArg = NonNullable<Parameters<typeof mod.discoverAll>[0]>;
  const arg: DiscoverArg = {
    timeoutMs,
    ...(o.transport === undefined ? {} : { transport: o.transport as NonNullable<DiscoverArg['transport']> }),
    ...(o.interface === undefined ? {} : { interface: o.interface }),
    ...(o.mdnsPort === undefined ? {} : { mdnsPort: o.mdnsPort }),
    ...(signal ? { signal } : {}),
  };
  const started = performance.now();
  let devices: Awaited<ReturnType<typeof mod.discoverAll>>;
  try {
    devices = await mod.discoverAll(arg);
  } catch (error) {
    if (signal?.aborted) throw error;
    return { seen: [], waitedMs: Math.round(performance.now() - started) };
  }
  const name = host.toLowerCase().replace(/\.$/, '');
  const short = name.replace(/\.local$/, '');
  const seen = devices
    .filter(
      (d) =>
        d.addresses.map(normaliseAddress).includes(address) ||
        d.host.toLowerCase().replace(/\.$/, '') === name ||
        d.host.toLowerCase().replace(/\.local\.?$/, '') === short ||
        d.name.toLowerCase() === short,
    )
    .map((d) => ({
      name: d.name,
      host: d.host,
      addresses: d.addresses,
      port: d.port,
      ...(d.board === undefined ? {} : { board: d.board }),
      ...(d.authUpload === undefined ? {} : { authUpload: d.authUpload }),
      txt: d.txt,
      ...(d.core === undefined ? {} : { core: d.core }),
    }));
  return { seen, waitedMs: Math.round(performance.now() - started) };
}

// ------------------------------------------------------------------ TCP reachability

async function tcpCheck(
  address: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<TcpCheck> {
  const started = performance.now();
  return new Promise<TcpCheck>((resolve) => {
    const socket = tcpConnect({ host: address, port });
    const done = (outcome: TcpCheck['outcome'], error?: string): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve({
        port,
        outcome,
        latencyMs: Math.round(performance.now() - started),
        ...(error ? { error } : {}),
      });
    };
    const onAbort = (): void => done('error', 'aborted');
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done('open'));
    socket.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') done('refused');
      else if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') done('unreachable', e.code);
      else done('error', e.code ?? e.message);
    });
  });
}

// ------------------------------------------------------------------ followUp

export interface FollowUpOptions {
  /** Wait for answers per port, ms. Default 10 000 × the upload's timeScale. */
  waitMs?: number;
  /** Extra ports to ask (besides the upload's, 3232, 8266 and the mDNS-advertised one). */
  ports?: number[];
  /** Ask mDNS for the device's advertised port. Default false. */
  mdns?: MdnsChoice;
  /** Try a TCP connection to the device (a reset proves a host is there). Default true. */
  tcp?: boolean;
  hostIp?: string;
  signal?: AbortSignal;
}

/**
 * The active check after an unanswered invitation: one probe invitation to the upload's port, to
 * 3232 and 8266 and to the port advertised over mDNS (each from its own connected socket, so an
 * ICMP "port unreachable" is seen), plus a TCP connect to the device. Leaves the device idle.
 * Pass the result to `diagnose(observation, error, { followUp })`.
 */
export async function followUp(
  observationOrError: UploadObservation | unknown,
  options: FollowUpOptions = {},
): Promise<FollowUpResult> {
  const o =
    typeof observationOrError === 'object' &&
    observationOrError !== null &&
    (observationOrError as { version?: unknown }).version === 1
      ? (observationOrError as UploadObservation)
      : observationOf(observationOrError);
  if (!o || o.target.address === undefined)
    throw new AirflashError(
      'BAD_ARGUMENT',
      'followUp() needs the observation of an upload that resolved its target.',
    );
  const { signal } = options;
  throwIfAborted(signal);
  const scale = o.options.timeScale;
  const waitMs = options.waitMs ?? Math.round(10_000 * scale);
  const started = performance.now();
  const address = o.target.address;
  const mdnsPromise = lookupMdns(options.mdns, o.target.host, normaliseAddress(address), signal);
  const ctx = await openContext(address, {
    ...((options.hostIp ?? o.options.hostIpGiven)
      ? { hostIp: (options.hostIp ?? o.options.hostIpGiven) as string }
      : {}),
    ...(signal ? { signal } : {}),
  });
  try {
    const wanted: Array<{ port: number; source: PortCheck['source'] }> = [
      { port: o.target.port, source: 'upload' },
      { port: DEFAULT_PORT.esp32, source: 'esp32-default' },
      { port: DEFAULT_PORT.esp8266, source: 'esp8266-default' },
      ...(options.ports ?? []).map((port) => ({ port, source: 'given' as const })),
    ];
    const tcpPromise =
      options.tcp === false
        ? Promise.resolve(undefined)
        : tcpCheck(address, o.target.port, Math.min(waitMs, 3000), signal);
    const mdns = await mdnsPromise;
    for (const m of mdns?.seen ?? []) wanted.push({ port: m.port, source: 'mdns' });
    const unique = wanted.filter((w, i) => wanted.findIndex((x) => x.port === w.port) === i);
    // Every port gets the full wait: a late answer on the upload's port is the evidence of a slow loop().
    const states = await askPorts(ctx, unique, waitMs, waitMs, signal);
    await sendIdle(states);
    await settleAfter(states, scale, signal);
    const tcp = await tcpPromise;
    return {
      address,
      ports: states.map((s) => s.check),
      ...(tcp ? { tcp } : {}),
      ...(mdns ? { mdns: mdns.seen, mdnsWaitMs: mdns.waitedMs } : {}),
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await ctx.close();
  }
}

/**
 * After an ESP8266 `ERR:` it ignores datagrams for 100 ms: wait that out (with a margin) so the
 * next upload's invitation is read. The idle datagrams (`0\n`) need no wait: sendIdle() resolves
 * once each has left its socket, and nothing comes back to observe.
 */
async function settleAfter(
  states: AskState[],
  scale: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (states.some((s) => s.check.reply === 'error'))
    await sleep(Math.max(5, Math.round(250 * scale)), signal);
}

// ------------------------------------------------------------------ probe

function coreFrom(
  reply: ReplyKind | undefined,
  nonceLength: number | undefined,
  port: number,
  mdns: MdnsSeen[] | undefined,
): ProbeResult['core'] {
  const why: string[] = [];
  const advertised = mdns?.[0]?.core;
  if (reply === 'error') {
    why.push(
      'it answered "ERR: …" to an invitation it cannot begin: only ESP8266 cores do that (ESP32 says OK and fails silently)',
    );
    return { family: 'esp8266', range: 'ESP8266 (esp8266/Arduino core)', why };
  }
  if (nonceLength === 64) {
    why.push(
      'its AUTH nonce has 64 hex characters: the SHA-256/PBKDF2 exchange added in arduino-esp32 3.3.1',
    );
    return { family: 'esp32', range: 'ESP32, arduino-esp32 core ≥ 3.3.1', why };
  }
  if (nonceLength === 32) {
    why.push(
      'its AUTH nonce has 32 hex characters: the MD5 exchange of every ESP8266 core and of arduino-esp32 ≤ 3.3.0',
    );
    if (advertised === 'esp8266' || (advertised === undefined && port === DEFAULT_PORT.esp8266)) {
      why.push(
        advertised ? 'its mDNS advertisement points to ESP8266' : 'it listens on 8266, the ESP8266 default',
      );
      return { family: 'esp8266', range: 'ESP8266 (most likely), or arduino-esp32 ≤ 3.3.0', why };
    }
    if (advertised === 'esp32' || port === DEFAULT_PORT.esp32) {
      why.push(
        advertised ? 'its mDNS advertisement points to ESP32' : 'it listens on 3232, the ESP32 default',
      );
      return { family: 'esp32', range: 'ESP32, arduino-esp32 core ≤ 3.3.0 (most likely), or ESP8266', why };
    }
    return { range: 'ESP8266, or ESP32 with arduino-esp32 ≤ 3.3.0', why };
  }
  if (reply === 'ok') {
    why.push(
      'it answered OK at once to an invitation it cannot begin: ESP32 cores do that (ESP8266 answers only after begin())',
    );
    why.push('without a password the auth generation (core ≤ 3.3.0 or ≥ 3.3.1) cannot be seen');
    return { family: 'esp32', range: 'ESP32 (arduino-esp32, any version)', why };
  }
  return { range: 'unknown', why };
}

function probeSummary(r: Omit<ProbeResult, 'summary'>): string {
  const target = `${r.address}:${r.port}`;
  if (r.reply === 'other')
    return `Something answered on ${target}, but not ArduinoOTA: ${JSON.stringify(r.replyText ?? '')}.`;
  const elsewhere = r.ports.find(
    (p) => p.port === r.port && p.outcome === 'answered' && p.reply !== undefined && p.reply !== 'other',
  );
  if (!r.answered && elsewhere !== undefined && elsewhere.source !== 'given') {
    const asked = r.ports.find((p) => p.source === 'given');
    const there = asked?.outcome === 'refused' ? 'is closed (ICMP port unreachable)' : 'did not answer';
    return `ArduinoOTA answers on ${target}, not on the port asked: UDP ${asked?.port ?? '?'} ${there}; upload with -p ${r.port}.`;
  }
  if (!r.answered) {
    const refused = r.ports.filter((p) => p.outcome === 'refused').map((p) => p.port);
    const silent = r.ports.filter((p) => p.outcome === 'silent').map((p) => p.port);
    return `No ArduinoOTA service answered at ${r.address}${refused.length ? `; UDP ${refused.join(', ')} closed (ICMP port unreachable: the host is there)` : ''}${silent.length ? `; no answer on ${silent.join(', ')}` : ''}.`;
  }
  const parts = [`ArduinoOTA answers on ${target}`];
  parts.push(
    r.authRequired
      ? `wants a password (${r.authScheme === 'sha256' ? 'SHA-256/PBKDF2' : 'MD5'} challenge)`
      : 'no password',
  );
  parts.push(r.core.range);
  if (r.loop.kind === 'measured' && r.loop.periodMs !== undefined)
    parts.push(`loop() calls handle() about every ${(r.loop.periodMs / 1000).toFixed(1)} s`);
  else if (r.loop.kind === 'fast') parts.push('handle() is called often');
  else if (r.loop.kind === 'not-visible') parts.push('loop period not visible');
  return `${parts.join('; ')}.`;
}

/**
 * Probe a device. Without `port` it asks 3232, 8266 and the port advertised over mDNS. Resolves
 * with what it found (also when nothing answered); throws HOST_NOT_FOUND, NETWORK_ERROR or
 * INTERRUPTED only.
 */
export async function probe(host: string, options?: ProbeOptions): Promise<ProbeResult>;
export async function probe(options: ProbeOptions & { host: string }): Promise<ProbeResult>;
export async function probe(
  hostOrOptions: string | (ProbeOptions & { host: string }),
  maybeOptions: ProbeOptions = {},
): Promise<ProbeResult> {
  const options: ProbeOptions = typeof hostOrOptions === 'string' ? maybeOptions : hostOrOptions;
  const host = typeof hostOrOptions === 'string' ? hostOrOptions : hostOrOptions.host;
  if (
    options.port !== undefined &&
    !(Number.isInteger(options.port) && options.port >= 1 && options.port <= 65535)
  )
    throw new AirflashError('BAD_ARGUMENT', `The port must be 1-65535, not ${options.port}.`);
  const { signal } = options;
  const scale = options.timeScale ?? 1;
  const timeoutMs = options.timeoutMs ?? Math.round(35_000 * scale);
  const samples = Math.max(1, Math.min(10, options.samples ?? 2));
  const note = options.onNote;
  throwIfAborted(signal);
  const started = performance.now();
  const ctx = await openContext(host, {
    ...(options.resolve ? { resolve: options.resolve } : {}),
    ...(options.hostIp ? { hostIp: options.hostIp } : {}),
    ...(signal ? { signal } : {}),
  });
  const sideEffects: string[] = [];
  const notes: string[] = [];
  try {
    const mdnsPromise = lookupMdns(options.mdns, host, ctx.address, signal);
    let states: AskState[];
    let mdns: MdnsSeen[] | undefined;
    const candidates = (
      seen: MdnsSeen[] | undefined,
    ): Array<{ port: number; source: PortCheck['source'] }> => {
      const list: Array<{ port: number; source: PortCheck['source'] }> = [
        { port: DEFAULT_PORT.esp32, source: 'esp32-default' },
        { port: DEFAULT_PORT.esp8266, source: 'esp8266-default' },
        ...(seen ?? []).map((m) => ({ port: m.port, source: 'mdns' as const })),
      ];
      return list.filter((w, i) => list.findIndex((x) => x.port === w.port) === i);
    };
    const grace = Math.max(200, Math.round(1000 * scale));
    if (options.port !== undefined) {
      note?.(`asking ${ctx.address}:${options.port}…`);
      states = await askPorts(ctx, [{ port: options.port, source: 'given' }], timeoutMs, grace, signal);
      mdns = (await mdnsPromise)?.seen;
      const first = states[0] as AskState;
      if (first.check.outcome !== 'answered' && options.alternatives === true) {
        const more = candidates(mdns).filter((c) => c.port !== options.port);
        if (more.length > 0) {
          note?.(`no answer on ${options.port}; asking ${more.map((m) => m.port).join(', ')}…`);
          states.push(...(await askPorts(ctx, more, timeoutMs, grace, signal)));
        }
      }
    } else {
      mdns = (await mdnsPromise)?.seen;
      const list = candidates(mdns);
      note?.(`asking ${ctx.address} on UDP ${list.map((c) => c.port).join(', ')}…`);
      states = await askPorts(ctx, list, timeoutMs, grace, signal);
    }
    const answered = states.find((s) => s.check.outcome === 'answered' && s.check.reply !== 'other');
    const other = states.find((s) => s.check.outcome === 'answered');
    const main = answered ?? other;
    const primaryPort = options.port ?? main?.check.port ?? DEFAULT_PORT.esp32;
    const answeredOnPrimary =
      answered !== undefined && (options.port === undefined || answered.check.port === options.port);
    if (answered && options.port !== undefined && answered.check.port !== options.port)
      notes.push(
        `Nothing answered on port ${options.port}, but ArduinoOTA answers on port ${answered.check.port}: upload with -p ${answered.check.port}.`,
      );
    for (const m of mdns ?? [])
      if (answered && m.port !== answered.check.port)
        notes.push(`mDNS advertises port ${m.port}, but the service answered on ${answered.check.port}.`);

    let loop: ProbeLoop = { kind: 'none', gapsMs: [], why: 'nothing answered' };
    let measured = false;
    // The round trip: the quickest ICMP refusal seen (the kernel answers at once).
    const rttMs = Math.min(
      ...states
        .filter((s) => s.check.outcome === 'refused')
        .map((s) => s.check.latencyMs ?? Number.POSITIVE_INFINITY),
    );
    const reply = answered?.check.reply;
    if (answered) {
      note?.(
        `port ${answered.check.port} answered ${JSON.stringify(answered.check.text)} after ${((answered.check.latencyMs ?? 0) / 1000).toFixed(2)} s`,
      );
      if (reply === 'ok')
        sideEffects.push(
          'ESP32: each probe invitation (size 0) was answered OK; its Update.begin(0) then failed silently at the next handle() call, so the sketch’s onError callback ran with OTA_BEGIN_ERROR ("Begin Failed"). Nothing was written to flash.',
        );
      else if (reply === 'error')
        sideEffects.push(
          'ESP8266: each probe invitation (size 0) made Update.begin() fail; the device answered ERR and its onError callback ran with OTA_BEGIN_ERROR. Nothing was written to flash.',
        );
      else if (reply === 'auth')
        sideEffects.push(
          'The device answered AUTH; the probe then sent "0\\n", which the device takes as a failed auth line and returns to idle silently (no "Authentication Failed", no onError). Nothing was written to flash.',
        );
      if (reply === 'error' && answered.check.text) {
        const text = answered.check.text.replace(/^ERR:?\s?/, '').trim();
        if (/bootstrapping/i.test(text))
          notes.push(
            `The ESP8266 says "${text}": it still runs in the boot mode of its last serial upload. Press RESET (or power-cycle) once, or every OTA upload will fail.`,
          );
        else if (!/Bad Size Given|No data/i.test(text))
          notes.push(`The ESP8266 refused even an empty update: "${text}".`);
      }
      if (options.loop === false) loop = { kind: 'skipped', gapsMs: [], why: 'not measured (loop: false)' };
      else if (
        reply === 'auth' &&
        answered.check.nonceLength === 32 &&
        (answered.check.port === DEFAULT_PORT.esp8266 || mdns?.[0]?.core === 'esp8266')
      ) {
        // Probably ESP8266: its AUTH comes from the network callback, so the time between two
        // AUTH answers is the network's and the Wi-Fi stack's, never the loop's: do not measure.
        loop = {
          kind: 'not-visible',
          gapsMs: [],
          why: 'an ESP8266 answers invitations (AUTH) from its network callback, even while loop() sits in delay(); only the OK after a successful begin() waits for handle(), and that needs the password — so the loop period cannot be seen from outside (if this is an ESP32 with arduino-esp32 ≤ 3.3.0 on port 8266, its period is not measured either)',
        };
      } else {
        note?.('measuring how often loop() calls ArduinoOTA.handle()…');
        measured = true;
        loop = await measureLoop(ctx, answered, {
          samples,
          timeoutMs,
          scale,
          rttMs,
          firstLatencyMs: answered.check.latencyMs ?? Number.POSITIVE_INFINITY,
          signal,
          ...(note ? { onNote: note } : {}),
        });
      }
    }
    // measureLoop() leaves its own port idle; every other port that may wait for auth gets `0\n`.
    await sendIdle(states, measured ? answered?.session : undefined);
    await settleAfter(states, scale, signal);

    const core = coreFrom(reply, answered?.check.nonceLength, answered?.check.port ?? primaryPort, mdns);
    const base: Omit<ProbeResult, 'summary'> = {
      host,
      address: ctx.address,
      answered: answeredOnPrimary,
      port: answered?.check.port ?? primaryPort,
      ports: states.map((s) => s.check),
      ...(main?.check.reply === undefined ? {} : { reply: main.check.reply }),
      ...(main?.check.text === undefined ? {} : { replyText: main.check.text }),
      ...(main?.check.latencyMs === undefined ? {} : { latencyMs: main.check.latencyMs }),
      // ESP8266 sends AUTH before begin(); an ERR answer therefore means no password.
      ...(answered ? { authRequired: reply === 'auth' } : {}),
      ...(reply === 'auth' && answered?.check.nonceLength !== undefined
        ? {
            nonceLength: answered.check.nonceLength,
            ...(answered.check.nonceLength === 64
              ? { authScheme: 'sha256' as const }
              : answered.check.nonceLength === 32
                ? { authScheme: 'md5' as const }
                : {}),
          }
        : {}),
      core,
      loop,
      ...(loop.kind === 'measured' && loop.periodMs !== undefined ? { loopPeriodMs: loop.periodMs } : {}),
      ...(reply === 'error' && answered?.check.text
        ? { deviceError: answered.check.text.replace(/^ERR:?\s?/, '').trim() }
        : {}),
      ...(mdns === undefined ? {} : { mdns }),
      notes,
      sideEffects,
      durationMs: Math.round(performance.now() - started),
    };
    if (other && !answered)
      notes.push(
        `Port ${other.check.port} answered ${JSON.stringify(other.check.text)}: not an ArduinoOTA reply.`,
      );
    return { ...base, summary: probeSummary(base) };
  } finally {
    await ctx.close();
  }
}
