import type { BoardClock } from '../../../emulator/board/clock.ts';
import type { FaultableConn, FaultPlan, TransferFault } from '../../../emulator/board/faults.ts';
import { type CoreKind, md5hex, scanAuthLine, scanInvitation, sha256hex } from '../wire/index.ts';
import { deviceAuthMatches } from './auth-verify.ts';
import type { CoreProfile } from './core-profile.ts';

/**
 * What the two cores' ArduinoOTA classes share (esp8266 libraries/ArduinoOTA/ArduinoOTA.cpp,
 * arduino-esp32 libraries/ArduinoOTA/src/ArduinoOTA.cpp; docs/emulator.md "Fidelity"): the
 * invitation and auth checks of `_onRx`, BasicOTA's callbacks (`Error[n]`, progress), and the
 * connect-back of `_runUpdate`. The per-core shells (esp32.ts, esp8266.ts) add the UDP delivery,
 * `handle()` and `_runUpdate()`. A shell reaches the outside only through its ShellHost: the
 * board, the link and the device's events come from the emulator that mounts it.
 */

export type OtaState = 'idle' | 'waitauth' | 'runupdate';

export interface Datagram {
  data: Uint8Array;
  address: string;
  port: number;
}

export interface PendingInvitation {
  command: number;
  port: number;
  size: number;
  md5: string;
  /** Source of the invitation datagram. */
  ip: string;
  udpPort: number;
}

/** The ArduinoOTA events of an emulated device (DeviceEvent adds the board's). */
export type ArduinoOtaEvent =
  | { event: 'invitation'; address: string; from: string; command: number; size: number }
  | { event: 'auth-ok'; address: string; from: string }
  | { event: 'auth-failed'; address: string; from: string }
  | { event: 'update-start'; address: string; command: number; size: number }
  | { event: 'progress'; address: string; bytes: number; total: number }
  | { event: 'update-complete'; address: string; md5: string; size: number; partition: string }
  | { event: 'update-error'; address: string; text: string };

export interface ArduinoOtaCounters {
  invitations: number;
  authAttempts: number;
  authFailures: number;
  updatesStarted: number;
  updatesCompleted: number;
  updateErrors: number;
}

/** The device's TCP client to the host, as ArduinoOTA uses it (WiFiClient / NetworkClient). */
export interface OtaConn extends FaultableConn {
  waitData(ms: number, signal: AbortSignal): Promise<'data' | 'timeout' | 'closed'>;
  available(): number;
  connected(): boolean;
  write(text: string): boolean;
  close(): void;
}

/** What the emulator gives the shell it mounts. */
export interface ShellHost {
  readonly address: string;
  readonly mac: string;
  readonly core: CoreKind;
  readonly profile: CoreProfile;
  readonly clock: BoardClock;
  readonly faults: FaultPlan;
  readonly counters: ArduinoOtaCounters;
  log(line: string): void;
  emit(event: ArduinoOtaEvent): void;
  sendUdp(data: string | Uint8Array, ip: string, port: number): void;
  /** Connect to the host through the link model; undefined when it did not answer in `timeoutMs`. */
  connect(ip: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<OtaConn | undefined>;
  /** ESP.restart(), a watchdog reset or a power loss. */
  halt(reason: 'update' | 'fault' | 'powerloss'): void;
  /** Save the board (`--state`), if the device keeps one. */
  persist(): Promise<void>;
  /** Wake the sketch loop: handle() has work. */
  kick(): void;
}

/** One mounted ArduinoOTA instance, driven by the sketch loop of the emulator. */
export interface ArduinoOtaShell {
  readonly authRequired: boolean;
  state(): OtaState;
  /** After a reset: IDLE, nothing queued. */
  reset(): void;
  /** A datagram reached the device's OTA port. */
  receive(d: Datagram): void;
  /** Would handle() do something now? */
  hasWork(): boolean;
  /** ArduinoOTA.handle(). Returns true when it ran a transfer. */
  handle(signal: AbortSignal): Promise<boolean>;
}

/** Real-time floor of the scaled connect-back timeout (see connectBack). */
const CONNECT_TIMEOUT_FLOOR_MS = 1000;

/** The auth generation per core: nonce, auth-line field width and response scheme. */
const AUTH: Record<
  CoreKind,
  { field: 32 | 64; scheme: 'md5' | 'pbkdf2'; nonce(micros: string, mac: string): string }
> = {
  esp32: {
    field: 64,
    scheme: 'pbkdf2',
    // UNVERIFIED (A1; protocol.md §3.2, §12): arduino-esp32 ≥ 3.3.1 sends a 64-hex nonce whose seed is
    // not documented; modelled as SHA-256 of micros() text and the MAC. Hosts must treat it as opaque.
    nonce: (micros, mac) => sha256hex(`${micros}${mac}`),
  },
  // ESP8266 and ESP32 ≤ 3.3.0: MD5 of the decimal text of micros() (protocol.md §3.1).
  'esp32-legacy': { field: 32, scheme: 'md5', nonce: (micros) => md5hex(micros) },
  esp8266: { field: 32, scheme: 'md5', nonce: (micros) => md5hex(micros) },
};

const CALLBACK_ERRORS = ['Auth Failed', 'Begin Failed', 'Connect Failed', 'Receive Failed', 'End Failed'];

export abstract class ArduinoOtaSession implements ArduinoOtaShell {
  protected readonly host: ShellHost;
  private readonly secret: string | undefined;
  protected otaState: OtaState = 'idle';
  protected inv: PendingInvitation | undefined;
  protected nonce = '';
  private lastPercent = -1;

