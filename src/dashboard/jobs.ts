/**
 * Updates started from the page. The rollout itself is the shared fleet module (`uploadFleet`:
 * probe first so an offline device is skipped fast, canaries that must come back after their
 * reboot, transient retries with backoff, max-failures), exactly as `airflash upload` runs it;
 * this file turns its events into the dashboard's update records, history lines and live events.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { AirflashError, toAirflashError } from '../core/errors.ts';
import type { FleetTarget } from '../fleet/types.ts';
import { deviceTarget } from './devices.ts';
import type { StoredImage } from './images.ts';
import { errorView, refusal } from './job-errors.ts';
import { fleetListener } from './job-events.ts';
import {
  type DeviceState,
  type JobDeps,
  type JobDevice,
  type JobError,
  progressView,
  type StartOptions,
  type UpdateJob,
} from './job-types.ts';

export type { DeviceState, JobDeps, JobDevice, JobError, StartOptions, UpdateJob } from './job-types.ts';

type Entry = {
  job: UpdateJob;
  image: StoredImage;
  /** The firmware while the update runs; dropped when it ends (a retry reads the file again). */
  bytes: Uint8Array | null;
  passwords: Record<string, string>;
};

export class JobRunner {
  #deps: JobDeps;
  #jobs = new Map<string, Entry>();
  #controller = new AbortController();
  #running = new Set<Promise<void>>();

