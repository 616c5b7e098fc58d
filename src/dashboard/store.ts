/**
 * The dashboard's local state, all in one folder (default `~/.airflash/`):
 *
 * - `passwords.json` (mode 0600, folder 0700): OTA passwords by device id. Written atomically
 *   (temporary file with mode 0600, then rename). Never logged, never sent to the browser.
 * - `devices.json`: devices added by hand in the page.
 * - `history.jsonl`: an append-only log, one JSON object per line. Appending a line is one
 *   `write()` of a complete record, so a crash can at worst leave a torn last line, which the
 *   reader skips. No database server, no native build, readable with `jq`.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What airflash put on a device, as remembered in the history. */
export interface FirmwareRecord {
  name: string;
  size: number;
  md5: string;
  /** The image's app descriptor (project name, version, IDF version ...) when it has one. */
  app?: Record<string, unknown>;
  /** ISO time the device confirmed the update. */
  at: string;
}

export interface ManualDevice {
  name: string;
  address: string;
  port: number;
  core?: 'esp32' | 'esp32-legacy' | 'esp8266';
  chip?: string;
  partitions?: string;
  /** The update protocol (`arduino-ota` when absent). */
  protocol?: string;
}

/** Where a password is used: the device's address and port, and whether it is configured. */
export interface PasswordPlace {
  address: string;
  port: number;
  /** From the devices file, added by hand or the demo (not only announced over mDNS). */
  configured: boolean;
}

interface SavedPassword {
  password: string;
  address?: string;
  port?: number;
}

function isSavedPassword(value: unknown): value is SavedPassword {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['password'] === 'string' && typeof v['address'] === 'string' && typeof v['port'] === 'number'
  );
}

/** One line of history.jsonl. */
export type HistoryLine =
  | {
      type: 'update-start';
      id: string;
      at: string;
      image: { id: string; name: string; size: number; md5: string; app?: Record<string, unknown> };
      devices: Array<{ id: string; name: string; address: string; port: number }>;
      parallel: number;
      canary: number;
      retryOf?: string;
    }
  | {
      type: 'device-result';
      update: string;
      at: string;
      device: string;
      name: string;
      address: string;
      port: number;
      ok: boolean;
      code?: string;
      message?: string;
      seconds: number;
      bytes: number;
      attempts: number;
      warnings: string[];
    }
  | {
      type: 'update-end';
      id: string;
      at: string;
      state: string;
      ok: number;
      failed: number;
      skipped: number;
    };

/** One update as the history shows it (folded from its lines). */
export interface HistoryEntry {
  id: string;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  /** `done`, `stopped`, or `interrupted` when the log has no end (the server stopped mid-update). */
  state: string;
  image: { id: string; name: string; size: number; md5: string; app?: Record<string, unknown> };
  parallel: number;
  canary: number;
  retryOf?: string;
  devices: Array<{
    id: string;
    name: string;
    address: string;
    port: number;
    ok: boolean | null;
    code?: string;
    message?: string;
    seconds?: number;
    bytes?: number;
    attempts?: number;
    warnings?: string[];
  }>;
  summary: { ok: number; failed: number; skipped: number };
}

