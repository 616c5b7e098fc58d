/** Encoding DNS messages, with name compression (RFC 1035 §4.1.4). */
import { AirflashError } from '../core/errors.ts';
import {
  CLASS_IN,
  CLASS_TOP_BIT,
  canonicalName,
  type DnsMessage,
  type DnsRecord,
  encodeIPv4,
  encodeIPv6,
  MAX_NAME_LENGTH,
  RECORD_TYPE_CODES,
  typeCode,
} from './dns-records.ts';

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
