/** The inspector's ESP images: an ESP32-family app or bootloader, an ESP8266 sketch (eboot + app). */
import { bytesToHex } from '../../core/hex.ts';
import {
  APP_DESC_MAGIC,
  type ChipInfo,
  chipById,
  ESP8266_IROM_BASE,
  ESP8266_SKETCH_OFFSET,
  IMAGE_MAGIC,
} from './chips.ts';
import { bytesSource, crcMpeg2Of } from './source.ts';
import type { AppDescriptor, EspImage, ImageInfo, ImageKind, ImageProblem } from './types.ts';
import { hex, type Reader, walkReader, xorRange } from './walk.ts';

function reportIntegrity(image: EspImage, problems: ImageProblem[], what: string): void {
  if (!image.checksum.ok) {
    problems.push({
      code: 'checksum_mismatch',
      severity: 'error',
      offset: image.checksum.offset,
      message: `${what}: checksum failed. Calculated ${hex(image.checksum.computed)}, read ${hex(image.checksum.stored)} at ${hex(image.checksum.offset)}: the segment data is corrupt.`,
    });
  }
  if (image.sha256 !== undefined && !image.sha256.ok) {
    problems.push({
      code: 'sha256_mismatch',
      severity: 'error',
      offset: image.sha256.offset,
      message: `${what}: the appended SHA-256 at ${hex(image.sha256.offset)} does not match the image ("Image hash failed - image is corrupt").`,
    });
  }
}

const TEXT = new TextDecoder('utf-8');

function cString(bytes: Uint8Array, start: number, length: number): string {
  const field = bytes.subarray(start, start + length);
  const nul = field.indexOf(0);
  return TEXT.decode(nul === -1 ? field : field.subarray(0, nul));
}

function readAppDesc(r: Reader, at: number): AppDescriptor | undefined {
  if (at + 256 > r.size) return undefined;
  const magic = r.u32(at, 'the app descriptor');
  if (magic !== APP_DESC_MAGIC) return undefined;
  const b = r.slice(at, 256);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    magic,
    secureVersion: v.getUint32(4, true),
    version: cString(b, 16, 32),
    projectName: cString(b, 48, 32),
    time: cString(b, 80, 16),
    date: cString(b, 96, 16),
    idfVersion: cString(b, 112, 32),
    elfSha256: bytesToHex(b.subarray(144, 176)),
    minEfuseBlkRevFull: v.getUint16(176, true),
    maxEfuseBlkRevFull: v.getUint16(178, true),
    mmuPageSizeLog2: v.getUint8(180),
    spiFlashMode: v.getUint8(181),
  };
}

export function finish(info: Omit<ImageInfo, 'ok'>): ImageInfo {
  return { ...info, ok: !info.problems.some((p) => p.severity === 'error') };
}

export function inspectEsp32(r: Reader): ImageInfo {
  const problems: ImageProblem[] = [];
  const image = walkReader(r, 0, 'esp32', problems);
  const chip = chipById(image.header.extended?.chipId ?? -1) as ChipInfo;
  reportIntegrity(image, problems, `${chip.label} image`);
  const seg0 = image.segments[0];
  let appDesc: AppDescriptor | undefined;
  if (seg0 !== undefined && seg0.dataOffset === 0x20 && seg0.length >= 4) {
    appDesc = readAppDesc(r, 0x20);
    if (appDesc !== undefined && seg0.length < 256) {
      problems.push({
        code: 'app_desc_short',
        severity: 'error',
        offset: seg0.headerOffset + 4,
        message: `Segment 0: length ${hex(seg0.length)} is too short for app description (256 bytes).`,
      });
    }
  }
  const mapped = image.segments.some((s) => s.region === 'DROM' || s.region === 'IROM');
  let kind: ImageKind;
  let description: string;
  if (appDesc !== undefined) {
    kind = 'esp32-app';
    description = `${chip.label} application image`;
  } else if (!mapped) {
    kind = 'bootloader';
    description = `${chip.label} bootloader (a RAM-loaded image, not an application)`;
  } else {
    kind = 'esp32-app';
    description = `${chip.label} application image (without app descriptor)`;
    problems.push({
      code: 'app_desc_missing',
      severity: 'warning',
      offset: 0x20,
      message: 'No app descriptor (magic 0xABCD5432) at 0x20: version and project are unknown.',
    });
  }
  const trailingBytes = r.size - image.length;
  if (trailingBytes > 0) {
    problems.push({
      code: 'trailing_bytes',
      severity: 'warning',
      offset: image.length,
      message: `${trailingBytes} bytes follow the image at ${hex(image.length)} (a Secure Boot signature or padding?).`,
    });
  }
  return finish({
    kind,
    description,
    size: r.size,
    family: 'esp32',
    chip: chip.chip,
    chipLabel: chip.label,
    image,
    ...(appDesc === undefined ? {} : { appDesc }),
    trailingBytes,
    problems,
  });
}

