import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { runCli } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/types.ts';

/** A CliIO writing into strings. */
export function doctorIO(
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): CliIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer | string, _enc, cb) {
        append(chunk.toString());
        cb();
      },
    });
  return {
    stdout: sink((s) => {
      out += s;
    }),
    stderr: sink((s) => {
      err += s;
    }),
    env,
    isTTY: false,
    cwd,
    signal: new AbortController().signal,
    out: () => out,
    err: () => err,
  };
}

/** Run `airflash ...args` in memory. */
export async function runDoctorCli(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = doctorIO(cwd, env);
  const code = await runCli(args, io);
  return { code, stdout: io.out(), stderr: io.err() };
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
