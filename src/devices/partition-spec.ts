/**
 * The one partition-table precedence (issue 15: one resolvePartitions with one precedence). A
 * spec (`--partitions`, `board_build.partitions`, a devices-file `partitions`, the emulator's
 * `partitions` option) names a table by, in this order:
 *
 * 1. a table object: used as it is;
 * 2. a file at that path (relative to the caller's working folder): binary when it starts AA 50,
 *    else UTF-8 CSV, decided as gen_esp32part decides; an unreadable table is an error, not a
 *    fallback;
 * 3. a built-in scheme name ("default", "min_spiffs", "huge_app.csv", …; case-insensitive);
 * 4. else FILE_NOT_FOUND ("neither a file nor a built-in partition scheme"), exit 2.
 *
 * A file first is PlatformIO's rule (the project's partitions file shadows the framework scheme
 * of that name), so `airflash partitions X`, doctor, upload, fleet, emulator and dashboard all
 * read the same table for X. Pure: the caller reads the file (devices/partitions.ts does, with
 * node:fs) and passes its bytes here.
 */
import { AirflashError } from '../core/errors.ts';
// The modules themselves, not the formats barrel (which also loads the image builders).
import {
  BUILTIN_SCHEMES,
  builtinPartitionTable,
  builtinSchemeFlashSize,
  builtinSchemeOrigin,
} from '../formats/partitions/builtin.ts';
import { type LoadPartitionOptions, loadPartitionTable } from '../formats/partitions/load.ts';
import type { PartitionTable } from '../formats/partitions/types.ts';

export interface ResolvedPartitions {
  table: PartitionTable;
  /** Where the table came from. */
  from: 'table' | 'file' | 'builtin';
  /** The spec as given ("the partition table" for a table object). */
  label: string;
  /** A built-in scheme: the flash size (bytes) it is made for. */
  schemeFlash?: number;
  /** A built-in scheme: where its text comes from (repository, path, commit). */
  origin?: string;
}

/**
 * The table `spec` names, given the bytes (or text) of the file at that path, or undefined when
 * there is no such file. The precedence of this module's doc comment, in one place.
 */
export function choosePartitions(
  spec: string | PartitionTable,
  file: Uint8Array | string | undefined,
  options: LoadPartitionOptions = {},
): ResolvedPartitions {
  if (typeof spec !== 'string') return { table: spec, from: 'table', label: 'the partition table' };
  if (file !== undefined) return { table: loadPartitionTable(file, options), from: 'file', label: spec };
  const table = builtinPartitionTable(spec);
  if (table !== undefined) {
    const schemeFlash = builtinSchemeFlashSize(spec);
    const origin = builtinSchemeOrigin(spec);
    return {
      table,
      from: 'builtin',
      label: spec,
      ...(schemeFlash === undefined ? {} : { schemeFlash }),
      ...(origin === undefined ? {} : { origin }),
    };
  }
  throw new AirflashError('FILE_NOT_FOUND', `"${spec}" is neither a file nor a built-in partition scheme.`, {
    hint: `Built-in schemes: ${BUILTIN_SCHEMES.join(', ')}; or the path of partitions.csv / partitions.bin.`,
  });
}
