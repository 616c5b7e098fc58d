/**
 * The one table of what web-OTA firmwares write in a reply body when an update fails (they answer
 * HTTP 200 for many failures) → a stable airflash code → one line of advice, in the style of
 * arduino-ota/wire/device-errors.ts. The texts are the firmwares' own (protocols-next.md §2: the
 * Arduino Update library's error strings as HTTPUpdateServer prints them, arduino-esp32's CSRF
 * text, ElegantOTA's, ESPHome's, Tasmota's upload errors 1–9 and WLED's messages); the first
 * entry whose pattern matches wins.
 */
import type { ErrorCode } from '../../../core/errors.ts';

export interface WebDeviceText {
  readonly pattern: RegExp;
  readonly code: ErrorCode;
  readonly advice: string;
}

const t = (pattern: RegExp, code: ErrorCode, advice: string): WebDeviceText => ({ pattern, code, advice });

export const WEB_DEVICE_TEXTS: readonly WebDeviceText[] = [
  t(
    /Wrong origin received/i,
    'ORIGIN_REFUSED',
    'The device checks that Origin is http://HOST (arduino-esp32 CSRF rule); airflash sends it: name the device by the host it calls itself (the Host header must match).',
  ),
  t(
    /Please unlock settings using PIN code/i,
    'PIN_REQUIRED',
    'WLED wants its settings PIN: enter it on the device page first, or remove the PIN in Security settings.',
  ),
  t(
    /Please unlock OTA in security settings/i,
    'OTA_LOCKED',
    'WLED has OTA locked: unlock it in Config → Security & Updates (the OTA password) and try again.',
  ),
  t(
    /Client is not on local subnet/i,
    'SUBNET_REFUSED',
    'WLED only accepts updates from its own subnet ("Only allow update from same network"): run airflash on that network or turn the option off.',
  ),
  t(
    /release name mismatch/i,
    'RELEASE_MISMATCH',
    'The image is a build for another WLED board ("release"): pick the file for this board, or pass skipValidation (--force) if you are sure.',
  ),
  t(
    /missing compatibility metadata|Cannot update from this version/i,
    'RELEASE_MISMATCH',
    'WLED refused the image as not compatible with the running release: use an official build for this board and version.',
  ),
  t(
    /Not Enough Space|Program flash size is larger|File too large/i,
    'NO_SPACE',
    'The image does not fit the update slot: build a smaller image or a partition layout with bigger OTA slots.',
  ),
  t(
    /MD5 (Check )?Failed|MD5 parameter/i,
    'MD5_MISMATCH',
    'The device hashed other bytes than airflash sent: upload again; if it repeats, the link corrupts data.',
  ),
  t(
    /Magic byte|Wrong Magic Byte|File invalid|No data supplied|Bad Size Given/i,
    'DEVICE_REFUSED',
    'The device did not take the file as an application image: upload the app .bin (not an .elf, a factory image or a filesystem image as firmware).',
  ),
  t(
    /Flash (Write|Erase|Read) Failed/i,
    'FLASH_WRITE_FAILED',
    'The flash could not be written: retry; if it repeats, the flash may be failing.',
  ),
  t(
    /Stream Read Timeout|Upload aborted/i,
    'INCOMPLETE',
    'The device stopped receiving the image: check the Wi-Fi link and upload again.',
  ),
];

/** The entry for a device's failure text; undefined when the text is not known (then DEVICE_ERROR). */
export function deviceTextEntry(text: string): WebDeviceText | undefined {
  return WEB_DEVICE_TEXTS.find((x) => x.pattern.test(text));
}
