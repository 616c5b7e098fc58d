/**
 * uploadFleet() against emulated devices started in this process (startFleet). Every claim about
 * retries, canaries, max-failures and offline devices is checked on the devices' OWN counters and
 * events, not on what the uploader says it did.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type DeviceOptions,
  type EmulatedDevice,
  type EmulatedFleet,
  startFleet,
} from '../src/emulator/index.ts';
import { type FleetEvent, type FleetTarget, uploadFleet } from '../src/fleet/fleet.ts';
import { buildEsp32App, buildEsp8266Sketch } from '../src/formats/index.ts';
import { probeDevice } from '../src/protocols/arduino-ota/host/probe-device.ts';
import { md5, type ScenarioDevice, scenario, TIME_SCALE, UPLOADER_SCALE } from './helpers/fleet.ts';

const IMAGE = buildEsp32App({ size: 120_000, seed: 7 });
const IMAGE_MD5 = md5(IMAGE);

async function fleetOf(
  t: { after: (fn: () => Promise<void>) => void },
  specs: DeviceOptions[],
): Promise<EmulatedFleet> {
  const fleet = await startFleet(specs);
  t.after(() => fleet.close());
  return fleet;
}

function targetsFor(list: ScenarioDevice[], devices: readonly EmulatedDevice[]): FleetTarget[] {
  return list.map((d, i) => {
    const dev = devices[i] as EmulatedDevice;
    const password = d.targetPassword ?? d.spec.password;
    return {
      name: d.name,
      host: dev.address,
      port: dev.port,
      ...(d.listedCore === undefined ? {} : { core: d.listedCore }),
      ...(password === undefined ? {} : { password }),
    };
  });
}

const plain = (n: number, net: number, extra: Partial<DeviceOptions> = {}): DeviceOptions[] =>
  Array.from({ length: n }, (_, i) => ({
    core: 'esp32' as const,
    address: `127.0.${net}.${i + 1}`,
    port: 0,
    timeScale: TIME_SCALE,
    ...extra,
  }));

/** Wait until each device booted `boots` times (an update answers OK just before the reboot). */
async function rebooted(devices: EmulatedDevice[], boots = 2, timeoutMs = 3000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (devices.some((d) => d.counters.boots < boots) && performance.now() < end)
    await new Promise((r) => setTimeout(r, 10));
}

