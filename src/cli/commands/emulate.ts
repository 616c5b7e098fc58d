import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AirflashError, EXIT } from '../../core/errors.ts';
import type { DeviceEvent, DeviceOptions, EmulatedFleet } from '../../emulator/index.ts';
import { mdnsSettings } from '../mdns.ts';
import { type OptionSpec, readOptions } from '../options.ts';
import { safeBlock, safeJson } from '../render/safe-text.ts';
import type { CliIO, Command } from '../types.ts';
import { WEB_EMULATE_HELP, WEB_EMULATE_OPTIONS } from './emulate-web.ts';

const HELP = `airflash emulate — run emulated ESP32 / ESP8266 ArduinoOTA devices on loopback

Usage: airflash emulate [options]
       airflash emulate --serial [--chip C] [--serial-fault K@N]   (a board on a USB serial line)

Device
  --protocol P        arduino-ota (default), esphome (ESPHome native OTA on TCP, ESP32 board) or http
  --ota-version 1|2   esphome: ota version (default 2: an ack per 8 KiB)
  --esphome-auth A    esphome: sha256 (2026.1+, default) or md5 (a device before SHA-256 auth)
  --esphome-error B   esphome: answer this error byte once (0x80-0x94, 0xFF) at its step
  --esphome-encryption offered|required   esphome: Noise encryption (with --esphome-key BASE64)
${WEB_EMULATE_HELP}  --core esp32|esp32-legacy|esp8266   esp32 = arduino-esp32 >= 3.3.1 (PBKDF2, 64-hex nonce; default),
                                      esp32-legacy = 3.0-3.3.0 (MD5), esp8266
  --address A         loopback address to listen on (default 127.0.0.1; ::1 too, except esp8266)
  --ipv6              esp8266: a build with an IPv6 lwIP variant (may listen on ::1)
  --esp32-updater R   esp32 Update library revision: newest (default) or 3.3.1
  --port N            UDP OTA port (default 3232 / 8266; 0 = any free port)
  --password PW       ArduinoOTA.setPassword(PW)
  --password-hash H   ArduinoOTA.setPasswordHash(H), stored verbatim (esp32: 32 or 64 hex)
  --loop-ms N         the sketch calls ArduinoOTA.handle() every N ms (default 0 = continuously)
  --time-scale F      multiply every device delay and timeout by F (e.g. 0.01 for fast tests)
Flash
  --flash-size SIZE   e.g. 4MB (ESP32 default: the scheme's size; ESP8266: the layout's)
  --partitions P      ESP32 partition scheme name (default, min_spiffs, ...) or a CSV/binary file
  --flash-layout L    ESP8266 flash layout, boards.txt eesz id (default 4M2M)
  --sketch-size N     ESP8266 running sketch size in bytes (default 400000)
Fleet and state
  --count N           N devices on consecutive addresses from --address
  --fleet FILE        JSON array, one object per device with any of these options
                      (e.g. [{"core":"esp8266","password":"x","fault":["drop@50"]}])
  --state DIR         keep each device's flash in DIR/<hostname>/ across restarts
  --mdns              advertise _arduino._tcp over mDNS on the device's address
Link and faults
  --rtt-ms N          round-trip time added to every packet (half each way)
  --bandwidth B       host -> device bytes per second (default unlimited)
  --window B          device TCP receive window (default 5744 ESP32, 2144 ESP8266)
  --udp-loss P        probability (0-1) of losing each datagram
  --fault KIND[@P]    stall@P, drop@P, corrupt@P, reboot@P, powerloss@P, no-connect, garbage,
                      offline; repeatable; each fires once, in order, on the next updates
  --fault-every       fire the faults on every update
Output
  --json              one JSON object per line: {"event": ..., "address": ..., ...}

Events: listening, invitation, auth-ok, auth-failed, update-start, progress, update-complete,
update-error, reboot, booted. Runs until Ctrl-C, then closes every device and exits 0.
`;

type Spec = DeviceOptions & { count?: number };

function usage(message: string): AirflashError {
  return new AirflashError('BAD_ARGUMENT', message, {
    hint: 'Run "airflash emulate --help" for the options.',
  });
}

