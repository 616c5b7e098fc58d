/**
 * The two CRCs the OTA formats use.
 * - CRC-32 (reflected, polynomial 0xEDB88320), zlib-compatible with a "previous CRC" argument:
 *   otadata uses `crc32(seqBytes, 0xFFFFFFFF)` (formats.md §5.2).
 * - CRC-32/MPEG-2 (MSB-first, polynomial 0x04C11DB7, init 0xFFFFFFFF, no final XOR): the Arduino
 *   ESP8266 sketch CRC (formats.md §6.1).
 */

const REFLECTED = new Uint32Array(256);
const MPEG2 = new Uint32Array(256);
for (let n = 0; n < 256; n += 1) {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  REFLECTED[n] = c >>> 0;
  let m = n << 24;
  for (let k = 0; k < 8; k += 1) m = m & 0x80000000 ? (m << 1) ^ 0x04c11db7 : m << 1;
  MPEG2[n] = m >>> 0;
}

/** zlib `crc32(data, previous)`: the same value as Node's `zlib.crc32(data, previous)`. */
export function crc32(data: Uint8Array, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i += 1) {
    c = (REFLECTED[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * CRC-32/MPEG-2 over `data`, continuing from `crc` (default the initial value 0xFFFFFFFF).
 * Chainable: `crc32Mpeg2(b, crc32Mpeg2(a))` equals `crc32Mpeg2(a ++ b)`.
 */
export function crc32Mpeg2(data: Uint8Array, crc = 0xffffffff): number {
  let c = crc >>> 0;
  for (let i = 0; i < data.length; i += 1) {
    c = ((c << 8) ^ (MPEG2[((c >>> 24) ^ (data[i] as number)) & 0xff] as number)) >>> 0;
  }
  return c;
}
