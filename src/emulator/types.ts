import type { EventEmitter } from 'node:events';
import type { Advertisement, AdvertiseOptions, MdnsTransport } from '../discovery/index.ts';
import type { PartitionTable } from '../formats/index.ts';
import type { ArduinoOtaCounters, ArduinoOtaEvent } from '../protocols/arduino-ota/device/session.ts';
import type { CoreKind } from '../protocols/arduino-ota/wire/index.ts';
import type { ProfileId } from '../protocols/web-ota/wire/profiles/index.ts';

export { FAULT_KINDS, type Fault, type FaultKind } from './board/faults.ts';

/** Publishes a device over mDNS (the default is discovery's advertise(); inject another to test or replace it). */
export type DeviceAdvertiser = (options: AdvertiseOptions) => Promise<Pick<Advertisement, 'close'>>;

export interface DeviceOptions {
  /** The OTA protocol the device speaks: 'arduino-ota' (default) or 'esphome' (ESPHome native OTA
   * on TCP, ESP32 board; docs/emulator.md "ESPHome native OTA"). */
  protocol?: 'arduino-ota' | 'esphome' | 'http';
  // Web OTA (protocol 'http', src/emulator/web-device.ts; docs/emulator.md "Web OTA"):
  /** The firmware whose web updater is emulated (default arduino-esp32). */
  profile?: ProfileId;
  /** The web user for `password` (default admin). */
  user?: string;
  /** The auth the web server asks for when `password` is set (default basic). */
  webAuth?: 'basic' | 'digest' | 'digest-sha256';
  /** The version the running firmware reports before an update (after one: the image's app descriptor). */
  firmwareVersion?: string;
  /** Answer this failure text at the end of the next upload (e.g. "Not Enough Space"). */
  webError?: string;
  /** ESPHome web_server without `ota: - platform: web_server`. */
  webOtaDisabled?: boolean;
  /** A slow device: extra device ms per KiB received. */
  webSlowMsPerKiB?: number;
  /** WLED: OTA locked, settings PIN not entered, updates only from its own /24. */
  wledOtaLock?: boolean;
  wledPin?: boolean;
  wledSameSubnet?: boolean;
  /** WLED: its release name (default ESP32). */
  wledRelease?: string;
  /** ESPHome: `ota: version:` 1 or 2 (default 2). */
  otaVersion?: number;
  /** ESPHome: 'sha256' = 2026.1+ (extended protocol, SHA-256 auth only, default); 'md5' = a device
   * before SHA-256 auth (legacy header, MD5 challenge only). */
  esphomeAuth?: 'sha256' | 'md5';
  /** ESPHome: answer this error byte (0x80–0x94, 0xFF) once, at the step the real device sends it. */
  esphomeError?: number;
  /** esphome: `ota: encryption:` (Noise) offered, or required (0x94 to a client without it). */
  esphomeEncryption?: 'offered' | 'required';
  /** esphome: the encryption key (base64 of 32 bytes), with esphomeEncryption. */
  esphomeKey?: string;
  /** 'esp32' = arduino-esp32 ≥ 3.3.1 (64-hex nonce, PBKDF2); 'esp32-legacy' = 3.0–3.3.0; 'esp8266'. */
  core?: CoreKind;
  /** IPv4 loopback address (127.x.y.z) or '::1' (esp8266 only with `ipv6`). Default 127.0.0.1. */
  address?: string;
  /** ESP8266: a build with an IPv6 lwIP variant (the default "v2 Lower Memory" has none). */
  ipv6?: boolean;
  /** esp32 only: the Update library revision, 'newest' (default: U_FLASHFS, running-slot guard) or '3.3.1'. */
  esp32Updater?: '3.3.1' | 'newest';
  /** UDP OTA port; default 3232 (ESP32) / 8266 (ESP8266); 0 = chosen by the OS. */
  port?: number;
  /** setPassword(): stored as MD5 hex (legacy cores) or SHA-256 hex (esp32 ≥ 3.3.1). */
  password?: string;
  /** setPasswordHash(): stored verbatim (so lower case matters); esp32 (≥ 3.3.1) takes only 32/64 hex. */
  passwordHash?: string;
  /** The sketch calls ArduinoOTA.handle() every loopMs (device ms); 0 = continuously. */
  loopMs?: number;
  /** Multiplies every device delay and timeout (loop period, flash timing, receive timeout, pauses). */
  timeScale?: number;
  /** ArduinoOTA.setTimeout() (ESP32 receive wait per pass, device ms). Default 1000. */
  receiveTimeoutMs?: number;
  /** Flash size ("4MB", bytes). ESP32 default: the scheme's size or 4MB; ESP8266: the layout's. */
  flashSize?: string | number;
  /** ESP32 partition table: a built-in scheme name, a CSV or binary file path, or a table. */
  partitions?: string | PartitionTable;
  /** ESP8266 flash layout (boards.txt eesz id), default 4M2M. */
  flashLayout?: string;
  /** ESP8266: size of the running sketch (ESP.getSketchSize()), default 400000. */
  sketchSize?: number;
  /** ESP8266: booted in UART download mode after a serial flash without a reset; every OTA then
   * fails with ERROR[11] Invalid bootstrapping state (a reset by hand clears it on hardware). */
  uartBoot?: boolean;
  /** ESP32: size of the initial firmware image, default about 200 KB. */
  firmwareSize?: number;
  /** Decryption support in the ESP32 Update library (default true: a wrong first byte reads "Decryption error"). */
  decryptSupport?: boolean;
  rttMs?: number;
  /** Bytes per second of the host → device path; 0 = unlimited. */
  bandwidth?: number;
  /** TCP receive window in bytes (default: the core's lwIP TCP_WND, 5744 ESP32 / 2144 ESP8266). */
  window?: number;
  /** Probability 0…1 that a datagram is lost (each direction). */
  udpLoss?: number;
  /** 'stall@50', 'drop@1', 'corrupt@50', 'reboot@50', 'powerloss@50', 'no-connect', 'garbage', 'offline'. */
  faults?: string[];
  /** Fire the faults on every update instead of once each, in order. */
  faultEvery?: boolean;
  hostname?: string;
  /** MAC address "aa:bb:cc:dd:ee:ff" (default derived from the address and seed). */
  mac?: string;
  /** Board name for mDNS TXT (default 'esp32' / 'generic'). */
  board?: string;
  /** Keep the flash content in this directory (one subdirectory per hostname) across restarts. */
  stateDir?: string;
  /**
   * Advertise `_arduino._tcp` over mDNS on the device's address (or through the given transport;
   * or on another group port than 5353, for a private loopback group).
   */
  mdns?: boolean | { transport: MdnsTransport } | { port: number };
  /** What publishes the mDNS service when `mdns` is set. Default: discovery's advertise(). */
  advertiser?: DeviceAdvertiser;
  /** Seed of the initial firmware, nonces' noise, loss and garbage. Default: from the hostname. */
  seed?: number;
  /** Receives every event, including the ones emitted while starting (listening, booted). */
  onEvent?: (event: DeviceEvent) => void;
  /** Receives every serial-like log line, including the ones written while starting. */
  onLog?: (line: string) => void;
}

