import { createHash } from 'node:crypto';
import type { SparseFlash } from '../../../emulator/board/flash.ts';
import { TIMING_MODEL } from '../../../emulator/board/timing.ts';
import {
  decodeRequest,
  encodeResponse,
  OP,
  ROM_ERROR,
  romChecksum,
  SYNC_PAYLOAD,
  words,
} from '../wire/rom.ts';
import { type ChipModel, flashIdFor } from './chips.ts';
import type { SerialFault } from './faults.ts';
import { FlashWriter } from './writer.ts';

/** What the loader sends back for one request: SLIP payloads and raw bytes, and device time. */
interface LoaderOutput {
  /** Frames (SLIP payloads) and raw text (a boot log), in order. */
  out: Array<{ frame: Uint8Array } | { raw: Uint8Array }>;
  /** Device ms of work before the first output (flash erase / program / hashing). */
  workMs: number;
  /**
   * The work runs behind the reply: the stub acks a data block when it arrived and writes it
   * while the next one comes in (esptool-js `writeFlash()`: "Stub ACKs when block is received,
   * then writes to flash while receiving the block after it"); the ROM writes before it acks.
   */
  background?: boolean;
  /** A new baud rate takes effect after the outputs (CHANGE_BAUDRATE). */
  baud?: number;
}

type Mode = 'rom' | 'stub' | 'app';

/**
 * The ROM loader and, once uploaded, the flasher stub of one chip, over a board's flash. It takes
 * decoded SLIP frames and answers as serial-protocol.rst describes (docs/emulator.md "Serial ROM
 * loader" cites each behaviour): SYNC, READ_REG / WRITE_REG (with the SPI RDID sequence),
 * MEM_BEGIN/DATA/END ("OHAI" after MEM_END), FLASH(_DEFL)_BEGIN/DATA/END, SPI_FLASH_MD5,
 * GET_SECURITY_INFO, CHANGE_BAUDRATE and the stub's ERASE_FLASH, ERASE_REGION, READ_FLASH.
 */
class RomLoader {
  private mode: Mode = 'rom';
  private readonly regs = new Map<number, number>();
  private writer: FlashWriter | undefined;
  private memLeft = 0;
  private dataBlocks = 0;
  private pendingRead = 0;
  baud: number;
  private readonly chip: ChipModel;
  private readonly flash: SparseFlash;
  private readonly faults: readonly SerialFault[];
  /** Multiplies the modelled flash time (1 = TIMING_MODEL). */
  private readonly flashTimeScale: number;

  constructor(
    chip: ChipModel,
    flash: SparseFlash,
    faults: readonly SerialFault[],
    flashTimeScale = 1,
    baud = 115200,
  ) {
    this.chip = chip;
    this.flash = flash;
    this.faults = faults;
    this.flashTimeScale = flashTimeScale;
    this.baud = baud;
  }

  /** The loader is in the stub (after "OHAI"). */
  get stub(): boolean {
    return this.mode === 'stub';
  }

  /** What the chip prints when the port opens: the boot log when not held in download mode. */
  onOpen(): Uint8Array | undefined {
    if (!this.has('no-download-mode')) return undefined;
    this.mode = 'app';
    return undefined;
  }

  /** The boot log a chip not held in download mode prints after a reset (undefined otherwise). */
  bootLogAfterReset(): Uint8Array | undefined {
    if (this.mode !== 'app' || !this.has('no-download-mode')) return undefined;
    return new TextEncoder().encode(this.chip.bootLog);
  }

  receive(frame: Uint8Array): LoaderOutput {
    if (this.pendingRead > 0 && frame.length === 4) return { out: [], workMs: 0 }; // READ_FLASH ack
    const req = decodeRequest(frame);
    if (!req) return { out: [], workMs: 0 };
    // DTR/RTS do not cross a pty: a SYNC after the stub (or after a reset mid-write) stands for the
    // host's reset into download mode, so the ROM starts again at 115200 (docs/emulator.md).
    if (req.op === OP.SYNC && this.mode !== 'rom' && !this.has('no-download-mode')) this.restart();
    if (this.mode === 'app') return { out: [], workMs: 0 };
    return this.command(req.op, req.data, req.checksum);
  }

  private restart(): void {
    this.mode = 'rom';
    this.baud = 115200;
    this.writer = undefined;
    this.pendingRead = 0;
    this.memLeft = 0;
    this.regs.clear();
  }

  private has(kind: SerialFault['kind']): boolean {
    return this.faults.some((f) => f.kind === kind);
  }

  private fault(kind: SerialFault['kind']): SerialFault | undefined {
    return this.faults.find((f) => f.kind === kind);
  }

  private statusBytes(ok: boolean, error: number): Uint8Array {
    const n = this.mode === 'stub' ? 2 : this.chip.romStatusBytes;
    const s = new Uint8Array(n);
    s[0] = ok ? 0 : 1;
    s[1] = ok ? 0 : error;
    return s;
  }

