import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { abortError } from '../core/abort.ts';
import { AirflashError } from '../core/errors.ts';
import { didYouMean } from '../core/suggest.ts';
import type { DeviceRecord } from './types.ts';

/** The file looked for in the working directory when no path is given. */
export const DEVICES_FILE_NAME = 'airflash.devices.json';

const KNOWN_KEYS = new Set(['name', 'address', 'port', 'core', 'chip', 'partitions', 'passwordEnv']);
const CORES = ['esp32', 'esp32-legacy', 'esp8266'] as const;
const CHIPS = [
  'esp32',
  'esp32s2',
  'esp32s3',
  'esp32c2',
  'esp32c3',
  'esp32c5',
  'esp32c6',
  'esp32c61',
  'esp32h2',
  'esp32p4',
  'esp8266',
] as const;
const HOSTNAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * `passwordEnv` must start with this prefix: a devices file (often shared, or checked in) must not
 * be able to send the value of GITHUB_TOKEN or AWS_SECRET_ACCESS_KEY to a device as a password.
 */
export const PASSWORD_ENV_PREFIX = 'AIRFLASH_';

export interface ParsedDevicesFile {
  devices: DeviceRecord[];
  /** Things that were ignored (unknown keys), each naming the entry. */
  warnings: string[];
}

function fail(
  source: string,
  message: string,
  hint: string,
  data: Record<string, unknown> = {},
): AirflashError {
  return new AirflashError('DEVICES_FILE', `${source}: ${message}`, {
    hint,
    data: { file: source, ...data },
  });
}

/**
 * Validate the text of a devices file: a JSON array of
 * `{ name, address, port?, core?, chip?, partitions?, passwordEnv? }`. Errors name the entry
 * index and field; unknown keys are warnings; a `password` key is an error (passwords live in
 * environment variables named by `passwordEnv`, never in the file). `partitions` values that
 * look like a path are made absolute against `baseDir`.
 */
export function parseDevicesFile(
  text: string,
  source = DEVICES_FILE_NAME,
  baseDir?: string,
): ParsedDevicesFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw fail(
      source,
      `not valid JSON (${(error as Error).message}).`,
      'Fix the JSON syntax; the file is an array of device objects.',
    );
  }
  if (!Array.isArray(data)) {
    throw fail(
      source,
      'the file must be a JSON array of devices.',
      'Write it as [ { "name": "kitchen", "address": "192.168.1.40" }, ... ].',
    );
  }
  const devices: DeviceRecord[] = [];
  const warnings: string[] = [];
  const names = new Map<string, number>();
  data.forEach((entry: unknown, index: number) => {
    // Messages count entries from 1 (as emulator fleet files do); `data.index` is the array index.
    const where = (field?: string): string =>
      field === undefined ? `entry ${index + 1}` : `entry ${index + 1}, "${field}"`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw fail(source, `${where()} is not an object.`, 'Each entry is { "name": ..., "address": ... }.', {
        index,
      });
    }
    const obj = entry as Record<string, unknown>;
    if ('password' in obj) {
      throw fail(
        source,
        `${where('password')}: never store a password in the file; use passwordEnv.`,
        'Remove "password", put the password in an environment variable and name it: "passwordEnv": "AIRFLASH_KITCHEN_PASSWORD".',
        { index, field: 'password' },
      );
    }
    const str = (field: string, required: boolean): string | undefined => {
      const value = obj[field];
      if (value === undefined) {
        if (required) {
          throw fail(source, `${where(field)} is missing.`, `Every device needs a "${field}".`, {
            index,
            field,
          });
        }
        return undefined;
      }
      if (typeof value !== 'string' || value.trim() === '') {
        throw fail(source, `${where(field)} must be a non-empty string.`, `Give "${field}" as a string.`, {
          index,
          field,
        });
      }
      return value.trim();
    };
    const name = str('name', true) as string;
    const label = `entry ${index + 1} ("${name}")`;
    const previous = names.get(name.toLowerCase());
    if (previous !== undefined) {
      throw fail(
        source,
        `${where('name')}: "${name}" is already used by entry ${previous + 1}.`,
        'Give each device its own name.',
        {
          index,
          field: 'name',
        },
      );
    }
    names.set(name.toLowerCase(), index);
    const address = str('address', true) as string;
    if (isIP(address) === 0 && !HOSTNAME.test(address)) {
      throw fail(
        source,
        `${where('address')}: "${address}" is neither an IP address nor a host name.`,
        'Use an IP address such as 192.168.1.40 or a name such as kitchen.local (the port goes in "port").',
        { index, field: 'address' },
      );
    }
    const record: DeviceRecord = { name, address };
    const { port } = obj;
    if (port !== undefined) {
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw fail(
          source,
          `${where('port')} must be an integer from 1 to 65535.`,
          'ESP32 uses 3232, ESP8266 8266.',
          {
            index,
            field: 'port',
          },
        );
      }
      record.port = port;
    }
    const core = str('core', false);
    if (core !== undefined) {
      const found = CORES.find((c) => c === core.toLowerCase());
      if (found === undefined) {
        throw fail(
          source,
          `${where('core')}: "${core}" is not a core airflash knows.`,
          `Use one of: ${CORES.join(', ')}.`,
          {
            index,
            field: 'core',
          },
        );
      }
      record.core = found;
    }
    const chip = str('chip', false);
    if (chip !== undefined) {
      const normalized = chip.toLowerCase().replace(/[-_\s]/g, '');
      const found = CHIPS.find((c) => c === normalized);
      if (found === undefined) {
        throw fail(
          source,
          `${where('chip')}: "${chip}" is not a known chip.`,
          `Use one of: ${CHIPS.join(', ')}.`,
          {
            index,
            field: 'chip',
          },
        );
      }
      record.chip = found;
    }
    const partitions = str('partitions', false);
    if (partitions !== undefined) {
      const looksLikePath = /[/\\]/.test(partitions) || /\.(csv|bin)$/i.test(partitions);
      record.partitions =
        looksLikePath && baseDir !== undefined && !isAbsolute(partitions)
          ? resolve(baseDir, partitions)
          : partitions;
    }
    const passwordEnv = str('passwordEnv', false);
    if (passwordEnv !== undefined) {
      if (!ENV_NAME.test(passwordEnv)) {
        throw fail(
          source,
          `${where('passwordEnv')}: "${passwordEnv}" is not an environment variable name.`,
          `Use letters, digits and underscores, e.g. ${PASSWORD_ENV_PREFIX}KITCHEN_PASSWORD.`,
          { index, field: 'passwordEnv' },
        );
      }
      if (!passwordEnv.startsWith(PASSWORD_ENV_PREFIX) || passwordEnv === PASSWORD_ENV_PREFIX) {
        throw fail(
          source,
          `${where('passwordEnv')}: "${passwordEnv}" does not start with ${PASSWORD_ENV_PREFIX}; airflash reads passwords only from variables named ${PASSWORD_ENV_PREFIX}….`,
          `Rename the variable, e.g. "passwordEnv": "${PASSWORD_ENV_PREFIX}${passwordEnv.replace(/^AIRFLASH_/i, '') || 'KITCHEN_PASSWORD'}" and export it under that name. The prefix keeps a devices file from sending another secret (a token, a cloud key) to a device.`,
          { index, field: 'passwordEnv' },
        );
      }
      record.passwordEnv = passwordEnv;
    }
    for (const key of Object.keys(obj)) {
      if (!KNOWN_KEYS.has(key)) {
        warnings.push(
          `${source}: ${label}: unknown key "${key}" ignored.${didYouMean(key, KNOWN_KEYS)} Known keys: ${[...KNOWN_KEYS].join(', ')}.`,
        );
      }
    }
    devices.push(record);
  });
  return { devices, warnings };
}

