/**
 * One app image over USB serial for the upload front (`airflash upload -i serial://…`): connect,
 * the connected chip against the image (before any byte is written), the slot the board boots
 * (its own partition table and otadata), a compressed write verified by the stub's MD5, and a
 * hard reset into it. One loader session: the board is reset into its ROM loader once.
 */
import { createHash } from 'node:crypto';
import { AirflashError } from '../../../core/errors.ts';
import { bootSlotFromOtadata, inspectImage, OTADATA_SIZE, usableOtaSlots } from '../../../formats/index.ts';
import { decodePartitionTable } from '../../../formats/partitions/binary.ts';
import type { PartitionTable } from '../../../formats/partitions/types.ts';
import { type ChipInfo, readChipInfo } from './chip-info.ts';
import { type LoaderSession, type SerialOptions, withSession } from './connect.ts';
import { defaultAddress, preflightParts } from './preflight.ts';

/** Where the app went, and why there. */
interface AppSlot {
  address: number;
  /** The partition's name (`app0`, `factory`), or undefined without a table (0x10000 / 0x0). */
  name?: string;
  size?: number;
  /** `otadata`: the slot otadata boots; `first-app`: blank otadata, the slot the bootloader then
   * boots; `default`: no table on the board (ESP8266, or a blank ESP32): the default address. */
  why: 'otadata' | 'first-app' | 'default' | 'filesystem';
}

type UploadAppEvent =
  | { type: 'stage'; stage: 'connect' | 'chip' | 'write' | 'reset' }
  | { type: 'chip'; chip: ChipInfo }
  | { type: 'slot'; slot: AppSlot }
  /** `written` / `total`: compressed bytes the stub acknowledged. */
  | { type: 'progress'; written: number; total: number };

interface UploadAppOptions extends SerialOptions {
  data: Uint8Array;
  /** `filesystem`: the image goes to the board's filesystem partition (its table's spiffs,
   * littlefs or fat data partition); default `app`. */
  kind?: 'app' | 'filesystem';
  onEvent?: (event: UploadAppEvent) => void;
}

interface UploadAppResult {
  port: string;
  chip: ChipInfo;
  slot: AppSlot;
  md5: string;
}

const TABLE_OFFSET = 0x8000;
const TABLE_SIZE = 0xc00;
const hex = (n: number): string => `0x${n.toString(16)}`;

/** The app slot the board boots, from its table and otadata; the default address without a table. */
async function bootedSlot(s: LoaderSession, chip: ChipInfo, data: Uint8Array): Promise<AppSlot> {
  const fallback: AppSlot = { address: defaultAddress(data, chip), why: 'default' };
  if (chip.family !== 'esp32') return fallback;
  const table = await boardTable(s);
  if (table === undefined) return fallback; // a new, erased or foreign 0x8000: the default address
  const slots = usableOtaSlots(table);
  const od = table.entries.find((e) => e.type === 1 && e.subtype === 0x00);
  const otadata = od && slots.length > 0 ? await s.loader.readFlash(od.offset, OTADATA_SIZE) : undefined;
  const index =
    otadata && otadata.length >= OTADATA_SIZE
      ? bootSlotFromOtadata(otadata, slots.length, { rollback: true })
      : undefined;
  const booted = index === undefined ? undefined : slots[index];
  // esp-idf bootloader_utility.c: blank otadata → the factory app, else ota_0.
  const first =
    table.entries.find((e) => e.type === 0 && e.subtype === 0x00) ??
    slots[0] ??
    table.entries.find((e) => e.type === 0);
  const entry = booted ?? first;
  if (entry === undefined)
    throw new AirflashError('PREFLIGHT_NO_OTA', "The board's partition table has no app partition.", {
      hint: 'Flash a table with an app partition first (airflash flash --env NAME).',
    });
  return { address: entry.offset, name: entry.name, size: entry.size, why: booted ? 'otadata' : 'first-app' };
}

const APP_KINDS: ReadonlySet<string> = new Set(['esp32-app', 'esp8266-sketch', 'esp8266-image']);

/** What the file is; an unreadable ESP image is refused before the port is opened. */
function inspectKind(data: Uint8Array): string {
  try {
    return inspectImage(data).kind;
  } catch (error) {
    throw new AirflashError('PREFLIGHT_CORRUPT', 'The file is not a readable ESP image.', {
      hint: 'Build it again, or check that you picked the right file.',
      cause: error,
    });
  }
}

