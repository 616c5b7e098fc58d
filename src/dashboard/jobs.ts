/**
 * The dashboard's update scheduler: canary devices first, then the rest with N in parallel, one
 * retry for transient failures, each device's progress and result pushed as events. Small on
 * purpose: it only calls `upload()` and can be swapped for the shared fleet module.
 */
import { randomBytes } from 'node:crypto';
import { AirflashError, toAirflashError } from '../errors.ts';
import type { DeviceRegistry } from './devices.ts';
import type { StoredImage } from './images.ts';
import type { DashboardLibrary, DiagnosisCause, FitVerdict, UploadEvent } from './lib.ts';
import type { DashboardStore } from './store.ts';

export type DeviceState = 'queued' | 'running' | 'ok' | 'failed' | 'skipped';

export interface JobDevice {
  id: string;
  name: string;
  address: string;
  port: number;
  state: DeviceState;
  phase: string | null;
  bytes: number;
  total: number;
  attempts: number;
  canary: boolean;
  fit: FitVerdict | null;
  warnings: Array<{ code: string; message: string }>;
  hints: string[];
  error: {
    code: string;
    message: string;
    hint?: string;
    deviceText?: string;
    offline: boolean;
    diagnosis: DiagnosisCause[];
  } | null;
  startedAt: string | null;
  finishedAt: string | null;
  seconds: number | null;
}

export interface UpdateJob {
  id: string;
  image: { id: string; name: string; size: number; md5: string };
  createdAt: string;
  finishedAt: string | null;
  state: 'running' | 'done' | 'stopped';
  parallel: number;
  canary: number;
  retries: number;
  retryOf: string | null;
  devices: JobDevice[];
  summary: { ok: number; failed: number; skipped: number };
}

export interface JobDeps {
  lib: DashboardLibrary;
  registry: DeviceRegistry;
  store: DashboardStore;
  /** The password to use for a device (request > saved > environment), or undefined. */
  password(deviceId: string): string | undefined;
  publish(type: string, data: unknown): void;
  /** How long to wait for a device to answer the invitation before calling it offline. */
  inviteTimeoutMs: number;
}

export interface StartOptions {
  image: StoredImage;
  devices: string[];
  parallel: number;
  canary: number;
  retries: number;
  retryOf?: string;
  /** Passwords given with this request only (not saved). */
  passwords?: Record<string, string>;
}

/** Failures worth one more try (the link, not the device's answer). */
const TRANSIENT = new Set(['TRANSFER_STALLED', 'INCOMPLETE', 'NO_CONNECT_BACK', 'NETWORK_ERROR']);

const PROGRESS_INTERVAL_MS = 100;

/**
 * A loop() that calls ArduinoOTA.handle() less often than this is worth a warning: an ESP32
 * reads one datagram per handle() call and runs the whole transfer inside one, so every step of
 * the update waits for the next call (field-notes §2.9).
 */
const LOOP_WARNING_MS = 1000;

function loopMessage(ms: number): string {
  const s = ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
  return `The device's loop() calls ArduinoOTA.handle() only about every ${s}, so it answered late. Call handle() more often (avoid long delay() calls) for faster, more reliable updates.`;
}

export class JobRunner {
  #deps: JobDeps;
  #jobs = new Map<string, { job: UpdateJob; image: StoredImage; passwords: Record<string, string> }>();
  #controller = new AbortController();
  #running = new Set<Promise<void>>();

  constructor(deps: JobDeps) {
    this.#deps = deps;
  }

