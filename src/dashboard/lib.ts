/**
 * The only file of the dashboard that talks to the rest of the library. The server, the jobs and
 * the tests go through `DashboardLibrary`, so a test can replace one piece (say, `upload`) and the
 * dashboard's own scheduler can be swapped for the shared fleet module without touching the rest.
 */
import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { AirflashError } from '../core/errors.ts';
import { choosePartitions } from '../devices/partition-spec.ts';
import { resolvePartitionsSync } from '../devices/partitions.ts';
import { type Diagnosis, diagnoseUpload } from '../diagnosis/index.ts';
import { discoverAll } from '../discovery/index.ts';
import { type FleetOptions, type FleetSummary, uploadFleet } from '../fleet/fleet.ts';
import {
  builtinPartitionTable,
  type PartitionTable,
  type PreflightTarget,
  parseFlashSize,
  preflight,
} from '../formats/index.ts';
import '../protocols/builtin.ts';
import { parseTarget, pickProtocol } from '../protocols/registry.ts';
import type { UploadObservation } from '../upload/index.ts';

/** What the page shows about an image (a JSON-safe summary of the formats module's inspection). */
export interface ImageSummary {
  /** `esp32-app`, `esp8266-app`, `gzip`, ... */
  kind: string;
  chip: string | null;
  size: number;
  md5: string;
  sha256: string;
  /** esp_app_desc_t fields when the image has one. */
  app: Record<string, unknown> | null;
  /** Human lines: what the image is, checksums, segments. */
  details: string[];
  warnings: string[];
}

/** What the dashboard knows about a device's hardware, for the fit check. */
export interface DeviceTarget {
  core: string | null;
  chip: string | null;
  partitions: string | null;
  flashSize: string | null;
}

export interface FitVerdict {
  /** ok: sending is expected to work; warn: it may; refuse: it will not (wrong chip, too big ...). */
  verdict: 'ok' | 'warn' | 'refuse';
  code: string | null;
  message: string;
  /** Size of the OTA slot the image would go to, when known. */
  slotSize: number | null;
}

/** The diagnosis module's ranked causes as the page shows them (`diagnoseUpload`'s summary and causes). */
export type DiagnosisView = Pick<Diagnosis, 'summary' | 'causes'>;

/** What the probe API answers for one device (from the fleet's probe). */
export interface ProbeResult {
  online: boolean;
  /** The device asked for a password (answered `AUTH`). */
  authRequired?: boolean;
  latencyMs?: number;
}

