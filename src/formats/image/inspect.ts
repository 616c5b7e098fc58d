/**
 * Firmware image inspection (formats.md §4, §6, §8): what a file is, for which chip, and whether
 * it is intact. Every read is bounds-checked; a truncated or hostile file gives IMAGE_TRUNCATED /
 * IMAGE_INVALID naming the offset, never an exception of another kind.
 */
import { gunzipSync } from 'node:zlib';
import { AirflashError } from '../../core/errors.ts';
import { OTADATA_SECTOR, OTADATA_SIZE, type Otadata, readOtadata } from '../otadata.ts';
import { decodePartitionTable } from '../partitions/binary.ts';
import { PARTITION_TYPE, type PartitionTable } from '../partitions/types.ts';
import {
  APP_DESC_MAGIC,
  type ChipInfo,
  chipById,
  ESP32_FLASH_SIZES,
  ESP8266_FLASH_SIZES,
  ESP8266_IROM_BASE,
  ESP8266_SKETCH_OFFSET,
  FLASH_MODES,
  IMAGE_MAGIC,
  MAX_SEGMENTS,
} from './chips.ts';
import { SNIFF_BYTES, sniff } from './sniff.ts';
import { bytesSource, crcMpeg2Of, type ImageSource, sha256Of, subSource, toSource, xorOf } from './source.ts';

export type ImageKind =
  | 'esp32-app'
  | 'esp8266-sketch'
  | 'esp8266-image'
  | 'esp8266-gzip'
  | 'bootloader'
  | 'merged'
  | 'partition-table'
  | 'otadata'
  | 'unknown';

export interface ImageHeader {
  /** Where this image starts in the file (0x1000 for an ESP8266 sketch). */
  offset: number;
  magic: number;
  segmentCount: number;
  flashMode: number;
  /** "QIO", "DIO", … */
  flashModeName: string;
  /** Byte 3 of the header: flash size (high nibble) and frequency (low nibble). */
  flashSizeFreq: number;
  flashSizeCode: number;
  /** "4MB", "512KB" …, or "unknown (0xA)". */
  flashSize: string;
  flashFreqCode: number;
  flashFreq: string;
  entry: number;
  /** ESP32 family only (the 16-byte extended header). */
  extended?: {
    wpPin: number;
    spiPinDrv: [number, number, number];
    chipId: number;
    minChipRev: number;
    minChipRevFull: number;
    /** 0 or 0xFFFF mean "no limit". */
    maxChipRevFull: number;
    hashAppended: number;
  };
}

export type SegmentRegion = 'DROM' | 'IROM' | 'RAM' | 'padding' | 'unknown';

export interface ImageSegment {
  index: number;
  /** File offset of the 8-byte segment header. */
  headerOffset: number;
  /** File offset of the data. */
  dataOffset: number;
  loadAddress: number;
  length: number;
  region: SegmentRegion;
}

export interface AppDescriptor {
  magic: number;
  secureVersion: number;
  version: string;
  projectName: string;
  time: string;
  date: string;
  idfVersion: string;
  /** SHA-256 of the ELF, hex (Arduino: the sketch's ELF). */
  elfSha256: string;
  minEfuseBlkRevFull: number;
  maxEfuseBlkRevFull: number;
  mmuPageSizeLog2: number;
  spiFlashMode: number;
}

export interface ImageProblem {
  /** checksum_mismatch, sha256_mismatch, crc_mismatch, length_mismatch, segment_length,
   * segment_mapping, app_desc_missing, app_desc_short, trailing_bytes, no_eboot, gzip_corrupt,
   * table_invalid, … */
  code: string;
  /** error: the device would reject the image; warning: worth knowing. */
  severity: 'error' | 'warning';
  message: string;
  offset?: number;
}

export interface ChecksumInfo {
  offset: number;
  stored: number;
  computed: number;
  ok: boolean;
}

