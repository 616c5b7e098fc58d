/**
 * `airflash upload` for several devices: `--target` (repeatable), `--devices FILE`, or a
 * discovery filter (`--all`, `--board`, `--name`). `airflash upload` hands the whole argv here
 * when one of those options is present; `-i` keeps espota's single-device meaning.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { AirflashError, EXIT, exitCodeFor, exitCodeForCode, toAirflashError } from '../../core/errors.ts';
import { DEFAULT_PORT } from '../../devices/family.ts';
import type { MdnsBrowse } from '../../diagnosis/index.ts';
import type { DeviceRecord, DiscoveredDevice } from '../../discovery/index.ts';
import {
  type FleetEvent,
  type FleetOptions,
  type FleetSummary,
  type FleetTarget,
  type FleetUploadOptions,
  uploadFleet,
} from '../../fleet/fleet.ts';
import { hostResolver, mdnsSettings } from '../mdns.ts';
import { type CommandValues, type OptionSpec, parseCommandArgs } from '../options.ts';
import { safeBlock, safeJson, safeText } from '../render/safe-text.ts';
import { cliHint, renderError } from '../render-error.ts';
import type { CliIO } from '../types.ts';

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
  { long: 'discover-timeout', kind: 'number', arg: 'S', help: 'how long to browse mDNS (default 3)' },
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
  { long: 'port', short: 'p', kind: 'number', arg: 'N', help: 'OTA port for targets that name none' },
  { long: 'parallel', kind: 'number', arg: 'N', help: 'devices at the same time (default 4)' },
  { long: 'retries', kind: 'number', arg: 'N', help: 'retries of a transient failure (default 1)' },
  { long: 'canary', kind: 'number', arg: 'N', help: 'update N devices first' },
  { long: 'canary-timeout', kind: 'number', arg: 'S', help: 'how long a canary may take to come back' },
  { long: 'max-failures', kind: 'number', arg: 'K', help: 'stop the rollout after K failed devices' },
  { long: 'dry-run', kind: 'flag', help: 'show what would be done to whom; sends nothing' },
  { long: 'probe-timeout', kind: 'number', arg: 'S', help: 'probe wait before a device is offline' },
  { long: 'no-probe', kind: 'flag', help: 'do not probe first' },
  { long: 'chip', kind: 'string', arg: 'C', help: 'pre-flight chip expectation' },
  { long: 'partitions', kind: 'string', arg: 'P', help: 'pre-flight partition scheme' },
  { long: 'force', kind: 'flag', help: 'skip the pre-flight checks' },
  { long: 'host_ip', short: 'I', kind: 'string', arg: 'IP', help: 'local address to listen on' },
  { long: 'md5-target', short: 'm', kind: 'flag', help: 'the devices store an MD5 password hash' },
  { long: 'timeout', short: 't', kind: 'number', arg: 'S', help: 'seconds per invitation attempt' },
  { long: 'attempts', kind: 'number', arg: 'N', help: 'invitation attempts' },
  { long: 'auth-timeout', kind: 'number', arg: 'S', help: 'password answer wait' },
  { long: 'connect-timeout', kind: 'number', arg: 'S', help: 'connect-back wait' },
  { long: 'stall-timeout', kind: 'number', arg: 'S', help: 'device silence during the transfer' },
  { long: 'result-timeout', kind: 'number', arg: 'S', help: 'final OK wait' },
  { long: 'compress', kind: 'flag', help: 'send gzip-compressed (ESP8266)' },
  { long: 'no-signed', kind: 'flag', help: 'do not substitute FILE.signed' },
  { long: 'time-scale', kind: 'number', arg: 'F', help: 'multiply every default wait', hidden: true },
  { long: 'json', kind: 'flag', help: 'one JSON object per line' },
  { long: 'report', kind: 'string', arg: 'FILE', complete: 'file', help: 'the same as one JSON document' },
  { long: 'progress', short: 'r', kind: 'flag', help: 'the multi-line display even off a terminal' },
  { long: 'ip', short: 'i', kind: 'string', arg: 'DEVICE', help: 'one device (not with the fleet options)' },
  { long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
] as const satisfies readonly OptionSpec[];

type Values = CommandValues<typeof FLEET_OPTIONS>;

function usage(message: string, hint = 'Run "airflash upload --help" and see docs/fleet.md.'): AirflashError {
  return new AirflashError('BAD_ARGUMENT', message, { hint });
}

function numberOf(
  values: Values,
  key: keyof Values,
  opts: { integer?: boolean; min?: number } = {},
): number | undefined {
  const raw = values[key];
  if (typeof raw !== 'string') return undefined;
  const n = Number(raw);
  const min = opts.min ?? 0;
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || (opts.integer && !Number.isInteger(n)))
    throw usage(
      `--${key} must be ${opts.integer ? 'a whole number' : 'a number'} of at least ${min}, not "${raw}".`,
    );
  return n;
}

function secondsOf(values: Values, key: keyof Values): number | undefined {
  const s = numberOf(values, key);
  if (s === undefined) return undefined;
  if (s <= 0) throw usage(`--${key} must be more than 0 seconds.`);
  return Math.round(s * 1000);
}

/** `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address. */
export function parseTargetSpec(spec: string): { host: string; port?: number } {
  const s = spec.trim();
  if (s === '') throw usage('--target needs HOST or HOST:PORT.');
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  let host = s;
  let portText: string | undefined;
  if (bracket) {
    host = bracket[1] as string;
    portText = bracket[2];
  } else if (isIP(s) === 6) host = s;
  else {
    const i = s.lastIndexOf(':');
    if (i > 0) {
      host = s.slice(0, i);
      portText = s.slice(i + 1);
    }
  }
  if (portText === undefined) return { host };
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535)
    throw usage(`--target ${spec}: "${portText}" is not a port (1-65535).`);
  return { host, port };
}