  constructor(deps: JobDeps) {
    this.#deps = deps;
    // Every device of every running update listens to this one signal.
    setMaxListeners(0, this.#controller.signal);
  }

  list(): UpdateJob[] {
    return [...this.#jobs.values()].map((j) => j.job).reverse();
  }

  get(id: string): UpdateJob | undefined {
    return this.#jobs.get(id)?.job;
  }

  /** The image an update sent. */
  imageOf(id: string): StoredImage | undefined {
    return this.#jobs.get(id)?.image;
  }

  /** Image ids used by running updates (never evicted). */
  imagesInUse(): Set<string> {
    const ids = new Set<string>();
    for (const { job } of this.#jobs.values()) if (job.state === 'running') ids.add(job.image.id);
    return ids;
  }

  start(options: StartOptions): UpdateJob {
    const { registry } = this.#deps;
    const devices: JobDevice[] = options.devices.map((id) => {
      const info = registry.info(id);
      if (info === undefined) throw new AirflashError('BAD_ARGUMENT', `No device with id "${id}".`);
      const busy = registry.get(id)?.busy ?? null;
      if (busy !== null) {
        throw new AirflashError('DEVICE_BUSY', `Device "${info.name}" is already being updated (${busy}).`, {
          hint: 'Wait for that update to finish.',
        });
      }
      return {
        id,
        name: info.name,
        address: info.address,
        port: info.port,
        state: 'queued',
        phase: null,
        bytes: 0,
        total: options.bytes.length,
        attempts: 0,
        canary: false,
        fit: this.#deps.lib.fit(
          options.bytes,
          options.image.summary,
          registry.target(id),
          options.image.name,
        ),
        warnings: [],
        hints: [],
        error: null,
        startedAt: null,
        finishedAt: null,
        seconds: null,
      };
    });
    const job: UpdateJob = {
      id: `u-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
      image: {
        id: options.image.id,
        name: options.image.name,
        size: options.bytes.length,
        md5: options.image.summary.md5,
      },
      createdAt: new Date().toISOString(),
      finishedAt: null,
      state: 'running',
      stopReason: null,
      parallel: options.parallel,
      canary: Math.min(options.canary, devices.length),
      retries: options.retries,
      maxFailures: options.maxFailures ?? null,
      warnings: [],
      retryOf: options.retryOf ?? null,
      devices,
      summary: { ok: 0, failed: 0, skipped: 0 },
    };
    const entry: Entry = {
      job,
      image: options.image,
      bytes: options.bytes,
      passwords: options.passwords ?? {},
    };
    this.#jobs.set(job.id, entry);
    // A device the image does not fit is refused now: never queued, never busy, sent nothing.
    for (const d of devices) {
      if (d.fit?.verdict === 'refuse') {
        d.state = 'failed';
        d.error = refusal(d.fit);
      } else registry.setBusy(d.id, job.id);
    }
    const run = this.#run(entry).finally(() => this.#running.delete(run));
    this.#running.add(run);
    return job;
  }

  /** A new update of the failed and skipped devices of `id`, with the same image and settings. */
  retry(id: string, bytes: Uint8Array, passwords?: Record<string, string>): UpdateJob {
    const entry = this.#jobs.get(id);
    if (entry === undefined) throw new AirflashError('BAD_ARGUMENT', `No update with id "${id}".`);
    if (entry.job.state === 'running') {
      throw new AirflashError('DEVICE_BUSY', 'That update is still running.', {
        hint: 'Retry when it ends.',
      });
    }
    const failed = entry.job.devices
      .filter((d) => d.state === 'failed' || d.state === 'skipped')
      .map((d) => d.id);
    if (failed.length === 0)
      throw new AirflashError('BAD_ARGUMENT', 'Every device of that update succeeded.');
    return this.start({
      image: entry.image,
      bytes,
      devices: failed,
      parallel: entry.job.parallel,
      canary: 0,
      retries: entry.job.retries,
      retryOf: id,
      passwords: { ...entry.passwords, ...passwords },
    });
  }

  /** Abort running updates and wait for them to end. */
  async close(): Promise<void> {
    this.#controller.abort(new AirflashError('INTERRUPTED', 'The dashboard is shutting down.'));
    await Promise.allSettled([...this.#running]);
  }

  async #run(entry: Entry): Promise<void> {
    const { job } = entry;
    const { store, publish, registry, lib } = this.#deps;
    await store.append({
      type: 'update-start',
      id: job.id,
      at: job.createdAt,
      image: {
        ...job.image,
        ...(entry.image.summary.app === null ? {} : { app: entry.image.summary.app }),
      },
      devices: job.devices.map((d) => ({ id: d.id, name: d.name, address: d.address, port: d.port })),
      parallel: job.parallel,
      canary: job.canary,
      ...(job.retryOf === null ? {} : { retryOf: job.retryOf }),
    });
    publish('update', job);
    const refused = job.devices.filter((d) => d.state === 'failed');
    const results: Promise<void>[] = refused.map((d) => this.#finish(job, d, 'failed', d.error));
    const targets: FleetTarget[] = job.devices
      .filter((d) => d.state !== 'failed')
      .map((d) => {
        const info = registry.info(d.id);
        const password = entry.passwords[d.id] ?? this.#deps.password(d.id);
        const core = info?.core;
        return {
          name: d.id,
          host: deviceTarget(info?.address ?? d.address, info?.port ?? d.port, info?.protocol),
          port: info?.port ?? d.port,
          ...(core === 'esp32' || core === 'esp32-legacy' || core === 'esp8266' ? { core } : {}),
          ...(info?.chip === undefined ? {} : { chip: info.chip }),
          ...(info?.partitions === undefined ? {} : { partitions: info.partitions }),
          ...(password === undefined ? {} : { password }),
        };
      });
    const onEvent = fleetListener({
      job,
      registry,
      publish,
      finish: (d, state, error) => {
        results.push(this.#finish(job, d, state, error));
      },
    });
    try {
      if (targets.length > 0)
        await lib.fleet({
          targets,
          image: entry.bytes ?? new Uint8Array(0),
          parallel: job.parallel,
          canary: job.canary,
          retries: job.retries,
          ...(job.maxFailures === null ? {} : { maxFailures: job.maxFailures }),
          probeTimeoutMs: this.#deps.inviteTimeoutMs,
          upload: uploadTimeouts(this.#deps.inviteTimeoutMs),
          onEvent,
          signal: this.#controller.signal,
        });
    } catch (caught) {
      // The image itself was refused, or the options: every device that has no result fails with it.
      const error = await errorView(toAirflashError(caught), lib);
      for (const d of job.devices) {
        if (d.finishedAt === null) results.push(this.#finish(job, d, 'failed', error));
      }
    }
    await Promise.all(results);
    entry.bytes = null;
    job.state = job.stopReason === null ? 'done' : 'stopped';
    job.finishedAt = new Date().toISOString();
    await store.append({
      type: 'update-end',
      id: job.id,
      at: job.finishedAt,
      state: job.state,
      ...job.summary,
    });
    publish('update', job);
  }

  async #finish(job: UpdateJob, d: JobDevice, state: DeviceState, error: JobError | null): Promise<void> {
    d.state = state;
    d.error = error;
    d.finishedAt = new Date().toISOString();
    if (state === 'ok') job.summary.ok += 1;
    else if (state === 'failed') job.summary.failed += 1;
    else job.summary.skipped += 1;
    await this.#deps.store.append({
      type: 'device-result',
      update: job.id,
      at: d.finishedAt,
      device: d.id,
      name: d.name,
      address: d.address,
      port: d.port,
      ok: state === 'ok',
      ...(error === null ? {} : { code: error.code, message: error.message }),
      seconds: d.seconds ?? 0,
      bytes: d.bytes,
      attempts: d.attempts,
      warnings: d.warnings.map((w) => w.message),
    });
    // After the history line: the device's "last firmware" is read from the history.
    this.#deps.registry.setBusy(d.id, null);
    this.#deps.publish('device-result', progressView(job, d));
  }
}

/** The invitation budget of one upload: attempts of at most 10 s within `ms`. */
function uploadTimeouts(ms: number): { attemptTimeoutMs: number; inviteAttempts: number } {
  const attemptTimeoutMs = Math.min(10_000, Math.max(1000, Math.round(ms / 3)));
  return { attemptTimeoutMs, inviteAttempts: Math.max(1, Math.ceil(ms / attemptTimeoutMs)) };
}