export interface EspImage {
  header: ImageHeader;
  segments: ImageSegment[];
  checksum: ChecksumInfo;
  sha256?: { offset: number; stored: string; computed: string; ok: boolean };
  /** Bytes from the image start to the end of the checksum (and SHA-256, when appended). */
  length: number;
}

export interface ImageInfo {
  kind: ImageKind;
  /** One line: "ESP32-S3 application image", "Arduino ESP8266 sketch (eboot + app)" … */
  description: string;
  /** File size in bytes. */
  size: number;
  family?: 'esp32' | 'esp8266';
  /** "esp32", "esp32s3", …, "esp8266". */
  chip?: string;
  chipLabel?: string;
  /** The (first) image's header, segments, checksum and digest. */
  image?: EspImage;
  appDesc?: AppDescriptor;
  /** Bytes after the image (signatures, padding). */
  trailingBytes?: number;
  /** Arduino ESP8266 sketch: eboot at 0 and the app at 0x1000 with its length and CRC words. */
  esp8266?: {
    eboot: EspImage;
    app: EspImage;
    /** The two words at 0x1010/0x1014 (0/0 in builds from before the CRC). */
    lengthWord: number;
    crcWord: number;
    hasCrc: boolean;
    crcComputed?: number;
    crcOk?: boolean;
    /** The app checksum matched with the two words taken as zero (elf2bin's rule). */
    checksumWithWordsZeroed: boolean;
  };
  /** Decompressed content of a gzip image. */
  inner?: ImageInfo;
  gzip?: { compressedSize: number; decompressedSize?: number };
  partitionTable?: PartitionTable;
  otadata?: Otadata;
  /** Not an ESP image: what the content looks like (ELF, text, gzip of …) and what to do. */
  content?: { looksLike: string; hint: string };
  merged?: {
    bootloaderOffset: number;
    tableOffset: number;
    partitions?: PartitionTable;
    apps: Array<{ name: string; offset: number; info?: ImageInfo; error?: string }>;
  };
  problems: ImageProblem[];
  /** No problem of severity "error". */
  ok: boolean;
}

const hex = (n: number): string => `0x${n.toString(16).toUpperCase()}`;

function truncated(what: string, offset: number, need: number, size: number): AirflashError {
  return new AirflashError(
    'IMAGE_TRUNCATED',
    `The image is truncated: ${what} at ${hex(offset)} needs ${need} byte${need === 1 ? '' : 's'} but the file ends at ${hex(size)}.`,
    {
      hint: 'The file is incomplete (an interrupted download or copy?). Build or download it again.',
      data: { offset, size },
    },
  );
}

function invalid(message: string, offset: number): AirflashError {
  return new AirflashError('IMAGE_INVALID', message, {
    hint: 'This is not a valid ESP firmware image; check that you picked the right file.',
    data: { offset },
  });
}

/** Bounds-checked little-endian reads from a source, through one small window (4 KiB). */
class Reader {
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

const xorRange = (r: Reader, start: number, end: number, seed: number): number =>
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

/** Parse one ESP image (ESP32 family with extended header, or ESP8266 V1) starting at `base`. */
function parseEspImage(
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
    r.need(cursor, 8, `the header of segment ${i}`);
    const loadAddress = r.u32(cursor, `the header of segment ${i}`);
    const length = r.u32(cursor + 4, `the header of segment ${i}`);
    if (length >= 0x1000000) {
      throw invalid(
        `Segment ${i} (header at ${hex(headerOffset)}) declares ${hex(length)} bytes; a segment must be smaller than 16 MiB.`,
        headerOffset,
      );
    }
    const dataOffset = cursor + 8;
    r.need(dataOffset, length, `the data of segment ${i}`);
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
    const storedHex = Buffer.from(r.slice(at, 32)).toString('hex');
    sha256 = { offset: at, stored: storedHex, computed, ok: computed === storedHex };
    length += 32;
  }
  return { header, segments, checksum: checksumInfo, ...(sha256 === undefined ? {} : { sha256 }), length };
}

