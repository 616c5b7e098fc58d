/** Types shared by `doctor()` and its checks. */

import type { EspotaCore } from './espota.ts';

export type DoctorSeverity = 'error' | 'warning' | 'info';

/** One thing doctor noticed. `code` is stable across releases (docs/doctor.md lists them). */
export interface DoctorFinding {
  severity: DoctorSeverity;
  /** Stable identifier, e.g. ONE_LINE_FLAGS, PORT_CORE_MISMATCH, BLOCKING_DELAY. */
  code: string;
  /** The PlatformIO environment the finding is about; absent for project-wide findings. */
  env?: string;
  /** What is wrong, in one or two sentences. */
  what: string;
  /** Why it matters: what espota / the device does with it. */
  why: string;
  /** What to do: a concrete snippet to paste (platformio.ini lines, C++ code, a command). */
  fix: string;
  /** File the finding points at, relative to the project directory. */
  file?: string;
  /** 1-based line in `file`. */
  line?: number;
}

/** What doctor learnt about one environment. */
export interface DoctorEnvSummary {
  name: string;
  /** True when PlatformIO would upload with espota. */
  ota: boolean;
  core?: EspotaCore;
  platform?: string;
  board?: string;
  uploadProtocol?: string;
  uploadPort?: string;
  /** `upload_flags` as PlatformIO splits it: one entry = one argv element for espota. */
  uploadFlags: string[];
  /** The full argv espota.py receives from PlatformIO (OTA envs only). */
  espotaArgs?: string[];
  /** The port espota would actually send the invitation to (OTA envs only). */
  espotaPort?: number;
  /** Partition scheme in effect (ESP32), as named or assumed. */
  partitions?: string;
  /** Largest app image an OTA update can take, in bytes, when known. */
  maxAppSize?: number;
  /** Size of .pio/build/ENV/firmware.bin when it exists. */
  firmwareSize?: number;
}

export interface DoctorReport {
  projectDir: string;
  /** Path of platformio.ini. */
  configFile: string;
  envs: DoctorEnvSummary[];
  findings: DoctorFinding[];
  /** Source files scanned, relative to the project. */
  sources: string[];
}

/** What a probe of an upload_port found out (doctor's view; see `probe()` for the full story). */
export interface DoctorProbeResult {
  /** An ArduinoOTA service answered on host:port. */
  answered: boolean;
  /** The device asked for a password. */
  authRequired?: boolean;
  /** Auth generation, e.g. "md5" or "pbkdf2-sha256", when known. */
  authScheme?: string;
  /** Estimated time between two `handle()` calls, when measured (never a guess). */
  loopPeriodMs?: number;
  /** What the probe made of the loop: measured, fast, not-visible, skipped, none. */
  loopKind?: string;
  /** Why, in the probe's words (e.g. why the period cannot be seen). */
  loopWhy?: string;
  /** One-line human summary from the probe. */
  summary?: string;
}

/** Probes one host:port. Injected so that the library never sends traffic unless asked. */
export type DoctorProbe = (
  host: string,
  port: number,
  options: { signal?: AbortSignal },
) => Promise<DoctorProbeResult>;
