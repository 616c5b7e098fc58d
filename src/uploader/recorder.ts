import { performance } from 'node:perf_hooks';
import { debuglog } from 'node:util';
import type { UploadEvent, UploadObservation, UploadPhase } from './types.ts';

const debug = debuglog('airflash');

/** Builds the UploadObservation and emits events; the single place that knows the clock. */
export class Recorder {
  readonly obs: UploadObservation;
  phase: UploadPhase = 'resolve';
  private readonly t0 = performance.now();
  private readonly listener: ((event: UploadEvent) => void) | undefined;
  private lastProgressAt = -1;
  private lastProgressBytes = -1;

  constructor(obs: UploadObservation, listener: ((event: UploadEvent) => void) | undefined) {
    this.obs = obs;
    this.listener = listener;
  }

  /** Milliseconds since the upload started (monotonic, 0.1 ms resolution). */
  now(): number {
    return Math.round((performance.now() - this.t0) * 10) / 10;
  }

  log(what: string): void {
    const at = this.now();
    this.obs.timeline.push({ at, what });
    debug('upload +%sms %s', at, what);
  }

  emit(event: UploadEvent): void {
    if (!this.listener) return;
    try {
      this.listener(event);
    } catch (error) {
      debug('upload: onEvent listener threw: %s', String(error));
    }
  }

  private phaseEmitted = false;

  setPhase(phase: UploadPhase): void {
    if (this.phase === phase && this.phaseEmitted) return;
    this.phaseEmitted = true;
    this.phase = phase;
    this.log(`phase ${phase}`);
    this.emit({ type: 'phase', phase });
  }

  warn(code: string, message: string): void {
    this.obs.warnings.push({ code, message });
    this.log(`warning ${code}: ${message}`);
    this.emit({ type: 'warning', code, message });
  }

  hint(message: string): void {
    this.obs.hints.push(message);
    this.log(`hint: ${message}`);
    this.emit({ type: 'hint', message });
  }

  /** Progress, throttled to about one event per percent or per 200 ms; `force` always emits. */
  progress(bytes: number, total: number, sent: number, force = false): void {
    const now = this.now();
    const step = Math.max(1, Math.floor(total / 100));
    if (
      !force &&
      bytes !== total &&
      Math.abs(bytes - this.lastProgressBytes) < step &&
      now - this.lastProgressAt < 200
    )
      return;
    if (!force && bytes === this.lastProgressBytes) return;
    this.lastProgressAt = now;
    this.lastProgressBytes = bytes;
    this.emit({ type: 'progress', bytes, total, sent });
  }
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
