import { EventEmitter } from 'node:events';
import { AirflashError } from '../core/errors.ts';
import { startDevice } from './device.ts';
import type { DeviceEvent, DeviceOptions, EmulatedDevice, EmulatedFleet } from './types.ts';

/** The IPv4 address `offset` after `address` (127.0.0.1 + 2 → 127.0.0.3). */
export function nextAddress(address: string, offset: number): string {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new AirflashError('BAD_ARGUMENT', `"${address}" is not an IPv4 address; --count needs one.`);
  }
  let n =
    (((parts[0] as number) << 24) |
      ((parts[1] as number) << 16) |
      ((parts[2] as number) << 8) |
      (parts[3] as number)) >>>
    0;
  n = (n + offset) >>> 0;
  const out = [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
  if (!out.startsWith('127.')) throw new AirflashError('BAD_ARGUMENT', `${out} is outside 127.0.0.0/8.`);
  return out;
}

/**
 * Start several devices, each on its own address (specs without an address get consecutive ones
 * from 127.0.0.1 on, skipping addresses other specs name). Each has its own hostname, MAC and firmware.
 */
export async function startFleet(specs: DeviceOptions[]): Promise<EmulatedFleet> {
  const taken = new Set(specs.map((s) => s.address).filter((a): a is string => a !== undefined));
  let cursor = 0;
  const resolved = specs.map((spec) => {
    if (spec.address !== undefined) return spec;
    let address = nextAddress('127.0.0.1', cursor++);
    while (taken.has(address)) address = nextAddress('127.0.0.1', cursor++);
    taken.add(address);
    return { ...spec, address };
  });
  const events = new EventEmitter();
  const devices: EmulatedDevice[] = [];
  try {
    for (const spec of resolved) {
      const user = spec.onEvent;
      const device = await startDevice({
        ...spec,
        onEvent: (e: DeviceEvent) => {
          user?.(e);
          events.emit('event', e);
        },
      });
      devices.push(device);
    }
  } catch (error) {
    await Promise.all(devices.map((d) => d.close()));
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    devices,
    events,
    close() {
      closing ??= Promise.all(devices.map((d) => d.close())).then(() => {
        events.removeAllListeners();
      });
      return closing;
    },
  };
}
