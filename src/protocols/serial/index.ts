/**
 * The USB serial family's public functions (the ROM loader through esptool-js 0.7.0 and
 * serialport 13). Each loads its host code (and the native serial binding) only when called, so
 * `import 'airflash'` stays light. Every function takes `signal` and named `timeouts`, reports
 * through `onEvent` (never prints) and fails with an `AirflashError` of a stable code.
 */
import { AirflashError } from '../../core/errors.ts';
import type { ChipInfo } from './host/chip-info.ts';
import type { SerialOptions } from './host/connect.ts';
import type { EraseSerialOptions, FlashSerialOptions, FlashSerialResult, SerialEvent } from './host/flash.ts';
import type { SerialPortEntry } from './host/port/list.ts';
import type { BoardPartitions } from './host/read-partitions.ts';
import type { ResetMode } from './host/reset.ts';
import type { UploadAppOptions, UploadAppResult } from './host/upload-app.ts';

/**
 * Load a host module. serialport and esptool-js are optional dependencies (an offline install of
 * airflash has none): without them the serial functions fail with SERIAL_UNAVAILABLE.
 */
async function host<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if (e.code === 'ERR_MODULE_NOT_FOUND' && /serialport|esptool-js/.test(e.message ?? ''))
      throw new AirflashError('SERIAL_UNAVAILABLE', 'The USB serial support is not installed.', {
        hint: 'npm install serialport@13.0.0 esptool-js@0.7.0 (optional dependencies of airflash).',
        cause: error,
      });
    throw error;
  }
}

/** The serial ports of this machine with their USB ids and what they usually are. */
async function listSerialPorts(options: { signal?: AbortSignal } = {}): Promise<SerialPortEntry[]> {
  return (await host(() => import('./host/port/list.ts'))).listSerialPorts(options);
}

/** Chip, revision, features, MAC, flash id and real size, crystal, security info, in plain words. */
async function chipInfo(options: SerialOptions): Promise<ChipInfo> {
  return (await host(() => import('./host/chip-info.ts'))).chipInfo(await withPorts(options));
}

/** Write a flash plan (an app, a merged image, or bootloader + table + otadata + app). */
async function flashSerial(options: FlashSerialOptions): Promise<FlashSerialResult> {
  return (await host(() => import('./host/flash.ts'))).flashSerial(await withPorts(options));
}

/** Erase the whole flash or one region. */
async function eraseSerial(
  options: EraseSerialOptions,
): Promise<{ ok: true; port: string; chip: ChipInfo; region?: { offset: number; size: number } }> {
  return (await host(() => import('./host/flash.ts'))).eraseSerial(await withPorts(options));
}

/** The partition table and otadata read off the board, and what it boots. */
async function readPartitionsSerial(options: SerialOptions): Promise<BoardPartitions> {
  return (await host(() => import('./host/read-partitions.ts'))).readPartitionsSerial(
    await withPorts(options),
  );
}

/** One app at the slot the board boots (the upload front's serial protocol, protocol.ts). */
async function uploadAppSerial(options: UploadAppOptions): Promise<UploadAppResult> {
  return (await host(() => import('./host/upload-app.ts'))).uploadAppSerial(await withPorts(options));
}

/** `port: 'auto'` without a port list: list the machine's ports first. */
async function withPorts<T extends SerialOptions>(options: T): Promise<T> {
  if (options.port !== 'auto' || options.ports !== undefined) return options;
  return { ...options, ports: await listSerialPorts(options.signal ? { signal: options.signal } : {}) };
}

export {
  type BoardPartitions,
  type ChipInfo,
  chipInfo,
  type EraseSerialOptions,
  eraseSerial,
  type FlashSerialOptions,
  type FlashSerialResult,
  flashSerial,
  listSerialPorts,
  type ResetMode,
  readPartitionsSerial,
  type SerialEvent,
  type SerialOptions,
  type SerialPortEntry,
  uploadAppSerial,
};
