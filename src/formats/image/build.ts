/**
 * Image builders for fixtures, tests and the demo: valid, deterministic (from a seed) images of
 * about the requested size, written straight into one buffer (a 12 MiB image takes a few tens of
 * milliseconds). The content is pseudo-random filler, not code; the structure is real.
 */
import { prng } from '../../core/prng.ts';
import { blankOtadata } from '../otadata.ts';
import { encodePartitionTable } from '../partitions/binary.ts';
import { builtinPartitionTable } from '../partitions/builtin.ts';
import type { PartitionTable } from '../partitions/types.ts';
import {
  badOption,
  elfHash,
  type FlashModeName,
  type Layout,
  layoutLength,
  modeByte,
  type SegmentSpec,
  writeCString,
  writeImage,
} from './build-write.ts';
import { APP_DESC_MAGIC, type ChipInfo, chipByName, ESP32_FLASH_SIZES } from './chips.ts';

/** The chips buildEsp32App can make apps for (the ones whose memory map formats.md documents). */
export type BuildableChip = 'esp32' | 'esp32s2' | 'esp32s3' | 'esp32c3' | 'esp32c6';
export const BUILDABLE_CHIPS: readonly BuildableChip[] = [
  'esp32',
  'esp32s2',
  'esp32s3',
  'esp32c3',
  'esp32c6',
];

export interface Esp32AppOptions {
  chip?: BuildableChip;
  /** Total file size in bytes, rounded up to a multiple of 16 (minimum 512). Default 256 KiB. */
  size?: number;
  projectName?: string;
  version?: string;
  idfVersion?: string;
  /** "Jan  1 2026" style, as __DATE__. */
  date?: string;
  /** "12:00:00" style, as __TIME__. */
  time?: string;
  secureVersion?: number;
  /** 32 bytes, or 64 hex characters; default derived from the seed. */
  elfSha256?: Uint8Array | string;
  /** Filler content seed; the same options give the same bytes. Default 1. */
  seed?: number;
  flashMode?: FlashModeName;
  /** "4MB" etc. (ESP32 size nibbles). Default "4MB". */
  flashSize?: string;
  /** "80m", "40m" … as the chip maps it. Default "80m" ("40m" where the chip has no 80m code). */
  flashFreq?: string;
  entry?: number;
  minChipRevFull?: number;
  maxChipRevFull?: number;
  /** Append the SHA-256 (hash_appended = 1). Default true, as IDF builds. */
  hashAppended?: boolean;
}

function sizeFreqByte(chip: ChipInfo, flashSize: string | undefined, flashFreq: string | undefined): number {
  const size = ESP32_FLASH_SIZES.indexOf((flashSize ?? '4MB').toUpperCase());
  if (size < 0) throw badOption(`Unknown flash size "${flashSize}" (use ${ESP32_FLASH_SIZES.join(', ')}).`);
  const entries = Object.entries(chip.freq);
  const wanted = flashFreq ?? (entries.some(([, v]) => v === '80m') ? '80m' : '40m');
  const freq = entries.find(([, v]) => v === wanted.toLowerCase());
  if (freq === undefined) {
    throw badOption(
      `${chip.label} has no flash frequency "${wanted}" (use ${entries.map(([, v]) => v).join(', ')}).`,
    );
  }
  return (size << 4) | Number(freq[0]);
}

function appDescriptor(o: Esp32AppOptions, seed: number): Uint8Array {
  const d = new Uint8Array(256);
  const view = new DataView(d.buffer);
  view.setUint32(0, APP_DESC_MAGIC, true);
  view.setUint32(4, o.secureVersion ?? 0, true);
  writeCString(d, 16, 32, o.version ?? '1.0.0');
  writeCString(d, 48, 32, o.projectName ?? 'airflash-demo');
  writeCString(d, 80, 16, o.time ?? '12:00:00');
  writeCString(d, 96, 16, o.date ?? 'Jan  1 2026');
  writeCString(d, 112, 32, o.idfVersion ?? 'v5.5.1');
  d.set(elfHash(o.elfSha256, seed), 144);
  return d;
}

const MAX_FLASH_SEGMENT = 0x300000;

