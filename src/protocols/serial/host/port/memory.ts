import type { LineDriver } from './driver.ts';

/** One entry of the memory line's log: a signal change (with the ms since open) or a baud change. */
type LineLogEntry =
  | { at: number; dtr: boolean; rts: boolean }
  | { at: number; baud: number }
  | { at: number; open: number }
  | { at: number; close: true };

/**
 * An in-memory line for logic tests: records every signal and baud change with its time (the
 * injected clock), hands written bytes to `peer`, and lets the test push bytes back (`receive`).
 */
class MemoryLineDriver implements LineDriver {
  readonly log: LineLogEntry[] = [];
  readonly written: Uint8Array[] = [];
  private readonly listeners = new Set<(bytes: Uint8Array) => void>();
  private readonly closers = new Set<() => void>();
  private readonly now: () => number;
  private start = 0;
  isOpen = false;
  /** Called with every write (a scripted device). */
  peer: ((bytes: Uint8Array, line: MemoryLineDriver) => void) | undefined;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  private at(): number {
    return this.now() - this.start;
  }

  async open(baudRate: number): Promise<void> {
    this.start = this.now();
    this.isOpen = true;
    this.log.push({ at: 0, open: baudRate });
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.written.push(bytes);
    this.peer?.(bytes, this);
  }

  /** Bytes from the device side. */
  receive(bytes: Uint8Array): void {
    for (const l of this.listeners) l(bytes);
  }

  onData(listener: (bytes: Uint8Array) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onClose(listener: () => void): () => void {
    this.closers.add(listener);
    return () => this.closers.delete(listener);
  }

  async setSignals(signals: { dtr: boolean; rts: boolean }): Promise<void> {
    this.log.push({ at: this.at(), dtr: signals.dtr, rts: signals.rts });
  }

  async setBaudRate(baudRate: number): Promise<void> {
    this.log.push({ at: this.at(), baud: baudRate });
  }

  async close(): Promise<void> {
    this.isOpen = false;
    this.log.push({ at: this.at(), close: true });
    for (const c of this.closers) c();
  }

  /** The signal changes only. */
  signals(): Array<{ at: number; dtr: boolean; rts: boolean }> {
    return this.log.filter((e): e is { at: number; dtr: boolean; rts: boolean } => 'dtr' in e);
  }
}

export { type LineLogEntry, MemoryLineDriver };