function reportIntegrity(image: EspImage, problems: ImageProblem[], what: string): void {
  if (!image.checksum.ok) {
    problems.push({
      code: 'checksum_mismatch',
      severity: 'error',
      offset: image.checksum.offset,
      message: `${what}: checksum failed. Calculated ${hex(image.checksum.computed)}, read ${hex(image.checksum.stored)} at ${hex(image.checksum.offset)}: the segment data is corrupt.`,
    });
  }
  if (image.sha256 !== undefined && !image.sha256.ok) {
    problems.push({
      code: 'sha256_mismatch',
      severity: 'error',
      offset: image.sha256.offset,
      message: `${what}: the appended SHA-256 at ${hex(image.sha256.offset)} does not match the image ("Image hash failed - image is corrupt").`,
    });
  }
}

const TEXT = new TextDecoder('utf-8');

function cString(bytes: Uint8Array, start: number, length: number): string {
  const field = bytes.subarray(start, start + length);
  const nul = field.indexOf(0);
  return TEXT.decode(nul === -1 ? field : field.subarray(0, nul));
}

function readAppDesc(r: Reader, at: number): AppDescriptor | undefined {
  if (at + 256 > r.size) return undefined;
  const magic = r.u32(at, 'the app descriptor');
  if (magic !== APP_DESC_MAGIC) return undefined;
  const b = r.slice(at, 256);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    magic,
    secureVersion: v.getUint32(4, true),
    version: cString(b, 16, 32),
    projectName: cString(b, 48, 32),
    time: cString(b, 80, 16),
    date: cString(b, 96, 16),
    idfVersion: cString(b, 112, 32),
    elfSha256: Buffer.from(b.subarray(144, 176)).toString('hex'),
    minEfuseBlkRevFull: v.getUint16(176, true),
    maxEfuseBlkRevFull: v.getUint16(178, true),
    mmuPageSizeLog2: v.getUint8(180),
    spiFlashMode: v.getUint8(181),
  };
}

function finish(info: Omit<ImageInfo, 'ok'>): ImageInfo {
  return { ...info, ok: !info.problems.some((p) => p.severity === 'error') };
}

function looksEsp32(bytes: Uint8Array): boolean {
  // Only the first 24 bytes are read.
  if (bytes.length < 24) return false;
  const hashAppended = bytes[23] as number;
  const chipId = (bytes[12] as number) | ((bytes[13] as number) << 8);
  return (hashAppended === 0 || hashAppended === 1) && chipById(chipId) !== undefined;
}

function inspectEsp32(r: Reader): ImageInfo {
  const problems: ImageProblem[] = [];
  const image = parseEspImage(r, 0, 'esp32', problems);
  const chip = chipById(image.header.extended?.chipId ?? -1) as ChipInfo;
  reportIntegrity(image, problems, `${chip.label} image`);
  const seg0 = image.segments[0];
  let appDesc: AppDescriptor | undefined;
  if (seg0 !== undefined && seg0.dataOffset === 0x20 && seg0.length >= 4) {
    appDesc = readAppDesc(r, 0x20);
    if (appDesc !== undefined && seg0.length < 256) {
      problems.push({
        code: 'app_desc_short',
        severity: 'error',
        offset: seg0.headerOffset + 4,
        message: `Segment 0: length ${hex(seg0.length)} is too short for app description (256 bytes).`,
      });
    }
  }
  const mapped = image.segments.some((s) => s.region === 'DROM' || s.region === 'IROM');
  let kind: ImageKind;
  let description: string;
  if (appDesc !== undefined) {
    kind = 'esp32-app';
    description = `${chip.label} application image`;
  } else if (!mapped) {
    kind = 'bootloader';
    description = `${chip.label} bootloader (a RAM-loaded image, not an application)`;
  } else {
    kind = 'esp32-app';
    description = `${chip.label} application image (without app descriptor)`;
    problems.push({
      code: 'app_desc_missing',
      severity: 'warning',
      offset: 0x20,
      message: 'No app descriptor (magic 0xABCD5432) at 0x20: version and project are unknown.',
    });
  }
  const trailingBytes = r.size - image.length;
  if (trailingBytes > 0) {
    problems.push({
      code: 'trailing_bytes',
      severity: 'warning',
      offset: image.length,
      message: `${trailingBytes} bytes follow the image at ${hex(image.length)} (a Secure Boot signature or padding?).`,
    });
  }
  return finish({
    kind,
    description,
    size: r.size,
    family: 'esp32',
    chip: chip.chip,
    chipLabel: chip.label,
    image,
    ...(appDesc === undefined ? {} : { appDesc }),
    trailingBytes,
    problems,
  });
}

