/**
 * The options of a fleet upload (`airflash upload --target/--devices/--all/--board/--name`): the
 * help text, the option table (parsed by the one parser in options.ts) and the checks of their
 * values. Data only, so `airflash upload` for one device does not load the fleet.
 */
import { AirflashError } from '../core/errors.ts';
import type { OptionSpec, OptionValues } from './options.ts';

/** Options that make `airflash upload` a fleet upload. */
export const FLEET_SELECTORS = ['--target', '--devices', '--all', '--board', '--name'] as const;

/** Whether `airflash upload` arguments ask for a fleet upload. */
export function isFleetInvocation(argv: readonly string[]): boolean {
  return argv.some((a) => FLEET_SELECTORS.some((f) => a === f || a.startsWith(`${f}=`)));
}

export const FLEET_HELP = `airflash upload — one image to many devices

Usage: airflash upload -f FILE --target HOST[:PORT] [--target ...] [options]
       airflash upload -f FILE --devices airflash.devices.json [options]
       airflash upload -f FILE --all | --board BOARD | --name 'GLOB' [options]

Which devices
  --target HOST[:PORT]   a device (repeatable); a name from the devices file works too
  --devices FILE         the devices file (default: airflash.devices.json here); alone: every device in it
  --all                  every ArduinoOTA device found over mDNS (plus the devices file)
  --board B              devices whose mDNS board (or devices-file chip/core) is B
  --name GLOB            devices whose name matches GLOB (* and ?), e.g. 'kitchen-*'
  --discover-timeout S   how long to browse mDNS (default 3)
  --interface NAME       browse on this interface only

How
  -f, --file FILE        the image (read once, checked once, sent to every device)
  -s, --spiffs           a filesystem image
  -a, --auth PASSWORD    password for the --target devices (it wins over their passwordEnv) and
                         for devices without passwordEnv (or AIRFLASH_PASSWORD)
  -p, --port N           OTA port for targets that name none (default 3232; 8266 for ESP8266)
  --parallel N           devices at the same time (default 4)
  --retries N            retries of a transient failure (stall, cut, late answer; default 1)
  --canary N             update N devices first; go on only if each answers again after its reboot
  --canary-timeout S     how long a canary may take to come back (default 60)
  --max-failures K       stop the rollout after K failed devices (the rest: aborted)
  --dry-run              show what would be done to whom; sends nothing
  --probe-timeout S      a device that does not answer the probe within S is offline (default 5)
  --no-probe             do not probe first (an offline device then fails after the invitations)
  --chip C, --partitions P   pre-flight expectations for devices the devices file says nothing about
  --force                skip the pre-flight checks
  -I, --host_ip, -m, --md5-target, -t, --timeout, --attempts, --auth-timeout, --connect-timeout,
  --stall-timeout, --result-timeout, --compress, --no-signed   as for one device

Output
  --json                 one JSON object per line, each with "device"; the last is the summary
  --report FILE          the same as one JSON document
  -r, --progress         the multi-line display even when stderr is not a terminal

Exit codes: 0 every device updated, 4 some failed or were skipped, 3 the image was refused by
the pre-flight (for every device), 1 none updated otherwise or the rollout was stopped (canary,
--max-failures), 2 usage or input to fix (a missing image or devices file), 130 interrupted.
See docs/fleet.md.
`;

