/**
 * Facts derived once from an UploadObservation (and the error) for every cause rule. Pure: no I/O,
 * only what the uploader saw and what the user told it. The evidence wording is in evidence.ts.
 */
import { DEFAULT_PORT } from '../../../devices/family.ts';
import {
  builtinPartitionTable,
  PARTITION_TYPE,
  type PartitionEntry,
  usableOtaSlots,
} from '../../../formats/index.ts';
import type { FollowUpResult } from '../host/probe-types.ts';
import { observationOf } from '../model/observation-of.ts';
import type { ReceivedDatagram, UploadObservation } from '../model/options.ts';

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
  const port = o?.target.port ?? DEFAULT_PORT.esp32;
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
