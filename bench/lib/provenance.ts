/**
 * What a benchmark run ran: the commit (and whether the tree had changes), Node and the espota.py
 * scripts (a version label from the environment and the SHA-256 of the file), and the guard that
 * renders docs/benchmarks.md only from a run of the current commit.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface EspotaInfo {
  /** File name of the script (the path is local). */
  file: string;
  /** ESPOTA_ESP32_VERSION / ESPOTA_ESP8266_VERSION, or "unknown". */
  version: string;
  sha256: string;
}

export interface Provenance {
  /** `git rev-parse HEAD` at the start of the run, or null outside a git checkout. */
  commit: string | null;
  /** The working tree had uncommitted changes (to tracked files) when the run started. */
  dirty: boolean;
  node: string;
  espota: { esp32: EspotaInfo | null; esp8266: EspotaInfo | null };
}

function git(root: string, args: string[]): string | null {
  try {
    return execFileSync('git', ['-C', root, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return null;
  }
}

export function currentCommit(root: string): { commit: string | null; dirty: boolean } {
  const commit = git(root, ['rev-parse', 'HEAD'])?.trim() || null;
  const status = git(root, ['status', '--porcelain', '--untracked-files=no']);
  return { commit, dirty: status === null ? true : status.trim() !== '' };
}

export function espotaInfo(path: string | null, version: string | undefined): EspotaInfo | null {
  if (path === null) return null;
  let sha256 = 'unreadable';
  try {
    sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    // recorded as unreadable; the run will fail on it anyway
  }
  return { file: basename(path), version: version?.trim() || 'unknown', sha256 };
}

/**
 * Why docs must not be rendered from `results` now (undefined when they may): the results come
 * from another commit, from a tree with uncommitted changes, from a partial run, or record no
 * commit at all (a file from before provenance was recorded).
 */
export function renderRefusal(
  results: { provenance?: Provenance; config?: { partial?: boolean } },
  head: { commit: string | null; dirty: boolean },
): string | undefined {
  const p = results.provenance;
  if (p === undefined || p.commit === null)
    return 'the results record no commit; run the bench on this commit (npm run bench)';
  if (results.config?.partial === true)
    return 'the results are of a partial run (BENCH_ONLY, BENCH_PROFILES or --quick)';
  if (p.dirty)
    return `the run of ${p.commit.slice(0, 12)} had uncommitted changes; commit, then run the bench`;
  if (head.commit !== p.commit)
    return `the results are of commit ${p.commit.slice(0, 12)}, this checkout is ${head.commit?.slice(0, 12) ?? 'not a git checkout'}; run the bench on this commit`;
  return undefined;
}
