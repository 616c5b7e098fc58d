/** The mDNS service every ArduinoOTA device advertises (protocol.md §6). */
export const ARDUINO_SERVICE = '_arduino._tcp.local';

/** The mDNS service an ESPHome device advertises (its native API; esphome mdns component). */
export const ESPHOME_SERVICE = '_esphomelib._tcp.local';

/** The services `discover()` browses, in this order. */
export const BROWSED_SERVICES: readonly string[] = [ARDUINO_SERVICE, ESPHOME_SERVICE];

/** The DNS-SD service enumeration name (RFC 6763 §9). */
export const SERVICES_ENUMERATION = '_services._dns-sd._udp.local';

/** The standard mDNS group and port. */
export const MDNS_GROUP_V4 = '224.0.0.251';
export const MDNS_PORT = 5353;

/** The two core families a device's advertisement can reveal. */
export type DiscoveredCore = 'esp32' | 'esp8266';

/** One device seen over mDNS. */
export interface DiscoveredDevice {
  /** Service instance name (the device's hostname unless the sketch set an instance name). */
  name: string;
  /** SRV target, e.g. `esp32-aabbccddeeff.local`. */
  host: string;
  /** IPv4 addresses first, then IPv6. */
  addresses: string[];
  /** The OTA port from the SRV record (3232 on ESP32, 8266 on ESP8266 unless changed). */
  port: number;
  /** TXT `board` (ESP32: variant folder name such as `esp32`; ESP8266: boards.txt id such as `d1_mini`). */
  board?: string;
  /** TXT `auth_upload`: whether the device had a password set when ArduinoOTA started. */
  authUpload?: boolean;
  /** Every TXT `key=value`, in the order the device sent them. */
  txt: Record<string, string>;
  /** The core the advertisement implies (see inferCore); absent when nothing points either way. */
  core?: DiscoveredCore;
  /** Date.now() of the last packet that mentioned this device. */
  lastSeen: number;
  /** The service it was found under, without `.local` (`_arduino._tcp`, `_esphomelib._tcp`). */
  service?: string;
  /**
   * An ESPHome device's TXT fields (found as `_esphomelib._tcp`). Its `port` is then the native
   * API's (6053), not the OTA port (3232 / 8266).
   */
  esphome?: import('./esphome-txt.ts').EsphomeTxt;
}

export type DiscoveryEvent =
  | { type: 'up'; device: DiscoveredDevice }
  | { type: 'update'; device: DiscoveredDevice }
  | { type: 'down'; device: DiscoveredDevice };

/** Where a datagram came from, or where to send one. */
export interface MdnsEndpoint {
  address: string;
  port: number;
}

/**
 * The one I/O boundary of discovery: raw DNS datagrams in and out of an mDNS group. The real
 * implementation is `createMdnsTransport()` (UDP multicast, pinned to chosen interfaces); tests
 * and the emulator may use `createMdnsBus()` (in memory) or pin the real one to loopback.
 */
export interface MdnsTransport {
  /** The UDP port of the group (5353 in the field; tests use another). */
  readonly port: number;
  /** Send to the group on every interface of this transport, or to one endpoint (unicast). */
  send(message: Uint8Array, to?: MdnsEndpoint): Promise<void>;
  /** Listen for datagrams; returns the function that stops listening. */
  onMessage(listener: (message: Uint8Array, from: MdnsEndpoint) => void): () => void;
  /** Close sockets. Pending sends settle; further sends reject. Idempotent. */
  close(): Promise<void>;
}

/** One entry of `airflash.devices.json`. */
export interface DeviceRecord {
  name: string;
  /** IP address or host name. */
  address: string;
  port?: number;
  core?: 'esp32' | 'esp32-legacy' | 'esp8266';
  /** Chip the firmware is for (`esp32`, `esp32s3`, `esp8266`, ...), lower-case without dashes. */
  chip?: string;
  /** Built-in scheme name, or a table file path (made absolute against the devices file's folder). */
  partitions?: string;
  /** Name of the environment variable that holds the OTA password. */
  passwordEnv?: string;
}
