/** The project files doctor reads: sources under src/, lib/, include/, and libraries under .pio/libdeps. */

import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { throwIfAborted } from '../core/abort.ts';
import { SOURCE_EXTENSIONS, type SourceFile } from './source-scan.ts';

const MAX_SOURCE_FILES = 2000;
const MAX_SOURCE_BYTES = 2 * 1024 * 1024;
const SKIP_DIRS = new Set(['.pio', '.git', 'node_modules', '.vscode', '.idea', 'build', 'test']);

export function toPosix(path: string): string {
  return path.split(sep).join('/');
}

export async function isFile(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

export async function collectSources(
  projectDir: string,
  dirs: string[],
  signal: AbortSignal | undefined,
): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  const seen = new Set<string>();
  const push = async (full: string): Promise<void> => {
    if (seen.has(full) || out.length >= MAX_SOURCE_FILES) return;
    seen.add(full);
    const size = await isFile(full);
    if (size === undefined || size > MAX_SOURCE_BYTES) return;
    out.push({ path: toPosix(relative(projectDir, full)), text: await readFile(full, 'utf8') });
  };
  const walk = async (dir: string, depth: number): Promise<void> => {
    throwIfAborted(signal);
    if (depth > 12) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.') && !SKIP_DIRS.has(entry.name)) await walk(full, depth + 1);
      } else if (SOURCE_EXTENSIONS.some((ext) => entry.name.toLowerCase().endsWith(ext))) {
        await push(full);
      }
    }
  };
  // Arduino-style sketches next to platformio.ini.
  try {
    for (const name of (await readdir(projectDir)).sort()) {
      if (/\.(ino|pde)$/i.test(name)) await push(join(projectDir, name));
    }
  } catch {
    // unreadable project dir was reported earlier
  }
  for (const dir of dirs) await walk(resolve(projectDir, dir), 0);
  return out;
}

/** Where a library under .pio/libdeps calls ArduinoOTA.begin()/handle() (examples and tests skipped). */
export async function libraryOtaCalls(
  projectDir: string,
  libdepsDirs: string[],
  signal: AbortSignal | undefined,
): Promise<{ begin?: string; handle?: string }> {
  const found: { begin?: string; handle?: string } = {};
  let budget = 5000;
  const skip = new Set(['examples', 'example', 'test', 'tests', 'extras', 'docs']);
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 8 || budget <= 0 || (found.begin && found.handle)) return;
    throwIfAborted(signal);
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.') && !skip.has(entry.name.toLowerCase())) await walk(full, depth + 1);
      } else if (/\.(c|cc|cpp|h|hpp)$/i.test(entry.name) && budget > 0) {
        budget -= 1;
        const size = await isFile(full);
        if (size === undefined || size > MAX_SOURCE_BYTES) continue;
        const text = await readFile(full, 'utf8');
        if (!text.includes('ArduinoOTA')) continue;
        const path = toPosix(relative(projectDir, full));
        if (!found.begin && /\bArduinoOTA\s*\.\s*begin\s*\(/.test(text)) found.begin = path;
        if (!found.handle && /\bArduinoOTA\s*\.\s*handle\s*\(/.test(text)) found.handle = path;
      }
    }
  };
  for (const dir of libdepsDirs) await walk(dir, 0);
  return found;
}
