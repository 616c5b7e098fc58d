/**
 * What a file that is not an ESP image looks like, from its first bytes: an ELF (the linker
 * output passed instead of the .bin), text, Intel HEX, a ZIP archive, a filesystem image, erased
 * flash, or unrecognised binary data. Each comes with the next step for the user.
 */

/** How many leading bytes `sniff` looks at. */
export const SNIFF_BYTES = 4096;

export interface Sniffed {
  /** "an ELF file (…)", "a text file", … (to follow "This is"). */
  looksLike: string;
  hint: string;
}

const BIN_HINT =
  'Pass the application .bin from the build folder (PlatformIO: .pio/build/<env>/firmware.bin; Arduino: <sketch>.ino.bin).';

function startsWith(head: Uint8Array, bytes: number[], at = 0): boolean {
  return bytes.every((b, i) => head[at + i] === b);
}

function ascii(head: Uint8Array, at: number, text: string): boolean {
  return startsWith(
    head,
    [...text].map((c) => c.charCodeAt(0)),
    at,
  );
}

/** Printable text (ASCII or UTF-8, tabs and line ends), allowing a UTF-8 sequence cut at the end. */
function isText(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, cutUtf8(head)));
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is tested
    return !/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(text);
  } catch {
    return false;
  }
}

/** Length of `head` without a trailing, incomplete UTF-8 sequence. */
function cutUtf8(head: Uint8Array): number {
  let end = head.length;
  for (let back = 1; back <= 3 && end - back >= 0; back += 1) {
    const b = head[end - back] as number;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (need > back) end -= back;
    break;
  }
  return end;
}

export function sniff(head: Uint8Array): Sniffed {
  if (startsWith(head, [0x7f, 0x45, 0x4c, 0x46]))
    return {
      looksLike: 'an ELF file (the linker output, e.g. firmware.elf)',
      hint: `You passed the .elf; pass the .bin made from it. ${BIN_HINT}`,
    };
  if (startsWith(head, [0x1f, 0x8b]))
    return { looksLike: 'gzip data', hint: 'Decompress it and pass the .bin inside.' };
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]))
    return { looksLike: 'a ZIP archive', hint: 'Unpack it and pass the firmware .bin inside.' };
  if (ascii(head, 8, 'littlefs'))
    return {
      looksLike: 'a LittleFS filesystem image',
      hint: 'Upload a filesystem image as a filesystem update (--spiffs / -s), not as firmware.',
    };
  if (
    head.length >= 512 &&
    head[510] === 0x55 &&
    head[511] === 0xaa &&
    (ascii(head, 54, 'FAT') || ascii(head, 82, 'FAT'))
  )
    return {
      looksLike: 'a FAT filesystem image',
      hint: 'Upload a filesystem image as a filesystem update (--spiffs / -s), not as firmware.',
    };
  if (head.length > 0 && head.every((b) => b === 0xff))
    return {
      looksLike: 'erased flash (every byte 0xFF)',
      hint: `A flash dump of an empty region. ${BIN_HINT}`,
    };
  if (head.length > 0 && head.every((b) => b === 0))
    return { looksLike: 'zeros (every byte 0x00)', hint: BIN_HINT };
  if (isText(head)) {
    if (/^:[0-9A-Fa-f]{10}/.test(new TextDecoder().decode(head.subarray(0, 16))))
      return { looksLike: 'an Intel HEX text file', hint: `OTA takes a binary image, not HEX. ${BIN_HINT}` };
    return { looksLike: 'a text file', hint: `It holds text, not a compiled image. ${BIN_HINT}` };
  }
  const first = head[0] ?? 0;
  return {
    looksLike: `unrecognised binary data (first byte 0x${first.toString(16).toUpperCase().padStart(2, '0')})`,
    hint: `An ESP application image starts with byte 0xE9 (an ESP8266 .bin.gz with 1F 8B). ${BIN_HINT}`,
  };
}
