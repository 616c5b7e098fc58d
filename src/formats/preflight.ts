/**
 * Upload pre-flight (pure): refuse, before anything is sent, a file that cannot work on the
 * target — wrong kind of file, wrong chip, corrupt, too big for the OTA slot — and warn about what
 * is merely risky. Each refusal is an AirflashError PREFLIGHT_* naming what the file is, what was
 * expected, and what to do. `--force` in the CLI skips it.
 */
import { chipByName, chipLabel, ESP8266_MAX_SKETCH } from './image/chips.ts';
import { inspectImage } from './image/inspect.ts';
import type { ImageSource } from './image/source.ts';
import type { ImageInfo } from './image/types.ts';
import { corruptRefusal, fileLabel, inspectOrRefuse, notAppRefusal, refusal } from './image/verdict.ts';
import { bytesText, fsPartition, kib, otaVerdict } from './partitions/ota.ts';
import { DATA_SUBTYPE, type PartitionEntry, type PartitionTable } from './partitions/types.ts';

export type PreflightCore = 'esp32' | 'esp32-legacy' | 'esp8266';

export interface PreflightTarget {
  /** Which Arduino core the device runs (esp32-legacy = arduino-esp32 ≤ 3.3.x). */
  core?: PreflightCore;
  /** The device's chip ("esp32", "esp32s3", "esp8266", "ESP32-C3" …), when known. */
  chip?: string;
  /** Where the chip came from, for messages ("--chip", "the devices file", "mDNS"). */
  chipSource?: string;
  /** The device's partition table, when known. */
  partitions?: PartitionTable;
  /** The table is a guess (e.g. the default scheme): size problems become warnings. */
  partitionsAssumed?: boolean;
  /** How to name the table in messages ("the default scheme", "partitions.csv"). */
  partitionsSource?: string;
  /** The device's flash size in bytes, when known. */
  flashSize?: number;
}

export interface PreflightInput {
  /** The image bytes, or a source of bounded reads (a file handle: src/upload/image-file.ts). */
  image: Uint8Array | ImageSource;
  command: 'firmware' | 'filesystem';
  target?: PreflightTarget;
  /** The file name, for messages. */
  fileName?: string;
}

export interface PreflightWarning {
  code: string;
  message: string;
}

export interface PreflightResult {
  info: ImageInfo;
  warnings: PreflightWarning[];
  /** The partition the image is meant for (OTA slot or filesystem), when the table is known. */
  targetPartition?: PartitionEntry;
  /** The largest image the target takes, when known. */
  maxSize?: number;
}

const refuse = refusal;

const sizeOf = (image: Uint8Array | ImageSource): number =>
  image instanceof Uint8Array ? image.length : image.size;

function family(target: PreflightTarget): 'esp32' | 'esp8266' | undefined {
  if (target.core === 'esp8266') return 'esp8266';
  if (target.core === 'esp32' || target.core === 'esp32-legacy') return 'esp32';
  if (target.chip === undefined) return undefined;
  if (target.chip.toLowerCase() === 'esp8266') return 'esp8266';
  return chipByName(target.chip) === undefined ? undefined : 'esp32';
}

