import { createHash } from 'node:crypto';
import { AirflashError } from '../../../core/errors.ts';
import { type ChipInfo, readChipInfo } from './chip-info.ts';
import { type LoaderSession, type SerialOptions, withSession } from './connect.ts';
import { defaultAddress, type FlashPart, preflightParts } from './preflight.ts';

/** Events of a serial flash, erase or read (the CLI renders them; the library never prints). */
type SerialEvent =
  | { type: 'phase'; phase: 'connect' | 'preflight' | 'erase' | 'write' | 'reset' | 'done' }
  | { type: 'chip'; chip: ChipInfo }
  /** `written` / `total`: compressed bytes of part `part` sent so far. */
  | { type: 'progress'; part: number; address: number; written: number; total: number }
  | { type: 'verified'; part: number; address: number; size: number; md5: string };

interface FlashSerialOptions extends SerialOptions {
  /** The regions to write; a part without `address` gets the default for its kind and the chip. */
  parts: ReadonlyArray<{ address?: number; data: Uint8Array; name?: string }>;
  /** Erase the whole flash first. */
  erase?: boolean;
  /** Reset the board into the new firmware at the end (default true). */
  hardReset?: boolean;
  onEvent?: (event: SerialEvent) => void;
}

interface FlashSerialResult {
  ok: true;
  port: string;
  chip: ChipInfo;
  erased: boolean;
  parts: Array<{ address: number; size: number; md5: string; verified: true; name: string }>;
  durationMs: number;
}

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
/** esptool-js pads each part to 4 bytes with 0xFF before hashing and writing. */
const pad4 = (b: Uint8Array): Uint8Array => {
  if (b.length % 4 === 0) return b;
  const out = new Uint8Array(b.length + (4 - (b.length % 4))).fill(0xff);
  out.set(b);
  return out;
};

/** Write a flash plan over USB serial: pre-flight, optional chip erase, compressed writes, MD5 verify, hard reset. */
async function flashSerial(options: FlashSerialOptions): Promise<FlashSerialResult> {
  if (options.parts.length === 0) throw new AirflashError('BAD_ARGUMENT', 'Nothing to flash: name a file.');
  for (const p of options.parts)
    if (p.data.length === 0) throw new AirflashError('PREFLIGHT_EMPTY', `${p.name ?? 'A part'} is empty.`);
  const emit = options.onEvent ?? (() => {});
  const started = Date.now();
  emit({ type: 'phase', phase: 'connect' });
  return withSession(options, async (s: LoaderSession) => {
    const chip = await readChipInfo(s);
    emit({ type: 'chip', chip });
    emit({ type: 'phase', phase: 'preflight' });
    const parts: FlashPart[] = options.parts.map((p, i) => {
      const name = p.name ?? `part ${i + 1}`;
      return { address: p.address ?? defaultAddress(p.data, chip, name), data: p.data, name };
    });
    preflightParts(parts, {
      chipId: chip.chipId,
      family: chip.family,
      chipName: chip.chip,
      ...(chip.flashSize === undefined ? {} : { flashSize: chip.flashSize }),
    });
    if (options.erase) {
      emit({ type: 'phase', phase: 'erase' });
      await s.loader.eraseFlash();
    }
    emit({ type: 'phase', phase: 'write' });
    const written: FlashSerialResult['parts'] = [];
    await s.loader.writeFlash({
      fileArray: parts.map((p) => ({ data: p.data, address: p.address })),
      flashMode: 'keep',
      flashFreq: 'keep',
      flashSize: 'keep',
      eraseAll: false,
      compress: true,
      reportProgress: (i: number, w: number, total: number) =>
        emit({ type: 'progress', part: i, address: (parts[i] as FlashPart).address, written: w, total }),
      calculateMD5Hash: (image: Uint8Array) => md5(image),
    });
    // esptool-js compared each region's SPI_FLASH_MD5 with the file's (it throws on a mismatch).
    parts.forEach((p, i) => {
      const digest = md5(pad4(p.data));
      written.push({ address: p.address, size: p.data.length, md5: digest, verified: true, name: p.name });
      emit({ type: 'verified', part: i, address: p.address, size: p.data.length, md5: digest });
    });
    if (options.hardReset !== false) {
      emit({ type: 'phase', phase: 'reset' });
      await s.loader.after('hard_reset');
    }
    emit({ type: 'phase', phase: 'done' });
    return {
      ok: true as const,
      port: s.path,
      chip,
      erased: options.erase === true,
      parts: written,
      durationMs: Date.now() - started,
    };
  });
}

interface EraseSerialOptions extends SerialOptions {
  /** Erase only this region (both 4 KiB aligned); the whole chip otherwise. */
  region?: { offset: number; size: number };
  onEvent?: (event: SerialEvent) => void;
}

/** Erase the whole flash, or one region, over USB serial. */
async function eraseSerial(
  options: EraseSerialOptions,
): Promise<{ ok: true; port: string; chip: ChipInfo; region?: { offset: number; size: number } }> {
  const r = options.region;
  if (r && (r.offset % 4096 !== 0 || r.size % 4096 !== 0 || r.size <= 0 || r.offset < 0))
    throw new AirflashError(
      'BAD_ARGUMENT',
      `The region 0x${r.offset.toString(16)}+0x${r.size.toString(16)} is not whole 4 KiB sectors.`,
      {
        hint: 'Both OFFSET and SIZE must be multiples of 0x1000.',
      },
    );
  const emit = options.onEvent ?? (() => {});
  emit({ type: 'phase', phase: 'connect' });
  return withSession(options, async (s) => {
    const chip = await readChipInfo(s);
    emit({ type: 'chip', chip });
    if (r && chip.flashSize !== undefined && r.offset + r.size > chip.flashSize)
      throw new AirflashError(
        'BAD_ARGUMENT',
        `The region ends beyond the board's flash (${chip.flashSize} bytes).`,
      );
    emit({ type: 'phase', phase: 'erase' });
    if (r) {
      const pkt = new Uint8Array(8);
      const v = new DataView(pkt.buffer);
      v.setUint32(0, r.offset, true);
      v.setUint32(4, r.size, true);
      // esptool-js has no region erase: the stub's ERASE_REGION (0xD1) through its checkCommand.
      await s.loader.checkCommand('erase region', 0xd1, pkt, 0, 0, Math.max(3000, (r.size / 1e6) * 30_000));
    } else await s.loader.eraseFlash();
    emit({ type: 'phase', phase: 'done' });
    return { ok: true as const, port: s.path, chip, ...(r ? { region: r } : {}) };
  });
}

/** Read `size` bytes at `offset` off the board (the stub's READ_FLASH). */
async function readFlashSerial(
  options: SerialOptions & { offset: number; size: number },
): Promise<{ chip: ChipInfo; bytes: Uint8Array }> {
  return withSession(options, async (s) => {
    const chip = await readChipInfo(s);
    return { chip, bytes: await s.loader.readFlash(options.offset, options.size) };
  });
}

export {
  type EraseSerialOptions,
  eraseSerial,
  type FlashSerialOptions,
  type FlashSerialResult,
  flashSerial,
  readFlashSerial,
  type SerialEvent,
};
