import { createHash } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { AirflashError } from '../../../core/errors.ts';
import { type Esp8266FlashLayout, esp8266Layout } from '../../../devices/esp8266-layouts.ts';
import { defaultPort } from '../../../devices/family.ts';
import { type CoreProfile, coreProfile, wireTxt } from '../../../emulator/board/core-profile.ts';
import {
  ESP32_UPDATER_REVISIONS,
  type Esp32UpdaterRevision,
  esp32UpdateTarget,
} from '../../../emulator/board/esp32-target.ts';
import {
  initialEsp32Firmware,
  initialEsp8266Firmware,
  prng,
  seedFromText,
} from '../../../emulator/board/firmware.ts';
import { SparseFlash } from '../../../emulator/board/flash.ts';
import { esp32ImageInfo } from '../../../emulator/board/image-check.ts';
import { loadState, saveState } from '../../../emulator/board/state-dir.ts';
import { esp32EndMs, TIMING_MODEL } from '../../../emulator/board/timing.ts';
import {
  Esp32Update,
  Esp8266Update,
  esp8266MagicFlashSize,
  type FlashRegion,
} from '../../../emulator/board/updater.ts';
import { checkAddress, loadTable, nonNegative, toFlashSize } from '../../../emulator/device-options.ts';
import {
  DEFAULT_LINK,
  type DeviceConn,
  DeviceHalted,
  deviceConnect,
  haltableSleep,
  type LinkModel,
} from '../../../emulator/link.ts';
import type {
  DeviceCounters,
  DeviceEvent,
  DeviceEventName,
  DeviceOptions,
  DeviceState,
  EmulatedDevice,
  Fault,
  FaultKind,
} from '../../../emulator/types.ts';
import { FAULT_KINDS } from '../../../emulator/types.ts';
import {
  blankOtadata,
  bootSlotFromOtadata,
  DATA_SUBTYPE,
  encodePartitionTable,
  findPartition,
  OTA_STATE,
  OTADATA_SIZE,
  PARTITION_TYPE,
  type PartitionEntry,
  type PartitionTable,
  setActiveOtaState,
  setBootSlot,
  usableOtaSlots,
} from '../../../formats/index.ts';
import { CORES, type CoreKind, md5hex, scanAuthLine, scanInvitation, sha256hex } from '../wire/index.ts';
import { deviceAuthMatches, deviceSecretFromHash, deviceSecretFromPassword } from './auth-verify.ts';

const MB = 1024 * 1024;
/** lwIP CONFIG_LWIP_UDP_RECVMBOX_SIZE default (ESP-IDF Kconfig): datagrams an ESP32 socket queues. */
const ESP32_UDP_QUEUE = 6;
const LOG_LIMIT = 5000;

type OtaState = 'idle' | 'waitauth' | 'runupdate';
type Life = 'running' | 'rebooting' | 'offline' | 'closed';

interface PendingInvitation {
  command: number;
  port: number;
  size: number;
  md5: string;
  /** Source of the invitation datagram. */
  ip: string;
  udpPort: number;
}

interface Datagram {
  data: Buffer;
  address: string;
  port: number;
}

/** Parse "stall@50", "drop", "no-connect" … into a Fault. */
export function parseFault(text: string): Fault {
  const m = /^([a-z-]+)(?:@(\d+(?:\.\d+)?))?%?$/.exec(text.trim().toLowerCase());
  const kind = m?.[1] as FaultKind | undefined;
  if (!m || kind === undefined || !FAULT_KINDS.includes(kind)) {
    throw new AirflashError('BAD_ARGUMENT', `Unknown fault "${text}".`, {
      hint: 'Use stall@P, drop@P, corrupt@P, reboot@P, powerloss@P (P = percent of the image), no-connect, garbage or offline.',
    });
  }
  const percent = m[2] === undefined ? 50 : Number(m[2]);
  if (!(percent >= 0 && percent <= 100)) {
    throw new AirflashError('BAD_ARGUMENT', `Fault "${text}": the percentage must be 0–100.`);
  }
  return { kind, percent };
}

/** Lowest real-time ESP32 receive timeout under a time scale (see runUpdate32). */
/** Real-time floor of the scaled receive and connect-back timeouts. */
const RECEIVE_TIMEOUT_FLOOR_MS = 250;
/** Lowest real-time connect-back timeout under a time scale (see connectBack). */
const CONNECT_TIMEOUT_FLOOR_MS = 1000;

const TRANSFER_FAULTS: readonly FaultKind[] = ['stall', 'drop', 'corrupt', 'reboot', 'powerloss'];

