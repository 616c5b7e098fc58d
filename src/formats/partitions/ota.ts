/** What a partition table means for OTA: slots, the filesystem target, and the verdict (formats.md §3, §7). */

import { formatFlashSize } from '../flash-size.ts';
import { pyHex } from './csv.ts';
import {
  DATA_SUBTYPE,
  DEFAULT_TABLE_OFFSET,
  isOtaSlot,
  OTA_SUBTYPE_MIN,
  PARTITION_TABLE_SIZE,
  PARTITION_TYPE,
  type PartitionEntry,
  type PartitionTable,
  subtypeName,
  typeName,
} from './types.ts';
import { tableEnd } from './validate.ts';

/** App partitions ota_0 … ota_15 present in the table, in subtype order. */
export function otaSlots(table: PartitionTable): PartitionEntry[] {
  return table.entries.filter(isOtaSlot).sort((a, b) => a.subtype - b.subtype);
}

/**
 * The OTA slots the bootloader and esp_ota_ops actually use: counted from ota_0 and stopping at
 * the first missing subtype (esp_ota_get_app_partition_count).
 */
export function usableOtaSlots(table: PartitionTable): PartitionEntry[] {
  const slots = otaSlots(table);
  const out: PartitionEntry[] = [];
  for (const s of slots) {
    if (s.subtype !== OTA_SUBTYPE_MIN + out.length) break;
    out.push(s);
  }
  return out;
}

/** The first partition with this type (and subtype, when given), in table order. */
export function findPartition(
  table: PartitionTable,
  type: number,
  subtype?: number,
): PartitionEntry | undefined {
  return table.entries.find((e) => e.type === type && (subtype === undefined || e.subtype === subtype));
}

/**
 * The partition an ESP32 writes for a filesystem OTA (espota command 100), as Arduino's Update does:
 * - 'esp32-legacy' (cores ≤ 3.3.x, U_SPIFFS = 100): the first data/spiffs partition, else data/fat.
 *   (The legacy core writes a FAT image at the partition offset + 0x1000; that is the caller's business.)
 * - 'esp32' (newest Update.h, U_FLASHFS = 100): data/spiffs, else data/fat, else data/littlefs.
 */
export function fsPartition(
  table: PartitionTable,
  core: 'esp32' | 'esp32-legacy',
): PartitionEntry | undefined {
  const order: number[] =
    core === 'esp32-legacy'
      ? [DATA_SUBTYPE.spiffs, DATA_SUBTYPE.fat]
      : [DATA_SUBTYPE.spiffs, DATA_SUBTYPE.fat, DATA_SUBTYPE.littlefs];
  for (const subtype of order) {
    const hit = findPartition(table, PARTITION_TYPE.data, subtype);
    if (hit) return hit;
  }
  return undefined;
}

export type OtaVerdictReason =
  | 'no_app'
  | 'factory_only'
  | 'single_app'
  | 'slot_gap'
  | 'no_otadata'
  | 'exceeds_flash';

export interface OtaVerdict {
  /** True when an app OTA can work: an otadata partition plus at least two usable OTA slots. */
  ok: boolean;
  reason?: OtaVerdictReason;
  /** The usable OTA slots (contiguous from ota_0). */
  slots: PartitionEntry[];
  /**
   * The largest firmware an OTA upload can take: the smallest usable slot (the image goes to the
   * slot that is not running). 0 when OTA is impossible.
   */
  maxAppSize: number;
  /** The largest app partition of any kind (what a serial flash could take). */
  largestAppPartition: number;
  /** Human sentences: the verdict, then the arithmetic behind it. */
  explanation: string[];
}

const KIB = 1024;

/** "1280 KiB" when a whole number of KiB, else "1,234 bytes". */
export function kib(bytes: number): string {
  return bytes % KIB === 0 ? `${bytes / KIB} KiB` : `${bytesText(bytes)} bytes`;
}

/**
 * "1,310,720": digits grouped by three, as `toLocaleString('en-US')` writes integers, without
 * loading the ICU number formatter (≈ 7 MB of resident memory in a short-lived CLI process).
 */
export function bytesText(bytes: number): string {
  if (!Number.isSafeInteger(bytes)) return bytes.toLocaleString('en-US');
  const digits = String(Math.abs(bytes));
  let out = '';
  for (let i = 0; i < digits.length; i += 1) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return bytes < 0 ? `-${out}` : out;
}

