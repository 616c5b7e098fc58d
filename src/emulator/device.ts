import type { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { AirflashError } from '../core/errors.ts';
import { advertise } from '../discovery/advertise.ts';
import type { PartitionTable } from '../formats/index.ts';
import { type CoreProfile, coreProfile, wireTxt } from '../protocols/arduino-ota/device/core-profile.ts';
import type { ArduinoOtaShell, ShellHost } from '../protocols/arduino-ota/device/session.ts';
import type { CoreKind } from '../protocols/arduino-ota/wire/index.ts';
import { type Board, restoreBoard, saveBoard } from './board/board.ts';
import { BoardClock, DeviceHalted, haltableSleep } from './board/clock.ts';
import { FaultPlan } from './board/faults.ts';
import { prng } from './board/firmware.ts';
import { CORE_MOUNTS, type PreparedBoard } from './core-mounts.ts';
import { DeviceEvents } from './device-events.ts';
import { resolveDeviceOptions } from './device-options.ts';
import { startEsphomeDevice } from './esphome-device.ts';
import { type DeviceConn, deviceConnect, type LinkModel } from './link.ts';
import type {
  DeviceAdvertiser,
  DeviceCounters,
  DeviceEvent,
  DeviceEventName,
  DeviceOptions,
  DeviceState,
  EmulatedDevice,
} from './types.ts';
import { UdpEndpoint } from './udp-endpoint.ts';
import { startWebDevice } from './web-device.ts';

/**
 * One emulated device: a board (src/emulator/board/) with the ArduinoOTA shell of its core
 * (src/protocols/arduino-ota/device/) mounted on it, the sketch loop that calls handle(), the
 * link (udp-endpoint.ts, link.ts), the faults, `--state` and mDNS. Create it with startDevice().
 */

type Life = 'running' | 'rebooting' | 'offline' | 'closed';

export class Device implements EmulatedDevice {
  readonly address: string;
  readonly core: CoreKind;
  readonly hostname: string;
  readonly mac: string;
  readonly board: string;
  readonly events: EventEmitter;
  readonly counters: DeviceCounters = {
    invitations: 0,
    authAttempts: 0,
    authFailures: 0,
    updatesStarted: 0,
    updatesCompleted: 0,
    updateErrors: 0,
    boots: 0,
  };
  private readonly requestedPort: number;
  private readonly loopMs: number;
  private readonly clock: BoardClock;
  private readonly link: LinkModel;
  private readonly faults: FaultPlan;
  private readonly stateDir: string | undefined;
  private readonly mdnsOption: DeviceOptions['mdns'];
  private readonly advertiser: DeviceAdvertiser;
  private readonly hub: DeviceEvents;
  private readonly seed: number;
  private readonly profile: CoreProfile;
  private readonly authRequired: boolean;
  private readonly hw: Board;
  private readonly shell: ArduinoOtaShell;
  private readonly udp: UdpEndpoint;

  private life = new AbortController();
  private lifeState: Life = 'running';
  private wake: (() => void) | undefined;
  private conn: DeviceConn | undefined;
  private bootTimer: NodeJS.Timeout | undefined;
  private mdnsAd: { close(options?: { goodbye?: boolean }): Promise<void> } | undefined;
  private sketchDone: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(options: DeviceOptions, prepared: PreparedBoard) {
    this.hub = new DeviceEvents(options.onEvent, options.onLog);
    this.events = this.hub.emitter;
    const settings = resolveDeviceOptions(options, CORE_MOUNTS);
    const { core, link, secret } = settings;
    this.core = core;
    this.profile = coreProfile(core);
    this.address = settings.address;
    this.requestedPort = settings.port;
    this.seed = settings.seed;
    this.mac = settings.mac;
    this.hostname = settings.hostname;
    this.board = settings.board;
    this.authRequired = secret !== undefined;
    this.loopMs = settings.loopMs;
    this.clock = new BoardClock(settings.timeScale);
    this.link = link;
    // One PRNG for datagram loss and garbage replies, in the order they are drawn.
    const rnd = prng(this.seed ^ 0x5eed);
    this.faults = new FaultPlan(settings.faults, options.faultEvery === true, rnd);
    this.udp = new UdpEndpoint(this.address, link, rnd);
    this.stateDir = options.stateDir === undefined ? undefined : join(options.stateDir, this.hostname);
    this.mdnsOption = options.mdns;
    this.advertiser = options.advertiser ?? advertise;
    const mounted = CORE_MOUNTS[core].mount(options, prepared, settings, secret);
    this.hw = mounted.board;
    this.shell = mounted.shell(this.shellHost());
  }

  get port(): number {
    return this.udp.port;
  }

  /** The board's flash (tests and the CLI read it). */
  get flash(): Board['flash'] {
    return this.hw.flash;
  }

  // ---------------------------------------------------------------- public surface

  state(): DeviceState {
    if (this.lifeState === 'offline') return 'offline';
    if (this.lifeState === 'closed') return 'offline';
    if (this.lifeState === 'rebooting') return 'rebooting';
    return this.shell.state();
  }

  waitFor(
    event: DeviceEventName,
    predicate?: (e: DeviceEvent) => boolean,
    timeoutMs = 30_000,
  ): Promise<DeviceEvent> {
    if (this.lifeState === 'closed') {
      return Promise.reject(new AirflashError('INTERRUPTED', `Device ${this.address} is closed.`));
    }
    return this.hub.waitFor(this.address, () => this.state(), event, predicate, timeoutMs);
  }

  runningPartition(): string {
    return this.hw.runningPartition();
  }

  runningImageMd5(): string {
    return this.hw.runningImageMd5();
  }

  otadata(): Uint8Array {
    return this.hw.otadata();
  }

  partitionTable(): PartitionTable | undefined {
    return this.hw.partitionTable();
  }

  readFlash(offset: number, length: number): Uint8Array {
    return this.hw.flash.read(offset, length);
  }

  log(): string[] {
    return this.hub.logLines();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---------------------------------------------------------------- start / boot

  async start(): Promise<void> {
    let restored = false;
    if (this.stateDir) restored = await this.restoreState(this.stateDir);
    if (!restored) this.hw.writeInitialFirmware(this.seed);
    await this.udp.bind(
      this.requestedPort,
      () => this.lifeState === 'running',
      (d) => this.shell.receive(d),
    );
    this.emit({
      event: 'listening',
      address: this.address,
      port: this.port,
      core: this.core,
      hostname: this.hostname,
    });
    this.log_(`OTA server at: ${this.hostname}.local:${this.port}`);
    if (this.mdnsOption) await this.startMdns();
    this.boot();
    if (this.faults.offline) this.lifeState = 'offline';
  }

  private boot(): void {
    this.life = new AbortController();
    this.clock.reset();
    this.shell.reset();
    const bootable = this.hw.boot((line) => this.log_(line));
    this.counters.boots++;
    this.lifeState = this.faults.offline || !bootable ? 'offline' : 'running';
    const partition = this.runningPartition();
    const md5 = this.runningImageMd5();
    this.log_(partition ? `Booted ${partition} (md5 ${md5})` : 'Boot failed: no valid app image');
    this.emit({ event: 'booted', address: this.address, partition, md5 });
    this.sketchDone = this.sketch(this.life.signal);
  }

  private async startMdns(): Promise<void> {
    const option = typeof this.mdnsOption === 'object' ? this.mdnsOption : undefined;
    const transport = option !== undefined && 'transport' in option ? option.transport : undefined;
    const mdnsPort = option !== undefined && 'port' in option ? option.port : undefined;
    this.mdnsAd = await this.advertiser({
      name: this.hostname,
      hostname: this.hostname,
      port: this.port,
      addresses: [this.address],
      txt: wireTxt(this.core, this.board, this.authRequired),
      ...(transport === undefined
        ? { interface: this.address, ...(mdnsPort === undefined ? {} : { mdnsPort }) }
        : { transport }),
    });
  }

  /** What the mounted shell sees of this device. */
  private shellHost(): ShellHost {
    return {
      address: this.address,
      mac: this.mac,
      core: this.core,
      profile: this.profile,
      clock: this.clock,
      faults: this.faults,
      counters: this.counters,
      log: (line) => this.log_(line),
      emit: (e) => this.emit(e),
      sendUdp: (data, ip, port) => this.udp.send(data, ip, port),
      connect: (ip, port, timeoutMs, signal) => this.connect(ip, port, timeoutMs, signal),
      halt: (reason) => this.halt(reason),
      persist: () => this.persist(),
      kick: () => this.kick(),
    };
  }

  private async connect(
    ip: string,
    port: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<DeviceConn | undefined> {
    if (this.link.rttMs > 0) await haltableSleep(this.link.rttMs / 2, signal);
    const conn = await deviceConnect(
      ip,
      port,
      this.address,
      this.link,
      signal,
      timeoutMs,
      this.profile.tcpMss,
    );
    this.conn = conn;
    return conn;
  }

  private emit(e: DeviceEvent): void {
    this.hub.emit(e);
  }

  private log_(line: string): void {
    this.hub.log(line);
  }

  // ---------------------------------------------------------------- the sketch: loop() { ArduinoOTA.handle(); delay(loopMs); }

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private waitWork(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new DeviceHalted());
    if (this.shell.hasWork()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.wake = undefined;
        reject(new DeviceHalted());
      };
      this.wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async sketch(signal: AbortSignal): Promise<void> {
    const period = this.clock.scaled(this.loopMs);
    let next = performance.now();
    try {
      while (!signal.aborted) {
        const ranTransfer = await this.handle(signal);
        if (signal.aborted) return;
        if (period > 0) {
          next = ranTransfer ? performance.now() + period : next + period;
          await haltableSleep(next - performance.now(), signal);
        } else {
          // "continuously": the next handle() right away when there is something to do.
          await new Promise<void>((r) => setImmediate(r));
          await this.waitWork(signal);
        }
      }
    } catch (error) {
      if (error instanceof DeviceHalted) return;
      this.log_(`internal error: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** ArduinoOTA.handle(). Returns true when it ran a transfer. */
  private async handle(signal: AbortSignal): Promise<boolean> {
    if (this.lifeState !== 'running') return false;
    try {
      return await this.shell.handle(signal);
    } finally {
      this.conn = undefined;
    }
  }

  // ---------------------------------------------------------------- reboot, power, close

  /** ESP.restart(), a watchdog reset or a power loss: everything running stops; boot after bootMs. */
  private halt(reason: 'update' | 'fault' | 'powerloss'): void {
    if (this.lifeState === 'closed') return;
    this.lifeState = 'rebooting';
    this.shell.reset();
    this.life.abort();
    if (reason !== 'update') this.conn?.destroy();
    this.emit({ event: 'reboot', address: this.address, reason });
    void this.persist();
    this.bootTimer = setTimeout(() => {
      this.bootTimer = undefined;
      if (this.lifeState === 'closed') return;
      this.boot();
    }, this.clock.scaled(this.hw.bootMs));
  }

  private async persist(): Promise<void> {
    if (!this.stateDir) return;
    try {
      await saveBoard(this.stateDir, this.hw, this.core);
    } catch (error) {
      this.log_(`state: cannot save (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  private async restoreState(dir: string): Promise<boolean> {
    if (!(await restoreBoard(dir, this.hw, this.core))) return false;
    this.log_(`state restored from ${dir}`);
    return true;
  }

  private async shutdown(): Promise<void> {
    this.lifeState = 'closed';
    this.life.abort();
    if (this.bootTimer) clearTimeout(this.bootTimer);
    this.udp.stop();
    this.conn?.dispose();
    this.kick();
    await this.sketchDone.catch(() => {});
    await this.udp.close();
    if (this.mdnsAd) await this.mdnsAd.close().catch(() => {});
    await this.persist();
    this.hub.close();
  }
}

/** Start one emulated device; resolves when it listens. */
export async function startDevice(options: DeviceOptions = {}): Promise<EmulatedDevice> {
  if (options.protocol === 'esphome') return startEsphomeDevice(options);
  if (options.protocol === 'http') return startWebDevice(options);
  if (options.protocol !== undefined && options.protocol !== 'arduino-ota')
    throw new AirflashError('BAD_ARGUMENT', `Unknown protocol "${String(options.protocol)}".`, {
      hint: 'Use arduino-ota, esphome or http.',
    });
  const core = options.core ?? 'esp32';
  // An unknown core is refused by the Device constructor, after the ESP32 loaders (as always).
  const prepared = await (CORE_MOUNTS[core] ?? CORE_MOUNTS.esp32).prepare(options);
  const device = new Device(options, prepared);
  try {
    await device.start();
  } catch (error) {
    await device.close();
    throw error;
  }
  return device;
}
