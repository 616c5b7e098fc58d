/**
 * Every device the dashboard knows, merged from mDNS (live), the devices file, devices added by
 * hand and the demo fleet. One record per id (the device's name, else address:port).
 */
import { EventEmitter } from 'node:events';
import type { DeviceTarget } from './lib.ts';
import type { FirmwareRecord } from './store.ts';

export type DeviceSource = 'mdns' | 'file' | 'manual' | 'demo';

export interface DeviceInfo {
  name: string;
  address: string;
  port: number;
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

const LIVE_KEYS = new Set<keyof DeviceInfo>(['address', 'port', 'board', 'authRequired']);

const DEFAULT_SCHEME: Record<string, 'md5' | 'sha256'> = {
  esp32: 'sha256',
  'esp32-legacy': 'md5',
  esp8266: 'md5',
};

export function deviceId(name: string | undefined, address: string, port: number): string {
  const slug = (name ?? '')
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug === '' ? `${address}:${port}` : slug;
}

export interface RegistryDeps {
  hasPassword(id: string): boolean;
  lastFirmware(id: string): FirmwareRecord | undefined;
  env: NodeJS.ProcessEnv;
}

/** Emits `change` (DeviceView) whenever a device appears or changes. */
export class DeviceRegistry extends EventEmitter<{ change: [DeviceView] }> {
  #devices = new Map<string, DeviceRecord>();
  #deps: RegistryDeps;

  constructor(deps: RegistryDeps) {
    super();
    this.#deps = deps;
  }

  /** Add or merge a device; returns its id. */
  upsert(source: DeviceSource, info: DeviceInfo, seen?: { online: boolean; at?: number }): string {
    const id = deviceId(info.name, info.address, info.port);
    let record = this.#devices.get(id);
    if (record === undefined) {
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
      // What mDNS says live (address, port, board, password) wins; everything else only fills in
      // what is missing (the devices file knows the core better than a guess from TXT records).
      const merged: DeviceInfo = { ...record.info };
      for (const [key, value] of Object.entries(info) as Array<[keyof DeviceInfo, unknown]>) {
        if (value === undefined) continue;
        if (
          (source === 'mdns' && LIVE_KEYS.has(key)) ||
          (merged as unknown as Record<string, unknown>)[key] === undefined
        ) {
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
    return id;
  }

  remove(id: string, source: DeviceSource): void {
    const record = this.#devices.get(id);
    if (record === undefined) return;
    record.sources.delete(source);
    if (record.sources.size === 0) this.#devices.delete(id);
    this.#emit(record);
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
      sources: [...record.sources].sort(),
      online: record.online,
      lastSeen: record.lastSeen === null ? null : new Date(record.lastSeen).toISOString(),
      board: info.board ?? null,
      core: info.core ?? null,
      chip: info.chip ?? null,
      partitions: info.partitions ?? null,
      auth: { required: info.authRequired ?? null, scheme },
      hasPassword: this.#deps.hasPassword(record.id) || envSet,
      passwordEnv: info.passwordEnv ?? null,
      lastFirmware: this.#deps.lastFirmware(record.id) ?? null,
      busy: record.busy,
    };
  }
}
