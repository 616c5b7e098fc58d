import { SerialPort } from 'serialport';
import { AirflashError } from '../../core/errors.ts';
import { esp8266Layout } from '../../devices/esp8266-layouts.ts';
import { requireBuiltinPartitionTable } from '../../formats/index.ts';
import { type ChipModel, chipModel, type SerialChip } from '../../protocols/serial/device/chips.ts';
import type { SerialFault } from '../../protocols/serial/device/faults.ts';
import { RomLoader } from '../../protocols/serial/device/loader.ts';
import { SlipDecoder, slipEncode } from '../../protocols/serial/wire/slip.ts';
import type { Board } from '../board/board.ts';
import { Esp32Board } from '../board/esp32-board.ts';
import { Esp8266Board } from '../board/esp8266-board.ts';

/** Options of one emulated board on a serial line. */
interface SerialDeviceOptions {
  /** The device end of the line (one side of a pty pair). */
  path: string;
  chip?: SerialChip;
  /** The board to flash (the same object an ArduinoOTA emulator can boot later); a blank one by default. */
  board?: Board;
  /** Flash size of the blank board (default 4 MB). */
  flashSize?: number;
  faults?: readonly SerialFault[];
  /** Multiplies the modelled flash erase/program time (1 = TIMING_MODEL; 0 = instant). */
  flashTimeScale?: number;
  /** Multiplies the modelled line time (1 = the baud rate as a byte rate, 10 bits a byte). */
  lineTimeScale?: number;
  mac?: readonly number[];
}

interface SerialDevice {
  readonly board: Board;
  readonly chip: SerialChip;
  /** Modelled device milliseconds spent on the line and in flash work so far. */
  readonly busyMs: number;
  /** The baud rate the ROM/stub talks at now. */
  readonly baud: number;
  /** True once the stub answered "OHAI". */
  readonly stubRunning: boolean;
  close(): Promise<void>;
}

const MB = 1024 * 1024;
/** Line silence that stands for a reset the pty cannot carry (docs/emulator.md). */
const RESET_QUIET_MS = 140;

/** A blank board of `chip` (ESP32 / ESP32-S3: the default partition table; ESP8266: the 4M2M layout). */
function serialBoard(chip: SerialChip, flashSize = 4 * MB): Board {
  if (chip === 'esp8266') return new Esp8266Board(flashSize, esp8266Layout('4M2M'), 0, false);
  return new Esp32Board(flashSize, requireBuiltinPartitionTable('default'), 0);
}

/**
 * An emulated ESP board behind a serial line: its ROM loader (src/protocols/serial/device/) on a
 * pty end opened with `serialport`, the line modelled as a byte rate (baud ÷ 10 bits), every reply
 * written after the line time of the request and the flash work it caused. DTR/RTS do not cross a
 * pty, so the board is always in download mode unless the `no-download-mode` fault is set.
 */
async function startSerialDevice(options: SerialDeviceOptions): Promise<SerialDevice> {
  const chip = options.chip ?? 'esp32';
  const board = options.board ?? serialBoard(chip, options.flashSize);
  const model: ChipModel = chipModel(chip, options.mac ?? [0x24, 0x6f, 0x28, 0x12, 0x34, 0x56]);
  const faults = options.faults ?? [];
  const loader = new RomLoader(model, board.flash, faults, options.flashTimeScale ?? 1);
  const lineScale = options.lineTimeScale ?? 1;
  const port = new SerialPort({ path: options.path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((e) =>
      e ? reject(new AirflashError('BAD_ARGUMENT', `Cannot open ${options.path}: ${e.message}`)) : resolve(),
    ),
  );
  let clock = 0; // modelled device time (performance.now() ms) up to which the line is busy
  let busy = 0;
  let lastFrameAt = Number.NEGATIVE_INFINITY;
  let flashFreeAt = 0; // when the stub's background flash work is done
  let replies = 0;
  let chain: Promise<void> = Promise.resolve();
  let closed = false;
  const dropAt = faults.find((f) => f.kind === 'drop-byte')?.atReply;
  const lineMs = (bytes: number): number => ((bytes * 10) / loader.baud) * 1000 * lineScale;
  const spend = async (ms: number): Promise<void> => {
    busy += ms;
    clock = Math.max(clock, performance.now()) + ms;
    const wait = clock - performance.now();
    if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
  };
  const write = (bytes: Uint8Array): Promise<void> =>
    new Promise((resolve) => {
      if (closed) return resolve();
      port.write(Buffer.from(bytes), () => resolve());
    });
  const decoder = new SlipDecoder({
    frame(payload) {
      const wireIn = slipEncode(payload).length;
      chain = chain.then(async () => {
        if (closed) return;
        // A frame after a quiet line follows the host's reset (esptool waits ≥ 150 ms in every
        // sequence): a board not held in download mode prints its boot log again then.
        const quiet = performance.now() - lastFrameAt >= RESET_QUIET_MS;
        lastFrameAt = performance.now();
        const log = quiet ? loader.bootLogAfterReset() : undefined;
        if (log) await write(log);
        const result = loader.receive(payload);
        if (result.background) {
          // The stub writes this block while the next arrives: it only waits for the previous write.
          await spend(lineMs(wireIn));
          const now = Math.max(clock, performance.now());
          if (flashFreeAt > now) await spend(flashFreeAt - now);
          flashFreeAt = Math.max(clock, performance.now()) + result.workMs;
          busy += result.workMs;
        } else {
          await spend(lineMs(wireIn));
          const now = Math.max(clock, performance.now());
          if (flashFreeAt > now) await spend(flashFreeAt - now); // a command after writes waits for them
          await spend(result.workMs);
        }
        for (const item of result.out) {
          let bytes = 'raw' in item ? item.raw : slipEncode(item.frame);
          if ('frame' in item) {
            replies++;
            if (dropAt !== undefined && replies === dropAt) bytes = dropOne(bytes);
          }
          await spend(lineMs(bytes.length));
          await write(bytes);
        }
        if (result.baud !== undefined) loader.baud = result.baud;
      });
    },
  });
  const onData = (chunk: Buffer): void => decoder.push(new Uint8Array(chunk));
  port.on('data', onData);
  const boot = loader.onOpen();
  if (boot) chain = chain.then(() => write(boot));
  return {
    board,
    chip,
    get busyMs() {
      return busy;
    },
    get baud() {
      return loader.baud;
    },
    get stubRunning() {
      return loader.stub;
    },
    async close() {
      await chain.catch(() => {});
      closed = true;
      port.off('data', onData);
      if (port.isOpen) await new Promise<void>((r) => port.close(() => r()));
    },
  };
}

/** The frame with one byte in its middle lost on the wire. */
function dropOne(bytes: Uint8Array): Uint8Array {
  const i = Math.floor(bytes.length / 2);
  return Uint8Array.from([...bytes.subarray(0, i), ...bytes.subarray(i + 1)]);
}

export { type SerialDevice, type SerialDeviceOptions, serialBoard, startSerialDevice };
