/**
 * The one table of ESPHome's error responses (0x80–0x94 and 0xFF, `OTA_RESPONSE_ERROR_*` in
 * esphome `esphome/components/ota/ota_backend.h`; the CLI's words in espota2.py `_ERROR_MESSAGES`,
 * paraphrased in protocols-next.md §1.4) → a stable airflash code → one line of advice, in the
 * style of the ArduinoOTA table (arduino-ota/wire/device-errors.ts). Any of these bytes is an
 * error at any read (espota2.py `check_error`).
 */
import type { ErrorCode } from '../../../core/errors.ts';

export interface EsphomeResponseError {
  readonly byte: number;
  /** ESPHome's name, without the `OTA_RESPONSE_ERROR_` prefix. */
  readonly name: string;
  readonly code: ErrorCode;
  /** What the device said, in words. */
  readonly message: string;
  readonly advice: string;
}

const e = (
  byte: number,
  name: string,
  code: ErrorCode,
  message: string,
  advice: string,
): EsphomeResponseError => ({
  byte,
  name,
  code,
  message,
  advice,
});

export const RESPONSE_ERRORS: readonly EsphomeResponseError[] = [
  e(
    0x80,
    'MAGIC',
    'PROTOCOL_MISMATCH',
    'The device reported an invalid magic byte.',
    'The device does not take this as an ESPHome OTA session (or the image has no valid header): check the port and the file.',
  ),
  e(
    0x81,
    'UPDATE_PREPARE',
    'DEVICE_REFUSED',
    'The device could not prepare the flash for the update.',
    'Is the binary too big for the device? Restart the device and try again.',
  ),
  e(
    0x82,
    'AUTH_INVALID',
    'AUTH_FAILED',
    'The device refused the password (authentication invalid).',
    'Is the password (-a) right? A device of ESPHome 2026.1 or later also refuses a client without SHA-256 auth.',
  ),
  e(
    0x83,
    'WRITING_FLASH',
    'FLASH_WRITE_FAILED',
    'The device could not write the flash.',
    'See the device log over USB; retry, and if it repeats the flash may be failing.',
  ),
  e(
    0x84,
    'UPDATE_END',
    'DEVICE_ERROR',
    'The device could not finish the update.',
    'See the device log (MQTT or USB) for the reason.',
  ),
  e(
    0x85,
    'INVALID_BOOTSTRAPPING',
    'DEVICE_REFUSED',
    'The device is in an invalid bootstrapping state.',
    'Press reset (or power-cycle) once: the first OTA after a USB flash needs a manual reset.',
  ),
  e(
    0x86,
    'WRONG_CURRENT_FLASH_CONFIG',
    'WRONG_FLASH_CONFIG',
    'The running firmware was built for another flash size than the chip has.',
    'Pick the right `board` in the ESPHome config and flash once over USB.',
  ),
  e(
    0x87,
    'WRONG_NEW_FLASH_CONFIG',
    'WRONG_FLASH_CONFIG',
    'The new image asks for a flash size the device does not have.',
    'Pick the right `board` (flash size) in the ESPHome config and build again.',
  ),
  e(
    0x88,
    'ESP8266_NOT_ENOUGH_SPACE',
    'NO_SPACE',
    'The ESP8266 has not enough free space for the image.',
    'Flash a minimal firmware first, then this one (ESP8266 stores the new image beside the running one).',
  ),
  e(
    0x89,
    'ESP32_NOT_ENOUGH_SPACE',
    'NO_SPACE',
    'The ESP32 OTA partition is too small for the image.',
    'Shrink the image, or flash a partition table with bigger OTA slots over USB.',
  ),
  e(
    0x8a,
    'NO_UPDATE_PARTITION',
    'NO_OTA_PARTITION',
    'The device has no OTA update partition.',
    'It needs a partition table with OTA slots: flash it over USB once.',
  ),
  e(
    0x8b,
    'MD5_MISMATCH',
    'MD5_MISMATCH',
    'The device received an image whose MD5 does not match the one announced.',
    'Nothing was committed: upload again; if it repeats, the link corrupts data (check Wi-Fi, cable of the USB bridge).',
  ),
  e(
    0x8c,
    'RP2040_NOT_ENOUGH_SPACE',
    'NO_SPACE',
    'The RP2040 has not enough space for the image.',
    'Shrink the image or use a board with more flash.',
  ),
  e(
    0x8d,
    'SIGNATURE_INVALID',
    'SIGNATURE_INVALID',
    'The device refused the image signature.',
    'The image was signed with another key than the device trusts (or not signed): build with the device’s signing key.',
  ),
  e(
    0x8e,
    'UNSUPPORTED_OTA_TYPE',
    'DEVICE_REFUSED',
    'The device does not accept this OTA type.',
    'Only application images are sent by airflash; update the device firmware if it refuses an app update.',
  ),
  e(
    0x8f,
    'PARTITION_TABLE_VERIFY',
    'DEVICE_ERROR',
    'The device could not verify the new partition table; nothing was changed.',
    'Retry the update.',
  ),
  e(
    0x90,
    'PARTITION_TABLE_UPDATE',
    'DEVICE_ERROR',
    'The device failed while writing the partition table and may be degraded.',
    'Do not reboot it: retry the update; if that fails, flash over USB.',
  ),
  e(
    0x91,
    'BOOTLOADER_VERIFY',
    'DEVICE_ERROR',
    'The device could not verify the new bootloader; nothing was changed.',
    'Retry the update.',
  ),
  e(
    0x92,
    'BOOTLOADER_UPDATE',
    'DEVICE_ERROR',
    'The device failed while writing the bootloader and may be degraded.',
    'Do not reboot it: retry the update; if that fails, flash over USB.',
  ),
  e(
    0x93,
    'VERSION_DOWNGRADE',
    'DOWNGRADE_REFUSED',
    'The device refused an older firmware version (downgrade protection).',
    'Upload a newer version than the one running, or flash over USB to go back.',
  ),
  e(
    0x94,
    'ENCRYPTION_REQUIRED',
    'ENCRYPTION_REQUIRED',
    'The device requires an encrypted OTA connection.',
    'This device wants Noise encryption (ESPHome 2026.9+ `ota: encryption:`), which airflash does not speak yet: use the ESPHome CLI with the API key.',
  ),
  e(0xff, 'UNKNOWN', 'DEVICE_ERROR', 'The device reported an unknown error.', 'See the device log over USB.'),
];

const BY_BYTE: ReadonlyMap<number, EsphomeResponseError> = new Map(RESPONSE_ERRORS.map((x) => [x.byte, x]));

/** The error a response byte stands for, undefined when it is not an error byte. */
export function responseError(byte: number): EsphomeResponseError | undefined {
  return BY_BYTE.get(byte);
}

/** "0x8B" */
export function hexByte(byte: number): string {
  return `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}
