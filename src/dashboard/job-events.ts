/**
 * The fleet's events applied to an update's records: phases, progress (throttled), warnings,
 * hints, retries and results, each published as `device-progress` for the open pages.
 */
import type { FleetEvent } from '../fleet/types.ts';
import type { DeviceRegistry } from './devices.ts';
import { resultError } from './job-errors.ts';
import {
  type DeviceState,
  type JobDevice,
  type JobError,
  progressView,
  type UpdateJob,
} from './job-types.ts';

const PROGRESS_INTERVAL_MS = 100;

/** Uploader hints about a slow loop() become a warning the page shows with the result. */
const LOOP_HINT = /loop\(\)/;

export interface FleetListenerContext {
  job: UpdateJob;
  registry: DeviceRegistry;
  publish(type: string, data: unknown): void;
  /** A device's result is in: record it (history line, summary, busy flag). */
  finish(d: JobDevice, state: DeviceState, error: JobError | null): void;
}

/** A listener for `uploadFleet`'s `onEvent` that keeps `job` up to date. */
export function fleetListener(ctx: FleetListenerContext): (event: FleetEvent) => void {
  const { job, registry, publish } = ctx;
  const byId = new Map(job.devices.map((d) => [d.id, d]));
  const lastProgress = new Map<string, number>();
  const changed = (d: JobDevice): void => publish('device-progress', progressView(job, d));
  return (event) => {
    if (event.type === 'summary') return;
    if (event.type === 'stopped') {
      job.stopReason = event.message;
      return;
    }
    if (event.device === null) {
      if (event.type === 'warning') job.warnings.push({ code: event.code, message: event.message });
      return;
    }
    const d = byId.get(event.device);
    if (d === undefined) return;
    switch (event.type) {
      case 'plan':
        d.canary = event.canary;
        return;
      case 'phase':
        if (d.state === 'queued') {
          d.state = 'running';
          d.startedAt = new Date().toISOString();
        }
        d.phase = event.phase;
        if (event.phase === 'retry-wait') d.bytes = 0;
        changed(d);
        return;
      case 'progress': {
        d.bytes = event.bytes;
        d.total = event.total;
        const now = Date.now();
        if (now - (lastProgress.get(d.id) ?? 0) >= PROGRESS_INTERVAL_MS || event.bytes >= event.total) {
          lastProgress.set(d.id, now);
          changed(d);
        }
        return;
      }
      case 'warning':
        if (!d.warnings.some((w) => w.code === event.code && w.message === event.message)) {
          d.warnings.push({ code: event.code, message: event.message });
        }
        changed(d);
        return;
      case 'hint':
        if (LOOP_HINT.test(event.message)) {
          const message = `${event.message[0]?.toUpperCase() ?? ''}${event.message.slice(1)}.`;
          // A later hint (measured over the whole update) replaces an earlier estimate.
          d.warnings = d.warnings.filter((w) => w.code !== 'LOOP_PERIOD');
          d.warnings.push({ code: 'LOOP_PERIOD', message });
        } else if (!d.hints.includes(event.message)) d.hints.push(event.message);
        changed(d);
        return;
      case 'retry':
        d.warnings.push({
          code: 'RETRY',
          message: `Attempt ${event.attempt} of ${event.of} failed (${event.code}: ${event.message}); trying again in ${(event.delayMs / 1000).toFixed(1)} s.`,
        });
        changed(d);
        return;
      case 'result': {
        d.attempts = event.attempts;
        d.seconds = event.seconds;
        d.bytes = event.status === 'ok' ? d.total : event.bytes;
        for (const w of event.warnings) {
          if (!d.warnings.some((x) => x.code === w.code && x.message === w.message)) d.warnings.push(w);
        }
        const state: DeviceState =
          event.status === 'ok' ? 'ok' : event.status === 'failed' ? 'failed' : 'skipped';
        const error = event.status === 'ok' ? null : resultError(event);
        if (event.status === 'ok') {
          registry.observe(d.id, { online: true });
        } else if (error?.offline) {
          registry.observe(d.id, { online: false });
        } else if (error?.code === 'AUTH_REQUIRED' || error?.code === 'AUTH_FAILED') {
          registry.observe(d.id, { online: true, authRequired: true });
        }
        ctx.finish(d, state, error);
        return;
      }
    }
  };
}
