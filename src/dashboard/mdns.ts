/** Devices found over mDNS, kept live in the dashboard's device list. */
import { type DiscoveredDevice, discover, type MdnsTransport } from '../discovery/index.ts';
import type { DeviceInfo } from './devices.ts';
import type { Dashboard } from './server.ts';

function infoFrom(device: DiscoveredDevice): DeviceInfo {
  const address = device.addresses.find((a) => !a.includes(':')) ?? device.addresses[0] ?? device.host;
  return {
    name: device.name,
    address,
    port: device.port,
    board: device.board,
    core: device.core,
    authRequired: device.authUpload,
  };
}

/**
 * Browse `_arduino._tcp` until `signal` aborts: a device that announces itself is added (or
 * merged with the same name from another source) and online; one whose records expire is offline.
 */
export async function browseInto(
  dashboard: Dashboard,
  signal: AbortSignal,
  transport?: MdnsTransport,
): Promise<void> {
  for await (const event of discover({
    watch: true,
    signal,
    ...(transport === undefined ? {} : { transport }),
  })) {
    const info = infoFrom(event.device);
    if (event.type === 'down') {
      const id = dashboard.registry.upsert('mdns', info);
      dashboard.registry.observe(id, { online: false });
    } else {
      dashboard.registry.upsert('mdns', info, { online: true, at: event.device.lastSeen });
    }
  }
}