  constructor(host: ShellHost, secret: string | undefined) {
    this.host = host;
    this.secret = secret;
  }

  get authRequired(): boolean {
    return this.secret !== undefined;
  }

  state(): OtaState {
    return this.otaState;
  }

  reset(): void {
    this.otaState = 'idle';
  }

  abstract receive(d: Datagram): void;
  abstract hasWork(): boolean;
  abstract handle(signal: AbortSignal): Promise<boolean>;

  protected from(ip: string, port: number): string {
    return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
  }

  /**
   * `_onRx` in IDLE: parse the invitation; reply garbage (fault), `AUTH <nonce>` (→ WAITAUTH), or
   * leave the OK to the caller ('open'). Undefined when the datagram is ignored.
   */
  protected invite(d: Datagram): 'auth' | 'open' | undefined {
    const inv = scanInvitation(d.data, this.host.profile.intDigits);
    if (!inv) {
      this.host.log('bad invitation: ignored');
      return undefined;
    }
    this.host.counters.invitations++;
    this.host.emit({
      event: 'invitation',
      address: this.host.address,
      from: this.from(d.address, d.port),
      command: inv.command,
      size: inv.size,
    });
    if (this.host.faults.take(['garbage'])) {
      this.host.log('fault: garbage reply');
      this.host.sendUdp(this.host.faults.garbage(), d.address, d.port);
      return undefined;
    }
    this.inv = { ...inv, ip: d.address, udpPort: d.port };
    if (this.secret === undefined) return 'open';
    this.nonce = AUTH[this.host.core].nonce(String(this.host.clock.micros()), this.host.mac);
    this.host.sendUdp(`AUTH ${this.nonce}`, d.address, d.port);
    this.otaState = 'waitauth';
    return 'auth';
  }

  protected checkAuth(d: Datagram): 'ok' | 'fail' | 'silent' {
    this.host.counters.authAttempts++;
    const auth = AUTH[this.host.core];
    // UNVERIFIED for ≥ 3.3.1 (A2; protocol.md §3.4): a malformed auth line is assumed silent, as before.
    // ASSUMPTION (A5): a stored 32-hex (MD5) secret on ≥ 3.3.1 still runs the PBKDF2 exchange.
    const line = scanAuthLine(d.data, auth.field, this.host.profile.intDigits);
    if (!line) return 'silent';
    return deviceAuthMatches(auth.scheme, this.secret as string, this.nonce, line.cnonce, line.response)
      ? 'ok'
      : 'fail';
  }

  protected authOk(d: Datagram): void {
    this.otaState = 'runupdate';
    this.host.emit({ event: 'auth-ok', address: this.host.address, from: this.from(d.address, d.port) });
  }

  protected authFailed(d: Datagram): void {
    this.host.counters.authFailures++;
    this.host.log('Authentication Failed');
    this.callbackError(0);
    this.otaState = 'idle';
    this.host.emit({ event: 'auth-failed', address: this.host.address, from: this.from(d.address, d.port) });
  }

  /** BasicOTA's error callback output: `Error[n]: …`. */
  protected callbackError(n: number): void {
    this.host.log(`Error[${n}]: ${CALLBACK_ERRORS[n] ?? 'Unknown'}`);
  }

  protected updateError(text: string): void {
    this.host.counters.updateErrors++;
    this.host.emit({ event: 'update-error', address: this.host.address, text });
  }

  protected startUpdate(inv: PendingInvitation): void {
    this.host.counters.updatesStarted++;
    this.lastPercent = -1;
    this.host.log(inv.command === 0 ? 'Start updating sketch' : 'Start updating filesystem');
    this.host.emit({
      event: 'update-start',
      address: this.host.address,
      command: inv.command,
      size: inv.size,
    });
    this.progress(0, inv.size);
  }

  protected progress(bytes: number, total: number): void {
    const percent = total > 0 ? Math.floor((bytes * 100) / total) : 100;
    if (percent === this.lastPercent) return;
    this.lastPercent = percent;
    this.host.log(`Progress: ${percent}%`);
    this.host.emit({ event: 'progress', address: this.host.address, bytes, total });
  }

  /** The transfer fault armed for this update, if one is next. */
  protected transferFault(size: number): TransferFault | undefined {
    return this.host.faults.transfer(
      size,
      (line) => this.host.log(line),
      (reason) => this.host.halt(reason),
    );
  }

  /** Read up to `max` bytes, through the transfer fault when one is armed. */
  protected read(
    conn: OtaConn,
    max: number,
    received: number,
    tf: TransferFault | undefined,
  ): Uint8Array | 'cut' {
    return tf ? tf.read(conn, max, received) : conn.read(max);
  }

  /** `client.connect(_ota_ip, _port)` in `_runUpdate()`; undefined = "Connect Failed". */
  protected async connectBack(ip: string, port: number, signal: AbortSignal): Promise<OtaConn | undefined> {
    if (this.host.faults.take(['no-connect'])) {
      this.host.log('fault: no-connect');
      return undefined;
    }
    // ESP32 NetworkClient: 3000 ms; ESP8266 WiFiClient: 5000 ms (core-profile.ts). Scaled, but
    // never below CONNECT_TIMEOUT_FLOOR_MS of real time: on a busy machine a loopback connect can
    // wait that long for the event loop, which a 30 ms timeout would take for "Connect Failed".
    const timeoutMs = this.host.clock.flooredTimeout(
      this.host.profile.connectTimeoutMs,
      CONNECT_TIMEOUT_FLOOR_MS,
    );
    return this.host.connect(ip, port, timeoutMs, signal);
  }
}