test('20 emulated devices: the right ones are updated, the others reported with a diagnosis', async (t) => {
  const list = scenario(60);
  const fleet = await fleetOf(
    t,
    list.map((d) => d.spec),
  );
  const events: FleetEvent[] = [];
  const summary = await uploadFleet({
    targets: targetsFor(list, fleet.devices),
    image: IMAGE,
    timeScale: UPLOADER_SCALE,
    parallel: 5,
    onEvent: (e) => events.push(e),
  });
  await rebooted(fleet.devices.filter((_, i) => list[i]?.expect === 'ok'));

  for (const [i, d] of list.entries()) {
    const dev = fleet.devices[i] as EmulatedDevice;
    const r = summary.results[i];
    assert.ok(r);
    assert.equal(r.device, d.name);
    assert.equal(r.status, d.expect, `${d.name}: ${r.code} ${r.message}`);
    if (d.expect === 'ok') {
      // The device itself says it took the image and booted it.
      assert.equal(dev.counters.updatesCompleted, 1, d.name);
      assert.equal(dev.counters.boots, 2, d.name);
      assert.equal(dev.runningImageMd5(), IMAGE_MD5, d.name);
    } else {
      assert.equal(r.code, d.code, d.name);
      assert.equal(dev.counters.updatesCompleted, 0, d.name);
      assert.equal(dev.runningImageMd5() === IMAGE_MD5, false);
    }
    if (d.expect === 'failed') {
      const diagnosis = r.diagnosis as { summary?: unknown; causes?: unknown[] } | null;
      assert.ok(diagnosis, `${d.name} has a diagnosis`);
      assert.equal(typeof diagnosis.summary, 'string');
    } else assert.equal(r.diagnosis, null);
  }
  const byName = (name: string): EmulatedDevice =>
    fleet.devices[list.findIndex((d) => d.name === name)] as EmulatedDevice;
  // Offline: nothing reached it, and it was not retried.
  assert.equal(byName('attic-offline').counters.invitations, 0);
  // Wrong password: refused once, never retried, no update begun.
  const wrong = byName('garage-wrongpw');
  assert.ok(wrong.counters.authFailures >= 1);
  assert.equal(wrong.counters.updatesStarted, 0);
  assert.equal(summary.results.find((r) => r.device === 'garage-wrongpw')?.attempts, 1);
  // Stalled once: two updates begun, the second completed.
  const stall = byName('porch-stall-once');
  assert.equal(stall.counters.updatesStarted, 2);
  assert.equal(stall.counters.updatesCompleted, 1);
  assert.equal(summary.results.find((r) => r.device === 'porch-stall-once')?.attempts, 2);
  // Cut every time: retried once (default retries 1), then reported.
  const cut = byName('shed-cut-always');
  assert.equal(cut.counters.updatesStarted, 2);
  assert.equal(cut.counters.updatesCompleted, 0);
  // The ESP8266 never saw the ESP32 image: refused by the pre-flight before any traffic.
  assert.equal(byName('pond-esp8266').counters.invitations, 0);
  // Retry events name the device and the transient code.
  const retried = new Set(events.filter((e) => e.type === 'retry').map((e) => e.device));
  assert.ok(retried.has('porch-stall-once') && retried.has('shed-cut-always'));
  for (const name of ['attic-offline', 'garage-wrongpw', 'pond-esp8266'])
    assert.equal(retried.has(name), false, name);
  assert.ok(
    events.some(
      (e) => e.type === 'retry' && e.device === 'porch-stall-once' && e.code === 'TRANSFER_STALLED',
    ),
  );

  // Every event names its device; the summary closes the stream with counts and lists.
  for (const e of events) assert.ok('device' in e);
  const last = events.at(-1);
  assert.equal(last?.type, 'summary');
  assert.equal(summary.ok, 16);
  assert.equal(summary.failed, 3);
  assert.equal(summary.skipped, 1);
  assert.equal(summary.aborted, 0);
  assert.deepEqual(summary.devices.skipped, ['attic-offline']);
  assert.deepEqual(summary.devices.failed, ['garage-wrongpw', 'shed-cut-always', 'pond-esp8266']);
  assert.equal(summary.stopped, null);
  // One result per device.
  const results = events.filter((e) => e.type === 'result').map((e) => e.device);
  assert.equal(results.length, 20);
  assert.equal(new Set(results).size, 20);
});

test('retries: 0 leaves a stalled device at one attempt; the probe never begins an update', async (t) => {
  const fleet = await fleetOf(t, [
    ...plain(2, 62),
    {
      core: 'esp32',
      address: '127.0.62.3',
      port: 0,
      timeScale: TIME_SCALE,
      faults: ['stall@30'],
      window: 1 << 20,
    },
  ]);
  const summary = await uploadFleet({
    targets: fleet.devices.map((d, i) => ({ name: `d${i}`, host: d.address, port: d.port })),
    image: IMAGE,
    timeScale: UPLOADER_SCALE,
    retries: 0,
  });
  assert.deepEqual(summary.devices.ok, ['d0', 'd1']);
  assert.deepEqual(summary.devices.failed, ['d2']);
  const stalled = fleet.devices[2] as EmulatedDevice;
  assert.equal(stalled.counters.updatesStarted, 1);
  assert.equal(summary.results[2]?.code, 'TRANSFER_STALLED');
  // Probe + upload invitations, but exactly one update per good device: the probe began none.
  for (const d of fleet.devices.slice(0, 2)) {
    assert.equal(d.counters.updatesStarted, 1);
    assert.ok(d.counters.invitations >= 2);
  }
});

