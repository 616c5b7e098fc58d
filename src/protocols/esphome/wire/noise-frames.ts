/**
 * The framing of ESPHome's encrypted OTA (protocols-next.md §1.3; esphome `espota2.py`
 * `NoiseSocketWrapper` and `ota_esphome_noise.cpp`): every frame is `01`, a 16-bit big-endian
 * length, then the payload. The handshake frames carry a status byte (`00` = OK) before the Noise
 * message; a refusal is a non-zero status and a UTF-8 reason (`Handshake MAC failure` for a wrong
 * key). After the handshake each control unit is one encrypted frame and data is split into
 * frames of at most 1024 plaintext bytes (1024 divides the 8 KiB block). Pure.
 */
import { MAGIC, RESPONSE } from './constants.ts';

export const NOISE_FRAME_INDICATOR = 0x01;
export const NOISE_HANDSHAKE_OK = 0x00;
export const NOISE_FRAME_HEADER = 3;
/** Plaintext bytes per data frame (espota2.py `NOISE_MAX_PLAINTEXT`, the device's OTA buffer). */
export const NOISE_MAX_PLAINTEXT = 1024;
export const NOISE_MAC = 16;
/** The reason text the device sends for a wrong key (espota2.py `NOISE_MAC_FAILURE_REASON`). */
export const NOISE_MAC_FAILURE_REASON = 'Handshake MAC failure';
/** A handshake frame's payload bound: status + e (32) + tag (16), or status + a short reason. */
export const NOISE_MAX_HANDSHAKE_PAYLOAD = 256;

export function encodeFrame(payload: Uint8Array): Uint8Array {
  if (payload.length > 0xffff)
    throw new RangeError(`a Noise frame holds at most 65535 bytes, not ${payload.length}`);
  const out = new Uint8Array(NOISE_FRAME_HEADER + payload.length);
  out[0] = NOISE_FRAME_INDICATOR;
  out[1] = payload.length >>> 8;
  out[2] = payload.length & 0xff;
  out.set(payload, NOISE_FRAME_HEADER);
  return out;
}

/** The payload length of a frame header, or undefined when it is not a frame (`01` first). */
export function frameLength(header: Uint8Array): number | undefined {
  if (header.length < NOISE_FRAME_HEADER || header[0] !== NOISE_FRAME_INDICATOR) return undefined;
  return ((header[1] as number) << 8) | (header[2] as number);
}

/**
 * The Noise prologue of an OTA session: `NoiseOTAInit` ‖ the magic ‖ `00`, version ‖ the client's
 * feature byte as sent ‖ `48`, the server flags: every plaintext negotiation byte, so a stripped
 * flag breaks the first MAC.
 */
export function otaPrologue(version: number, clientFeatures: number, serverFlags: number): Uint8Array {
  const init = new TextEncoder().encode('NoiseOTAInit');
  const out = new Uint8Array(init.length + MAGIC.length + 5);
  out.set(init, 0);
  out.set(MAGIC, init.length);
  out.set(
    [RESPONSE.ok, version & 0xff, clientFeatures & 0xff, RESPONSE.featureFlags, serverFlags & 0xff],
    init.length + MAGIC.length,
  );
  return out;
}
