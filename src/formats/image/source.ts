/**
 * Where the image inspector reads from: bounded positional reads, so that a file of any size is
 * inspected with a flat memory profile (the header, the segment table and the app descriptor are
 * read where they are; checksums and digests are computed over ranges in chunks). In memory for a
 * Uint8Array; src/upload/image-file.ts gives the same interface over a file handle.
 */
import { createHash } from 'node:crypto';
import { crc32Mpeg2 } from '../crc.ts';

/** Largest single read the inspector asks for (range helpers read in chunks of this size). */
export const SOURCE_CHUNK = 64 * 1024;

export interface ImageSource {
  /** Total size in bytes. */
  readonly size: number;
  /**
   * The bytes at [offset, offset + length), fewer where the source ends (never more than
   * `length`). Callers keep `length` ≤ SOURCE_CHUNK unless they know the range is small.
   */
  read(offset: number, length: number): Uint8Array;
  /**
   * Optional: call `fn` with each chunk of [start, end) in order, through one reused buffer (so
   * a chunk is valid only during its call). Hashing a large file then allocates nothing.
   */
  scan?(start: number, end: number, fn: (chunk: Uint8Array) => void): void;
}

export function isImageSource(value: Uint8Array | ImageSource): value is ImageSource {
  return !(value instanceof Uint8Array);
}

export function bytesSource(bytes: Uint8Array): ImageSource {
  return {
    size: bytes.length,
    read: (offset, length) =>
      bytes.subarray(Math.max(0, offset), Math.max(0, Math.min(bytes.length, offset + length))),
  };
}

export function toSource(image: Uint8Array | ImageSource): ImageSource {
  return isImageSource(image) ? image : bytesSource(image);
}

/** The part [offset, offset + size) of `source`, addressed from 0. */
export function subSource(source: ImageSource, offset: number, size: number): ImageSource {
  const end = Math.min(source.size, offset + size);
  const length = Math.max(0, end - offset);
  const clip = (at: number, n: number): [number, number] => [
    Math.max(0, at),
    Math.max(Math.max(0, at), Math.min(length, at + n)),
  ];
  return {
    size: length,
    read: (at, n) => {
      const [start, stop] = clip(at, n);
      return stop <= start ? new Uint8Array(0) : source.read(offset + start, stop - start);
    },
    scan: (at, end, fn) => {
      const [start, stop] = clip(at, end - at);
      forEachChunk(source, offset + start, offset + stop, fn);
    },
  };
}

/** Call `fn` for each chunk of [start, end); stops early where the source ends. */
export function forEachChunk(
  source: ImageSource,
  start: number,
  end: number,
  fn: (chunk: Uint8Array) => void,
): void {
  if (source.scan !== undefined) {
    source.scan(start, end, fn);
    return;
  }
  for (let at = start; at < end; ) {
    const chunk = source.read(at, Math.min(SOURCE_CHUNK, end - at));
    if (chunk.length === 0) return;
    fn(chunk);
    at += chunk.length;
  }
}

export function xorOf(source: ImageSource, start: number, end: number, seed: number): number {
  let x = seed;
  forEachChunk(source, start, end, (chunk) => {
    for (let i = 0; i < chunk.length; i += 1) x ^= chunk[i] as number;
  });
  return x;
}

export function sha256Of(source: ImageSource, start: number, end: number): string {
  const hash = createHash('sha256');
  forEachChunk(source, start, end, (chunk) => hash.update(chunk));
  return hash.digest('hex');
}

export function crcMpeg2Of(source: ImageSource, start: number, end: number, crc: number): number {
  let c = crc;
  forEachChunk(source, start, end, (chunk) => {
    c = crc32Mpeg2(chunk, c);
  });
  return c;
}