/** The board's table at 0x8000; undefined when there is none (blank, erased, foreign). */
async function boardTable(s: LoaderSession): Promise<PartitionTable | undefined> {
  try {
    const table = decodePartitionTable(await s.loader.readFlash(TABLE_OFFSET, TABLE_SIZE));
    return table.entries.length === 0 ? undefined : table;
  } catch {
    return undefined;
  }
}

/** Data subtypes a filesystem image goes to, in the order looked for (esp-idf esp_partition.h). */
const FS_SUBTYPES = [0x82, 0x83, 0x81] as const; // spiffs (also Arduino's LittleFS), littlefs, fat

/** The filesystem partition of the board's table; BAD_ARGUMENT when the board has none. */
async function filesystemSlot(s: LoaderSession, chip: ChipInfo): Promise<AppSlot> {
  const table = chip.family === 'esp32' ? await boardTable(s) : undefined;
  const entry = table
    ? FS_SUBTYPES.map((st) => table.entries.find((e) => e.type === 1 && e.subtype === st)).find(
        (e) => e !== undefined,
      )
    : undefined;
  if (entry === undefined)
    throw new AirflashError(
      'BAD_ARGUMENT',
      chip.family === 'esp32'
        ? table
          ? "The board's partition table has no filesystem partition (spiffs, littlefs or fat)."
          : 'The board has no partition table at 0x8000, so where its filesystem goes is unknown.'
        : `The ${chip.chip} has no partition table: where its filesystem starts depends on the build's flash layout.`,
      { hint: 'Write the image at its offset: airflash flash --port PORT OFFSET FILE.' },
    );
  return { address: entry.offset, name: entry.name, size: entry.size, why: 'filesystem' };
}

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** Write one app image at the slot the board boots; resolves after the MD5 verify and the reset. */
async function uploadAppSerial(options: UploadAppOptions): Promise<UploadAppResult> {
  const emit = options.onEvent ?? (() => {});
  const data = options.data;
  if (data.length === 0) throw new AirflashError('PREFLIGHT_EMPTY', 'The image is empty.');
  const fs = options.kind === 'filesystem';
  const kind = fs ? 'filesystem' : inspectKind(data);
  if (!fs && !APP_KINDS.has(kind))
    throw new AirflashError(
      'BAD_ARGUMENT',
      `The file is a ${kind} image, not an app: upload writes one app.`,
      {
        hint: 'Write bootloaders, tables and merged images with airflash flash --port PORT ADDRESS FILE.',
      },
    );
  emit({ type: 'stage', stage: 'connect' });
  return withSession(options, async (s) => {
    const chip = await readChipInfo(s);
    emit({ type: 'stage', stage: 'chip' });
    emit({ type: 'chip', chip });
    const connected = {
      chipId: chip.chipId,
      family: chip.family,
      chipName: chip.chip,
      ...(chip.flashSize === undefined ? {} : { flashSize: chip.flashSize }),
    };
    // The chip the loader reports against the image's (family and exact chip), before anything
    // else is read or written; then the slot, and the image against the flash and the slot.
    if (!fs) preflightParts([{ address: defaultAddress(data, chip), data, name: 'The image' }], connected);
    const slot = fs ? await filesystemSlot(s, chip) : await bootedSlot(s, chip, data);
    emit({ type: 'slot', slot });
    preflightParts([{ address: slot.address, data, name: 'The image' }], connected);
    if (slot.size !== undefined && data.length > slot.size)
      throw new AirflashError(
        'PREFLIGHT_TOO_BIG',
        `The image is ${data.length} bytes; the board's partition ${slot.name} at ${hex(slot.address)} holds ${slot.size} bytes.`,
        {
          hint: 'Make the app smaller, or flash a partition scheme with a larger slot (airflash flash --env).',
        },
      );
    emit({ type: 'stage', stage: 'write' });
    await s.loader.writeFlash({
      fileArray: [{ data, address: slot.address }],
      flashMode: 'keep',
      flashFreq: 'keep',
      flashSize: 'keep',
      eraseAll: false,
      compress: true,
      reportProgress: (_i: number, written: number, total: number) =>
        emit({ type: 'progress', written, total }),
      calculateMD5Hash: (image: Uint8Array) => md5(image),
    });
    // esptool-js compared the region's SPI_FLASH_MD5 with the padded image's (it throws on a mismatch).
    emit({ type: 'stage', stage: 'reset' });
    await s.loader.after('hard_reset');
    return { port: s.path, chip, slot, md5: md5(data) };
  });
}

export { type AppSlot, type UploadAppEvent, type UploadAppOptions, type UploadAppResult, uploadAppSerial };
