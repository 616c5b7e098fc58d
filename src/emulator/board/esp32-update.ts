import { createHash, type Hash } from 'node:crypto';
import type { SparseFlash } from './flash.ts';
import { BLOCK, type FlashRegion, SECTOR, type WriteResult } from './update-common.ts';

/**
 * Model of arduino-esp32's `Update` class, written from its documented behaviour (docs formats.md
 * §4.9, protocol.md §4.6). Only what an OTA upload can reach is modelled. Each write returns the
 * flash time it cost so the caller can spend it.
 */

/** arduino-esp32 `Update` error numbers and `errorString()` texts (formats.md §4.9). */
export const ESP32_UPDATE_ERRORS: Record<number, string> = {
  0: 'No Error',
  1: 'Flash Write Failed',
  2: 'Flash Erase Failed',
  3: 'Flash Read Failed',
  4: 'Not Enough Space',
  5: 'Bad Size Given',
  6: 'Stream Read Timeout',
  7: 'MD5 Check Failed',
  8: 'Wrong Magic Byte',
  9: 'Could Not Activate The Firmware',
  10: 'Partition Could Not be Found',
  11: 'Bad Argument',
  12: 'Aborted',
  13: 'Decryption error',
};

export const ESP32_ERR = {
  ok: 0,
  space: 4,
  size: 5,
  md5: 7,
  magic: 8,
  activate: 9,
  noPartition: 10,
  badArgument: 11,
  abort: 12,
  decrypt: 13,
  read: 3,
} as const;

/**
 * arduino-esp32 3.x `UpdateClass` (libraries/Update/src/Updater.cpp): a 4 KiB buffer flushed when
 * a write would overflow it or when it holds the rest of the image; the first flush checks the
 * first byte (with decryption support in AUTO mode a non-0xE9 byte means "encrypted image" and,
 * with no key, fails as "Decryption error"); the first 16 bytes are held back until end() so a
 * half-written slot never boots; 64 KiB block erase on block boundaries; empty (all 0xFF) buffers
 * are not programmed; MD5 over every byte received.
 */
export class Esp32Update {
  private readonly flash: SparseFlash;
  private readonly decryptAuto: boolean;
  error = 0;
  private size = 0;
  private progress = 0;
  private command = 0;
  private region: FlashRegion | undefined;
  private buffer = new Uint8Array(SECTOR);
  private bufferLen = 0;
  private skip: Uint8Array | undefined;
  private md5: Hash | undefined;
  private targetMd5 = '';
  private computedMd5 = '';

  constructor(flash: SparseFlash, decryptAuto: boolean) {
    this.flash = flash;
    this.decryptAuto = decryptAuto;
  }

  errorString(): string {
    return ESP32_UPDATE_ERRORS[this.error] ?? 'UNKNOWN';
  }

  isRunning(): boolean {
    return this.size > 0;
  }
  isFinished(): boolean {
    return this.progress === this.size;
  }
  private remaining(): number {
    return this.size - this.progress;
  }
  target(): FlashRegion | undefined {
    return this.region;
  }
  md5Hex(): string {
    return this.computedMd5;
  }

  private reset(): void {
    this.bufferLen = 0;
    this.progress = 0;
    this.size = 0;
    this.skip = undefined;
    this.md5 = undefined;
  }

  private abortWith(err: number): void {
    this.reset();
    this.error = err;
  }

  abort(): void {
    this.abortWith(ESP32_ERR.abort);
  }

  /**
   * `begin(size, command)`. `size` is ArduinoOTA's `int _size` (negative wraps like size_t).
   * `target` is the partition the caller resolved (undefined → "Partition Could Not be Found").
   */
  begin(size: number, command: number, target: FlashRegion | undefined): boolean {
    if (this.size > 0) return false;
    this.reset();
    this.error = 0;
    this.targetMd5 = '';
    this.computedMd5 = '';
    const usize = size >>> 0;
    if (usize === 0) {
      this.error = ESP32_ERR.size;
      return false;
    }
    if (command !== 0 && command !== 100) {
      this.error = ESP32_ERR.badArgument;
      return false;
    }
    if (!target) {
      this.error = ESP32_ERR.noPartition;
      return false;
    }
    if (usize > target.size) {
      this.error = ESP32_ERR.size;
      return false;
    }
    this.region = target;
    this.size = usize;
    this.command = command;
    this.md5 = createHash('md5');
    return true;
  }

