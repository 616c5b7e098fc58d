/** Chip facts used to read and build images (formats.md §4.2–§4.4). */

export type Esp32Chip =
  | 'esp32'
  | 'esp32s2'
  | 'esp32s3'
  | 'esp32c3'
  | 'esp32c2'
  | 'esp32c6'
  | 'esp32h2'
  | 'esp32p4'
  | 'esp32c61'
  | 'esp32c5'
  | 'esp32h21'
  | 'esp32h4'
  | 'esp32e22'
  | 'esp32s31';

export interface ChipInfo {
  chip: Esp32Chip;
  /** As Espressif writes it: "ESP32-S3". */
  label: string;
  /** chip_id in the extended header. */
  id: number;
  /** Where the second-stage bootloader sits in flash. */
  bootloaderOffset: number;
  /** Flash-mapped data (DROM) and code (IROM) address ranges [start, end), where documented. */
  drom?: readonly [number, number];
  irom?: readonly [number, number];
  /** Load address of segment 0 of an app (DROM base + 0x20), where known. */
  appDromLoad?: number;
  /** Typical RAM load addresses (data, code), for building images. */
  dram?: number;
  iram?: number;
  /** Flash-frequency nibble → name (esptool's maps). */
  freq: Readonly<Record<number, string>>;
  /** The MMU page is always 64 KiB (else configurable and the mapping check is skipped). */
  fixedMmuPage: boolean;
}

const F_STD = { 0: '40m', 1: '26m', 2: '20m', 15: '80m' } as const;
const F_C2 = { 0: '30m', 1: '20m', 2: '15m', 15: '60m' } as const;
const F_C6 = { 0: '40m', 2: '20m' } as const;
const F_C5 = { 0: '40m', 2: '20m', 15: '80m' } as const;
const F_H2 = { 0: '24m', 1: '16m', 2: '12m', 15: '48m' } as const;

export const CHIPS: readonly ChipInfo[] = [
  {
    chip: 'esp32',
    label: 'ESP32',
    id: 0,
    bootloaderOffset: 0x1000,
    drom: [0x3f400000, 0x3f800000],
    irom: [0x400d0000, 0x40400000],
    appDromLoad: 0x3f400020,
    dram: 0x3ffb0000,
    iram: 0x40080000,
    freq: F_STD,
    fixedMmuPage: true,
  },
  {
    chip: 'esp32s2',
    label: 'ESP32-S2',
    id: 2,
    bootloaderOffset: 0x1000,
    drom: [0x3f000000, 0x3ff80000],
    irom: [0x40080000, 0x40800000],
    appDromLoad: 0x3f000020,
    dram: 0x3ffbe000,
    iram: 0x40022000,
    freq: F_STD,
    fixedMmuPage: true,
  },
  {
    chip: 'esp32c3',
    label: 'ESP32-C3',
    id: 5,
    bootloaderOffset: 0,
    drom: [0x3c000000, 0x3c800000],
    irom: [0x42000000, 0x42800000],
    appDromLoad: 0x3c000020,
    dram: 0x3fc8c000,
    iram: 0x4038c000,
    freq: F_STD,
    fixedMmuPage: true,
  },
  {
    chip: 'esp32s3',
    label: 'ESP32-S3',
    id: 9,
    bootloaderOffset: 0,
    drom: [0x3c000000, 0x3d000000],
    irom: [0x42000000, 0x42800000],
    appDromLoad: 0x3c000020,
    dram: 0x3fc90000,
    iram: 0x40378000,
    freq: F_STD,
    fixedMmuPage: true,
  },
  { chip: 'esp32c2', label: 'ESP32-C2', id: 12, bootloaderOffset: 0, freq: F_C2, fixedMmuPage: false },
  {
    chip: 'esp32c6',
    label: 'ESP32-C6',
    id: 13,
    bootloaderOffset: 0,
    drom: [0x42000000, 0x43000000],
    irom: [0x42000000, 0x43000000],
    appDromLoad: 0x42800020,
    dram: 0x40800000,
    iram: 0x40810000,
    freq: F_C6,
    fixedMmuPage: false,
  },
  { chip: 'esp32h2', label: 'ESP32-H2', id: 16, bootloaderOffset: 0, freq: F_H2, fixedMmuPage: false },
  { chip: 'esp32p4', label: 'ESP32-P4', id: 18, bootloaderOffset: 0x2000, freq: F_STD, fixedMmuPage: false },
  { chip: 'esp32c61', label: 'ESP32-C61', id: 20, bootloaderOffset: 0, freq: F_C5, fixedMmuPage: false },
  { chip: 'esp32c5', label: 'ESP32-C5', id: 23, bootloaderOffset: 0x2000, freq: F_C5, fixedMmuPage: false },
  { chip: 'esp32h21', label: 'ESP32-H21', id: 25, bootloaderOffset: 0, freq: F_H2, fixedMmuPage: false },
  { chip: 'esp32h4', label: 'ESP32-H4', id: 28, bootloaderOffset: 0x2000, freq: F_H2, fixedMmuPage: false },
  { chip: 'esp32e22', label: 'ESP32-E22', id: 31, bootloaderOffset: 0, freq: F_STD, fixedMmuPage: false },
  { chip: 'esp32s31', label: 'ESP32-S31', id: 32, bootloaderOffset: 0x2000, freq: F_C5, fixedMmuPage: false },
];

