/**
 * The one judgement of a firmware file on its own merits, shared by `airflash image`, the upload
 * pre-flight (src/formats/preflight.ts), the fleet and the dashboard: is it an application image
 * at all (and if not, what it looks like), and is it intact. Target checks (chip, slot size) come
 * after this, in the pre-flight.
 */
import { AirflashError, type ErrorCode } from '../../core/errors.ts';
import { inspectImage } from './inspect.ts';
import type { ImageSource } from './source.ts';
import type { ImageInfo, ImageProblem } from './types.ts';

/** The kinds a firmware (command 0) upload can send. */
export const APP_KINDS: readonly string[] = ['esp32-app', 'esp8266-sketch', 'esp8266-image', 'esp8266-gzip'];

export function refusal(
  code: ErrorCode,
  message: string,
  hint: string,
  data: Record<string, unknown> = {},
): AirflashError {
  return new AirflashError(code, message, { phase: 'preflight', hint, data });
}

export function fileLabel(fileName: string | undefined): string {
  return fileName === undefined ? 'The file' : `"${fileName}"`;
}

function notAppHint(info: ImageInfo): string {
  switch (info.kind) {
    case 'bootloader':
      return 'Upload the application .bin (PlatformIO: .pio/build/<env>/firmware.bin; Arduino: <sketch>.ino.bin), not bootloader.bin: OTA only replaces the app.';
    case 'merged':
      return 'This full-flash image is for a serial flasher (esptool write_flash 0x0). For OTA, upload the app alone (<sketch>.ino.bin or firmware.bin).';
    case 'partition-table':
      return 'partitions.bin is written at 0x8000 over serial; an OTA update cannot change it. Upload the application .bin.';
    case 'otadata':
      return 'This is otadata (boot_app0.bin); it is managed by the device. Upload the application .bin.';
    default:
      return (
        info.content?.hint ??
        'An ESP application image starts with byte 0xE9 (an ESP8266 .bin.gz with 1F 8B). Check that you picked the .bin from the build folder.'
      );
  }
}

/** Inspect, turning a truncated or structurally invalid file into PREFLIGHT_CORRUPT. */
export function inspectOrRefuse(image: Uint8Array | ImageSource, what: string): ImageInfo {
  try {
    return inspectImage(image);
  } catch (error) {
    if (
      error instanceof AirflashError &&
      (error.code === 'IMAGE_TRUNCATED' || error.code === 'IMAGE_INVALID')
    ) {
      throw refusal(
        'PREFLIGHT_CORRUPT',
        `${what} is not a complete firmware image: ${error.message}`,
        'Build the firmware again (or download it again); the file is damaged or incomplete.',
        { ...error.data, imageCode: error.code },
      );
    }
    throw error;
  }
}

/** PREFLIGHT_NOT_APP when the file is not an application image (`needs`: "an app image" …). */
export function notAppRefusal(info: ImageInfo, what: string, needs: string): AirflashError | undefined {
  if (APP_KINDS.includes(info.kind)) return undefined;
  const message =
    info.kind === 'unknown' && info.content !== undefined
      ? `${what} is not a firmware image: it is ${info.content.looksLike}. ${needs}`
      : `${what} is ${info.description}, not an application image. ${needs}`;
  return refusal('PREFLIGHT_NOT_APP', message, notAppHint(info), {
    kind: info.kind,
    ...(info.content === undefined ? {} : { looksLike: info.content.looksLike }),
  });
}

/** PREFLIGHT_CORRUPT when a problem of severity "error" was found. */
export function corruptRefusal(info: ImageInfo, what: string): AirflashError | undefined {
  if (info.ok) return undefined;
  const errors = info.problems.filter((p: ImageProblem) => p.severity === 'error');
  return refusal(
    'PREFLIGHT_CORRUPT',
    `${what} (${info.description}) is corrupt: ${errors.map((p) => p.message).join(' ')}`,
    'Build the firmware again (or download it again); a device would reject this image after the whole upload.',
    { problems: errors.map((p) => p.code) },
  );
}

export interface FirmwareJudgement {
  info?: ImageInfo;
  /** Why a firmware upload of this file is refused whatever the target, if it is. */
  refusal?: AirflashError;
}

/** The verdict `airflash image` prints: the pre-flight's own refusals, without a target. */
export function judgeFirmware(image: Uint8Array | ImageSource, fileName?: string): FirmwareJudgement {
  const what = fileLabel(fileName);
  let info: ImageInfo;
  try {
    info = inspectOrRefuse(image, what);
  } catch (error) {
    if (error instanceof AirflashError && error.code === 'PREFLIGHT_CORRUPT') return { refusal: error };
    throw error;
  }
  const refused =
    notAppRefusal(info, what, 'A firmware update needs an application image.') ?? corruptRefusal(info, what);
  return refused === undefined ? { info } : { info, refusal: refused };
}
