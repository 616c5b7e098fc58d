import type { UploadTimeEstimate } from '../model.ts';
import type { ClientRun } from './procs.ts';

export type ClientName = 'airflash' | 'stop-and-wait' | 'espota';

export interface ClientSummary {
  client: ClientName;
  /** How the time was taken: the client's own clock (first invitation/start → OK) or process wall time. */
  timing: 'internal' | 'wall';
  runs: ClientRun[];
  /** Every run succeeded and the device confirmed the image. */
  allOk: boolean;
  medianMs: number;
  medianWallMs: number;
  /** Image bytes per second at the median time. */
  throughput: number;
  /** limit / median: the share of the ideal speed reached (1 = at the limit). */
  ofLimit: number;
}

export interface ProfileResult {
  profile: string;
  label: string;
  core: 'esp32' | 'esp32-legacy' | 'esp8266';
  rttMs: number;
  bandwidth: number;
  udpLoss: number;
  imageBytes: number;
  /** Stop-and-wait chunk size used for this core (1024 ESP32 espota, 1460 ESP8266 espota). */
  chunkSize: number;
  limit: UploadTimeEstimate;
  stopAndWaitModel: UploadTimeEstimate;
  clients: ClientSummary[];
  /** stop-and-wait median / model prediction. */
  calibration: number;
  /** Other client's median / airflash median. */
  speedup: Partial<Record<ClientName, number>>;
}

export interface MemoryResult {
  imageBytes: number;
  timeScale: number;
  ok: boolean;
  code: string | null;
  seconds: number;
  maxRssKiB: number | null;
  method: string;
}

export interface FleetRun {
  devices: number;
  parallel: number;
  ok: number;
  failed: number;
  verified: number;
  /** The fleet's own total (summary.seconds), else the wall time, s. */
  seconds: number;
  wallSeconds: number;
  code: string | null;
  message?: string;
}

export interface FleetResult {
  rttMs: number;
  imageBytes: number;
  parallel: number;
  runs: FleetRun[];
  /** 1.5 × ceil(50 / parallel) × the one-device time. */
  budgetSeconds: number | null;
  limit: UploadTimeEstimate;
}

export interface ParserResult {
  name: string;
  bytes: number;
  iterations: number;
  seconds: number;
  mbPerSecond: number;
}

export interface TargetResult {
  id: string;
  description: string;
  value: number | null;
  threshold: string;
  ok: boolean;
  note?: string;
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  release: string;
  totalMemMiB: number;
}

export interface BenchResults {
  version: 1;
  date: string;
  durationSeconds: number;
  machine: MachineInfo;
  config: {
    runs: number;
    lossyRuns: number;
    imageBytes: number;
    memoryImageBytes: number;
    fleetImageBytes: number;
    espota: { esp32: string | null; esp8266: string | null };
    partial: boolean;
  };
  profiles: ProfileResult[];
  memory: MemoryResult | null;
  fleet: FleetResult | null;
  parsers: ParserResult[];
  targets: TargetResult[];
  ok: boolean;
}