export function inspectEsp8266(r: Reader): ImageInfo {
  const problems: ImageProblem[] = [];
  const first = walkReader(r, 0, 'esp8266', problems);
  const size = r.size;
  const isSketch =
    first.length <= ESP8266_SKETCH_OFFSET &&
    size > ESP8266_SKETCH_OFFSET &&
    r.at(ESP8266_SKETCH_OFFSET) === IMAGE_MAGIC;
  if (!isSketch) {
    reportIntegrity(first, problems, 'ESP8266 image');
    const trailingBytes = size - first.length;
    if (trailingBytes > 0) {
      problems.push({
        code: 'trailing_bytes',
        severity: 'warning',
        offset: first.length,
        message: `${trailingBytes} bytes follow the image at ${hex(first.length)}.`,
      });
    }
    problems.push({
      code: 'no_eboot',
      severity: 'warning',
      message:
        'A bare ESP8266 image: no eboot bootloader at 0 and no app at 0x1000, so this is not what the Arduino core uploads (a sketch .bin starts with eboot).',
    });
    return finish({
      kind: 'esp8266-image',
      description: 'ESP8266 image (bare, without eboot)',
      size,
      family: 'esp8266',
      chip: 'esp8266',
      chipLabel: 'ESP8266',
      image: first,
      trailingBytes,
      problems,
    });
  }
  reportIntegrity(first, problems, 'eboot (the bootloader at 0)');
  const appProblems: ImageProblem[] = [];
  const app = walkReader(r, ESP8266_SKETCH_OFFSET, 'esp8266', appProblems);
  problems.push(...appProblems);
  const seg0 = app.segments[0];
  let lengthWord = 0;
  let crcWord = 0;
  if (seg0 !== undefined && seg0.loadAddress === ESP8266_IROM_BASE + 0x1010 && seg0.length >= 8) {
    lengthWord = r.u32(seg0.dataOffset, 'the length word');
    crcWord = r.u32(seg0.dataOffset + 4, 'the CRC word');
  }
  const hasCrc = lengthWord !== 0 || crcWord !== 0;
  // elf2bin computes the XOR checksum with the two words still zero (formats.md §6.1).
  let checksumWithWordsZeroed = false;
  if (hasCrc && seg0 !== undefined) {
    const wordsXor = xorRange(r, seg0.dataOffset, seg0.dataOffset + 8, 0);
    const zeroed = app.checksum.computed ^ wordsXor;
    if (zeroed === app.checksum.stored) {
      checksumWithWordsZeroed = true;
      app.checksum = { ...app.checksum, computed: zeroed, ok: true };
    }
  }
  reportIntegrity(app, problems, 'The sketch at 0x1000');
  const end = ESP8266_SKETCH_OFFSET + app.length;
  let crcComputed: number | undefined;
  let crcOk: boolean | undefined;
  if (hasCrc && seg0 !== undefined) {
    if (lengthWord !== size) {
      problems.push({
        code: 'length_mismatch',
        severity: lengthWord > size ? 'error' : 'warning',
        offset: seg0.dataOffset,
        message: `The length word at ${hex(seg0.dataOffset)} says ${lengthWord} bytes, the file has ${size}.`,
      });
    }
    if (lengthWord <= size) {
      const w = seg0.dataOffset;
      let crc = crcMpeg2Of(r.source, 0, w, 0xffffffff);
      crc = crcMpeg2Of(bytesSource(new Uint8Array(8)), 0, 8, crc);
      crc = crcMpeg2Of(r.source, w + 8, lengthWord, crc);
      crcComputed = crc;
      crcOk = crc === crcWord;
      if (!crcOk) {
        problems.push({
          code: 'crc_mismatch',
          severity: 'error',
          offset: w + 4,
          message: `The sketch CRC-32 at ${hex(w + 4)} is ${hex(crcWord)} but the file gives ${hex(crc)}: the file is corrupt.`,
        });
      }
    }
  }
  const covered = hasCrc && lengthWord <= size ? Math.max(lengthWord, end) : end;
  const trailingBytes = size - covered;
  if (trailingBytes > 0) {
    problems.push({
      code: 'trailing_bytes',
      severity: 'warning',
      offset: covered,
      message: `${trailingBytes} bytes follow the sketch at ${hex(covered)} (a signature?).`,
    });
  }
  return finish({
    kind: 'esp8266-sketch',
    description: hasCrc
      ? 'Arduino ESP8266 sketch (eboot at 0, the app at 0x1000 with its length and CRC-32)'
      : 'Arduino ESP8266 sketch (eboot at 0, the app at 0x1000; an older build without length/CRC words)',
    size,
    family: 'esp8266',
    chip: 'esp8266',
    chipLabel: 'ESP8266',
    image: first,
    trailingBytes,
    esp8266: {
      eboot: first,
      app,
      lengthWord,
      crcWord,
      hasCrc,
      ...(crcComputed === undefined ? {} : { crcComputed }),
      ...(crcOk === undefined ? {} : { crcOk }),
      checksumWithWordsZeroed,
    },
    problems,
  });
}
