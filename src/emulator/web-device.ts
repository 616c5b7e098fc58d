/**
 * An emulated board with a web updater: the shared ESP32 board (src/emulator/board/) with one
 * firmware profile's HTTP server (src/protocols/web-ota/device/) mounted on it, on TCP (default
 * port 80). Started by startDevice({ protocol: 'http', profile }). After a successful update the
 * firmware restarts, the HTTP server is gone while the board boots, and the version it reports is
 * the new image's app descriptor version.
 */
import type { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { AirflashError } from '../core/errors.ts';
import type { PartitionTable } from '../formats/index.ts';
import { type WebCounters, WebOtaShell } from '../protocols/web-ota/device/shell.ts';
import { isProfileId, PROFILE_IDS, type ProfileId } from '../protocols/web-ota/wire/profiles/index.ts';
import { BoardClock } from './board/clock.ts';
import { Esp32Board } from './board/esp32-board.ts';
import { parseFault } from './board/faults.ts';
import { seedFromText } from './board/firmware.ts';
import { CORE_MOUNTS } from './core-mounts.ts';
import { DeviceEvents } from './device-events.ts';
import { checkAddress, nonNegative } from './device-options.ts';
import { ShellDevice } from './shell-device.ts';
import type { DeviceCounters, DeviceOptions, DeviceState, EmulatedDevice } from './types.ts';

const DEFAULT_VERSION: Record<ProfileId, string> = {
  'arduino-esp8266': '1.0.0',
  'arduino-esp32': '1.0.0',
  'elegantota-v2': '1.0.0',
  'elegantota-v3': '1.0.0',
  esphome: '2025.12.0',
  tasmota: '14.1.0',
  wled: '0.15.0',
};

/** The `version` of the ESP32 app descriptor of the image at `offset` (the emulator's own reading). */
function descriptorVersion(board: Esp32Board, offset: number): string | undefined {
  const d = board.flash.read(offset + 32, 48);
  if (d[0] !== 0x32 || d[1] !== 0x54 || d[2] !== 0xcd || d[3] !== 0xab) return undefined;
  const field = d.subarray(16, 48);
  const end = field.indexOf(0);
  const text = new TextDecoder().decode(field.subarray(0, end === -1 ? 32 : end));
  return text === '' ? undefined : text;
}

export class WebDevice extends ShellDevice implements EmulatedDevice {
  readonly address: string;
  readonly core = 'esp32' as const;
  readonly hostname: string;
  readonly mac: string;
  readonly events: EventEmitter;
  readonly profile: ProfileId;
  readonly counters: DeviceCounters = {
    invitations: 0,
    authAttempts: 0,
    authFailures: 0,
    updatesStarted: 0,
    updatesCompleted: 0,
    updateErrors: 0,
    boots: 0,
  };
  /** Every HTTP request, and those with a side effect (a POST, ElegantOTA's /ota/start, Tasmota's /up). */
  readonly web: WebCounters = {
    requests: 0,
    sideEffects: 0,
    authFailures: 0,
    updatesStarted: 0,
    updatesCompleted: 0,
    updateErrors: 0,
  };
  protected readonly hub: DeviceEvents;
  protected readonly board: Esp32Board;
  private readonly shell: WebOtaShell;
  private readonly clock: BoardClock;
  private readonly requestedPort: number;
  private readonly seed: number;
  private server: Server | undefined;
  private boundPort = 0;
  private running: string;
  private readonly sockets = new Set<Socket>();
  private readonly stop = new AbortController();
  private timers = new Set<NodeJS.Timeout>();

  constructor(options: DeviceOptions, flashSize: number, table: PartitionTable) {
    super();
    this.hub = new DeviceEvents(options.onEvent, options.onLog);
    this.events = this.hub.emitter;
    if (options.core !== undefined && options.core !== 'esp32')
      throw new AirflashError(
        'BAD_ARGUMENT',
        'The web-OTA emulator models an ESP32 board (core esp32) only for now.',
      );
    const profile = options.profile ?? 'arduino-esp32';
    if (!isProfileId(profile))
      throw new AirflashError('BAD_ARGUMENT', `Unknown web-OTA profile "${String(profile)}".`, {
        hint: `Use one of: ${PROFILE_IDS.join(', ')}.`,
      });
    this.profile = profile;
    this.address = options.address ?? '127.0.0.1';
    checkAddress(this.address, 'esp32', false);
    this.requestedPort = options.port ?? 80;
    this.seed = options.seed ?? seedFromText(`${this.address}/${options.hostname ?? ''}/http`);
    this.mac = (
      options.mac ??
      `24:0a:c4:${[0, 8, 16].map((s) => ((this.seed >>> s) & 0xff).toString(16).padStart(2, '0')).join(':')}`
    ).toLowerCase();
    this.hostname = options.hostname ?? `${profile.split('-')[0]}-${this.mac.replace(/:/g, '').slice(6)}`;
    this.clock = new BoardClock(nonNegative('timeScale', options.timeScale ?? 1));
    this.running = options.firmwareVersion ?? DEFAULT_VERSION[profile];
    this.board = new Esp32Board(flashSize, table, options.firmwareSize ?? 180_000 + (this.seed % 60_000));
    const scheme = options.webAuth ?? 'basic';
    const password = options.password;
    this.shell = new WebOtaShell(
      {
        address: this.address,
        hostname: this.hostname,
        mac: this.mac,
        clock: this.clock,
        counters: this.web,
        log: (line) => this.hub.log(line),
        emit: (e) => {
          if (e.event === 'update-start') this.counters.updatesStarted++;
          if (e.event === 'update-complete') this.counters.updatesCompleted++;
          if (e.event === 'update-error') this.counters.updateErrors++;
          this.hub.emit(e);
        },
        version: () => this.running,
        reboot: (afterMs) => this.reboot(afterMs),
      },
      this.board,
      {
        profile,
        ...(password === undefined || password === ''
          ? {}
          : {
              auth: {
                user: options.user ?? 'admin',
                password,
                scheme: scheme === 'basic' ? 'basic' : 'digest',
                algorithm: scheme === 'digest-sha256' ? 'SHA-256' : 'MD5',
              },
            }),
        otaEnabled: options.webOtaDisabled !== true,
        wled: {
          otaLock: options.wledOtaLock === true,
          pin: options.wledPin === true,
          sameSubnet: options.wledSameSubnet === true,
          release: options.wledRelease ?? 'ESP32',
        },
        ...(options.webError === undefined ? {} : { error: options.webError }),
        faults: (options.faults ?? []).map(parseFault),
        slowMsPerKiB: nonNegative('webSlowMsPerKiB', options.webSlowMsPerKiB ?? 0),
      },
    );
  }

  get port(): number {
    return this.boundPort || this.requestedPort;
  }

  /** The version the running firmware reports. */
  version(): string {
    return this.running;
  }

  state(): DeviceState {
    if (this.life === 'closed') return 'offline';
    return this.life === 'rebooting' ? 'rebooting' : 'idle';
  }

  async start(): Promise<void> {
    this.board.writeInitialFirmware(this.seed);
    await this.listen();
    this.hub.emit({
      event: 'listening',
      address: this.address,
      port: this.port,
      core: 'esp32',
      hostname: this.hostname,
    });
    this.hub.log(`${this.profile} web updater at http://${this.address}:${this.port}/`);
    this.boot();
  }

  private async listen(): Promise<void> {
    const server = createServer({ requestTimeout: 0 }, (req, res) => {
      this.shell.handle(req, res, this.stop.signal).catch((error: unknown) => {
        if (!this.stop.signal.aborted)
          this.hub.log(`internal error: ${error instanceof Error ? error.message : String(error)}`);
        res.destroy();
      });
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.address, port: this.boundPort || this.requestedPort }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address();
    if (a !== null && typeof a === 'object') this.boundPort = a.port;
    this.server = server;
  }

  private async unlisten(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private reboot(afterMs: number): void {
    if (this.life !== 'running') return;
    this.later(this.clock.scaled(afterMs), () => {
      if (this.life !== 'running') return;
      this.life = 'rebooting';
      this.hub.emit({ event: 'reboot', address: this.address, reason: 'update' });
      void this.unlisten().then(() => {
        this.later(this.clock.scaled(this.board.bootMs), () => {
          if (this.life !== 'rebooting') return;
          this.boot();
          this.listen().catch((error: unknown) => this.hub.log(`listen failed: ${String(error)}`));
        });
      });
    });
  }

  private boot(): void {
    this.clock.reset();
    this.board.boot();
    this.counters.boots++;
    this.shell.reset();
    this.life = 'running';
    const partition = this.runningPartition();
    const md5 = this.runningImageMd5();
    const table = this.board.partitionTable();
    const entry = table.entries.find((e) => e.name === partition);
    if (this.counters.boots > 1 && entry)
      this.running = descriptorVersion(this.board, entry.offset) ?? this.running;
    this.hub.log(`Booted ${partition} (md5 ${md5}, version ${this.running})`);
    this.hub.emit({ event: 'booted', address: this.address, partition, md5 });
  }

  async close(): Promise<void> {
    if (this.life === 'closed') return;
    this.life = 'closed';
    this.stop.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.unlisten();
    this.hub.close();
  }
}

/** Start an emulated board with a web updater; resolves when it listens. */
export async function startWebDevice(options: DeviceOptions): Promise<WebDevice> {
  const prepared = await CORE_MOUNTS.esp32.prepare(options);
  const device = new WebDevice(options, prepared.flashSize, prepared.table as PartitionTable);
  try {
    await device.start();
  } catch (error) {
    await device.close();
    throw error;
  }
  return device;
}
