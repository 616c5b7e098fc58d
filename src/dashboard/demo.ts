/**
 * `airflash dashboard --demo`: a dozen emulated devices on 127.0.0.x so a newcomer sees
 * everything work at once: mixed cores, one with a password, one whose loop() blocks, one
 * offline, all on a slowish link so progress is visible. They announce themselves over an
 * in-memory mDNS link that the dashboard browses, like real boards on a LAN (nothing is sent on
 * the real network).
 */
import { createMdnsBus } from '../discovery/index.ts';
import { type DeviceOptions, type EmulatedDevice, startFleet } from '../emulator/index.ts';
import { buildEsp32App } from '../formats/index.ts';
import { browseInto } from './mdns.ts';
import type { Dashboard } from './server.ts';

export interface DemoOptions {
  /** First address; the devices take consecutive ones. Default 127.0.0.101. */
  baseAddress?: string;
  /** Bytes per second of each device's link (default 200 000). */
  bandwidth?: number;
  /** Loop period of the blocked-loop device in device ms (default 3000) ... */
  blockedLoopMs?: number;
  /** ... and its time scale (default 0.5: a 1.5 s wait you can see). */
  blockedTimeScale?: number;
  /** Password of the device that has one (default "demo"). */
  password?: string;
}

export interface DemoDevice {
  name: string;
  role: string;
  handle: EmulatedDevice;
}

export interface DemoFleet {
  devices: DemoDevice[];
  /** One line: what is in the fleet. */
  summary: string;
  close(): Promise<void>;
}

function addressPlus(base: string, n: number): string {
  const parts = base.split('.').map(Number);
  const last = (parts[3] ?? 1) + n;
  return `${parts[0]}.${parts[1]}.${parts[2]}.${last}`;
}

export async function startDemoFleet(dashboard: Dashboard, options: DemoOptions = {}): Promise<DemoFleet> {
  const base = options.baseAddress ?? '127.0.0.101';
  const bandwidth = options.bandwidth ?? 200_000;
  const password = options.password ?? 'demo';
  const bus = createMdnsBus({ port: 5353 });
  const plan: Array<{ name: string; role: string; options: DeviceOptions }> = [
    { name: 'kitchen-light', role: 'ESP32 (core 3.3)', options: { core: 'esp32' } },
    { name: 'living-room', role: 'ESP32 (core 3.3)', options: { core: 'esp32' } },
    { name: 'porch-sensor', role: 'ESP32 (core 3.0)', options: { core: 'esp32-legacy' } },
    { name: 'garage-door', role: 'ESP8266', options: { core: 'esp8266', board: 'd1_mini' } },
    { name: 'greenhouse', role: `password "${password}"`, options: { core: 'esp32', password } },
    {
      name: 'weather-station',
      role: 'blocked loop()',
      options: {
        core: 'esp32',
        loopMs: options.blockedLoopMs ?? 3000,
        timeScale: options.blockedTimeScale ?? 0.8,
      },
    },
    { name: 'attic-fan', role: 'offline', options: { core: 'esp32', faults: ['offline'], faultEvery: true } },
    { name: 'desk-lamp', role: 'ESP8266', options: { core: 'esp8266', board: 'nodemcuv2' } },
    { name: 'aquarium', role: 'ESP32 (core 3.0)', options: { core: 'esp32-legacy' } },
    { name: 'hallway', role: 'ESP32 (core 3.3)', options: { core: 'esp32' } },
    { name: 'bedroom', role: 'ESP32 (core 3.3)', options: { core: 'esp32' } },
    { name: 'workshop', role: 'ESP32 (core 3.3)', options: { core: 'esp32' } },
  ];
  const specs: DeviceOptions[] = plan.map((p, i) => ({
    address: addressPlus(base, i),
    port: 0,
    hostname: p.name,
    bandwidth,
    // The offline one stays silent on mDNS too, like a board that lost power.
    ...(p.role === 'offline' ? {} : { mdns: { transport: bus.transport(addressPlus(base, i)) } }),
    ...p.options,
  }));
  const fleet = await startFleet(specs);
  const devices: DemoDevice[] = fleet.devices.map((handle, i) => ({
    name: (plan[i] as (typeof plan)[number]).name,
    role: (plan[i] as (typeof plan)[number]).role,
    handle,
  }));
  for (const d of devices) {
    const core = d.handle.core;
    dashboard.registry.upsert('demo', {
      name: d.handle.hostname,
      address: d.handle.address,
      port: d.handle.port,
      core,
      chip: core === 'esp8266' ? 'esp8266' : 'esp32',
      ...(core === 'esp8266' ? {} : { partitions: 'default', flashSize: '4MB' }),
      board: core === 'esp8266' ? undefined : 'esp32',
    });
  }
  // A firmware to try right away (the page offers the preloaded image until it uploads its own).
  const sample = buildEsp32App({
    chip: 'esp32',
    size: 256 * 1024,
    seed: 11,
    projectName: 'airflash-demo',
    version: '1.1.0',
  });
  await dashboard.images.addBytes('demo-firmware-1.1.0.bin', sample, dashboard.lib.inspect(sample));
  // Browse the demo's own mDNS link: the devices that answer show as online, live.
  const controller = new AbortController();
  const transport = bus.transport('127.0.0.1');
  const browsing = browseInto(dashboard, controller.signal, transport)
    .catch(() => {})
    .finally(() => transport.close());
  return {
    devices,
    summary: `${devices.map((d) => `${d.name}: ${d.role}`).join(', ')}`,
    async close() {
      controller.abort();
      await browsing;
      await fleet.close();
    },
  };
}
