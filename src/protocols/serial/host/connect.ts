import { ESPLoader, Transport } from 'esptool-js';
import { AirflashError } from '../../../core/errors.ts';
import { type LineDriver, NodeLineDriver } from './port/driver.ts';
import { pickPort, type SerialPortEntry } from './port/list.ts';
import { WebSerialAdapter } from './port/web-serial.ts';
import { type ResetMode, resetConstructors } from './reset.ts';

/** Options shared by every serial operation. */
interface SerialOptions {
  /** A port path, or `auto` (the one USB serial port). */
  port: string;
  /** The baud rate after the stub runs (default 460800; the ROM talks at 115200). */
  baud?: number;
  reset?: ResetMode;
  /** Connect attempts (each a reset and five SYNCs; esptool's default 7). */
  connectAttempts?: number;
  /** Named timeouts: `connectMs` for reaching the loader, `operationMs` for the whole operation. */
  timeouts?: { connectMs?: number; operationMs?: number };
  /** The line driver (default: `serialport` on `port`); the port list for `auto`. */
  line?: LineDriver;
  identity?: { usbVendorId?: number; usbProductId?: number };
  ports?: readonly SerialPortEntry[];
  /** esptool-js's own progress lines (not printed by the library). */
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}

/** An open connection to the stub loader. */
interface LoaderSession {
  loader: ESPLoader;
  adapter: WebSerialAdapter;
  path: string;
  log: string[];
  close(): Promise<void>;
}

/** Turn what esptool-js threw, and what the line saw, into a stable code and advice. */
function mapFailure(
  error: unknown,
  adapter: WebSerialAdapter,
  stage: 'connect' | 'operation',
  context: { path: string; reset: ResetMode; log: readonly string[] },
): AirflashError {
  const e = classify(error, adapter, stage);
  // What the line saw, for the diagnosis (src/protocols/serial/diagnose/): never secret, the
  // board's own text is printed escaped by the CLI.
  if (e.data['serial'] === undefined) {
    const info = adapter.getInfo();
    const observation: SerialObservation = {
      stage,
      port: context.path,
      ...(info.usbVendorId === undefined
        ? {}
        : { usbVendorId: info.usbVendorId, usbProductId: info.usbProductId ?? 0 }),
      reset: typeof context.reset === 'object' ? `custom ${context.reset.custom}` : context.reset,
      bytesReceived: adapter.witness.bytesReceived,
      lastText: adapter.witness.tail.slice(-200),
      loaderLog: context.log.slice(-8),
    };
    e.data['serial'] = observation;
  }
  return e;
}

/** What one serial operation saw: the diagnosis's evidence. */
interface SerialObservation {
  stage: 'connect' | 'operation';
  port: string;
  usbVendorId?: number;
  usbProductId?: number;
  reset: string;
  bytesReceived: number;
  /** The last bytes received, as latin1 text (a boot log, noise). */
  lastText: string;
  /** esptool-js's last progress lines. */
  loaderLog: string[];
}

function classify(error: unknown, adapter: WebSerialAdapter, stage: 'connect' | 'operation'): AirflashError {
  if (error instanceof AirflashError) return error;
  const text = error instanceof Error ? error.message : String(error);
  const w = adapter.witness;
  if (stage === 'connect') {
    if (w.bytesReceived === 0)
      return new AirflashError('SERIAL_NO_DATA', 'No data from the board: is this a charge-only cable?', {
        hint: 'Use a USB cable that carries data, check the driver (CP210x / CH340), and that the board has power.',
        cause: error,
      });
    const boot = /boot:(0x[0-9a-f]+)/i.exec(w.tail);
    if ((boot && !/waiting for download/i.test(w.tail)) || /boot mode:\(\d,\d\)/.test(w.tail))
      return new AirflashError(
        'SERIAL_NOT_IN_DOWNLOAD_MODE',
        `The board is not in download mode${boot ? ` (it booted with ${boot[1]})` : ''}: hold BOOT and press EN.`,
        {
          hint: 'Hold the BOOT (IO0) button, press and release EN (RST), release BOOT, then run the command again. A board that never enters download mode by itself has no auto-reset circuit.',
          deviceText: w.tail.slice(-200),
          cause: error,
        },
      );
    return new AirflashError(
      'SERIAL_NO_SYNC',
      `The board sends data but the ROM loader does not answer (${text}).`,
      {
        hint: 'Check the baud rate and the reset sequence (--reset), or hold BOOT and press EN.',
        cause: error,
      },
    );
  }
  if (/MD5 of file does not match/i.test(text))
    return new AirflashError(
      'SERIAL_VERIFY_FAILED',
      'The MD5 of the flash does not match what was written.',
      {
        hint: 'Erase first (--erase) and flash again; a failing flash chip or power supply does this.',
        cause: error,
      },
    );
  if (
    /boot:0x|rst:0x|ets /i.test(w.tail.slice(-300)) &&
    /invalid head|No serial data|Serial data stream/i.test(text)
  )
    return new AirflashError('SERIAL_BOARD_RESET', 'The board reset in the middle of the operation.', {
      hint: 'Check the power supply and the cable; nothing after the reset was written.',
      deviceText: w.tail.slice(-200),
      cause: error,
    });
  if (/status1,(0,)?8\b/.test(text.replace(/\s/g, '')))
    return new AirflashError('SERIAL_WRITE_FAILED', 'The board reported a flash write error.', {
      hint: 'Erase the flash (airflash erase) and try again; check the power supply.',
      cause: error,
    });
  return new AirflashError('SERIAL_PROTOCOL', `The serial exchange failed: ${text}`, {
    hint: 'A lost or damaged reply: try a lower --baud, a shorter cable, or a powered hub.',
    cause: error,
  });
}

