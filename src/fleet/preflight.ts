/**
 * The shared image of a fleet upload: read once (every device gets the same bytes even if the
 * file is rebuilt during the rollout), checked once, then matched against each kind of device.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { throwIfAborted } from '../core/abort.ts';
import { AirflashError } from '../core/errors.ts';
import { defaultPort as familyDefaultPort, sendsSignedImage } from '../devices/family.ts';
import { resolvePartitions } from '../devices/partitions.ts';
import {
  type PartitionTable,
  type PreflightResult,
  type PreflightTarget,
  preflight,
} from '../formats/index.ts';
import type { FleetTarget } from './types.ts';

export interface FleetImage {
  /** The bytes to send (as read). */
  data: Uint8Array;
  /** `FILE.signed`, when it exists (ESP8266 espota sends it instead). */
  signed?: Uint8Array;
  path?: string;
  size: number;
  md5: string;
}

function md5(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

/** Read the image (and FILE.signed) once. */
export async function loadFleetImage(image: string | Uint8Array, signal?: AbortSignal): Promise<FleetImage> {
  throwIfAborted(signal);
  if (typeof image !== 'string') return { data: image, size: image.length, md5: md5(image) };
  let data: Uint8Array;
  try {
    data = new Uint8Array(await readFile(image, signal ? { signal } : {}));
  } catch (error) {
    throwIfAborted(signal);
    throw new AirflashError(
      'FILE_NOT_FOUND',
      `Cannot read the image file "${image}": ${(error as Error).message}`,
      {
        hint: 'Check the path; build the project first (PlatformIO: pio run; Arduino: Sketch > Export compiled binary).',
        cause: error,
      },
    );
  }
  let signed: Uint8Array | undefined;
  try {
    signed = new Uint8Array(await readFile(`${image}.signed`));
  } catch {
    signed = undefined;
  }
  return { data, ...(signed ? { signed } : {}), path: image, size: data.length, md5: md5(data) };
}

/** Whether the uploader would send FILE.signed to this device (as ESP8266 espota does). */
export function usesSigned(target: FleetTarget, signedOption: boolean | 'auto' | undefined): boolean {
  return sendsSignedImage(signedOption, target);
}

/** The device's default port: 8266 for ESP8266 devices, else 3232. */
export function defaultPort(target: FleetTarget): number {
  return familyDefaultPort(target);
}

export interface FleetPreflight {
  /** The image alone (no device): what it is; refusals here stop the whole rollout. */
  common: PreflightResult | undefined;
  /** The verdict for one device: warnings beyond the common ones, or the refusal. */
  forTarget(
    target: FleetTarget,
  ): Promise<{ warnings: Array<{ code: string; message: string }> } | { error: AirflashError }>;
}

async function partitionTable(
  spec: string | PartitionTable,
): Promise<{ table: PartitionTable; source: string; flashSize?: number }> {
  const r = await resolvePartitions(spec);
  return {
    table: r.table,
    source:
      r.from === 'builtin' ? `the "${r.label}" scheme` : r.from === 'file' ? basename(r.label) : r.label,
    ...(r.schemeFlash === undefined ? {} : { flashSize: r.schemeFlash }),
  };
}

/**
 * Check the image once, without a device: a file that is no firmware (or no filesystem image),
 * corrupt or empty is refused for everyone (throws PREFLIGHT_*). Then `forTarget` checks chip,
 * core and partition size per device, computed once per distinct (core, chip, partitions).
 * With `force`, nothing is checked.
 */
export function fleetPreflight(image: FleetImage, filesystem: boolean, force: boolean): FleetPreflight {
  if (force) return { common: undefined, forTarget: async () => ({ warnings: [] }) };
  const command = filesystem ? 'filesystem' : 'firmware';
  const fileName = image.path === undefined ? undefined : basename(image.path);
  const input = { image: image.data, command, ...(fileName === undefined ? {} : { fileName }) } as const;
  const common = preflight(input);
  const seen = new Set(common.warnings.map((w) => `${w.code}\n${w.message}`));
  const cache = new Map<
    string,
    Promise<{ warnings: Array<{ code: string; message: string }> } | { error: AirflashError }>
  >();
  const check = async (
    target: FleetTarget,
  ): Promise<{ warnings: Array<{ code: string; message: string }> } | { error: AirflashError }> => {
    try {
      const t: PreflightTarget = {};
      if (target.core !== undefined) t.core = target.core;
      if (target.chip !== undefined) {
        t.chip = target.chip;
        t.chipSource = 'the device list';
      }
      if (target.partitions !== undefined) {
        const p = await partitionTable(target.partitions);
        t.partitions = p.table;
        t.partitionsSource = p.source;
        if (p.flashSize !== undefined) t.flashSize = p.flashSize;
      }
      const r = preflight({ ...input, target: t });
      return { warnings: r.warnings.filter((w) => !seen.has(`${w.code}\n${w.message}`)) };
    } catch (error) {
      if (error instanceof AirflashError) return { error };
      throw error;
    }
  };
  return {
    common,
    forTarget(target) {
      const key = JSON.stringify([
        target.core ?? null,
        target.chip ?? null,
        typeof target.partitions === 'string'
          ? target.partitions
          : target.partitions === undefined
            ? null
            : target.name,
      ]);
      let verdict = cache.get(key);
      if (verdict === undefined) {
        verdict = check(target);
        cache.set(key, verdict);
      }
      return verdict;
    },
  };
}
