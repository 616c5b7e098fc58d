/**
 * Validation as gen_esp32part.py v5.5.1 `verify()` and `verify_size_fits()` (formats.md §1.8),
 * with its exact messages, plus airflash's own warnings (OTA slot gaps, unequal slots).
 */
import { AirflashError } from '../../core/errors.ts';
import { pyHex } from './csv.ts';
import {
  BOOTLOADER_SUBTYPE,
  DATA_SUBTYPE,
  DEFAULT_TABLE_OFFSET,
  isOtaSlot,
  OTA_SUBTYPE_MIN,
  offsetAlignment,
  PARTITION_TABLE_SIZE,
  PARTITION_TABLE_SUBTYPE,
  PARTITION_TYPE,
  type PartitionEntry,
  type PartitionTable,
  SUBTYPE_KEYWORDS,
  TYPE_KEYWORDS,
} from './types.ts';

export interface ValidateOptions {
  /** Table offset (default 0x8000): partitions must start at or after offset + 0x1000. */
  tableOffset?: number;
  /** Flash size in bytes (gen_esp32part `--flash-size`): the table must end within it. */
  flashSize?: number;
  /** Secure Boot V1 (`--secure v1`) requires 64 KiB app size alignment. */
  secureBootV1?: boolean;
}

export interface ValidationResult {
  /** gen_esp32part's warnings (names equal to keywords) and airflash's (OTA slot gaps …). */
  warnings: string[];
}

const NVS_RW_MIN_SIZE = 0x3000;

function invalid(entry: PartitionEntry, message: string, hint: string): AirflashError {
  return new AirflashError('PARTITION_INVALID', `Partition ${entry.name} invalid: ${message}`, { hint });
}

function verifyEntry(e: PartitionEntry, options: ValidateOptions, warnings: string[]): void {
  const align = offsetAlignment(e.type);
  if (e.offset % align !== 0) {
    const up = e.offset + (align - (e.offset % align));
    throw invalid(
      e,
      `Offset ${pyHex(e.offset)} is not aligned to ${pyHex(align)}`,
      `Move it to ${pyHex(up)}${e.type === PARTITION_TYPE.app ? ' (app partitions start on a 64 KiB boundary)' : ''}, or leave the offset empty.`,
    );
  }
  if (e.type === PARTITION_TYPE.app) {
    const sizeAlign = options.secureBootV1 ? 0x10000 : 0x1000;
    if (e.size % sizeAlign !== 0) {
      throw invalid(
        e,
        `Size ${pyHex(e.size)} is not aligned to ${pyHex(sizeAlign)}`,
        `Make the size a multiple of ${pyHex(sizeAlign)}.`,
      );
    }
  }
  const typeKeyword = TYPE_KEYWORDS.find(([k]) => k === e.name);
  if (typeKeyword && typeKeyword[1] !== e.type) {
    warnings.push(
      `WARNING: Partition has name '${e.name}' which is a partition type, but does not match this partition's type (${pyHex(e.type)}). Mistake in partition table?`,
    );
  }
  const isSubtypeName = [...SUBTYPE_KEYWORDS.values()].some((list) => list.some(([k]) => k === e.name));
  const ownSubtype = SUBTYPE_KEYWORDS.get(e.type)?.find(([k]) => k === e.name)?.[1];
  if (isSubtypeName && ownSubtype !== e.subtype) {
    warnings.push(
      `WARNING: Partition has name '${e.name}' which is a partition subtype, but this partition has non-matching type ${pyHex(e.type)} and subtype ${pyHex(e.subtype)}. Mistake in partition table?`,
    );
  }
  if (
    e.type === PARTITION_TYPE.data &&
    (e.subtype === DATA_SUBTYPE.ota || e.subtype === DATA_SUBTYPE.coredump) &&
    e.readonly
  ) {
    throw invalid(
      e,
      `'${e.name}' partition of type ${e.type} and subtype ${e.subtype} is always read-write and cannot be read-only`,
      'Remove the readonly flag.',
    );
  }
  if (
    e.type === PARTITION_TYPE.data &&
    e.subtype === DATA_SUBTYPE.nvs &&
    e.size < NVS_RW_MIN_SIZE &&
    !e.readonly
  ) {
    throw invalid(
      e,
      `'${e.name}' partition of type ${e.type} and subtype ${e.subtype} of this size (${pyHex(e.size)}) must be flagged as 'readonly' (the size of read/write NVS has to be at least ${pyHex(NVS_RW_MIN_SIZE)})`,
      'Make the nvs partition at least 0x3000 (12 KiB), or flag it readonly.',
    );
  }
}

function tableInvalid(message: string, hint: string): AirflashError {
  return new AirflashError('PARTITION_INVALID', message, { hint });
}

/** The end of the partition with the highest offset (gen_esp32part `flash_size()`). */
export function tableEnd(table: PartitionTable): number {
  let last: PartitionEntry | undefined;
  for (const e of table.entries) if (last === undefined || e.offset > last.offset) last = e;
  return last === undefined ? 0 : last.offset + last.size;
}

