import { AirflashError, EXIT, exitCodeFor } from '../errors.ts';
import { VERSION } from '../version.ts';
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
    'Run "airflash <command> --help" for the options of a command.',
    'Exit codes: 0 ok, 1 failed, 2 usage error, 3 refused by pre-flight, 4 some devices failed, 130 interrupted.',
    '',
  ].join('\n');
}

/** Run the CLI with the given arguments; returns the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [first, ...rest] = argv;
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
  if (name === undefined) {
    io.stderr.write(`airflash: unknown command "${first}". Run "airflash --help" for the list.\n`);
    return EXIT.usage;
  }
  try {
    const command = await (COMMANDS[name] as (typeof COMMANDS)[string]).load();
    if (args.includes('--help') || (args.includes('-h') && name !== 'upload')) {
      io.stdout.write(`${command.help.trimEnd()}\n`);
      return EXIT.ok;
    }
    return await command.run(args, io);
  } catch (error) {
    io.stderr.write(renderError(error));
    return exitCodeFor(error);
  }
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
