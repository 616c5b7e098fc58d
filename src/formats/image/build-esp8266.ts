/** The Arduino ESP8266 sketch builder (formats.md §6.1), for fixtures, tests and the demo. */
import { prng } from '../../core/prng.ts';
import { crc32Mpeg2 } from '../crc.ts';
import { badOption, type FlashModeName, type Layout, modeByte, writeImage } from './build-write.ts';
import { ESP8266_FLASH_SIZES, ESP8266_IROM_BASE, ESP8266_SKETCH_OFFSET } from './chips.ts';

export interface Esp8266SketchOptions {
  /** Total file size, rounded up to a multiple of 16 (minimum 0x1200). Default 300 KiB. */
  size?: number;
  seed?: number;
  /** Default "dout" (the Arduino generic ESP8266 board default is DOUT on many boards; use what you need). */
  flashMode?: FlashModeName;
  /** ESP8266 size name: "512KB", "1MB", "2MB", "4MB", "8MB", "16MB" … Default "4MB". */
  flashSize?: string;
  /** "40m", "26m", "20m", "80m". Default "40m". */
  flashFreq?: string;
  /** Raw header byte 3 (overrides flashSize/flashFreq). */
  flashSizeByte?: number;
  /** Patch the length and CRC-32 words at 0x1010/0x1014 (Arduino core ≥ 3.0). Default true. */
  withCrc?: boolean;
  entry?: number;
}

const ESP8266_FREQ: Record<string, number> = { '40m': 0, '26m': 1, '20m': 2, '80m': 0xf };

/**
 * A real-layout Arduino ESP8266 sketch .bin (formats.md §6.1): eboot (a 1-segment V1 image) at 0
 * padded with 0xAA to 0x1000, the sketch at 0x1000 whose first segment (.irom0.text at
 * 0x40201010) starts with the total length and the CRC-32/MPEG-2 of the file (taken with those two
 * words as zero), and whose XOR checksum was computed before they were patched in, as elf2bin does.
 */
export function buildEsp8266Sketch(options: Esp8266SketchOptions = {}): Uint8Array {
  const seed = options.seed ?? 1;
  const next = prng(seed ^ 0x8266);
  let sizeFreq = options.flashSizeByte;
  if (sizeFreq === undefined) {
    const sizeName = (options.flashSize ?? '4MB').toUpperCase();
    const code = Object.entries(ESP8266_FLASH_SIZES).find(([, v]) => v.toUpperCase() === sizeName)?.[0];
    if (code === undefined) throw badOption(`Unknown ESP8266 flash size "${options.flashSize}".`);
    const freq = ESP8266_FREQ[(options.flashFreq ?? '40m').toLowerCase()];
    if (freq === undefined)
      throw badOption(`Unknown flash frequency "${options.flashFreq}" (40m, 26m, 20m, 80m).`);
    sizeFreq = (Number(code) << 4) | freq;
  }
  const mode = modeByte(options.flashMode, 'dout');
  const total = Math.max(0x1200, Math.ceil((options.size ?? 300 * 1024) / 16) * 16);
  const out = new Uint8Array(total);
  // eboot: one IRAM segment, like the real bootloaders/eboot/eboot.elf.
  const ebootLength = 0x500 + ((next() % 0x100) & ~3);
  const eboot: Layout = {
    family: 'esp8266',
    base: 0,
    header: { segmentCount: 1, mode, sizeFreq, entry: 0x4010f000 },
    segments: [{ load: 0x4010f000, length: ebootLength }],
  };
  const ebootEnd = writeImage(out, eboot, next);
  out.fill(0xaa, ebootEnd, ESP8266_SKETCH_OFFSET);
  // The sketch: .irom0.text, .text (IRAM), .data, .rodata.
  const checksumAt = total - 1;
  const budget = checksumAt - (ESP8266_SKETCH_OFFSET + 8) - 4 * 8;
  const text = Math.min(0x7000, (Math.floor(budget / 8) & ~3) >>> 0) || 4;
  const data = Math.min(0x600, (Math.floor(budget / 32) & ~3) >>> 0) || 4;
  const rodata = Math.min(0x1800, (Math.floor(budget / 16) & ~3) >>> 0) || 4;
  let irom = budget - text - data - rodata;
  irom -= irom % 4;
  const app: Layout = {
    family: 'esp8266',
    base: ESP8266_SKETCH_OFFSET,
    header: { segmentCount: 4, mode, sizeFreq, entry: options.entry ?? 0x40100000 + 0x4d0 },
    segments: [
      { load: ESP8266_IROM_BASE + 0x1010, length: irom },
      { load: 0x40100000, length: text },
      { load: 0x3ffe8000, length: data },
      { load: 0x3ffe8000 + data, length: rodata },
    ],
  };
  const wordsAt = ESP8266_SKETCH_OFFSET + 0x10;
  const end = writeImage(out, app, next, { at: wordsAt });
  const result = end === out.length ? out : out.slice(0, end);
  if (options.withCrc !== false) {
    const view = new DataView(result.buffer, result.byteOffset, result.byteLength);
    // The words are zero here: the CRC is computed over the file as it is, then patched in.
    const crc = crc32Mpeg2(result);
    view.setUint32(wordsAt, result.length, true);
    view.setUint32(wordsAt + 4, crc, true);
  }
  return result;
}
