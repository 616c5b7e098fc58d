import { isIPv4 } from 'node:net';
import { AirflashError } from '../core/errors.ts';
import { resolvePartitions } from '../devices/partitions.ts';
import {
  builtinPartitionTable,
  formatFlashSize,
  type PartitionTable,
  parseFlashSize,
} from '../formats/index.ts';
import type { CoreKind } from '../protocols/arduino-ota/wire/index.ts';
import { coreProfile } from './board/core-profile.ts';

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
