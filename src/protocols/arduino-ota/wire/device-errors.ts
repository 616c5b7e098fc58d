/**
 * The one table of the device's own error texts (the Updater's and ArduinoOTA's, protocol.md
 * §4.6) → a stable code → one line of advice, in the style of ESPHome's `_ERROR_MESSAGES`. The
 * handshake (UDP `ERR: …`), the transfer (TCP error text) and the diagnosis (device-text.ts) all
 * look texts up here; the diagnosis adds evidence and next steps per code. First match wins.
 */

export type DeviceErrorCode =
  | 'NOT_ENOUGH_SPACE'
  | 'INVALID_BOOTSTRAPPING'
  | 'WRONG_FILE'
  | 'CORRUPTED_TRANSFER'
  | 'HOST_CLOSED_EARLY'
  | 'WRONG_FLASH_SIZE'
  | 'NO_OTA_PARTITION'
  | 'CANNOT_ACTIVATE'
  | 'SIGNATURE_REQUIRED'
  | 'FLASH_FAILURE'
  | 'BAD_SIZE'
  | 'DEVICE_OUT_OF_MEMORY'
  | 'UPDATE_ALREADY_RUNNING'
  | 'NO_DATA'
  | 'WEAK_LINK_STALL'
  | 'DEVICE_ERROR_TEXT';

export interface DeviceErrorEntry {
  readonly code: DeviceErrorCode;
  /** Matches the device's text (case-insensitive). */
  readonly pattern: RegExp;
  /** One line of advice for the error's hint. */
  readonly advice: string;
}

export const DEVICE_ERRORS: readonly DeviceErrorEntry[] = [
  {
    code: 'NOT_ENOUGH_SPACE',
    pattern: /Not Enough Space/i,
    advice:
      'The image does not fit the space the device has for an update: choose a partition scheme / flash layout with bigger OTA space, or shrink the image.',
  },
  {
    code: 'INVALID_BOOTSTRAPPING',
    pattern: /bootstrapping/i,
    advice: 'Reset the ESP8266 once (button or power) after flashing it over serial, then upload again.',
  },
  {
    code: 'WRONG_FILE',
    pattern: /Magic|0xE9|Decryption/i,
    advice: 'The file is not a firmware image for this board (wrong file? a filesystem image needs -s).',
  },
  {
    code: 'CORRUPTED_TRANSFER',
    pattern: /MD5/i,
    advice: 'The data arrived corrupted: upload again; check the link quality.',
  },
  {
    code: 'HOST_CLOSED_EARLY',
    pattern: /No Error|Aborted|premature/i,
    advice: 'The transfer was cut; upload again.',
  },
  {
    code: 'WRONG_FLASH_SIZE',
    pattern: /Flash config|flash size/i,
    advice: 'The image was built for another flash size: set the board flash size to the real one.',
  },
  {
    code: 'NO_OTA_PARTITION',
    pattern: /Partition Could Not be Found/i,
    advice: 'Use a partition scheme with two OTA slots (and a filesystem partition for -s).',
  },
  {
    code: 'CANNOT_ACTIVATE',
    pattern: /Could Not Activate/i,
    advice: 'The device could not boot from the image: build it for this chip.',
  },
  {
    code: 'SIGNATURE_REQUIRED',
    pattern: /Signature/i,
    advice: 'The device accepts only images signed with its key: sign the image.',
  },
  {
    code: 'FLASH_FAILURE',
    pattern: /Flash (Write|Erase|Read) Failed/i,
    advice: 'Upload again; if it repeats, the flash chip or the power supply may be failing.',
  },
  {
    code: 'BAD_SIZE',
    pattern: /Bad Size Given/i,
    advice: 'Check the image file (not empty, not bigger than the OTA slot).',
  },
  {
    code: 'DEVICE_OUT_OF_MEMORY',
    pattern: /Out of memory/i,
    advice: 'Free heap on the device (stop other tasks/servers in onStart), then upload again.',
  },
  {
    code: 'UPDATE_ALREADY_RUNNING',
    pattern: /already running/i,
    advice: 'Wait for the running update to finish (or reset the device), then upload again.',
  },
  {
    code: 'NO_DATA',
    pattern: /No data supplied/i,
    advice: 'Upload again; check that nothing (firewall, proxy) interferes with the TCP connection.',
  },
  {
    code: 'WEAK_LINK_STALL',
    pattern: /Stream Read Timeout|Receive/i,
    advice: 'Upload again (--retries 2); improve the Wi-Fi link.',
  },
];

const FALLBACK: DeviceErrorEntry = {
  code: 'DEVICE_ERROR_TEXT',
  pattern: /$^/,
  advice:
    'The device keeps its old firmware. Read the device text above; it comes from the Updater on the device.',
};

/** The table entry for a device error text (DEVICE_ERROR_TEXT when no entry matches). */
export function lookupDeviceError(text: string): DeviceErrorEntry {
  return DEVICE_ERRORS.find((e) => e.pattern.test(text)) ?? FALLBACK;
}