  setMD5(md5: string): void {
    if (md5.length === 32) this.targetMd5 = md5.toLowerCase();
  }

  private writeBuffer(): { ok: boolean; costMs: number } {
    const region = this.region as FlashRegion;
    let costMs = 0;
    if (this.progress === 0 && this.command === 0 && this.buffer[0] !== 0xe9) {
      // Decrypt mode AUTO: a first byte other than 0xE9 is taken for an encrypted image; with no
      // key set the decryption fails (formats.md §4.9). Without decryption support: magic error.
      this.abortWith(this.decryptAuto ? ESP32_ERR.decrypt : ESP32_ERR.magic);
      return { ok: false, costMs };
    }
    this.md5?.update(this.buffer.subarray(0, this.bufferLen));
    let skip = 0;
    if (this.progress === 0 && this.command === 0) {
      skip = 16;
      this.skip = this.buffer.slice(0, 16);
    }
    // `ESP.partitionWrite(_partition, _progress + skip, …)`: always from partition offset 0 (the
    // 3.0-era `_paroffset = 0x1000` for a FAT target is set but never read).
    const base = region.offset;
    const offset = base + this.progress;
    const blockErase = this.size - this.progress >= BLOCK && offset % BLOCK === 0;
    const headSectors = base % BLOCK !== 0 && offset < (Math.floor(base / BLOCK) + 1) * BLOCK;
    const tailSectors = offset >= Math.floor((base + this.size) / BLOCK) * BLOCK;
    if (blockErase || headSectors || tailSectors) {
      const len = blockErase ? BLOCK : SECTOR;
      if (offset % SECTOR === 0 && offset + len <= this.flash.size) costMs += this.flash.erase(offset, len);
    }
    const data = this.buffer.subarray(skip, this.bufferLen);
    if (data.some((b) => b !== 0xff)) costMs += this.flash.program(offset + skip, data);
    this.progress += this.bufferLen;
    this.bufferLen = 0;
    return { ok: true, costMs };
  }

  write(data: Uint8Array): WriteResult {
    let costMs = 0;
    if (this.error !== 0 || !this.isRunning()) return { written: 0, costMs };
    const len = data.length;
    if (len > this.remaining()) {
      this.abortWith(ESP32_ERR.space);
      return { written: 0, costMs };
    }
    let left = len;
    while (this.bufferLen + left > SECTOR) {
      const toBuff = SECTOR - this.bufferLen;
      this.buffer.set(data.subarray(len - left, len - left + toBuff), this.bufferLen);
      this.bufferLen += toBuff;
      const r = this.writeBuffer();
      costMs += r.costMs;
      if (!r.ok) return { written: len - left, costMs };
      left -= toBuff;
    }
    this.buffer.set(data.subarray(len - left), this.bufferLen);
    this.bufferLen += left;
    if (this.bufferLen === this.remaining()) {
      const r = this.writeBuffer();
      costMs += r.costMs;
      if (!r.ok) return { written: len - left, costMs };
    }
    return { written: len, costMs };
  }

  /**
   * `end()`: premature → Aborted; MD5 → "MD5 Check Failed"; then the held-back 16 bytes are
   * written, the first byte re-read (→ "Flash Read Failed") and `activate` (esp_ota_set_boot_partition:
   * full image validation and the otadata rewrite) decides "Could Not Activate The Firmware".
   */
  end(activate: (region: FlashRegion) => boolean): boolean {
    if (this.error !== 0 || this.size === 0) return false;
    if (!this.isFinished()) {
      this.abortWith(ESP32_ERR.abort);
      return false;
    }
    this.computedMd5 = this.md5?.digest('hex') ?? '';
    this.md5 = undefined;
    if (this.targetMd5 && this.targetMd5 !== this.computedMd5) {
      this.abortWith(ESP32_ERR.md5);
      return false;
    }
    const region = this.region as FlashRegion;
    if (this.command === 0) {
      if (this.skip) this.flash.program(region.offset, this.skip);
      if (this.flash.read(region.offset, 1)[0] !== 0xe9) {
        this.abortWith(ESP32_ERR.read);
        return false;
      }
      if (!activate(region)) {
        this.abortWith(ESP32_ERR.activate);
        return false;
      }
    }
    this.reset();
    return true;
  }

  /** Size of the image being received (0 when idle). */
  expectedSize(): number {
    return this.size;
  }
}
