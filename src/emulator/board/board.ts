import { createHash } from 'node:crypto';
import type { PartitionTable } from '../../formats/index.ts';
import type { SparseFlash } from './flash.ts';
import { loadState, type StateMeta, saveState } from './state-dir.ts';

/**
 * The emulated board below any update protocol: its flash, what the boot ROM and bootloader choose
 * to run, and what `--state` keeps across restarts. One implementation per chip family
 * (esp32-board.ts, esp8266-board.ts); the protocol shells of src/protocols/<family>/device/ mount
 * on it and reach the flash only through it and the Update library models (updater.ts).
 */
export interface Board {
  readonly chip: 'esp32' | 'esp8266';
  readonly flash: SparseFlash;
  /** Device ms from a reset until the firmware runs again (TIMING_MODEL). */
  readonly bootMs: number;
  /** A blank board: the initial firmware (and, on ESP32, the table and otadata) written to flash. */
  writeInitialFirmware(seed: number): void;
  /** The boot ROM and bootloader after a reset; false when no app is bootable (nothing runs). */
  boot(log: (line: string) => void): boolean;
  /** Label of the partition the board runs from ('app0', …; ESP8266: 'sketch'). */
  runningPartition(): string;
  /** MD5 of the image the board boots. */
  runningImageMd5(): string;
  /** The otadata partition's bytes (ESP32; empty for ESP8266). */
  otadata(): Uint8Array;
  /** A copy of the partition table (ESP32; undefined for ESP8266). */
  partitionTable(): PartitionTable | undefined;
  /** What the flash alone does not tell, for `--state` (the firmware tag is added by the caller). */
  stateMeta(): Omit<StateMeta, 'core'>;
  /** Take back what stateMeta() saved (after the flash was restored). */
  restoreMeta(meta: Partial<StateMeta>): void;
}

/** Save `board` under `dir` (flash sectors + meta.json tagged with the firmware kind `core`). */
export function saveBoard(dir: string, board: Board, core: string): Promise<void> {
  return saveState(dir, board.flash, { core, ...board.stateMeta() });
}

/** Restore `board` from `dir`; false when there is no state saved for this firmware kind and flash size. */
export async function restoreBoard(dir: string, board: Board, core: string): Promise<boolean> {
  const meta = await loadState(dir, board.flash, core);
  if (!meta) return false;
  board.restoreMeta(meta);
  return true;
}

/** MD5 hex of `bytes` (what runningImageMd5() reports). */
export function md5Of(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}
