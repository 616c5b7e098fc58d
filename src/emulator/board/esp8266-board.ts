import type { Esp8266FlashLayout } from '../../devices/esp8266-layouts.ts';
import { type Board, md5Of } from './board.ts';
import { type Esp8266Staged, Esp8266Update, esp8266MagicFlashSize } from './esp8266-updater.ts';
import { initialEsp8266Firmware } from './firmware.ts';
import { SparseFlash } from './flash.ts';
import type { StateMeta } from './state-dir.ts';
import { TIMING_MODEL } from './timing.ts';

/**
 * An ESP8266 board: the sketch at flash 0, the flash layout's OTA and filesystem areas (boards.txt
 * `eesz`, formats.md §6.2), and eboot, which copies a staged image to 0 at the next boot
 * (formats.md §6.3). The Updater model (esp8266-updater.ts) writes its flash.
 */
export class Esp8266Board implements Board {
  readonly chip = 'esp8266';
  readonly flash: SparseFlash;
  readonly bootMs = TIMING_MODEL.esp8266.bootMs;
  readonly layout: Esp8266FlashLayout;
  /** Booted in UART download mode after a serial flash without a reset. */
  readonly uartBoot: boolean;
  private sketchBytes: number;
  private eboot: { address: number; size: number } | undefined;

  constructor(flashSize: number, layout: Esp8266FlashLayout, sketchSize: number, uartBoot: boolean) {
    this.flash = new SparseFlash(flashSize);
    this.layout = layout;
    this.sketchBytes = sketchSize;
    this.uartBoot = uartBoot;
  }

  /** ESP.getSketchSize(): the size of the running sketch. */
  sketchSize(): number {
    return this.sketchBytes;
  }

  writeInitialFirmware(seed: number): void {
    const image = initialEsp8266Firmware(this.sketchBytes, seed, this.layout.flashSize);
    this.flash.load(0, image);
    this.sketchBytes = image.length;
  }

  boot(log: (line: string) => void): boolean {
    if (this.eboot) {
      // eboot: ACTION_COPY_RAW staged image → 0 (formats.md §6.3)
      const { address, size } = this.eboot;
      const image = this.flash.read(address, size);
      for (let a = 0; a < size; a += 4096) this.flash.erase(a, 4096);
      this.flash.load(0, image);
      this.sketchBytes = size;
      this.eboot = undefined;
      log(`eboot: copied 0x${size.toString(16)} bytes from 0x${address.toString(16)} to 0x0`);
    }
    return true;
  }

  runningPartition(): string {
    return 'sketch';
  }

  runningImageMd5(): string {
    return md5Of(this.flash.read(0, this.sketchBytes));
  }

  otadata(): Uint8Array {
    return new Uint8Array(0);
  }

  partitionTable(): undefined {
    return undefined;
  }

  stateMeta(): Omit<StateMeta, 'core'> {
    return {
      flashSize: this.flash.size,
      sketchSize: this.sketchBytes,
      eboot: this.eboot ?? null,
      table: null,
    };
  }

  restoreMeta(meta: Partial<StateMeta>): void {
    if (typeof meta.sketchSize === 'number') this.sketchBytes = meta.sketchSize;
    if (meta.eboot) this.eboot = meta.eboot;
  }

  /** A fresh `Updater` on this board's flash and layout. */
  newUpdater(): Esp8266Update {
    return new Esp8266Update(this.flash, {
      fsStart: this.layout.fsStart,
      fsEnd: this.layout.fsEnd,
      flashSize: this.flash.size, // ESP.getFlashChipRealSize(): the chip (--flash-size)
      sdkFlashSize: this.buildFlashSize(),
      uartBoot: this.uartBoot,
    });
  }

  /** A sketch image staged by `Update.end()`: eboot copies it to 0 at the next boot. */
  stage(staged: Esp8266Staged): void {
    this.eboot = { address: staged.address, size: staged.size };
  }

  /**
   * ESP.getFlashChipSize(): byte 3 of the running image's header (flash 0). A gzip image is
   * decompressed by eboot on hardware; the emulator keeps it raw, so it falls back to the layout's.
   */
  private buildFlashSize(): number {
    const head = this.flash.read(0, 4);
    const layout = this.layout.flashSize;
    return head[0] === 0xe9 ? esp8266MagicFlashSize(((head[3] as number) & 0xf0) >> 4) || layout : layout;
  }
}