function macFor(address: string, seed: number): string {
  const h = createHash('sha256').update(`${address}/${seed}`).digest();
  const bytes = [0x24, 0x0a, 0xc4, h[0] as number, h[1] as number, h[2] as number];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** One emulated ArduinoOTA device. Create it with startDevice(). */
export class Device implements EmulatedDevice {
  readonly address: string;
  readonly core: CoreKind;
  readonly hostname: string;
  readonly mac: string;
  readonly board: string;
  readonly events = new EventEmitter();
  readonly counters: DeviceCounters = {
    invitations: 0,
    authAttempts: 0,
    authFailures: 0,
    updatesStarted: 0,
    updatesCompleted: 0,
    updateErrors: 0,
    boots: 0,
  };
  private boundPort = 0;
  private readonly requestedPort: number;
  private readonly secret: string | undefined;
  private readonly loopMs: number;
  private readonly timeScale: number;
  private readonly receiveTimeoutMs: number;
  private readonly link: LinkModel;
  private readonly faults: Fault[];
  private readonly faultEvery: boolean;
  private faultCursor = 0;
  private readonly offline: boolean;
  private readonly rnd: () => number;
  private readonly stateDir: string | undefined;
  private readonly mdnsOption: DeviceOptions['mdns'];
  private readonly onEvent: ((e: DeviceEvent) => void) | undefined;
  private readonly onLog: ((line: string) => void) | undefined;
  private readonly decryptSupport: boolean;
  private readonly verifyImage: boolean;
  private readonly seed: number;
  private readonly profile: CoreProfile;
  private readonly esp32Updater: Esp32UpdaterRevision;

  // flash
  readonly flash: SparseFlash;
  private table: PartitionTable | undefined;
  private readonly layout8266: Esp8266FlashLayout | undefined;
  private sketchSize8266 = 0;
  private uartBoot = false;
  private eboot: { address: number; size: number } | undefined;
  private running: PartitionEntry | undefined;

  // runtime
  private udp: UdpSocket | undefined;
  private life = new AbortController();
  private lifeState: Life = 'running';
  private otaState: OtaState = 'idle';
  private queue: Datagram[] = [];
  private bootTime = performance.now();
  private inv: PendingInvitation | undefined;
  private otaIp = '';
  private nonce = '';
  private busyUntil = 0;
  private wake: (() => void) | undefined;
  private conn: DeviceConn | undefined;
  private bootTimer: NodeJS.Timeout | undefined;
  private readonly udpTimers = new Set<NodeJS.Timeout>();
  private readonly logLines: string[] = [];
  private mdnsAd: { close(options?: { goodbye?: boolean }): Promise<void> } | undefined;
  private sketchDone: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private lastPercent = -1;
  private readonly waiters = new Set<() => void>();

  constructor(options: DeviceOptions, prepared: { table?: PartitionTable; flashSize: number }) {
    const core = options.core ?? 'esp32';
    if (!CORES.includes(core)) {
      throw new AirflashError('BAD_ARGUMENT', `Unknown core "${String(core)}".`, {
        hint: 'Use esp32, esp32-legacy or esp8266.',
      });
    }
    this.core = core;
    this.profile = coreProfile(core);
    this.address = options.address ?? '127.0.0.1';
    checkAddress(this.address, core, options.ipv6);
    this.esp32Updater = core === 'esp32-legacy' ? '3.0' : (options.esp32Updater ?? 'newest');
    if (!ESP32_UPDATER_REVISIONS.includes(this.esp32Updater)) {
      throw new AirflashError(
        'BAD_ARGUMENT',
        `Unknown ESP32 Update revision "${String(options.esp32Updater)}".`,
        {
          hint: 'Use 3.3.1 or newest (esp32-legacy is always 3.0).',
        },
      );
    }
    this.requestedPort = options.port ?? defaultPort(core);
    if (!Number.isInteger(this.requestedPort) || this.requestedPort < 0 || this.requestedPort > 65535) {
      throw new AirflashError('BAD_ARGUMENT', `Port ${this.requestedPort} is not a UDP port.`);
    }
    this.seed = options.seed ?? seedFromText(`${this.address}/${options.hostname ?? ''}/${core}`);
    this.mac = (options.mac ?? macFor(this.address, this.seed)).toLowerCase();
    const macHex = this.mac.replace(/[^0-9a-f]/g, '');
    if (macHex.length !== 12)
      throw new AirflashError('BAD_ARGUMENT', `"${options.mac}" is not a MAC address.`);
    this.hostname =
      options.hostname ?? (core === 'esp8266' ? `esp8266-${macHex.slice(6)}` : `esp32-${macHex}`);
    this.board = options.board ?? (core === 'esp8266' ? 'generic' : 'esp32');
    this.secret = secretFor(core, options);
    this.loopMs = nonNegative('loopMs', options.loopMs ?? 0);
    this.timeScale = nonNegative('timeScale', options.timeScale ?? 1);
    this.receiveTimeoutMs = nonNegative(
      'receiveTimeoutMs',
      options.receiveTimeoutMs ?? TIMING_MODEL.esp32.receiveTimeoutMs,
    );
    this.link = {
      rttMs: nonNegative('rttMs', options.rttMs ?? DEFAULT_LINK.rttMs),
      bandwidth: nonNegative('bandwidth', options.bandwidth ?? DEFAULT_LINK.bandwidth),
      window: Math.max(1, nonNegative('window', options.window ?? this.profile.tcpWnd)),
      udpLoss: nonNegative('udpLoss', options.udpLoss ?? DEFAULT_LINK.udpLoss),
    };
    if (this.link.udpLoss > 1) throw new AirflashError('BAD_ARGUMENT', 'udpLoss is a probability (0…1).');
    const faults = (options.faults ?? []).map(parseFault);
    this.offline = faults.some((f) => f.kind === 'offline');
    this.faults = faults.filter((f) => f.kind !== 'offline');
    this.faultEvery = options.faultEvery === true;
    this.rnd = prng(this.seed ^ 0x5eed);
    this.stateDir = options.stateDir === undefined ? undefined : join(options.stateDir, this.hostname);
    this.mdnsOption = options.mdns;
    this.onEvent = options.onEvent;
    this.onLog = options.onLog;
    this.decryptSupport = options.decryptSupport ?? true;
    this.verifyImage = (options as { verifyImage?: boolean }).verifyImage ?? true;
    this.flash = new SparseFlash(prepared.flashSize);
    this.table = prepared.table;
    if (core === 'esp8266') {
      this.layout8266 = esp8266Layout(options.flashLayout ?? '4M2M');
      this.sketchSize8266 = options.sketchSize ?? 400_000;
      this.uartBoot = options.uartBoot === true;
      if (!Number.isInteger(this.sketchSize8266) || this.sketchSize8266 < 16) {
        throw new AirflashError('BAD_ARGUMENT', `sketchSize ${this.sketchSize8266} is not a sketch size.`);
      }
    }
  }

  get port(): number {
    return this.boundPort;
  }

  // ---------------------------------------------------------------- public surface

  state(): DeviceState {
    if (this.lifeState === 'offline') return 'offline';
    if (this.lifeState === 'closed') return 'offline';
    if (this.lifeState === 'rebooting') return 'rebooting';
    return this.otaState;
  }

  waitFor(
    event: DeviceEventName,
    predicate?: (e: DeviceEvent) => boolean,
    timeoutMs = 30_000,
  ): Promise<DeviceEvent> {
    if (this.lifeState === 'closed') {
      return Promise.reject(new AirflashError('INTERRUPTED', `Device ${this.address} is closed.`));
    }
    return new Promise((resolve, reject) => {
      const finish = (error: AirflashError | undefined, e?: DeviceEvent): void => {
        clearTimeout(timer);
        this.events.off('event', onEvent);
        this.waiters.delete(cancel);
        if (error) reject(error);
        else resolve(e as DeviceEvent);
      };
      const onEvent = (e: DeviceEvent): void => {
        if (e.event !== event || (predicate && !predicate(e))) return;
        finish(undefined, e);
      };
      const cancel = (): void =>
        finish(new AirflashError('INTERRUPTED', `Device ${this.address} closed before "${event}".`));
      const timer = setTimeout(() => {
        finish(
          new AirflashError(
            'TIMEOUT',
            `Device ${this.address} did not emit "${event}" within ${timeoutMs} ms.`,
            {
              data: { state: this.state(), log: this.logLines.slice(-10) },
            },
          ),
        );
      }, timeoutMs);
      timer.unref();
      this.waiters.add(cancel);
      this.events.on('event', onEvent);
    });
  }

  runningPartition(): string {
    if (this.core === 'esp8266') return 'sketch';
    return this.running?.name ?? '';
  }

  runningImageMd5(): string {
    if (this.core === 'esp8266') return md5hex(this.flash.read(0, this.sketchSize8266));
    const p = this.running;
    if (!p) return '';
    const info = esp32ImageInfo(this.flash.read(p.offset, p.size));
    return md5hex(this.flash.read(p.offset, info.length));
  }

  otadata(): Uint8Array {
    const p = this.otadataPartition();
    return p ? this.flash.read(p.offset, Math.min(p.size, OTADATA_SIZE)) : new Uint8Array(0);
  }

  partitionTable(): PartitionTable | undefined {
    return this.table ? { entries: this.table.entries.map((e) => ({ ...e })) } : undefined;
  }

  readFlash(offset: number, length: number): Uint8Array {
    return this.flash.read(offset, length);
  }

  log(): string[] {
    return [...this.logLines];
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---------------------------------------------------------------- start / boot

  async start(): Promise<void> {
    let restored = false;
    if (this.stateDir) restored = await this.restoreState(this.stateDir);
    if (!restored) await this.writeInitialFirmware();
    await this.bindUdp();
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
    if (this.offline) this.lifeState = 'offline';
  }

  private async writeInitialFirmware(): Promise<void> {
    if (this.core === 'esp8266') {
      const layout = this.layout8266 as Esp8266FlashLayout;
      const image = initialEsp8266Firmware(this.sketchSize8266, this.seed, layout.flashSize);
      this.flash.load(0, image);
      this.sketchSize8266 = image.length;
      return;
    }
    const table = this.table as PartitionTable;
    try {
      this.flash.load(0x8000, encodePartitionTable(table));
    } catch {
      // a table the encoder refuses is still usable by the emulator
    }
    const slots = usableOtaSlots(table);
    const factory = findPartition(table, PARTITION_TYPE.app, 0x00);
    const first = factory ?? slots[0] ?? table.entries.find((e) => e.type === PARTITION_TYPE.app);
    if (!first)
      throw new AirflashError('PARTITION_TABLE', 'The partition table has no app partition to boot.');
    const size = Math.min(this.firmwareSize(), first.size);
    this.flash.load(first.offset, initialEsp32Firmware(size, this.seed));
    const od = this.otadataPartition();
    if (od && !factory && slots.length > 0) {
      const bytes = setActiveOtaState(setBootSlot(blankOtadata(), 0, slots.length), OTA_STATE.valid);
      this.flash.load(od.offset, bytes);
    }
  }

  private firmwareSize(): number {
    // 180–240 KB, deterministic per device
    return 180_000 + (this.seed % 60_000);
  }

  private otadataPartition(): PartitionEntry | undefined {
    return this.table ? findPartition(this.table, PARTITION_TYPE.data, DATA_SUBTYPE.ota) : undefined;
  }

  /** The bootloader: choose the app from otadata (formats.md §5.4), skipping slots without a valid image. */
  private chooseBootPartition(): PartitionEntry | undefined {
    const table = this.table as PartitionTable;
    const slots = usableOtaSlots(table);
    const factory = findPartition(table, PARTITION_TYPE.app, 0x00);
    const od = this.otadataPartition();
    let chosen: number | undefined;
    if (od && slots.length > 0) {
      const bytes = this.otadata();
      chosen = bootSlotFromOtadata(bytes, slots.length, { rollback: true });
    }
    const candidates: PartitionEntry[] = [];
    if (chosen !== undefined) {
      candidates.push(slots[chosen] as PartitionEntry);
      for (let i = chosen - 1; i >= 0; i--) candidates.push(slots[i] as PartitionEntry);
      if (factory) candidates.push(factory);
      for (let i = chosen + 1; i < slots.length; i++) candidates.push(slots[i] as PartitionEntry);
    } else {
      if (factory) candidates.push(factory);
      candidates.push(...slots);
    }
    for (const p of candidates) {
      if (this.flash.read(p.offset, 1)[0] === 0xe9) return p;
    }
    return undefined;
  }

  private boot(): void {
    this.life = new AbortController();
    this.bootTime = performance.now();
    this.otaState = 'idle';
    this.queue = [];
    this.busyUntil = 0;
    if (this.core === 'esp8266') {
      if (this.eboot) {
        // eboot: ACTION_COPY_RAW staged image → 0 (formats.md §6.3)
        const { address, size } = this.eboot;
        const image = this.flash.read(address, size);
        for (let a = 0; a < size; a += 4096) this.flash.erase(a, 4096);
        this.flash.load(0, image);
        this.sketchSize8266 = size;
        this.eboot = undefined;
        this.log_(`eboot: copied 0x${size.toString(16)} bytes from 0x${address.toString(16)} to 0x0`);
      }
    } else {
      const p = this.chooseBootPartition();
      this.running = p;
      // With rollback enabled (Arduino default) a NEW entry becomes PENDING_VERIFY at boot and
      // initArduino() marks it VALID before setup() (formats.md §5.6).
      const od = this.otadataPartition();
      if (p && od && usableOtaSlots(this.table as PartitionTable).some((s) => s.name === p.name)) {
        const bytes = this.otadata();
        const before = bootSlotFromOtadata(bytes, usableOtaSlots(this.table as PartitionTable).length, {
          rollback: true,
        });
        if (before !== undefined) {
          const next = setActiveOtaState(bytes, OTA_STATE.valid);
          if (!next.every((b, i) => b === bytes[i])) this.writeRaw(od.offset, next);
        }
      }
    }
    this.counters.boots++;
    // No bootable app (e.g. an ESP32 ≤ 3.3.0 that erased the app it ran from): the bootloader
    // loops, nothing answers.
    const bricked = this.core !== 'esp8266' && this.running === undefined;
    this.lifeState = this.offline || bricked ? 'offline' : 'running';
    const partition = this.runningPartition();
    const md5 = this.runningImageMd5();
    this.log_(partition ? `Booted ${partition} (md5 ${md5})` : 'Boot failed: no valid app image');
    this.emit({ event: 'booted', address: this.address, partition, md5 });
    this.sketchDone = this.sketch(this.life.signal);
  }

  /**
   * ESP.getFlashChipSize(): byte 3 of the running image's header (flash 0). A gzip image is
   * decompressed by eboot on hardware; the emulator keeps it raw, so it falls back to the layout's.
   */
  private buildFlashSize(): number {
    const head = this.flash.read(0, 4);
    const layout = (this.layout8266 as Esp8266FlashLayout).flashSize;
    return head[0] === 0xe9 ? esp8266MagicFlashSize(((head[3] as number) & 0xf0) >> 4) || layout : layout;
  }

  private writeRaw(offset: number, data: Uint8Array): void {
    for (let a = offset - (offset % 4096); a < offset + data.length; a += 4096) this.flash.erase(a, 4096);
    this.flash.load(offset, data);
  }

  private async bindUdp(): Promise<void> {
    const socket = createSocket({ type: this.address.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(
          new AirflashError(
            'BAD_ARGUMENT',
            `Cannot listen on ${this.address}:${this.requestedPort}: ${err.message}`,
            {
              hint: 'Pick another --port (0 lets the system choose) or another 127.0.0.x address.',
              cause: err,
            },
          ),
        );
      };
      socket.once('error', onError);
      socket.bind({ address: this.address, port: this.requestedPort, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    socket.on('error', () => {
      // a send to a vanished host port: ignore, like lwIP
    });
    socket.on('message', (data, rinfo) => this.onDatagram(data, rinfo));
    this.udp = socket;
    this.boundPort = socket.address().port;
  }

  private async startMdns(): Promise<void> {
    const mod = await import('../../../discovery/index.ts');
    const option = typeof this.mdnsOption === 'object' ? this.mdnsOption : undefined;
    const transport =
      option !== undefined && 'transport' in option
        ? (option.transport as Parameters<typeof mod.advertise>[0]['transport'])
        : undefined;
    const mdnsPort = option !== undefined && 'port' in option ? option.port : undefined;
    this.mdnsAd = await mod.advertise({
      name: this.hostname,
      hostname: this.hostname,
      port: this.port,
      addresses: [this.address],
      txt: wireTxt(this.core, this.board, this.secret !== undefined),
      ...(transport === undefined
        ? { interface: this.address, ...(mdnsPort === undefined ? {} : { mdnsPort }) }
        : { transport }),
    });
  }

  // ---------------------------------------------------------------- events and log

  private emit(e: DeviceEvent): void {
    this.onEvent?.(e);
    this.events.emit('event', e);
    this.events.emit(e.event, e);
  }

  private log_(line: string): void {
    this.logLines.push(line);
    if (this.logLines.length > LOG_LIMIT) this.logLines.splice(0, this.logLines.length - LOG_LIMIT);
    this.onLog?.(line);
    this.events.emit('log', line);
  }

  /** BasicOTA's error callback output: `Error[n]: …`. */
  private callbackError(n: number): void {
    const names = ['Auth Failed', 'Begin Failed', 'Connect Failed', 'Receive Failed', 'End Failed'];
    this.log_(`Error[${n}]: ${names[n] ?? 'Unknown'}`);
  }

  private updateError(text: string): void {
    this.counters.updateErrors++;
    this.emit({ event: 'update-error', address: this.address, text });
  }

  // ---------------------------------------------------------------- time

  private scaled(ms: number): number {
    return ms * this.timeScale;
  }

  /** Timeouts scale like delays, except with timeScale 0 ("no delays"), where they keep their length. */
  private scaledTimeout(ms: number): number {
    return this.timeScale > 0 ? ms * this.timeScale : ms;
  }

  private delay(ms: number, signal: AbortSignal): Promise<void> {
    return haltableSleep(this.scaled(ms), signal);
  }

  /** Spend flash time: accumulated against an absolute clock so 1 ms timer granularity does not add up. */
  private async busy(ms: number, signal: AbortSignal): Promise<void> {
    const scaled = this.scaled(ms);
    if (scaled <= 0) return;
    const now = performance.now();
    this.busyUntil = Math.max(now, this.busyUntil) + scaled;
    const wait = this.busyUntil - now;
    if (wait >= 1) await haltableSleep(wait, signal);
  }

  private micros(): number {
    return Math.floor((performance.now() - this.bootTime) * 1000) >>> 0;
  }

  // ---------------------------------------------------------------- UDP

  private onDatagram(data: Buffer, rinfo: RemoteInfo): void {
    if (this.lifeState !== 'running') return;
    if (this.link.udpLoss > 0 && this.rnd() < this.link.udpLoss) return;
    const d: Datagram = { data, address: rinfo.address, port: rinfo.port };
    const deliver = (): void => {
      if (this.lifeState !== 'running') return;
      if (this.core === 'esp8266') {
        this.onRx8266(d);
      } else {
        // ESP32: queued in the socket until handle() reads one datagram per call.
        if (this.queue.length >= ESP32_UDP_QUEUE) return;
        this.queue.push(d);
        this.kick();
      }
    };
    this.afterHalfRtt(deliver);
  }

  private afterHalfRtt(fn: () => void): void {
    if (this.link.rttMs <= 0) {
      fn();
      return;
    }
    const t = setTimeout(() => {
      this.udpTimers.delete(t);
      fn();
    }, this.link.rttMs / 2);
    this.udpTimers.add(t);
  }

  private sendUdp(text: string | Uint8Array, ip: string, port: number): void {
    const data = typeof text === 'string' ? Buffer.from(text, 'latin1') : Buffer.from(text);
    if (this.link.udpLoss > 0 && this.rnd() < this.link.udpLoss) return;
    this.afterHalfRtt(() => {
      const udp = this.udp;
      if (!udp || this.lifeState === 'closed') return;
      try {
        udp.send(data, port, ip);
      } catch {
        // socket closed meanwhile
      }
    });
  }

  private from(ip: string, port: number): string {
    return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
  }

  /** The next fault whose trigger is one of `kinds`, consumed unless faultEvery. */
  private takeFault(kinds: readonly FaultKind[]): Fault | undefined {
    if (this.faultEvery) return this.faults.find((f) => kinds.includes(f.kind));
    const head = this.faults[this.faultCursor];
    if (head && kinds.includes(head.kind)) {
      this.faultCursor++;
      return head;
    }
    return undefined;
  }

  private garbage(): Uint8Array {
    const n = 8 + Math.floor(this.rnd() * 40);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.rnd() * 256);
    // never a valid reply by accident
    out[0] = 0xfe;
    return out;
  }

  private newNonce(): string {
    const micros = String(this.micros());
    if (this.core === 'esp32') {
      // UNVERIFIED (protocol.md §3.2, §12): arduino-esp32 ≥ 3.3.1 sends a 64-hex nonce whose seed is
      // not documented; modelled as SHA-256 of micros() text and the MAC. Hosts must treat it as opaque.
      return sha256hex(`${micros}${this.mac}`);
    }
    // ESP8266 and ESP32 ≤ 3.3.0: MD5 of the decimal text of micros() (protocol.md §3.1).
    return md5hex(micros);
  }

  /** Handle an invitation in IDLE; returns the parsed invitation, or undefined when silent. */
  private acceptInvitation(d: Datagram): PendingInvitation | undefined {
    const inv = scanInvitation(d.data, this.profile.intDigits);
    if (!inv) {
      this.log_('bad invitation: ignored');
      return undefined;
    }
    this.counters.invitations++;
    const pending: PendingInvitation = { ...inv, ip: d.address, udpPort: d.port };
    this.emit({
      event: 'invitation',
      address: this.address,
      from: this.from(d.address, d.port),
      command: inv.command,
      size: inv.size,
    });
    return pending;
  }

  private checkAuth(d: Datagram): 'ok' | 'fail' | 'silent' {
    this.counters.authAttempts++;
    const field = this.core === 'esp32' ? 64 : 32;
    // UNVERIFIED for ≥ 3.3.1 (protocol.md §3.4): a malformed auth line is assumed silent, as before.
    const line = scanAuthLine(d.data, field, this.profile.intDigits);
    if (!line) return 'silent';
    const scheme = this.core === 'esp32' ? 'pbkdf2' : 'md5';
    return deviceAuthMatches(scheme, this.secret as string, this.nonce, line.cnonce, line.response)
      ? 'ok'
      : 'fail';
  }

  /** ESP32: one datagram, inside handle() (ArduinoOTA.cpp `_onRx`). Replies go to the sender. */
  private onRx32(d: Datagram): void {
    if (this.otaState === 'idle') {
      const inv = this.acceptInvitation(d);
      if (!inv) return;
      if (this.takeFault(['garbage'])) {
        this.log_('fault: garbage reply');
        this.sendUdp(this.garbage(), d.address, d.port);
        return;
      }
      this.inv = inv;
      if (this.secret !== undefined) {
        this.nonce = this.newNonce();
        this.sendUdp(`AUTH ${this.nonce}`, d.address, d.port);
        this.otaState = 'waitauth';
        return;
      }
      this.sendUdp('OK', d.address, d.port);
      this.otaIp = d.address;
      this.otaState = 'runupdate';
      return;
    }
    if (this.otaState === 'waitauth') {
      const r = this.checkAuth(d);
      if (r === 'silent') {
        this.log_('auth param fail / unexpected datagram: back to idle');
        this.otaState = 'idle';
        return;
      }
      if (r === 'ok') {
        this.sendUdp('OK', d.address, d.port);
        this.otaIp = d.address;
        this.otaState = 'runupdate';
        this.emit({ event: 'auth-ok', address: this.address, from: this.from(d.address, d.port) });
        return;
      }
      this.sendUdp('Authentication Failed', d.address, d.port);
      this.authFailed(d);
    }
  }

  private authFailed(d: Datagram): void {
    this.counters.authFailures++;
    this.log_('Authentication Failed');
    this.callbackError(0);
    this.otaState = 'idle';
    this.emit({ event: 'auth-failed', address: this.address, from: this.from(d.address, d.port) });
  }

  /** ESP8266: in the network callback, at once (ArduinoOTA.cpp `_onRx`); replies to the invitation's source. */
  private onRx8266(d: Datagram): void {
    if (this.otaState === 'idle') {
      const inv = this.acceptInvitation(d);
      if (!inv) return;
      if (this.takeFault(['garbage'])) {
        this.log_('fault: garbage reply');
        this.sendUdp(this.garbage(), d.address, d.port);
        return;
      }
      this.inv = inv;
      if (this.secret !== undefined) {
        this.nonce = this.newNonce();
        this.sendUdp(`AUTH ${this.nonce}`, inv.ip, inv.udpPort);
        this.otaState = 'waitauth';
        return;
      }
      this.otaState = 'runupdate';
      this.kick();
      return;
    }
    if (this.otaState === 'waitauth') {
      const inv = this.inv as PendingInvitation;
      const r = this.checkAuth(d);
      if (r === 'silent') {
        this.log_('unexpected datagram while waiting for auth: back to idle');
        this.otaState = 'idle';
        return;
      }
      if (r === 'ok') {
        this.otaState = 'runupdate';
        this.emit({ event: 'auth-ok', address: this.address, from: this.from(d.address, d.port) });
        this.kick();
        return;
      }
      this.sendUdp('Authentication Failed', inv.ip, inv.udpPort);
      this.authFailed(d);
    }
    // RUNUPDATE: read and dropped.
  }

  // ---------------------------------------------------------------- the sketch: loop() { ArduinoOTA.handle(); delay(loopMs); }

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private hasWork(): boolean {
    return this.otaState === 'runupdate' || (this.core !== 'esp8266' && this.queue.length > 0);
  }

  private waitWork(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new DeviceHalted());
    if (this.hasWork()) return Promise.resolve();
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
    const period = this.scaled(this.loopMs);
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
    let ran = false;
    if (this.otaState === 'runupdate') {
      ran = true;
      try {
        if (this.core === 'esp8266') await this.runUpdate8266(signal);
        else await this.runUpdate32(signal);
      } finally {
        this.conn = undefined;
      }
      if (signal.aborted) return true;
      this.otaState = 'idle';
    }
    if (this.core !== 'esp8266') {
      const d = this.queue.shift();
      if (d) this.onRx32(d);
    }
    return ran;
  }

  // ---------------------------------------------------------------- update, common parts

  private startUpdate(inv: PendingInvitation): void {
    this.counters.updatesStarted++;
    this.lastPercent = -1;
    this.log_(inv.command === 0 ? 'Start updating sketch' : 'Start updating filesystem');
    this.emit({ event: 'update-start', address: this.address, command: inv.command, size: inv.size });
    this.progress(0, inv.size);
  }

  private progress(bytes: number, total: number): void {
    const percent = total > 0 ? Math.floor((bytes * 100) / total) : 100;
    if (percent === this.lastPercent) return;
    this.lastPercent = percent;
    this.log_(`Progress: ${percent}%`);
    this.emit({ event: 'progress', address: this.address, bytes, total });
  }

  private async connectBack(ip: string, port: number, signal: AbortSignal): Promise<DeviceConn | undefined> {
    if (this.takeFault(['no-connect'])) {
      this.log_('fault: no-connect');
      return undefined;
    }
    if (this.link.rttMs > 0) await haltableSleep(this.link.rttMs / 2, signal);
    // ESP32 NetworkClient: 3000 ms; ESP8266 WiFiClient: 5000 ms (core-profile.ts). Scaled, but
    // never below CONNECT_TIMEOUT_FLOOR_MS of real time: on a busy machine a loopback connect can
    // wait that long for the event loop, which a 30 ms timeout would take for "Connect Failed".
    const ms = this.profile.connectTimeoutMs;
    const timeoutMs = Math.max(this.scaledTimeout(ms), Math.min(ms, CONNECT_TIMEOUT_FLOOR_MS));
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

  /** Transfer-fault bookkeeping for one update. */
  private transferFault(size: number): { fault: Fault; at: number } | undefined {
    const fault = this.takeFault(TRANSFER_FAULTS);
    if (!fault) return undefined;
    return { fault, at: Math.floor(((size >>> 0) * fault.percent) / 100) };
  }

  /**
   * Read up to `max` bytes, applying the transfer fault when its byte offset is reached.
   * Returns the bytes, or 'stalled'/'cut' when the fault took over.
   */
  private async faultyRead(
    conn: DeviceConn,
    max: number,
    received: number,
    tf: { fault: Fault; at: number; fired?: boolean } | undefined,
    _signal: AbortSignal,
  ): Promise<Uint8Array | 'cut'> {
    let limit = max;
    if (tf && !tf.fired && tf.fault.kind !== 'corrupt' && received + limit > tf.at) limit = tf.at - received;
    if (tf && !tf.fired && tf.fault.kind !== 'corrupt' && received >= tf.at) {
      tf.fired = true;
      return this.fireFault(conn, tf.fault);
    }
    const chunk = conn.read(Math.max(0, limit));
    if (
      tf &&
      !tf.fired &&
      tf.fault.kind === 'corrupt' &&
      tf.at >= received &&
      tf.at < received + chunk.length
    ) {
      tf.fired = true;
      const i = tf.at - received;
      chunk[i] = ((chunk[i] as number) ^ 0xff) & 0xff;
      this.log_(`fault: corrupted byte ${tf.at}`);
    }
    return chunk;
  }

  private async fireFault(conn: DeviceConn, fault: Fault): Promise<Uint8Array | 'cut'> {
    switch (fault.kind) {
      case 'stall':
        this.log_(`fault: stall at ${fault.percent}%`);
        // The link goes dead: no more data reaches the device. An ESP32 then runs into its receive
        // timeout (re-sends of the last count, Receive Failed); an ESP8266 waits until the host
        // closes. Either way the device ends up idle with its old firmware.
        conn.goDead();
        return new Uint8Array(0);
      case 'drop':
        this.log_(`fault: connection dropped at ${fault.percent}%`);
        conn.destroy();
        return 'cut';
      case 'reboot':
      case 'powerloss':
        this.log_(
          fault.kind === 'reboot'
            ? `fault: reboot at ${fault.percent}%`
            : `fault: power lost at ${fault.percent}%`,
        );
        conn.destroy();
        this.halt(fault.kind === 'reboot' ? 'fault' : 'powerloss');
        throw new DeviceHalted();
      default:
        return 'cut';
    }
  }

  // ---------------------------------------------------------------- ESP32 _runUpdate

  private activate(region: FlashRegion): boolean {
    const table = this.table as PartitionTable;
    if (this.verifyImage) {
      const info = esp32ImageInfo(this.flash.read(region.offset, region.size));
      if (!info.ok) {
        this.log_(`esp_image: ${info.reason}`);
        return false;
      }
    }
    const od = this.otadataPartition();
    const slots = usableOtaSlots(table);
    const slot = slots.findIndex((s) => s.name === region.label);
    if (!od || slot < 0) return false;
    // Rollback is enabled in Arduino cores: the new entry is written in state NEW (formats.md §5.5–§5.6).
    this.writeRaw(od.offset, setBootSlot(this.otadata(), slot, slots.length, { rollback: true }));
    return true;
  }

  private async runUpdate32(signal: AbortSignal): Promise<void> {
    const inv = this.inv as PendingInvitation;
    const upd = new Esp32Update(this.flash, this.decryptSupport);
    const target = esp32UpdateTarget(
      this.table as PartitionTable,
      this.running,
      inv.command,
      this.esp32Updater,
    );
    if (!upd.begin(inv.size, inv.command, target.region)) {
      // Begin failed: nothing goes to the host (protocol.md §2.4).
      this.log_(`Begin ERROR: ${upd.errorString()}`);
      this.callbackError(1);
      this.updateError(upd.errorString());
      return;
    }
    upd.setMD5(inv.md5);
    this.startUpdate(inv);
    const tf = this.transferFault(inv.size);
    const conn = await this.connectBack(this.otaIp, inv.port, signal);
    if (!conn) {
      this.log_('Connect Failed');
      this.callbackError(2);
    }
    let written = 0;
    let total = 0;
    let tried = 0;
    let received = 0;
    let firstError = conn ? '' : 'Connect Failed';
    while (conn && !upd.isFinished() && conn.connected()) {
      // Scaled, but never below RECEIVE_TIMEOUT_FLOOR_MS of real time: a busy test machine can
      // pause the event loop for tens of milliseconds, which a 10 ms timeout would take for silence.
      const timeout = Math.max(
        this.scaledTimeout(this.receiveTimeoutMs),
        Math.min(this.receiveTimeoutMs, RECEIVE_TIMEOUT_FLOOR_MS),
      );
      const got = await conn.waitData(timeout, signal);
      if (got === 'timeout') {
        if (written && tried++ < TIMING_MODEL.esp32.receiveRetries) {
          this.log_(`Try[${tried}]: ${written}`);
          if (!conn.write(String(written))) {
            this.log_('failed to respond');
            break;
          }
          continue;
        }
        this.log_('Receive Failed');
        this.callbackError(3);
        upd.abort();
        conn.close();
        this.updateError('Receive Failed');
        return;
      }
      if (got === 'closed') break;
      tried = 0;
      const chunk = await this.faultyRead(conn, TIMING_MODEL.esp32.readSize, received, tf, signal);
      if (chunk === 'cut') continue;
      if (chunk.length === 0) continue;
      received += chunk.length;
      const r = upd.write(chunk);
      await this.busy(r.costMs, signal);
      if (
        target.overwritesRunning &&
        this.flash.read((this.running as PartitionEntry).offset, 1)[0] !== 0xe9
      ) {
        // ≤ 3.3.0 on a one-slot table: Update erased the app the CPU runs from (its first sector,
        // at the first 4 KiB flush); the next cache miss executes erased flash and the chip resets.
        this.log_('Guru Meditation Error: the running app partition was erased (no running-partition guard)');
        conn.destroy();
        this.halt('fault');
        throw new DeviceHalted();
      }
      written = r.written;
      if (written > 0) {
        conn.write(String(written));
        total += written;
        this.progress(total, upd.expectedSize() || inv.size >>> 0);
      } else {
        this.log_(`Write ERROR: ${upd.errorString()}`);
        firstError ||= upd.errorString();
      }
    }
    const staged = upd.target();
    const endMs = esp32EndMs(inv.size >>> 0, inv.command);
    const ended = upd.end((reg) => this.activate(reg));
    // Update.end() reads the image back, checks its SHA-256 and rewrites otadata before `OK`.
    if (ended) await this.busy(endMs, signal);
    if (ended) {
      conn?.write('OK');
      conn?.close();
      this.counters.updatesCompleted++;
      this.log_('Update Success');
      this.emit({
        event: 'update-complete',
        address: this.address,
        md5: upd.md5Hex(),
        size: inv.size >>> 0,
        partition: staged?.label ?? '',
      });
      await this.persist();
      await this.delay(TIMING_MODEL.esp32.afterOkMs, signal);
      this.log_('End');
      // `if (_rebootOnSuccess) { delay(100); ESP.restart(); }` in ArduinoOTA.cpp `_runUpdate()`
      // does not look at `_cmd`: a filesystem update (cmd 100) reboots as a firmware update does.
      await this.delay(TIMING_MODEL.esp32.beforeRestartMs, signal);
      this.halt('update');
      return;
    }
    this.callbackError(4);
    const text = upd.errorString();
    conn?.write(`${text}\r\n`);
    conn?.close();
    this.log_(`Update ERROR: ${text}`);
    this.updateError(firstError && firstError !== text ? firstError : text);
    await this.persist();
    await this.delay(TIMING_MODEL.esp32.afterErrorMs, signal);
  }

  // ---------------------------------------------------------------- ESP8266 _runUpdate

  private async runUpdate8266(signal: AbortSignal): Promise<void> {
    const inv = this.inv as PendingInvitation;
    const layout = this.layout8266 as Esp8266FlashLayout;
    const upd = new Esp8266Update(this.flash, {
      fsStart: layout.fsStart,
      fsEnd: layout.fsEnd,
      flashSize: this.flash.size, // ESP.getFlashChipRealSize(): the chip (--flash-size)
      sdkFlashSize: this.buildFlashSize(),
      uartBoot: this.uartBoot,
    });
    if (!upd.begin(inv.size, inv.command, this.sketchSize8266)) {
      const text = upd.errorText();
      this.log_(text);
      this.log_('Update Begin Error');
      this.callbackError(1);
      this.sendUdp(`ERR: ${text}\n`, inv.ip, inv.udpPort);
      this.updateError(text);
      await this.delay(TIMING_MODEL.esp8266.afterBeginErrorMs, signal);
      return;
    }
    this.sendUdp('OK', inv.ip, inv.udpPort);
    await this.delay(TIMING_MODEL.esp8266.beforeConnectMs, signal);
    upd.setMD5(inv.md5);
    this.startUpdate(inv);
    const tf = this.transferFault(inv.size);
    const conn = await this.connectBack(inv.ip, inv.port, signal);
    if (!conn) {
      this.log_('Connect Failed');
      this.callbackError(2);
    }
    let total = 0;
    let received = 0;
    let cut = false;
    while (conn && !cut && !upd.isFinished() && (conn.connected() || conn.available() > 0)) {
      // `while (!client.available() && waited--) delay(1);` — the post-decrement means a real
      // timeout never takes the "Receive Failed" branch: no effective timeout (protocol.md §4.3).
      const got = await conn.waitData(this.scaledTimeout(1000), signal);
      if (got !== 'data') continue;
      // Update.write(client): drain everything available (1 ms pauses while more arrives).
      let written = 0;
      for (;;) {
        // Updater.h `write(T&)`: `available = remaining() - _bufferLen` at most; the rest is never read.
        const want = Math.min(conn.available(), upd.room());
        if (want > 0) {
          const chunk = await this.faultyRead(conn, want, received, tf, signal);
          if (chunk === 'cut') {
            cut = true;
            break;
          }
          received += chunk.length;
          const r = upd.write(chunk);
          await this.busy(r.costMs, signal);
          written += r.written;
          if (r.written < chunk.length) break;
        }
        if (upd.remaining() === 0) break;
        if (conn.available() > 0) continue;
        const more = await conn.waitData(this.scaledTimeout(TIMING_MODEL.esp8266.drainIdleMs), signal);
        if (more !== 'data') break;
      }
      if (written > 0) {
        conn.write(String(written));
        total += written;
        this.progress(total, inv.size >>> 0);
      }
    }
    const staged = upd.end();
    if (staged) {
      this.log_(`[Updater] MD5 Success: ${staged.md5}`);
      if (staged.command === 0) {
        this.log_(
          `Staged: address:0x${staged.address.toString(16).toUpperCase().padStart(8, '0')}, size:0x${staged.size.toString(16).toUpperCase().padStart(8, '0')}`,
        );
        this.eboot = { address: staged.address, size: staged.size };
      } else {
        this.log_(
          `Filesystem: address:0x${staged.address.toString(16).toUpperCase().padStart(8, '0')}, size:0x${staged.size.toString(16).toUpperCase().padStart(8, '0')}`,
        );
      }
      this.counters.updatesCompleted++;
      this.emit({
        event: 'update-complete',
        address: this.address,
        md5: staged.md5,
        size: staged.size,
        partition: staged.command === 0 ? 'sketch' : 'filesystem',
      });
      await this.persist();
      // flush, delay(1000), "OK", flush, delay(1000), close (esp8266 PR #7204, protocol.md §4.4)
      await this.delay(TIMING_MODEL.esp8266.beforeOkMs, signal);
      conn?.write('OK');
      await this.delay(TIMING_MODEL.esp8266.afterOkMs, signal);
      conn?.close();
      this.log_('Update Success');
      this.log_('End');
      this.log_('Rebooting...');
      await this.delay(TIMING_MODEL.esp8266.beforeRestartMs, signal);
      this.halt('update');
      return;
    }
    this.callbackError(4);
    const text = upd.errorText();
    conn?.write(`${text}\n`);
    conn?.close();
    this.log_(text);
    this.updateError(conn ? text : 'Connect Failed');
    await this.persist();
  }

  // ---------------------------------------------------------------- reboot, power, close

  /** ESP.restart(), a watchdog reset or a power loss: everything running stops; boot after bootMs. */
  private halt(reason: 'update' | 'fault' | 'powerloss'): void {
    if (this.lifeState === 'closed') return;
    if (reason === 'update' && this.core !== 'esp8266') this.log_('Rebooting...');
    this.lifeState = 'rebooting';
    this.otaState = 'idle';
    this.queue = [];
    this.life.abort();
    if (reason !== 'update') this.conn?.destroy();
    this.emit({ event: 'reboot', address: this.address, reason });
    const bootMs = this.core === 'esp8266' ? TIMING_MODEL.esp8266.bootMs : TIMING_MODEL.esp32.bootMs;
    void this.persist();
    this.bootTimer = setTimeout(() => {
      this.bootTimer = undefined;
      if (this.lifeState === 'closed') return;
      this.boot();
    }, this.scaled(bootMs));
  }

  private async persist(): Promise<void> {
    if (!this.stateDir) return;
    const meta = { core: this.core, flashSize: this.flash.size, sketchSize: this.sketchSize8266 };
    try {
      await saveState(this.stateDir, this.flash, {
        ...meta,
        eboot: this.eboot ?? null,
        table: this.table ?? null,
      });
    } catch (error) {
      this.log_(`state: cannot save (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  private async restoreState(dir: string): Promise<boolean> {
    const meta = await loadState(dir, this.flash, this.core);
    if (!meta) return false;
    if (this.core === 'esp8266' && typeof meta.sketchSize === 'number') this.sketchSize8266 = meta.sketchSize;
    if (meta.eboot) this.eboot = meta.eboot;
    this.log_(`state restored from ${dir}`);
    return true;
  }

  private async shutdown(): Promise<void> {
    this.lifeState = 'closed';
    this.life.abort();
    if (this.bootTimer) clearTimeout(this.bootTimer);
    for (const t of this.udpTimers) clearTimeout(t);
    this.udpTimers.clear();
    this.conn?.dispose();
    this.kick();
    await this.sketchDone.catch(() => {});
    const udp = this.udp;
    this.udp = undefined;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (this.mdnsAd) await this.mdnsAd.close().catch(() => {});
    await this.persist();
    for (const cancel of [...this.waiters]) cancel();
    this.events.removeAllListeners();
  }
}

function secretFor(core: CoreKind, options: DeviceOptions): string | undefined {
  if (options.passwordHash !== undefined) return deviceSecretFromHash(core, options.passwordHash);
  if (options.password !== undefined) return deviceSecretFromPassword(core, options.password);
  return undefined;
}

/** Start one emulated device; resolves when it listens. */
export async function startDevice(options: DeviceOptions = {}): Promise<EmulatedDevice> {
  const core = options.core ?? 'esp32';
  let flashSize: number;
  let table: PartitionTable | undefined;
  if (core === 'esp8266') {
    const layout = esp8266Layout(options.flashLayout ?? '4M2M');
    flashSize =
      options.flashSize === undefined ? layout.flashSize : toFlashSize(options.flashSize, 'esp8266');
  } else {
    const loaded = await loadTable(options.partitions);
    table = loaded.table;
    flashSize =
      options.flashSize === undefined
        ? (loaded.schemeFlash ?? 4 * MB)
        : toFlashSize(options.flashSize, 'esp32');
  }
  const device = new Device(options, table === undefined ? { flashSize } : { table, flashSize });
  try {
    await device.start();
  } catch (error) {
    await device.close();
    throw error;
  }
  return device;
}