export class DashboardStore {
  readonly dir: string;
  #passwords = new Map<string, SavedPassword>();
  #manual: ManualDevice[] = [];
  #lines: HistoryLine[] = [];
  #writeChain: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.dir = dir;
  }

  get historyFile(): string {
    return join(this.dir, 'history.jsonl');
  }

  get passwordsFile(): string {
    return join(this.dir, 'passwords.json');
  }

  get devicesFile(): string {
    return join(this.dir, 'devices.json');
  }

  /** Create the folder (0700) and read what is there. */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // mkdir's mode applies only to a folder it creates: tighten one that was already there.
    await chmod(this.dir, 0o700);
    const passwords = await readJson(this.passwordsFile);
    if (passwords !== undefined) {
      // Tighten permissions of a file someone created by hand.
      await chmod(this.passwordsFile, 0o600).catch(() => {});
      if (typeof passwords === 'object' && passwords !== null && !Array.isArray(passwords)) {
        for (const [id, pw] of Object.entries(passwords)) {
          if (typeof pw === 'string') this.#passwords.set(id, { password: pw });
          else if (isSavedPassword(pw)) this.#passwords.set(id, pw);
        }
      }
    }
    const manual = await readJson(this.devicesFile);
    if (Array.isArray(manual)) this.#manual = manual.filter(isManualDevice);
    let text = '';
    try {
      text = await readFile(this.historyFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        const parsed = JSON.parse(line) as HistoryLine;
        if (typeof parsed === 'object' && parsed !== null && typeof parsed.type === 'string') {
          this.#lines.push(parsed);
        }
      } catch {
        // A torn last line after a crash: skip it.
      }
    }
  }

  // ---------------------------------------------------------------- passwords

  /**
   * A saved password applies to the device at the address it was saved for (its pin), never to
   * another device that happens to use the same name. Entries without a pin (written by 0.1.0)
   * apply only to configured devices, whose configured address is their identity.
   */
  hasPassword(deviceId: string, at: PasswordPlace): boolean {
    return this.password(deviceId, at) !== undefined;
  }

  password(deviceId: string, at: PasswordPlace): string | undefined {
    const saved = this.#passwords.get(deviceId);
    if (saved === undefined) return undefined;
    if (saved.address === undefined) return at.configured ? saved.password : undefined;
    return saved.address.toLowerCase() === at.address.toLowerCase() && saved.port === at.port
      ? saved.password
      : undefined;
  }

  /** Save (pinned to `at`) or forget (null) the password of a device. */
  async setPassword(deviceId: string, password: string | null, at?: PasswordPlace): Promise<void> {
    if (password === null || password === '') this.#passwords.delete(deviceId);
    else if (at === undefined) throw new Error('setPassword: a password is saved for an address');
    else this.#passwords.set(deviceId, { password, address: at.address, port: at.port });
    const body = `${JSON.stringify(Object.fromEntries(this.#passwords), null, 2)}\n`;
    await this.#serial(() => atomicWrite(this.passwordsFile, body, 0o600));
  }

  // ---------------------------------------------------------------- manual devices

  manualDevices(): ManualDevice[] {
    return [...this.#manual];
  }

  async addManualDevice(device: ManualDevice): Promise<void> {
    this.#manual = this.#manual.filter((d) => d.name !== device.name);
    this.#manual.push(device);
    const body = `${JSON.stringify(this.#manual, null, 2)}\n`;
    await this.#serial(() => atomicWrite(this.devicesFile, body, 0o600));
  }

  async removeManualDevice(name: string): Promise<boolean> {
    const before = this.#manual.length;
    this.#manual = this.#manual.filter((d) => d.name !== name);
    if (this.#manual.length === before) return false;
    const body = `${JSON.stringify(this.#manual, null, 2)}\n`;
    await this.#serial(() => atomicWrite(this.devicesFile, body, 0o600));
    return true;
  }

  // ---------------------------------------------------------------- history

  /** Append one record as one line (one write call). */
  async append(line: HistoryLine): Promise<void> {
    this.#lines.push(line);
    const text = `${JSON.stringify(line)}\n`;
    await this.#serial(() => appendFile(this.historyFile, text, { encoding: 'utf8', mode: 0o600 }));
  }

  /** Updates, newest first. */
  history(): HistoryEntry[] {
    const entries = new Map<string, HistoryEntry>();
    for (const line of this.#lines) {
      if (line.type === 'update-start') {
        entries.set(line.id, {
          id: line.id,
          startedAt: line.at,
          finishedAt: null,
          durationMs: null,
          state: 'interrupted',
          image: line.image,
          parallel: line.parallel,
          canary: line.canary,
          ...(line.retryOf === undefined ? {} : { retryOf: line.retryOf }),
          devices: line.devices.map((d) => ({ ...d, ok: null })),
          summary: { ok: 0, failed: 0, skipped: 0 },
        });
      } else if (line.type === 'device-result') {
        const entry = entries.get(line.update);
        const device = entry?.devices.find((d) => d.id === line.device);
        if (device === undefined) continue;
        device.ok = line.ok;
        device.seconds = line.seconds;
        device.bytes = line.bytes;
        device.attempts = line.attempts;
        device.warnings = line.warnings;
        if (line.code !== undefined) device.code = line.code;
        if (line.message !== undefined) device.message = line.message;
      } else if (line.type === 'update-end') {
        const entry = entries.get(line.id);
        if (entry === undefined) continue;
        entry.finishedAt = line.at;
        entry.durationMs = Date.parse(line.at) - Date.parse(entry.startedAt);
        entry.state = line.state;
        entry.summary = { ok: line.ok, failed: line.failed, skipped: line.skipped };
      }
    }
    return [...entries.values()].reverse();
  }

  /** The last firmware airflash confirmed on each device id. */
  lastFirmware(): Map<string, FirmwareRecord> {
    const images = new Map<string, HistoryLine & { type: 'update-start' }>();
    const result = new Map<string, FirmwareRecord>();
    for (const line of this.#lines) {
      if (line.type === 'update-start') images.set(line.id, line);
      else if (line.type === 'device-result' && line.ok) {
        const start = images.get(line.update);
        if (start === undefined) continue;
        result.set(line.device, {
          name: start.image.name,
          size: start.image.size,
          md5: start.image.md5,
          ...(start.image.app === undefined ? {} : { app: start.image.app }),
          at: line.at,
        });
      }
    }
    return result;
  }

  /** Wait for pending writes. */
  async flush(): Promise<void> {
    await this.#writeChain;
  }

  #serial(task: () => Promise<void>): Promise<void> {
    const next = this.#writeChain.then(task, task);
    this.#writeChain = next.catch(() => {});
    return next;
  }
}

function isManualDevice(value: unknown): value is ManualDevice {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v['name'] === 'string' &&
    typeof v['address'] === 'string' &&
    typeof v['port'] === 'number' &&
    (v['protocol'] === undefined || typeof v['protocol'] === 'string')
  );
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

async function atomicWrite(file: string, body: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, body, { encoding: 'utf8', mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}
