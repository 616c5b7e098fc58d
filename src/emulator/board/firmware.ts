import { createHash } from 'node:crypto';
import { buildEsp32App, buildEsp8266Sketch, formatFlashSize } from '../../formats/index.ts';

/**
 * The firmware an emulated device starts with: deterministic per seed and structurally valid
 * (built by the formats module), so `booted` and runningImageMd5() mean something.
 */

/** The emulator's PRNG: the one in core (mulberry32), scaled to [0, 1). */
export { prngUnit as prng } from '../../core/prng.ts';

export function seedFromText(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32LE(0);
}

export function initialEsp32Firmware(size: number, seed: number): Uint8Array {
  return buildEsp32App({ chip: 'esp32', size, seed, projectName: 'airflash-emulated' });
}

export function initialEsp8266Firmware(size: number, seed: number, flashSize: number): Uint8Array {
  return buildEsp8266Sketch({ size, seed, flashSize: formatFlashSize(flashSize) });
}
