/**
 * Firmware image inspection (formats.md §4, §6, §8): what a file is, for which chip, and whether
 * it is intact. Every read is bounds-checked; a truncated or hostile file gives IMAGE_TRUNCATED /
 * IMAGE_INVALID naming the offset, never an exception of another kind. ESP images are walked by
 * walk.ts and judged by inspect-esp.ts; this file tells containers apart (merged flash, gzip,
 * partition table, otadata) and dispatches.
 */
import { AirflashError } from '../../core/errors.ts';
import { OTADATA_SECTOR, OTADATA_SIZE, readOtadata } from '../otadata.ts';
import { decodePartitionTable } from '../partitions/binary.ts';
import { PARTITION_TYPE, type PartitionTable } from '../partitions/types.ts';
import { chipById, IMAGE_MAGIC } from './chips.ts';
import { finish, inspectEsp32, inspectEsp8266 } from './inspect-esp.ts';
import { SNIFF_BYTES, sniff } from './sniff.ts';
import { bytesSource, type ImageSource, subSource, toSource } from './source.ts';
import type { ImageInfo, ImageProblem } from './types.ts';
import { hex, looksEsp32, Reader } from './walk.ts';

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
      // zlib is loaded only for a gzip file: loading it costs every upload about 1.7 MiB of RSS.
      const { gunzipSync } = process.getBuiltinModule('node:zlib');
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
 * What a file is and whether it is intact. Throws only AirflashError IMAGE_TRUNCATED (the file
 * ends inside a structure; `data.offset` says where) or IMAGE_INVALID (a structure no tool would
 * write, e.g. more than 16 segments). Integrity problems (checksum, SHA-256, CRC) are reported in
 * `problems`, not thrown.
 */
export function inspectImage(image: Uint8Array | ImageSource): ImageInfo {
  return inspectAt(toSource(image), 0);
}
