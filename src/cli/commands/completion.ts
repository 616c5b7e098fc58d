import { AirflashError, EXIT } from '../../core/errors.ts';
import { type CompletionCommand, completionScript, SHELLS, type Shell } from '../completion.ts';
import { type OptionSpec, parseCommandArgs } from '../options.ts';
import { COMMANDS } from '../registry.ts';
import type { Command } from '../types.ts';

const HELP = `Usage: airflash completion bash|zsh|fish

Print a shell completion script for every airflash command and option.

  bash   source <(airflash completion bash)      (or save it in ~/.local/share/bash-completion/completions/airflash)
  zsh    source <(airflash completion zsh)       (or save it as _airflash in a folder of $fpath)
  fish   airflash completion fish | source       (or save it in ~/.config/fish/completions/airflash.fish)
`;

export const COMPLETION_OPTIONS = [
  { long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
] as const satisfies readonly OptionSpec[];

/** Every registered command with its option table (loads each command module). */
export async function completionCommands(): Promise<CompletionCommand[]> {
  return Promise.all(
    Object.entries(COMMANDS).map(async ([name, entry]) => {
      const command = await entry.load();
      return { name, summary: entry.summary, options: command.options ?? [] };
    }),
  );
}

export const command: Command = {
  name: 'completion',
  summary: 'Print a shell completion script: airflash completion bash|zsh|fish',
  help: HELP,
  options: COMPLETION_OPTIONS,
  async run(argv, io) {
    const { positionals } = parseCommandArgs(argv, COMPLETION_OPTIONS, 'completion');
    const [shell, ...rest] = positionals;
    if (shell === undefined || rest.length > 0 || !(SHELLS as readonly string[]).includes(shell))
      throw new AirflashError(
        'BAD_ARGUMENT',
        shell === undefined
          ? 'Name the shell: bash, zsh or fish.'
          : rest.length > 0
            ? `One shell at a time, not ${positionals.length}.`
            : `No completion for "${shell}": bash, zsh or fish.`,
        { hint: 'airflash completion bash' },
      );
    io.stdout.write(completionScript(shell as Shell, await completionCommands()));
    return EXIT.ok;
  },
};
