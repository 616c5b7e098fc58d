import { AirflashError } from '../../core/errors.ts';
import {
  blankOtadata,
  bootSlotFromOtadata,
  DATA_SUBTYPE,
  encodePartitionTable,
  findPartition,
  OTA_STATE,
  OTADATA_SIZE,
  PARTITION_TYPE,
  type PartitionEntry,
  type PartitionTable,
  setActiveOtaState,
  setBootSlot,
  usableOtaSlots,
} from '../../formats/index.ts';
import { type Board, md5Of } from './board.ts';
import { type Esp32Target, type Esp32UpdaterRevision, esp32UpdateTarget } from './esp32-target.ts';
import { Esp32Update } from './esp32-update.ts';
import { initialEsp32Firmware } from './firmware.ts';
import { SparseFlash } from './flash.ts';
import { esp32ImageInfo } from './image-check.ts';
import type { StateMeta } from './state-dir.ts';
import { TIMING_MODEL } from './timing.ts';
import type { FlashRegion } from './update-common.ts';

/**
 * An ESP32 board: a partition table at 0x8000, otadata, the second-stage bootloader's choice of
 * app (otadata with rollback, formats.md §5.4–§5.6) and the app's own `initArduino()` step that
 * marks a new image valid. The Update library model (esp32-update.ts) writes its flash.
 */
export class Esp32Board implements Board {
  readonly chip = 'esp32';
  readonly flash: SparseFlash;
  readonly bootMs = TIMING_MODEL.esp32.bootMs;
  private readonly table: PartitionTable;
  private readonly firmwareSize: number;
  private running: PartitionEntry | undefined;

  constructor(flashSize: number, table: PartitionTable, firmwareSize: number) {
    this.flash = new SparseFlash(flashSize);
    this.table = table;
    this.firmwareSize = firmwareSize;
  }

  writeInitialFirmware(seed: number): void {
    const table = this.table;
    try {
      this.flash.load(0x8000, encodePartitionTable(table));
    } catch {
      // a table the encoder refuses is still usable by the emulator
    }
    const slots = usableOtaSlots(table);
    const factory = findPartition(table, PARTITION_TYPE.app, 0x00);
    const first = factory ?? slots[0] ?? table.entries.find((e) => e.type === PARTITION_TYPE.app);
    if (!first)
      throw new AirflashError('PARTITION_TABLE', 'The partition table has no app partition to boot.');
    const size = Math.min(this.firmwareSize, first.size);
    this.flash.load(first.offset, initialEsp32Firmware(size, seed));
    const od = this.otadataPartition();
    if (od && !factory && slots.length > 0) {
      const bytes = setActiveOtaState(setBootSlot(blankOtadata(), 0, slots.length), OTA_STATE.valid);
      this.flash.load(od.offset, bytes);
    }
  }

  boot(): boolean {
    const p = this.chooseBootPartition();
    this.running = p;
    // With rollback enabled (Arduino default) a NEW entry becomes PENDING_VERIFY at boot and
    // initArduino() marks it VALID before setup() (formats.md §5.6).
    const od = this.otadataPartition();
    const slots = usableOtaSlots(this.table);
    if (p && od && slots.some((s) => s.name === p.name)) {
      const bytes = this.otadata();
      const before = bootSlotFromOtadata(bytes, slots.length, { rollback: true });
      if (before !== undefined) {
        const next = setActiveOtaState(bytes, OTA_STATE.valid);
        if (!next.every((b, i) => b === bytes[i])) this.writeRaw(od.offset, next);
      }
    }
    // No bootable app (e.g. an ESP32 ≤ 3.3.0 that erased the app it ran from): the bootloader
    // loops, nothing answers.
    return p !== undefined;
  }

  runningPartition(): string {
    return this.running?.name ?? '';
  }

  runningImageMd5(): string {
    const p = this.running;
    if (!p) return '';
    const info = esp32ImageInfo(this.flash.read(p.offset, p.size));
    return md5Of(this.flash.read(p.offset, info.length));
  }

  otadata(): Uint8Array {
    const p = this.otadataPartition();
    return p ? this.flash.read(p.offset, Math.min(p.size, OTADATA_SIZE)) : new Uint8Array(0);
  }

  partitionTable(): PartitionTable {
    return { entries: this.table.entries.map((e) => ({ ...e })) };
  }

  stateMeta(): Omit<StateMeta, 'core'> {
    return { flashSize: this.flash.size, sketchSize: 0, eboot: null, table: this.table };
  }

  restoreMeta(): void {
    // the table and otadata live in the restored flash
  }

  /** `Update.begin()`'s partition choice for `command` under the given library revision. */
  updateTarget(command: number, revision: Esp32UpdaterRevision): Esp32Target {
    return esp32UpdateTarget(this.table, this.running, command, revision);
  }

  /** A fresh `Update` object on this board's flash. */
  newUpdate(decryptSupport: boolean): Esp32Update {
    return new Esp32Update(this.flash, decryptSupport);
  }

  /** Has the app the CPU runs from lost its first sector (an Update that wrote over it)? */
  runningAppErased(): boolean {
    const p = this.running;
    return p !== undefined && this.flash.read(p.offset, 1)[0] !== 0xe9;
  }

  /**
   * esp_ota_set_boot_partition(): full image validation, then otadata points at the region's slot.
   * Rollback is enabled in Arduino cores: the new entry is written in state NEW (formats.md §5.5–§5.6).
   * Returns false (with the reason logged) when the image or the slot is refused.
   */
  activate(region: FlashRegion, log: (line: string) => void): boolean {
    const info = esp32ImageInfo(this.flash.read(region.offset, region.size));
    if (!info.ok) {
      log(`esp_image: ${info.reason}`);
      return false;
    }
    const od = this.otadataPartition();
    const slots = usableOtaSlots(this.table);
    const slot = slots.findIndex((s) => s.name === region.label);
    if (!od || slot < 0) return false;
    this.writeRaw(od.offset, setBootSlot(this.otadata(), slot, slots.length, { rollback: true }));
    return true;
  }

  private otadataPartition(): PartitionEntry | undefined {
    return findPartition(this.table, PARTITION_TYPE.data, DATA_SUBTYPE.ota);
  }

  /** The bootloader: choose the app from otadata (formats.md §5.4), skipping slots without a valid image. */
  private chooseBootPartition(): PartitionEntry | undefined {
    const table = this.table;
    const slots = usableOtaSlots(table);
    const factory = findPartition(table, PARTITION_TYPE.app, 0x00);
    const od = this.otadataPartition();
    let chosen: number | undefined;
    if (od && slots.length > 0) {
      chosen = bootSlotFromOtadata(this.otadata(), slots.length, { rollback: true });
    }
    const candidates: PartitionEntry[] = [];
    if (chosen !== undefined) {
      candidates.push(slots[chosen] as PartitionEntry);
      for (let i = chosen - 1; i >= 0; i--) candidates.push(slots[i] as PartitionEntry);
      if (factory) candidates.push(factory);
      for (let i = chosen + 1; i < slots.length; i++) candidates.push(slots[i] as PartitionEntry);
    } else {
      if (factory) candidates.push(factory);
      candidates.push(...slots);
    }
    for (const p of candidates) {
      if (this.flash.read(p.offset, 1)[0] === 0xe9) return p;
    }
    return undefined;
  }

  private writeRaw(offset: number, data: Uint8Array): void {
    for (let a = offset - (offset % 4096); a < offset + data.length; a += 4096) this.flash.erase(a, 4096);
    this.flash.load(offset, data);
  }
}
