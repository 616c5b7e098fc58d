import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PartitionTable } from '../../formats/index.ts';
import type { SparseFlash } from './flash.ts';

/**
 * `--state DIR`: a device's flash (one file per written 4 KiB sector, SparseFlash.persist) and a
 * `meta.json` with what the flash alone does not tell (docs/emulator.md "--state").
 */
export interface StateMeta {
  /** The firmware kind the flash holds (the emulated core). */
  core: string;
  flashSize: number;
  sketchSize: number;
  eboot: { address: number; size: number } | null;
  table: PartitionTable | null;
}

export async function saveState(dir: string, flash: SparseFlash, meta: StateMeta): Promise<void> {
  await flash.persist(join(dir, 'flash'));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'meta.json'), `${JSON.stringify(meta)}\n`);
}

/** Restore into `flash`; the saved metadata, or undefined when there is no matching state. */
export async function loadState(
  dir: string,
  flash: SparseFlash,
  core: string,
): Promise<Partial<StateMeta> | undefined> {
  let meta: Partial<StateMeta>;
  try {
    meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Partial<StateMeta>;
  } catch {
    return undefined;
  }
  if (meta.core !== core || meta.flashSize !== flash.size) return undefined;
  return (await flash.restore(join(dir, 'flash'))) ? meta : undefined;
}
