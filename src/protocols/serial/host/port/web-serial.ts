import type { LineDriver } from './driver.ts';

/** What the adapter reports as Web Serial's `getInfo()`: numbers (listing gives hex strings). */
interface PortIdentity {
  usbVendorId?: number;
  usbProductId?: number;
}

/** The most recent bytes received (bounded), for the diagnosis of a failed connect. */
interface LineWitness {
  bytesReceived: number;
  /** The last received bytes as latin1 text (at most 4 KiB). */
  tail: string;
}

const TAIL = 4096;

/**
 * The Web Serial `SerialPort` surface esptool-js 0.7.0 uses (`src/webserial.ts`): `open`,
 * `close`, `readable` / `writable` web streams (with their locks), `setSignals` (DTR and RTS are
 * always set together from the last known state: esptool-js sets one at a time), `getInfo`, and
 * the optional `setBaudRate` (a baud change in place, no close/reopen). Every listener it adds to
 * the line is removed in `close()`.
 */
class WebSerialAdapter {
  readonly witness: LineWitness = { bytesReceived: 0, tail: '' };
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  private readonly line: LineDriver;
  private readonly identity: PortIdentity;
  private dtr = false;
  private rts = false;
  private detach: Array<() => void> = [];
  private opened = false;

  constructor(line: LineDriver, identity: PortIdentity = {}) {
    this.line = line;
    this.identity = identity;
  }

  getInfo(): PortIdentity {
    return { ...this.identity };
  }

  async open(options: { baudRate: number }): Promise<void> {
    await this.line.open(options.baudRate);
    this.opened = true;
    // Ports often open with both lines asserted (a reset): release both at once.
    this.dtr = false;
    this.rts = false;
    await this.line.setSignals({ dtr: false, rts: false });
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      cancel: () => {
        controller = undefined;
      },
    });
    const w = this.witness;
    this.detach.push(
      this.line.onData((bytes) => {
        w.bytesReceived += bytes.length;
        w.tail = (w.tail + String.fromCharCode(...bytes)).slice(-TAIL);
        controller?.enqueue(bytes);
      }),
      this.line.onClose(() => {
        try {
          controller?.close();
        } catch {
          // already closed
        }
        controller = undefined;
      }),
    );
    const line = this.line;
    this.writable = new WritableStream<Uint8Array>({ write: (chunk) => line.write(chunk) });
  }

  async setSignals(signals: {
    dataTerminalReady?: boolean;
    requestToSend?: boolean;
    break?: boolean;
  }): Promise<void> {
    if (signals.dataTerminalReady !== undefined) this.dtr = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) this.rts = signals.requestToSend;
    await this.line.setSignals({ dtr: this.dtr, rts: this.rts });
  }

  async setBaudRate(baudRate: number): Promise<void> {
    await this.line.setBaudRate(baudRate);
  }

  async close(): Promise<void> {
    for (const d of this.detach) d();
    this.detach = [];
    const readable = this.readable;
    this.readable = null;
    this.writable = null;
    if (readable && !readable.locked) await readable.cancel().catch(() => {});
    if (this.opened) {
      this.opened = false;
      await this.line.close();
    }
  }
}

export { type LineWitness, type PortIdentity, WebSerialAdapter };
