/**
 * Which devices a fleet upload goes to: `--target` specs, the devices file and (for `--all`,
 * `--board`, `--name`) mDNS, and the defaults the command line gives every target.
 *
 * For the integrator: this is rollout policy (target selection) that belongs with the library's
 * fleet (src/fleet/, S5's slice); it lives here until it moves there, so the CLI only calls it.
 */
import { isIP } from 'node:net';
import { AirflashError, toAirflashError } from '../core/errors.ts';
import { DEFAULT_PORT } from '../devices/family.ts';
import type { DeviceRecord, DiscoveredDevice } from '../discovery/index.ts';
import type { FleetTarget } from '../fleet/fleet.ts';
import { type FleetValues, usage } from './fleet-options.ts';
import { mdnsSettings } from './mdns.ts';
import type { CliIO } from './types.ts';

/** `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address. */
export function parseTargetSpec(spec: string): { host: string; port?: number } {
  const s = spec.trim();
  if (s === '') throw usage('--target needs HOST or HOST:PORT.');
  // A URL (http://HOST[:PORT], esphome://HOST[:PORT]) is the protocol's to read.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return { host: s };
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
  values: FleetValues,
  io: CliIO,
  warn: (message: string) => void,
): Promise<FleetTarget[]> {
  const discovery = await import('../discovery/index.ts');
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
    const timeoutMs = values.discoverTimeoutMs ?? 3000;
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

/**
 * The command line's defaults for every target that has none of its own: the shared password
 * (`-a`, else AIRFLASH_PASSWORD), `--port` (else 8266 for an ESP8266 named by chip), `--chip`
 * and `--partitions`.
 */
export function applyTargetDefaults(
  targets: FleetTarget[],
  values: FleetValues,
  env: NodeJS.ProcessEnv,
  defaultPort: number | undefined,
): void {
  const given = values.auth;
  const envPassword = env['AIRFLASH_PASSWORD'];
  const sharedPassword = given !== undefined && given !== '' ? given : envPassword || undefined;
  for (const t of targets) {
    if (t.password === undefined && sharedPassword !== undefined) t.password = sharedPassword;
    if (t.port === undefined && defaultPort !== undefined) t.port = defaultPort;
    if (t.port === undefined && t.core === undefined && t.chip === 'esp8266') t.port = DEFAULT_PORT.esp8266;
    if (t.chip === undefined && values.chip !== undefined) t.chip = values.chip;
    if (t.partitions === undefined && values.partitions !== undefined) t.partitions = values.partitions;
  }
}