/**
 * A valid ESP32-family application image: 24-byte header with the chip id, a DROM segment 0 at
 * 0x20 carrying esp_app_desc_t, DRAM and IRAM segments, flash-mapped IROM segment(s) obeying the
 * 64 KiB mapping rule, the XOR checksum and (by default) the appended SHA-256. The file size is
 * `size` rounded up to a multiple of 16.
 */
export function buildEsp32App(options: Esp32AppOptions = {}): Uint8Array {
  const chip = chipByName(options.chip ?? 'esp32');
  if (chip === undefined || !BUILDABLE_CHIPS.includes(chip.chip as BuildableChip)) {
    throw badOption(`Cannot build an app for "${options.chip}" (use ${BUILDABLE_CHIPS.join(', ')}).`);
  }
  const drom = chip.drom as readonly [number, number];
  const irom = chip.irom as readonly [number, number];
  const seed = options.seed ?? 1;
  const hashAppended = options.hashAppended !== false;
  const requested = options.size ?? 256 * 1024;
  if (!Number.isSafeInteger(requested) || requested < 0)
    throw badOption(`size ${requested} is not a byte count.`);
  const total = Math.max(512, Math.ceil(requested / 16) * 16);
  const checksumAt = total - 1 - (hashAppended ? 32 : 0);
  // Space for segment headers and data: everything from 24 up to the checksum (minus 0–3 bytes of padding).
  const budget = checksumAt - 24;
  const dram = Math.min(0x400, Math.max(16, (Math.floor(budget / 64) & ~3) >>> 0));
  const iram = Math.min(0x2000, Math.max(16, (Math.floor(budget / 16) & ~3) >>> 0));
  const desc = appDescriptor(options, seed);
  let drom0 = Math.max(256, (Math.floor(budget / 4) & ~3) >>> 0);
  drom0 = Math.min(drom0, drom[1] - (chip.appDromLoad as number) - 0x10000, MAX_FLASH_SEGMENT);
  let iromTotal = 0;
  let iromCount = 1;
  for (let pass = 0; pass < 3; pass += 1) {
    iromTotal = budget - 8 * (3 + iromCount) - drom0 - dram - iram;
    iromTotal -= iromTotal % 4;
    iromCount = Math.max(1, Math.ceil(iromTotal / MAX_FLASH_SEGMENT));
  }
  // The 512-byte minimum leaves room for every segment; keep a floor anyway.
  iromTotal = Math.max(iromTotal, 16);
  if (3 + iromCount > 16) throw badOption(`size ${requested} is too large for one image.`);
  const segments: Layout['segments'] = [
    { load: chip.appDromLoad as number, length: drom0, data: desc },
    { load: chip.dram as number, length: dram },
    { load: chip.iram as number, length: iram },
  ];
  let offset = 24 + 3 * 8 + drom0 + dram + iram;
  let remaining = iromTotal;
  let page = 1;
  const iromPages = Math.max(1, Math.floor((irom[1] - irom[0]) / 0x10000 / 2));
  while (remaining > 0) {
    const length = Math.min(remaining, MAX_FLASH_SEGMENT);
    const dataOffset = offset + 8;
    const load = irom[0] + (page % iromPages) * 0x10000 + (dataOffset % 0x10000);
    segments.push({ load, length });
    page += Math.ceil(length / 0x10000) + 1;
    offset = dataOffset + length;
    remaining -= length;
  }
  const layout: Layout = {
    family: 'esp32',
    base: 0,
    header: {
      segmentCount: segments.length,
      mode: modeByte(options.flashMode, 'dio'),
      sizeFreq: sizeFreqByte(chip, options.flashSize, options.flashFreq),
      entry: options.entry ?? (chip.iram as number) + 4,
    },
    extended: {
      chipId: chip.id,
      minRevFull: options.minChipRevFull ?? 0,
      maxRevFull: options.maxChipRevFull ?? 0,
      hashAppended,
    },
    segments,
  };
  const end = layoutLength(layout).end;
  const out = new Uint8Array(Math.max(end, total));
  writeImage(out, layout, prng(seed));
  return end === out.length ? out : out.subarray(0, end);
}

