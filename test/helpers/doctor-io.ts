import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCli } from '../../src/cli/main.ts';
import { memoryIO } from './cli-io.ts';

/** Run `airflash ...args` with in-memory streams. */
export async function runDoctorCli(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const mem = memoryIO({ cwd, env });
  const code = await runCli(args, mem.io);
  return { code, stdout: mem.stdout(), stderr: mem.stderr() };
}

/** A temporary project directory with the given files (path → text or bytes). */
export async function makeProject(files: Record<string, string | Uint8Array>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-doctor-'));
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, content);
  }
  return dir;
}

export async function removeProject(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