/** Shell-style glob (`*`, `?`), case-insensitive, whole name. */
export function globMatch(glob: string, name: string): boolean {
  const re = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

/**
 * A devices-file entry as a fleet target. `explicitPassword` (the `-a` given for a `--target`
 * that names this entry) wins over the entry's passwordEnv. A passwordEnv that is not set makes
 * the target unusable (reported for that device), not the whole command.
 */
function recordTarget(
  rec: DeviceRecord,
  env: NodeJS.ProcessEnv,
  devicePassword: (r: DeviceRecord, e: NodeJS.ProcessEnv) => string | undefined,
  explicitPassword?: string,
): FleetTarget {
  let password = explicitPassword;
  let unusable: AirflashError | undefined;
  if (password === undefined) {
    try {
      password = devicePassword(rec, env);
    } catch (error) {
      unusable = toAirflashError(error);
    }
  }
  return {
    name: rec.name,
    host: rec.address,
    ...(rec.port === undefined ? {} : { port: rec.port }),
    ...(rec.core === undefined ? {} : { core: rec.core }),
    ...(rec.chip === undefined ? {} : { chip: rec.chip }),
    ...(rec.partitions === undefined ? {} : { partitions: rec.partitions }),
    ...(password === undefined ? {} : { password }),
    ...(unusable === undefined ? {} : { unusable }),
  };
}

function bareName(name: string): string {
  return name.replace(/\.local\.?$/i, '');
}

/** Work out the devices from the arguments, the devices file and (for filters) mDNS. */
export async function resolveFleetTargets(
  values: Values,
  io: CliIO,
  warn: (message: string) => void,
): Promise<FleetTarget[]> {
  const discovery = await import('../../discovery/index.ts');
  const records = await discovery.loadDevicesFile(values.devices, io.cwd, {
    onWarning: warn,
    signal: io.signal,
  });
  const targets: FleetTarget[] = [];
  const seen = new Set<string>();
  const add = (t: FleetTarget): void => {
    const key = t.name.toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    targets.push(t);
  };
  const fromRecord = (rec: DeviceRecord): FleetTarget => recordTarget(rec, io.env, discovery.devicePassword);
  const byName = (name: string): DeviceRecord | undefined =>
    records.find((r) => r.name.toLowerCase() === bareName(name).toLowerCase());

  // -a given with --target is the password for the devices named there, even when the devices
  // file gives one of them a passwordEnv (said in a warning, so the choice is visible).
  const explicitAuth = values.auth !== undefined && values.auth !== '' ? values.auth : undefined;
  for (const spec of values.target ?? []) {
    const { host, port } = parseTargetSpec(spec);
    const rec =
      byName(spec) ??
      records.find(
        (r) =>
          r.address.toLowerCase() === host.toLowerCase() && (port === undefined || (r.port ?? port) === port),
      );
    if (rec) {
      const source = values.devices ?? 'airflash.devices.json';
      if (explicitAuth !== undefined && rec.passwordEnv !== undefined)
        warn(
          `--target ${spec} is "${rec.name}" in ${source}: its port, chip and partitions come from there, its password from -a (not $${rec.passwordEnv}).`,
        );
      const target = recordTarget(rec, io.env, discovery.devicePassword, explicitAuth);
      add({ ...target, ...(port === undefined ? {} : { port }) });
    } else add({ name: spec, host, ...(port === undefined ? {} : { port }) });
  }

  const filtered = values.all === true || values.board !== undefined || values.name !== undefined;
  if (filtered) {
    const names = values.name ?? [];
    const board = values.board?.toLowerCase();
    const nameOk = (n: string): boolean =>
      names.length === 0 || names.some((g) => globMatch(g, n) || globMatch(g, bareName(n)));
    const timeoutMs = secondsOf(values, 'discover-timeout') ?? 3000;
    let found: DiscoveredDevice[] = [];
    try {
      found = await discovery.discoverAll({
        timeoutMs,
        signal: io.signal,
        ...mdnsSettings(values.interface, io.env),
      });
    } catch (error) {
      const e = toAirflashError(error);
      if (e.code === 'INTERRUPTED') throw e;
      warn(`mDNS browsing failed (${e.message}); using the devices file only.`);
    }
    for (const d of found) {
      if (!nameOk(d.name) && !nameOk(d.host)) continue;
      if (board !== undefined && d.board?.toLowerCase() !== board && d.core !== board) continue;
      const rec = byName(d.name) ?? byName(d.host);
      const address = d.addresses[0] ?? d.host;
      if (rec) {
        // A devices-file entry is its address: an announcement of its name from elsewhere is a
        // namesake (maybe an impostor), never given the entry's password; the entry is used as is.
        const here = [...d.addresses, d.host].some((a) => a.toLowerCase() === rec.address.toLowerCase());
        if (here) add({ ...fromRecord(rec), ...(rec.port === undefined ? { port: d.port } : {}) });
        else
          warn(
            `"${d.name}" is announced over mDNS from ${address}, but the devices file puts it at ${rec.address}: the announcement is ignored, the file's address is used.`,
          );
      } else
        add({
          name: d.name,
          host: address,
          port: d.port,
          ...(d.core === undefined ? {} : { core: d.core }),
        });
    }
    // The devices file is the fallback where multicast does not get through.
    for (const rec of records) {
      if (!nameOk(rec.name)) continue;
      if (board !== undefined && rec.chip !== board && rec.core !== board) continue;
      add(fromRecord(rec));
    }
    if (targets.length === 0)
      throw new AirflashError(
        'DISCOVERY_FAILED',
        `No device matched${names.length > 0 ? ` --name ${names.join(', ')}` : ''}${board === undefined ? '' : ` --board ${values.board}`} (${found.length} found over mDNS in ${timeoutMs / 1000} s, ${records.length} in the devices file).`,
        {
          hint: 'Check the filter (airflash discover lists what answers), give a longer --discover-timeout, or list the devices in airflash.devices.json.',
        },
      );
  } else if ((values.target ?? []).length === 0) {
    if (records.length === 0)
      throw new AirflashError(
        'DEVICES_FILE',
        `The devices file ${values.devices ?? 'airflash.devices.json'} lists no device.`,
        {
          hint: 'Add devices to it, or name them with --target.',
        },
      );
    for (const rec of records) add(fromRecord(rec));
  }
  return targets;
}

// ------------------------------------------------------------------ rendering

interface Line {
  name: string;
  phase: string;
  bytes: number;
  total: number;
  done: boolean;
}

const PHASE_TEXT: Record<string, string> = {
  queued: 'waiting',
  probe: 'probing',
  resolve: 'resolving',
  prepare: 'reading the image',
  preflight: 'checking',
  invite: 'inviting',
  auth: 'authenticating',
  connect: 'waiting for the connect-back',
  transfer: 'uploading',
  result: 'waiting for OK',
  done: 'done',
  'retry-wait': 'retrying soon',
  'reboot-wait': 'waiting for it to come back',
};

function bar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.floor(f * width);
  return `[${'='.repeat(full)}${full < width ? '>' : ''}${' '.repeat(Math.max(0, width - full - 1))}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

/**
 * The most likely cause and the first next step from whatever the diagnosis returned (the
 * diagnosis module's `{ summary, causes: [{ title, next: [...] }] }`, or the basic one).
 */
export function diagnosisText(diagnosis: unknown): { why?: string; next?: string } {
  if (typeof diagnosis !== 'object' || diagnosis === null) return {};
  const { summary, causes } = diagnosis as { summary?: unknown; causes?: unknown };
  const out: { why?: string; next?: string } = {};
  const first: unknown = Array.isArray(causes) ? causes[0] : undefined;
  if (typeof first === 'object' && first !== null) {
    const { title, next } = first as { title?: unknown; next?: unknown };
    if (typeof title === 'string') out.why = title;
    else if (typeof summary === 'string') out.why = summary;
    if (typeof next === 'string') out.next = next;
    else if (Array.isArray(next) && typeof next[0] === 'string') out.next = next[0];
  } else if (typeof summary === 'string') out.why = summary;
  return out;
}

type Mode = 'json' | 'live' | 'plain';

class FleetRenderer {
  private readonly lines = new Map<string, Line>();
  private drawn = 0;
  private lastDraw = 0;
  private readonly percentShown = new Map<string, number>();
  private readonly jsonPercent = new Map<string, number>();
  readonly events: FleetEvent[] = [];
  private readonly io: CliIO;
  private readonly mode: Mode;
  private readonly width: number;
  private readonly keepEvents: boolean;

  constructor(io: CliIO, mode: Mode, keepEvents: boolean, names: string[]) {
    this.io = io;
    this.mode = mode;
    this.keepEvents = keepEvents;
    this.width = Math.min(32, Math.max(8, ...names.map((n) => n.length)));
  }

  /** Device names, devices-file names and device texts are in there: printed escaped. */
  private err(text: string): void {
    this.io.stderr.write(safeBlock(text));
  }

  /** Keep progress to one event per device and 5 % step (JSON and the report). */
  private worthKeeping(e: FleetEvent): boolean {
    if (e.type === 'retry') this.jsonPercent.delete(e.device);
    if (e.type !== 'progress') return true;
    const step = e.total === 0 ? 20 : Math.floor((20 * e.bytes) / e.total);
    if (this.jsonPercent.get(e.device) === step) return false;
    this.jsonPercent.set(e.device, step);
    return true;
  }

  event(e: FleetEvent): void {
    const keep = this.worthKeeping(e);
    if (keep && this.keepEvents) this.events.push(e);
    if (this.mode === 'json') {
      if (keep) this.io.stdout.write(`${safeJson(e)}\n`);
      return;
    }
    if (this.mode === 'live') this.live(e);
    else this.plain(e);
  }

  private label(name: string): string {
    return name.length > this.width ? `${name.slice(0, this.width - 1)}…` : name.padEnd(this.width);
  }

  private resultLine(e: Extract<FleetEvent, { type: 'result' }>): string {
    const mark =
      e.status === 'ok'
        ? 'ok     '
        : e.status === 'failed'
          ? 'FAILED '
          : e.status === 'skipped'
            ? 'skipped'
            : e.status === 'planned'
              ? 'plan   '
              : 'aborted';
    const detail = e.ok || e.code === null ? e.message : `${e.code}: ${e.message}`;
    let text = `${this.label(e.device)}  ${mark}  ${detail}`;
    if (e.status === 'failed') {
      const d = diagnosisText(e.diagnosis);
      if (d.why && d.why !== e.message) text += `\n${' '.repeat(this.width + 11)}likely: ${d.why}`;
      if (d.next) text += `\n${' '.repeat(this.width + 11)}next: ${d.next}`;
    }
    return `${text}\n`;
  }

  private plain(e: FleetEvent): void {
    switch (e.type) {
      case 'plan':
        if (e.action === 'skip') this.err(`${e.device}: ${e.message}\n`);
        break;
      case 'phase':
        if (e.phase === 'probe' || e.phase === 'transfer' || e.phase === 'reboot-wait')
          this.err(`${e.device}: ${PHASE_TEXT[e.phase]}\n`);
        break;
      case 'progress': {
        const pct = e.total === 0 ? 100 : Math.floor((100 * e.bytes) / e.total);
        const step = Math.floor(pct / 25) * 25;
        if (step > (this.percentShown.get(e.device) ?? -1) && step > 0) {
          this.percentShown.set(e.device, step);
          this.err(`${e.device}: ${step}%\n`);
        }
        break;
      }
      case 'warning':
        this.err(`${e.device ?? 'image'}: warning: ${e.message}\n`);
        break;
      case 'hint':
        this.err(`${e.device}: note: ${e.message}\n`);
        break;
      case 'retry':
        this.percentShown.delete(e.device);
        this.err(
          `${e.device}: attempt ${e.attempt} of ${e.of} failed (${e.code}); again in ${(e.delayMs / 1000).toFixed(1)} s\n`,
        );
        break;
      case 'result':
        this.err(this.resultLine(e));
        break;
      case 'stopped':
        this.err(`rollout stopped: ${e.message}\n`);
        break;
      case 'summary':
        break;
    }
  }

  private live(e: FleetEvent): void {
    const permanent: string[] = [];
    switch (e.type) {
      case 'plan':
        this.lines.set(e.device, { name: e.device, phase: 'queued', bytes: 0, total: 0, done: false });
        return;
      case 'phase': {
        const l = this.lines.get(e.device);
        if (l) l.phase = e.phase;
        break;
      }
      case 'progress': {
        const l = this.lines.get(e.device);
        if (l) {
          l.bytes = e.bytes;
          l.total = e.total;
        }
        break;
      }
      case 'warning':
        permanent.push(`${e.device ?? 'image'}: warning: ${e.message}\n`);
        break;
      case 'hint':
        break;
      case 'retry': {
        const l = this.lines.get(e.device);
        if (l) l.bytes = 0;
        permanent.push(
          `${this.label(e.device)}  retry    attempt ${e.attempt} of ${e.of} failed (${e.code}: ${e.message})\n`,
        );
        break;
      }
      case 'result': {
        const l = this.lines.get(e.device);
        if (l) l.done = true;
        permanent.push(this.resultLine(e));
        break;
      }
      case 'stopped':
        permanent.push(`rollout stopped: ${e.message}\n`);
        break;
      case 'summary':
        break;
    }
    const now = Date.now();
    if (permanent.length === 0 && e.type !== 'summary' && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.redraw(permanent, e.type === 'summary');
  }

  private redraw(permanent: string[], final: boolean): void {
    // The cursor movements are ours; everything else is escaped.
    let out = this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[0J` : '';
    out += permanent.map(safeBlock).join('');
    const active = [...this.lines.values()].filter((l) => !l.done && l.phase !== 'queued');
    const waiting = [...this.lines.values()].filter((l) => !l.done && l.phase === 'queued').length;
    const done = [...this.lines.values()].filter((l) => l.done).length;
    const rows: string[] = [];
    if (!final) {
      for (const l of active) {
        const frac = l.total > 0 ? l.bytes / l.total : 0;
        rows.push(`${this.label(l.name)}  ${bar(frac, 24)}  ${PHASE_TEXT[l.phase] ?? l.phase}`);
      }
      rows.push(`${done} of ${this.lines.size} done, ${active.length} running, ${waiting} waiting`);
    }
    out += rows.map((r) => `${safeText(r)}\x1b[K\n`).join('');
    this.drawn = rows.length;
    this.io.stderr.write(out);
  }
}