/**
 * Check a table the way gen_esp32part does (throws PARTITION_INVALID with its message on the
 * first problem) and return warnings. Order: each entry (alignment, readonly, nvs size), unique
 * names, offsets below the table / overlaps after sorting, otadata count and size, tee_ota,
 * then the flash size.
 */
export function validatePartitionTable(
  table: PartitionTable,
  options: ValidateOptions = {},
): ValidationResult {
  const warnings: string[] = [];
  const tableOffset = options.tableOffset ?? DEFAULT_TABLE_OFFSET;
  for (const e of table.entries) verifyEntry(e, options, warnings);

  const counts = new Map<string, number>();
  for (const e of table.entries) counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
  const dupes = [...counts].filter(([, n]) => n > 1).map(([name]) => name);
  if (dupes.length > 0) {
    throw tableInvalid(
      'Partition names must be unique',
      `Rename the partitions that share a name: ${dupes.map((d) => JSON.stringify(d)).join(', ')}.`,
    );
  }

  const sorted = [...table.entries].sort((a, b) => a.offset - b.offset);
  const firstFree = tableOffset + PARTITION_TABLE_SIZE;
  let last: PartitionEntry | undefined;
  for (const p of sorted) {
    if (p.offset < firstFree) {
      const primaryBootloader =
        p.type === PARTITION_TYPE.bootloader && p.subtype === BOOTLOADER_SUBTYPE.primary;
      const primaryTable =
        p.type === PARTITION_TYPE.partition_table && p.subtype === PARTITION_TABLE_SUBTYPE.primary;
      if (!(primaryBootloader || primaryTable)) {
        throw tableInvalid(
          `Partition offset ${pyHex(p.offset)} is below ${pyHex(firstFree)}`,
          `The bootloader and the partition table occupy everything below ${pyHex(firstFree)}; move "${p.name}" up.`,
        );
      }
    }
    if (last !== undefined && p.offset < last.offset + last.size) {
      throw tableInvalid(
        `Partition at ${pyHex(p.offset)} overlaps ${pyHex(last.offset)}-${pyHex(last.offset + last.size - 1)}`,
        `"${p.name}" starts inside "${last.name}"; move one of them or make "${last.name}" smaller.`,
      );
    }
    last = p;
  }

  const otadata = table.entries.filter(
    (e) => e.type === PARTITION_TYPE.data && e.subtype === DATA_SUBTYPE.ota,
  );
  if (otadata.length > 1) {
    throw tableInvalid(
      'Found multiple otadata partitions. Only one partition can be defined with type="data"(1) and subtype="ota"(0).',
      'Keep one otadata partition.',
    );
  }
  if (otadata.length === 1 && (otadata[0] as PartitionEntry).size !== 0x2000) {
    throw tableInvalid(
      'otadata partition must have size = 0x2000',
      'Make the otadata partition exactly 0x2000 (8 KiB).',
    );
  }
  const teeOta = table.entries.filter(
    (e) => e.type === PARTITION_TYPE.data && e.subtype === DATA_SUBTYPE.tee_ota,
  );
  if (teeOta.length > 1) {
    throw tableInvalid(
      'Found multiple TEE otadata partitions. Only one partition can be defined with type="data"(1) and subtype="tee_ota"(0x90).',
      'Keep one tee_ota partition.',
    );
  }
  if (teeOta.length === 1 && (teeOta[0] as PartitionEntry).size !== 0x2000) {
    throw tableInvalid(
      'TEE otadata partition must have size = 0x2000',
      'Make the tee_ota partition exactly 0x2000 (8 KiB).',
    );
  }

  if (options.flashSize !== undefined) {
    const end = tableEnd(table);
    if (options.flashSize < end) {
      const mb = 1024 * 1024;
      throw tableInvalid(
        `Partitions tables occupies ${(end / mb).toFixed(1)}MB of flash (${end} bytes) which does not fit in configured flash size ${Math.trunc(options.flashSize / mb)}MB. Change the flash size in menuconfig under the 'Serial Flasher Config' menu.`,
        'Pick a partition scheme made for this flash size, or set the right flash size.',
      );
    }
  }

  // airflash's own checks (gen_esp32part does not make them).
  const slots = table.entries.filter(isOtaSlot).sort((a, b) => a.subtype - b.subtype);
  if (slots.length > 0) {
    let contiguous = 0;
    while (slots.some((s) => s.subtype === OTA_SUBTYPE_MIN + contiguous)) contiguous += 1;
    if (contiguous < slots.length) {
      warnings.push(
        `OTA slots are not contiguous from ota_0: the bootloader counts ${contiguous} slot(s) and ignores ${slots
          .filter((s) => s.subtype - OTA_SUBTYPE_MIN >= contiguous)
          .map((s) => `ota_${s.subtype - OTA_SUBTYPE_MIN}`)
          .join(', ')}.`,
      );
    }
    const sizes = new Set(slots.map((s) => s.size));
    if (sizes.size > 1) {
      warnings.push(
        `OTA slots differ in size (${[...sizes].map((s) => pyHex(s)).join(', ')}): the largest firmware that always fits is the smallest slot.`,
      );
    }
    if (otadata.length === 0) {
      warnings.push(
        'There are OTA app slots but no otadata partition (data, ota): the bootloader cannot switch slots.',
      );
    }
  }
  return { warnings };
}