function inspectEsp8266(r: Reader): ImageInfo {
  const problems: ImageProblem[] = [];
  const first = parseEspImage(r, 0, 'esp8266', problems);
  const size = r.size;
  const isSketch =
    first.length <= ESP8266_SKETCH_OFFSET &&
    size > ESP8266_SKETCH_OFFSET &&
    r.at(ESP8266_SKETCH_OFFSET) === IMAGE_MAGIC;
  if (!isSketch) {
    reportIntegrity(first, problems, 'ESP8266 image');
    const trailingBytes = size - first.length;
    if (trailingBytes > 0) {
      problems.push({
        code: 'trailing_bytes',
        severity: 'warning',
        offset: first.length,
        message: `${trailingBytes} bytes follow the image at ${hex(first.length)}.`,
      });
    }
    problems.push({
      code: 'no_eboot',
      severity: 'warning',
      message:
        'A bare ESP8266 image: no eboot bootloader at 0 and no app at 0x1000, so this is not what the Arduino core uploads (a sketch .bin starts with eboot).',
    });
    return finish({
      kind: 'esp8266-image',
      description: 'ESP8266 image (bare, without eboot)',
      size,
      family: 'esp8266',
      chip: 'esp8266',
      chipLabel: 'ESP8266',
      image: first,
      trailingBytes,
      problems,
    });
  }
  reportIntegrity(first, problems, 'eboot (the bootloader at 0)');
  const appProblems: ImageProblem[] = [];
  const app = parseEspImage(r, ESP8266_SKETCH_OFFSET, 'esp8266', appProblems);
  problems.push(...appProblems);
  const seg0 = app.segments[0];
  let lengthWord = 0;
  let crcWord = 0;
  if (seg0 !== undefined && seg0.loadAddress === ESP8266_IROM_BASE + 0x1010 && seg0.length >= 8) {
    lengthWord = r.u32(seg0.dataOffset, 'the length word');
    crcWord = r.u32(seg0.dataOffset + 4, 'the CRC word');
  }
  const hasCrc = lengthWord !== 0 || crcWord !== 0;
  // elf2bin computes the XOR checksum with the two words still zero (formats.md §6.1).
  let checksumWithWordsZeroed = false;
  if (hasCrc && seg0 !== undefined) {
    const wordsXor = xorRange(r, seg0.dataOffset, seg0.dataOffset + 8, 0);
    const zeroed = app.checksum.computed ^ wordsXor;
    if (zeroed === app.checksum.stored) {
      checksumWithWordsZeroed = true;
      app.checksum = { ...app.checksum, computed: zeroed, ok: true };
    }
  }
  reportIntegrity(app, problems, 'The sketch at 0x1000');
  const end = ESP8266_SKETCH_OFFSET + app.length;
  let crcComputed: number | undefined;
  let crcOk: boolean | undefined;
  if (hasCrc && seg0 !== undefined) {
    if (lengthWord !== size) {
      problems.push({
        code: 'length_mismatch',
        severity: lengthWord > size ? 'error' : 'warning',
        offset: seg0.dataOffset,
        message: `The length word at ${hex(seg0.dataOffset)} says ${lengthWord} bytes, the file has ${size}.`,
      });
    }
    if (lengthWord <= size) {
      const w = seg0.dataOffset;
      let crc = crcMpeg2Of(r.source, 0, w, 0xffffffff);
      crc = crcMpeg2Of(bytesSource(new Uint8Array(8)), 0, 8, crc);
      crc = crcMpeg2Of(r.source, w + 8, lengthWord, crc);
      crcComputed = crc;
      crcOk = crc === crcWord;
      if (!crcOk) {
        problems.push({
          code: 'crc_mismatch',
          severity: 'error',
          offset: w + 4,
          message: `The sketch CRC-32 at ${hex(w + 4)} is ${hex(crcWord)} but the file gives ${hex(crc)}: the file is corrupt.`,
        });
      }
    }
  }
  const covered = hasCrc && lengthWord <= size ? Math.max(lengthWord, end) : end;
  const trailingBytes = size - covered;
  if (trailingBytes > 0) {
    problems.push({
      code: 'trailing_bytes',
      severity: 'warning',
      offset: covered,
      message: `${trailingBytes} bytes follow the sketch at ${hex(covered)} (a signature?).`,
    });
  }
  return finish({
    kind: 'esp8266-sketch',
    description: hasCrc
      ? 'Arduino ESP8266 sketch (eboot at 0, the app at 0x1000 with its length and CRC-32)'
      : 'Arduino ESP8266 sketch (eboot at 0, the app at 0x1000; an older build without length/CRC words)',
    size,
    family: 'esp8266',
    chip: 'esp8266',
    chipLabel: 'ESP8266',
    image: first,
    trailingBytes,
    esp8266: {
      eboot: first,
      app,
      lengthWord,
      crcWord,
      hasCrc,
      ...(crcComputed === undefined ? {} : { crcComputed }),
      ...(crcOk === undefined ? {} : { crcOk }),
      checksumWithWordsZeroed,
    },
    problems,
  });
}

