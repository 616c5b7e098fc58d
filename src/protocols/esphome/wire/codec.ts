/** Builders and small readers of the host's frames (protocols-next.md §1.2). Pure. */
import { FEATURE, MAGIC } from './constants.ts';

/** Step 9: the 4-byte big-endian size. */
export function encodeSize(size: number): Uint8Array {
  if (!Number.isInteger(size) || size < 0 || size > 0xffff_ffff) throw new RangeError(`size ${size}`);
  return Uint8Array.of((size >>> 24) & 0xff, (size >>> 16) & 0xff, (size >>> 8) & 0xff, size & 0xff);
}

/** Read a 4-byte big-endian size. */
export function decodeSize(bytes: Uint8Array): number {
  if (bytes.length < 4) throw new RangeError('4 bytes needed');
  return (
    (((bytes[0] as number) << 24) |
      ((bytes[1] as number) << 16) |
      ((bytes[2] as number) << 8) |
      (bytes[3] as number)) >>>
    0
  );
}

/** ASCII bytes of a hex string (nonces, cnonces, answers, the MD5). */
export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

export function textOf(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

/** Whether the first 5 bytes are the magic. */
export function isMagic(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b);
}

/** The feature byte airflash sends: SHA-256 auth and the extended protocol (no gzip, no Noise yet). */
export const HOST_FEATURES: number = FEATURE.sha256Auth | FEATURE.extended;

/** Number of `47` acks a version-2 device sends for `size` bytes: one per block, the last one partial. */
export function ackCount(size: number, block: number): number {
  return Math.ceil(size / block);
}