export type DeviceEvent =
  | { event: 'listening'; address: string; port: number; core: CoreKind; hostname: string }
  | ArduinoOtaEvent
  | { event: 'reboot'; address: string; reason: 'update' | 'fault' | 'powerloss' }
  | { event: 'booted'; address: string; partition: string; md5: string };

export type DeviceEventName = DeviceEvent['event'];

export interface DeviceCounters extends ArduinoOtaCounters {
  boots: number;
}

export type DeviceState = 'idle' | 'waitauth' | 'runupdate' | 'rebooting' | 'offline';

export interface EmulatedDevice {
  readonly address: string;
  readonly port: number;
  readonly core: CoreKind;
  readonly hostname: string;
  readonly mac: string;
  readonly events: EventEmitter;
  readonly counters: Readonly<DeviceCounters>;
  state(): DeviceState;
  waitFor(
    event: DeviceEventName,
    predicate?: (e: DeviceEvent) => boolean,
    timeoutMs?: number,
  ): Promise<DeviceEvent>;
  /** Label of the partition the device runs from ('app0', …; ESP8266: 'sketch'). */
  runningPartition(): string;
  /** MD5 of the image the device boots. */
  runningImageMd5(): string;
  /** The otadata partition's bytes (ESP32; empty for ESP8266). */
  otadata(): Uint8Array;
  /** The partition table the device uses (ESP32; undefined for ESP8266). */
  partitionTable(): PartitionTable | undefined;
  readFlash(offset: number, length: number): Uint8Array;
  /** Serial-like log lines. */
  log(): string[];
  close(): Promise<void>;
}

export interface EmulatedFleet {
  readonly devices: readonly EmulatedDevice[];
  /** Every device's events, re-emitted on one emitter ('event'). */
  readonly events: EventEmitter;
  close(): Promise<void>;
}
