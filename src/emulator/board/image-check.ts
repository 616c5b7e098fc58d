import { createHash } from 'node:crypto';

/**
 * The checks the ESP32 bootloader and esp_ota_set_boot_partition run on an app image
 * (formats.md §4.8), enough for the emulator to refuse what a real device refuses: magic 0xE9,
 * chip id 0 (ESP32), at most 16 segments that fit, the XOR checksum and the appended SHA-256.
 */
export interface Esp32ImageCheck {
  ok: boolean;
  /** Image length in bytes (0 when the layout cannot be followed). */
  length: number;
  reason?: string;
}

export function esp32ImageInfo(bytes: Uint8Array, chipId = 0): Esp32ImageCheck {
  if (bytes.length < 24 || bytes[0] !== 0xe9) {
    return { ok: false, length: 0, reason: `invalid magic byte (0x${(bytes[0] ?? 0).toString(16)})` };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const segments = bytes[1] as number;
  if (segments > 16) return { ok: false, length: 0, reason: `too many segments (${segments})` };
  let pos = 24;
  let checksum = 0xef;
  for (let i = 0; i < segments; i++) {
    if (pos + 8 > bytes.length)
      return { ok: false, length: 0, reason: 'segment header beyond the partition' };
    const len = view.getUint32(pos + 4, true);
    pos += 8;
    if (pos + len > bytes.length)
      return { ok: false, length: 0, reason: `segment ${i} beyond the partition` };
    for (let j = pos; j < pos + len; j++) checksum ^= bytes[j] as number;
    pos += len;
  }
  const checksumAt = Math.ceil((pos + 1) / 16) * 16 - 1;
  const hashAppended = bytes[23] === 1;
  const length = checksumAt + 1 + (hashAppended ? 32 : 0);
  if (length > bytes.length) return { ok: false, length: 0, reason: 'image longer than the partition' };
  const chip = view.getUint16(12, true);
  if (chip !== chipId) {
    return { ok: false, length, reason: `mismatch chip ID, expected ${chipId}, found ${chip}` };
  }
  if (bytes[checksumAt] !== checksum) {
    return { ok: false, length, reason: `checksum failed (0x${checksum.toString(16)} calculated)` };
  }
  if (hashAppended) {
    const sha = createHash('sha256')
      .update(bytes.subarray(0, checksumAt + 1))
      .digest();
    const stored = bytes.subarray(checksumAt + 1, checksumAt + 33);
    if (!sha.equals(stored)) return { ok: false, length, reason: 'image hash failed - image is corrupt' };
  }
  return { ok: true, length };
}
