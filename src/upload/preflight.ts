import { resolvePartitions } from '../devices/partitions.ts';
import type { PartitionTable } from '../formats/partitions/types.ts';
import {
  type PreflightCore,
  type PreflightResult,
  type PreflightTarget,
  preflight,
} from '../formats/preflight.ts';
import type { PreflightOutcome, PreparedImageInfo } from '../protocols/arduino-ota/model/options.ts';
import { closableBytes } from './image-file.ts';

export interface PreflightChoice {
  /** Expected chip (`--chip`). */
  chip?: string;
  /** Where the chip came from, for messages. */
  chipSource?: string;
  /** Built-in scheme name or a CSV / binary partition table file (`--partitions`). */
  partitions?: string;
  core?: PreflightCore;
  flashSize?: number;
}

/** Load `--partitions NAME|FILE`: the one precedence of devices/partition-spec.ts (a file, then a built-in scheme). */
export async function loadPartitions(nameOrFile: string): Promise<PartitionTable> {
  return (await resolvePartitions(nameOrFile)).table;
}

/**
 * The pre-flight hook for `upload()`: the formats module's checks (is it an app image, for the
 * right chip, intact, does it fit the OTA slot) on the image as built (before gzip).
 */
export function createPreflight(
  choice: PreflightChoice = {},
): (info: PreparedImageInfo) => Promise<PreflightOutcome> {
  return async (info) => {
    const target: PreflightTarget = {
      ...(choice.core === undefined ? {} : { core: choice.core }),
      ...(choice.chip === undefined ? {} : { chip: choice.chip, chipSource: choice.chipSource ?? '--chip' }),
      ...(choice.flashSize === undefined ? {} : { flashSize: choice.flashSize }),
    };
    if (choice.partitions !== undefined) {
      target.partitions = await loadPartitions(choice.partitions);
      target.partitionsSource = choice.partitions;
    }
    const image = info.open === undefined ? closableBytes(await info.read()) : await info.open();
    let result: PreflightResult;
    try {
      result = preflight({
        image,
        command: info.command === 100 ? 'filesystem' : 'firmware',
        target,
        ...(info.path === undefined ? {} : { fileName: info.path }),
      });
    } finally {
      await image.close();
    }
    return {
      warnings: result.warnings,
      info: {
        description: result.info.description,
        ...(result.info.chip === undefined ? {} : { chip: result.info.chip }),
        ...(result.maxSize === undefined ? {} : { maxSize: result.maxSize }),
        ...(result.targetPartition === undefined
          ? {}
          : {
              targetPartition: {
                name: result.targetPartition.name,
                offset: result.targetPartition.offset,
                size: result.targetPartition.size,
              },
            }),
      },
    };
  };
}
