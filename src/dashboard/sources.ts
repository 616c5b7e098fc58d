/** Where the dashboard's devices come from: the devices file, live mDNS, and the demo fleet. */
import { debuglog } from 'node:util';
import { defaultPort } from '../devices/family.ts';
import { loadDevicesFile, type MdnsTransport } from '../discovery/index.ts';
import { startDemoFleet } from './demo.ts';
import { browseInto } from './mdns.ts';
import type { Dashboard } from './server.ts';

const debug = debuglog('airflash');

export interface SourceOptions {
  cwd: string;
  /**
   * Devices file; default `airflash.devices.json` in `cwd` when it exists. With `demo`, only a
   * file named here is loaded (the demo is an isolated world).
   */
  devicesFile?: string;
  /** Browse mDNS on the network (default true; false with `demo` unless set to true). */
  mdns?: boolean;
  /** An mDNS transport to browse with instead of the network's (tests pin one to loopback). */
  mdnsTransport?: MdnsTransport;
  /** Start the demo fleet. */
  demo?: boolean;
}

/** Load the devices file, start browsing and the demo as asked; returns lines for the log. */
export async function setupSources(dashboard: Dashboard, options: SourceOptions): Promise<string[]> {
  const notes: string[] = [];
  const warnings: string[] = [];
  const demo = options.demo === true;
  const records =
    demo && options.devicesFile === undefined
      ? []
      : await loadDevicesFile(options.devicesFile, options.cwd, { onWarning: (w) => warnings.push(w) });
  for (const record of records) {
    dashboard.registry.upsert('file', {
      name: record.name,
      address: record.address,
      port: record.port ?? defaultPort(record),
      core: record.core,
      chip: record.chip,
      partitions: record.partitions,
      passwordEnv: record.passwordEnv,
    });
  }
  if (records.length > 0) notes.push(`${records.length} device(s) from the devices file`);
  for (const w of warnings) notes.push(`devices file: ${w}`);

  if (demo) {
    const demo = await startDemoFleet(dashboard);
    dashboard.onClose(() => demo.close());
    notes.push(`demo: ${demo.devices.length} emulated devices on 127.0.0.x (${demo.summary})`);
  }

  if (options.mdns ?? !demo) {
    const controller = new AbortController();
    const loop = browseInto(dashboard, controller.signal, options.mdnsTransport).catch((error: unknown) => {
      debug('dashboard: mDNS browsing stopped: %s', error instanceof Error ? error.message : error);
    });
    dashboard.onClose(async () => {
      controller.abort();
      await loop;
    });
    notes.push('browsing mDNS for _arduino._tcp devices');
  }
  return notes;
}
