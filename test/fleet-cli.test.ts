/**
 * `airflash upload` with several devices, through the CLI. The big scenario runs against
 * `airflash emulate --fleet FILE --json` in a child process and counts each device's own events
 * (invitation, update-start, update-complete ...) from that process's output.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fleetExitCode } from '../src/cli/commands/upload-fleet.ts';
import { isFleetInvocation } from '../src/cli/fleet-options.ts';
import { globMatch, parseTargetSpec } from '../src/cli/fleet-targets.ts';
import { type Advertisement, advertise, arduinoTxt } from '../src/discovery/index.ts';
import { type DeviceOptions, type EmulatedFleet, startFleet } from '../src/emulator/index.ts';
import type { FleetSummary } from '../src/fleet/fleet.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';
import { scenario, startEmulatorProcess, TIME_SCALE, UPLOADER_SCALE } from './helpers/fleet.ts';
import { freeUdpPort } from './helpers/mdns-loopback.ts';

const IMAGE = buildEsp32App({ size: 100_000, seed: 11 });

async function workdir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-fleet-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'firmware.bin'), IMAGE);
  return dir;
}

async function fleetOf(
  t: { after: (fn: () => Promise<void>) => void },
  specs: DeviceOptions[],
): Promise<EmulatedFleet> {
  const fleet = await startFleet(specs);
  t.after(() => fleet.close());
  return fleet;
}

const plain = (n: number, net: number, extra: Partial<DeviceOptions> = {}): DeviceOptions[] =>
  Array.from({ length: n }, (_, i) => ({
    core: 'esp32' as const,
    address: `127.0.${net}.${i + 1}`,
    port: 0,
    timeScale: TIME_SCALE,
    ...extra,
  }));

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('20 devices from airflash emulate --fleet, a devices file with passwordEnv, --json and --report', async (t) => {
  const dir = await workdir(t);
  const list = scenario(61);
  const emulator = await startEmulatorProcess(
    dir,
    list.map((d) => d.spec),
  );
  t.after(() => emulator.close());
  const env: NodeJS.ProcessEnv = {};
  const records = list.map((d, i) => {
    const password = d.targetPassword ?? d.spec.password;
    if (password !== undefined) env[`AIRFLASH_OTA_PW_${i}`] = password;
    return {
      name: d.name,
      address: d.spec.address,
      port: emulator.ports.get(d.spec.address),
      ...(d.listedCore === undefined ? {} : { core: d.listedCore }),
      ...(password === undefined ? {} : { passwordEnv: `AIRFLASH_OTA_PW_${i}` }),
    };
  });
  await writeFile(join(dir, 'devices.json'), JSON.stringify(records, null, 2));

  const run = await runCliInMemory(
    [
      'upload',
      '--devices',
      'devices.json',
      '-f',
      'firmware.bin',
      '--json',
      '--report',
      'report.json',
      '--parallel',
      '6',
      '--time-scale',
      String(UPLOADER_SCALE),
    ],
    { cwd: dir, env },
  );
  assert.equal(run.code, 4, run.stderr);
  const lines = jsonLines(run.stdout);
  for (const line of lines) assert.ok('device' in line, JSON.stringify(line));
  const last = lines.at(-1) as Record<string, unknown>;
  assert.equal(last['type'], 'summary');
  assert.equal(last['device'], null);
  assert.deepEqual([last['ok'], last['failed'], last['skipped'], last['aborted']], [16, 3, 1, 0]);
  const results = lines.filter((l) => l['type'] === 'result');
  assert.equal(results.length, 20);
  for (const d of list) {
    const r = results.find((x) => x['device'] === d.name);
    assert.ok(r, d.name);
    assert.equal(r['status'], d.expect, `${d.name}: ${String(r['message'])}`);
    if (d.code !== undefined) assert.equal(r['code'], d.code, d.name);
    if (d.expect === 'failed') assert.ok(r['diagnosis'], `${d.name} has a diagnosis`);
  }

  // The devices' own events, from the emulator process.
  const tally = (name: string) => emulator.tally(list.find((d) => d.name === name)?.spec.address as string);
  const settle = performance.now() + 3000;
  const okNames = list.filter((d) => d.expect === 'ok').map((d) => d.name);
  while (okNames.some((n) => tally(n).booted < 2) && performance.now() < settle)
    await new Promise((r) => setTimeout(r, 20));
  for (const name of okNames) {
    assert.equal(tally(name).updateCompletes, 1, name);
    assert.equal(tally(name).booted, 2, `${name} rebooted into the new image`);
  }
  assert.equal(tally('attic-offline').invitations, 0);
  assert.equal(tally('pond-esp8266').invitations, 0);
  assert.ok(tally('garage-wrongpw').authFailed >= 1);
  assert.equal(tally('garage-wrongpw').updateStarts, 0);
  assert.equal(tally('porch-stall-once').updateStarts, 2);
  assert.equal(tally('porch-stall-once').updateCompletes, 1);
  assert.equal(tally('shed-cut-always').updateStarts, 2);
  assert.equal(tally('shed-cut-always').updateCompletes, 0);

  // The report holds the same events as one document.
  const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as {
    events: Array<Record<string, unknown>>;
    summary: Record<string, unknown>;
    results: Array<Record<string, unknown>>;
  };
  assert.deepEqual(report.events, lines);
  assert.equal(report.results.length, 20);
  assert.deepEqual(report.summary['devices'], last['devices']);
});

test('--target HOST:PORT (repeatable), plain lines, and exit 0 when every device was updated', async (t) => {
  const dir = await workdir(t);
  const fleet = await fleetOf(t, plain(3, 73));
  const run = await runCliInMemory(
    [
      'upload',
      '-f',
      'firmware.bin',
      ...fleet.devices.flatMap((d) => ['--target', `${d.address}:${d.port}`]),
      '--time-scale',
      String(UPLOADER_SCALE),
    ],
    { cwd: dir },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^3 updated, 0 failed, 0 skipped \(offline\), 0 not started/m);
  for (const d of fleet.devices) {
    assert.match(run.stderr, new RegExp(`${d.address.replaceAll('.', '\\.')}:${d.port}\\s+ok`));
    assert.equal(d.counters.updatesCompleted, 1);
  }
});

test('--max-failures stops the rollout: exit 1, the rest never contacted', async (t) => {
  const dir = await workdir(t);
  const fleet = await fleetOf(t, [
    ...plain(1, 74, { faults: ['drop@10'], faultEvery: true }),
    ...plain(4, 74).slice(1),
  ]);
  const run = await runCliInMemory(
    [
      'upload',
      '-f',
      'firmware.bin',
      ...fleet.devices.flatMap((d) => ['--target', `${d.address}:${d.port}`]),
      '--parallel',
      '1',
      '--retries',
      '0',
      '--max-failures',
      '1',
      '--time-scale',
      String(UPLOADER_SCALE),
    ],
    { cwd: dir },
  );
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stdout, /rollout stopped \(max-failures\)/);
  assert.equal(fleet.devices[0]?.counters.updatesStarted, 1);
  for (const d of fleet.devices.slice(1)) assert.equal(d.counters.invitations, 0);
});

test('--canary through the CLI: JSON marks the canary and when it came back', async (t) => {
  const dir = await workdir(t);
  const fleet = await fleetOf(t, plain(3, 75));
  const run = await runCliInMemory(
    [
      'upload',
      '-f',
      'firmware.bin',
      ...fleet.devices.flatMap((d) => ['--target', `${d.address}:${d.port}`]),
      '--canary',
      '1',
      '--json',
      '--time-scale',
      String(UPLOADER_SCALE),
    ],
    { cwd: dir },
  );
  assert.equal(run.code, 0, run.stderr);
  const results = jsonLines(run.stdout).filter((l) => l['type'] === 'result');
  assert.equal(results[0]?.['canary'], true);
  assert.equal(typeof results[0]?.['backAfterSeconds'], 'number');
  assert.equal(results[1]?.['canary'], false);
});

test('--dry-run says what would happen to whom and sends nothing', async (t) => {
  const dir = await workdir(t);
  const fleet = await fleetOf(t, plain(2, 76));
  const run = await runCliInMemory(
    [
      'upload',
      '-f',
      'firmware.bin',
      '--dry-run',
      ...fleet.devices.flatMap((d) => ['--target', `${d.address}:${d.port}`]),
    ],
    { cwd: dir },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /dry run: 2 device\(s\) would be updated/);
  assert.match(run.stderr, /would upload 100000 bytes/);
  for (const d of fleet.devices) assert.equal(d.counters.invitations, 0);
});

test('a terminal gets the live multi-line display', async (t) => {
  const dir = await workdir(t);
  const fleet = await fleetOf(t, plain(2, 77));
  const run = await runCliInMemory(
    [
      'upload',
      '-f',
      'firmware.bin',
      ...fleet.devices.flatMap((d) => ['--target', `${d.address}:${d.port}`]),
      '--time-scale',
      String(UPLOADER_SCALE),
    ],
    { cwd: dir, isTTY: true },
  );
  assert.equal(run.code, 0, run.stderr);
  const esc = String.fromCharCode(27);
  assert.match(run.stderr, new RegExp(`${esc}\\[\\d+F`), 'moves the cursor up to redraw the device lines');
  assert.match(run.stderr, /of 2 done/);
  assert.match(run.stderr, /127\.0\.77\.1:\d+\s+ok/);
});

test('--name filter: mDNS on loopback, passwords from the devices file, and its entries as fallback', async (t) => {
  const dir = await workdir(t);
  const mdnsPort = await freeUdpPort();
  const fleet = await fleetOf(t, [
    { core: 'esp32', address: '127.0.78.1', port: 0, timeScale: TIME_SCALE },
    { core: 'esp32', address: '127.0.78.2', port: 0, timeScale: TIME_SCALE, password: 'k2' },
    { core: 'esp32', address: '127.0.78.3', port: 0, timeScale: TIME_SCALE },
  ]);
  const names = ['kitchen-1', 'kitchen-2', 'hall-1'];
  const ads: Advertisement[] = [];
  t.after(async () => {
    for (const ad of ads) await ad.close({ goodbye: false });
  });
  for (const [i, d] of fleet.devices.entries()) {
    ads.push(
      await advertise({
        name: names[i] as string,
        hostname: names[i] as string,
        port: d.port,
        addresses: [d.address],
        txt: arduinoTxt('esp32', 'esp32', i === 1),
        mdnsPort,
      }),
    );
  }
  // kitchen-2's password comes from the devices file; kitchen-3 is only in the file (no mDNS).
  await writeFile(
    join(dir, 'airflash.devices.json'),
    JSON.stringify([
      { name: 'kitchen-2', address: '127.0.78.2', passwordEnv: 'AIRFLASH_KITCHEN2_PW' },
      { name: 'kitchen-3', address: '127.0.78.9', port: 3232 },
    ]),
  );
  const run = await runCliInMemory(
    [
      'upload',
      '-f',
      'firmware.bin',
      '--name',
      'kitchen-*',
      '--interface',
      '127.0.0.1',
      '--discover-timeout',
      '1',
      '--probe-timeout',
      '0.3',
      '--json',
      '--time-scale',
      String(UPLOADER_SCALE),
    ],
    { cwd: dir, env: { AIRFLASH_MDNS_PORT: String(mdnsPort), AIRFLASH_KITCHEN2_PW: 'k2' } },
  );
  const lines = jsonLines(run.stdout);
  const summary = lines.at(-1) as unknown as FleetSummary;
  assert.deepEqual(summary.devices.ok, ['kitchen-1', 'kitchen-2'], run.stderr);
  assert.deepEqual(summary.devices.skipped, ['kitchen-3']);
  assert.equal(run.code, 4);
  assert.equal(fleet.devices[0]?.counters.updatesCompleted, 1);
  assert.equal(fleet.devices[1]?.counters.updatesCompleted, 1);
  assert.equal(fleet.devices[2]?.counters.invitations, 0, 'hall-1 does not match the filter');
});

test('usage errors and refusals: -i with fleet options, no image, a refused image (exit 3)', async (t) => {
  const dir = await workdir(t);
  const a = await runCliInMemory(
    ['upload', '-i', '127.0.79.1', '--target', '127.0.79.2', '-f', 'firmware.bin'],
    { cwd: dir },
  );
  assert.equal(a.code, 2);
  assert.match(a.stderr, /-i names one device/);
  const b = await runCliInMemory(['upload', '--target', '127.0.79.2', '--json'], { cwd: dir });
  assert.equal(b.code, 2);
  assert.equal(jsonLines(b.stdout)[0]?.['type'], 'error');
  await writeFile(join(dir, 'notes.txt'), 'this is not firmware\n'.repeat(50));
  const c = await runCliInMemory(['upload', '--target', '127.0.79.2', '-f', 'notes.txt', '--json'], {
    cwd: dir,
  });
  assert.equal(c.code, 3, c.stderr);
  assert.equal(jsonLines(c.stdout)[0]?.['code'], 'PREFLIGHT_NOT_APP');
  const d = await runCliInMemory(['upload', '--devices', 'missing.json', '-f', 'firmware.bin'], { cwd: dir });
  assert.equal(d.code, 2, 'a devices file that does not exist is input to fix');
  assert.match(d.stderr, /missing\.json does not exist/);
  // A devices file whose passwordEnv is not set is refused before anything is sent.
  await writeFile(
    join(dir, 'pw.json'),
    JSON.stringify([{ name: 'x', address: '127.0.79.3', passwordEnv: 'AIRFLASH_NOPE_PW' }]),
  );
  const e = await runCliInMemory(['upload', '--devices', 'pw.json', '-f', 'firmware.bin'], { cwd: dir });
  assert.equal(e.code, 1);
  assert.match(e.stderr, /AIRFLASH_NOPE_PW/);
});

test('argument helpers', () => {
  assert.equal(isFleetInvocation(['-i', '1.2.3.4', '-f', 'x.bin']), false);
  assert.equal(isFleetInvocation(['--target', 'a', '-f', 'x.bin']), true);
  assert.equal(isFleetInvocation(['--name=kitchen-*']), true);
  assert.equal(isFleetInvocation(['--all']), true);
  assert.deepEqual(parseTargetSpec('192.168.1.5'), { host: '192.168.1.5' });
  assert.deepEqual(parseTargetSpec('192.168.1.5:8266'), { host: '192.168.1.5', port: 8266 });
  assert.deepEqual(parseTargetSpec('kitchen.local:3232'), { host: 'kitchen.local', port: 3232 });
  assert.deepEqual(parseTargetSpec('[fe80::1]:3232'), { host: 'fe80::1', port: 3232 });
  assert.deepEqual(parseTargetSpec('fe80::1'), { host: 'fe80::1' });
  assert.throws(() => parseTargetSpec('host:99999'), /not a port/);
  assert.equal(globMatch('kitchen-*', 'Kitchen-12'), true);
  assert.equal(globMatch('kitchen-?', 'kitchen-12'), false);
  assert.equal(globMatch('k.tchen', 'kitchen'), false);
  const base: FleetSummary = {
    ok: 2,
    failed: 0,
    skipped: 0,
    aborted: 0,
    devices: { ok: ['a', 'b'], failed: [], skipped: [], aborted: [], planned: [] },
    stopped: null,
    dryRun: false,
    seconds: 1,
    image: { size: 1, md5: '' },
    results: [],
  };
  const results = [{}, {}] as FleetSummary['results'];
  assert.equal(fleetExitCode({ ...base, results }), 0);
  assert.equal(fleetExitCode({ ...base, ok: 1, failed: 1, results }), 4);
  assert.equal(fleetExitCode({ ...base, ok: 0, skipped: 2, results }), 1);
  const refused = [
    { code: 'PREFLIGHT_WRONG_CHIP' },
    { code: 'PREFLIGHT_TOO_BIG' },
  ] as FleetSummary['results'];
  assert.equal(fleetExitCode({ ...base, ok: 0, failed: 2, results: refused }), 3, 'every device refused');
  const mixed = [{ code: 'PREFLIGHT_WRONG_CHIP' }, { code: 'AUTH_FAILED' }] as FleetSummary['results'];
  assert.equal(fleetExitCode({ ...base, ok: 0, failed: 2, results: mixed }), 1);
  assert.equal(fleetExitCode({ ...base, stopped: { reason: 'canary', message: '' }, results }), 1);
  assert.equal(fleetExitCode({ ...base, stopped: { reason: 'interrupted', message: '' }, results }), 130);
});