  list(): UpdateJob[] {
    return [...this.#jobs.values()].map((j) => j.job).reverse();
  }

  get(id: string): UpdateJob | undefined {
    return this.#jobs.get(id)?.job;
  }

  /** Image ids used by running updates (never evicted). */
  imagesInUse(): Set<string> {
    const ids = new Set<string>();
    for (const { job } of this.#jobs.values()) if (job.state === 'running') ids.add(job.image.id);
    return ids;
  }

  start(options: StartOptions): UpdateJob {
    const { registry } = this.#deps;
    const devices: JobDevice[] = options.devices.map((id, index) => {
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
        total: options.image.bytes.length,
        attempts: 0,
        canary: index < options.canary,
        fit: null,
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
        size: options.image.bytes.length,
        md5: options.image.summary.md5,
      },
      createdAt: new Date().toISOString(),
      finishedAt: null,
      state: 'running',
      parallel: options.parallel,
      canary: Math.min(options.canary, devices.length),
      retries: options.retries,
      retryOf: options.retryOf ?? null,
      devices,
      summary: { ok: 0, failed: 0, skipped: 0 },
    };
    this.#jobs.set(job.id, { job, image: options.image, passwords: options.passwords ?? {} });
    for (const d of devices) registry.setBusy(d.id, job.id);
    const run = this.#run(job).finally(() => this.#running.delete(run));
    this.#running.add(run);
    return job;
  }

  /** A new update of the failed devices of `id`, with the same image and settings. */
  retry(id: string, passwords?: Record<string, string>): UpdateJob {
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

  async #run(job: UpdateJob): Promise<void> {
    const entry = this.#jobs.get(job.id);
    if (entry === undefined) return;
    const { store, publish } = this.#deps;
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
    const canaries = job.devices.filter((d) => d.canary);
    const rest = job.devices.filter((d) => !d.canary);
    await this.#pool(job, canaries, entry);
    if (canaries.some((d) => d.state !== 'ok')) {
      job.state = 'stopped';
      for (const d of rest) {
        await this.#finish(job, d, 'skipped', {
          code: 'ROLLOUT_STOPPED',
          message: 'Not sent: a canary device failed, so the rollout stopped.',
          hint: 'Look at the canary failure, fix it, then retry.',
          offline: false,
          diagnosis: [],
        });
      }
    } else {
      await this.#pool(job, rest, entry);
      job.state = 'done';
    }
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

  async #pool(
    job: UpdateJob,
    devices: JobDevice[],
    entry: { image: StoredImage; passwords: Record<string, string> },
  ): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < devices.length) {
        const device = devices[next] as JobDevice;
        next += 1;
        await this.#device(job, device, entry);
      }
    };
    const workers = Math.max(1, Math.min(job.parallel, devices.length));
    await Promise.all(Array.from({ length: workers }, worker));
  }

  async #device(
    job: UpdateJob,
    d: JobDevice,
    entry: { image: StoredImage; passwords: Record<string, string> },
  ): Promise<void> {
    const { lib, registry, publish } = this.#deps;
    const signal = this.#controller.signal;
    if (signal.aborted) {
      await this.#finish(job, d, 'skipped', errorView(toAirflashError(signal.reason), lib));
      return;
    }
    d.state = 'running';
    d.startedAt = new Date().toISOString();
    const started = Date.now();
    const info = registry.info(d.id);
    // Pre-flight against what we know of the device: refuse what cannot work before sending.
    d.fit = lib.fit(entry.image.bytes, entry.image.summary, registry.target(d.id), entry.image.name);
    publish('device-progress', progressView(job, d));
    if (d.fit.verdict === 'refuse') {
      await this.#finish(job, d, 'failed', {
        code: d.fit.code ?? 'PREFLIGHT_NOT_APP',
        message: d.fit.message,
        hint: 'Nothing was sent; the device keeps its firmware. Pick an image built for this device.',
        offline: false,
        diagnosis: [],
      });
      return;
    }
    const password = entry.passwords[d.id] ?? this.#deps.password(d.id);
    let lastProgress = 0;
    const onEvent = (event: UploadEvent): void => {
      if (event.type === 'phase') {
        d.phase = event.phase;
        publish('device-progress', progressView(job, d));
      } else if (event.type === 'progress') {
        d.bytes = event.bytes;
        d.total = event.total;
        const now = Date.now();
        if (now - lastProgress >= PROGRESS_INTERVAL_MS || event.bytes >= event.total) {
          lastProgress = now;
          publish('device-progress', progressView(job, d));
        }
      } else if (event.type === 'warning') {
        d.warnings.push({ code: event.code, message: event.message });
        publish('device-progress', progressView(job, d));
      } else if (event.type === 'hint') {
        if (!d.hints.includes(event.message)) d.hints.push(event.message);
        publish('device-progress', progressView(job, d));
      } else if (event.type === 'auth') {
        registry.observe(d.id, { authRequired: true, authScheme: event.scheme });
      }
    };
    for (;;) {
      d.attempts += 1;
      try {
        const outcome = await lib.upload({
          host: info?.address ?? d.address,
          port: info?.port ?? d.port,
          image: entry.image.bytes,
          ...(password === undefined ? {} : { password }),
          signal,
          inviteTimeoutMs: this.#deps.inviteTimeoutMs,
          onEvent,
        });
        d.seconds = (Date.now() - started) / 1000;
        d.bytes = d.total;
        for (const w of outcome.warnings ?? []) {
          if (!d.warnings.some((x) => x.code === w.code && x.message === w.message)) d.warnings.push(w);
        }
        if (outcome.loopPeriodMs !== undefined && outcome.loopPeriodMs >= LOOP_WARNING_MS) {
          d.warnings.push({ code: 'LOOP_PERIOD', message: loopMessage(outcome.loopPeriodMs) });
        }
        registry.observe(d.id, {
          online: true,
          authRequired: outcome.authScheme !== undefined,
          ...(outcome.authScheme === undefined ? {} : { authScheme: outcome.authScheme }),
        });
        await this.#finish(job, d, 'ok', null);
        return;
      } catch (caught) {
        const error = toAirflashError(caught);
        if (TRANSIENT.has(error.code) && d.attempts <= job.retries && !signal.aborted) {
          d.warnings.push({
            code: 'RETRY',
            message: `${error.message} Retrying (attempt ${d.attempts + 1}).`,
          });
          d.bytes = 0;
          publish('device-progress', progressView(job, d));
          continue;
        }
        const view = errorView(error, lib);
        if (view.offline) registry.observe(d.id, { online: false });
        else if (error.code !== 'INTERRUPTED') registry.observe(d.id, { online: true });
        if (error.code === 'AUTH_REQUIRED' || error.code === 'AUTH_FAILED') {
          registry.observe(d.id, { authRequired: true });
        }
        d.seconds = (Date.now() - started) / 1000;
        await this.#finish(job, d, 'failed', view);
        return;
      }
    }
  }

  async #finish(job: UpdateJob, d: JobDevice, state: DeviceState, error: JobDevice['error']): Promise<void> {
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
    this.#deps.registry.setBusy(d.id, null);
    this.#deps.publish('device-result', progressView(job, d));
  }
}

const OFFLINE_CODES = new Set(['NO_INVITATION_REPLY', 'DEVICE_OFFLINE', 'HOST_NOT_FOUND']);

function errorView(error: AirflashError, lib: DashboardLibrary): NonNullable<JobDevice['error']> {
  let diagnosis: DiagnosisCause[] = [];
  try {
    diagnosis = lib.diagnose(error);
  } catch {
    diagnosis = [];
  }
  return {
    code: error.code,
    message: error.message,
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    ...(error.deviceText === undefined ? {} : { deviceText: error.deviceText }),
    offline: OFFLINE_CODES.has(error.code),
    diagnosis,
  };
}

function progressView(job: UpdateJob, d: JobDevice): Record<string, unknown> {
  return { update: job.id, ...d };
}