  private reply(op: number, value = 0, data: Uint8Array = new Uint8Array(0)): LoaderOutput {
    const body = new Uint8Array(data.length + this.statusBytes(true, 0).length);
    body.set(data);
    return { out: [{ frame: encodeResponse(op, value, body) }], workMs: 0 };
  }

  private error(op: number, code: number): LoaderOutput {
    return { out: [{ frame: encodeResponse(op, 0, this.statusBytes(false, code)) }], workMs: 0 };
  }

  /** A ROM that does not know a command: status 1, error 0x05, repeated (serial-protocol.rst). */
  private unsupported(): LoaderOutput {
    const frame = encodeResponse(0x00, 0, this.statusBytes(false, ROM_ERROR.invalidMessage));
    return { out: Array.from({ length: 8 }, () => ({ frame })), workMs: 0 };
  }

  private scaled(ms: number): number {
    return ms * this.flashTimeScale;
  }

  private command(op: number, data: Uint8Array, checksum: number): LoaderOutput {
    const stubOnly = op >= 0xd0;
    if (stubOnly && this.mode !== 'stub') return this.unsupported();
    switch (op) {
      case OP.SYNC: {
        if (data.length !== SYNC_PAYLOAD.length || data.some((b, i) => b !== SYNC_PAYLOAD[i]))
          return this.error(op, ROM_ERROR.invalidMessage);
        // The ROM answers a SYNC eight times with a non-zero value; the stub once with 0.
        if (this.mode === 'stub') return this.reply(op, 0);
        const one = this.reply(op, 0x20120707).out;
        return { out: Array.from({ length: 8 }, () => one[0] as { frame: Uint8Array }), workMs: 0 };
      }
      case OP.READ_REG: {
        const w = words(data, 1);
        if (!w) return this.error(op, ROM_ERROR.invalidMessage);
        return this.reply(op, this.readReg(w[0] as number));
      }
      case OP.WRITE_REG: {
        if (data.length === 0 || data.length % 16 !== 0) return this.error(op, ROM_ERROR.invalidMessage);
        const w = words(data, data.length / 4) as number[];
        for (let i = 0; i < w.length; i += 4)
          this.writeReg(w[i] as number, w[i + 1] as number, w[i + 2] as number);
        return this.reply(op);
      }
      case OP.GET_SECURITY_INFO:
        if (!this.chip.securityInfo) return this.unsupported();
        return this.reply(op, 0, this.chip.securityInfo);
      case OP.SPI_ATTACH:
      case OP.SPI_SET_PARAMS:
        return this.reply(op);
      case OP.CHANGE_BAUDRATE: {
        const w = words(data, 2);
        if (!w || (w[0] as number) < 9600) return this.error(op, ROM_ERROR.invalidMessage);
        return { ...this.reply(op), baud: w[0] as number };
      }
      case OP.MEM_BEGIN: {
        const w = words(data, 4);
        if (!w) return this.error(op, ROM_ERROR.invalidMessage);
        this.memLeft = w[0] as number;
        return this.reply(op);
      }
      case OP.MEM_DATA: {
        const w = words(data, 4);
        const block = data.subarray(16);
        if (!w || block.length !== w[0]) return this.error(op, ROM_ERROR.invalidMessage);
        if (romChecksum(block) !== (checksum & 0xff)) return this.error(op, ROM_ERROR.invalidCrc);
        this.memLeft -= block.length;
        return this.reply(op);
      }
      case OP.MEM_END: {
        const w = words(data, 2);
        if (!w) return this.error(op, ROM_ERROR.invalidMessage);
        if (w[0] !== 0 || this.memLeft !== 0) return this.reply(op);
        this.mode = 'stub';
        const ohai = new TextEncoder().encode('OHAI');
        return { out: [...this.reply(op).out, { frame: ohai }], workMs: 0 };
      }
      case OP.FLASH_BEGIN:
      case OP.FLASH_DEFL_BEGIN:
        return this.flashBegin(op, data);
      case OP.FLASH_DATA:
      case OP.FLASH_DEFL_DATA:
        return this.flashData(op, data, checksum);
      case OP.FLASH_END:
      case OP.FLASH_DEFL_END:
        this.writer = undefined;
        return this.reply(op);
      case OP.SPI_FLASH_MD5:
        return this.md5(op, data);
      case OP.ERASE_FLASH:
        this.flash.erase(0, this.flash.size);
        return {
          ...this.reply(op),
          workMs: this.scaled(
            (this.flash.size / TIMING_MODEL.flash.blockSize) * TIMING_MODEL.flash.blockEraseMs,
          ),
        };
      case OP.ERASE_REGION: {
        const w = words(data, 2);
        if (!w) return this.error(op, ROM_ERROR.invalidMessage);
        const [offset, size] = w as [number, number];
        const S = TIMING_MODEL.flash.sectorSize;
        if (offset % S !== 0 || size % S !== 0 || offset + size > this.flash.size)
          return this.error(op, ROM_ERROR.failedToAct);
        return { ...this.reply(op), workMs: this.scaled(this.flash.erase(offset, size)) };
      }
      case OP.READ_FLASH:
        return this.readFlash(op, data);
      default:
        return this.mode === 'stub' ? this.error(op, ROM_ERROR.invalidMessage) : this.unsupported();
    }
  }

