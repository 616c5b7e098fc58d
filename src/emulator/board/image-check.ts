import { isAirflashError } from '../../core/errors.ts';
import { type EspImage, walkEspImage } from '../../formats/index.ts';

/**
 * The checks the ESP32 bootloader and esp_ota_set_boot_partition run on an app image
 * (formats.md §4.8), enough for the emulator to refuse what a real device refuses: magic 0xE9,
 * chip id 0 (ESP32), at most 16 segments that fit, the XOR checksum and the appended SHA-256.
 * The walk (header, segments, checksum, digest) is the formats module's one walker; this file
 * only judges its results by those rules, with esp_image's messages.
 */
export interface Esp32ImageCheck {
  ok: boolean;
  /** Image length in bytes (0 when the layout cannot be followed). */
  length: number;
  reason?: string;
}

const MAX_SEGMENTS = 16;

export function esp32ImageInfo(bytes: Uint8Array, chipId = 0): Esp32ImageCheck {
  if (bytes.length < 24 || bytes[0] !== 0xe9) {
    return { ok: false, length: 0, reason: `invalid magic byte (0x${(bytes[0] ?? 0).toString(16)})` };
  }
  const segments = bytes[1] as number;
  if (segments > MAX_SEGMENTS) return { ok: false, length: 0, reason: `too many segments (${segments})` };
  let image: EspImage;
  try {
    image = walkEspImage(bytes, 0, 'esp32');
  } catch (error) {
    if (!isAirflashError(error)) throw error;
    // The walk ran past the partition: where it stopped says what esp_image reports.
    const segment = error.data?.['segment'];
    const what = String(error.data?.['what'] ?? '');
    const reason =
      typeof segment !== 'number'
        ? 'image longer than the partition'
        : what.startsWith('the header of segment')
          ? 'segment header beyond the partition'
          : `segment ${segment} beyond the partition`;
    return { ok: false, length: 0, reason };
  }
  const length = image.length;
  const chip = image.header.extended?.chipId;
  if (chip !== chipId) {
    return { ok: false, length, reason: `mismatch chip ID, expected ${chipId}, found ${chip}` };
  }
  if (!image.checksum.ok) {
    return {
      ok: false,
      length,
      reason: `checksum failed (0x${image.checksum.computed.toString(16)} calculated)`,
    };
  }
  if (image.sha256 !== undefined && !image.sha256.ok) {
    return { ok: false, length, reason: 'image hash failed - image is corrupt' };
  }
  return { ok: true, length };
}