/** A gzip image is decompressed in memory: its input and output are bounded (an ESP8266 sketch is
 * at most 1 MiB − 4112 bytes, formats.md §6.2). */
export const MAX_GZIP_INPUT = 4 * 1024 * 1024;
export const MAX_GUNZIP = 4 * 1024 * 1024;

function notImage(source: ImageSource, looks: { looksLike: string; hint: string }): ImageInfo {
  return finish({
    kind: 'unknown',
    description: `not a firmware image: ${looks.looksLike}`,
    size: source.size,
    content: looks,
    problems: [
      {
        code: 'not_an_image',
        severity: 'error',
        offset: 0,
        message: `This is ${looks.looksLike}, not an ESP firmware image (an ESP image starts with byte 0xE9).`,
      },
    ],
  });
}

function inspectGzip(source: ImageSource, depth: number): ImageInfo {
  const problems: ImageProblem[] = [];
  let inner: ImageInfo | undefined;
  let decompressedSize: number | undefined;
  let out: Buffer | undefined;
  if (source.size > MAX_GZIP_INPUT) {
    problems.push({
      code: 'gzip_too_big',
      severity: 'error',
      message: `The gzip file is ${source.size} bytes; a gzip-compressed ESP8266 sketch is far smaller (at most ${MAX_GZIP_INPUT} bytes are inspected).`,
    });
  } else {
    try {
      out = gunzipSync(source.read(0, source.size), { maxOutputLength: MAX_GUNZIP });
    } catch (error) {
      const tooBig = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      problems.push({
        code: tooBig ? 'gzip_too_big' : 'gzip_corrupt',
        severity: 'error',
        message: tooBig
          ? `The gzip data decompresses to more than ${MAX_GUNZIP} bytes; no ESP8266 sketch is that big.`
          : `The gzip data cannot be decompressed (${error instanceof Error ? error.message : String(error)}).`,
      });
    }
  }
  if (out !== undefined) {
    decompressedSize = out.length;
    const content = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    const looks = content.length === 0 || content[0] === IMAGE_MAGIC ? undefined : sniff(content);
    if (looks !== undefined) {
      return notImage(source, {
        looksLike: `gzip data holding ${looks.looksLike}`,
        hint: `Decompressed, this is ${looks.looksLike}. ${looks.hint}`,
      });
    }
    if (depth < 1) {
      try {
        inner = inspectAt(bytesSource(content), depth + 1);
        for (const p of inner.problems) problems.push({ ...p, message: `(inside the gzip) ${p.message}` });
      } catch (error) {
        const message = error instanceof AirflashError ? error.message : String(error);
        problems.push({
          code: 'gzip_content',
          severity: 'error',
          message: `The decompressed content is not a valid image: ${message}`,
        });
      }
    }
  }
  if (inner !== undefined && inner.family !== 'esp8266') {
    problems.push({
      code: 'gzip_not_esp8266',
      severity: 'warning',
      message: `The gzip holds ${inner.description}; only the ESP8266 updater accepts gzip-compressed images.`,
    });
  }
  return finish({
    kind: 'esp8266-gzip',
    description: `gzip-compressed ESP8266 image${inner === undefined ? '' : ` (${inner.description})`}`,
    size: source.size,
    family: 'esp8266',
    chip: inner?.chip ?? 'esp8266',
    chipLabel: inner?.chipLabel ?? 'ESP8266',
    ...(inner === undefined ? {} : { inner }),
    gzip: { compressedSize: source.size, ...(decompressedSize === undefined ? {} : { decompressedSize }) },
    problems,
  });
}

