/**
 * The board's sense of time: device milliseconds scaled by `timeScale`, the flash time a write
 * costs (spent against an absolute clock), `micros()` since boot, and the one way a running task
 * stops: DeviceHalted when the board reboots, loses power or closes.
 */

/** Thrown inside a device's task when it reboots, loses power or closes. */
export class DeviceHalted extends Error {
  constructor() {
    super('device halted');
    this.name = 'DeviceHalted';
  }
}

/** Sleep `ms` (real milliseconds); rejects with DeviceHalted when `signal` aborts. */
export function haltableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new DeviceHalted());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new DeviceHalted());
    };
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export class BoardClock {
  readonly timeScale: number;
  private bootTime = performance.now();
  private busyUntil = 0;

  constructor(timeScale: number) {
    this.timeScale = timeScale;
  }

  /** A (re)boot: micros() restarts at 0 and no flash time is owed. */
  reset(): void {
    this.bootTime = performance.now();
    this.busyUntil = 0;
  }

  scaled(ms: number): number {
    return ms * this.timeScale;
  }

  /** Timeouts scale like delays, except with timeScale 0 ("no delays"), where they keep their length. */
  scaledTimeout(ms: number): number {
    return this.timeScale > 0 ? ms * this.timeScale : ms;
  }

  /** A scaled timeout, but never below `floorMs` (or `ms` when shorter) of real time. */
  flooredTimeout(ms: number, floorMs: number): number {
    return Math.max(this.scaledTimeout(ms), Math.min(ms, floorMs));
  }

  delay(ms: number, signal: AbortSignal): Promise<void> {
    return haltableSleep(this.scaled(ms), signal);
  }

  /** Spend flash time: accumulated against an absolute clock so 1 ms timer granularity does not add up. */
  async busy(ms: number, signal: AbortSignal): Promise<void> {
    const scaled = this.scaled(ms);
    if (scaled <= 0) return;
    const now = performance.now();
    this.busyUntil = Math.max(now, this.busyUntil) + scaled;
    const wait = this.busyUntil - now;
    if (wait >= 1) await haltableSleep(wait, signal);
  }

  micros(): number {
    return Math.floor((performance.now() - this.bootTime) * 1000) >>> 0;
  }
}
