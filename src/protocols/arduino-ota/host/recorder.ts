import { performance } from 'node:perf_hooks';
import { debuglog } from 'node:util';
import type { UploadEvent, UploadObservation, UploadPhase } from '../model/options.ts';

const debug = debuglog('airflash');

/** Builds the UploadObservation and emits events; the single place that knows the clock. */
export class Recorder {
  readonly obs: UploadObservation;
  phase: UploadPhase = 'resolve';
  private readonly clock: () => number;
  private readonly t0: number;
  private readonly listener: ((event: UploadEvent) => void) | undefined;
  private readonly debugEvents: boolean;
  private lastProgressAt = -1;
  private lastProgressBytes = -1;
  private lastStage: string | undefined;

  constructor(
    obs: UploadObservation,
    listener: ((event: UploadEvent) => void) | undefined,
    debugEvents = false,
    clock: () => number = () => performance.now(),
  ) {
    this.clock = clock;
    this.t0 = clock();
    this.obs = obs;
    this.listener = listener;
    this.debugEvents = debugEvents;
  }

  /** Milliseconds since the upload started (monotonic, 0.1 ms resolution). */
  now(): number {
    return Math.round((this.clock() - this.t0) * 10) / 10;
  }

  /** A timeline entry (kept in the observation), also a debug event. */
  log(what: string): void {
    const at = this.now();
    this.obs.timeline.push({ at, what });
    this.debugEvent(at, what);
  }

  /** A step worth seeing live but not worth keeping (each TCP reply chunk). */
  trace(what: string): void {
    this.debugEvent(this.now(), what);
  }

  /** A datagram as it is sent, with its text; the secret part of an auth line is masked. */
  sentDatagram(kind: string, bytes: Uint8Array): void {
    this.trace(`udp → ${kind} ${JSON.stringify(maskDatagram(bytes))}`);
  }

  private debugEvent(at: number, text: string): void {
    debug('upload +%sms %s', at, text);
    if (this.debugEvents) this.emit({ type: 'debug', at, text });
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

  /** Progress, throttled to about one event per percent or per 200 ms; `force` and a new stage
   * always emit. */
  progress(bytes: number, total: number, sent: number, stage: 'sending' | 'flashing', forced = false): void {
    const now = this.now();
    const step = Math.max(1, Math.floor(total / 100));
    const force = forced || stage !== this.lastStage;
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
    this.lastStage = stage;
    this.emit({ type: 'progress', bytes, total, sent, stage });
  }
}

/** The text of a datagram for debug output: an auth line `200 <cnonce> <response>` keeps only
 * its shape (the response is derived from the password). */
export function maskDatagram(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('latin1');
  const auth = /^(\d+) (\S+) (\S+)(\n?)$/.exec(text);
  if (auth) return `${auth[1]} ${'*'.repeat(8)} ${'*'.repeat(8)}${auth[4]}`;
  return text;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