function firmware(input: PreflightInput, target: PreflightTarget): PreflightResult {
  const what = fileLabel(input.fileName);
  const info = inspectOrRefuse(input.image, what);
  const warnings: PreflightWarning[] = [];
  const expected = family(target);
  const deviceChip = target.chip === undefined ? undefined : chipLabel(target.chip);
  const from = target.chipSource === undefined ? '' : ` (from ${target.chipSource})`;
  const deviceText =
    deviceChip ?? (expected === 'esp8266' ? 'ESP8266' : expected === 'esp32' ? 'ESP32-family' : 'ESP');

  const notApp = notAppRefusal(
    info,
    what,
    `A firmware update for the ${deviceText} device needs ${expected === 'esp8266' ? 'an ESP8266 sketch .bin' : 'an app image'}.`,
  );
  if (notApp !== undefined) throw notApp;
  // Family and chip.
  if (expected === 'esp8266' && info.family !== 'esp8266') {
    throw refuse(
      'PREFLIGHT_WRONG_CHIP',
      `${what} is ${info.description}, but the device is an ESP8266${from}.`,
      'Build the sketch for the ESP8266 board, or upload to the right device.',
      { imageChip: info.chip, deviceChip: 'esp8266' },
    );
  }
  if (expected === 'esp32' && info.family === 'esp8266') {
    const inner = info.inner;
    if (info.kind === 'esp8266-gzip' && inner?.family === 'esp32') {
      throw refuse(
        'PREFLIGHT_NOT_APP',
        `${what} is a gzip-compressed ${inner.description}; the ESP32 updater does not decompress (it would fail with "Wrong Magic Byte" or "Decryption error").`,
        'Upload the uncompressed .bin.',
        { kind: info.kind },
      );
    }
    throw refuse(
      'PREFLIGHT_WRONG_CHIP',
      `${what} is ${info.description} (ESP8266), but the device is ${deviceChip === undefined ? 'an ESP32-family chip' : `an ${deviceChip}`}${from}.`,
      'Build the firmware for the ESP32 board, or upload to the right device.',
      { imageChip: 'esp8266', deviceChip: target.chip },
    );
  }
  const wantChip = target.chip === undefined ? undefined : chipByName(target.chip);
  if (info.family === 'esp32' && wantChip !== undefined && info.chip !== wantChip.chip) {
    throw refuse(
      'PREFLIGHT_WRONG_CHIP',
      `${what} is built for ${info.chipLabel} (chip id ${info.image?.header.extended?.chipId}), but the device is an ${wantChip.label}${from}. Its bootloader would refuse it ("mismatch chip ID").`,
      `Build for the ${wantChip.label} board (PlatformIO: the board of the env; Arduino IDE: Tools › Board), or upload to the right device.`,
      { imageChip: info.chip, deviceChip: wantChip.chip },
    );
  }
  // Integrity.
  const corrupt = corruptRefusal(info, what);
  if (corrupt !== undefined) throw corrupt;
  for (const p of info.problems) warnings.push({ code: p.code, message: p.message });

  const result: PreflightResult = { info, warnings };
  const size = sizeOf(input.image);
  if (info.family === 'esp32' && target.partitions !== undefined) {
    const source =
      target.partitionsSource ??
      (target.partitionsAssumed ? 'the assumed partition table' : 'the partition table');
    const verdict = otaVerdict(target.partitions, target.flashSize);
    if (!verdict.ok) {
      const message = `${source[0]?.toUpperCase()}${source.slice(1)} cannot take an OTA update: ${verdict.explanation[0]}`;
      if (target.partitionsAssumed) warnings.push({ code: 'no_ota_assumed', message });
      else {
        throw refuse(
          'PREFLIGHT_NO_OTA',
          message,
          'Flash a partition scheme with two OTA slots (default, min_spiffs, no_fs …) once over serial; after that OTA works.',
          { reason: verdict.reason },
        );
      }
    } else {
      const slot = verdict.slots.find((s) => s.size === verdict.maxAppSize) as PartitionEntry;
      result.targetPartition = slot;
      result.maxSize = verdict.maxAppSize;
      if (size > verdict.maxAppSize) {
        const message = `${what} is ${bytesText(size)} bytes but an OTA slot of ${source} holds ${bytesText(verdict.maxAppSize)} bytes (${kib(verdict.maxAppSize)}): ${bytesText(size - verdict.maxAppSize)} bytes too many. The device would refuse it ("Bad Size Given").`;
        if (target.partitionsAssumed) {
          warnings.push({
            code: 'too_big_assumed',
            message: `${message} (The table is assumed; if the device has larger slots this is fine.)`,
          });
        } else {
          throw refuse(
            'PREFLIGHT_TOO_BIG',
            message,
            'Make the firmware smaller, or switch to a scheme with larger slots (min_spiffs: 1920 KiB, no_fs: 1984 KiB on 4 MB) and flash it once over serial.',
            { size, maxSize: verdict.maxAppSize },
          );
        }
      } else if (size > verdict.maxAppSize * 0.95) {
        warnings.push({
          code: 'nearly_full',
          message: `${what} uses ${((size / verdict.maxAppSize) * 100).toFixed(1)} % of the ${kib(verdict.maxAppSize)} slot; less than 5 % is left for growth.`,
        });
      }
    }
  }
  if (info.family === 'esp8266') {
    const appSize = info.kind === 'esp8266-gzip' ? (info.gzip?.decompressedSize ?? size) : size;
    if (appSize > ESP8266_MAX_SKETCH) {
      warnings.push({
        code: 'esp8266_sketch_limit',
        message: `The sketch is ${bytesText(appSize)} bytes; an ESP8266 sketch is limited to ${bytesText(ESP8266_MAX_SKETCH)} bytes (1 MiB − 4112) by the code window.`,
      });
    }
    if (info.kind !== 'esp8266-gzip' && target.flashSize !== undefined && info.image !== undefined) {
      const code = info.image.header.flashSizeCode;
      const declared = (
        { 0: 512, 1: 256, 2: 1024, 3: 2048, 4: 4096, 5: 2048, 6: 4096, 8: 8192, 9: 16384 } as Record<
          number,
          number
        >
      )[code];
      if (declared !== undefined && declared * 1024 > target.flashSize) {
        throw refuse(
          'PREFLIGHT_WRONG_CHIP',
          `${what} is built for ${info.image.header.flashSize} of flash, but the device has ${kib(target.flashSize)}; the ESP8266 updater refuses it ("new Flash config wrong").`,
          "Build with the board's real flash size (Arduino: Tools › Flash Size; PlatformIO: board_build.flash_size / ldscript).",
          { imageFlash: declared * 1024, deviceFlash: target.flashSize },
        );
      }
    }
  }
  return result;
}

