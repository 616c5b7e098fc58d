/**
 * A PlatformIO project on disk, read the way doctor reads it: platformio.ini (bounded, parsed
 * with interpolation), and what one env's upload would use — upload_port, upload_flags,
 * board_build.partitions and the build output. Shared by `doctor()` and `airflash upload --env`.
 */

import { open, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { AirflashError } from '../core/errors.ts';
import { MAX_INI_CHARS } from './ini-parse.ts';
import { type PlatformioConfig, parsePlatformioIni } from './platformio-ini.ts';

export interface PioProject {
  /** Absolute project directory. */
  projectDir: string;
  /** Absolute path of platformio.ini. */
  configPath: string;
  config: PlatformioConfig;
}

/** The first `bytes` bytes of a file, one character per byte. */
export async function readHead(path: string, bytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return new TextDecoder('latin1').decode(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/**
 * Read and parse `projectDir/platformio.ini`. Throws FILE_NOT_FOUND (no such folder or file) or
 * CONFIG_INVALID (oversized or malformed). `command` names the caller in the hint.
 */
export async function readPioProject(
  projectDir: string,
  options: { sysenv?: Readonly<Record<string, string | undefined>>; command?: string } = {},
): Promise<PioProject> {
  const dir = resolve(projectDir);
  const configPath = join(dir, 'platformio.ini');
  let text: string;
  try {
    const size = (await stat(configPath)).size;
    // An oversized file is read only far enough for the parser to refuse it (CONFIG_INVALID).
    text =
      size > MAX_INI_CHARS
        ? await readHead(configPath, MAX_INI_CHARS + 1)
        : await readFile(configPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const dirExists = (await stat(dir).catch(() => undefined))?.isDirectory() === true;
    const command = options.command ?? 'airflash doctor';
    throw new AirflashError(
      'FILE_NOT_FOUND',
      dirExists
        ? `There is no platformio.ini in ${dir}${code && code !== 'ENOENT' ? ` (${code})` : ''}.`
        : `The project directory ${dir} does not exist.`,
      {
        hint: `Run ${command} in a PlatformIO project (the folder holding platformio.ini), or pass its path: ${command} path/to/project`,
        cause: error,
      },
    );
  }
  const config = parsePlatformioIni(text, { file: 'platformio.ini', sysenv: options.sysenv ?? process.env });
  return { projectDir: dir, configPath, config };
}

/** BAD_ARGUMENT unless the project has [env:NAME]. */
export function requireEnv(project: PioProject, name: string): void {
  const all = project.config.envs();
  if (all.includes(name)) return;
  throw new AirflashError('BAD_ARGUMENT', `There is no [env:${name}] in ${project.configPath}.`, {
    hint:
      all.length > 0
        ? `Known environments: ${all.join(', ')}.`
        : 'platformio.ini defines no [env:NAME] section.',
  });
}

/** The build folder (`[platformio] build_dir`, default .pio/build), relative to the project. */
export function buildDirOf(config: PlatformioConfig): string {
  return config.get('platformio', 'build_dir') ?? '.pio/build';
}

export interface PioEnvUpload {
  env: string;
  /** upload_port, trimmed (undefined when not set). */
  uploadPort?: string;
  /** upload_flags as PlatformIO passes them: one entry = one argv element. */
  flags: string[];
  /** board_build.partitions: an absolute path when the project holds that file, else the name. */
  partitions?: string;
  /** Absolute path of the env's firmware.bin (it may not exist). */
  firmware: string;
}

/** What `pio run -e NAME -t upload` would hand espota for env NAME. Throws BAD_ARGUMENT. */
export async function pioEnvUpload(project: PioProject, name: string): Promise<PioEnvUpload> {
  requireEnv(project, name);
  const { config, projectDir } = project;
  const section = `env:${name}`;
  const out: PioEnvUpload = {
    env: name,
    flags: config.getList(section, 'upload_flags'),
    firmware: resolve(projectDir, buildDirOf(config), name, 'firmware.bin'),
  };
  const port = config.get(section, 'upload_port')?.trim();
  if (port) out.uploadPort = port.replace(/^"|"$/g, '');
  const partitions = config.get(section, 'board_build.partitions')?.trim();
  if (partitions) {
    const local = isAbsolute(partitions) ? partitions : resolve(projectDir, partitions);
    const isLocal = (await stat(local).catch(() => undefined))?.isFile() === true;
    out.partitions = isLocal ? local : partitions;
  }
  return out;
}