/** A binary partition table is at most 0xC00 bytes (gen_esp32part's MAX_PARTITION_LENGTH). */
const TABLE_MAX = 0xc00;

function inspectPartitionTable(source: ImageSource): ImageInfo {
  const problems: ImageProblem[] = [];
  let partitionTable: PartitionTable | undefined;
  try {
    partitionTable = decodePartitionTable(source.read(0, Math.min(source.size, TABLE_MAX)));
  } catch (error) {
    problems.push({
      code: 'table_invalid',
      severity: 'error',
      message: error instanceof AirflashError ? error.message : String(error),
    });
  }
  return finish({
    kind: 'partition-table',
    description: `binary partition table${partitionTable === undefined ? '' : ` (${partitionTable.entries.length} partitions)`}`,
    size: source.size,
    ...(partitionTable === undefined ? {} : { partitionTable }),
    problems,
  });
}

function looksOtadata(source: ImageSource): Uint8Array | undefined {
  if (source.size !== OTADATA_SIZE) return undefined;
  const bytes = source.read(0, OTADATA_SIZE);
  for (let i = 0; i < bytes.length; i += 1) {
    if (i < 32 || (i >= OTADATA_SECTOR && i < OTADATA_SECTOR + 32)) continue;
    if (bytes[i] !== 0xff) return undefined;
  }
  return bytes;
}

