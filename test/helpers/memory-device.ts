/**
 * A scripted ArduinoOTA device on the in-memory transport, for timing tests under mock.timers:
 * it answers invitations and auth lines after `rttMs` (mocked setTimeout), drops the datagrams a
 * test names, reports a closed port, and connects back and reads the image like an Updater.
 */
import { uploadOnce } from '../../src/protocols/arduino-ota/host/attempt.ts';
import { Recorder } from '../../src/protocols/arduino-ota/host/recorder.ts';
import type {
  UploadObservation,
  UploadOptions,
  UploadResult,
} from '../../src/protocols/arduino-ota/model/options.ts';
import { resolveTimeouts } from '../../src/protocols/arduino-ota/model/timeouts.ts';
import { authResponse, md5hex, passwordSecret } from '../../src/protocols/arduino-ota/wire/index.ts';
import { type MemoryDatagram, type MemoryStream, MemoryTransport } from '../../src/transport/memory.ts';
import type { PreparedImage } from '../../src/upload/image.ts';
import { closableBytes } from '../../src/upload/image-file.ts';

let nextHost = 10;
/** A fresh loopback address per device (host-lock.ts remembers recent updates per address). */
export function freshAddress(): string {
  return `127.0.0.${nextHost++}`;
}

export interface DeviceScript {
  address?: string;
  rttMs?: number;
  password?: string;
  /** 1-based numbers of the invitations the device never sees. */
  dropInvitations?: number[];
  /** 1-based numbers of the auth lines whose answer is lost. */
  dropAuthAnswers?: number[];
  /** Answer every invitation with ICMP port unreachable. */
  /** ICMP port unreachable for every datagram, in Linux/macOS's form (true, ECONNREFUSED) or Windows' (ECONNRESET). */
  refuse?: boolean | 'ECONNRESET';
  /** What to write on the stream: 'updater' (counts then OK), or a custom reaction. */
  onStream?: (device: MemoryStream, image: PreparedImage) => void;
}

export function preparedImage(size: number): PreparedImage {
  const data = new Uint8Array(size).map((_, i) => i & 0xff);
  return {
    size,
    md5: md5hex(data),
    head: data.subarray(0, 64),
    compressed: false,
    signedSubstituted: false,
    readOriginal: async () => data,
    openOriginal: async () => closableBytes(data),
    open: () => [data],
  };
}

/** Reads like an Updater: a count per 1460 bytes received, OK after the last byte. */
export function updater(device: MemoryStream, image: PreparedImage): void {
  let got = 0;
  device.on('data', (chunk) => {
    got += chunk.length;
    device.write(new TextEncoder().encode(String(chunk.length)));
    if (got >= image.size) device.write(new TextEncoder().encode('OK'));
  });
}

export function observation(host: string, port = 3232): UploadObservation {
  return {
    version: 1,
    startedAt: 0,
    target: { host, port },
    local: {},
    image: { command: 0, compressed: false, signedSubstituted: false },
    options: {},
    context: {},
    sent: [],
    received: [],
    invitationsSent: 0,
    loopGapsMs: [],
    warnings: [],
    hints: [],
    timeline: [],
  } as unknown as UploadObservation;
}

export class ScriptedDevice {
  readonly net: MemoryTransport;
  readonly peer: { address: string; port: number };
  invitations = 0;
  authLines = 0;
  private nonce = '';
  private readonly s: DeviceScript;
  private readonly image: PreparedImage;

  constructor(script: DeviceScript, image: PreparedImage) {
    this.s = script;
    this.image = image;
    this.net = new MemoryTransport();
    this.peer = { address: script.address ?? freshAddress(), port: 3232 };
    this.net.onSend = (d) => this.take(d);
  }

  private later(fn: () => void): void {
    setTimeout(fn, this.s.rttMs ?? 2);
  }

  private take(d: MemoryDatagram): void {
    if (d.to.address !== this.peer.address || d.to.port !== this.peer.port) return;
    const text = new TextDecoder().decode(d.data).trim();
    const parts = text.split(' ');
    if (this.s.refuse) {
      this.later(() =>
        this.net.refuse(this.peer, this.s.refuse === 'ECONNRESET' ? 'ECONNRESET' : 'ECONNREFUSED'),
      );
      return;
    }
    if (parts[0] === '200') {
      this.authLines++;
      const n = this.authLines;
      const [, cnonce = '', response = ''] = parts;
      const ok =
        response === authResponse('md5', passwordSecret(this.s.password ?? '', 'md5'), this.nonce, cnonce);
      if (this.s.dropAuthAnswers?.includes(n)) return;
      this.later(() => {
        this.net.deliver(this.peer, ok ? 'OK' : 'Authentication Failed', d.from);
        if (ok) this.later(() => this.connect(Number(this.tcpPort)));
      });
      return;
    }
    if (parts.length !== 4) return; // a reset datagram
    this.invitations++;
    if (this.s.dropInvitations?.includes(this.invitations)) return;
    this.tcpPort = Number(parts[1]);
    this.later(() => {
      if (this.s.password) {
        this.nonce = md5hex(`nonce${this.invitations}`);
        this.net.deliver(this.peer, `AUTH ${this.nonce}`, d.from);
      } else {
        this.net.deliver(this.peer, 'OK', d.from);
        this.later(() => this.connect(Number(this.tcpPort)));
      }
    });
  }

  private tcpPort = 0;

  private connect(port: number): void {
    const stream = this.net.connectStream(this.peer, port);
    (this.s.onStream ?? updater)(stream, this.image);
  }
}

export type Outcome = { ok: true; result: Omit<UploadResult, 'attempts'> } | { ok: false; error: unknown };

/** Start one attempt against the scripted device; `outcome()` is set once it settled. */
export function startAttempt(script: DeviceScript, options: Partial<UploadOptions> = {}, size = 8000) {
  const image = preparedImage(size);
  const device = new ScriptedDevice(script, image);
  const obs = observation(device.peer.address);
  const rec = new Recorder(obs, undefined, false, () => device.net.now());
  const t = resolveTimeouts(options);
  let outcome: Outcome | undefined;
  const done = uploadOnce(
    { host: device.peer.address, data: new Uint8Array(0), ...options } as UploadOptions,
    t,
    rec,
    { address: device.peer.address, family: 4, resolvedBy: 'literal' },
    image,
    device.net,
  ).then(
    (result) => {
      outcome = { ok: true, result };
    },
    (error: unknown) => {
      outcome = { ok: false, error };
    },
  );
  return { device, obs, rec, t, done, outcome: () => outcome };
}

/** Let promise continuations run (setImmediate is not mocked). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * Advance the mocked clock in `stepMs` steps until `until()` holds or `maxMs` passed; returns the
 * mocked time spent.
 */
export async function advance(
  tick: (ms: number) => void,
  until: () => boolean,
  maxMs: number,
  stepMs = 1,
): Promise<number> {
  let spent = 0;
  await settle();
  while (!until() && spent < maxMs) {
    tick(stepMs);
    spent += stepMs;
    await settle();
  }
  return spent;
}