function summaryText(s: FleetSummary): string {
  const parts = [
    `${s.ok} updated`,
    `${s.failed} failed`,
    `${s.skipped} skipped (offline)`,
    `${s.aborted} not started`,
  ];
  if (s.dryRun)
    return `dry run: ${s.devices.planned.length} device(s) would be updated, ${s.failed} cannot be (refused by the pre-flight, or see the device's line); nothing was sent.\n`;
  return `${parts.join(', ')} in ${s.seconds.toFixed(1)} s${s.stopped ? ` — rollout stopped (${s.stopped.reason}): ${s.stopped.message}` : ''}\n`;
}

/**
 * 0 all updated, 4 some failed or skipped, 3 none updated because every device was refused by
 * the pre-flight, 1 none updated otherwise or the rollout stopped, 130 interrupted.
 */
export function fleetExitCode(s: FleetSummary): number {
  if (s.stopped?.reason === 'interrupted') return EXIT.interrupted;
  if (s.stopped) return EXIT.failed;
  const good = s.dryRun ? s.devices.planned.length : s.ok;
  if (good === s.results.length) return EXIT.ok;
  if (good > 0) return EXIT.partial;
  const refused = s.results.every(
    (r) => typeof r.code === 'string' && exitCodeForCode(r.code) === EXIT.preflight,
  );
  return s.results.length > 0 && refused ? EXIT.preflight : EXIT.failed;
}

