/**
 * The image writer behind the builders: lays out an ESP image (header, segments with seeded
 * filler, zero padding, XOR checksum, optional SHA-256) straight into one buffer.
 */
import { createHash } from 'node:crypto';
import { AirflashError } from '../../core/errors.ts';
import { hexToBytes } from '../../core/hex.ts';
import { FLASH_MODES, IMAGE_MAGIC } from './chips.ts';

export type FlashModeName = 'qio' | 'qout' | 'dio' | 'dout';

export interface SegmentSpec {
  load: number;
  /** Either the bytes, or a length to fill with seeded filler. */
  data?: Uint8Array;
  length?: number;
}

export function badOption(message: string): AirflashError {
  return new AirflashError('BAD_ARGUMENT', message);
}

export function fillRandom(out: Uint8Array, start: number, length: number, next: () => number): void {
  let i = start;
  const end = start + length;
  if ((out.byteOffset + i) % 4 === 0) {
    const words = new Uint32Array(out.buffer, out.byteOffset + i, Math.floor(length / 4));
    for (let w = 0; w < words.length; w += 1) words[w] = next();
    i += words.length * 4;
  }
  while (i < end) {
    out[i] = next() & 0xff;
    i += 1;
  }
}

export function xorBytes(bytes: Uint8Array, start: number, end: number, seed: number): number {
  let x = seed;
  let i = start;
  if ((bytes.byteOffset + i) % 4 === 0 && end - i >= 4) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + i, Math.floor((end - i) / 4));
    let w32 = 0;
    for (let w = 0; w < words.length; w += 1) w32 ^= words[w] as number;
    x ^= (w32 ^ (w32 >>> 8) ^ (w32 >>> 16) ^ (w32 >>> 24)) & 0xff;
    i += words.length * 4;
  }
  for (; i < end; i += 1) x ^= bytes[i] as number;
  return x;
}

export function modeByte(mode: FlashModeName | undefined, fallback: FlashModeName): number {
  const m = FLASH_MODES.indexOf((mode ?? fallback).toUpperCase());
  if (m < 0 || m > 3) throw badOption(`Unknown flash mode "${mode}" (use qio, qout, dio or dout).`);
  return m;
}

export function writeCString(out: Uint8Array, at: number, field: number, text: string): void {
  const bytes = new TextEncoder().encode(text).subarray(0, field - 1);
  out.fill(0, at, at + field);
  out.set(bytes, at);
}

export function elfHash(value: Uint8Array | string | undefined, seed: number): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length !== 32) throw badOption('elfSha256 must be 32 bytes.');
    return value;
  }
  if (typeof value === 'string') {
    if (!/^[0-9a-f]{64}$/i.test(value)) throw badOption('elfSha256 must be 64 hex characters.');
    return hexToBytes(value);
  }
  return new Uint8Array(createHash('sha256').update(`airflash-elf-${seed}`).digest());
}

export interface Layout {
  family: 'esp32' | 'esp8266';
  /** Image start within `out`. */
  base: number;
  header: { segmentCount: number; mode: number; sizeFreq: number; entry: number };
  extended?: { chipId: number; minRevFull: number; maxRevFull: number; hashAppended: boolean };
  segments: Array<{ load: number; length: number; data?: Uint8Array }>;
}

export function layoutLength(l: Layout): { segmentsEnd: number; checksumAt: number; end: number } {
  let cursor = l.base + (l.family === 'esp32' ? 24 : 8);
  for (const s of l.segments) cursor += 8 + s.length;
  let checksumAt = cursor;
  while ((checksumAt - l.base + 1) % 16 !== 0) checksumAt += 1;
  const end = checksumAt + 1 + (l.extended?.hashAppended ? 32 : 0);
  return { segmentsEnd: cursor, checksumAt, end };
}

/** Write an image described by `l` into `out` (which must be large enough); returns its end. */
export function writeImage(
  out: Uint8Array,
  l: Layout,
  next: () => number,
  zeroWords?: { at: number },
): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const b = l.base;
  out[b] = IMAGE_MAGIC;
  out[b + 1] = l.segments.length;
  out[b + 2] = l.header.mode;
  out[b + 3] = l.header.sizeFreq;
  view.setUint32(b + 4, l.header.entry >>> 0, true);
  let cursor = b + 8;
  if (l.family === 'esp32' && l.extended) {
    out[b + 8] = 0xee;
    out.fill(0, b + 9, b + 24);
    view.setUint16(b + 12, l.extended.chipId, true);
    out[b + 14] = Math.floor(l.extended.minRevFull / 100) & 0xff;
    view.setUint16(b + 15, l.extended.minRevFull, true);
    view.setUint16(b + 17, l.extended.maxRevFull, true);
    out[b + 23] = l.extended.hashAppended ? 1 : 0;
    cursor = b + 24;
  }
  let checksum = 0xef;
  for (const s of l.segments) {
    view.setUint32(cursor, s.load >>> 0, true);
    view.setUint32(cursor + 4, s.length, true);
    const data = cursor + 8;
    if (s.data) {
      out.set(s.data.subarray(0, s.length), data);
      if (s.data.length < s.length) fillRandom(out, data + s.data.length, s.length - s.data.length, next);
    } else fillRandom(out, data, s.length, next);
    if (zeroWords !== undefined && zeroWords.at >= data && zeroWords.at + 8 <= data + s.length) {
      out.fill(0, zeroWords.at, zeroWords.at + 8);
    }
    checksum = xorBytes(out, data, data + s.length, checksum);
    cursor = data + s.length;
  }
  const { checksumAt, end } = layoutLength(l);
  out.fill(0, cursor, checksumAt);
  out[checksumAt] = checksum;
  if (l.extended?.hashAppended) {
    out.set(
      createHash('sha256')
        .update(out.subarray(b, checksumAt + 1))
        .digest(),
      checksumAt + 1,
    );
  }
  return end;
}
