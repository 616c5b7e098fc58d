/**
 * The one ESP image walker (formats.md §4): header, extended header (ESP32 family), segments, the
 * XOR checksum and the appended SHA-256, through bounds-checked reads of an ImageSource. The
 * inspector (inspect.ts) and the emulator's image check (emulator/board/image-check.ts) both use
 * it. A truncated or hostile image gives IMAGE_TRUNCATED / IMAGE_INVALID naming the offset (and,
 * for a segment, `data.segment`); integrity results (checksum, SHA-256) are returned, not thrown.
 */
import { AirflashError } from '../../core/errors.ts';
import { bytesToHex } from '../../core/hex.ts';
import {
  type ChipInfo,
  chipById,
  ESP32_FLASH_SIZES,
  ESP8266_FLASH_SIZES,
  ESP8266_IROM_BASE,
  FLASH_MODES,
  IMAGE_MAGIC,
  MAX_SEGMENTS,
} from './chips.ts';
import { bytesSource, type ImageSource, sha256Of, toSource, xorOf } from './source.ts';
import type {
  ChecksumInfo,
  EspImage,
  ImageHeader,
  ImageProblem,
  ImageSegment,
  SegmentRegion,
} from './types.ts';

export const hex = (n: number): string => `0x${n.toString(16).toUpperCase()}`;

export function truncated(
  what: string,
  offset: number,
  need: number,
  size: number,
  segment?: number,
): AirflashError {
  return new AirflashError(
    'IMAGE_TRUNCATED',
    `The image is truncated: ${what} at ${hex(offset)} needs ${need} byte${need === 1 ? '' : 's'} but the file ends at ${hex(size)}.`,
    {
      hint: 'The file is incomplete (an interrupted download or copy?). Build or download it again.',
      data: { offset, size, what, ...(segment === undefined ? {} : { segment }) },
    },
  );
}

export function invalid(message: string, offset: number, segment?: number): AirflashError {
  return new AirflashError('IMAGE_INVALID', message, {
    hint: 'This is not a valid ESP firmware image; check that you picked the right file.',
    data: { offset, ...(segment === undefined ? {} : { segment }) },
  });
}