function inspectMerged(r: Reader, depth: number): ImageInfo | undefined {
  const tableOffset = 0x8000;
  if (r.size < tableOffset + 32 || r.at(tableOffset) !== 0xaa || r.at(tableOffset + 1) !== 0x50)
    return undefined;
  const bootloaderOffset = [0, 0x1000, 0x2000].find((o) => r.at(o) === IMAGE_MAGIC);
  if (bootloaderOffset === undefined) return undefined;
  const problems: ImageProblem[] = [];
  let partitions: PartitionTable | undefined;
  try {
    partitions = decodePartitionTable(r.source.read(tableOffset, Math.min(TABLE_MAX, r.size - tableOffset)));
  } catch (error) {
    problems.push({
      code: 'table_invalid',
      severity: 'error',
      offset: tableOffset,
      message: `The partition table at 0x8000: ${error instanceof AirflashError ? error.message : String(error)}`,
    });
  }
  let chip: string | undefined;
  let chipLabelText: string | undefined;
  const bootHead = r.source.read(bootloaderOffset, 24);
  if (looksEsp32(bootHead)) {
    const c = chipById(((bootHead[12] as number) | ((bootHead[13] as number) << 8)) & 0xffff);
    chip = c?.chip;
    chipLabelText = c?.label;
  }
  const apps: NonNullable<ImageInfo['merged']>['apps'] = [];
  for (const p of partitions?.entries ?? []) {
    if (p.type !== PARTITION_TYPE.app || p.offset >= r.size) continue;
    const slice = subSource(r.source, p.offset, p.size);
    if (slice.read(0, 1)[0] !== IMAGE_MAGIC) {
      apps.push({ name: p.name, offset: p.offset, error: 'empty (no image)' });
      continue;
    }
    try {
      const info = depth < 1 ? inspectAt(slice, depth + 1) : undefined;
      // What follows an app inside a merged file is flash padding, not a problem.
      if (info !== undefined) info.problems = info.problems.filter((x) => x.code !== 'trailing_bytes');
      apps.push({ name: p.name, offset: p.offset, ...(info === undefined ? {} : { info }) });
    } catch (error) {
      apps.push({
        name: p.name,
        offset: p.offset,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return finish({
    kind: 'merged',
    description: `merged full-flash image${chipLabelText === undefined ? '' : ` for ${chipLabelText}`} (bootloader at ${hex(bootloaderOffset)}, partition table at 0x8000${apps[0] ? `, app at ${hex(apps[0].offset)}` : ''})`,
    size: r.size,
    family: 'esp32',
    ...(chip === undefined ? {} : { chip }),
    ...(chipLabelText === undefined ? {} : { chipLabel: chipLabelText }),
    merged: { bootloaderOffset, tableOffset, ...(partitions === undefined ? {} : { partitions }), apps },
    problems,
  });
}

function inspectAt(source: ImageSource, depth: number): ImageInfo {
  if (source.size === 0) {
    throw new AirflashError('IMAGE_TRUNCATED', 'The file is empty (0 bytes).', {
      hint: 'Build the firmware again; the .bin is in the build folder.',
      data: { offset: 0, size: 0 },
    });
  }
  const r = new Reader(source);
  const merged = inspectMerged(r, depth);
  if (merged !== undefined) return merged;
  const first = r.at(0) as number;
  if (first === IMAGE_MAGIC) {
    // Every real image (ESP32 header, or ESP8266 header + a segment + checksum) is longer.
    r.need(0, 24, 'the image header');
    return looksEsp32(r.slice(0, 24)) ? inspectEsp32(r) : inspectEsp8266(r);
  }
  if (first === 0x1f && r.at(1) === 0x8b) return inspectGzip(source, depth);
  if (first === 0xaa && r.at(1) === 0x50) return inspectPartitionTable(source);
  const otadataBytes = looksOtadata(source);
  if (otadataBytes !== undefined) {
    const otadata = readOtadata(otadataBytes);
    return finish({
      kind: 'otadata',
      description: otadata.entries.every((e) => e === undefined)
        ? 'otadata (erased)'
        : 'otadata (OTA select entries)',
      size: source.size,
      otadata,
      problems: [],
    });
  }
  return notImage(source, sniff(source.read(0, SNIFF_BYTES)));
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
  const image = parseEspImage(new Reader(bytesSource(padded)), 0, fam, []);
  if (count > MAX_SEGMENTS) {
    throw invalid(
      `The image declares ${count} segments; at most ${MAX_SEGMENTS} are allowed (byte at 0x1).`,
      1,
    );
  }
  return { ...image.header, segmentCount: count };
}

/**
 * What a file is and whether it is intact. Throws only AirflashError IMAGE_TRUNCATED (the file
 * ends inside a structure; `data.offset` says where) or IMAGE_INVALID (a structure no tool would
 * write, e.g. more than 16 segments). Integrity problems (checksum, SHA-256, CRC) are reported in
 * `problems`, not thrown.
 */
export function inspectImage(image: Uint8Array | ImageSource): ImageInfo {
  return inspectAt(toSource(image), 0);
}