export interface DashboardLibrary {
  /** Inspect an uploaded file; throws AirflashError (IMAGE_INVALID / IMAGE_TRUNCATED / ...) when it is no firmware. */
  inspect(bytes: Uint8Array): ImageSummary;
  fit(bytes: Uint8Array, summary: ImageSummary, target: DeviceTarget, fileName?: string): FitVerdict;
  /** A rollout of one image to many devices (the shared fleet module, `uploadFleet`). */
  fleet(options: FleetOptions): Promise<FleetSummary>;
  /**
   * Ranked causes of a failed upload, from what the uploader observed, with the same follow-up
   * as the CLI and the fleet (`diagnoseUpload`); null when there is nothing to add.
   */
  diagnose(observation: UploadObservation | undefined, error: AirflashError): Promise<DiagnosisView | null>;
  /**
   * Ask whether a device answers its update protocol (`host` may name it: `loopback-test://…`;
   * a bare host is ArduinoOTA), leaving it idle (no update is started).
   */
  probe(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult>;
}

// ------------------------------------------------------------------ the real thing

function md5(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** What a file is, via the formats module; refuses (AirflashError) what is no application image. */
export function inspectFirmware(bytes: Uint8Array, fileName?: string): ImageSummary {
  const result = preflight({
    image: bytes,
    command: 'firmware',
    ...(fileName === undefined ? {} : { fileName }),
  });
  const info = result.info;
  const details = [info.description];
  const img = info.image;
  if (img !== undefined) {
    details.push(
      `${img.segments.length} segment(s), entry ${hex(img.header.entry)}, flash ${img.header.flashModeName} ${img.header.flashSize} ${img.header.flashFreq}`,
    );
    details.push(
      `checksum ${img.checksum.ok ? 'ok' : 'WRONG'}${img.sha256 === undefined ? '' : `, SHA-256 ${img.sha256.ok ? 'ok' : 'WRONG'}`}`,
    );
  }
  if (info.gzip !== undefined) details.push(`gzip: ${info.gzip.compressedSize} bytes compressed`);
  const desc = info.appDesc;
  return {
    kind: info.kind,
    chip: info.chip ?? null,
    size: bytes.length,
    md5: md5(bytes),
    sha256: sha256(bytes),
    app:
      desc === undefined
        ? null
        : {
            projectName: desc.projectName,
            version: desc.version,
            idfVersion: desc.idfVersion,
            date: desc.date,
            time: desc.time,
            secureVersion: desc.secureVersion,
            elfSha256: desc.elfSha256,
          },
    details,
    warnings: result.warnings.map((w) => w.message),
  };
}

const tableCache = new Map<string, PartitionTable | null>();

function partitionTable(spec: string): PartitionTable | null {
  const cached = tableCache.get(spec);
  if (cached !== undefined) return cached;
  // The dashboard reads only absolute paths (a devices file's), never its own working folder.
  let table: PartitionTable | null;
  try {
    table = (isAbsolute(spec) ? resolvePartitionsSync(spec) : choosePartitions(spec, undefined)).table;
  } catch {
    table = null;
  }
  tableCache.set(spec, table);
  return table;
}

/** Pre-flight of an image against what the dashboard knows of a device. */
export function fitFirmware(
  bytes: Uint8Array,
  summary: ImageSummary,
  target: DeviceTarget,
  fileName?: string,
): FitVerdict {
  const core =
    target.core === 'esp32' || target.core === 'esp32-legacy' || target.core === 'esp8266'
      ? target.core
      : undefined;
  const esp32 =
    core === 'esp32' || core === 'esp32-legacy' || (target.chip !== null && target.chip !== 'esp8266');
  const known = target.partitions === null ? null : partitionTable(target.partitions);
  // Without a known table, check against the Arduino default scheme, as warnings only.
  const table = known ?? (esp32 ? builtinPartitionTable('default') : undefined) ?? undefined;
  let flashSize: number | undefined;
  try {
    flashSize = target.flashSize === null ? undefined : parseFlashSize(target.flashSize);
  } catch {
    flashSize = undefined;
  }
  const pt: PreflightTarget = {
    ...(core === undefined ? {} : { core }),
    ...(target.chip === null ? {} : { chip: target.chip, chipSource: 'the device list' }),
    ...(table === undefined ? {} : { partitions: table }),
    ...(table !== undefined && known === null
      ? { partitionsAssumed: true, partitionsSource: 'the default scheme (assumed)' }
      : {}),
    ...(known !== null && target.partitions !== null
      ? { partitionsSource: `the "${target.partitions}" scheme` }
      : {}),
    ...(flashSize === undefined ? {} : { flashSize }),
  };
  try {
    const result = preflight({
      image: bytes,
      command: 'firmware',
      target: pt,
      ...(fileName === undefined ? {} : { fileName }),
    });
    const slot = result.maxSize ?? null;
    const deviceKnown = core !== undefined || target.chip !== null;
    const extra = result.warnings.filter((w) => !summary.warnings.includes(w.message));
    if (!deviceKnown) {
      return {
        verdict: 'warn',
        code: null,
        message: 'The device type is not known: chip and size not checked.',
        slotSize: slot,
      };
    }
    if (extra.length > 0) {
      return {
        verdict: 'warn',
        code: extra[0]?.code ?? null,
        message: extra.map((w) => w.message).join(' '),
        slotSize: slot,
      };
    }
    const room =
      slot === null
        ? ''
        : ` (${Math.round((bytes.length / slot) * 100)} % of the ${Math.round(slot / 1024)} KiB slot)`;
    return { verdict: 'ok', code: null, message: `Fits${room}.`, slotSize: slot };
  } catch (error) {
    if (error instanceof AirflashError) {
      return { verdict: 'refuse', code: error.code, message: error.message, slotSize: null };
    }
    throw error;
  }
}

/** The library as the dashboard uses it. */
export function defaultLibrary(): DashboardLibrary {
  return {
    inspect: (bytes) => inspectFirmware(bytes),
    fit: fitFirmware,
    fleet: (options) => uploadFleet({ browse: discoverAll, ...options }),
    diagnose: async (observation, error) => {
      const d = await diagnoseUpload(error, {
        ...(observation === undefined ? {} : { observation }),
        browse: discoverAll,
      });
      return d.causes.length === 0 ? null : { summary: d.summary, causes: d.causes };
    },
    probe: async (host, port, timeoutMs, signal) => {
      // Through the protocol the registry picks for the device (ArduinoOTA for a bare host).
      const target = parseTarget(host, port);
      const protocol = pickProtocol(target);
      if (protocol.probe === undefined) return { online: false };
      const r = await protocol.probe({ ...target, port: target.port ?? port }, { timeoutMs, signal });
      return {
        online: r.online,
        ...(r.authRequired === undefined ? {} : { authRequired: r.authRequired }),
        ...(r.latencyMs === undefined ? {} : { latencyMs: r.latencyMs }),
      };
    },
  };
}
