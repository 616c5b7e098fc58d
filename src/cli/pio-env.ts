/**
 * `airflash upload --env NAME [PROJECT_DIR] [options]`: the upload `pio run -e NAME -t upload`
 * would make, read from platformio.ini the way doctor reads it (src/doctor/pio-project.ts):
 * upload_flags (one argv element per item, so a one-line item is split and warned about as for
 * any espota argv), `-i` upload_port, `-f` .pio/build/NAME/firmware.bin and `--partitions`
 * board_build.partitions. Options given after it win (the last value counts, as in espota).
 */

import { stat } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { AirflashError } from '../core/errors.ts';

/** True when the upload argv asks for a PlatformIO env. */
export function wantsPioEnv(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--env' || a.startsWith('--env='));
}

/** Replace `--env NAME [PROJECT_DIR]` in an upload argv with the env's espota arguments. */
export async function expandPioEnv(
  argv: readonly string[],
  context: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<string[]> {
  const at = argv.findIndex((a) => a === '--env' || a.startsWith('--env='));
  if (at === -1) return [...argv];
  const inline = (argv[at] as string).startsWith('--env=');
  const name = inline ? (argv[at] as string).slice('--env='.length) : argv[at + 1];
  if (name === undefined || name === '' || name.startsWith('-'))
    throw new AirflashError('BAD_ARGUMENT', '--env needs the name of a PlatformIO environment.', {
      hint: 'Usage: airflash upload --env NAME [PROJECT_DIR] [options]',
    });
  let end = inline ? at + 1 : at + 2;
  const dirArg = argv[end];
  const hasDir = dirArg !== undefined && !dirArg.startsWith('-');
  if (hasDir) end += 1;
  const rest = [...argv.slice(0, at), ...argv.slice(end)];
  if (wantsPioEnv(rest))
    throw new AirflashError('BAD_ARGUMENT', '--env is given twice.', {
      hint: 'Upload one environment at a time.',
    });

  // Loaded here: an upload without --env does not load the platformio.ini reader.
  const { pioEnvUpload, readPioProject } = await import('../doctor/pio-project.ts');
  const project = await readPioProject(resolve(context.cwd, hasDir ? dirArg : '.'), {
    sysenv: context.env,
    command: 'airflash upload --env NAME',
  });
  const upload = await pioEnvUpload(project, name);
  const given = (...names: string[]): boolean =>
    rest.some((a) =>
      names.some((n) => a === n || a.startsWith(`${n}=`) || (n.length === 2 && a.startsWith(n))),
    );
  const shown = relative(context.cwd, upload.firmware) || upload.firmware;
  if (!given('-f', '--file') && (await stat(upload.firmware).catch(() => undefined))?.isFile() !== true)
    throw new AirflashError('FILE_NOT_FOUND', `[env:${name}] has no build output: ${shown} does not exist.`, {
      hint: `Build it first: pio run -e ${name}`,
    });
  if (upload.uploadPort === undefined && !given('-i', '--ip'))
    throw new AirflashError('BAD_ARGUMENT', `[env:${name}] in ${project.configPath} has no upload_port.`, {
      hint: `Add "upload_port = <device IP or name.local>" to [env:${name}], or pass -i DEVICE.`,
    });
  return [
    ...upload.flags,
    ...(upload.uploadPort === undefined ? [] : ['-i', upload.uploadPort]),
    '-f',
    upload.firmware,
    ...(upload.partitions === undefined || given('--partitions') ? [] : ['--partitions', upload.partitions]),
    ...rest,
  ];
}
