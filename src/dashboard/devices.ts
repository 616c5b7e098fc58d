/**
 * Every device the dashboard knows, merged from mDNS (live), the devices file, devices added by
 * hand and the demo fleet. One record per id (the device's name, else address:port).
 */
import { EventEmitter } from 'node:events';
import type { DeviceTarget } from './lib.ts';
import type { FirmwareRecord } from './store.ts';

export type DeviceSource = 'mdns' | 'file' | 'manual' | 'demo';

/** The protocol of a device nobody said otherwise about: the espota drop-in. */
export const DEFAULT_PROTOCOL = 'arduino-ota';

/**
 * How the fleet and the probe address a device: a bare host for ArduinoOTA (the family default, as
 * espota), `protocol://host:port` for any other registered protocol (the registry picks by scheme).
 */
export function deviceTarget(address: string, port: number, protocol: string | undefined): string {
  if (protocol === undefined || protocol === DEFAULT_PROTOCOL) return address;
  const host = address.includes(':') ? `[${address}]` : address;
  return `${protocol}://${host}:${port}`;
}

export interface DeviceInfo {
  name: string;
  address: string;
  port: number;
  /** The update protocol it speaks (a registered protocol's id); default `arduino-ota`. */
  protocol?: string | undefined;
  board?: string | undefined;
  core?: string | undefined;
  chip?: string | undefined;
  partitions?: string | undefined;
  flashSize?: string | undefined;
  /** Whether the device asks for a password (mDNS `auth_upload`, or learnt during an update). */
  authRequired?: boolean | undefined;
  /** Name of the environment variable holding the password (devices file). */
  passwordEnv?: string | undefined;
}

/** A device as the API returns it. Never contains a password. */
export interface DeviceView {
  id: string;
  name: string;
  address: string;
  port: number;
  /** The update protocol it speaks (`arduino-ota` unless its source said otherwise). */
  protocol: string;
  sources: DeviceSource[];
  /** true: seen recently / answered; false: announced gone or did not answer; null: not known yet. */
  online: boolean | null;
  lastSeen: string | null;
  board: string | null;
  core: string | null;
  chip: string | null;
  partitions: string | null;
  auth: { required: boolean | null; scheme: 'md5' | 'sha256' | null };
  hasPassword: boolean;
  passwordEnv: string | null;
  lastFirmware: FirmwareRecord | null;
  /** Id of the running update that holds this device, if any. */
  busy: string | null;
  /** Other devices that use the same name at another address (shown, never merged). */
  conflicts: Array<{ id: string; address: string; port: number; sources: DeviceSource[] }>;
}

interface DeviceRecord {
  id: string;
  info: DeviceInfo;
  sources: Set<DeviceSource>;
  online: boolean | null;
  lastSeen: number | null;
  authScheme: 'md5' | 'sha256' | null;
  busy: string | null;
}

/** What mDNS may update live on a device known only from mDNS (a DHCP lease can move it). */
const LIVE_KEYS = new Set<keyof DeviceInfo>(['address', 'port', 'board', 'authRequired']);
/** What mDNS may update on a configured device (file, hand-added, demo): never where it is. */
const CONFIRM_KEYS = new Set<keyof DeviceInfo>(['board', 'authRequired']);
const CONFIGURED = new Set<DeviceSource>(['file', 'manual', 'demo']);

const DEFAULT_SCHEME: Record<string, 'md5' | 'sha256'> = {
  esp32: 'sha256',
  'esp32-legacy': 'md5',
  esp8266: 'md5',
};

/** The name as a key: trimmed, lower case (host names are case-insensitive). Nothing else folded. */
export function nameKey(name: string | undefined): string {
  return (name ?? '').trim().toLowerCase();
}

/** The id a device gets when its name is free: its name key, else `address:port`. */
export function deviceId(name: string | undefined, address: string, port: number): string {
  const key = nameKey(name);
  return key === '' ? `${address}:${port}` : key;
}