test('the probe answers for every core, with and without a password, and leaves the device idle', async (t) => {
  const specs: DeviceOptions[] = [
    { core: 'esp32', address: '127.0.63.1', port: 0, timeScale: TIME_SCALE },
    { core: 'esp32', address: '127.0.63.2', port: 0, timeScale: TIME_SCALE, password: 'x' },
    { core: 'esp32-legacy', address: '127.0.63.3', port: 0, timeScale: TIME_SCALE, password: 'x' },
    { core: 'esp8266', address: '127.0.63.4', port: 0, timeScale: TIME_SCALE },
    { core: 'esp8266', address: '127.0.63.5', port: 0, timeScale: TIME_SCALE, password: 'x' },
    { core: 'esp32', address: '127.0.63.6', port: 0, timeScale: TIME_SCALE, faults: ['offline'] },
  ];
  const fleet = await fleetOf(t, specs);
  const expected = ['ok', 'auth', 'auth', 'error', 'auth', undefined];
  for (const [i, dev] of fleet.devices.entries()) {
    const r = await probeDevice({
      host: dev.address,
      port: dev.port,
      timeoutMs: 300,
      timeScale: UPLOADER_SCALE,
    });
    assert.equal(r.online, expected[i] !== undefined, `device ${i}`);
    assert.equal(r.answer, expected[i], `device ${i}: ${r.text}`);
  }
  await new Promise((r) => setTimeout(r, 50));
  for (const [i, dev] of fleet.devices.entries()) {
    if (i === 5) continue;
    assert.equal(dev.state(), 'idle', `device ${i} is idle after the probe`);
    assert.equal(dev.counters.updatesStarted, 0);
  }
  // And an upload right after a probe works on each of them (the ESP8266 with its own image).
  const summary = await uploadFleet({
    targets: fleet.devices.slice(0, 3).map((d, i) => ({
      name: `p${i}`,
      host: d.address,
      port: d.port,
      ...(i > 0 ? { password: 'x' } : {}),
    })),
    image: IMAGE,
    timeScale: UPLOADER_SCALE,
  });
  assert.equal(summary.ok, 3);
});

test('ESP8266 devices get an ESP8266 image, with and without a password', async (t) => {
  const sketch = buildEsp8266Sketch({ size: 90_000 });
  const fleet = await fleetOf(t, [
    { core: 'esp8266', address: '127.0.64.1', port: 0, timeScale: TIME_SCALE },
    { core: 'esp8266', address: '127.0.64.2', port: 0, timeScale: TIME_SCALE, password: 'eight' },
    { core: 'esp32', address: '127.0.64.3', port: 0, timeScale: TIME_SCALE },
  ]);
  const summary = await uploadFleet({
    targets: fleet.devices.map((d, i) => ({
      name: `e${i}`,
      host: d.address,
      port: d.port,
      core: d.core === 'esp8266' ? ('esp8266' as const) : ('esp32' as const),
      ...(i === 1 ? { password: 'eight' } : {}),
    })),
    image: sketch,
    timeScale: UPLOADER_SCALE,
  });
  assert.deepEqual(summary.devices.ok, ['e0', 'e1']);
  assert.deepEqual(summary.devices.failed, ['e2']);
  assert.equal(summary.results[2]?.code, 'PREFLIGHT_WRONG_CHIP');
  assert.equal(fleet.devices[0]?.counters.updatesCompleted, 1);
  assert.equal(fleet.devices[1]?.counters.updatesCompleted, 1);
  assert.equal(fleet.devices[2]?.counters.invitations, 0);
});

test('canary: the rest starts only after every canary rebooted and answers again', async (t) => {
  const fleet = await fleetOf(t, plain(6, 65));
  const bootedAt = new Map<string, number>();
  const startedAt = new Map<string, number>();
  for (const d of fleet.devices) {
    d.events.on('event', (e: { event: string }) => {
      if (e.event === 'booted') bootedAt.set(d.address, performance.now());
      if (e.event === 'update-start') startedAt.set(d.address, performance.now());
    });
  }
  const summary = await uploadFleet({
    targets: fleet.devices.map((d, i) => ({ name: `c${i}`, host: d.address, port: d.port })),
    image: IMAGE,
    timeScale: UPLOADER_SCALE,
    canary: 2,
    parallel: 4,
  });
  assert.equal(summary.ok, 6);
  const [c0, c1] = fleet.devices as EmulatedDevice[];
  assert.ok(c0 && c1);
  for (const r of summary.results.slice(0, 2)) {
    assert.equal(r.canary, true);
    assert.equal(typeof r.backAfterSeconds, 'number');
  }
  const lastCanaryBoot = Math.max(bootedAt.get(c0.address) ?? Infinity, bootedAt.get(c1.address) ?? Infinity);
  for (const d of fleet.devices.slice(2)) {
    const started = startedAt.get(d.address);
    assert.ok(
      started !== undefined && started > lastCanaryBoot,
      `${d.address} started after the canaries rebooted`,
    );
  }
});