function label(e: PartitionEntry): string {
  const t = typeName(e.type) ?? pyHex(e.type);
  const s = subtypeName(e.type, e.subtype) ?? pyHex(e.subtype);
  return `${e.name} (${t}/${s})`;
}

function range(start: number, end: number): string {
  return `${pyHex(start)}–${pyHex(end - 1)}`;
}

function group(entries: PartitionEntry[]): string {
  return entries.map((e) => `${e.name} ${kib(e.size)}`).join(' + ');
}

/**
 * The OTA verdict for a table (and flash size, when known): can this board take an app over the
 * air, how large may it be, and why. Reasons, first match wins: no_app, factory_only (apps but no
 * ota_N), single_app (one OTA slot), slot_gap (ota_N not contiguous from ota_0), no_otadata,
 * exceeds_flash (the table ends beyond the flash).
 */
export function otaVerdict(
  table: PartitionTable,
  flashSize?: number,
  options: { tableOffset?: number } = {},
): OtaVerdict {
  const tableOffset = options.tableOffset ?? DEFAULT_TABLE_OFFSET;
  const apps = table.entries.filter((e) => e.type === PARTITION_TYPE.app);
  const allSlots = otaSlots(table);
  const slots = usableOtaSlots(table);
  const otadata = findPartition(table, PARTITION_TYPE.data, DATA_SUBTYPE.ota);
  const largestAppPartition = apps.reduce((m, e) => Math.max(m, e.size), 0);
  const end = tableEnd(table);

  let reason: OtaVerdictReason | undefined;
  if (apps.length === 0) reason = 'no_app';
  else if (allSlots.length === 0) reason = 'factory_only';
  else if (allSlots.length === 1) reason = 'single_app';
  else if (slots.length < 2) reason = 'slot_gap';
  else if (otadata === undefined) reason = 'no_otadata';
  else if (flashSize !== undefined && end > flashSize) reason = 'exceeds_flash';
  const ok = reason === undefined;
  const maxAppSize = ok ? Math.min(...slots.map((s) => s.size)) : 0;

  const explanation: string[] = [];
  switch (reason) {
    case undefined:
      explanation.push(
        `OTA works: ${slots.length} OTA slots (${slots.map((s) => `${s.name} ${kib(s.size)}`).join(', ')}) and an otadata partition. The largest firmware is ${bytesText(maxAppSize)} bytes (${kib(maxAppSize)}).`,
      );
      break;
    case 'no_app':
      explanation.push('No OTA: this table has no app partition at all.');
      break;
    case 'factory_only':
      explanation.push(
        `No OTA: this partition scheme has no OTA slot, only ${apps.map(label).join(', ')}. An OTA update needs two app slots (ota_0 and ota_1) and an otadata partition; the update is refused with "Partition Could Not be Found" (UPDATE_ERROR_NO_PARTITION).`,
      );
      break;
    case 'single_app':
      explanation.push(
        `No OTA: this partition scheme has no spare OTA slot. Its only OTA slot, ${label(allSlots[0] as PartitionEntry)}, is the one running. The newest arduino-esp32 Update refuses it ("Partition Could Not be Found", UPDATE_ERROR_NO_PARTITION); arduino-esp32 3.0 – 3.3.0 have no such guard: they erase the app they run from and crash mid-transfer, and the board then needs a serial flash. Pick a scheme with two slots (default, min_spiffs, no_fs …) and flash it once over serial.`,
      );
      break;
    case 'slot_gap':
      explanation.push(
        `No OTA: the OTA slots are not contiguous from ota_0 (${allSlots.map((s) => subtypeName(s.type, s.subtype)).join(', ')}); the bootloader counts only ${slots.length} and stops at the first missing ota_N.`,
      );
      break;
    case 'no_otadata':
      explanation.push(
        'No OTA: there are OTA slots but no otadata partition (data, ota, 0x2000 bytes), so the bootloader cannot be told to boot the new slot.',
      );
      break;
    case 'exceeds_flash':
      explanation.push(
        `No OTA on this flash: the scheme does not fit ${formatFlashSize(flashSize as number)}. The table ends at ${pyHex(end)} (${kib(end)}), beyond the ${kib(flashSize as number)} flash: the partitions past the end do not exist. Pick a scheme made for ${formatFlashSize(flashSize as number)}, or set the board's real flash size.`,
      );
      break;
  }

  // The arithmetic (formats.md §7).
  const firstFree = tableOffset + PARTITION_TABLE_SIZE;
  const total = flashSize ?? end;
  if (flashSize !== undefined) {
    const mib = flashSize % (1024 * 1024) === 0 ? `${flashSize / (1024 * 1024)} MiB = ` : '';
    explanation.push(`Flash: ${mib}${pyHex(flashSize)} = ${bytesText(flashSize)} bytes.`);
  }
  explanation.push(
    `Reserved: ${range(0, firstFree)} (${kib(firstFree)}) holds the bootloader (from 0x1000 on ESP32/ESP32-S2, from 0x0 on S3/C3/C6) and the partition table at ${pyHex(tableOffset)}; no partition may start below ${pyHex(firstFree)}.`,
  );
  const sorted = [...table.entries].sort((a, b) => a.offset - b.offset);
  if (slots.length >= 2) {
    const first = slots.reduce((m, s) => (s.offset < m.offset ? s : m));
    const last = slots.reduce((m, s) => (s.offset + s.size > m.offset + m.size ? s : m));
    const before = sorted.filter((e) => e.offset + e.size <= first.offset && e.offset >= firstFree);
    const after = sorted.filter((e) => e.offset >= last.offset + last.size);
    if (before.length > 0) {
      explanation.push(
        `Before the apps: ${group(before)} (${range(before[0]?.offset ?? firstFree, first.offset)}); an app must start on a 64 KiB boundary, here ${pyHex(first.offset)}.`,
      );
    }
    if (after.length > 0) {
      const afterStart = (after[0] as PartitionEntry).offset;
      const afterEnd = after.reduce((m, e) => Math.max(m, e.offset + e.size), 0);
      explanation.push(
        `After the apps: ${group(after)} = ${kib(after.reduce((s, e) => s + e.size, 0))} (${range(afterStart, afterEnd)}).`,
      );
    }
    const span = last.offset + last.size - first.offset;
    const slotSize = (slots[0] as PartitionEntry).size;
    const equal = slots.every((s) => s.size === slotSize);
    explanation.push(
      `What is left for apps: ${pyHex(last.offset + last.size)} − ${pyHex(first.offset)} = ${pyHex(span)} = ${kib(span)}, split into ${slots.length} slots${equal ? ` of ${pyHex(slotSize)} = ${bytesText(slotSize)} bytes = ${kib(slotSize)} each` : ''}${reason === 'exceeds_flash' ? ' (on a flash the table fits)' : ''}.`,
    );
    explanation.push(
      'An OTA update is written to the slot that is not running, so the largest firmware is one slot, not the whole flash.',
    );
  }
  const used = table.entries.reduce((s, e) => s + e.size, 0);
  const free = Math.max(0, total - firstFree - used);
  if (flashSize !== undefined) {
    explanation.push(
      `Sum: ${kib(firstFree)} reserved + ${kib(used)} in partitions${free > 0 ? ` + ${kib(free)} unused` : ''} = ${kib(firstFree + used + free)}${firstFree + used + free === flashSize ? ' = the whole flash' : ''}.`,
    );
  }
  return {
    ok,
    ...(reason === undefined ? {} : { reason }),
    slots,
    maxAppSize,
    largestAppPartition,
    explanation,
  };
}

/** Gaps between partitions and after the last one, up to the flash size (or the table end). */
export function freeRegions(
  table: PartitionTable,
  flashSize?: number,
  options: { tableOffset?: number } = {},
): Array<{ offset: number; size: number }> {
  const firstFree = (options.tableOffset ?? DEFAULT_TABLE_OFFSET) + PARTITION_TABLE_SIZE;
  const sorted = [...table.entries].filter((e) => e.offset >= firstFree).sort((a, b) => a.offset - b.offset);
  const out: Array<{ offset: number; size: number }> = [];
  let cursor = firstFree;
  for (const e of sorted) {
    if (e.offset > cursor) out.push({ offset: cursor, size: e.offset - cursor });
    cursor = Math.max(cursor, e.offset + e.size);
  }
  const end = flashSize ?? cursor;
  if (end > cursor) out.push({ offset: cursor, size: end - cursor });
  return out;
}
