/**
 * An emulated ESPHome device: the shared ESP32 board (src/emulator/board/) with ESPHome's native
 * OTA server (src/protocols/esphome/device/) mounted on it, listening on TCP (default 3232) with
 * backlog 1: one client at a time, one more waiting, any further one reset (EOD-A
 * `listen(1)`; protocols-next.md §1.2 step 0). Started by startDevice({ protocol: 'esphome' }).
 */
import type { EventEmitter } from 'node:events';
import { AirflashError } from '../core/errors.ts';
import type { PartitionTable } from '../formats/index.ts';
import { isErrorByte } from '../protocols/esphome/device/faults.ts';
import { EsphomeOtaShell, type EsphomeShellHost } from '../protocols/esphome/device/session.ts';
import { nodeTransport } from '../transport/node.ts';
import type { Stream, StreamListener } from '../transport/types.ts';
import { BoardClock } from './board/clock.ts';
import { Esp32Board } from './board/esp32-board.ts';
import { parseFault } from './board/faults.ts';
import { prng, seedFromText } from './board/firmware.ts';
import { TIMING_MODEL } from './board/timing.ts';
import { CORE_MOUNTS } from './core-mounts.ts';
import { DeviceEvents } from './device-events.ts';
import { checkAddress, nonNegative } from './device-options.ts';
import { StreamConn, type StreamLink } from './esphome-conn.ts';
import { ShellDevice } from './shell-device.ts';
import type { DeviceCounters, DeviceOptions, DeviceState, EmulatedDevice } from './types.ts';

export class EsphomeDevice extends ShellDevice implements EmulatedDevice {
  readonly address: string;
  readonly core = 'esp32' as const;
  readonly hostname: string;
  readonly mac: string;
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
  protected readonly hub: DeviceEvents;
  protected readonly board: Esp32Board;
  private readonly shell: EsphomeOtaShell;
  private readonly clock: BoardClock;
  private readonly requestedPort: number;
  private readonly seed: number;
  private readonly random: () => number;
  private listener: StreamListener | undefined;
  private busy = false;
  private waiting: { stream: Stream; from: string } | undefined;
  private readonly streams = new Set<Stream>();
  private readonly stop = new AbortController();
  private bootTimer: NodeJS.Timeout | undefined;
  private serving: Promise<void> = Promise.resolve();
  private readonly link: StreamLink;

  constructor(options: DeviceOptions, flashSize: number, table: PartitionTable) {
    super();
    this.hub = new DeviceEvents(options.onEvent, options.onLog);
    this.events = this.hub.emitter;
    if (options.core !== undefined && options.core !== 'esp32')
      throw new AirflashError(
        'BAD_ARGUMENT',
        'The ESPHome emulator models an ESP32 (core esp32) only for now.',
      );
    this.address = options.address ?? '127.0.0.1';
    checkAddress(this.address, 'esp32', false);
    this.requestedPort = options.port ?? 3232;
    this.seed = options.seed ?? seedFromText(`${this.address}/${options.hostname ?? ''}/esphome`);
    this.random = prng(this.seed ^ 0x0e5f);
    this.mac = (
      options.mac ??
      `24:0a:c4:${[0, 8, 16].map((s) => ((this.seed >>> s) & 0xff).toString(16).padStart(2, '0')).join(':')}`
    ).toLowerCase();
    this.hostname = options.hostname ?? `esphome-${this.mac.replace(/:/g, '').slice(6)}`;
    // The link model (esphome-conn.ts): rtt/2 each way and the ESP32's lwIP receive window
    // (TIMING_MODEL.defaultWindow, CONFIG_LWIP_TCP_WND_DEFAULT) once an RTT or a window is asked for.
    const rttMs = nonNegative('rttMs', options.rttMs ?? 0);
    const window =
      options.window === undefined
        ? rttMs > 0
          ? TIMING_MODEL.defaultWindow
          : 0
        : Math.max(1, nonNegative('window', options.window));
    this.link = { rttMs, window };
    this.clock = new BoardClock(nonNegative('timeScale', options.timeScale ?? 1));
    const version = options.otaVersion ?? 2;
    if (version !== 1 && version !== 2)
      throw new AirflashError('BAD_ARGUMENT', `otaVersion ${String(version)}: use 1 or 2.`);
    const auth = options.esphomeAuth ?? 'sha256';
    if (auth !== 'sha256' && auth !== 'md5')
      throw new AirflashError('BAD_ARGUMENT', `esphomeAuth "${String(auth)}": use sha256 or md5.`);
    const errorByte = options.esphomeError;
    if (errorByte !== undefined && !isErrorByte(errorByte))
      throw new AirflashError(
        'BAD_ARGUMENT',
        `esphomeError ${String(errorByte)} is not an ESPHome error byte (0x80–0x94, 0xFF).`,
      );
    const encryption = options.esphomeEncryption;
    if (encryption !== undefined && encryption !== 'offered' && encryption !== 'required')
      throw new AirflashError(
        'BAD_ARGUMENT',
        `esphomeEncryption "${String(encryption)}": use offered or required.`,
      );
    const psk = options.esphomeKey === undefined ? undefined : Buffer.from(options.esphomeKey, 'base64');
    if ((encryption === undefined) !== (psk === undefined) || (psk !== undefined && psk.length !== 32))
      throw new AirflashError(
        'BAD_ARGUMENT',
        'esphomeEncryption needs esphomeKey (base64 of 32 bytes), and the key needs esphomeEncryption.',
      );
    this.board = new Esp32Board(flashSize, table, options.firmwareSize ?? 180_000 + (this.seed % 60_000));
    this.shell = new EsphomeOtaShell(this.shellHost(), this.board, {
      version,
      auth,
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(errorByte === undefined ? {} : { errorByte }),
      ...(encryption === undefined || psk === undefined
        ? {}
        : { encryption: { mode: encryption, psk: new Uint8Array(psk) } }),
      faults: (options.faults ?? []).map(parseFault),
    });
  }

