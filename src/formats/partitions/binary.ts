/** Binary partition table (formats.md §2): 32-byte records, the MD5 record, FF padding to 0xC00. */
import { createHash } from 'node:crypto';
import { AirflashError } from '../../core/errors.ts';
import { bytesToHex } from '../../core/hex.ts';
import { pyHex } from './csv.ts';
import { PARTITION_TABLE_BINARY_SIZE, type PartitionEntry, type PartitionTable } from './types.ts';

const ENTRY_SIZE = 32;
const MAGIC0 = 0xaa;
const MAGIC1 = 0x50;

export interface BinaryTableOptions {
  /** Write / check the MD5 record (gen_esp32part's default; `--disable-md5sum` turns it off). */
  md5?: boolean;
  /** Called with gen_esp32part's warnings (unknown flag bits). */
  onWarning?: (message: string) => void;
}

function tableError(message: string, hint?: string): AirflashError {
  return new AirflashError('PARTITION_TABLE', message, {
    hint:
      hint ??
      'This is not a valid binary partition table (32-byte records starting AA 50, an MD5 record, FF padding).',
  });
}

function md5(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('md5').update(bytes).digest());
}

const toHex = bytesToHex;

/** Python repr() of a bytes object, for gen_esp32part's "Invalid magic bytes (%r)" message. */
export function pyBytesRepr(bytes: Uint8Array): string {
  const hasSingle = bytes.includes(0x27);
  const hasDouble = bytes.includes(0x22);
  const quote = hasSingle && !hasDouble ? '"' : "'";
  let out = '';
  for (const b of bytes) {
    if (b === 0x5c) out += '\\\\';
    else if (b === 0x09) out += '\\t';
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (String.fromCharCode(b) === quote) out += `\\${quote}`;
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `b${quote}${out}${quote}`;
}

function checkRange(entry: PartitionEntry, field: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    const format =
      max === 0xff ? "'B' format requires 0 <= number <= 255" : `'L' format requires 0 <= number <= ${max}`;
    throw new AirflashError(
      'PARTITION_TABLE',
      `Partition ${entry.name}: ${field} ${value} does not fit the binary table (${format})`,
      {
        hint: `Use a ${field} between 0 and ${max}.`,
      },
    );
  }
}

/** One 32-byte partition record. */
export function encodePartitionEntry(entry: PartitionEntry): Uint8Array {
  checkRange(entry, 'type', entry.type, 0xff);
  checkRange(entry, 'subtype', entry.subtype, 0xff);
  checkRange(entry, 'offset', entry.offset, 0xffffffff);
  checkRange(entry, 'size', entry.size, 0xffffffff);
  const out = new Uint8Array(ENTRY_SIZE);
  const view = new DataView(out.buffer);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = entry.type;
  out[3] = entry.subtype;
  view.setUint32(4, entry.offset, true);
  view.setUint32(8, entry.size, true);
  // struct '16s': UTF-8, truncated to 16 bytes or NUL-padded.
  out.set(new TextEncoder().encode(entry.name).subarray(0, 16), 12);
  view.setUint32(28, (entry.encrypted ? 1 : 0) | (entry.readonly ? 2 : 0), true);
  return out;
}

/**
 * The 0xC00-byte table gen_esp32part writes: the records in table order, the MD5 record
 * (EB EB, 14 × FF, MD5 of the records), FF padding. Throws PARTITION_TABLE when too many entries.
 */
export function encodePartitionTable(table: PartitionTable, options: BinaryTableOptions = {}): Uint8Array {
  const withMd5 = options.md5 !== false;
  const length = table.entries.length * ENTRY_SIZE + (withMd5 ? ENTRY_SIZE : 0);
  if (length >= PARTITION_TABLE_BINARY_SIZE) {
    throw new AirflashError('PARTITION_TABLE', `Binary partition table length (${length}) longer than max`, {
      hint: `A table holds at most ${withMd5 ? 94 : 95} partitions.`,
    });
  }
  const out = new Uint8Array(PARTITION_TABLE_BINARY_SIZE).fill(0xff);
  table.entries.forEach((entry, i) => {
    out.set(encodePartitionEntry(entry), i * ENTRY_SIZE);
  });
  if (withMd5) {
    const at = table.entries.length * ENTRY_SIZE;
    out[at] = 0xeb;
    out[at + 1] = 0xeb;
    out.set(md5(out.subarray(0, at)), at + 16);
  }
  return out;
}

const NAME_DECODER = new TextDecoder('utf-8', { fatal: true });

/**
 * Read a binary table as gen_esp32part does: 32-byte records up to an all-FF record, the MD5
 * record checked against the records before it. Throws PARTITION_TABLE with its messages.
 */
export function decodePartitionTable(bytes: Uint8Array, options: BinaryTableOptions = {}): PartitionTable {
  const withMd5 = options.md5 !== false;
  const hash = createHash('md5');
  const entries: PartitionEntry[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let o = 0; o < bytes.length; o += ENTRY_SIZE) {
    if (o + ENTRY_SIZE > bytes.length) {
      throw tableError(
        'Partition table length must be a multiple of 32 bytes',
        `The table is cut off at offset ${pyHex(o)}.`,
      );
    }
    const record = bytes.subarray(o, o + ENTRY_SIZE);
    if (record.every((b) => b === 0xff)) return { entries };
    if (withMd5 && record[0] === 0xeb && record[1] === 0xeb) {
      const computed = new Uint8Array(hash.copy().digest());
      const stored = record.subarray(16);
      if (toHex(computed) === toHex(stored)) continue;
      throw tableError(
        `MD5 checksums don't match! (computed: 0x${toHex(computed)}, parsed: 0x${pyBytesRepr(new TextEncoder().encode(toHex(stored)))})`,
        `The MD5 record at offset ${pyHex(o)} does not match the entries before it: the table is corrupt or was edited without regenerating it.`,
      );
    }
    hash.update(record);
    if (record[0] !== MAGIC0 || record[1] !== MAGIC1) {
      throw tableError(
        `Invalid magic bytes (${pyBytesRepr(record.subarray(0, 2))}) for partition definition`,
        `Record ${o / ENTRY_SIZE} at offset ${pyHex(o)} does not start with AA 50.`,
      );
    }
    const nameBytes = record.subarray(12, 28);
    const nul = nameBytes.indexOf(0);
    let name: string;
    try {
      name = NAME_DECODER.decode(nul === -1 ? nameBytes : nameBytes.subarray(0, nul));
    } catch {
      throw tableError(`The name of the partition at offset ${pyHex(o)} is not valid UTF-8`);
    }
    let flags = view.getUint32(o + 28, true);
    const encrypted = (flags & 1) !== 0;
    const readonly = (flags & 2) !== 0;
    flags = (flags & ~3) >>> 0;
    if (flags !== 0) {
      options.onWarning?.(
        `WARNING: Partition definition had unknown flag(s) 0x${flags.toString(16).padStart(8, '0')}. Newer binary format?`,
      );
    }
    entries.push({
      name,
      type: record[2] as number,
      subtype: record[3] as number,
      offset: view.getUint32(o + 4, true),
      size: view.getUint32(o + 8, true),
      encrypted,
      readonly,
    });
  }
  throw tableError('Partition table is missing an end-of-table marker');
}