export function chipById(id: number): ChipInfo | undefined {
  return CHIPS.find((c) => c.id === id);
}

/** A chip by name: "esp32s3", "ESP32-S3", "esp32-s3" (case and dashes do not matter). */
export function chipByName(name: string): ChipInfo | undefined {
  const key = name.toLowerCase().replace(/[-_\s]/g, '');
  return CHIPS.find((c) => c.chip === key);
}

/** Human label for any chip name ("esp8266" → "ESP8266"). */
export function chipLabel(name: string): string {
  if (name.toLowerCase() === 'esp8266') return 'ESP8266';
  return chipByName(name)?.label ?? name;
}

export const FLASH_MODES: readonly string[] = ['QIO', 'QOUT', 'DIO', 'DOUT', 'FAST_READ', 'SLOW_READ'];

export const ESP32_FLASH_SIZES: readonly string[] = [
  '1MB',
  '2MB',
  '4MB',
  '8MB',
  '16MB',
  '32MB',
  '64MB',
  '128MB',
];

export const ESP8266_FLASH_SIZES: Readonly<Record<number, string>> = {
  0: '512KB',
  1: '256KB',
  2: '1MB',
  3: '2MB',
  4: '4MB',
  5: '2MB-c1',
  6: '4MB-c1',
  8: '8MB',
  9: '16MB',
};

/** Bytes for an ESP8266 flash-size name ("2MB-c1" → 2 MiB). */
export function esp8266FlashBytes(code: number): number | undefined {
  const name = ESP8266_FLASH_SIZES[code];
  if (name === undefined) return undefined;
  const m = /^(\d+)(KB|MB)/.exec(name);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'KB' ? 1024 : 1024 * 1024);
}

/** The ESP8266 maps flash at 0x40200000; a sketch's code segment loads at 0x40201010. */
export const ESP8266_IROM_BASE = 0x40200000;
export const ESP8266_SKETCH_OFFSET = 0x1000;
/**
 * The largest ESP8266 sketch: the code runs from the first 1 MiB of the flash mapping window,
 * less eboot and the headers, so 1 MiB − 4112 bytes on flash ≥ 2 MB (formats.md §6.2). The one
 * copy: pre-flight and doctor both read it here (re-exported by devices/).
 */
export const ESP8266_MAX_SKETCH = 1024 * 1024 - 4112;

export const APP_DESC_MAGIC = 0xabcd5432;
export const IMAGE_MAGIC = 0xe9;
export const MAX_SEGMENTS = 16;
