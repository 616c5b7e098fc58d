/** Partition table model and the keyword tables of ESP-IDF gen_esp32part.py v5.5.1 (formats.md §1.3, §1.4). */

export interface PartitionEntry {
  name: string;
  type: number;
  subtype: number;
  offset: number;
  size: number;
  encrypted: boolean;
  readonly: boolean;
}

export interface PartitionTable {
  entries: PartitionEntry[];
}

export const PARTITION_TYPE = { app: 0, data: 1, bootloader: 2, partition_table: 3 } as const;

export const APP_SUBTYPE = {
  factory: 0x00,
  ota_0: 0x10,
  ota_1: 0x11,
  ota_2: 0x12,
  ota_3: 0x13,
  ota_4: 0x14,
  ota_5: 0x15,
  ota_6: 0x16,
  ota_7: 0x17,
  ota_8: 0x18,
  ota_9: 0x19,
  ota_10: 0x1a,
  ota_11: 0x1b,
  ota_12: 0x1c,
  ota_13: 0x1d,
  ota_14: 0x1e,
  ota_15: 0x1f,
  test: 0x20,
  tee_0: 0x30,
  tee_1: 0x31,
} as const;

export const DATA_SUBTYPE = {
  ota: 0x00,
  phy: 0x01,
  nvs: 0x02,
  coredump: 0x03,
  nvs_keys: 0x04,
  efuse: 0x05,
  undefined: 0x06,
  esphttpd: 0x80,
  fat: 0x81,
  spiffs: 0x82,
  littlefs: 0x83,
  tee_ota: 0x90,
} as const;

export const BOOTLOADER_SUBTYPE = { primary: 0x00, ota: 0x01, recovery: 0x02 } as const;
export const PARTITION_TABLE_SUBTYPE = { primary: 0x00, ota: 0x01 } as const;

/** First OTA app subtype (ota_0) and the number of OTA subtypes. */
export const OTA_SUBTYPE_MIN = 0x10;
export const OTA_SUBTYPE_COUNT = 16;

/** Default table offset (Kconfig PARTITION_TABLE_OFFSET) and the table's sector size. */
export const DEFAULT_TABLE_OFFSET = 0x8000;
export const PARTITION_TABLE_SIZE = 0x1000;
/** Size of the generated binary table (the last 1 KiB of the sector is kept for a signature). */
export const PARTITION_TABLE_BINARY_SIZE = 0xc00;

/**
 * Keyword → value tables in the order gen_esp32part lists them (its "Known keywords" message):
 * app subtypes are factory, test, tee_0, tee_1, then ota_0…ota_15 (added by a loop afterwards).
 */
export const TYPE_KEYWORDS: ReadonlyArray<readonly [string, number]> = [
  ['app', 0],
  ['data', 1],
  ['bootloader', 2],
  ['partition_table', 3],
];

const APP_KEYWORDS: Array<readonly [string, number]> = [
  ['factory', 0x00],
  ['test', 0x20],
  ['tee_0', 0x30],
  ['tee_1', 0x31],
];
for (let i = 0; i < OTA_SUBTYPE_COUNT; i += 1) APP_KEYWORDS.push([`ota_${i}`, OTA_SUBTYPE_MIN + i]);

export const SUBTYPE_KEYWORDS: ReadonlyMap<number, ReadonlyArray<readonly [string, number]>> = new Map([
  [0, APP_KEYWORDS],
  [1, Object.entries(DATA_SUBTYPE) as Array<readonly [string, number]>],
  [2, Object.entries(BOOTLOADER_SUBTYPE) as Array<readonly [string, number]>],
  [3, Object.entries(PARTITION_TABLE_SUBTYPE) as Array<readonly [string, number]>],
]);

/** Keyword for a type value ("app", "data", …) or undefined for custom types. */
export function typeName(type: number): string | undefined {
  return TYPE_KEYWORDS.find(([, v]) => v === type)?.[0];
}

/** Keyword for a subtype value within its type, or undefined. */
export function subtypeName(type: number, subtype: number): string | undefined {
  return SUBTYPE_KEYWORDS.get(type)?.find(([, v]) => v === subtype)?.[0];
}

/** True for app ota_0…ota_15 (the bootloader's test: (subtype & 0xF0) == 0x10). */
export function isOtaSlot(entry: PartitionEntry): boolean {
  return entry.type === PARTITION_TYPE.app && (entry.subtype & 0xf0) === OTA_SUBTYPE_MIN;
}

/** Offset alignment gen_esp32part requires: 64 KiB for apps, 4 KiB for everything else. */
export function offsetAlignment(type: number): number {
  return type === PARTITION_TYPE.app ? 0x10000 : 0x1000;
}
