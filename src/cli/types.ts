import type { Writable } from 'node:stream';
import type { OptionSpec } from './options.ts';

/** What a command gets to talk to the world. Tests pass their own streams. */
export interface CliIO {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is an interactive terminal (progress bars). */
  isTTY: boolean;
  cwd: string;
  /** Aborted on Ctrl-C (SIGINT) / SIGTERM. */
  signal: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  /** Full help text for `airflash <command> --help`. */
  help: string;
  /** The command's option table: parsing, unknown-option messages and shell completion. */
  options?: readonly OptionSpec<string>[];
  /** Returns the process exit code (see EXIT in errors.ts). */
  run(argv: string[], io: CliIO): Promise<number>;
}
