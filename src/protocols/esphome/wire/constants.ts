/**
 * ESPHome native OTA ("espota2") on the wire: the byte values of the one TCP session from the host
 * to the device (shared/docs/protocols-next.md §1.2; esphome `esphome/espota2.py` and
 * `esphome/components/ota/ota_backend.h`). Multi-byte integers are big-endian; hashes are ASCII
 * lower-case hex.
 */

/** Step 1: the host's first 5 bytes. */
export const MAGIC: Uint8Array = Uint8Array.of(0x6c, 0x26, 0xf7, 0x5c, 0x45);

/** Step 2: the device answers `00 VV`; VV is one of these. */
export const OTA_VERSIONS = [1, 2] as const;
export type OtaVersion = (typeof OTA_VERSIONS)[number];

/** Step 3: the host's feature byte (bits; espota2.py `FEATURE_*`). */
export const FEATURE = {
  compression: 0x01,
  sha256Auth: 0x02,
  extended: 0x04,
  noise: 0x08,
} as const;

/** Step 4, extended protocol: the server-flags byte after `48`. */
export const SERVER_FLAG = {
  compression: 0x01,
  partitionAccess: 0x02,
  noiseOffered: 0x04,
} as const;

/** The device's non-error answers (`OTA_RESPONSE_*`, 0x00–0x48). */
export const RESPONSE = {
  ok: 0x00,
  requestAuth: 0x01,
  requestSha256Auth: 0x02,
  headerOk: 0x40,
  authOk: 0x41,
  updatePrepareOk: 0x42,
  binMd5Ok: 0x43,
  receiveOk: 0x44,
  updateEndOk: 0x45,
  supportsCompression: 0x46,
  chunkOk: 0x47,
  featureFlags: 0x48,
} as const;

/** Step 8 (extended only): what the image is. Only `app` is sent by airflash today. */
export const OTA_TYPE = { app: 0x00, partitionTable: 0x01, bootloader: 0x02 } as const;

/** Step 13: the data goes in blocks of this size; in version 2 the device acks each one with `47`. */
export const BLOCK_SIZE = 8192;

/** Step 16: the host's end acknowledgement. */
export const END_ACK: Uint8Array = Uint8Array.of(0x00);

/** Nonce length in hex characters: SHA-256 (`02`) and the legacy MD5 challenge (`01`). */
export const NONCE_LENGTH = { sha256: 64, md5: 32 } as const;

export type AuthKind = keyof typeof NONCE_LENGTH;
