import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirflashError } from '../../core/errors.ts';
import { flashProgramMs, TIMING_MODEL } from './timing.ts';

const SECTOR = TIMING_MODEL.flash.sectorSize;

/**
 * NOR flash, stored sparsely: only sectors that hold something other than 0xFF are kept (a Map of
 * 4 KiB sectors), so fifty 4 MB devices cost a few MB. Programming can only clear bits (the new
 * byte is ANDed with the old one), as on real NOR flash: a writer that forgets to erase corrupts.
 * Every operation returns the device time it costs (TIMING_MODEL.flash).
 */
export class SparseFlash {
  readonly size: number;
  private readonly sectors = new Map<number, Uint8Array>();
  private readonly dirty = new Set<number>();

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size <= 0 || size % SECTOR !== 0) {
      throw new AirflashError('BAD_ARGUMENT', `Flash size ${size} is not a whole number of 4 KiB sectors.`);
    }
    this.size = size;
  }

  private check(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new AirflashError('BAD_ARGUMENT', `Bad flash range ${offset}+${length}.`);
    }
    if (offset + length > this.size) {
      throw new AirflashError(
        'BAD_ARGUMENT',
        `Flash range 0x${offset.toString(16)}+${length} is beyond the ${this.size}-byte flash.`,
      );
    }
  }

  read(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    const out = new Uint8Array(length).fill(0xff);
    let pos = 0;
    while (pos < length) {
      const abs = offset + pos;
      const index = Math.floor(abs / SECTOR);
      const within = abs - index * SECTOR;
      const n = Math.min(SECTOR - within, length - pos);
      const sector = this.sectors.get(index);
      if (sector) out.set(sector.subarray(within, within + n), pos);
      pos += n;
    }
    return out;
  }

  /** Program bytes (AND with the current content). Returns the model's cost in ms. */
  program(offset: number, data: Uint8Array): number {
    this.check(offset, data.length);
    let pos = 0;
    while (pos < data.length) {
      const abs = offset + pos;
      const index = Math.floor(abs / SECTOR);
      const within = abs - index * SECTOR;
      const n = Math.min(SECTOR - within, data.length - pos);
      let sector = this.sectors.get(index);
      const chunk = data.subarray(pos, pos + n);
      if (!sector) {
        if (chunk.every((b) => b === 0xff)) {
          pos += n;
          continue;
        }
        sector = new Uint8Array(SECTOR).fill(0xff);
        this.sectors.set(index, sector);
      }
      for (let i = 0; i < n; i++) sector[within + i] = (sector[within + i] as number) & (chunk[i] as number);
      this.dirty.add(index);
      pos += n;
    }
    return flashProgramMs(data.length);
  }

  /** Erase whole sectors covering [offset, offset+length) (both must be sector-aligned). */
  erase(offset: number, length: number): number {
    this.check(offset, length);
    if (offset % SECTOR !== 0 || length % SECTOR !== 0) {
      throw new AirflashError(
        'BAD_ARGUMENT',
        `Erase range 0x${offset.toString(16)}+${length} is not aligned.`,
      );
    }
    for (let a = offset; a < offset + length; a += SECTOR) {
      const index = a / SECTOR;
      if (this.sectors.delete(index)) this.dirty.add(index);
    }
    const f = TIMING_MODEL.flash;
    if (length === f.blockSize && offset % f.blockSize === 0) return f.blockEraseMs;
    return (length / SECTOR) * f.sectorEraseMs;
  }

  /** Put bytes without any cost or NOR semantics (initial image, state restore). */
  load(offset: number, data: Uint8Array): void {
    this.check(offset, data.length);
    for (let a = offset - (offset % SECTOR); a < offset + data.length; a += SECTOR) {
      const index = a / SECTOR;
      const start = Math.max(a, offset);
      const end = Math.min(a + SECTOR, offset + data.length);
      let sector = this.sectors.get(index);
      if (!sector) {
        sector = new Uint8Array(SECTOR).fill(0xff);
        this.sectors.set(index, sector);
      }
      sector.set(data.subarray(start - offset, end - offset), start - a);
      this.dirty.add(index);
    }
  }

  /** Bytes held in memory (for the memory test). */
  residentBytes(): number {
    return this.sectors.size * SECTOR;
  }

  /** Write the changed sectors to `dir` (one file per sector, named by its hex offset). */
  async persist(dir: string): Promise<void> {
    if (this.dirty.size === 0) return;
    await mkdir(dir, { recursive: true });
    const work: Promise<void>[] = [];
    for (const index of this.dirty) {
      const file = join(dir, `${(index * SECTOR).toString(16).padStart(8, '0')}.bin`);
      const sector = this.sectors.get(index);
      work.push(sector ? writeFile(file, sector) : rm(file, { force: true }));
    }
    this.dirty.clear();
    await Promise.all(work);
  }

  /** Load sectors written by persist(). Returns false when the directory holds none. */
  async restore(dir: string): Promise<boolean> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return false;
    }
    let found = false;
    for (const name of names) {
      const m = /^([0-9a-f]{8})\.bin$/.exec(name);
      if (!m) continue;
      const offset = Number.parseInt(m[1] as string, 16);
      const data = new Uint8Array(await readFile(join(dir, name)));
      if (data.length !== SECTOR || offset % SECTOR !== 0 || offset + SECTOR > this.size) continue;
      this.sectors.set(offset / SECTOR, data);
      found = true;
    }
    this.dirty.clear();
    return found;
  }
}
