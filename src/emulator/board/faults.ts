import { AirflashError } from '../../core/errors.ts';
import { DeviceHalted } from './clock.ts';

/**
 * The injectable misbehaviours of an emulated board (DeviceOptions.faults, `--fault`), independent
 * of the update protocol that meets them: a reply of random bytes, a connect-back that never
 * happens, and transfer faults that fire at a percentage of the image (docs/emulator.md "Faults").
 */

export type FaultKind =
  | 'stall'
  | 'drop'
  | 'corrupt'
  | 'reboot'
  | 'powerloss'
  | 'no-connect'
  | 'garbage'
  | 'offline';

export const FAULT_KINDS: readonly FaultKind[] = [
  'stall',
  'drop',
  'corrupt',
  'reboot',
  'powerloss',
  'no-connect',
  'garbage',
  'offline',
];

export interface Fault {
  kind: FaultKind;
  /** Percent of the image (0–100) at which a transfer fault fires. */
  percent: number;
}

/** Parse "stall@50", "drop", "no-connect" … into a Fault. */
export function parseFault(text: string): Fault {
  const m = /^([a-z-]+)(?:@(\d+(?:\.\d+)?))?%?$/.exec(text.trim().toLowerCase());
  const kind = m?.[1] as FaultKind | undefined;
  if (!m || kind === undefined || !FAULT_KINDS.includes(kind)) {
    throw new AirflashError('BAD_ARGUMENT', `Unknown fault "${text}".`, {
      hint: 'Use stall@P, drop@P, corrupt@P, reboot@P, powerloss@P (P = percent of the image), no-connect, garbage or offline.',
    });
  }
  const percent = m[2] === undefined ? 50 : Number(m[2]);
  if (!(percent >= 0 && percent <= 100)) {
    throw new AirflashError('BAD_ARGUMENT', `Fault "${text}": the percentage must be 0–100.`);
  }
  return { kind, percent };
}

const TRANSFER_FAULTS: readonly FaultKind[] = ['stall', 'drop', 'corrupt', 'reboot', 'powerloss'];

/** What a transfer fault needs of the connection it hits. */
export interface FaultableConn {
  read(max: number): Uint8Array;
  /** The link goes dead: nothing more reaches the device, the socket stays open. */
  goDead(): void;
  destroy(): void;
}

/** How the board stops when a fault reboots it or cuts its power. */
export type HaltFn = (reason: 'fault' | 'powerloss') => void;

/** A transfer fault armed for one update: fires once, at byte `at` of the image. */
export class TransferFault {
  readonly fault: Fault;
  readonly at: number;
  private fired = false;
  private readonly log: (line: string) => void;
  private readonly halt: HaltFn;

  constructor(fault: Fault, size: number, log: (line: string) => void, halt: HaltFn) {
    this.fault = fault;
    this.at = Math.floor(((size >>> 0) * fault.percent) / 100);
    this.log = log;
    this.halt = halt;
  }

  /**
   * Read up to `max` bytes after `received` bytes of the image, applying the fault when its byte
   * offset is reached. Returns the bytes (empty after a stall), or 'cut' when the connection was cut.
   */
  read(conn: FaultableConn, max: number, received: number): Uint8Array | 'cut' {
    const corrupt = this.fault.kind === 'corrupt';
    let limit = max;
    if (!this.fired && !corrupt && received + limit > this.at) limit = this.at - received;
    if (!this.fired && !corrupt && received >= this.at) {
      this.fired = true;
      return this.fire(conn);
    }
    const chunk = conn.read(Math.max(0, limit));
    if (!this.fired && corrupt && this.at >= received && this.at < received + chunk.length) {
      this.fired = true;
      const i = this.at - received;
      chunk[i] = ((chunk[i] as number) ^ 0xff) & 0xff;
      this.log(`fault: corrupted byte ${this.at}`);
    }
    return chunk;
  }

  private fire(conn: FaultableConn): Uint8Array | 'cut' {
    const { kind, percent } = this.fault;
    switch (kind) {
      case 'stall':
        this.log(`fault: stall at ${percent}%`);
        // The link goes dead: no more data reaches the device. An ESP32 then runs into its receive
        // timeout (re-sends of the last count, Receive Failed); an ESP8266 waits until the host
        // closes. Either way the device ends up idle with its old firmware.
        conn.goDead();
        return new Uint8Array(0);
      case 'drop':
        this.log(`fault: connection dropped at ${percent}%`);
        conn.destroy();
        return 'cut';
      case 'reboot':
      case 'powerloss':
        this.log(kind === 'reboot' ? `fault: reboot at ${percent}%` : `fault: power lost at ${percent}%`);
        conn.destroy();
        this.halt(kind === 'reboot' ? 'fault' : 'powerloss');
        throw new DeviceHalted();
      default:
        return 'cut';
    }
  }
}

/** The faults of one board, in order; each fires once unless `every`. */
export class FaultPlan {
  /** The board never answers (the 'offline' fault). */
  readonly offline: boolean;
  private readonly faults: Fault[];
  private readonly every: boolean;
  private cursor = 0;
  private readonly rnd: () => number;

  constructor(faults: readonly Fault[], every: boolean, rnd: () => number) {
    this.offline = faults.some((f) => f.kind === 'offline');
    this.faults = faults.filter((f) => f.kind !== 'offline');
    this.every = every;
    this.rnd = rnd;
  }

  /** The next fault whose trigger is one of `kinds`, consumed unless `every`. */
  take(kinds: readonly FaultKind[]): Fault | undefined {
    if (this.every) return this.faults.find((f) => kinds.includes(f.kind));
    const head = this.faults[this.cursor];
    if (head && kinds.includes(head.kind)) {
      this.cursor++;
      return head;
    }
    return undefined;
  }

  /** The transfer fault of an update of `size` bytes, if one is next. */
  transfer(size: number, log: (line: string) => void, halt: HaltFn): TransferFault | undefined {
    const fault = this.take(TRANSFER_FAULTS);
    return fault ? new TransferFault(fault, size, log, halt) : undefined;
  }

  /** 8–47 random bytes, never a valid reply by accident (the 'garbage' fault). */
  garbage(): Uint8Array {
    const n = 8 + Math.floor(this.rnd() * 40);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.rnd() * 256);
    out[0] = 0xfe;
    return out;
  }
}