test('canary that does not come back stops the rollout; the rest is never contacted', async (t) => {
  const fleet = await fleetOf(t, plain(6, 66));
  const bricked = fleet.devices[0] as EmulatedDevice;
  // The canary takes the update and then never answers again (a firmware that does not boot).
  bricked.events.on('event', (e: { event: string }) => {
    if (e.event === 'reboot') setImmediate(() => void bricked.close());
  });
  const summary = await uploadFleet({
    targets: fleet.devices.map((d, i) => ({ name: `k${i}`, host: d.address, port: d.port })),
    image: IMAGE,
    timeScale: UPLOADER_SCALE,
    canary: 1,
    canaryTimeoutMs: 400,
  });
  assert.equal(summary.stopped?.reason, 'canary');
  assert.equal(summary.results[0]?.status, 'failed');
  assert.equal(summary.results[0]?.code, 'DEVICE_OFFLINE');
  assert.equal(bricked.counters.updatesCompleted, 1);
  assert.deepEqual(summary.devices.aborted, ['k1', 'k2', 'k3', 'k4', 'k5']);
  for (const d of fleet.devices.slice(1)) assert.equal(d.counters.invitations, 0, `${d.address} untouched`);
  for (const r of summary.results.slice(1)) assert.equal(r.code, 'ROLLOUT_STOPPED');
});

test('an offline canary is replaced by the next device', async (t) => {
  const fleet = await fleetOf(t, [
    { core: 'esp32', address: '127.0.67.1', port: 0, timeScale: TIME_SCALE, faults: ['offline'] },
    ...plain(3, 67).slice(1),
  ]);
  const events: FleetEvent[] = [];
  const summary = await uploadFleet({
    targets: fleet.devices.map((d, i) => ({ name: `r${i}`, host: d.address, port: d.port })),
    image: IMAGE,
    timeScale: UPLOADER_SCALE,
    canary: 1,
    onEvent: (e) => events.push(e),
  });
  assert.deepEqual(summary.devices.skipped, ['r0']);
  assert.deepEqual(summary.devices.ok, ['r1', 'r2']);
  assert.equal(summary.results[1]?.canary, true);
  assert.equal(typeof summary.results[1]?.backAfterSeconds, 'number');
  assert.ok(events.some((e) => e.type === 'warning' && e.code === 'CANARY_REPLACEMENT' && e.device === 'r1'));
});

test('max-failures stops the rollout: devices not started are aborted and never contacted', async (t) => {
  const cut = { faults: ['drop@20'], faultEvery: true };
  const fleet = await fleetOf(t, [...plain(3, 68, cut), ...plain(6, 68).slice(3)]);
  const summary = await uploadFleet({
    targets: fleet.devices.map((d, i) => ({ name: `m${i}`, host: d.address, port: d.port })),
    image: IMAGE,
    timeScale: UPLOADER_SCALE,
    parallel: 1,
    retries: 1,
    maxFailures: 2,
  });
  assert.equal(summary.stopped?.reason, 'max-failures');
  assert.deepEqual(summary.devices.failed, ['m0', 'm1']);
  assert.deepEqual(summary.devices.aborted, ['m2', 'm3', 'm4', 'm5']);
  // Each failed device was tried twice (1 retry), the others not at all.
  assert.equal(fleet.devices[0]?.counters.updatesStarted, 2);
  assert.equal(fleet.devices[1]?.counters.updatesStarted, 2);
  for (const d of fleet.devices.slice(2)) assert.equal(d.counters.invitations, 0);
});

