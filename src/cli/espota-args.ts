/**
 * `airflash upload` argument parsing: espota.py's options with espota's meanings (protocol.md
 * §7.1), airflash's own options, and the leniency PlatformIO and the Arduino IDE recipes need:
 * `--opt=value`, `--opt value`, `-o value`, `-ovalue`, clustered flags (`-dr`), the last of a
 * repeated option wins, one argv element holding several options (PlatformIO one-line
 * `upload_flags`) is split with a note, and the ESP8266 recipe's `-I ".../espota.py"` (Python's
 * own flag there) is ignored with a note. Long names are not abbreviated (argparse would take
 * `--a` for `--auth`; airflash says "Unknown option --a … Did you mean --auth …?"): the parser is
 * the one of every command (options.ts).
 */
import { type OptionSpec, type ParsedArgs as Parsed, parseOptions } from './options.ts';

export { type OptionSpec, optionsHelp } from './options.ts';

export type UploadOptionName =
  | 'ip'
  | 'host_ip'
  | 'port'
  | 'host_port'
  | 'auth'
  | 'key'
  | 'md5_target'
  | 'file'
  | 'spiffs'
  | 'debug'
  | 'progress'
  | 'timeout'
  | 'invite_timeout'
  | 'connect_timeout'
  | 'auth_timeout'
  | 'stall_timeout'
  | 'result_timeout'
  | 'attempts'
  | 'retries'
  | 'json'
  | 'force'
  | 'chip'
  | 'partitions'
  | 'compress'
  | 'no_signed'
  | 'time_scale'
  | 'interface'
  | 'protocol'
  | 'user'
  | 'profile'
  | 'help';

/** What `parseUploadArgs` returns. */
export type ParsedArgs<N extends string = UploadOptionName> = Parsed<N>;

