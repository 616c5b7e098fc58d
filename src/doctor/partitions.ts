/**
 * doctor's partition and firmware-size checks (docs/formats.md §3, §6.2–§6.3, §7). Pure: the
 * caller reads the files.
 */

import {
  builtinPartitionTable,
  builtinSchemeFlashSize,
  ESP8266_MAX_SKETCH,
  kib,
  otaVerdict,
  type PartitionTable,
  parseFlashSize,
  parsePartitionCsv,
} from '../formats/index.ts';
import type { EspotaCore } from './espota.ts';
import type { ResolvedOption } from './platformio-ini.ts';
import type { DoctorFinding } from './types.ts';

export interface FirmwareCheckInput {
  env: string;
  core: EspotaCore;
  /** platformio.ini path shown in findings. */
  configFile: string;
  /** `board_build.partitions` (ESP32). */
  partitions?: ResolvedOption;
  /** `board_upload.flash_size`. */
  flashSize?: ResolvedOption;
  /** `board_build.ldscript` (ESP8266). */
  ldscript?: ResolvedOption;
  /** The partition CSV when `board_build.partitions` names a file in the project. */
  projectCsv?: { path: string; text: string };
  /** Where the built firmware is expected, relative to the project. */
  firmwarePath: string;
  /** Its size, when the file exists. */
  firmwareSize?: number;
  /** An env of the same project that uploads over serial, for "flash once over USB" advice. */
  serialEnv?: string;
}

export interface FirmwareCheckResult {
  findings: DoctorFinding[];
  /** Scheme (ESP32) or linker script (ESP8266) in effect. */
  partitions?: string;
  maxAppSize?: number;
}

/** ESP8266: FS_start per `eagle.flash.<x>.ld` (formats.md §6.2). */
const ESP8266_FS_START: ReadonlyMap<string, number> = new Map([
  ['512k', 0x7b000],
  ['512k32', 0x73000],
  ['512k64', 0x6b000],
  ['512k128', 0x5b000],
  ['1m', 0xfb000],
  ['1m64', 0xeb000],
  ['1m128', 0xdb000],
  ['1m144', 0xd7000],
  ['1m160', 0xd3000],
  ['1m192', 0xcb000],
  ['1m256', 0xbb000],
  ['1m512', 0x7b000],
  ['2m', 0x1fb000],
  ['2m64', 0x1f0000],
  ['2m128', 0x1e0000],
  ['2m256', 0x1c0000],
  ['2m512', 0x180000],
  ['2m1m', 0x100000],
  ['4m', 0x3fb000],
  ['4m1m', 0x300000],
  ['4m2m', 0x200000],
  ['4m3m', 0x100000],
  ['8m6m', 0x200000],
  ['8m7m', 0x100000],
  ['16m14m', 0x200000],
  ['16m15m', 0x100000],
]);

const MB = 1024 * 1024;

