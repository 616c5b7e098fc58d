import { createHash, type Hash } from 'node:crypto';
import type { SparseFlash } from './flash.ts';
import { roundUp4K, SECTOR, type WriteResult } from './update-common.ts';

/**
 * Model of the esp8266 core's `Updater` class, written from its documented behaviour (docs
 * formats.md §6.3–§6.4, protocol.md §4.6). Only what an OTA upload can reach is modelled. Each
 * write returns the flash time it cost so the caller can spend it.
 */

/** esp8266 core `Updater` error numbers (formats.md §6.4). Texts with values are built in code. */
export const ESP8266_ERR = {
  ok: 0,
  write: 1,
  erase: 2,
  read: 3,
  space: 4,
  size: 5,
  stream: 6,
  md5: 7,
  flashConfig: 8,
  newFlashConfig: 9,
  magic: 10,
  bootstrap: 11,
  sign: 12,
  noData: 13,
  oom: 14,
  runningAlready: 15,
  unknownCommand: 16,
} as const;

const ESP8266_TEXTS: Record<number, string> = {
  0: 'No Error',
  1: 'Flash Write Failed',
  2: 'Flash Erase Failed',
  3: 'Flash Read Failed',
  4: 'Not Enough Space',
  5: 'Bad Size Given',
  6: 'Stream Read Timeout',
  10: 'Magic byte is not 0xE9',
  11: 'Invalid bootstrapping state, reset ESP8266 before updating',
  12: 'Signature verification failed',
  13: 'No data supplied',
  14: 'Out of memory',
  15: 'Update already running',
  16: 'Unknown update command',
};

/** Flash size encoded in the high nibble of image byte 3 (ESP.magicFlashChipSize). */
export function esp8266MagicFlashSize(nibble: number): number {
  const table: Record<number, number> = {
    0: 512 * 1024,
    1: 256 * 1024,
    2: 1024 * 1024,
    3: 2 * 1024 * 1024,
    4: 4 * 1024 * 1024,
    8: 8 * 1024 * 1024,
    9: 16 * 1024 * 1024,
  };
  return table[nibble] ?? 0;
}

export interface Esp8266Layout {
  /** Flash offset of the filesystem start (the top of the sketch + OTA area). */
  fsStart: number;
  fsEnd: number;
  /** Real flash size (ESP.getFlashChipRealSize): the chip's, i.e. the emulator's --flash-size. */
  flashSize: number;
  /** ESP.getFlashChipSize(): the flash size the running build was made for (its header's byte 3); default flashSize. */
  sdkFlashSize?: number;
  /** Booted in UART download mode (the first OTA after a serial flash, before a reset). */
  uartBoot?: boolean;
}

export interface Esp8266Staged {
  command: number;
  address: number;
  size: number;
  md5: string;
}

/**
 * esp8266 core `UpdaterClass` (cores/esp8266/Updater.cpp) as ArduinoOTA drives it (3.1+ texts):
 * staging below FS_start (formats.md §6.3), sector erase + program per 4 KiB, the magic and
 * flash-size checks only in end(), after the MD5 (protocol.md §11.2), gzip accepted.
 */
export class Esp8266Update {
  private readonly flash: SparseFlash;
  private readonly layout: Esp8266Layout;
  error = 0;
  private errorDetail = '';
  private size = 0;
  private command = 0;
  private start = 0;
  private current = 0;
  private buffer = new Uint8Array(SECTOR);
  private bufferLen = 0;
  private md5: Hash | undefined;
  private targetMd5 = '';

  constructor(flash: SparseFlash, layout: Esp8266Layout) {
    this.flash = flash;
    this.layout = layout;
  }

  /** `printError` text: `ERROR[n]: text` (the caller appends the LF). */
  errorText(): string {
    const text = this.errorDetail || (ESP8266_TEXTS[this.error] ?? 'UNKNOWN');
    return `ERROR[${this.error}]: ${text}`;
  }