export const UPLOAD_OPTIONS: readonly OptionSpec<UploadOptionName>[] = [
  {
    name: 'ip',
    long: 'ip',
    short: 'i',
    kind: 'string',
    espota: true,
    help: 'device address: IPv4, IPv6, host name or NAME.local',
  },
  {
    name: 'port',
    integer: true,
    min: 1,
    max: 65535,
    long: 'port',
    short: 'p',
    kind: 'number',
    espota: true,
    help: 'device OTA port (default 3232; ESP8266: 8266)',
  },
  {
    name: 'auth',
    long: 'auth',
    short: 'a',
    kind: 'string',
    espota: true,
    help: 'OTA password (or set AIRFLASH_PASSWORD)',
  },
  {
    name: 'key',
    long: 'key',
    kind: 'string',
    arg: 'BASE64',
    help: 'ESPHome: the encryption key (Noise PSK; or set AIRFLASH_ESPHOME_KEY)',
  },
  { name: 'file', long: 'file', short: 'f', kind: 'string', espota: true, help: 'image file (.bin)' },
  {
    name: 'spiffs',
    long: 'spiffs',
    short: 's',
    kind: 'flag',
    espota: true,
    help: 'filesystem image (SPIFFS/LittleFS/FAT), not firmware',
  },
  {
    name: 'host_ip',
    long: 'host_ip',
    short: 'I',
    kind: 'string',
    espota: true,
    help: 'local address to listen on (default: the one that routes to the device)',
  },
  {
    name: 'host_port',
    integer: true,
    min: 0,
    max: 65535,
    long: 'host_port',
    short: 'P',
    kind: 'number',
    espota: true,
    help: 'local TCP port the device connects to (default: any free port)',
  },
  {
    name: 'md5_target',
    long: 'md5-target',
    short: 'm',
    kind: 'flag',
    espota: true,
    help: 'the device stores an MD5 password hash: skip the SHA-256 try',
  },
  {
    name: 'timeout',
    positive: true,
    long: 'timeout',
    short: 't',
    kind: 'number',
    espota: true,
    help: 'seconds per invitation attempt (default 10)',
  },
  {
    name: 'debug',
    long: 'debug',
    short: 'd',
    kind: 'flag',
    espota: true,
    help: 'show what is sent and received, with times',
  },
  {
    name: 'progress',
    long: 'progress',
    short: 'r',
    kind: 'flag',
    espota: true,
    help: 'draw the progress bar even when not on a terminal',
  },
  {
    name: 'invite_timeout',
    positive: true,
    long: 'invite-timeout',
    kind: 'number',
    help: 'seconds of invitations in total (default 100)',
  },
  {
    name: 'attempts',
    long: 'attempts',
    kind: 'number',
    integer: true,
    min: 1,
    help: 'invitation attempts (default 10)',
  },
  {
    name: 'auth_timeout',
    positive: true,
    long: 'auth-timeout',
    kind: 'number',
    help: 'seconds to wait for the answer to the password (default 45)',
  },
  {
    name: 'connect_timeout',
    positive: true,
    long: 'connect-timeout',
    kind: 'number',
    help: 'seconds to wait for the device to connect back (default 10, adapts)',
  },
  {
    name: 'stall_timeout',
    positive: true,
    long: 'stall-timeout',
    kind: 'number',
    help: 'seconds of device silence during the transfer (default 10)',
  },
  {
    name: 'result_timeout',
    positive: true,
    long: 'result-timeout',
    kind: 'number',
    help: 'seconds to wait for the final OK (default 30)',
  },
  {
    name: 'retries',
    long: 'retries',
    kind: 'number',
    integer: true,
    min: 0,
    help: 'repeat a failed upload N times (default 0)',
  },
  { name: 'compress', long: 'compress', kind: 'flag', help: 'send the image gzip-compressed (ESP8266)' },
  {
    name: 'no_signed',
    long: 'no-signed',
    kind: 'flag',
    help: 'do not substitute FILE.signed (ESP8266 espota does)',
  },
  {
    name: 'chip',
    long: 'chip',
    kind: 'string',
    help: 'expected chip for the pre-flight check (esp32, esp32s3, esp8266, ...)',
  },
  {
    name: 'partitions',
    long: 'partitions',
    kind: 'string',
    help: 'device partition scheme name or CSV/binary file, for the pre-flight size check',
  },
  { name: 'force', long: 'force', kind: 'flag', help: 'skip the pre-flight checks' },
  {
    name: 'json',
    long: 'json',
    kind: 'flag',
    help: 'JSON lines on stdout (phase, progress, warning, result)',
  },
  {
    name: 'interface',
    long: 'interface',
    arg: 'NAME',
    kind: 'string',
    help: 'resolve NAME.local with mDNS on this interface only (name or IPv4 address; lo / 127.0.0.1 for emulated devices)',
  },
  {
    name: 'time_scale',
    positive: true,
    long: 'time-scale',
    kind: 'number',
    help: 'multiply every default wait (for emulated devices)',
    hidden: true,
  },
  // Other protocol families (web OTA, issue 18): a registry pick by name, the web user and firmware.
  {
    name: 'protocol',
    long: 'protocol',
    arg: 'NAME',
    kind: 'string',
    help: 'the protocol for -i DEVICE, as its scheme would (arduino-ota, esphome, http)',
  },
  {
    name: 'user',
    long: 'user',
    arg: 'NAME',
    kind: 'string',
    help: 'web OTA user (or set AIRFLASH_HTTP_USER)',
  },
  {
    name: 'profile',
    long: 'profile',
    arg: 'NAME',
    kind: 'string',
    help: 'web OTA firmware (arduino-esp8266, arduino-esp32, elegantota-v2, elegantota-v3, esphome, tasmota, wled); default: probed',
  },
  { name: 'help', long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
];

/** Whether a token names one of our options (used to split one-line multi-option arguments). */
function isOptionToken(token: string, specs: readonly OptionSpec<string>[]): boolean {
  const m = /^--([A-Za-z][\w-]*)(=.*)?$/.exec(token);
  if (m) {
    const name = m[1] as string;
    return specs.some((s) => s.long === name);
  }
  const sm = /^-([A-Za-z])/.exec(token);
  return sm !== null && specs.some((s) => s.short === sm[1]);
}

/** `--auth=x y` / `--au x` / `-a x` / `-ax` → the option with *** for its value. */
function redactAuth(part: string): string {
  const long = /^(--(?:a|au|aut|auth))(=|\s+)[\s\S]*$/.exec(part);
  if (long) return `${long[1]}${long[2] === '=' ? '=' : ' '}***`;
  if (/^-a/.test(part)) return '-a ***';
  return part;
}

/**
 * Split argv elements that hold several options (`--auth=2357 --port=8266` as ONE argument, which
 * is what PlatformIO passes for a one-line `upload_flags`). Only splits before tokens that are
 * options, so a password with spaces (`--auth=my secret`) stays whole.
 */
export function splitJoinedOptions(
  argv: readonly string[],
  specs: readonly OptionSpec<string>[] = UPLOAD_OPTIONS,
): { argv: string[]; notes: Array<{ code: string; message: string }> } {
  const out: string[] = [];
  const notes: Array<{ code: string; message: string }> = [];
  for (const arg of argv) {
    if (!arg.startsWith('-') || !/\s/.test(arg.trim())) {
      out.push(arg);
      continue;
    }
    const tokens = arg.trim().split(/\s+/);
    const groups: string[][] = [];
    for (const [i, tok] of tokens.entries()) {
      if (i === 0 || isOptionToken(tok, specs)) groups.push([tok]);
      else (groups.at(-1) as string[]).push(tok);
    }
    if (groups.length < 2) {
      out.push(arg);
      continue;
    }
    // Never echo a password: the value of -a / --auth (and any prefix of --auth) shows as ***.
    const parts = groups.map((g) => redactAuth(g.join(' ')));
    for (const [first, ...rest] of groups) {
      const opt = first ?? '';
      // `-a 2357` / `--auth 2357` inside one argument: option and value become two arguments.
      if (rest.length > 0 && !opt.includes('=') && /^(-[A-Za-z]|--[A-Za-z][\w-]*)$/.test(opt))
        out.push(opt, rest.join(' '));
      else out.push([opt, ...rest].join(' '));
    }
    notes.push({
      code: 'SPLIT_ARGUMENT',
      message:
        `A single argument holds several options; read it as ${parts.map((p) => `"${p}"`).join(' ')}. ` +
        'This happens when PlatformIO upload_flags are written on one line (each line becomes ONE argument, so ' +
        'espota.py would take everything after --auth= as the password). Put one flag per line in platformio.ini.',
    });
  }
  return { argv: out, notes };
}

/** Parse `airflash upload` arguments. Throws BAD_ARGUMENT (exit 2) on a usage error. */
export function parseUploadArgs(argv: readonly string[]): ParsedArgs<UploadOptionName> {
  const split = splitJoinedOptions(argv, UPLOAD_OPTIONS);
  const parsed = parseOptions(split.argv, UPLOAD_OPTIONS, {
    command: 'upload',
    accept: (spec, value, into) => {
      if (spec.name !== 'host_ip' || typeof value !== 'string' || !/espota(\.py)?$/i.test(value.trim()))
        return true;
      into.notes.push({
        code: 'IGNORED_PYTHON_FLAG',
        message: `Ignored -I "${value}": in the ESP8266 Arduino recipe -I is Python's isolated-mode flag before the espota.py path, not a host IP.`,
      });
      return false;
    },
  });
  return { ...parsed, notes: [...split.notes, ...parsed.notes] };
}
