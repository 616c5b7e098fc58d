import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { AirflashError } from '../core/errors.ts';
import { defaultPort } from '../devices/family.ts';
import { resolvePartitions } from '../devices/partitions.ts';
import {
  builtinPartitionTable,
  formatFlashSize,
  type PartitionTable,
  parseFlashSize,
} from '../formats/index.ts';
import { coreProfile } from '../protocols/arduino-ota/device/core-profile.ts';
import { CORES, type CoreKind } from '../protocols/arduino-ota/wire/index.ts';
import { ESP32_UPDATER_REVISIONS, type Esp32UpdaterRevision } from './board/esp32-target.ts';
import { type Fault, parseFault } from './board/faults.ts';
import { seedFromText } from './board/firmware.ts';
import { TIMING_MODEL } from './board/timing.ts';
import type { CoreMount, MountSettings } from './core-mounts.ts';
import { DEFAULT_LINK, type LinkModel } from './link.ts';
import type { DeviceOptions } from './types.ts';

/** Checks and loaders for DeviceOptions (startDevice()): each bad value is a BAD_ARGUMENT. */

const MB = 1024 * 1024;

export function checkAddress(address: string, core: CoreKind, ipv6: boolean | undefined): void {
  if (address === '::1') {
    // A default ESP8266 build (lwIP "v2 Lower Memory") has no IPv6 (core-profile.ts).
    if (ipv6 ?? coreProfile(core).ipv6) return;
    throw new AirflashError(
      'BAD_ARGUMENT',
      `A default ${core} build has no IPv6, so it cannot listen on ::1.`,
      {
        hint: 'Use a 127.x.y.z address, or ipv6: true (--ipv6) to model a build with an IPv6 lwIP variant.',
      },
    );
  }
  if (!isIPv4(address) || !address.startsWith('127.')) {
    throw new AirflashError('BAD_ARGUMENT', `The emulator only listens on loopback; "${address}" is not.`, {
      hint: 'Use an address in 127.0.0.0/8 (e.g. 127.0.0.2) or ::1.',
    });
  }
}

export function nonNegative(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new AirflashError('BAD_ARGUMENT', `${name} must be a non-negative number, not ${String(value)}.`);
  }
  return value;
}

export async function loadTable(partitions: string | PartitionTable | undefined): Promise<{
  table: PartitionTable;
  schemeFlash: number | undefined;
}> {
  if (partitions === undefined) {
    return { table: builtinPartitionTable('default') as PartitionTable, schemeFlash: 4 * MB };
  }
  const r = await resolvePartitions(partitions);
  return { table: r.table, schemeFlash: r.schemeFlash };
}

/** Flash sizes real ESP boards have: ESP32 family 1–128 MB, ESP8266 512 KB–16 MB (its layouts). */
const REAL_FLASH_SIZES: Record<'esp32' | 'esp8266', readonly number[]> = {
  esp32: [1, 2, 4, 8, 16, 32, 64, 128].map((mb) => mb * MB),
  esp8266: [MB / 2, MB, 2 * MB, 4 * MB, 8 * MB, 16 * MB],
};

export function toFlashSize(value: string | number, core: 'esp32' | 'esp8266'): number {
  const n = typeof value === 'number' ? value : parseFlashSize(value);
  const sizes = REAL_FLASH_SIZES[core];
  if (!sizes.includes(n)) {
    throw new AirflashError(
      'BAD_ARGUMENT',
      `Flash size ${String(value)} is not one an ${core === 'esp8266' ? 'ESP8266' : 'ESP32'} board has: ${sizes.map(formatFlashSize).join(', ')}.`,
    );
  }
  return n;
}

function macFor(address: string, seed: number): string {
  const h = createHash('sha256').update(`${address}/${seed}`).digest();
  const bytes = [0x24, 0x0a, 0xc4, h[0] as number, h[1] as number, h[2] as number];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** DeviceOptions checked and completed with their defaults (the Device constructor's settings). */
export interface DeviceSettings extends MountSettings {
  core: CoreKind;
  address: string;
  port: number;
  mac: string;
  hostname: string;
  board: string;
  secret: string | undefined;
  loopMs: number;
  timeScale: number;
  link: LinkModel;
  faults: Fault[];
}

/** Check `options` in the order the device reads them; the first bad one is a BAD_ARGUMENT. */
export function resolveDeviceOptions(
  options: DeviceOptions,
  mounts: Record<CoreKind, Pick<CoreMount, 'defaultHostname' | 'defaultBoard' | 'secret'>>,
): DeviceSettings {
  const core = options.core ?? 'esp32';
  if (!CORES.includes(core)) {
    throw new AirflashError('BAD_ARGUMENT', `Unknown core "${String(core)}".`, {
      hint: 'Use esp32, esp32-legacy or esp8266.',
    });
  }
  const mount = mounts[core];
  const address = options.address ?? '127.0.0.1';
  checkAddress(address, core, options.ipv6);
  const updater: Esp32UpdaterRevision = core === 'esp32-legacy' ? '3.0' : (options.esp32Updater ?? 'newest');
  if (!ESP32_UPDATER_REVISIONS.includes(updater)) {
    throw new AirflashError(
      'BAD_ARGUMENT',
      `Unknown ESP32 Update revision "${String(options.esp32Updater)}".`,
      {
        hint: 'Use 3.3.1 or newest (esp32-legacy is always 3.0).',
      },
    );
  }
  const port = options.port ?? defaultPort(core);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AirflashError('BAD_ARGUMENT', `Port ${port} is not a UDP port.`);
  }
  const seed = options.seed ?? seedFromText(`${address}/${options.hostname ?? ''}/${core}`);
  const mac = (options.mac ?? macFor(address, seed)).toLowerCase();
  const macHex = mac.replace(/[^0-9a-f]/g, '');
  if (macHex.length !== 12) throw new AirflashError('BAD_ARGUMENT', `"${options.mac}" is not a MAC address.`);
  const hostname = options.hostname ?? mount.defaultHostname(macHex);
  const board = options.board ?? mount.defaultBoard;
  const secret = mount.secret(options);
  const loopMs = nonNegative('loopMs', options.loopMs ?? 0);
  const timeScale = nonNegative('timeScale', options.timeScale ?? 1);
  const receiveTimeoutMs = nonNegative(
    'receiveTimeoutMs',
    options.receiveTimeoutMs ?? TIMING_MODEL.esp32.receiveTimeoutMs,
  );
  const link: LinkModel = {
    rttMs: nonNegative('rttMs', options.rttMs ?? DEFAULT_LINK.rttMs),
    bandwidth: nonNegative('bandwidth', options.bandwidth ?? DEFAULT_LINK.bandwidth),
    window: Math.max(1, nonNegative('window', options.window ?? coreProfile(core).tcpWnd)),
    udpLoss: nonNegative('udpLoss', options.udpLoss ?? DEFAULT_LINK.udpLoss),
  };
  if (link.udpLoss > 1) throw new AirflashError('BAD_ARGUMENT', 'udpLoss is a probability (0…1).');
  const faults = (options.faults ?? []).map(parseFault);
  return {
    core,
    address,
    updater,
    port,
    seed,
    mac,
    hostname,
    board,
    secret,
    loopMs,
    timeScale,
    receiveTimeoutMs,
    link,
    faults,
  };
}
