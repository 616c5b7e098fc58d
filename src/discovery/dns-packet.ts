import { AirflashError } from '../core/errors.ts';

/**
 * A small, pure DNS message codec for the part of mDNS / DNS-SD that airflash uses (RFC 1035
 * §4, RFC 6762, RFC 6763): questions and A, AAAA, PTR, SRV, TXT records; anything else is kept
 * as raw bytes. Decoding is strict about bounds (DataView + explicit checks) and about name
 * compression (pointers must point backwards, bounded jumps), so a hostile datagram is an error,
 * never a crash or a loop.
 *
 * Names are dotted strings without the trailing dot (`esp32-aabb.local`). A label that itself
 * contains a dot cannot be represented; ArduinoOTA devices never use one.
 */

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
const CLASS_TOP_BIT = 0x8000;

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

interface RecordBase {
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

function malformed(why: string, offset: number): AirflashError {
  return new AirflashError('DISCOVERY_FAILED', `Malformed DNS message: ${why} (at byte ${offset}).`, {
    phase: 'decode',
    hint: 'A device or host on the network sent a broken mDNS packet; it is ignored.',
  });
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

// ---------------------------------------------------------------------------------------------
// Decoding

const MAX_NAME_LENGTH = 255;
const MAX_POINTER_JUMPS = 64;
const utf8 = new TextDecoder('utf-8', { fatal: false });

class Reader {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  offset = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(count: number, what: string, at = this.offset): void {
    if (at + count > this.bytes.length) throw malformed(`${what} runs past the end`, at);
  }

  u8(what: string): number {
    this.need(1, what);
    const v = this.view.getUint8(this.offset);
    this.offset += 1;
    return v;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  take(count: number, what: string): Uint8Array {
    this.need(count, what);
    const out = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }

  /** A possibly compressed name starting at the current offset. */
  name(): string {
    const labels: string[] = [];
    let pos = this.offset;
    let jumped = false;
    let jumps = 0;
    let length = 0;
    for (;;) {
      this.need(1, 'name label', pos);
      const len = this.view.getUint8(pos);
      if (len === 0) {
        pos += 1;
        if (!jumped) this.offset = pos;
        break;
      }
      const kind = len & 0xc0;
      if (kind === 0xc0) {
        this.need(2, 'name pointer', pos);
        const target = this.view.getUint16(pos) & 0x3fff;
        if (target >= pos) throw malformed('name pointer does not point backwards', pos);
        if (++jumps > MAX_POINTER_JUMPS) throw malformed('too many name pointers', pos);
        if (!jumped) this.offset = pos + 2;
        jumped = true;
        pos = target;
        continue;
      }
      if (kind !== 0) throw malformed(`unsupported label type 0x${kind.toString(16)}`, pos);
      this.need(1 + len, 'name label', pos);
      length += len + 1;
      if (length > MAX_NAME_LENGTH) throw malformed('name longer than 255 bytes', pos);
      labels.push(utf8.decode(this.bytes.subarray(pos + 1, pos + 1 + len)));
      pos += 1 + len;
    }
    return labels.join('.');
  }
}

function decodeIPv4(data: Uint8Array): string {
  return `${data[0]}.${data[1]}.${data[2]}.${data[3]}`;
}

function decodeIPv6(data: Uint8Array): string {
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

function readRecord(r: Reader): DnsRecord {
  const name = r.name();
  const code = r.u16('record type');
  const klass = r.u16('record class');
  const ttl = r.u32('record ttl');
  const rdlength = r.u16('record data length');
  r.need(rdlength, 'record data');
  const start = r.offset;
  const end = start + rdlength;
  const base: RecordBase = { name, ttl };
  if ((klass & CLASS_TOP_BIT) !== 0) base.cacheFlush = true;
  const type = typeName(code);
  let record: DnsRecord;
  switch (type) {
    case 'A': {
      if (rdlength !== 4) throw malformed(`A record data is ${rdlength} bytes, not 4`, start);
      record = { ...base, type: 'A', data: decodeIPv4(r.take(4, 'A data')) };
      break;
    }
    case 'AAAA': {
      if (rdlength !== 16) throw malformed(`AAAA record data is ${rdlength} bytes, not 16`, start);
      record = { ...base, type: 'AAAA', data: decodeIPv6(r.take(16, 'AAAA data')) };
      break;
    }
    case 'PTR': {
      record = { ...base, type: 'PTR', data: r.name() };
      break;
    }
    case 'SRV': {
      const priority = r.u16('SRV priority');
      const weight = r.u16('SRV weight');
      const port = r.u16('SRV port');
      record = { ...base, type: 'SRV', data: { priority, weight, port, target: r.name() } };
      break;
    }
    case 'TXT': {
      const entries: Uint8Array[] = [];
      while (r.offset < end) {
        const len = r.u8('TXT string length');
        if (r.offset + len > end) throw malformed('TXT string runs past its record', r.offset);
        const entry = r.take(len, 'TXT string');
        // RFC 6763 §6.1: an empty TXT record is a single zero byte; that is "no entries".
        if (len > 0) entries.push(entry.slice());
      }
      record = { ...base, type: 'TXT', data: entries };
      break;
    }
    default: {
      record = { ...base, type: 'OTHER', code, data: r.take(rdlength, 'record data').slice() };
    }
  }
  if (r.offset !== end) throw malformed('record data length does not match its content', start);
  return record;
}

/** Decode one DNS message; throws AirflashError DISCOVERY_FAILED on anything malformed. */
export function decodeMessage(bytes: Uint8Array): DnsMessage {
  const r = new Reader(bytes);
  const id = r.u16('header id');
  const flags = r.u16('header flags');
  const qd = r.u16('question count');
  const an = r.u16('answer count');
  const ns = r.u16('authority count');
  const ar = r.u16('additional count');
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) {
    const name = r.name();
    const code = r.u16('question type');
    const klass = r.u16('question class');
    const q: DnsQuestion = { name, type: typeName(code) };
    if ((klass & CLASS_TOP_BIT) !== 0) q.unicastResponse = true;
    questions.push(q);
  }
  const section = (count: number): DnsRecord[] => {
    const out: DnsRecord[] = [];
    for (let i = 0; i < count; i++) out.push(readRecord(r));
    return out;
  };
  const answers = section(an);
  const authorities = section(ns);
  const additionals = section(ar);
  return { id, flags, questions, answers, authorities, additionals };
}

// ---------------------------------------------------------------------------------------------
// Encoding

const utf8e = new TextEncoder();

class Writer {
  private chunks: number[] = [];
  /** Canonical suffix → offset of its first occurrence, for name compression. */
  private readonly names = new Map<string, number>();

  get length(): number {
    return this.chunks.length;
  }

  u8(v: number): void {
    this.chunks.push(v & 0xff);
  }

  u16(v: number): void {
    this.chunks.push((v >>> 8) & 0xff, v & 0xff);
  }

  u32(v: number): void {
    this.chunks.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  }

  bytes(data: Uint8Array): void {
    for (const b of data) this.chunks.push(b);
  }

  setU16(at: number, v: number): void {
    this.chunks[at] = (v >>> 8) & 0xff;
    this.chunks[at + 1] = v & 0xff;
  }

  name(name: string): void {
    const labels =
      name === '' || name === '.' ? [] : (name.endsWith('.') ? name.slice(0, -1) : name).split('.');
    let total = 1;
    for (let i = 0; i < labels.length; i++) {
      const suffix = canonicalName(labels.slice(i).join('.'));
      const known = this.names.get(suffix);
      if (known !== undefined) {
        this.u16(0xc000 | known);
        return;
      }
      const encoded = utf8e.encode(labels[i] as string);
      if (encoded.length === 0)
        throw new AirflashError('BAD_ARGUMENT', `DNS name "${name}" has an empty label.`);
      if (encoded.length > 63) {
        throw new AirflashError('BAD_ARGUMENT', `DNS label "${labels[i]}" is longer than 63 bytes.`, {
          hint: 'Use a shorter device or host name.',
        });
      }
      total += encoded.length + 1;
      if (total > MAX_NAME_LENGTH) {
        throw new AirflashError('BAD_ARGUMENT', `DNS name "${name}" is longer than 255 bytes.`);
      }
      if (this.length <= 0x3fff) this.names.set(suffix, this.length);
      this.u8(encoded.length);
      this.bytes(encoded);
    }
    this.u8(0);
  }

  result(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

function encodeIPv4(address: string): Uint8Array {
  const parts = address.split('.');
  const out = parts.map(Number);
  if (parts.length !== 4 || out.some((n, i) => !/^\d{1,3}$/.test(parts[i] as string) || n > 255)) {
    throw new AirflashError('BAD_ARGUMENT', `"${address}" is not an IPv4 address.`);
  }
  return Uint8Array.from(out);
}

function encodeIPv6(address: string): Uint8Array {
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

function writeRecord(w: Writer, record: DnsRecord): void {
  w.name(record.name);
  const code = record.type === 'OTHER' ? record.code : RECORD_TYPE_CODES[record.type];
  w.u16(code);
  w.u16(CLASS_IN | (record.cacheFlush ? CLASS_TOP_BIT : 0));
  w.u32(Math.max(0, Math.min(0xffffffff, Math.floor(record.ttl))));
  const lengthAt = w.length;
  w.u16(0);
  const start = w.length;
  switch (record.type) {
    case 'A':
      w.bytes(encodeIPv4(record.data));
      break;
    case 'AAAA':
      w.bytes(encodeIPv6(record.data));
      break;
    case 'PTR':
      w.name(record.data);
      break;
    case 'SRV':
      w.u16(record.data.priority);
      w.u16(record.data.weight);
      w.u16(record.data.port);
      w.name(record.data.target);
      break;
    case 'TXT':
      if (record.data.length === 0) w.u8(0);
      for (const entry of record.data) {
        if (entry.length > 255) {
          throw new AirflashError('BAD_ARGUMENT', 'A TXT entry is longer than 255 bytes.', {
            hint: 'Shorten the key=value pair.',
          });
        }
        w.u8(entry.length);
        w.bytes(entry);
      }
      break;
    case 'OTHER':
      w.bytes(record.data);
      break;
  }
  w.setU16(lengthAt, w.length - start);
}

/** Encode one DNS message (with name compression). */
export function encodeMessage(message: Partial<DnsMessage>): Uint8Array {
  const w = new Writer();
  const questions = message.questions ?? [];
  const answers = message.answers ?? [];
  const authorities = message.authorities ?? [];
  const additionals = message.additionals ?? [];
  w.u16(message.id ?? 0);
  w.u16(message.flags ?? 0);
  w.u16(questions.length);
  w.u16(answers.length);
  w.u16(authorities.length);
  w.u16(additionals.length);
  for (const q of questions) {
    w.name(q.name);
    w.u16(typeCode(q.type));
    w.u16(CLASS_IN | (q.unicastResponse ? CLASS_TOP_BIT : 0));
  }
  for (const record of [...answers, ...authorities, ...additionals]) writeRecord(w, record);
  return w.result();
}

// ---------------------------------------------------------------------------------------------
// TXT helpers

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