/** The options of a fleet upload (the single-device ones are in espota-args.ts). */
export const FLEET_OPTIONS = [
  { long: 'target', kind: 'string', arg: 'HOST[:PORT]', repeatable: true, help: 'a device (repeatable)' },
  { long: 'devices', kind: 'string', arg: 'FILE', complete: 'file', help: 'the devices file' },
  { long: 'all', kind: 'flag', help: 'every ArduinoOTA device found over mDNS' },
  { long: 'board', kind: 'string', arg: 'B', help: 'devices whose board is B' },
  { long: 'name', kind: 'string', arg: 'GLOB', repeatable: true, help: 'devices whose name matches GLOB' },
  {
    long: 'discover-timeout',
    to: 'discoverTimeoutMs',
    kind: 'number',
    positive: true,
    seconds: true,
    arg: 'S',
    help: 'how long to browse mDNS (default 3)',
  },
  {
    long: 'interface',
    kind: 'string',
    arg: 'NAME',
    help: 'mDNS on this interface only (lo for emulated devices)',
  },
  { long: 'file', short: 'f', kind: 'string', arg: 'FILE', complete: 'file', help: 'the image' },
  { long: 'spiffs', short: 's', kind: 'flag', help: 'a filesystem image' },
  {
    long: 'auth',
    short: 'a',
    kind: 'string',
    arg: 'PASSWORD',
    help: 'password for devices without passwordEnv',
  },
  {
    long: 'port',
    short: 'p',
    kind: 'number',
    integer: true,
    min: 1,
    max: 65535,
    arg: 'N',
    help: 'OTA port for targets that name none',
  },
  {
    long: 'parallel',
    kind: 'number',
    integer: true,
    min: 1,
    arg: 'N',
    help: 'devices at the same time (default 4)',
  },
  {
    long: 'retries',
    kind: 'number',
    integer: true,
    min: 0,
    arg: 'N',
    help: 'retries of a transient failure (default 1)',
  },
  { long: 'canary', kind: 'number', integer: true, min: 0, arg: 'N', help: 'update N devices first' },
  {
    long: 'canary-timeout',
    to: 'canaryTimeoutMs',
    kind: 'number',
    positive: true,
    seconds: true,
    arg: 'S',
    help: 'how long a canary may take to come back',
  },
  {
    long: 'max-failures',
    to: 'maxFailures',
    kind: 'number',
    integer: true,
    min: 1,
    arg: 'K',
    help: 'stop the rollout after K failed devices',
  },
  { long: 'dry-run', kind: 'flag', help: 'show what would be done to whom; sends nothing' },
  {
    long: 'probe-timeout',
    to: 'probeTimeoutMs',
    kind: 'number',
    positive: true,
    seconds: true,
    arg: 'S',
    help: 'probe wait before a device is offline',
  },
  { long: 'no-probe', kind: 'flag', help: 'do not probe first' },
  { long: 'chip', kind: 'string', arg: 'C', help: 'pre-flight chip expectation' },
  { long: 'partitions', kind: 'string', arg: 'P', help: 'pre-flight partition scheme' },
  { long: 'force', kind: 'flag', help: 'skip the pre-flight checks' },
  { long: 'host_ip', short: 'I', kind: 'string', arg: 'IP', help: 'local address to listen on' },
  { long: 'md5-target', short: 'm', kind: 'flag', help: 'the devices store an MD5 password hash' },
  {
    long: 'timeout',
    short: 't',
    to: 'attemptTimeoutMs',
    kind: 'number',
    positive: true,
    seconds: true,
    arg: 'S',
    help: 'seconds per invitation attempt',
  },
  {
    long: 'attempts',
    to: 'inviteAttempts',
    kind: 'number',
    integer: true,
    min: 1,
    arg: 'N',
    help: 'invitation attempts',
  },
  {
    long: 'auth-timeout',
    to: 'authTimeoutMs',
    kind: 'number',
    positive: true,
    seconds: true,
    arg: 'S',
    help: 'password answer wait',
  },
  {
    long: 'connect-timeout',
    to: 'connectTimeoutMs',
    kind: 'number',
    positive: true,
    seconds: true,
    arg: 'S',
    help: 'connect-back wait',
  },
  {
    long: 'stall-timeout',
    to: 'stallTimeoutMs',
    kind: 'number',
    positive: true,
    seconds: true,
    arg: 'S',
    help: 'device silence during the transfer',
  },
  {
    long: 'result-timeout',
    to: 'resultTimeoutMs',
    kind: 'number',
    positive: true,
    seconds: true,
    arg: 'S',
    help: 'final OK wait',
  },
  { long: 'compress', kind: 'flag', help: 'send gzip-compressed (ESP8266)' },
  { long: 'no-signed', kind: 'flag', help: 'do not substitute FILE.signed' },
  {
    long: 'time-scale',
    to: 'timeScale',
    kind: 'number',
    positive: true,
    arg: 'F',
    help: 'multiply every default wait',
    hidden: true,
  },
  { long: 'json', kind: 'flag', help: 'one JSON object per line' },
  { long: 'report', kind: 'string', arg: 'FILE', complete: 'file', help: 'the same as one JSON document' },
  { long: 'progress', short: 'r', kind: 'flag', help: 'the multi-line display even off a terminal' },
  { long: 'ip', short: 'i', kind: 'string', arg: 'DEVICE', help: 'one device (not with the fleet options)' },
  { long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
] as const satisfies readonly OptionSpec[];

/** The values of a fleet upload's options (readOptions: by `to`, else long name; seconds in ms). */
export type FleetValues = OptionValues<typeof FLEET_OPTIONS>;

export function usage(
  message: string,
  hint = 'Run "airflash upload --help" and see docs/fleet.md.',
): AirflashError {
  return new AirflashError('BAD_ARGUMENT', message, { hint });
}
