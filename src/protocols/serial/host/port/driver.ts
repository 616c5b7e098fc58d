import { SerialPort } from 'serialport';
import { AirflashError } from '../../../../core/errors.ts';

/**
 * The line below the Web Serial adapter: open at a baud rate, bytes in and out, the two modem
 * lines, a baud change in place, close. `NodeLineDriver` is `serialport` (its native binding);
 * `MemoryLineDriver` (memory.ts) is the in-memory one logic tests drive.
 */
interface LineDriver {
  open(baudRate: number): Promise<void>;
  write(bytes: Uint8Array): Promise<void>;
  /** Received bytes go to `listener` until the returned function is called. */
  onData(listener: (bytes: Uint8Array) => void): () => void;
  /** The line closed under us (unplugged, re-enumerated). */
  onClose(listener: () => void): () => void;
  /** Both lines, always together (a CP2102 flips the other line when one is set alone). */
  setSignals(signals: { dtr: boolean; rts: boolean }): Promise<void>;
  setBaudRate(baudRate: number): Promise<void>;
  close(): Promise<void>;
}

class NodeLineDriver implements LineDriver {
  private readonly path: string;
  private port: SerialPort | undefined;

  constructor(path: string) {
    this.path = path;
  }

  open(baudRate: number): Promise<void> {
    const port = new SerialPort({ path: this.path, baudRate, autoOpen: false, hupcl: false });
    this.port = port;
    return new Promise((resolve, reject) =>
      port.open((e) => {
        if (!e) return resolve();
        reject(
          new AirflashError('SERIAL_OPEN_FAILED', `Cannot open ${this.path}: ${e.message}`, {
            hint: /permission|EACCES/i.test(e.message)
              ? 'Add yourself to the group that owns the port (Linux: dialout), then log in again.'
              : /busy|lock|EBUSY/i.test(e.message)
                ? 'Another program holds the port (a serial monitor?): close it.'
                : 'Check the name with `airflash ports`.',
            cause: e,
          }),
        );
      }),
    );
  }

  private need(): SerialPort {
    if (!this.port?.isOpen) throw new AirflashError('SERIAL_OPEN_FAILED', `${this.path} is not open.`);
    return this.port;
  }

  write(bytes: Uint8Array): Promise<void> {
    const port = this.need();
    return new Promise((resolve, reject) => {
      port.write(Buffer.from(bytes), (e) => (e ? reject(e) : port.drain((d) => (d ? reject(d) : resolve()))));
    });
  }

  onData(listener: (bytes: Uint8Array) => void): () => void {
    const port = this.need();
    const f = (chunk: Buffer): void => listener(new Uint8Array(chunk));
    port.on('data', f);
    return () => port.off('data', f);
  }

  onClose(listener: () => void): () => void {
    const port = this.need();
    port.on('close', listener);
    return () => port.off('close', listener);
  }

  setSignals(signals: { dtr: boolean; rts: boolean }): Promise<void> {
    const port = this.need();
    return new Promise((resolve, reject) =>
      port.set({ dtr: signals.dtr, rts: signals.rts }, (e) => {
        // A pty has no modem lines: the ioctl fails there, and there is nothing to set.
        if (e && !/ENOTTY|EINVAL|Inappropriate ioctl/i.test(e.message)) reject(e);
        else resolve();
      }),
    );
  }

  setBaudRate(baudRate: number): Promise<void> {
    const port = this.need();
    return new Promise((resolve, reject) => port.update({ baudRate }, (e) => (e ? reject(e) : resolve())));
  }

  close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (!port?.isOpen) return Promise.resolve();
    return new Promise((resolve) => port.close(() => resolve()));
  }
}

export { type LineDriver, NodeLineDriver };
