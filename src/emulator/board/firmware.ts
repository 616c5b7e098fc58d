import { createHash } from 'node:crypto';
import { buildEsp32App, buildEsp8266Sketch, formatFlashSize } from '../../formats/index.ts';

/**
 * The firmware an emulated device starts with: deterministic per seed and structurally valid
 * (built by the formats module), so `booted` and runningImageMd5() mean something.
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

export function initialEsp32Firmware(size: number, seed: number): Uint8Array {
  return buildEsp32App({ chip: 'esp32', size, seed, projectName: 'airflash-emulated' });
}

export function initialEsp8266Firmware(size: number, seed: number, flashSize: number): Uint8Array {
  return buildEsp8266Sketch({ size, seed, flashSize: formatFlashSize(flashSize) });
}
