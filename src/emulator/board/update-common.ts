/**
 * What the two cores' Update library models share (docs formats.md §4.9 and §6.3–§6.4,
 * protocol.md §4.6): the flash region a write goes to, the write result (bytes taken and the flash
 * time they cost, which the caller spends), and the 4 KiB buffer / 64 KiB block geometry.
 */
import { TIMING_MODEL } from './timing.ts';

export interface FlashRegion {
  label: string;
  offset: number;
  size: number;
}

export interface WriteResult {
  written: number;
  costMs: number;
}

export const SECTOR = TIMING_MODEL.flash.sectorSize;
export const BLOCK = TIMING_MODEL.flash.blockSize;
export const roundUp4K = (n: number): number => Math.ceil(n / SECTOR) * SECTOR;