/** `airflash upload` with several devices. */
export async function runFleetUpload(argv: string[], io: CliIO): Promise<number> {
  const wantsJson = argv.includes('--json');
  const fail = (error: unknown): number => {
    const e = toAirflashError(error);
    if (wantsJson)
      io.stdout.write(
        `${safeJson({ type: 'error', device: null, code: e.code, message: e.message, ...(cliHint(e) === undefined ? {} : { hint: cliHint(e) }) })}\n`,
      );
    io.stderr.write(renderError(e));
    return exitCodeFor(e);
  };
  let values: Values;
  try {
    const parsed = parseCommandArgs(argv, FLEET_OPTIONS, 'upload');
    values = parsed.values;
    if (values.help === true) {
      io.stdout.write(FLEET_HELP);
      return EXIT.ok;
    }
    if (parsed.positionals.length > 0) throw usage(`Unexpected argument "${parsed.positionals[0]}".`);
    if (values.ip !== undefined)
      throw usage(
        '-i names one device (espota meaning) and cannot be combined with --target, --devices or a discovery filter.',
        'Use --target HOST[:PORT] once per device, or drop the fleet options to upload to one device with -i.',
      );
    if (values.file === undefined) throw usage('No image given: -f FILE is missing.');
  } catch (error) {
    if (error instanceof AirflashError) return fail(error);
    return fail(usage((error as Error).message));
  }

  const json = values.json === true;
  const mode: Mode = json ? 'json' : values.progress === true || io.isTTY ? 'live' : 'plain';
  const warnings: string[] = [];
  let options: FleetOptions;
  try {
    const timeScale = numberOf(values, 'time-scale');
    if (timeScale !== undefined && timeScale <= 0) throw usage('--time-scale must be more than 0.');
    const defaultPortNum = numberOf(values, 'port', { integer: true, min: 1 });
    if (defaultPortNum !== undefined && defaultPortNum > 65535) throw usage('--port must be 1-65535.');
    const targets = await resolveFleetTargets(values, io, (m) => warnings.push(m));
    const given = values.auth;
    const envPassword = io.env['AIRFLASH_PASSWORD'];
    const sharedPassword = given !== undefined && given !== '' ? given : envPassword || undefined;
    for (const t of targets) {
      if (t.password === undefined && sharedPassword !== undefined) t.password = sharedPassword;
      if (t.port === undefined && defaultPortNum !== undefined) t.port = defaultPortNum;
      if (t.port === undefined && t.core === undefined && t.chip === 'esp8266') t.port = DEFAULT_PORT.esp8266;
      if (t.chip === undefined && values.chip !== undefined) t.chip = values.chip;
      if (t.partitions === undefined && values.partitions !== undefined) t.partitions = values.partitions;
    }
    const upload: FleetUploadOptions = {};
    const attemptMs = secondsOf(values, 'timeout');
    if (attemptMs !== undefined) upload.attemptTimeoutMs = attemptMs;
    const attempts = numberOf(values, 'attempts', { integer: true, min: 1 });
    if (attempts !== undefined) upload.inviteAttempts = attempts;
    const map = [
      ['auth-timeout', 'authTimeoutMs'],
      ['connect-timeout', 'connectTimeoutMs'],
      ['stall-timeout', 'stallTimeoutMs'],
      ['result-timeout', 'resultTimeoutMs'],
    ] as const;
    for (const [flag, key] of map) {
      const ms = secondsOf(values, flag);
      if (ms !== undefined) upload[key] = ms;
    }
    if (values.host_ip !== undefined) upload.hostIp = values.host_ip;
    if (values['md5-target'] === true) upload.md5Target = true;
    if (values.compress === true) upload.compress = true;
    if (values['no-signed'] === true) upload.signed = false;
    upload.resolve = hostResolver(mdnsSettings(values.interface, io.env));
    const parallel = numberOf(values, 'parallel', { integer: true, min: 1 });
    const retries = numberOf(values, 'retries', { integer: true });
    const canary = numberOf(values, 'canary', { integer: true });
    const maxFailures = numberOf(values, 'max-failures', { integer: true, min: 1 });
    const probeTimeoutMs = secondsOf(values, 'probe-timeout');
    const canaryTimeoutMs = secondsOf(values, 'canary-timeout');
    options = {
      targets,
      image: resolve(io.cwd, values.file as string),
      filesystem: values.spiffs === true,
      upload,
      signal: io.signal,
      ...(parallel === undefined ? {} : { parallel }),
      ...(retries === undefined ? {} : { retries }),
      ...(canary === undefined ? {} : { canary }),
      ...(maxFailures === undefined ? {} : { maxFailures }),
      ...(probeTimeoutMs === undefined ? {} : { probeTimeoutMs }),
      ...(canaryTimeoutMs === undefined ? {} : { canaryTimeoutMs }),
      ...(timeScale === undefined ? {} : { timeScale }),
      ...(values['dry-run'] === true ? { dryRun: true } : {}),
      ...(values['no-probe'] === true ? { probe: false } : {}),
      ...(values.force === true ? { force: true } : {}),
    };
  } catch (error) {
    return fail(error);
  }

  const renderer = new FleetRenderer(
    io,
    mode,
    values.report !== undefined,
    options.targets.map((t) => t.name),
  );
  for (const message of warnings)
    renderer.event({ type: 'warning', device: null, code: 'DEVICES_FILE', message });
  let summary: FleetSummary;
  try {
    const browse: MdnsBrowse = async (o) => (await import('../../discovery/index.ts')).discoverAll(o);
    summary = await uploadFleet({ browse, ...options, onEvent: (e) => renderer.event(e) });
  } catch (error) {
    return fail(error);
  }
  if (mode !== 'json') io.stdout.write(safeBlock(summaryText(summary)));
  if (values.report !== undefined) {
    const report = {
      type: 'airflash-fleet-report',
      version: 1,
      image: values.file,
      events: renderer.events,
      summary: { ...summary, results: undefined },
      results: summary.results,
    };
    try {
      // Owner-only: the report names devices, addresses and errors (0600 also over an existing file).
      const path = resolve(io.cwd, values.report);
      await chmod(path, 0o600).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      await writeFile(path, `${safeJson(report, 2)}\n`, { mode: 0o600 });
    } catch (error) {
      io.stderr.write(
        safeBlock(`airflash: cannot write the report ${values.report}: ${(error as Error).message}\n`),
      );
      return EXIT.failed;
    }
  }
  return fleetExitCode(summary);
}
