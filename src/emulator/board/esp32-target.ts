import {
  DATA_SUBTYPE,
  findPartition,
  PARTITION_TYPE,
  type PartitionEntry,
  type PartitionTable,
} from '../../formats/index.ts';
import type { FlashRegion } from './update-common.ts';

/**
 * Where an ESP32 `Update.begin(size, command)` writes, per Update library revision
 * (docs/emulator.md "ESP32 Update revisions"):
 * - '3.0': arduino-esp32 3.0 – 3.3.0 (libraries/Update/src/Updater.cpp, 2024 revision);
 * - '3.3.1': the 3.3.1 release: same targets as 3.0 (U_SPIFFS = 100: spiffs, then fat);
 * - 'newest': after PR #11856 (`U_FLASHFS` = 100: spiffs, fat, then littlefs) with the
 *   "target is the running partition" guard.
 */
export type Esp32UpdaterRevision = '3.0' | '3.3.1' | 'newest';

export const ESP32_UPDATER_REVISIONS: readonly Esp32UpdaterRevision[] = ['3.0', '3.3.1', 'newest'];

const OTA_MIN = 0x10;
const OTA_MAX = 0x20;

/**
 * ESP-IDF components/app_update/esp_ota_ops.c `esp_ota_get_next_update_partition(NULL)`: walk the
 * OTA subtypes ota_0 … ota_15 in subtype order (each `esp_partition_find_first`, so the first
 * table entry of that subtype), skipping subtypes that are missing (a gap is not an end); return
 * the slot found after the running one, else the first slot found (wrap-around, or a running
 * factory app). On a one-slot table that is the running slot itself.
 */
export function nextUpdatePartition(
  table: PartitionTable,
  running: PartitionEntry | undefined,
): PartitionEntry | undefined {
  let first: PartitionEntry | undefined;
  let nextIsResult = false;
  for (let t = OTA_MIN; t < OTA_MAX; t++) {
    const p = findPartition(table, PARTITION_TYPE.app, t);
    if (!p) continue;
    first ??= p;
    if (running && p.offset === running.offset && p.name === running.name) nextIsResult = true;
    else if (nextIsResult) return p;
  }
  return first;
}

export interface Esp32Target {
  region: FlashRegion | undefined;
  /** The target is the partition the device runs from (only possible without the guard). */
  overwritesRunning: boolean;
}

const region = (p: PartitionEntry): FlashRegion => ({ label: p.name, offset: p.offset, size: p.size });

/** The partition `Update.begin()` picks for `command`, or undefined ("Partition Could Not be Found"). */
export function esp32UpdateTarget(
  table: PartitionTable,
  running: PartitionEntry | undefined,
  command: number,
  revision: Esp32UpdaterRevision,
): Esp32Target {
  if (command === 0) {
    const p = nextUpdatePartition(table, running);
    const isRunning = p !== undefined && running !== undefined && p.offset === running.offset;
    // Newest Updater.cpp `begin()`: a next-update partition equal to esp_ota_get_running_partition()
    // is refused with UPDATE_ERROR_NO_PARTITION (issue 13 item 5). 3.0 – 3.3.0 have no such check
    // (Updater.cpp 2024 revision `begin()`: only `if (!_partition)`); 3.3.1 is ASSUMED to be the
    // same as 3.3.0 here (docs/emulator.md ASSUMPTION A6).
    if (isRunning && revision === 'newest') return { region: undefined, overwritesRunning: false };
    return { region: p && region(p), overwritesRunning: isRunning };
  }
  // U_SPIFFS (≤ 3.3.1) / U_FLASHFS (newest): Updater.cpp `begin()` tries spiffs (by label), then
  // the first fat partition; the newest revision then littlefs (PR #11856). The 3.0-era code sets
  // `_paroffset = 0x1000` for fat but never reads it: every write goes to `_partition` at
  // `_progress` (`ESP.partitionWrite(_partition, _progress + skip, …)`), i.e. partition offset 0.
  const order: number[] =
    revision === 'newest'
      ? [DATA_SUBTYPE.spiffs, DATA_SUBTYPE.fat, DATA_SUBTYPE.littlefs]
      : [DATA_SUBTYPE.spiffs, DATA_SUBTYPE.fat];
  for (const subtype of order) {
    const p = findPartition(table, PARTITION_TYPE.data, subtype);
    if (p) return { region: region(p), overwritesRunning: false };
  }
  return { region: undefined, overwritesRunning: false };
}