  /** Updater.cpp `_setError()`: sets the error and calls `_reset()` ("Any error condition invalidates the entire update"). */
  private setError(err: number, detail = ''): void {
    this.error = err;
    this.errorDetail = detail;
    this.reset();
  }

  isRunning(): boolean {
    return this.size > 0;
  }
  progress(): number {
    return this.current - this.start;
  }
  remaining(): number {
    return this.size - this.progress();
  }
  isFinished(): boolean {
    return this.current - this.start === this.size;
  }
  /** What `write(client)` takes at most: `remaining() - _bufferLen` (Updater.h `write(T&)`). */
  room(): number {
    return this.remaining() - this.bufferLen;
  }

  private reset(): void {
    this.bufferLen = 0;
    this.start = 0;
    this.current = 0;
    this.size = 0;
    this.md5 = undefined;
  }

  /** `begin(size, command)` with `sketchSize` = ESP.getSketchSize() of the running image. */
  begin(size: number, command: number, sketchSize: number): boolean {
    if (this.size > 0) {
      this.setError(ESP8266_ERR.runningAlready);
      return false;
    }
    // Updater::begin checks the boot mode first: from UART download mode the device could not
    // reset into the new sketch (esp8266/Arduino issue #1017).
    if (this.layout.uartBoot === true) {
      this.setError(ESP8266_ERR.bootstrap);
      return false;
    }
    const usize = size >>> 0;
    if (usize === 0) {
      this.setError(ESP8266_ERR.size);
      return false;
    }
    // `if (!ESP.checkFlashConfig(false))`: Esp.cpp `checkFlashConfig(false)` is
    // `getFlashChipRealSize() >= getFlashChipSize()`; a chip smaller than the running build says.
    const sdk = this.layout.sdkFlashSize ?? this.layout.flashSize;
    if (this.layout.flashSize < sdk) {
      this.setError(
        ESP8266_ERR.flashConfig,
        `Flash config wrong: real: ${this.layout.flashSize}, SDK: ${sdk}`,
      );
      return false;
    }
    this.reset();
    this.setError(0);
    this.targetMd5 = '';
    const current = roundUp4K(sketchSize);
    const rounded = roundUp4K(usize);
    let start: number;
    if (command === 0) {
      const endAddress = this.layout.fsStart;
      start = endAddress > rounded ? endAddress - rounded : 0;
      if (start < current) {
        this.setError(ESP8266_ERR.space);
        return false;
      }
    } else if (command === 100) {
      if (this.layout.fsStart + rounded > this.layout.fsEnd) {
        this.setError(ESP8266_ERR.space);
        return false;
      }
      start = this.layout.fsStart;
    } else {
      this.setError(ESP8266_ERR.unknownCommand);
      return false;
    }
    this.start = start;
    this.current = start;
    this.size = usize;
    this.command = command;
    this.md5 = createHash('md5');
    return true;
  }

  setMD5(md5: string): void {
    if (md5.length === 32) this.targetMd5 = md5;
  }

  private writeBuffer(): { ok: boolean; costMs: number } {
    let costMs = 0;
    if (this.current % SECTOR === 0) costMs += this.flash.erase(this.current, SECTOR);
    const data = this.buffer.subarray(0, this.bufferLen);
    // Updater.cpp `_writeBuffer()`: the first buffer of a U_FLASH image that is not gzip gets
    // header byte 2 (flash mode) set to the running chip's mode (ESP.getFlashChipMode(), from the
    // running image's byte 2) before it is written, and restored afterwards "so the hash isn't
    // affected": the MD5 covers the bytes sent, the staged (and later booted) image differs.
    const programmed =
      this.current === this.start && this.command === 0 && data[0] !== 0x1f
        ? withFlashMode(data, esp8266FlashMode(this.flash.read(0, 4)[2] as number))
        : data;
    costMs += this.flash.program(this.current, programmed);
    this.md5?.update(data);
    this.current += this.bufferLen;
    this.bufferLen = 0;
    return { ok: true, costMs };
  }

