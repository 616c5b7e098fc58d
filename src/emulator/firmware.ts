import { createHash } from 'node:crypto';
import { esp8266SizeNibble } from './layout.ts';

/**
 * The firmware an emulated device starts with: deterministic per seed, a structurally valid image
 * (so `booted` and runningImageMd5() mean something). Uses the formats module's builders when they
 * are available, else a minimal builder of the same layout (formats.md §4, §6.1).
 */

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedFromText(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32LE(0);
}

function fill(out: Uint8Array, from: number, to: number, rnd: () => number): void {
  for (let i = from; i < to; i++) out[i] = Math.floor(rnd() * 256);
}

type Builder = (options: { size: number; seed: number; chip?: string }) => Uint8Array;

async function formatsBuilder(name: string): Promise<Builder | undefined> {
  try {
    const mod = (await import('../formats/index.ts')) as Record<string, unknown>;
    const fn = mod[name];
    return typeof fn === 'function' ? (fn as Builder) : undefined;
  } catch {
    return undefined;
  }
}

/** A valid ESP32 app image of about `size` bytes: header, extended header, one segment, checksum, SHA-256. */
export function minimalEsp32App(size: number, seed: number): Uint8Array {
  const rnd = prng(seed);
  const headerLen = 24;
  const segHeader = 8;
  let segLen = Math.max(64, size - headerLen - segHeader - 16 - 32);
  segLen -= segLen % 4;
  let body = headerLen + segHeader + segLen;
  const pad = 15 - (body % 16); // checksum byte ends the 16-byte-aligned block
  body += pad + 1;
  const out = new Uint8Array(body + 32);
  const v = new DataView(out.buffer);
  out[0] = 0xe9;
  out[1] = 1; // one segment
  out[2] = 2; // DIO
  out[3] = 0x20; // 4MB, 40 MHz
  v.setUint32(4, 0x40080000 + ((seed & 0xff) << 2), true);
  out[8] = 0xee; // wp pin
  v.setUint16(12, 0, true); // chip id 0 = ESP32
  out[23] = 1; // hash appended
  v.setUint32(24, 0x3f400020, true);
  v.setUint32(28, segLen, true);
  fill(out, 32, 32 + segLen, rnd);
  let checksum = 0xef;
  for (let i = 32; i < 32 + segLen; i++) checksum ^= out[i] as number;
  out[body - 1] = checksum;
  out.set(createHash('sha256').update(out.subarray(0, body)).digest(), body);
  return out;
}

/** An ESP8266 Arduino-style .bin head: V1 header with the flash-size nibble, then seeded bytes. */
export function minimalEsp8266Sketch(size: number, seed: number, flashSize: number): Uint8Array {
  const rnd = prng(seed);
  const out = new Uint8Array(Math.max(16, size));
  fill(out, 0, out.length, rnd);
  out[0] = 0xe9;
  out[1] = 1;
  out[2] = 2;
  out[3] = (esp8266SizeNibble(flashSize) << 4) | 0x0;
  return out;
}

export async function initialEsp32Firmware(size: number, seed: number): Promise<Uint8Array> {
  const build = await formatsBuilder('buildEsp32App');
  if (build) {
    try {
      return build({ chip: 'esp32', size, seed });
    } catch {
      // fall back below
    }
  }
  return minimalEsp32App(size, seed);
}

export async function initialEsp8266Firmware(
  size: number,
  seed: number,
  flashSize: number,
): Promise<Uint8Array> {
  const build = await formatsBuilder('buildEsp8266Sketch');
  if (build) {
    try {
      return build({ size, seed, flashSize } as { size: number; seed: number });
    } catch {
      // fall back below
    }
  }
  return minimalEsp8266Sketch(size, seed, flashSize);
}