function filesystem(input: PreflightInput, target: PreflightTarget): PreflightResult {
  const what = fileLabel(input.fileName);
  let info: ImageInfo;
  try {
    info = inspectImage(input.image);
  } catch {
    info = {
      kind: 'unknown',
      description: 'filesystem image',
      size: sizeOf(input.image),
      problems: [],
      ok: true,
    };
  }
  const firmwareKinds = ['esp32-app', 'esp8266-sketch', 'bootloader', 'merged', 'partition-table'];
  if (firmwareKinds.includes(info.kind) && info.ok) {
    throw refuse(
      'PREFLIGHT_NOT_FS',
      `${what} is ${info.description}, not a filesystem image; a filesystem upload (--spiffs) would overwrite the filesystem partition with it.`,
      info.kind === 'esp32-app' || info.kind === 'esp8266-sketch'
        ? 'Drop --spiffs/-s to upload it as firmware, or build the filesystem image (PlatformIO: pio run -t buildfs).'
        : 'Build the filesystem image (PlatformIO: pio run -t buildfs; Arduino: the LittleFS/SPIFFS upload tool).',
      { kind: info.kind },
    );
  }
  if (info.kind === 'unknown' || info.kind === 'otadata') {
    info = { ...info, description: 'filesystem image' };
  }
  const warnings: PreflightWarning[] = [
    {
      code: 'fs_no_ab',
      message:
        'A filesystem update has no A/B safety: it is written over the live filesystem, so if it is interrupted the filesystem stays broken until an upload completes.',
    },
  ];
  const result: PreflightResult = { info, warnings };
  const size = sizeOf(input.image);
  if (target.partitions !== undefined && target.core !== 'esp8266') {
    const legacy = target.core === 'esp32-legacy';
    const fs = fsPartition(target.partitions, legacy ? 'esp32-legacy' : 'esp32');
    const source =
      target.partitionsSource ??
      (target.partitionsAssumed ? 'the assumed partition table' : 'the partition table');
    if (fs === undefined) {
      const message = `${source[0]?.toUpperCase()}${source.slice(1)} has no filesystem partition (data/spiffs${legacy ? ' or fat' : ', fat or littlefs'}); the device would answer "Partition Could Not be Found".`;
      if (target.partitionsAssumed) warnings.push({ code: 'no_fs_assumed', message });
      else {
        throw refuse(
          'PREFLIGHT_NO_OTA',
          message,
          'Use a partition scheme with a filesystem (default, min_spiffs, default_ffat …), flashed once over serial.',
        );
      }
    } else {
      // The ≤ 3.3.x core writes a FAT image at the partition offset + 0x1000.
      const capacity = legacy && fs.subtype === DATA_SUBTYPE.fat ? fs.size - 0x1000 : fs.size;
      result.targetPartition = fs;
      result.maxSize = capacity;
      if (size > capacity) {
        const message = `${what} is ${bytesText(size)} bytes but the filesystem partition "${fs.name}" holds ${bytesText(capacity)} bytes (${kib(capacity)}).`;
        if (target.partitionsAssumed) warnings.push({ code: 'too_big_assumed', message });
        else {
          throw refuse(
            'PREFLIGHT_TOO_BIG',
            message,
            `Build the filesystem image for a ${kib(capacity)} partition (PlatformIO takes the size from the partition table), or use a scheme with a larger filesystem.`,
            { size, maxSize: capacity },
          );
        }
      } else if (size !== capacity) {
        warnings.push({
          code: 'fs_size_differs',
          message: `The image is ${bytesText(size)} bytes and the partition "${fs.name}" ${bytesText(capacity)}; a filesystem image is normally built for the exact partition size.`,
        });
      }
    }
  }
  return result;
}

/**
 * Check an image against its target before uploading. Throws AirflashError PREFLIGHT_EMPTY,
 * PREFLIGHT_NOT_APP, PREFLIGHT_NOT_FS, PREFLIGHT_WRONG_CHIP, PREFLIGHT_CORRUPT, PREFLIGHT_TOO_BIG or
 * PREFLIGHT_NO_OTA; otherwise returns what the file is and the warnings.
 */
export function preflight(input: PreflightInput): PreflightResult {
  const target = input.target ?? {};
  if (sizeOf(input.image) === 0) {
    const what = fileLabel(input.fileName);
    throw refuse(
      'PREFLIGHT_EMPTY',
      `${what} is empty (0 bytes); there is nothing to upload.`,
      'Build again and check the path: the build may have failed or written the file elsewhere.',
    );
  }
  return input.command === 'firmware' ? firmware(input, target) : filesystem(input, target);
}
