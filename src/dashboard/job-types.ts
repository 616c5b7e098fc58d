/** The records of an update started from the page: one per update, one per device of it. */
import type { ErrorCode } from '../core/errors.ts';
import type { DeviceRegistry } from './devices.ts';
import type { StoredImage } from './images.ts';
import type { DashboardLibrary, DiagnosisView, FitVerdict } from './lib.ts';
import type { DashboardStore } from './store.ts';

export type DeviceState = 'queued' | 'running' | 'ok' | 'failed' | 'skipped';

/** Why a device of an update failed or was skipped, as the page shows it. */
export interface JobError {
  code: ErrorCode;
  message: string;
  hint?: string;
  deviceText?: string;
  /** It did not answer (the probe, the invitation): nothing was sent. */
  offline: boolean;
  /** The diagnosis module's ranked causes (`diagnoseUpload`), null when there is nothing to add. */
  diagnosis: DiagnosisView | null;
}

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
  error: JobError | null;
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
  /** Why the rollout stopped early (a canary failed, too many failures, interrupted). */
  stopReason: string | null;
  parallel: number;
  canary: number;
  retries: number;
  maxFailures: number | null;
  /** Warnings about the image that apply to every device. */
  warnings: Array<{ code: string; message: string }>;
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
  /** How long a device may take to answer (the probe, the invitation) before it is called offline. */
  inviteTimeoutMs: number;
}

export interface StartOptions {
  image: StoredImage;
  /** The image's bytes, held only while the update runs. */
  bytes: Uint8Array;
  devices: string[];
  parallel: number;
  canary: number;
  retries: number;
  maxFailures?: number;
  retryOf?: string;
  /** Passwords given with this request only (not saved). */
  passwords?: Record<string, string>;
}

/** A device's live record as the event stream sends it. */
export function progressView(job: UpdateJob, d: JobDevice): Record<string, unknown> {
  return { update: job.id, ...d };
}