export interface LoadDevicesOptions {
  /** Called once per warning (unknown keys). */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

/**
 * Read the devices file: `path` (relative to `cwd`) when given, which must exist; otherwise
 * `airflash.devices.json` in `cwd`, and no file there means no devices (`[]`).
 */
export async function loadDevicesFile(
  path: string | undefined,
  cwd: string,
  options: LoadDevicesOptions = {},
): Promise<DeviceRecord[]> {
  if (options.signal?.aborted) throw abortError(options.signal);
  const file = resolve(cwd, path ?? DEVICES_FILE_NAME);
  let text: string;
  try {
    text = await readFile(file, { encoding: 'utf8', ...(options.signal ? { signal: options.signal } : {}) });
  } catch (error) {
    if (options.signal?.aborted) throw abortError(options.signal);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && path === undefined) return [];
    throw new AirflashError(
      'DEVICES_FILE',
      code === 'ENOENT'
        ? `Devices file ${file} does not exist.`
        : `Cannot read devices file ${file}: ${String(error)}.`,
      { hint: 'Check the path given to --devices.', data: { file }, cause: error },
    );
  }
  const parsed = parseDevicesFile(text.replace(/^\uFEFF/, ''), file, dirname(file));
  for (const warning of parsed.warnings) options.onWarning?.(warning);
  return parsed.devices;
}

/**
 * The OTA password of a device from the environment variable its record names; undefined when
 * the record names none. Throws DEVICES_FILE when the variable is not set, or when its name does
 * not start with PASSWORD_ENV_PREFIX.
 */
export function devicePassword(record: DeviceRecord, env: NodeJS.ProcessEnv): string | undefined {
  if (record.passwordEnv === undefined) return undefined;
  if (!record.passwordEnv.startsWith(PASSWORD_ENV_PREFIX))
    throw new AirflashError(
      'DEVICES_FILE',
      `Device "${record.name}" names $${record.passwordEnv} for its password; airflash reads passwords only from variables named ${PASSWORD_ENV_PREFIX}….`,
      { hint: `Rename the variable to start with ${PASSWORD_ENV_PREFIX}.`, data: { device: record.name } },
    );
  const value = env[record.passwordEnv];
  if (value === undefined || value === '') {
    throw new AirflashError(
      'DEVICES_FILE',
      `Device "${record.name}" takes its password from $${record.passwordEnv}, which is not set.`,
      {
        hint: `Set it before running airflash, e.g. export ${record.passwordEnv}='...'.`,
        data: { device: record.name },
      },
    );
  }
  return value;
}
