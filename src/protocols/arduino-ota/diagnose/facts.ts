/**
 * Facts derived once from an UploadObservation (and the error) for every cause rule. Pure: no I/O,
 * only what the uploader saw and what the user told it.
 */
import {
  builtinPartitionTable,
  PARTITION_TYPE,
  type PartitionEntry,
  usableOtaSlots,
} from '../../../formats/index.ts';
import type { ReceivedDatagram, UploadObservation } from '../../../upload/index.ts';
import type { DiagnosisCause, FollowUpResult, Likelihood } from './types.ts';

/** The error fields a diagnosis reads (an AirflashError, or anything shaped like one). */
export interface ErrorFacts {
  code?: string;
  message?: string;
  hint?: string;
  phase?: string;
  deviceText?: string;
}

/** What the device's answers, the port and the user's context say about its core. */
export interface CoreGuess {
  /**
   * esp32-new: arduino-esp32 ≥ 3.3.1 (64-hex nonce); md5-auth: ESP8266 or arduino-esp32 ≤ 3.3.0;
   * esp32 / esp8266: the family only.
   */
  kind: 'esp32-new' | 'md5-auth' | 'esp32' | 'esp8266' | undefined;
  /** true: known from the device or the user; false: only the port suggests it. */
  firm: boolean;
  why: string;
}

export interface Facts {
  o: UploadObservation | undefined;
  e: ErrorFacts;
  code: string | undefined;
  followUp: FollowUpResult | undefined;
  host: string;
  address: string;
  port: number;
  /** "address:port" */
  target: string;
  scale: number;
  /** An answer later than this is late (the uploader's threshold, 2 s × timeScale). */
  lateMs: number;
  fromDevice: ReceivedDatagram[];
  fromOthers: ReceivedDatagram[];
  core: CoreGuess;
  esp8266: boolean;
  esp32: boolean;
  deviceText: string | undefined;
  /** The app slot the image goes to, when known. */
  slot: { size: number; source: string } | undefined;
  local: string;
}

