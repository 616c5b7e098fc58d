/** Decoding DNS messages: bounds-checked reads and name decompression (RFC 1035 §4.1.4). */
import {
  CLASS_TOP_BIT,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
  decodeIPv4,
  decodeIPv6,
  MAX_NAME_LENGTH,
  malformed,
  type RecordBase,
  typeName,
} from './dns-records.ts';

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