test('dry run: what would happen to whom, and no datagram sent', async (t) => {
  const fleet = await fleetOf(t, [
    ...plain(3, 69),
    { core: 'esp8266', address: '127.0.69.4', port: 0, timeScale: TIME_SCALE },
  ]);
  const events: FleetEvent[] = [];
  const summary = await uploadFleet({
    targets: fleet.devices.map((d, i) => ({
      name: `y${i}`,
      host: d.address,
      port: d.port,
      ...(d.core === 'esp8266' ? { core: 'esp8266' as const } : {}),
    })),
    image: IMAGE,
    dryRun: true,
    canary: 1,
    onEvent: (e) => events.push(e),
  });
  assert.equal(summary.dryRun, true);
  assert.deepEqual(summary.devices.planned, ['y0', 'y1', 'y2']);
  assert.deepEqual(summary.devices.failed, ['y3']);
  const plans = events.filter((e) => e.type === 'plan');
  assert.equal(plans.length, 4);
  assert.equal(plans[0]?.type === 'plan' && plans[0].canary, true);
  assert.equal(plans[3]?.type === 'plan' && plans[3].action, 'skip');
  for (const d of fleet.devices) assert.equal(d.counters.invitations, 0);
});

test('an image that is no firmware is refused once, before any device is contacted', async (t) => {
  const fleet = await fleetOf(t, plain(2, 70));
  const junk = new Uint8Array(4096).fill(0x41);
  await assert.rejects(
    uploadFleet({
      targets: fleet.devices.map((d, i) => ({ name: `j${i}`, host: d.address, port: d.port })),
      image: junk,
      timeScale: UPLOADER_SCALE,
    }),
    (e: { code?: string }) => e.code === 'PREFLIGHT_NOT_APP',
  );
  for (const d of fleet.devices) assert.equal(d.counters.invitations, 0);
});

test('bad options are usage errors', async () => {
  const target = { name: 'a', host: '127.0.71.1' };
  const bad: Array<Parameters<typeof uploadFleet>[0]> = [
    { targets: [], image: IMAGE },
    { targets: [target, { ...target }], image: IMAGE },
    { targets: [target], image: IMAGE, parallel: 0 },
    { targets: [target], image: IMAGE, maxFailures: 0 },
  ];
  for (const o of bad)
    await assert.rejects(uploadFleet(o), (e: { code?: string }) => e.code === 'BAD_ARGUMENT');
});

test('an abort stops the rollout: running devices and the rest are aborted', async (t) => {
  const fleet = await fleetOf(t, plain(4, 72, { loopMs: 2000 }));
  const controller = new AbortController();
  const p = uploadFleet({
    targets: fleet.devices.map((d, i) => ({ name: `x${i}`, host: d.address, port: d.port })),
    image: IMAGE,
    timeScale: UPLOADER_SCALE,
    parallel: 2,
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(), 20);
  const summary = await p;
  assert.equal(summary.stopped?.reason, 'interrupted');
  assert.equal(summary.ok, 0);
  assert.equal(summary.aborted, 4);
  for (const r of summary.results) assert.equal(r.code, 'INTERRUPTED');
});

test('a device that answers on another port than the one given is updated, with the WRONG_PORT fix (not skipped as offline)', async (t) => {
  // An ESP32 listens on 3232; the devices file says 8266: the probe's ICMP refusal on 8266 and the
  // answer on 3232 keep it in the rollout, and the upload's own fallback names the fix.
  const fleet = await fleetOf(t, [
    { core: 'esp32', address: '127.0.171.1', port: 3232, timeScale: TIME_SCALE },
  ]);
  const dev = fleet.devices[0] as EmulatedDevice;
  const events: FleetEvent[] = [];
  const summary = await uploadFleet({
    targets: [{ name: 'w0', host: dev.address, port: 8266 }],
    image: IMAGE,
    timeScale: UPLOADER_SCALE,
    onEvent: (e) => events.push(e),
  });
  assert.deepEqual(summary.devices.ok, ['w0']);
  assert.equal(dev.counters.updatesCompleted, 1);
  assert.ok(
    events.some((e) => e.type === 'warning' && e.code === 'WRONG_PORT' && /3232/.test(e.message)),
    JSON.stringify(events.filter((e) => e.type === 'warning')),
  );
});