/** A fleet-file value for the option `option` (numbers checked, flags as booleans, faults appended). */
function setValue(spec: Spec, option: FileOption, raw: unknown, where: string): void {
  const key = option.key;
  const into = spec as Record<string, unknown>;
  if (key === 'faults') {
    const list = Array.isArray(raw) ? raw : [raw];
    for (const f of list) {
      if (typeof f !== 'string') throw usage(`${where}: a fault must be a string like "drop@50".`);
      spec.faults = [...(spec.faults ?? []), f];
    }
    return;
  }
  if (option.kind === 'number') {
    const n = typeof raw === 'number' ? raw : Number(raw);
    if (!Number.isFinite(n)) throw usage(`${where}: ${String(raw)} is not a number.`);
    into[key] = n;
    return;
  }
  if (option.kind === 'flag') {
    into[key] = raw === true || raw === 'true';
    return;
  }
  if (typeof raw !== 'string' && typeof raw !== 'number')
    throw usage(`${where}: ${String(raw)} is not a value.`);
  into[key] = key === 'flashSize' ? raw : String(raw);
}

/** The options of `airflash emulate` (each value option maps to a DeviceOptions key). */
export const EMULATE_OPTIONS = [
  {
    long: 'protocol',
    kind: 'string',
    arg: 'P',
    choices: ['arduino-ota', 'esphome', 'http'],
    help: 'the OTA protocol the device speaks',
  },
  ...WEB_EMULATE_OPTIONS,
  { long: 'ota-version', to: 'otaVersion', kind: 'number', arg: '1|2', help: 'esphome: ota version' },
  {
    long: 'esphome-auth',
    to: 'esphomeAuth',
    kind: 'string',
    arg: 'A',
    choices: ['sha256', 'md5'],
    help: 'esphome: auth the device speaks',
  },
  {
    long: 'esphome-error',
    to: 'esphomeError',
    kind: 'number',
    arg: 'B',
    help: 'esphome: answer this error byte',
  },
  {
    long: 'esphome-encryption',
    to: 'esphomeEncryption',
    kind: 'string',
    arg: 'M',
    choices: ['offered', 'required'],
    help: 'esphome: Noise encryption offered or required',
  },
  { long: 'esphome-key', to: 'esphomeKey', kind: 'string', arg: 'BASE64', help: 'esphome: encryption key' },
  {
    long: 'core',
    kind: 'string',
    arg: 'CORE',
    choices: ['esp32', 'esp32-legacy', 'esp8266'],
    help: 'emulated core',
  },
  { long: 'address', kind: 'string', arg: 'A', help: 'loopback address to listen on' },
  { long: 'port', kind: 'number', arg: 'N', help: 'UDP OTA port' },
  { long: 'password', kind: 'string', arg: 'PW', help: 'ArduinoOTA.setPassword(PW)' },
  {
    long: 'password-hash',
    to: 'passwordHash',
    kind: 'string',
    arg: 'HEX',
    help: 'ArduinoOTA.setPasswordHash(HEX)',
  },
  { long: 'loop-ms', to: 'loopMs', kind: 'number', arg: 'N', help: 'handle() every N ms' },
  { long: 'time-scale', to: 'timeScale', kind: 'number', arg: 'F', help: 'multiply every device delay' },
  { long: 'flash-size', to: 'flashSize', kind: 'string', arg: 'SIZE', help: 'flash size, e.g. 4MB' },
  { long: 'partitions', kind: 'string', arg: 'P', help: 'ESP32 partition scheme or file' },
  {
    long: 'flash-layout',
    to: 'flashLayout',
    kind: 'string',
    arg: 'L',
    help: 'ESP8266 flash layout (eesz id)',
  },
  { long: 'sketch-size', to: 'sketchSize', kind: 'number', arg: 'N', help: 'ESP8266 running sketch size' },
  { long: 'count', kind: 'number', arg: 'N', help: 'N devices on consecutive addresses' },
  {
    long: 'fleet',
    to: 'fleetFile',
    kind: 'string',
    arg: 'FILE',
    complete: 'file',
    help: 'JSON array, one object per device',
  },
  {
    long: 'state',
    to: 'stateDir',
    kind: 'string',
    arg: 'DIR',
    complete: 'dir',
    help: "keep each device's flash in DIR",
  },
  { long: 'mdns', kind: 'flag', help: 'advertise _arduino._tcp over mDNS' },
  { long: 'ipv6', kind: 'flag', help: 'esp8266: a build with an IPv6 lwIP variant' },
  {
    long: 'esp32-updater',
    to: 'esp32Updater',
    kind: 'string',
    arg: 'R',
    choices: ['newest', '3.3.1'],
    help: 'esp32 Update library revision',
  },
  { long: 'rtt-ms', to: 'rttMs', kind: 'number', arg: 'N', help: 'round-trip time added' },
  { long: 'bandwidth', kind: 'number', arg: 'B', help: 'host -> device bytes per second' },
  { long: 'window', kind: 'number', arg: 'B', help: 'device TCP receive window' },
  { long: 'udp-loss', to: 'udpLoss', kind: 'number', arg: 'P', help: 'probability of losing each datagram' },
  {
    long: 'fault',
    to: 'faults',
    kind: 'string',
    arg: 'KIND[@P]',
    repeatable: true,
    help: 'a fault (repeatable)',
  },
  { long: 'fault-every', to: 'faultEvery', kind: 'flag', help: 'fire the faults on every update' },
  { long: 'hostname', kind: 'string', arg: 'NAME', help: 'device host name', hidden: true },
  { long: 'seed', kind: 'number', arg: 'N', help: 'random seed', hidden: true },
  { long: 'json', kind: 'flag', help: 'one JSON object per line' },
  { long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
] as const satisfies readonly OptionSpec[];

/** A fleet-file key: an option of the table (by its CLI name or its DeviceOptions name), or mac / board. */
interface FileOption {
  key: string;
  kind: OptionSpec['kind'];
}

/** Options of the table that are not device settings. */
const NOT_DEVICE: ReadonlySet<string> = new Set(['fleet', 'json', 'help']);

/** Fleet-file keys: each device option under its CLI name and its DeviceOptions name, from the one table. */
const FILE_OPTIONS: ReadonlyMap<string, FileOption> = new Map([
  ...EMULATE_OPTIONS.filter((o: OptionSpec) => !NOT_DEVICE.has(o.long)).flatMap((o: OptionSpec) => {
    const option = { key: o.to ?? o.long, kind: o.kind };
    return [
      [o.long, option],
      [option.key, option],
    ] as const;
  }),
  ['mac', { key: 'mac', kind: 'string' }],
  ['board', { key: 'board', kind: 'string' }],
]);

export function parseEmulateArgs(argv: string[]): { base: Spec; fleetFile?: string; json: boolean } {
  const { values, positionals } = readOptions(argv, EMULATE_OPTIONS, { command: 'emulate' });
  if (positionals.length > 0) throw usage(`Unexpected argument "${positionals[0]}".`);
  const { json, fleetFile, help: _help, ...base } = values;
  if (base.password !== undefined && base.passwordHash !== undefined) {
    throw usage('Give --password or --password-hash, not both.');
  }
  return { base, ...(fleetFile === undefined ? {} : { fleetFile }), json: json === true };
}

export function fleetEntry(raw: unknown, index: number): Spec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new AirflashError('CONFIG_INVALID', `Fleet entry ${index + 1} is not an object.`);
  }
  const spec: Spec = {};
  for (const [k, v] of Object.entries(raw)) {
    const option = FILE_OPTIONS.get(k);
    if (option === undefined)
      throw new AirflashError('CONFIG_INVALID', `Fleet entry ${index + 1}: unknown option "${k}".`);
    setValue(spec, option, v, `fleet entry ${index + 1} "${k}"`);
  }
  return spec;
}

