import type { UploadTimeEstimate } from '../model.ts';
import type { ClientRun } from './procs.ts';
import type { Provenance } from './provenance.ts';

/** `stream`: the minimal streaming client (bench/stream-client.ts), the practical limit. */
export type ClientName = 'airflash' | 'stop-and-wait' | 'espota' | 'stream';

export interface ClientSummary {
  client: ClientName;
  /** How every client is timed: the wall time of its process (start-up included), the same for all. */
  timing: 'wall';
  runs: ClientRun[];
  /** Every run succeeded and the device confirmed the image. */
  allOk: boolean;
  medianMs: number;
  meanMs: number;
  /** The slowest run. */
  worstMs: number;
  /** Median of the client's own clock (first invitation → OK), where it reports one. */
  medianOwnMs: number | null;
  /** Image bytes per second at the median time. */
  throughput: number;
  /** modelled limit / median: the share of the emulator model's ideal speed (1 = at the limit). */
  ofLimit: number;
  /** The same at the mean and at the worst run. */
  ofLimitMean: number;
  ofLimitWorst: number;
  /** stream client's median / this median: the share of the practical limit (null without it). */
  ofPractical: number | null;
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

export interface MemoryRun {
  /** What ran: "upload 16 MiB", "image 16 MiB", "image 200 MB random". */
  name: string;
  /** The command line after `airflash` (paths shortened). */
  command: string;
  fileBytes: number;
  /** The command did what it should (upload: confirmed by the device; image: its expected exit). */
  ok: boolean;
  exitCode: number | null;
  seconds: number;
  maxRssKiB: number | null;
}

export interface MemoryResult {
  /** The upload's image size (kept for the summary). */
  imageBytes: number;
  timeScale: number;
  ok: boolean;
  code: string | null;
  seconds: number;
  maxRssKiB: number | null;
  method: string;
  /** Every measured command, the upload first. */
  runs: MemoryRun[];
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
  /** The commit, Node and espota.py versions the run ran (bench/lib/provenance.ts). */
  provenance?: Provenance;
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
    /** `--quick`: one profile, one run per client, the memory runs. */
    quick?: boolean;
  };
  profiles: ProfileResult[];
  memory: MemoryResult | null;
  fleet: FleetResult | null;
  parsers: ParserResult[];
  /** The ESPHome section (bench/lib/esphome.ts); absent in runs before it. */
  esphome?: import('./esphome.ts').EsphomeBenchResult | null;
  /** The USB serial section (bench/lib/serial.ts); absent in runs before it. */
  serial?: import('./serial.ts').SerialBenchResult | null;
  targets: TargetResult[];
  ok: boolean;
}
