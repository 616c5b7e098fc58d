import { Writable } from 'node:stream';
import { runCli } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/types.ts';

export interface MemoryIO {
  io: CliIO;
  /** Everything written to stdout, as UTF-8 text. */
  stdout: () => string;
  /** Everything written to stdout, as bytes (for binary output). */
  stdoutBytes: () => Uint8Array;
  stderr: () => string;
}

/** A CliIO whose streams write into memory. Options override env, cwd, isTTY and signal. */
export function memoryIO(options: Partial<Omit<CliIO, 'stdout' | 'stderr'>> = {}): MemoryIO {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (chunks: Buffer[]): Writable =>
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
        callback();
      },
    });
  const io: CliIO = {
    stdout: sink(out),
    stderr: sink(err),
    env: options.env ?? {},
    isTTY: options.isTTY ?? false,
    cwd: options.cwd ?? process.cwd(),
    signal: options.signal ?? new AbortController().signal,
  };
  return {
    io,
    stdout: () => Buffer.concat(out).toString('utf8'),
    stdoutBytes: () => new Uint8Array(Buffer.concat(out)),
    stderr: () => Buffer.concat(err).toString('utf8'),
  };
}

/** Run `airflash ...args` in memory and collect the exit code and output. */
export async function runCliInMemory(
  args: string[],
  options: Partial<Omit<CliIO, 'stdout' | 'stderr'>> = {},
): Promise<{ code: number; stdout: string; stderr: string; stdoutBytes: Uint8Array }> {
  const m = memoryIO(options);
  const code = await runCli(args, m.io);
  return { code, stdout: m.stdout(), stderr: m.stderr(), stdoutBytes: m.stdoutBytes() };
}