/** Bounds-checked little-endian reads from a source, through one small window (4 KiB). */
export class Reader {
  readonly source: ImageSource;
  readonly size: number;
  #at = 0;
  #window: Uint8Array = new Uint8Array(0);
  constructor(source: ImageSource) {
    this.source = source;
    this.size = source.size;
  }
  need(offset: number, length: number, what: string): void {
    if (offset < 0 || offset + length > this.size) throw truncated(what, offset, length, this.size);
  }
  /** `length` bytes at `offset` (the caller checked the bounds; length ≤ SOURCE_CHUNK). */
  slice(offset: number, length: number): Uint8Array {
    const w = this.#window;
    if (offset >= this.#at && offset + length <= this.#at + w.length)
      return w.subarray(offset - this.#at, offset - this.#at + length);
    if (length > 4096) return this.source.read(offset, length);
    this.#at = offset;
    this.#window = this.source.read(offset, 4096);
    return this.#window.subarray(0, length);
  }
  #view(offset: number, length: number, what: string): DataView {
    this.need(offset, length, what);
    const b = this.slice(offset, length);
    // A file that shrank after its size was taken.
    if (b.length < length) throw truncated(what, offset, length, offset + b.length);
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  u8(offset: number, what: string): number {
    return this.#view(offset, 1, what).getUint8(0);
  }
  u16(offset: number, what: string): number {
    return this.#view(offset, 2, what).getUint16(0, true);
  }
  u32(offset: number, what: string): number {
    return this.#view(offset, 4, what).getUint32(0, true);
  }
  /** The byte at `offset`, or undefined past the end. */
  at(offset: number): number | undefined {
    return offset >= 0 && offset < this.size ? this.slice(offset, 1)[0] : undefined;
  }
}

export const xorRange = (r: Reader, start: number, end: number, seed: number): number =>
  xorOf(r.source, start, end, seed);

function regionOf(address: number, chip: ChipInfo | undefined, family: 'esp32' | 'esp8266'): SegmentRegion {
  if (address === 0) return 'padding';
  const inRange = (r: readonly [number, number] | undefined): boolean =>
    r !== undefined && address >= r[0] && address < r[1];
  if (family === 'esp8266') {
    return address >= ESP8266_IROM_BASE && address < ESP8266_IROM_BASE + 0x100000 ? 'IROM' : 'RAM';
  }
  if (inRange(chip?.drom)) return 'DROM';
  if (inRange(chip?.irom)) return 'IROM';
  if (chip?.drom === undefined) return 'unknown';
  return 'RAM';
}

const MODE = (m: number): string => FLASH_MODES[m] ?? `unknown (${m})`;

/** Walk one ESP image (ESP32 family with extended header, or ESP8266 V1) starting at `base`. */
export function walkReader(
  r: Reader,
  base: number,
  family: 'esp32' | 'esp8266',
  problems: ImageProblem[],
): EspImage {
  const magic = r.u8(base, 'the image header');
  r.need(base, 8, 'the image header');
  if (magic !== IMAGE_MAGIC)
    throw invalid(`No image magic 0xE9 at ${hex(base)} (found ${hex(magic)}).`, base);
  const segmentCount = r.u8(base + 1, 'the segment count');
  const flashMode = r.u8(base + 2, 'the flash mode');
  const sizeFreq = r.u8(base + 3, 'the flash size/frequency byte');
  const entry = r.u32(base + 4, 'the entry point');
  const sizeCode = sizeFreq >> 4;
  const freqCode = sizeFreq & 0x0f;
  let chip: ChipInfo | undefined;
  let extended: ImageHeader['extended'];
  let cursor = base + 8;
  if (family === 'esp32') {
    r.need(base, 24, 'the extended header');
    const chipId = r.u16(base + 12, 'the chip id');
    chip = chipById(chipId);
    extended = {
      wpPin: r.u8(base + 8, 'wp_pin'),
      spiPinDrv: [r.u8(base + 9, 'drive'), r.u8(base + 10, 'drive'), r.u8(base + 11, 'drive')],
      chipId,
      minChipRev: r.u8(base + 14, 'min_chip_rev'),
      minChipRevFull: r.u16(base + 15, 'min_chip_rev_full'),
      maxChipRevFull: r.u16(base + 17, 'max_chip_rev_full'),
      hashAppended: r.u8(base + 23, 'hash_appended'),
    };
    cursor = base + 24;
  }
  if (segmentCount > MAX_SEGMENTS) {
    throw invalid(
      `The image at ${hex(base)} declares ${segmentCount} segments; at most ${MAX_SEGMENTS} are allowed (byte at ${hex(base + 1)}).`,
      base + 1,
    );
  }
  const freqName =
    family === 'esp8266'
      ? ({ 0: '40m', 1: '26m', 2: '20m', 15: '80m' } as Record<number, string>)[freqCode]
      : chip?.freq[freqCode];
  const sizeName = family === 'esp8266' ? ESP8266_FLASH_SIZES[sizeCode] : ESP32_FLASH_SIZES[sizeCode];
  const header: ImageHeader = {
    offset: base,
    magic,
    segmentCount,
    flashMode,
    flashModeName: MODE(flashMode),
    flashSizeFreq: sizeFreq,
    flashSizeCode: sizeCode,
    flashSize: sizeName ?? `unknown (${hex(sizeCode)})`,
    flashFreqCode: freqCode,
    flashFreq: freqName ?? `unknown (${hex(freqCode)})`,
    entry,
    ...(extended === undefined ? {} : { extended }),
  };

  const segments: ImageSegment[] = [];
  let checksum = 0xef;
  for (let i = 0; i < segmentCount; i += 1) {
    const headerOffset = cursor;
    if (cursor < 0 || cursor + 8 > r.size)
      throw truncated(`the header of segment ${i}`, cursor, 8, r.size, i);
    const loadAddress = r.u32(cursor, `the header of segment ${i}`);
    const length = r.u32(cursor + 4, `the header of segment ${i}`);
    if (length >= 0x1000000) {
      throw invalid(
        `Segment ${i} (header at ${hex(headerOffset)}) declares ${hex(length)} bytes; a segment must be smaller than 16 MiB.`,
        headerOffset,
        i,
      );
    }
    const dataOffset = cursor + 8;
    if (dataOffset + length > r.size)
      throw truncated(`the data of segment ${i}`, dataOffset, length, r.size, i);
    checksum = xorRange(r, dataOffset, dataOffset + length, checksum);
    const region = regionOf(loadAddress, chip, family);
    segments.push({ index: i, headerOffset, dataOffset, loadAddress, length, region });
    if (length % 4 !== 0) {
      problems.push({
        code: 'segment_length',
        severity: 'error',
        offset: headerOffset + 4,
        message: `Segment ${i} is ${length} bytes long, not a multiple of 4; the bootloader refuses it ("invalid segment length").`,
      });
    }
    if (
      family === 'esp32' &&
      chip?.fixedMmuPage === true &&
      (region === 'DROM' || region === 'IROM') &&
      (dataOffset - base) % 0x10000 !== loadAddress % 0x10000
    ) {
      problems.push({
        code: 'segment_mapping',
        severity: 'error',
        offset: headerOffset,
        message: `Segment ${i} load address ${hex(loadAddress)} doesn't match data ${hex(dataOffset - base)} (modulo 64 KiB); the bootloader cannot map it.`,
      });
    }
    cursor = dataOffset + length;
  }
  // Zero padding, then the checksum byte so that the position after it is a multiple of 16.
  let checksumOffset = cursor;
  while ((checksumOffset - base + 1) % 16 !== 0) checksumOffset += 1;
  const stored = r.u8(checksumOffset, 'the checksum byte');
  const checksumInfo: ChecksumInfo = {
    offset: checksumOffset,
    stored,
    computed: checksum,
    ok: stored === checksum,
  };
  let length = checksumOffset + 1 - base;
  let sha256: EspImage['sha256'];
  if (extended?.hashAppended === 1) {
    const at = checksumOffset + 1;
    r.need(at, 32, 'the appended SHA-256');
    const computed = sha256Of(r.source, base, at);
    const storedHex = bytesToHex(r.slice(at, 32));
    sha256 = { offset: at, stored: storedHex, computed, ok: computed === storedHex };
    length += 32;
  }
  return { header, segments, checksum: checksumInfo, ...(sha256 === undefined ? {} : { sha256 }), length };
}

export function looksEsp32(bytes: Uint8Array): boolean {
  // Only the first 24 bytes are read.
  if (bytes.length < 24) return false;
  const hashAppended = bytes[23] as number;
  const chipId = (bytes[12] as number) | ((bytes[13] as number) << 8);
  return (hashAppended === 0 || hashAppended === 1) && chipById(chipId) !== undefined;
}

/**
 * Walk the ESP image at `base` of `image` (`family` decides whether the 16-byte extended header is
 * read). Integrity results are in the returned checksum / sha256; structural notes (segment
 * length, mapping) are pushed to `problems`. Throws IMAGE_TRUNCATED / IMAGE_INVALID.
 */
export function walkEspImage(
  image: Uint8Array | ImageSource,
  base: number,
  family: 'esp32' | 'esp8266',
  problems: ImageProblem[] = [],
): EspImage {
  return walkReader(new Reader(toSource(image)), base, family, problems);
}

/**
 * Only the header of an image (8 bytes, plus the 16-byte extended header for the ESP32 family):
 * for a quick look at the first bytes of a file. `family` defaults to esptool's guess (ESP32 when
 * byte 23 is 0 or 1 and the chip id is known). Throws IMAGE_TRUNCATED / IMAGE_INVALID.
 */
export function readImageHeader(bytes: Uint8Array, family?: 'esp32' | 'esp8266'): ImageHeader {
  const fam = family ?? (looksEsp32(bytes) ? 'esp32' : 'esp8266');
  const r = new Reader(bytesSource(bytes));
  r.need(0, fam === 'esp32' ? 24 : 8, 'the image header');
  // Parse with no segments: a copy of the header with the segment count zeroed.
  const head = new Uint8Array(bytes.subarray(0, fam === 'esp32' ? 24 : 8));
  const count = head[1] as number;
  head[1] = 0;
  const padded = new Uint8Array(head.length + 16 + 32);
  padded.set(head);
  const image = walkReader(new Reader(bytesSource(padded)), 0, fam, []);
  if (count > MAX_SEGMENTS) {
    throw invalid(
      `The image declares ${count} segments; at most ${MAX_SEGMENTS} are allowed (byte at 0x1).`,
      1,
    );
  }
  return { ...image.header, segmentCount: count };
}
