import { AirflashError } from '../../../core/errors.ts';
import { formatFlashSize, inspectImage, parseFlashSize } from '../../../formats/index.ts';
import { decodePartitionTable } from '../../../formats/partitions/binary.ts';
import type { PartitionTable } from '../../../formats/partitions/types.ts';

/** One region to write. */
interface FlashPart {
  address: number;
  data: Uint8Array;
  /** A file name or label for messages. */
  name: string;
}

/** What the connected board is, for the checks. */
interface ConnectedChip {
  chipId: string;
  family: 'esp32' | 'esp8266';
  chipName: string;
  flashSize?: number;
}

const TABLE_OFFSET = 0x8000;
const hex = (n: number): string => `0x${n.toString(16)}`;

/** What a part is; an ESP image that cannot be read (a bad segment, cut short) is refused. */
function inspect(data: Uint8Array, name: string): ReturnType<typeof inspectImage> {
  try {
    return inspectImage(data);
  } catch (error) {
    if (
      error instanceof AirflashError &&
      (error.code === 'IMAGE_INVALID' || error.code === 'IMAGE_TRUNCATED')
    )
      throw new AirflashError('PREFLIGHT_CORRUPT', `${name} is not a readable ESP image: ${error.message}`, {
        hint: 'Build it again, or check that you picked the right file.',
        cause: error,
      });
    throw error;
  }
}

/**
 * The default address of a part by what it is: a merged image at 0; a bootloader at 0x1000
 * (ESP32, ESP32-S2) or 0x0 (later chips); a partition table at 0x8000; otadata at 0xe000 (the
 * Arduino `boot_app0.bin` place); an app at 0x10000 (ESP32 family) or 0x0 (ESP8266).
 */
function defaultAddress(
  data: Uint8Array,
  chip: { family: 'esp32' | 'esp8266'; chipId: string },
  name = 'the file',
): number {
  const kind = inspect(data, name).kind;
  if (kind === 'merged' || chip.family === 'esp8266') return 0;
  if (kind === 'bootloader') return chip.chipId === 'esp32' || chip.chipId === 'esp32s2' ? 0x1000 : 0;
  if (kind === 'partition-table') return TABLE_OFFSET;
  if (kind === 'otadata') return 0xe000;
  return 0x10000;
}

/**
 * The pre-flight of a flash plan against the connected board, before any byte is written: parts
 * in the flash and not overlapping; each image's chip against the board's; the flash size in each
 * header against the real flash; each app against its slot in the partition table being written.
 */
function preflightParts(parts: readonly FlashPart[], chip: ConnectedChip): void {
  const sorted = [...parts].sort((a, b) => a.address - b.address);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as FlashPart;
    const cur = sorted[i] as FlashPart;
    if (prev.address + prev.data.length > cur.address)
      throw new AirflashError(
        'BAD_ARGUMENT',
        `${prev.name} at ${hex(prev.address)} overlaps ${cur.name} at ${hex(cur.address)}.`,
      );
  }
  let table: PartitionTable | undefined;
  const tablePart = parts.find((p) => p.address === TABLE_OFFSET);
  if (tablePart && chip.family === 'esp32') {
    try {
      table = decodePartitionTable(tablePart.data);
    } catch {
      table = undefined;
    }
  }
  for (const part of parts) {
    const end = part.address + part.data.length;
    if (chip.flashSize !== undefined && end > chip.flashSize)
      throw new AirflashError(
        'PREFLIGHT_TOO_BIG',
        `${part.name} ends at ${hex(end)}, beyond the board's ${formatFlashSize(chip.flashSize)} flash.`,
        { hint: 'Check the address and the board: `airflash chip` shows the real flash size.' },
      );
    const info = inspectImage(part.data);
    if (
      info.family !== undefined &&
      (info.family !== chip.family || (info.chip !== undefined && info.chip !== chip.chipId))
    )
      throw new AirflashError(
        'PREFLIGHT_WRONG_CHIP',
        `${part.name} is built for ${info.chipLabel ?? info.chip ?? info.family}, the board is an ${chip.chipName}.`,
        {
          hint: 'Build for the connected chip (PlatformIO `board =`), or connect the board it was built for.',
        },
      );
    const headerSize = info.image?.header.flashSize;
    if (headerSize && chip.flashSize !== undefined && /^\d+[KM]B$/.test(headerSize)) {
      const claimed = parseFlashSize(headerSize);
      if (claimed > chip.flashSize)
        throw new AirflashError(
          'PREFLIGHT_FLASH_SIZE',
          `${part.name} says the flash is ${headerSize}; the board has ${formatFlashSize(chip.flashSize)}.`,
          {
            hint: `Build with board_build.flash_size = ${formatFlashSize(chip.flashSize)} (and a partition scheme that fits it).`,
          },
        );
    }
    if (table && info.kind === 'esp32-app') {
      const slot = table.entries.find((e) => e.type === 0 && e.offset === part.address);
      if (!slot)
        throw new AirflashError(
          'PREFLIGHT_NO_OTA',
          `${part.name} at ${hex(part.address)} is not at an app partition of the table being written.`,
          {
            hint: `App partitions: ${table.entries
              .filter((e) => e.type === 0)
              .map((e) => `${e.name} ${hex(e.offset)}`)
              .join(', ')}.`,
          },
        );
      if (part.data.length > slot.size)
        throw new AirflashError(
          'PREFLIGHT_TOO_BIG',
          `${part.name} is ${part.data.length} bytes; its slot ${slot.name} holds ${slot.size} bytes.`,
          { hint: 'Choose a partition scheme with a larger app slot, or make the app smaller.' },
        );
    }
  }
}

export { type ConnectedChip, defaultAddress, type FlashPart, preflightParts };
