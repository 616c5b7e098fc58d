import { AirflashError, EXIT, exitCodeFor } from '../core/errors.ts';
import { didYouMean } from '../core/suggest.ts';
import { VERSION } from '../core/version.ts';
import { parseOptions } from './options.ts';
import { COMMANDS } from './registry.ts';
import { renderError } from './render-error.ts';
import type { CliIO } from './types.ts';

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    `airflash ${VERSION} — over-the-air updates for ESP32 and ESP8266 (ArduinoOTA)`,
    '',
    'Usage: airflash <command> [options]',
    '       airflash -i <device> -f <firmware.bin> [espota.py options]   (same as "airflash upload")',
    '',
    'Commands:',
    ...lines,
    '',
    'Run "airflash <command> --help" (or "airflash help <command>") for the options of a command.',
    'Exit codes: 0 ok, 1 failed, 2 usage or input to fix (nothing was tried), 3 refused (the image or',
    'table cannot work there; nothing sent), 4 some devices of a fleet failed, 130 interrupted.',
    '',
  ].join('\n');
}

function unknownCommand(name: string): AirflashError {
  return new AirflashError(
    'BAD_ARGUMENT',
    `Unknown command "${name}".${didYouMean(name, Object.keys(COMMANDS))}`,
    { hint: 'Run "airflash --help" for the list of commands.' },
  );
}

/** Run the CLI with the given arguments; returns the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    io.stderr.write(renderError(error));
    return exitCodeFor(error);
  }
}

async function dispatch(argv: string[], io: CliIO): Promise<number> {
  const [first, ...rest] = argv;
  if (first === 'help' && rest.length > 0) {
    // `airflash help upload` = `airflash upload --help`.
    const [topic, ...extra] = rest;
    const entry = COMMANDS[topic as string];
    if (entry === undefined) throw unknownCommand(topic as string);
    if (extra.length > 0)
      throw new AirflashError('BAD_ARGUMENT', `"airflash help" takes one command, not ${rest.length}.`, {
        hint: `airflash help ${topic}`,
      });
    io.stdout.write(`${(await entry.load()).help.trimEnd()}\n`);
    return EXIT.ok;
  }
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    io.stdout.write(mainHelp());
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '-V' || first === '--version' || first === 'version') {
    io.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  // espota.py drop-in: `airflash -i 1.2.3.4 -f fw.bin` means `airflash upload ...`.
  const entry = COMMANDS[first];
  const name = entry ? first : first.startsWith('-') ? 'upload' : undefined;
  const args = entry ? rest : argv;
  if (name === undefined) throw unknownCommand(first);
  const registered = COMMANDS[name] as (typeof COMMANDS)[string];
  const command = await registered.load();
  if (args.includes('--help') || (args.includes('-h') && name !== 'upload')) {
    io.stdout.write(`${command.help.trimEnd()}\n`);
    return EXIT.ok;
  }
  // Commands that read their arguments themselves are checked against their table first.
  if (registered.check !== undefined) parseOptions(args, registered.check, { command: name });
  return await command.run(args, io);
}

/** Entry point used by bin/airflash.js. */
export async function main(): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    controller.abort(
      new AirflashError('INTERRUPTED', `Interrupted (${sig}).`, {
        hint: 'The device did not confirm an update, so it keeps the firmware it had.',
      }),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `airflash upload --json | head -1`: the reader went away. Stop writing; do not crash.
  const onPipeError = (error: NodeJS.ErrnoException): void => {
    if (error.code !== 'EPIPE') throw error;
  };
  process.stdout.on('error', onPipeError);
  process.stderr.on('error', onPipeError);
  const io: CliIO = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    isTTY: process.stderr.isTTY === true,
    cwd: process.cwd(),
    signal: controller.signal,
  };
  const code = await runCli(process.argv.slice(2), io);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.exitCode = code;
}
