import { inflateSync, constants as zc } from 'node:zlib';
import type { SparseFlash } from '../../../emulator/board/flash.ts';
import { TIMING_MODEL } from '../../../emulator/board/timing.ts';

const SECTOR = TIMING_MODEL.flash.sectorSize;
const BLOCK = TIMING_MODEL.flash.blockSize;

/**
 * One FLASH_BEGIN / FLASH_DEFL_BEGIN write in progress: blocks must arrive in sequence; every
 * block is written at once (the deflate stream is inflated so far with a sync flush, and the new
 * bytes programmed), erasing ahead of the write (a 64 KiB block where the region covers one,
 * else a 4 KiB sector) just before its first byte is programmed, as the stub does while it writes (the ROM erases the whole region up front: `eraseUpFront`).
 * Every call returns the device time it costs (TIMING_MODEL.flash).
 */
class FlashWriter {
  private expectedSeq = 0;
  private written = 0;
  private readonly compressed: Uint8Array[] = [];
  private compressedLength = 0;
  private erasedUpTo: number;
  private readonly flash: SparseFlash;
  readonly offset: number;
  /** Bytes to write (uncompressed). */
  readonly size: number;
  readonly blocks: number;
  private readonly deflate: boolean;

  constructor(flash: SparseFlash, offset: number, size: number, blocks: number, deflate: boolean) {
    this.flash = flash;
    this.offset = offset;
    this.size = size;
    this.blocks = blocks;
    this.deflate = deflate;
    this.erasedUpTo = offset - (offset % SECTOR);
  }

  /** The ROM loader's FLASH_BEGIN: the region is erased before the first block (cost returned). */
  eraseUpFront(): number {
    return this.eraseTo(this.offset + this.size);
  }

  /** Whether `seq` is the block expected next. */
  expects(seq: number): boolean {
    return seq === this.expectedSeq && seq < this.blocks;
  }

  /** Take block `seq`; throws 'overflow' when it would write past the region or past the flash. */
  block(data: Uint8Array): number {
    this.expectedSeq++;
    let fresh: Uint8Array;
    if (this.deflate) {
      this.compressed.push(data);
      this.compressedLength += data.length;
      const all = new Uint8Array(this.compressedLength);
      let o = 0;
      for (const c of this.compressed) {
        all.set(c, o);
        o += c.length;
      }
      const out = inflateSync(all, { finishFlush: zc.Z_SYNC_FLUSH });
      fresh = new Uint8Array(out.buffer, out.byteOffset + this.written, out.length - this.written);
    } else fresh = data;
    const room = this.size - this.written;
    // FLASH_DATA's last block is padded with 0xFF past the image (esptool): only the region is written.
    if (fresh.length > room && this.deflate) throw new Error('overflow');
    const part = fresh.subarray(0, Math.min(fresh.length, room));
    const at = this.offset + this.written;
    let ms = this.eraseTo(at + part.length);
    ms += this.flash.program(at, part);
    this.written += part.length;
    return ms;
  }

  /** Bytes written so far. */
  get done(): number {
    return this.written;
  }

  /** Erase ahead up to `end`: a whole 64 KiB block where the region covers one, else a sector. */
  private eraseTo(end: number): number {
    let ms = 0;
    const regionEnd = this.offset + this.size;
    while (this.erasedUpTo < end && this.erasedUpTo < this.flash.size) {
      const at = this.erasedUpTo;
      const n = at % BLOCK === 0 && at + BLOCK <= regionEnd && at + BLOCK <= this.flash.size ? BLOCK : SECTOR;
      ms += this.flash.erase(at, n);
      this.erasedUpTo += n;
    }
    return ms;
  }
}

export { FlashWriter };