  write(data: Uint8Array): WriteResult {
    let costMs = 0;
    if (this.error !== 0 || !this.isRunning()) return { written: 0, costMs };
    const len = data.length;
    if (this.progress() + this.bufferLen + len > this.size) {
      // Updater.cpp `write(data, len)`; ArduinoOTA's `write(client)` never gets here (room()).
      this.setError(ESP8266_ERR.space);
      return { written: 0, costMs };
    }
    let left = len;
    while (this.bufferLen + left > SECTOR) {
      const toBuff = SECTOR - this.bufferLen;
      this.buffer.set(data.subarray(len - left, len - left + toBuff), this.bufferLen);
      this.bufferLen += toBuff;
      costMs += this.writeBuffer().costMs;
      left -= toBuff;
    }
    this.buffer.set(data.subarray(len - left), this.bufferLen);
    this.bufferLen += left;
    if (this.bufferLen === this.remaining()) costMs += this.writeBuffer().costMs;
    return { written: len, costMs };
  }

  /** `end()`. On success returns what was staged (U_FLASH: the eboot copy command's arguments). */
  end(): Esp8266Staged | undefined {
    if (this.size === 0) {
      this.reset();
      return undefined;
    }
    if (this.progress() === 0) this.setError(ESP8266_ERR.noData);
    if (this.error !== 0 || !this.isFinished()) {
      this.reset();
      return undefined;
    }
    const calculated = this.md5?.digest('hex') ?? '';
    this.md5 = undefined;
    if (this.targetMd5 && this.targetMd5.toLowerCase() !== calculated) {
      this.setError(
        ESP8266_ERR.md5,
        `MD5 verification failed: expected: ${this.targetMd5}, calculated: ${calculated}`,
      );
      return undefined;
    }
    if (this.command === 0) {
      const head = this.flash.read(this.start, 4);
      const gzip = head[0] === 0x1f && head[1] === 0x8b;
      if (!gzip) {
        if (head[0] !== 0xe9) {
          this.setError(ESP8266_ERR.magic);
          return undefined;
        }
        const binFlash = esp8266MagicFlashSize(((head[3] as number) & 0xf0) >> 4);
        if (binFlash > this.layout.flashSize) {
          this.setError(
            ESP8266_ERR.newFlashConfig,
            `new Flash config wrong, real size: ${this.layout.flashSize}`,
          );
          return undefined;
        }
      }
    }
    const staged = { command: this.command, address: this.start, size: this.size, md5: calculated };
    this.reset();
    return staged;
  }
}

/** Esp.cpp `magicFlashChipMode(byte)`: 0 QIO, 1 QOUT, 2 DIO, 3 DOUT, anything else FM_UNKNOWN (0xFF). */
export function esp8266FlashMode(byte: number): number {
  return byte <= 3 ? byte : 0xff;
}

/** `data` with header byte 2 set to `mode` when the image's own mode differs (a copy; `data` is kept). */
function withFlashMode(data: Uint8Array, mode: number): Uint8Array {
  if (data.length < 3 || esp8266FlashMode(data[2] as number) === mode) return data;
  const copy = data.slice();
  copy[2] = mode;
  return copy;
}

/**
 * The image an ESP8266 stages (and eboot later copies to 0) for `image` sent over OTA, on a chip
 * whose running image has flash-mode byte `runningModeByte`: what the "device runs the new
 * firmware" check must compare against (Updater.cpp `_writeBuffer()`, see Esp8266Update).
 */
export function esp8266StagedImage(image: Uint8Array, runningModeByte: number): Uint8Array {
  if (image[0] === 0x1f) return image;
  return withFlashMode(image, esp8266FlashMode(runningModeByte));
}