export interface RegistryDeps {
  /** Whether a password is saved for this id and pinned to this address and port. */
  hasPassword(id: string, at: { address: string; port: number; configured: boolean }): boolean;
  lastFirmware(id: string): FirmwareRecord | undefined;
  env: NodeJS.ProcessEnv;
}

/**
 * Emits `change` (DeviceView) whenever a device appears or changes.
 *
 * Identity: a configured device (devices file, hand-added, demo) is its configured address. An
 * mDNS announcement merges into it only when it comes from that address; the same name from
 * another address is a second device, and both show the conflict. A name alone never moves a
 * device (or its saved password) to another address.
 */
export class DeviceRegistry extends EventEmitter<{ change: [DeviceView] }> {
  #devices = new Map<string, DeviceRecord>();
  #deps: RegistryDeps;

  constructor(deps: RegistryDeps) {
    super();
    this.#deps = deps;
  }

  /** Add or merge a device; returns its id. */
  upsert(source: DeviceSource, info: DeviceInfo, seen?: { online: boolean; at?: number }): string {
    let record = this.#match(source, info);
    if (record === undefined) {
      let id = deviceId(info.name, info.address, info.port);
      if (this.#devices.has(id)) id = `${id}@${info.address}:${info.port}`;
      for (let n = 2; this.#devices.has(id); n += 1)
        id = `${deviceId(info.name, info.address, info.port)}@${info.address}:${info.port}#${n}`;
      record = {
        id,
        info: { ...info },
        sources: new Set(),
        online: null,
        lastSeen: null,
        authScheme: null,
        busy: null,
      };
      this.#devices.set(id, record);
    } else {
      const configured = [...record.sources].some((s) => CONFIGURED.has(s));
      const live = source !== 'mdns' ? null : configured ? CONFIRM_KEYS : LIVE_KEYS;
      // What mDNS says live wins where allowed; everything else only fills in what is missing
      // (the devices file knows the core better than a guess from TXT records). A configured
      // source re-adding the device (a hand-added one edited) replaces what it says.
      const merged: DeviceInfo = { ...record.info };
      for (const [key, value] of Object.entries(info) as Array<[keyof DeviceInfo, unknown]>) {
        if (value === undefined) continue;
        const current = (merged as unknown as Record<string, unknown>)[key];
        if (live?.has(key) || current === undefined || (live === null && record.sources.has(source))) {
          (merged as unknown as Record<string, unknown>)[key] = value;
        }
      }
      record.info = merged;
    }
    record.sources.add(source);
    if (seen !== undefined) {
      record.online = seen.online;
      if (seen.online) record.lastSeen = seen.at ?? Date.now();
    }
    this.#emit(record);
    this.#emitNamesakes(record);
    return record.id;
  }

  /**
   * The record this announcement or entry belongs to: same name at the same address; or, for
   * mDNS, the same name known only from mDNS (it moved); or, for a configured source, its own
   * earlier entry of that name.
   */
  #match(source: DeviceSource, info: DeviceInfo): DeviceRecord | undefined {
    const key = nameKey(info.name);
    const namesakes = [...this.#devices.values()].filter((r) =>
      key === ''
        ? r.info.address === info.address && r.info.port === info.port
        : nameKey(r.info.name) === key,
    );
    const sameAddress = namesakes.find((r) => r.info.address.toLowerCase() === info.address.toLowerCase());
    if (sameAddress !== undefined) return sameAddress;
    if (source === 'mdns') {
      return namesakes.find((r) => [...r.sources].every((s) => s === 'mdns'));
    }
    return namesakes.find((r) => r.sources.has(source) && r.sources.size === 1);
  }

  #emitNamesakes(record: DeviceRecord): void {
    for (const other of this.#namesakes(record)) this.#emit(other);
  }

  #namesakes(record: DeviceRecord): DeviceRecord[] {
    const key = nameKey(record.info.name);
    if (key === '') return [];
    return [...this.#devices.values()].filter((r) => r !== record && nameKey(r.info.name) === key);
  }

  remove(id: string, source: DeviceSource): void {
    const record = this.#devices.get(id);
    if (record === undefined) return;
    record.sources.delete(source);
    if (record.sources.size === 0) this.#devices.delete(id);
    this.#emit(record);
    this.#emitNamesakes(record);
  }

  /** Record what an update learnt about a device. */
  observe(
    id: string,
    what: { online?: boolean; authRequired?: boolean; authScheme?: 'md5' | 'sha256' },
  ): void {
    const record = this.#devices.get(id);
    if (record === undefined) return;
    if (what.online !== undefined) {
      record.online = what.online;
      if (what.online) record.lastSeen = Date.now();
    }
    if (what.authRequired !== undefined) record.info.authRequired = what.authRequired;
    if (what.authScheme !== undefined) record.authScheme = what.authScheme;
    this.#emit(record);
  }

  setBusy(id: string, updateId: string | null): void {
    const record = this.#devices.get(id);
    if (record === undefined) return;
    record.busy = updateId;
    this.#emit(record);
  }

  /** Re-send a device (after its password or firmware record changed). */
  touch(id: string): void {
    const record = this.#devices.get(id);
    if (record !== undefined) this.#emit(record);
  }

  get(id: string): DeviceView | undefined {
    const record = this.#devices.get(id);
    return record === undefined ? undefined : this.#view(record);
  }

  /** Where the device is, for the saved password's pin. */
  place(id: string): { address: string; port: number; configured: boolean } | undefined {
    const record = this.#devices.get(id);
    if (record === undefined) return undefined;
    return {
      address: record.info.address,
      port: record.info.port,
      configured: [...record.sources].some((s) => CONFIGURED.has(s)),
    };
  }

  info(id: string): DeviceInfo | undefined {
    return this.#devices.get(id)?.info;
  }

  target(id: string): DeviceTarget {
    const info = this.#devices.get(id)?.info;
    return {
      core: info?.core ?? null,
      chip: info?.chip ?? null,
      partitions: info?.partitions ?? null,
      flashSize: info?.flashSize ?? null,
    };
  }

  list(): DeviceView[] {
    return [...this.#devices.values()]
      .map((r) => this.#view(r))
      .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  }

  #emit(record: DeviceRecord): void {
    this.emit('change', this.#view(record));
  }

  #view(record: DeviceRecord): DeviceView {
    const { info } = record;
    const envSet = info.passwordEnv !== undefined && (this.#deps.env[info.passwordEnv] ?? '') !== '';
    const scheme =
      record.authScheme ?? (info.core !== undefined ? (DEFAULT_SCHEME[info.core] ?? null) : null);
    return {
      id: record.id,
      name: info.name,
      address: info.address,
      port: info.port,
      protocol: info.protocol ?? DEFAULT_PROTOCOL,
      sources: [...record.sources].sort(),
      online: record.online,
      lastSeen: record.lastSeen === null ? null : new Date(record.lastSeen).toISOString(),
      board: info.board ?? null,
      core: info.core ?? null,
      chip: info.chip ?? null,
      partitions: info.partitions ?? null,
      auth: { required: info.authRequired ?? null, scheme },
      hasPassword:
        this.#deps.hasPassword(record.id, {
          address: info.address,
          port: info.port,
          configured: [...record.sources].some((s) => CONFIGURED.has(s)),
        }) || envSet,
      conflicts: this.#namesakes(record).map((r) => ({
        id: r.id,
        address: r.info.address,
        port: r.info.port,
        sources: [...r.sources].sort(),
      })),
      passwordEnv: info.passwordEnv ?? null,
      lastFirmware: this.#deps.lastFirmware(record.id) ?? null,
      busy: record.busy,
    };
  }
}