/** "12 ms", "1.5 s", "29.6 s". */
export function secs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A point in time of the upload: "at 1.23 s". */
export function at(ms: number): string {
  return `at ${(ms / 1000).toFixed(ms < 10_000 ? 3 : 1)} s`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${n.toLocaleString('en-US')} bytes (${(n / 1024).toFixed(1)} KiB)`;
  return `${n.toLocaleString('en-US')} bytes (${(n / 1024 / 1024).toFixed(2)} MiB)`;
}

export function quote(text: string, max = 90): string {
  const t = text.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
  return JSON.stringify(t.length > max ? `${t.slice(0, max)}…` : t);
}

/** A cause under construction: a numeric score (0…1) that becomes the likelihood. */
export interface Scored extends Omit<DiagnosisCause, 'likelihood'> {
  score: number;
}

export function likelihoodOf(score: number): Likelihood {
  if (score >= 0.7) return 'high';
  if (score >= 0.4) return 'medium';
  return 'low';
}

function errorFacts(error: unknown): ErrorFacts {
  if (typeof error !== 'object' || error === null) return {};
  const r = error as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof r[k] === 'string' ? (r[k] as string) : undefined);
  const out: ErrorFacts = {};
  for (const k of ['code', 'message', 'hint', 'phase', 'deviceText'] as const) {
    const v = str(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** The observation carried by an error (`error.data.observation`), if any. */
export function observationOf(error: unknown): UploadObservation | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const data = (error as { data?: unknown }).data;
  if (typeof data !== 'object' || data === null) return undefined;
  const o = (data as { observation?: unknown }).observation;
  return typeof o === 'object' && o !== null && (o as { version?: unknown }).version === 1
    ? (o as UploadObservation)
    : undefined;
}

function guessCore(
  o: UploadObservation | undefined,
  port: number,
  followUp: FollowUpResult | undefined,
): CoreGuess {
  const ctx = `${o?.context.core ?? ''} ${o?.context.chip ?? ''}`.toLowerCase();
  const received = o?.received.filter((r) => r.fromDevice) ?? [];
  if (received.some((r) => r.text.startsWith('ERR')))
    return { kind: 'esp8266', firm: true, why: 'it answered "ERR: …" (only ESP8266 does)' };
  const nonce = o?.auth?.nonceLength ?? received.find((r) => r.nonceLength !== undefined)?.nonceLength;
  if (nonce === 64)
    return {
      kind: 'esp32-new',
      firm: true,
      why: 'it sent a 64-hex nonce: the SHA-256/PBKDF2 exchange of arduino-esp32 ≥ 3.3.1',
    };
  if (ctx.includes('8266')) return { kind: 'esp8266', firm: true, why: 'you said the device is an ESP8266' };
  if (ctx.includes('esp32')) return { kind: 'esp32', firm: true, why: 'you said the device is an ESP32' };
  if (nonce === 32)
    return {
      kind: 'md5-auth',
      firm: true,
      why: 'it sent a 32-hex nonce: the MD5 exchange of ESP8266 cores and arduino-esp32 ≤ 3.3.0',
    };
  const answered = followUp?.ports.find((p) => p.outcome === 'answered');
  if (answered?.reply === 'error')
    return {
      kind: 'esp8266',
      firm: true,
      why: `port ${answered.port} answered "ERR: …" (only ESP8266 does)`,
    };
  if (answered?.nonceLength === 64)
    return {
      kind: 'esp32-new',
      firm: true,
      why: `port ${answered.port} sent a 64-hex nonce (arduino-esp32 ≥ 3.3.1)`,
    };
  if (port === 8266) return { kind: 'esp8266', firm: false, why: 'port 8266 is the ESP8266 default' };
  if (port === 3232) return { kind: 'esp32', firm: false, why: 'port 3232 is the ESP32 default' };
  return { kind: undefined, firm: false, why: 'nothing tells the core' };
}

function slotOf(o: UploadObservation | undefined): Facts['slot'] {
  if (!o) return undefined;
  if (o.context.slotSize !== undefined && o.context.slotSize > 0)
    return {
      size: o.context.slotSize,
      source: o.context.partitions ? `the OTA slot of ${o.context.partitions}` : 'the OTA slot size you gave',
    };
  const maxSize = o.preflight?.info?.['maxSize'];
  if (typeof maxSize === 'number' && maxSize > 0) return { size: maxSize, source: 'the pre-flight check' };
  const name = o.context.partitions;
  if (name !== undefined) {
    const table = builtinPartitionTable(name);
    if (table) {
      const slots = usableOtaSlots(table);
      if (slots.length >= 2)
        return {
          size: Math.min(...slots.map((s: PartitionEntry) => s.size)),
          source: `the OTA slots of the ${name} scheme`,
        };
      const apps = table.entries.filter((p) => p.type === PARTITION_TYPE.app);
      if (apps.length > 0) return { size: 0, source: `the ${name} scheme, which has no second OTA slot` };
    }
  }
  return undefined;
}

export function deriveFacts(
  observation: UploadObservation | undefined,
  error: unknown,
  followUp: FollowUpResult | undefined,
): Facts {
  const o = observation ?? observationOf(error);
  const e = errorFacts(error);
  const code = e.code ?? (o?.outcome?.ok === false ? o.outcome.code : undefined);
  const address = o?.target.address ?? o?.target.host ?? '?';
  const port = o?.target.port ?? 3232;
  const scale = o?.options.timeScale ?? 1;
  const core = guessCore(o, port, followUp);
  const fromDevice = o?.received.filter((r) => r.fromDevice) ?? [];
  return {
    o,
    e,
    code,
    followUp,
    host: o?.target.host ?? address,
    address,
    port,
    target: `${address.includes(':') ? `[${address}]` : address}:${port}`,
    scale,
    lateMs: 2000 * scale,
    fromDevice,
    fromOthers: o?.received.filter((r) => !r.fromDevice) ?? [],
    core,
    esp8266: core.kind === 'esp8266',
    esp32: core.kind === 'esp32' || core.kind === 'esp32-new',
    deviceText: o?.deviceText ?? e.deviceText,
    slot: slotOf(o),
    local: o?.local.address ?? 'this computer',
  };
}

/** "the SHA-256/PBKDF2 exchange (arduino-esp32 ≥ 3.3.1)" from a nonce length. */
export function schemeText(nonceLength: number | undefined): string {
  if (nonceLength === 64) return 'the SHA-256/PBKDF2 challenge (64-hex nonce): arduino-esp32 core ≥ 3.3.1';
  if (nonceLength === 32)
    return 'the MD5 challenge (32-hex nonce): an ESP8266 core, or arduino-esp32 core ≤ 3.3.0';
  return `an unknown challenge (${nonceLength ?? '?'}-character nonce)`;
}

/** Same /24 (IPv4) — a rough "same network" test for evidence only. */
export function sameSubnet24(a: string, b: string): boolean | undefined {
  const pa = a.split('.');
  const pb = b.split('.');
  if (pa.length !== 4 || pb.length !== 4) return undefined;
  return pa.slice(0, 3).join('.') === pb.slice(0, 3).join('.');
}

export function isLoopbackAddress(a: string): boolean {
  return a.startsWith('127.') || a === '::1';
}

/** The invitations the uploader sent, as evidence. */
export function invitationEvidence(f: Facts): string[] {
  const o = f.o;
  if (!o) return [];
  const inv = o.sent.filter((s) => s.kind === 'invitation');
  if (inv.length === 0) return [];
  const first = inv[0]?.at ?? 0;
  const last = inv.at(-1)?.at ?? first;
  const from = o.local.udpPort === undefined ? f.local : `${f.local}:${o.local.udpPort}`;
  const gaveUp = o.outcome?.at;
  const lines = [
    `${o.invitationsSent} invitation(s) sent to ${f.target} from ${from}, ${inv.length === 1 ? at(first) : `between ${(first / 1000).toFixed(2)} s and ${(last / 1000).toFixed(2)} s`}`,
  ];
  if (f.fromDevice.length === 0)
    lines.push(
      `nothing came back from the device${gaveUp === undefined ? '' : ` (gave up ${at(gaveUp)}, ${secs(Math.max(0, gaveUp - last))} after the last invitation)`}`,
    );
  const refused = o.portRefused ?? [];
  if (refused.length > 0)
    lines.push(
      `UDP port${refused.length > 1 ? 's' : ''} ${refused.map((p) => p.port).join(' and ')} at ${f.address} answered the first invitation with ICMP "port unreachable" (within ${secs(Math.max(...refused.map((p) => p.at - first)))}, ${refused.map((p) => p.errno).join(', ')}): nothing listens there`,
    );
  for (const r of f.fromOthers.slice(0, 3))
    lines.push(`a datagram from ${r.from}:${r.fromPort} (not the device) ${at(r.at)}: ${quote(r.text)}`);
  return lines;
}

/** Every datagram from the device, as evidence lines (at most `max`). */
export function answersEvidence(f: Facts, max = 6): string[] {
  return f.fromDevice.slice(0, max).map((r) => `the device answered ${quote(r.text, 60)} ${at(r.at)}`);
}

export function followUpEvidence(f: Facts): string[] {
  const fu = f.followUp;
  if (!fu) return [];
  const out: string[] = [];
  for (const p of fu.ports) {
    const why =
      p.source === 'mdns'
        ? ' (advertised over mDNS)'
        : p.source === 'esp8266-default'
          ? ' (ESP8266 default)'
          : p.source === 'esp32-default'
            ? ' (ESP32 default)'
            : '';
    if (p.outcome === 'answered')
      out.push(
        `follow-up: UDP port ${p.port}${why} answered ${quote(p.text ?? '', 50)} after ${secs(p.latencyMs ?? 0)}`,
      );
    else if (p.outcome === 'refused')
      out.push(
        `follow-up: UDP port ${p.port}${why} is closed (ICMP port unreachable after ${secs(p.latencyMs ?? 0)}): the host is there, nothing listens on that port`,
      );
    else out.push(`follow-up: UDP port ${p.port}${why}: no answer within ${secs(p.waitedMs)}`);
  }
  if (fu.tcp) {
    const t = fu.tcp;
    const what =
      t.outcome === 'refused'
        ? `refused (a host is at ${fu.address})`
        : t.outcome === 'open'
          ? 'accepted a TCP connection (a TCP service listens there — ESPHome’s own OTA uses TCP on these ports)'
          : t.outcome === 'timeout'
            ? `no answer within ${secs(t.latencyMs)} (nothing at that address, or packets are dropped)`
            : `failed: ${t.error ?? t.outcome}`;
    out.push(`follow-up: TCP connect to ${fu.address}:${t.port} ${what}`);
  }
  if (fu.mdns !== undefined) {
    if (fu.mdns.length === 0)
      out.push(
        `follow-up: no _arduino._tcp mDNS advertisement for this device within ${secs(fu.mdnsWaitMs ?? 0)}`,
      );
    for (const m of fu.mdns)
      out.push(
        `follow-up: mDNS: ${m.name} (${m.host}, ${m.addresses.join(', ')}) advertises the OTA port ${m.port}${m.authUpload === undefined ? '' : `, auth_upload=${m.authUpload ? 'yes' : 'no'}`}${m.board ? `, board=${m.board}` : ''}`,
      );
  }
  return out;
}