function roundUp4k(n: number): number {
  return Math.ceil(n / 4096) * 4096;
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

/** Two-slot Arduino schemes per flash size, smallest slot first. */
const OTA_SCHEMES: ReadonlyArray<{ flash: number; name: string; slot: number; note: string }> = [
  { flash: 4 * MB, name: 'default.csv', slot: 0x140000, note: '2 × 1280 KiB app slots, 1408 KiB SPIFFS' },
  { flash: 4 * MB, name: 'min_spiffs.csv', slot: 0x1e0000, note: '2 × 1920 KiB app slots, 128 KiB SPIFFS' },
  { flash: 4 * MB, name: 'no_fs.csv', slot: 0x1f0000, note: '2 × 1984 KiB app slots, no filesystem' },
  { flash: 8 * MB, name: 'default_8MB.csv', slot: 0x330000, note: '2 × 3264 KiB app slots' },
  { flash: 16 * MB, name: 'default_16MB.csv', slot: 0x640000, note: '2 × 6400 KiB app slots' },
];

function suggestScheme(flash: number | undefined, firmwareSize: number | undefined): string {
  const flashBytes = flash ?? 4 * MB;
  const candidates = OTA_SCHEMES.filter((s) => s.flash <= flashBytes).sort((a, b) => a.slot - b.slot);
  const pick =
    candidates.find((s) => firmwareSize === undefined || s.slot >= firmwareSize * 1.05) ?? candidates.at(-1);
  if (!pick) return 'board_build.partitions = min_spiffs.csv';
  return `board_build.partitions = ${pick.name}   ; ${pick.note}`;
}

function usbNote(input: FirmwareCheckInput): string {
  return input.serialEnv
    ? `A new partition table must be flashed once over USB, e.g. with the same line in [env:${input.serialEnv}]:\npio run -e ${input.serialEnv} -t upload`
    : 'A new partition table must be flashed once over USB (an env without upload_protocol = espota, then pio run -e THAT_ENV -t upload).';
}

export function checkPartitionsAndFirmware(input: FirmwareCheckInput): FirmwareCheckResult {
  return input.core === 'esp32' ? checkEsp32(input) : checkEsp8266(input);
}

function checkEsp32(input: FirmwareCheckInput): FirmwareCheckResult {
  const findings: DoctorFinding[] = [];
  const env = input.env;
  const at = (o: ResolvedOption | undefined): { file?: string; line?: number } =>
    o && o.line > 0 ? { file: input.configFile, line: o.line } : {};
  const scheme = input.partitions?.value.trim() || 'default.csv';
  const assumed = input.partitions === undefined;

  let flashSize: number | undefined;
  if (input.flashSize) {
    try {
      flashSize = parseFlashSize(input.flashSize.value);
    } catch {
      findings.push({
        severity: 'warning',
        env,
        code: 'FLASH_SIZE_INVALID',
        what: `board_upload.flash_size = ${input.flashSize.value} is not a flash size.`,
        why: 'The partition table is checked against the flash size; PlatformIO expects values like 4MB.',
        fix: 'board_upload.flash_size = 4MB',
        ...at(input.flashSize),
      });
    }
  }

  let table: PartitionTable | undefined;
  if (input.projectCsv) {
    try {
      table = parsePartitionCsv(input.projectCsv.text);
    } catch (error) {
      findings.push({
        severity: 'error',
        env,
        code: 'PARTITIONS_INVALID',
        what: `${input.projectCsv.path} is not a valid partition table: ${error instanceof Error ? error.message : String(error)}`,
        why: 'The build (gen_esp32part) refuses it, and nothing can be said about the OTA slots.',
        fix: `Fix the CSV, or use a built-in scheme:\n${suggestScheme(flashSize, input.firmwareSize)}`,
        file: input.projectCsv.path,
      });
      return { findings, partitions: scheme };
    }
  } else {
    table = builtinPartitionTable(baseName(scheme));
    flashSize ??= builtinSchemeFlashSize(baseName(scheme));
  }
  if (!table) {
    findings.push({
      severity: 'warning',
      env,
      code: 'PARTITIONS_UNKNOWN',
      what: `board_build.partitions = ${scheme} is neither a file in the project nor a scheme airflash knows.`,
      why: 'The OTA slot size could not be checked. PlatformIO looks for the file in the project first, then among the framework schemes.',
      fix: `Check the name, e.g.\n${suggestScheme(flashSize, input.firmwareSize)}`,
      ...at(input.partitions),
    });
    return { findings, partitions: scheme };
  }

  const verdict = otaVerdict(table, flashSize);
  const label = `${scheme}${assumed ? ' (assumed: board_build.partitions is not set)' : ''}`;
  if (!verdict.ok) {
    findings.push({
      severity: 'error',
      env,
      code: verdict.reason === 'exceeds_flash' ? 'PARTITIONS_EXCEED_FLASH' : 'NO_OTA_PARTITIONS',
      what: `Partition scheme ${label}: ${verdict.explanation[0] ?? 'no OTA'}`,
      why:
        verdict.reason === 'exceeds_flash'
          ? 'Partitions past the end of the flash do not exist; the board does not boot as planned.'
          : 'An OTA update is written into the app slot that is not running; with no spare slot Update.begin() fails. On an ESP32 espota then shows only "No response from device" (the device said OK but never connects back).',
      fix: `${suggestScheme(flashSize, input.firmwareSize)}\n${usbNote(input)}`,
      ...(input.projectCsv ? { file: input.projectCsv.path } : at(input.partitions)),
    });
    return { findings, partitions: scheme };
  }
  const max = verdict.maxAppSize;
  firmwareFindings(
    input,
    findings,
    max,
    `the ${kib(max)} OTA slot of ${label}`,
    () => `${suggestScheme(flashSize, input.firmwareSize)}\n${usbNote(input)}`,
  );
  return { findings, partitions: scheme, maxAppSize: max };
}

function firmwareFindings(
  input: FirmwareCheckInput,
  findings: DoctorFinding[],
  max: number,
  slotText: string,
  fix: () => string,
): void {
  const env = input.env;
  const size = input.firmwareSize;
  if (size === undefined) {
    findings.push({
      severity: 'info',
      env,
      code: 'FIRMWARE_NOT_BUILT',
      what: `${input.firmwarePath} does not exist yet, so its size was not checked against ${slotText}.`,
      why: 'An image bigger than the slot is refused by the device; on an ESP32 that looks like "No response from device".',
      fix: `pio run -e ${env}\nairflash doctor --env ${env}`,
    });
    return;
  }
  if (size > max) {
    findings.push({
      severity: 'error',
      env,
      code: 'FIRMWARE_TOO_BIG',
      what: `${input.firmwarePath} is ${size.toLocaleString('en-US')} bytes, ${(size - max).toLocaleString('en-US')} more than ${slotText} (${max.toLocaleString('en-US')} bytes).`,
      why: 'The device refuses an image larger than the slot: an ESP8266 answers "ERR: Not Enough Space", an ESP32 says OK and then never connects back, so espota reports "No response from device".',
      fix: fix(),
      file: input.firmwarePath,
    });
  } else if (size > max * 0.95) {
    findings.push({
      severity: 'warning',
      env,
      code: 'FIRMWARE_NEAR_LIMIT',
      what: `${input.firmwarePath} is ${size.toLocaleString('en-US')} bytes, ${((size / max) * 100).toFixed(1)} % of ${slotText}.`,
      why: 'A few more libraries and the next update will not fit over the air.',
      fix: fix(),
      file: input.firmwarePath,
    });
  }
}

function checkEsp8266(input: FirmwareCheckInput): FirmwareCheckResult {
  const findings: DoctorFinding[] = [];
  const script = input.ldscript?.value.trim();
  const layout = script ? /eagle\.flash\.([0-9a-z]+)\.ld$/i.exec(script)?.[1]?.toLowerCase() : undefined;
  const fsStart = layout ? ESP8266_FS_START.get(layout) : undefined;
  const flashMb = layout ? /^(\d+)(m|k)/.exec(layout) : null;
  const flashBytes = flashMb ? Number(flashMb[1]) * (flashMb[2] === 'm' ? MB : 1024) : undefined;
  let max = ESP8266_MAX_SKETCH;
  if (fsStart !== undefined && flashBytes !== undefined && flashBytes < 2 * MB) {
    max = Math.min(max, fsStart - 4112);
  }
  const biggerArea = 'board_build.ldscript = eagle.flash.4m1m.ld   ; 3 MB sketch + OTA area, 1 MB filesystem';
  firmwareFindings(input, findings, max, 'the largest ESP8266 sketch', () =>
    [
      'Make the firmware smaller (fewer libraries, -Os, no debug output); the ESP8266 runs code only from the first 1 MB of flash.',
    ].join('\n'),
  );
  const size = input.firmwareSize;
  if (size !== undefined && size <= max && fsStart !== undefined && roundUp4k(size) * 2 > fsStart) {
    findings.push({
      severity: 'warning',
      env: input.env,
      code: 'FIRMWARE_NEAR_LIMIT',
      what: `${input.firmwarePath} is ${size.toLocaleString('en-US')} bytes; with ${script} the sketch + OTA area is ${kib(fsStart)}.`,
      why: `The ESP8266 stages the new image above the running one: round_up_4K(running) + round_up_4K(new) must be ≤ ${kib(fsStart)}. With a running sketch of about this size that fails: "ERR: ERROR[4]: Not Enough Space".`,
      fix: `${biggerArea}\n${usbNote(input)}`,
      ...(input.ldscript && input.ldscript.line > 0
        ? { file: input.configFile, line: input.ldscript.line }
        : {}),
    });
  }
  return { findings, ...(script === undefined ? {} : { partitions: script }), maxAppSize: max };
}
