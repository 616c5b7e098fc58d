import { AirflashError, EXIT } from '../../core/errors.ts';
import { discover } from '../../discovery/browse.ts';
import { BROWSED_SERVICES, type DiscoveredDevice, type DiscoveryEvent } from '../../discovery/types.ts';
import { mdnsSettings } from '../mdns.ts';
import { type OptionSpec, parseCommandArgs } from '../options.ts';
import { safeJson, safeText } from '../render/safe-text.ts';
import type { Command } from '../types.ts';

export const DISCOVER_OPTIONS = [
  { long: 'timeout', kind: 'number', arg: 'S', help: 'how long to listen, in seconds (default 3)' },
  { long: 'watch', kind: 'flag', help: 'keep the list live until Ctrl-C' },
  {
    long: 'interface',
    kind: 'string',
    arg: 'NAME',
    help: 'browse on this interface only (lo / 127.0.0.1 for emulated devices)',
  },
  { long: 'json', kind: 'flag', help: 'one JSON object per line' },
  { long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
] as const satisfies readonly OptionSpec[];

const HELP = `Usage: airflash discover [--timeout S] [--watch] [--interface NAME] [--json]

Find ArduinoOTA devices on the local network: browses the mDNS service _arduino._tcp (what
the Arduino IDE shows as network ports) and lists each device's name, addresses, OTA port,
board, whether it wants a password, and the core (esp32 / esp8266) its advertisement implies.
ESPHome devices (_esphomelib._tcp) are listed too, with their ESPHome version and whether their
encryption key is required (TXT api_encryption); their PORT is the native API's (6053), not OTA.

Options:
  --timeout S       how long to listen, in seconds (default 3; with --watch: until Ctrl-C)
  --watch           keep the list live: print devices as they appear, change and disappear
  --interface NAME  browse on this interface only (name such as eth0 / en0, or one of its IPv4
                    addresses; lo or 127.0.0.1 finds "airflash emulate --mdns" devices);
                    default: every interface except loopback, VPN and virtual adapters
                    (Docker, WSL, VirtualBox, VMware ...)
  --json            one JSON object per line: {"event":"up"|"update"|"down","device":{...}}

Exit status: 0 when at least one device answered (or --watch ended with Ctrl-C), 1 when none did.
Devices that never show up: see "airflash doctor", or list them in airflash.devices.json.
`;

function parsePositiveNumber(text: string, what: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new AirflashError('BAD_ARGUMENT', `${what} must be a positive number, not "${text}".`);
  }
  return value;
}

function cell(device: DiscoveredDevice): string[] {
  // Every field came from an mDNS answer: printed escaped.
  return [
    device.name,
    device.addresses.join(', '),
    String(device.port),
    device.board ?? '?',
    device.authUpload === undefined ? '?' : device.authUpload ? 'yes' : 'no',
    device.core ?? '?',
  ].map(safeText);
}

const HEADER = ['NAME', 'ADDRESSES', 'PORT', 'BOARD', 'PASSWORD', 'CORE'];
/** Shown only when an ESPHome device (`_esphomelib._tcp`) is in the list: its version and encryption. */
const ESPHOME_HEADER = ['ESPHOME', 'ENCRYPTION'];

function esphomeCells(device: DiscoveredDevice): string[] {
  const e = device.esphome;
  return (e === undefined ? ['-', '-'] : [e.version ?? '?', e.encryption ? 'required' : 'no']).map(safeText);
}

function table(rows: string[][], header: string[] = HEADER): string {
  const HEADER = header;
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[HEADER, ...rows].map(line).join('\n')}\n`;
}

function watchLine(event: DiscoveryEvent): string {
  const d = event.device;
  const [name, addresses, port, board, password, core] = cell(d);
  const [version, encryption] = esphomeCells(d);
  const esphome = d.esphome === undefined ? '' : `  esphome=${version}  encryption=${encryption}`;
  return `${event.type.padEnd(6)}  ${name}  ${addresses}  port=${port}  board=${board}  password=${password}  core=${core}${esphome}\n`;
}

function jsonLine(event: DiscoveryEvent): string {
  return `${safeJson({ event: event.type, device: event.device })}\n`;
}

export const command: Command = {
  name: 'discover',
  summary: 'Find ArduinoOTA devices with mDNS',
  help: HELP,
  options: DISCOVER_OPTIONS,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, DISCOVER_OPTIONS, 'discover');
    if (positionals.length > 0)
      throw new AirflashError('BAD_ARGUMENT', `Unexpected argument "${positionals[0]}".`, {
        hint: 'Run "airflash discover --help" for its options.',
      });
    const watch = values.watch === true;
    const json = values.json === true;
    const timeoutMs =
      values.timeout === undefined
        ? undefined
        : Math.round(parsePositiveNumber(values.timeout, '--timeout') * 1000);

    const devices = new Map<string, DiscoveredDevice>();
    const events = discover({
      // ArduinoOTA and ESPHome devices: the list shows which is which.
      services: BROWSED_SERVICES,
      watch,
      signal: io.signal,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...mdnsSettings(values.interface, io.env),
    });
    let seen = 0;
    for await (const event of events) {
      const key = event.device.name.toLowerCase();
      if (event.type === 'down') devices.delete(key);
      else devices.set(key, event.device);
      if (event.type === 'up') seen += 1;
      if (json) io.stdout.write(jsonLine(event));
      else if (watch) io.stdout.write(watchLine(event));
    }
    if (!json && !watch && devices.size > 0) {
      const sorted = [...devices.values()].sort((a, b) => a.name.localeCompare(b.name));
      const withEsphome = sorted.some((d) => d.esphome !== undefined);
      const rows = sorted.map((d) => (withEsphome ? [...cell(d), ...esphomeCells(d)] : cell(d)));
      io.stdout.write(table(rows, withEsphome ? [...HEADER, ...ESPHOME_HEADER] : HEADER));
    }
    if (io.signal.aborted && !watch) return EXIT.interrupted;
    if (watch) return EXIT.ok;
    if (seen === 0) {
      const waited = timeoutMs ?? 3000;
      io.stderr.write(
        `airflash discover: no ArduinoOTA device answered within ${waited / 1000} s.\n` +
          '  try: a longer --timeout; check the device runs ArduinoOTA and is on this network (not a guest\n' +
          '       network with client isolation); name the interface with --interface; or use the device\n' +
          '       IP address / airflash.devices.json where multicast does not get through.\n',
      );
      return EXIT.failed;
    }
    return EXIT.ok;
  },
};
