import { EventEmitter } from 'node:events';
import { AirflashError } from '../core/errors.ts';
import type { DeviceEvent, DeviceEventName, DeviceState } from './types.ts';

const LOG_LIMIT = 5000;

/**
 * A device's events and serial-like log: the `events` emitter ('event', each event's own name,
 * 'log'), the caller's onEvent/onLog hooks, the last LOG_LIMIT log lines, and waitFor().
 */
export class DeviceEvents {
  readonly emitter = new EventEmitter();
  private readonly lines: string[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly onEvent: ((e: DeviceEvent) => void) | undefined;
  private readonly onLog: ((line: string) => void) | undefined;

  constructor(onEvent: ((e: DeviceEvent) => void) | undefined, onLog: ((line: string) => void) | undefined) {
    this.onEvent = onEvent;
    this.onLog = onLog;
  }

  emit(e: DeviceEvent): void {
    this.onEvent?.(e);
    this.emitter.emit('event', e);
    this.emitter.emit(e.event, e);
  }

  log(line: string): void {
    this.lines.push(line);
    if (this.lines.length > LOG_LIMIT) this.lines.splice(0, this.lines.length - LOG_LIMIT);
    this.onLog?.(line);
    this.emitter.emit('log', line);
  }

  logLines(): string[] {
    return [...this.lines];
  }

  /** The next `event` matching `predicate`; TIMEOUT after `timeoutMs`, INTERRUPTED when cancelled. */
  waitFor(
    address: string,
    state: () => DeviceState,
    event: DeviceEventName,
    predicate: ((e: DeviceEvent) => boolean) | undefined,
    timeoutMs: number,
  ): Promise<DeviceEvent> {
    return new Promise((resolve, reject) => {
      const finish = (error: AirflashError | undefined, e?: DeviceEvent): void => {
        clearTimeout(timer);
        this.emitter.off('event', onEvent);
        this.waiters.delete(cancel);
        if (error) reject(error);
        else resolve(e as DeviceEvent);
      };
      const onEvent = (e: DeviceEvent): void => {
        if (e.event !== event || (predicate && !predicate(e))) return;
        finish(undefined, e);
      };
      const cancel = (): void =>
        finish(new AirflashError('INTERRUPTED', `Device ${address} closed before "${event}".`));
      const timer = setTimeout(() => {
        finish(
          new AirflashError('TIMEOUT', `Device ${address} did not emit "${event}" within ${timeoutMs} ms.`, {
            data: { state: state(), log: this.lines.slice(-10) },
          }),
        );
      }, timeoutMs);
      timer.unref();
      this.waiters.add(cancel);
      this.emitter.on('event', onEvent);
    });
  }

  /** The device closed: every waitFor() rejects with INTERRUPTED, every listener goes. */
  close(): void {
    for (const cancel of [...this.waiters]) cancel();
    this.emitter.removeAllListeners();
  }
}
