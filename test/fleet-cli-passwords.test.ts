/**
 * Fleet passwords through the CLI: `-a` given with `--target` wins over the matching devices-file
 * entry's passwordEnv (and says so); a passwordEnv that is not set fails that device only, so a
 * dry run reports every such device instead of stopping at the first.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type EmulatedDevice, startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';

async function setup(t: {
  after: (fn: () => Promise<void>) => void;
}): Promise<{ dir: string; dev: EmulatedDevice }> {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-fleet-pw-'));
  await writeFile(join(dir, 'firmware.bin'), buildEsp32App({ size: 60_000, seed: 93 }));
  const dev = await startDevice({ address: '127.0.93.1', port: 0, password: 'secret', timeScale: 0.1 });
  t.after(async () => {
    await dev.close();
    await rm(dir, { recursive: true, force: true });
  });
  await writeFile(
    join(dir, 'airflash.devices.json'),
    JSON.stringify([
      { name: 'kitchen', address: '127.0.93.1', port: dev.port, passwordEnv: 'AIRFLASH_KITCHEN_PW' },
      { name: 'hall', address: '127.0.93.2', passwordEnv: 'AIRFLASH_HALL_PW' },
      { name: 'attic', address: '127.0.93.3' },
    ]),
  );
  return { dir, dev };
}

test('--target ADDRESS -a PW: the explicit password wins over the entry passwordEnv, and a warning says which applies', async (t) => {
  const { dir, dev } = await setup(t);
  const args = [
    'upload',
    '--target',
    '127.0.93.1',
    '-a',
    'secret',
    '-f',
    'firmware.bin',
    '--time-scale',
    '0.1',
  ];
  // AIRFLASH_KITCHEN_PW not set at all, then set to a wrong password: -a applies either way.
  for (const env of [{}, { AIRFLASH_KITCHEN_PW: 'wrong' }]) {
    const r = await runCliInMemory(args, { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /--target 127\.0\.93\.1 is "kitchen" in airflash\.devices\.json: its port, chip and partitions come from there, its password from -a \(not \$AIRFLASH_KITCHEN_PW\)/,
    );
  }
  assert.equal(dev.runningImageMd5().length, 32);
  // Without -a, the entry's passwordEnv is the password.
  const viaEnv = await runCliInMemory(
    ['upload', '--target', 'kitchen', '-f', 'firmware.bin', '--time-scale', '0.1'],
    {
      cwd: dir,
      env: { AIRFLASH_KITCHEN_PW: 'secret' },
    },
  );
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.doesNotMatch(viaEnv.stderr, /its password from -a/);
});

test('--dry-run reports every device whose passwordEnv is not set, and plans the others', async (t) => {
  const { dir } = await setup(t);
  const r = await runCliInMemory(
    ['upload', '--devices', 'airflash.devices.json', '-f', 'firmware.bin', '--dry-run', '--json'],
    {
      cwd: dir,
    },
  );
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const results = events.filter((e) => e['type'] === 'result');
  const byDevice = new Map(results.map((e) => [e['device'], e]));
  assert.equal(byDevice.get('attic')?.['status'], 'planned');
  for (const [name, variable] of [
    ['kitchen', 'AIRFLASH_KITCHEN_PW'],
    ['hall', 'AIRFLASH_HALL_PW'],
  ] as const) {
    const e = byDevice.get(name);
    assert.equal(e?.['status'], 'failed', name);
    assert.equal(e?.['code'], 'DEVICES_FILE');
    assert.match(String(e?.['message']), new RegExp(`\\$${variable}, which is not set`));
  }
  assert.equal(r.code, 4, 'some devices cannot be updated');
});
