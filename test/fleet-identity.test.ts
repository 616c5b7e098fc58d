/**
 * The fleet's target resolution (`upload --name/--all`): a devices-file entry is its address. A
 * device announcing the entry's name over mDNS from another address is not merged into it (it
 * would get the entry's password, or the firmware); the entry is updated where the file says.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { advertise, arduinoTxt } from '../src/discovery/index.ts';
import { startFleet } from '../src/emulator/index.ts';
import type { FleetSummary } from '../src/fleet/fleet.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';
import { TIME_SCALE, UPLOADER_SCALE } from './helpers/fleet.ts';
import { freeUdpPort } from './helpers/mdns-loopback.ts';

test('an mDNS namesake of a devices-file entry is ignored with a warning; the entry is updated at its address', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-fleet-id-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'firmware.bin'), buildEsp32App({ chip: 'esp32', size: 32 * 1024, seed: 5 }));
  const mdnsPort = await freeUdpPort();
  const fleet = await startFleet([
    { core: 'esp32', address: '127.0.81.2', port: 0, timeScale: TIME_SCALE, password: 'k2' },
    { core: 'esp32', address: '127.0.81.5', port: 0, timeScale: TIME_SCALE, password: 'impostor' },
  ]);
  t.after(() => fleet.close());
  const [real, impostor] = fleet.devices;
  assert.ok(real && impostor);
  const ad = await advertise({
    name: 'kitchen-2',
    hostname: 'kitchen-2',
    port: impostor.port,
    addresses: [impostor.address],
    txt: arduinoTxt('esp32', 'esp32', true),
    mdnsPort,
  });
  t.after(() => ad.close({ goodbye: false }));
  await writeFile(
    join(dir, 'airflash.devices.json'),
    JSON.stringify([
      { name: 'kitchen-2', address: real.address, port: real.port, passwordEnv: 'AIRFLASH_KITCHEN2_PW' },
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
      '--json',
      '--time-scale',
      String(UPLOADER_SCALE),
    ],
    { cwd: dir, env: { AIRFLASH_MDNS_PORT: String(mdnsPort), AIRFLASH_KITCHEN2_PW: 'k2' } },
  );
  const lines = run.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const summary = lines.at(-1) as unknown as FleetSummary;
  assert.deepEqual(summary.devices.ok, ['kitchen-2'], run.stderr);
  assert.equal(real.counters.updatesCompleted, 1);
  assert.equal(impostor.counters.invitations, 0, 'the impostor was invited');
  assert.match(`${run.stderr}${run.stdout}`, /announced over mDNS from 127\.0\.81\.5/);
});