export async function buildSpecs(
  base: Spec,
  fleetFile: string | undefined,
  cwd: string,
): Promise<DeviceOptions[]> {
  const { nextAddress } = await import('../../emulator/index.ts');
  const { count: baseCount, ...defaults } = base;
  let entries: Spec[];
  if (fleetFile !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(resolve(cwd, fleetFile), 'utf8'));
    } catch (error) {
      throw new AirflashError(
        'CONFIG_INVALID',
        `Cannot read the fleet file ${fleetFile}: ${(error as Error).message}`,
        {
          hint: 'It must be a JSON array with one object per device.',
          cause: error,
        },
      );
    }
    if (!Array.isArray(parsed))
      throw new AirflashError('CONFIG_INVALID', `${fleetFile} must hold a JSON array.`);
    entries = parsed.map(fleetEntry);
  } else {
    entries = [{}];
  }
  const start = defaults.address ?? '127.0.0.1';
  const out: DeviceOptions[] = [];
  let cursor = 0;
  const named = new Set(entries.map((e) => e.address).filter((a): a is string => a !== undefined));
  for (const entry of entries) {
    const { count: entryCount, ...rest } = entry;
    const n = entryCount ?? (fleetFile === undefined ? (baseCount ?? 1) : 1);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw usage(`--count must be 1–1000, not ${n}.`);
    for (let k = 0; k < n; k++) {
      const spec: DeviceOptions = { ...defaults, ...rest };
      if (rest.faults === undefined && defaults.faults !== undefined) spec.faults = defaults.faults;
      if (rest.address === undefined) {
        if (start === '::1') {
          if (out.length > 0) throw usage('Several devices need IPv4 loopback addresses, not ::1.');
          spec.address = start;
        } else {
          let a = nextAddress(start, cursor++);
          while (named.has(a)) a = nextAddress(start, cursor++);
          spec.address = a;
        }
      } else if (n > 1) {
        spec.address = nextAddress(rest.address, k);
      }
      if (spec.stateDir !== undefined) spec.stateDir = resolve(cwd, spec.stateDir);
      out.push(spec);
    }
  }
  return out;
}

