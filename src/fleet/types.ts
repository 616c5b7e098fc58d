import type { AirflashError } from '../core/errors.ts';
import type { Diagnosis, MdnsBrowse } from '../diagnosis/index.ts';
import type { PartitionTable } from '../formats/index.ts';
import type { UploadOptions, UploadPhase } from '../protocols/arduino-ota/model/options.ts';

/** One device of a fleet upload. */
export interface FleetTarget {
  /** Unique name, used in every event (the devices-file name, the mDNS name, or HOST:PORT). */
  name: string;
  /** IP address, host name or `.local` name. */
  host: string;
  /** UDP OTA port. Default 3232, or 8266 for `core: 'esp8266'` / `chip: 'esp8266'`. */
  port?: number;
  core?: 'esp32' | 'esp32-legacy' | 'esp8266';
  /** Chip the firmware must be built for (`esp32`, `esp32s3`, `esp8266` ...), for the pre-flight. */
  chip?: string;
  /** Built-in partition scheme name, a CSV/binary table file path, or a table (pre-flight size check). */
  partitions?: string | PartitionTable;
  /** OTA password; empty or absent = none. */
  password?: string;
  /**
   * Why this device cannot be updated, found while working out the target (e.g. the environment
   * variable its password comes from is not set). It is then not sent to and fails with this error
   * (a dry run reports it); the other devices go on.
   */
  unusable?: AirflashError;
}

/** Options of one upload that apply to every device of a fleet (see UploadOptions). */
export type FleetUploadOptions = Pick<
  UploadOptions,
  | 'md5Target'
  | 'hostIp'
  | 'compress'
  | 'signed'
  | 'attemptTimeoutMs'
  | 'inviteAttempts'
  | 'authTimeoutMs'
  | 'connectTimeoutMs'
  | 'connectMaxMs'
  | 'stallTimeoutMs'
  | 'resultTimeoutMs'
  | 'resolve'
>;

export interface FleetOptions {
  targets: FleetTarget[];
  /** The image for every device: a file path or the bytes. */
  image: string | Uint8Array;
  /** Filesystem image (command 100) instead of firmware. */
  filesystem?: boolean;
  /** Devices updated at the same time. Default 4. */
  parallel?: number;
  /** Repeat a transiently failed upload (stall, cut, no answer after the probe answered) this many
   * times. Default 1. Offline devices, wrong passwords, device errors and pre-flight refusals are
   * never retried. */
  retries?: number;
  /** Pause before the first retry, doubled for each further one (× timeScale). Default 2000 ms. */
  backoffMs?: number;
  /** Update this many devices first; continue only when each of them answers again after its
   * reboot within `canaryTimeoutMs`. Default 0 (no canary stage). */
  canary?: number;
  /** How long a canary may take to come back after its update. Default 60 000 ms (× timeScale). */
  canaryTimeoutMs?: number;
  /** Stop the rollout once this many devices failed (the rest are reported `aborted`). */
  maxFailures?: number;
  /** Report what would happen to whom; no network traffic at all. */
  dryRun?: boolean;
  /** Probe every device before its upload. Default true. */
  probe?: boolean;
  /** How long a device may take to answer the probe before it is called offline. Default 5000 ms
   * (× timeScale); the probe invitation is sent up to 3 times within it. */
  probeTimeoutMs?: number;
  /** Skip the image pre-flight checks (`--force`). */
  force?: boolean;
  /** Multiplies every default wait of the fleet and of each upload (emulated devices). Default 1. */
  timeScale?: number;
  /** Options passed to every upload. */
  upload?: FleetUploadOptions;
  /** How the follow-up of a failed device browses mDNS (discovery's `discoverAll`); without it, no mDNS. */
  browse?: MdnsBrowse;
  onEvent?: (event: FleetEvent) => void;
  signal?: AbortSignal;
}

/** How a device ended. `planned`: dry run. */
export type DeviceStatus = 'ok' | 'failed' | 'skipped' | 'aborted' | 'planned';

export interface DeviceResult {
  ok: boolean;
  status: DeviceStatus;
  /** Error code for failed / skipped / aborted devices (DEVICE_OFFLINE, ROLLOUT_STOPPED ...). */
  code: string | null;
  message: string;
  /** The error's hint and the device's own words, for failed devices. */
  hint?: string;
  deviceText?: string;
  /** For failed devices: `diagnoseUpload()` of the failure (the same as `airflash upload`,
   * follow-up included), else null. */
  diagnosis: Diagnosis | null;
  /** Seconds spent on this device (probe, attempts, pauses, reboot wait). */
  seconds: number;
  /** Image bytes sent to the device (of the last attempt; the image size on success). */
  bytes: number;
  /** Upload attempts made (0 when none was). */
  attempts: number;
  host: string;
  port: number;
  canary: boolean;
  /** Canary: seconds from the device's `OK` until it answered again after its reboot. */
  backAfterSeconds?: number;
  /** Warnings of the upload (and per-device pre-flight). */
  warnings: Array<{ code: string; message: string }>;
}

/** Fleet steps around the upload's own phases. */
export type FleetPhase = 'queued' | 'preflight' | 'probe' | UploadPhase | 'retry-wait' | 'reboot-wait';

export type FleetStopReason = 'canary' | 'max-failures' | 'interrupted';

export interface FleetTotals {
  ok: number;
  failed: number;
  skipped: number;
  aborted: number;
  /** Device names per outcome, in target order. */
  devices: { ok: string[]; failed: string[]; skipped: string[]; aborted: string[]; planned: string[] };
  /** Why the rollout stopped before every device was tried; null when it did not. */
  stopped: { reason: FleetStopReason; message: string } | null;
  dryRun: boolean;
  seconds: number;
  image: { size: number; md5: string; description?: string };
}

export interface FleetSummary extends FleetTotals {
  /** One per target, in target order. */
  results: Array<DeviceResult & { device: string }>;
}

/**
 * Events of a fleet upload. Every event names its `device`; fleet-wide ones (pre-flight warnings,
 * stop, summary) carry `device: null`. Flat objects, so the CLI writes them as JSON lines as is.
 */
export type FleetEvent =
  | {
      type: 'plan';
      device: string;
      host: string;
      port: number;
      canary: boolean;
      /** What will be done: `upload`, or `skip` with the reason in `message`. */
      action: 'upload' | 'skip';
      message: string;
    }
  | { type: 'phase'; device: string; phase: FleetPhase }
  | { type: 'progress'; device: string; bytes: number; total: number; sent: number }
  | { type: 'warning'; device: string | null; code: string; message: string }
  | { type: 'hint'; device: string; message: string }
  | {
      type: 'retry';
      device: string;
      /** The attempt that failed (1-based) and the number of attempts allowed. */
      attempt: number;
      of: number;
      code: string;
      message: string;
      delayMs: number;
    }
  | ({ type: 'result'; device: string } & DeviceResult)
  | { type: 'stopped'; device: null; reason: FleetStopReason; message: string }
  | ({ type: 'summary'; device: null } & FleetTotals);