  private readReg(addr: number): number {
    if (addr === this.chip.uartClkdivReg)
      return Math.round((this.chip.xtalHz * this.chip.xtalFactor) / this.baud) & 0xfffff;
    return this.regs.get(addr) ?? this.chip.registers.get(addr) ?? 0;
  }

  private writeReg(addr: number, value: number, mask: number): void {
    const old = this.readReg(addr);
    this.regs.set(addr, ((value & mask) | (old & ~mask)) >>> 0);
    const { base, usr2, w0 } = this.chip.spi;
    // SPI_CMD_REG with SPI_CMD_USR (bit 18): run the user command in USR2's low byte, then clear.
    if (addr === base && (value & (1 << 18)) !== 0) {
      const cmd = (this.regs.get(base + usr2) ?? 0) & 0xff;
      if (cmd === 0x9f) this.regs.set(base + w0, flashIdFor(this.flash.size));
      this.regs.set(base, 0);
    }
  }

  private flashBegin(op: number, data: Uint8Array): LoaderOutput {
    const deflate = op === OP.FLASH_DEFL_BEGIN;
    if (deflate && this.mode === 'rom' && !this.chip.romDeflate) return this.unsupported();
    const w = words(data, 4);
    if (!w) return this.error(op, ROM_ERROR.invalidMessage);
    const [size, blocks, , offset] = w as [number, number, number, number];
    if (offset + size > this.flash.size) return this.error(op, ROM_ERROR.failedToAct);
    this.writer = new FlashWriter(this.flash, offset, size, blocks, deflate);
    const erase = this.mode === 'rom' ? this.writer.eraseUpFront() : 0;
    return { ...this.reply(op), workMs: this.scaled(erase) };
  }

  private flashData(op: number, data: Uint8Array, checksum: number): LoaderOutput {
    const w = words(data, 4);
    const block = data.subarray(16);
    const writer = this.writer;
    if (!w || !writer || block.length !== w[0]) return this.error(op, ROM_ERROR.invalidMessage);
    if (romChecksum(block) !== (checksum & 0xff))
      return this.error(op, this.mode === 'stub' ? ROM_ERROR.stubBadDataChecksum : ROM_ERROR.invalidCrc);
    if (!writer.expects(w[1] as number)) return this.error(op, ROM_ERROR.failedToAct);
    this.dataBlocks++;
    const at = (f: SerialFault | undefined): boolean =>
      f !== undefined && this.dataBlocks === (f.atBlock ?? 1);
    // A failing flash: every block from `atBlock` on fails (one failure alone is retried by the host).
    const failing = this.fault('write-error');
    if (failing && this.dataBlocks >= (failing.atBlock ?? 1))
      return this.error(op, ROM_ERROR.flashWriteError);
    let ms: number;
    try {
      ms = writer.block(block);
    } catch {
      return this.error(op, ROM_ERROR.deflateError);
    }
    if (at(this.fault('reset-mid-write'))) {
      this.mode = 'app';
      this.writer = undefined;
      return { out: [{ raw: new TextEncoder().encode(this.chip.bootLog) }], workMs: this.scaled(ms) };
    }
    if (at(this.fault('lost-reply'))) return { out: [], workMs: this.scaled(ms) };
    return { ...this.reply(op), workMs: this.scaled(ms), background: this.mode === 'stub' };
  }

  private md5(op: number, data: Uint8Array): LoaderOutput {
    const w = words(data, 2);
    if (!w) return this.error(op, ROM_ERROR.invalidMessage);
    const [offset, size] = w as [number, number];
    if (offset + size > this.flash.size) return this.error(op, ROM_ERROR.flashReadLengthError);
    const digest = createHash('md5').update(this.flash.read(offset, size)).digest();
    // The stub answers 16 raw bytes, the ROM 32 ASCII hex digits (serial-protocol.rst SPI_FLASH_MD5).
    const body =
      this.mode === 'stub' ? new Uint8Array(digest) : new TextEncoder().encode(digest.toString('hex'));
    return this.reply(op, 0, body);
  }

  private readFlash(op: number, data: Uint8Array): LoaderOutput {
    const w = words(data, 4);
    if (!w) return this.error(op, ROM_ERROR.invalidMessage);
    const [offset, size, packet] = w as [number, number, number, number];
    if (packet === 0 || offset + size > this.flash.size)
      return this.error(op, ROM_ERROR.flashReadLengthError);
    const bytes = this.flash.read(offset, size);
    const out: LoaderOutput['out'] = [...this.reply(op).out];
    for (let p = 0; p < size; p += packet) out.push({ frame: bytes.subarray(p, Math.min(size, p + packet)) });
    // After the data the stub sends the MD5 of what it read (16 raw bytes).
    out.push({ frame: new Uint8Array(createHash('md5').update(bytes).digest()) });
    this.pendingRead = size;
    return { out, workMs: 0 };
  }
}

export { type LoaderOutput, RomLoader };