export interface EspImageOptions {
  family: 'esp32' | 'esp8266';
  /** ESP32 family: the chip (for chip_id). */
  chip?: string;
  segments: SegmentSpec[];
  entry?: number;
  flashMode?: FlashModeName;
  /** Raw byte 3 (flash size nibble << 4 | frequency nibble). Default 0x20 (ESP32 4MB/40m) / 0x40 (ESP8266 4MB/40m). */
  flashSizeFreq?: number;
  hashAppended?: boolean;
  minChipRevFull?: number;
  maxChipRevFull?: number;
  seed?: number;
}

/** Any ESP image from explicit segments (bootloaders, RAM images, odd cases for tests). */
export function buildEspImage(options: EspImageOptions): Uint8Array {
  const chip = options.family === 'esp32' ? chipByName(options.chip ?? 'esp32') : undefined;
  if (options.family === 'esp32' && chip === undefined) throw badOption(`Unknown chip "${options.chip}".`);
  const segments = options.segments.map((s) => ({
    load: s.load,
    length: s.length ?? s.data?.length ?? 0,
    ...(s.data === undefined ? {} : { data: s.data }),
  }));
  const layout: Layout = {
    family: options.family,
    base: 0,
    header: {
      segmentCount: segments.length,
      mode: modeByte(options.flashMode, 'dio'),
      sizeFreq: options.flashSizeFreq ?? (options.family === 'esp32' ? 0x20 : 0x40),
      entry: options.entry ?? 0x40080004,
    },
    ...(chip === undefined
      ? {}
      : {
          extended: {
            chipId: chip.id,
            minRevFull: options.minChipRevFull ?? 0,
            maxRevFull: options.maxChipRevFull ?? 0,
            hashAppended: options.hashAppended === true,
          },
        }),
    segments,
  };
  const out = new Uint8Array(layoutLength(layout).end);
  writeImage(out, layout, prng(options.seed ?? 1));
  return out;
}

/** A second-stage bootloader image for `chip`: RAM segments only, no app descriptor. */
export function buildBootloader(
  options: { chip?: BuildableChip; seed?: number; size?: number } = {},
): Uint8Array {
  const chip = chipByName(options.chip ?? 'esp32') as ChipInfo;
  const body = Math.max(64, ((options.size ?? 0x5000) - 64) & ~3);
  const part = (body / 4) & ~3;
  return buildEspImage({
    family: 'esp32',
    chip: chip.chip,
    segments: [
      { load: chip.dram as number, length: part },
      { load: chip.iram as number, length: part * 2 },
      { load: (chip.iram as number) + 0x8000, length: body - part * 3 },
    ],
    entry: (chip.iram as number) + 0x10,
    hashAppended: true,
    seed: options.seed ?? 7,
  });
}

export interface MergedImageOptions {
  chip?: BuildableChip;
  /** The app to place at the first app partition (default: a generated one). */
  app?: Uint8Array;
  /** Partition table (default: the built-in "default" scheme). */
  table?: PartitionTable;
  /** Pad the file to this size with 0xFF (default: 4 MiB, as merge-bin --pad-to-size). */
  flashSize?: number;
  seed?: number;
}

/**
 * A merged full-flash image like Arduino's `<sketch>.ino.merged.bin`: the bootloader at the chip's
 * bootloader offset, the partition table at 0x8000, erased otadata, the app at the first app
 * partition, 0xFF everywhere else.
 */
export function buildMergedImage(options: MergedImageOptions = {}): Uint8Array {
  const chip = chipByName(options.chip ?? 'esp32') as ChipInfo;
  const table = options.table ?? (builtinPartitionTable('default') as PartitionTable);
  const app =
    options.app ??
    buildEsp32App({ chip: chip.chip as BuildableChip, size: 64 * 1024, seed: options.seed ?? 1 });
  const size = options.flashSize ?? 4 * 1024 * 1024;
  const out = new Uint8Array(size).fill(0xff);
  out.set(buildBootloader({ chip: chip.chip as BuildableChip }), chip.bootloaderOffset);
  out.set(encodePartitionTable(table), 0x8000);
  const otadata = table.entries.find((e) => e.type === 1 && e.subtype === 0);
  if (otadata !== undefined && otadata.offset + 0x2000 <= size) out.set(blankOtadata(), otadata.offset);
  const firstApp = table.entries.find((e) => e.type === 0);
  if (firstApp === undefined || firstApp.offset + app.length > size)
    throw badOption('The app does not fit the merged image.');
  out.set(app, firstApp.offset);
  return out;
}