  get port(): number {
    return this.listener?.local.port ?? this.requestedPort;
  }

  state(): DeviceState {
    if (this.life === 'closed') return 'offline';
    if (this.life === 'rebooting') return 'rebooting';
    return this.busy ? 'runupdate' : 'idle';
  }

  async start(): Promise<void> {
    this.board.writeInitialFirmware(this.seed);
    // Backlog 1, and TCP_NODELAY on each accepted client as the device sets it after accept (EOD-A;
    // unverified for the data phase), so its 1-byte answers are not held back by Nagle.
    const listener = await nodeTransport.listen({
      address: this.address,
      port: this.requestedPort,
      backlog: 1,
      noDelay: true,
    });
    this.listener = listener;
    listener.onConnection((s) => this.accept(s));
    this.hub.emit({
      event: 'listening',
      address: this.address,
      port: this.port,
      core: 'esp32',
      hostname: this.hostname,
    });
    this.hub.log(`ESPHome OTA server at ${this.address}:${this.port}`);
    this.boot();
  }

  async close(): Promise<void> {
    if (this.life === 'closed') return;
    this.life = 'closed';
    this.stop.abort();
    if (this.bootTimer) clearTimeout(this.bootTimer);
    for (const s of this.streams) s.destroy();
    await this.listener?.close();
    await this.serving.catch(() => {});
    this.hub.close();
  }

  private boot(): void {
    this.clock.reset();
    this.board.boot();
    this.counters.boots++;
    this.life = 'running';
    const partition = this.runningPartition();
    const md5 = this.runningImageMd5();
    this.hub.log(`Booted ${partition} (md5 ${md5})`);
    this.hub.emit({ event: 'booted', address: this.address, partition, md5 });
  }

  private accept(stream: Stream): void {
    this.streams.add(stream);
    stream.on('close', () => this.streams.delete(stream));
    const from = `${stream.remote.address}:${stream.remote.port}`;
    if (this.life !== 'running' || (this.busy && this.waiting !== undefined)) {
      stream.destroy(); // rebooting, or backlog 1 full
      return;
    }
    if (this.busy) {
      this.waiting = { stream, from };
      return;
    }
    this.run(stream, from);
  }

  private run(stream: Stream, from: string): void {
    this.busy = true;
    this.serving = this.shell
      .serve(new StreamConn(stream, this.link), from, this.stop.signal)
      .catch((error: unknown) => {
        if (!this.stop.signal.aborted)
          this.hub.log(`internal error: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => {
        this.busy = false;
        const next = this.waiting;
        this.waiting = undefined;
        if (next && this.life === 'running' && !next.stream.destroyed) this.run(next.stream, next.from);
        else next?.stream.destroy();
      });
  }

  private shellHost(): EsphomeShellHost {
    return {
      address: this.address,
      clock: this.clock,
      random: () => this.random(),
      log: (line) => this.hub.log(line),
      emit: (e) => this.hub.emit(e),
      counters: this.counters,
      reboot: () => {
        if (this.life !== 'running') return;
        this.life = 'rebooting';
        this.hub.emit({ event: 'reboot', address: this.address, reason: 'update' });
        this.bootTimer = setTimeout(() => {
          this.bootTimer = undefined;
          if (this.life === 'rebooting') this.boot();
        }, this.clock.scaled(this.board.bootMs));
      },
    };
  }
}

/** Start an emulated ESPHome device (ESP32 board); resolves when it listens. */
export async function startEsphomeDevice(options: DeviceOptions): Promise<EsphomeDevice> {
  const prepared = await CORE_MOUNTS.esp32.prepare(options);
  const device = new EsphomeDevice(options, prepared.flashSize, prepared.table as PartitionTable);
  try {
    await device.start();
  } catch (error) {
    await device.close();
    throw error;
  }
  return device;
}