/** DeviceOptions names (what the library's messages say) → the CLI's option names. */
const CLI_NAME = new Map<string, string>(
  EMULATE_OPTIONS.filter((o: OptionSpec) => o.to !== undefined).map((o: OptionSpec) => [
    o.to as string,
    `--${o.long}`,
  ]),
);

/**
 * The emulator library names its options as DeviceOptions does (`udpLoss`, `passwordHash`);
 * the CLI user typed `--udp-loss`, `--password-hash`: say those.
 */
function inCliTerms(error: unknown): unknown {
  if (!(error instanceof AirflashError)) return error;
  const message = error.message.replace(/\b[a-z]+[A-Z][A-Za-z]*\b/g, (word) => CLI_NAME.get(word) ?? word);
  if (message === error.message) return error;
  return new AirflashError(error.code, message, {
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    ...(error.phase === undefined ? {} : { phase: error.phase }),
    data: error.data,
    cause: error,
  });
}

function humanLine(e: DeviceEvent): string | undefined {
  switch (e.event) {
    case 'listening':
      return `listening ${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port} core=${e.core} hostname=${e.hostname}`;
    default:
      return undefined;
  }
}

export const command: Command = {
  name: 'emulate',
  summary: 'Run emulated ESP32/ESP8266 ArduinoOTA devices on loopback',
  help: HELP,
  options: EMULATE_OPTIONS,
  async run(argv: string[], io: CliIO): Promise<number> {
    // `--serial`: a board behind a USB serial line (a socat pty pair), emulate-serial.ts.
    if (argv.includes('--serial')) return (await import('./emulate-serial.ts')).runSerialEmulator(argv, io);
    const { base, fleetFile, json } = parseEmulateArgs(argv);
    // --mdns advertises on each device's loopback address; AIRFLASH_MDNS_PORT picks a private group.
    const { mdnsPort } = mdnsSettings(undefined, io.env);
    const specs = (await buildSpecs(base, fleetFile, io.cwd)).map((s) =>
      s.mdns === true && mdnsPort !== undefined ? { ...s, mdns: { port: mdnsPort } } : s,
    );
    const { startFleet } = await import('../../emulator/index.ts');
    const multi = specs.length > 1;
    const write = (line: string): void => {
      // What an uploader sent is in there: printed escaped.
      io.stdout.write(`${safeBlock(line)}\n`);
    };
    const withEvents = specs.map((s) => ({
      ...s,
      onEvent: (e: DeviceEvent) => {
        if (json) write(safeJson(e));
        else {
          const line = humanLine(e);
          if (line) write(line);
        }
      },
      ...(json ? {} : { onLog: (line: string) => write(multi ? `[${s.address}] ${line}` : line) }),
    }));
    if (io.signal.aborted) return EXIT.ok;
    let fleet: EmulatedFleet;
    try {
      fleet = await startFleet(withEvents);
    } catch (error) {
      throw inCliTerms(error);
    }
    await new Promise<void>((done) => {
      if (io.signal.aborted) done();
      else io.signal.addEventListener('abort', () => done(), { once: true });
    });
    await fleet.close();
    if (!json) io.stderr.write('emulator stopped\n');
    return EXIT.ok;
  },
};
