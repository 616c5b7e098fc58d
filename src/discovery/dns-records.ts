/**
 * DNS record facts for the mDNS codec (RFC 1035 §3.2, §3.4; RFC 3596; RFC 6763 §6): record types,
 * the message shape, address and TXT data. Pure.
 */
import { AirflashError } from '../core/errors.ts';

export const RECORD_TYPE_CODES = {
  A: 1,
  PTR: 12,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NSEC: 47,
  ANY: 255,
} as const;

export type RecordTypeName = keyof typeof RECORD_TYPE_CODES;

/** Class IN. The top bit is the mDNS cache-flush bit (records) or unicast-response bit (questions). */
export const CLASS_IN = 1;
/** The top class bit: cache-flush (records) or unicast-response (questions). */
export const CLASS_TOP_BIT = 0x8000;

/** Header flag: this message is a response. */
export const FLAG_RESPONSE = 0x8000;
/** Header flag: authoritative answer (mDNS responses always set it). */
export const FLAG_AUTHORITATIVE = 0x0400;

export interface DnsQuestion {
  name: string;
  /** A record type name, or the numeric code of a type this codec does not know. */
  type: RecordTypeName | number;
  /** mDNS "QU" bit: the querier asks for a unicast answer. */
  unicastResponse?: boolean;
}

export interface RecordBase {
  name: string;
  /** Seconds. 0 is an mDNS "goodbye". */
  ttl: number;
  /** mDNS cache-flush bit: this record set replaces what caches hold for the name/type. */
  cacheFlush?: boolean;
}

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export type DnsRecord =
  | (RecordBase & { type: 'A'; data: string })
  | (RecordBase & { type: 'AAAA'; data: string })
  | (RecordBase & { type: 'PTR'; data: string })
  | (RecordBase & { type: 'SRV'; data: SrvData })
  | (RecordBase & { type: 'TXT'; data: Uint8Array[] })
  | (RecordBase & { type: 'OTHER'; code: number; data: Uint8Array });

export interface DnsMessage {
  id: number;
  /** Raw header flags; see FLAG_RESPONSE / FLAG_AUTHORITATIVE. */
  flags: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

export function isResponse(message: DnsMessage): boolean {
  return (message.flags & FLAG_RESPONSE) !== 0;
}

const CODE_TO_NAME = new Map<number, RecordTypeName>(
  Object.entries(RECORD_TYPE_CODES).map(([name, code]) => [code, name as RecordTypeName]),
);

export function typeCode(type: RecordTypeName | number): number {
  return typeof type === 'number' ? type : RECORD_TYPE_CODES[type];
}

export function typeName(code: number): RecordTypeName | number {
  return CODE_TO_NAME.get(code) ?? code;
}

/** Lower-case, no trailing dot: the form used to compare names (DNS names are case-insensitive). */
export function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** A decode error: DISCOVERY_FAILED naming the byte offset. */
export function malformed(why: string, offset: number): AirflashError {
  return new AirflashError('DISCOVERY_FAILED', `Malformed DNS message: ${why} (at byte ${offset}).`, {
    phase: 'decode',
    hint: 'A device or host on the network sent a broken mDNS packet; it is ignored.',
  });
}

export function decodeIPv4(data: Uint8Array): string {
  return `${data[0]}.${data[1]}.${data[2]}.${data[3]}`;
}

export function decodeIPv6(data: Uint8Array): string {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(view.getUint16(i));
  // RFC 5952: compress the longest run (length >= 2) of zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

export function encodeIPv4(address: string): Uint8Array {
  const parts = address.split('.');
  const out = parts.map(Number);
  if (parts.length !== 4 || out.some((n, i) => !/^\d{1,3}$/.test(parts[i] as string) || n > 255)) {
    throw new AirflashError('BAD_ARGUMENT', `"${address}" is not an IPv4 address.`);
  }
  return Uint8Array.from(out);
}

export function encodeIPv6(address: string): Uint8Array {
  let text = address;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  let tailV4: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tailV4 = encodeIPv4(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const bad = (): AirflashError => new AirflashError('BAD_ARGUMENT', `"${address}" is not an IPv6 address.`);
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const parse = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').map((g) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw bad();
          return Number.parseInt(g, 16);
        });
  const head = parse(halves[0] as string);
  const tail = halves.length === 2 ? parse(halves[1] as string) : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || fill < (halves.length === 2 ? 1 : 0)) throw bad();
  const groups = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >>> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (tailV4) out.set(tailV4, 12);
  return out;
}

/** A DNS name's longest wire form (RFC 1035 §3.1). */
export const MAX_NAME_LENGTH = 255;

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8e = new TextEncoder();

/** `key=value` strings → TXT record entries. */
export function encodeTxt(entries: ReadonlyArray<readonly [string, string]>): Uint8Array[] {
  return entries.map(([key, value]) => utf8e.encode(`${key}=${value}`));
}

/**
 * TXT record entries → ordered `[key, value]` pairs (RFC 6763 §6.3: split at the first `=`; an
 * entry without `=` is a boolean attribute with value `''`; an empty key is dropped).
 */
export function decodeTxt(entries: readonly Uint8Array[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const entry of entries) {
    const text = utf8.decode(entry);
    const eq = text.indexOf('=');
    const key = eq < 0 ? text : text.slice(0, eq);
    if (key === '') continue;
    out.push([key, eq < 0 ? '' : text.slice(eq + 1)]);
  }
  return out;
}
