/**
 * resolvePartitions: read the file a partition spec may name, then apply the one precedence of
 * devices/partition-spec.ts (a file at that path, then a built-in scheme name). Reads with
 * node:fs; a missing file or a folder (ENOENT, ENOTDIR, EISDIR) means "not a file", any other
 * read error is FILE_NOT_FOUND naming the path.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AirflashError } from '../core/errors.ts';
import type { LoadPartitionOptions, PartitionTable } from '../formats/index.ts';
import { choosePartitions, type ResolvedPartitions } from './partition-spec.ts';

export interface ResolvePartitionsOptions extends LoadPartitionOptions {
  /** Folder a relative path is read from (default: the process's working folder). */
  cwd?: string;
}

/** undefined when there is no file at `path` (missing, or a folder); else FILE_NOT_FOUND. */
function absent(path: string, error: unknown): undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
  throw new AirflashError('FILE_NOT_FOUND', `Cannot read ${path}: ${(error as Error).message}`, {
    cause: error,
  });
}

const pathOf = (spec: string, options: ResolvePartitionsOptions): string =>
  options.cwd === undefined ? spec : resolve(options.cwd, spec);

/** The table a spec names (file first, then built-in scheme; see devices/partition-spec.ts). */
export async function resolvePartitions(
  spec: string | PartitionTable,
  options: ResolvePartitionsOptions = {},
): Promise<ResolvedPartitions> {
  if (typeof spec !== 'string') return choosePartitions(spec, undefined);
  const path = pathOf(spec, options);
  const bytes = await readFile(path).then(
    (b) => new Uint8Array(b),
    (error: unknown) => absent(path, error),
  );
  return choosePartitions(spec, bytes, options);
}

/** resolvePartitions for synchronous callers (the dashboard's fit check). */
export function resolvePartitionsSync(
  spec: string | PartitionTable,
  options: ResolvePartitionsOptions = {},
): ResolvedPartitions {
  if (typeof spec !== 'string') return choosePartitions(spec, undefined);
  const path = pathOf(spec, options);
  let bytes: Uint8Array | undefined;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (error) {
    bytes = absent(path, error);
  }
  return choosePartitions(spec, bytes, options);
}