/** A promise that rejects with TIMEOUT after `ms`, or INTERRUPTED on `signal`; `stop` clears it. */
function deadline(ms: number, what: string, signal?: AbortSignal): { promise: Promise<never>; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AirflashError('TIMEOUT', `${what} took longer than ${ms} ms.`)), ms);
    onAbort = () => reject(new AirflashError('INTERRUPTED', `${what} was cancelled.`));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return {
    promise,
    stop() {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Open the port, reset the board into its ROM loader, detect the chip, run the stub and switch to
 * `baud` (esptool-js `ESPLoader.main()`). The caller closes the session in `finally`.
 */
async function openSession(options: SerialOptions): Promise<LoaderSession> {
  options.signal?.throwIfAborted();
  const entry = pickPort(options.port, options.ports ?? []);
  const identity =
    options.identity ??
    (entry.vendorId === undefined ? {} : { usbVendorId: entry.vendorId, usbProductId: entry.productId ?? 0 });
  const adapter = new WebSerialAdapter(options.line ?? new NodeLineDriver(entry.path), identity);
  const log: string[] = [];
  const push = (s: string): void => {
    if (s.trim() === '') return;
    if (log.length < 2000) log.push(s);
    options.onLog?.(s);
  };
  const terminal = { clean() {}, writeLine: push, write: push };
  const transport = new Transport(adapter as unknown as ConstructorParameters<typeof Transport>[0], false);
  // esptool-js's Transport.trace() prints with console.log even without tracing: keep it in the log.
  transport.trace = (message: string) => push(message);
  const loader = new ESPLoader({
    transport,
    baudrate: options.baud ?? 460800,
    terminal,
    resetConstructors: resetConstructors(options.reset ?? 'auto'),
  } as ConstructorParameters<typeof ESPLoader>[0]);
  const close = async (): Promise<void> => {
    await transport.disconnect().catch(() => adapter.close());
    await adapter.close();
  };
  const limit = deadline(options.timeouts?.connectMs ?? 30_000, 'Connecting to the board', options.signal);
  try {
    const mode = options.reset === 'none' ? 'no_reset' : 'default_reset';
    const attempts = options.connectAttempts ?? 7;
    await Promise.race([
      (async () => {
        // ESPLoader.main() without its prints: detect (with our attempt count), stub, baud.
        await loader.detectChip(mode, attempts);
        await loader.runStub();
        if ((options.baud ?? 460800) !== 115200) await loader.changeBaud();
      })(),
      limit.promise,
    ]);
  } catch (error) {
    await close();
    throw mapFailure(error, adapter, 'connect', { path: entry.path, reset: options.reset ?? 'auto', log });
  } finally {
    limit.stop();
  }
  return { loader, adapter, path: entry.path, log, close };
}

/** Run `work` on an open session within the operation timeout; failures mapped, the port closed. */
async function withSession<T>(options: SerialOptions, work: (s: LoaderSession) => Promise<T>): Promise<T> {
  const session = await openSession(options);
  const limit = deadline(options.timeouts?.operationMs ?? 600_000, 'The serial operation', options.signal);
  try {
    return await Promise.race([work(session), limit.promise]);
  } catch (error) {
    throw mapFailure(error, session.adapter, 'operation', {
      path: session.path,
      reset: options.reset ?? 'auto',
      log: session.log,
    });
  } finally {
    limit.stop();
    await session.close();
  }
}

export {
  type LoaderSession,
  mapFailure,
  openSession,
  type SerialObservation,
  type SerialOptions,
  withSession,
};
