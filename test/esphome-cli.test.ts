/**
 * ESPHome from the CLI and in a fleet: `airflash upload -i esphome://…`, and one uploadFleet()
 * over an ESPHome device and an ArduinoOTA device. Addresses 127.0.16.2x.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { uploadFleet } from '../src/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';

const IMAGE = buildEsp32App({ size: 50_000, seed: 61 });
const MD5 = createHash('md5').update(IMAGE).digest('hex');
const dir = mkdtempSync(join(tmpdir(), 'airflash-esphome-'));
const file = join(dir, 'firmware.bin');
writeFileSync(file, IMAGE);
after(() => rmSync(dir, { recursive: true, force: true }));

describe('esphome CLI and fleet', () => {
  it('airflash upload -i esphome://HOST:PORT -a PW updates the device (exit 0)', async () => {
    const d = await startDevice({
      protocol: 'esphome',
      address: '127.0.16.20',
      port: 0,
      password: 'pw',
      timeScale: 0.05,
    });
    try {
      const r = await runCliInMemory([
        'upload',
        '-i',
        `esphome://${d.address}:${d.port}`,
        '-a',
        'pw',
        '-f',
        file,
      ]);
      assert.equal(r.code, 0, r.stderr);
      await d.waitFor('booted', undefined, 10_000);
      assert.equal(d.runningImageMd5(), MD5);
      const bad = await runCliInMemory([
        'upload',
        '-i',
        `esphome://${d.address}:${d.port}`,
        '-a',
        'no',
        '-f',
        file,
        '--json',
      ]);
      assert.equal(bad.code, 1, bad.stderr);
      assert.match(bad.stdout + bad.stderr, /AUTH_FAILED/);
    } finally {
      await d.close();
    }
  });

  it('airflash emulate --protocol esphome runs an ESPHome device that takes an upload', async () => {
    const stop = new AbortController();
    const { memoryIO } = await import('./helpers/cli-io.ts');
    const { runCli } = await import('../src/cli/main.ts');
    const m = memoryIO({ signal: stop.signal });
    const running = runCli(
      [
        'emulate',
        '--protocol',
        'esphome',
        '--address',
        '127.0.16.23',
        '--port',
        '0',
        '--time-scale',
        '0.05',
        '--json',
      ],
      m.io,
    );
    try {
      let port: number | undefined;
      for (let i = 0; i < 200 && port === undefined; i++) {
        const line = m
          .stdout()
          .split('\n')
          .find((l) => l.includes('"listening"'));
        if (line) port = (JSON.parse(line) as { port: number }).port;
        else await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(port, m.stdout() + m.stderr());
      const r = await runCliInMemory(['upload', '-i', `esphome://127.0.16.23:${port}`, '-f', file]);
      assert.equal(r.code, 0, r.stderr);
      // the device sends 45 before its end callbacks (EOD-A): wait for its event
      for (let i = 0; i < 100 && !m.stdout().includes('update-complete'); i++)
        await new Promise((r) => setTimeout(r, 20));
      assert.match(m.stdout(), /"event":"update-complete"/);
    } finally {
      stop.abort();
      assert.equal(await running, 0);
    }
  });

  it('airflash emulate --protocol esphome is parsed into the device options', async () => {
    const { parseEmulateArgs } = await import('../src/cli/commands/emulate.ts');
    const { base } = parseEmulateArgs([
      '--protocol',
      'esphome',
      '--ota-version',
      '1',
      '--esphome-auth',
      'md5',
      '--esphome-error',
      '0x8B',
    ]);
    assert.deepEqual(base, { protocol: 'esphome', otaVersion: 1, esphomeAuth: 'md5', esphomeError: 0x8b });
    const { fleetEntry } = await import('../src/cli/commands/emulate.ts');
    assert.deepEqual(fleetEntry({ protocol: 'esphome', 'ota-version': 2, password: 'x' }, 0), {
      protocol: 'esphome',
      otaVersion: 2,
      password: 'x',
    });
  });

  it('one fleet: an ESPHome device and an ArduinoOTA device, updated in one call', async () => {
    const eh = await startDevice({ protocol: 'esphome', address: '127.0.16.21', port: 0, timeScale: 0.05 });
    const ao = await startDevice({ core: 'esp32', address: '127.0.16.22', port: 0, timeScale: 0.05 });
    try {
      const summary = await uploadFleet({
        targets: [
          { name: 'esphome', host: `esphome://${eh.address}:${eh.port}` },
          { name: 'arduino', host: ao.address, port: ao.port },
        ],
        image: IMAGE,
        timeScale: 0.05,
      });
      const byName = new Map(summary.results.map((x) => [x.device, x]));
      assert.equal(byName.get('esphome')?.status, 'ok', JSON.stringify(byName.get('esphome')));
      assert.equal(byName.get('arduino')?.status, 'ok', JSON.stringify(byName.get('arduino')));
      await eh.waitFor('booted', undefined, 10_000).catch(() => undefined);
      assert.equal(eh.runningImageMd5(), MD5);
      assert.equal(ao.counters.updatesCompleted, 1);
    } finally {
      await eh.close();
      await ao.close();
    }
  });
});
