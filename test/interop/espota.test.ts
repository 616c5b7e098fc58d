import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type EmulatedDevice, startDevice } from '../../src/emulator/index.ts';
import { buildEsp32App, buildEsp8266Sketch } from '../../src/formats/index.ts';

/**
 * Interop with the real espota.py of each core (their code stays out of the project, so this is
 * not part of `npm test`; run it with `npm run interop`):
 *   ESPOTA_ESP32=/path/to/arduino-esp32/tools/espota.py (core 3.3.x)
 *   ESPOTA_ESP8266=/path/to/esp8266/Arduino/tools/espota.py
 *   PYTHON=python3 (optional)
 * A core whose variable is not set is skipped, saying so; with neither set the run fails.
 */

const PYTHON = process.env['PYTHON'] ?? 'python3';

function espota(script: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, [script, ...args], { timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

const cases = [
  {
    name: 'arduino-esp32 espota.py (3.3.x) against --core esp32',
    env: 'ESPOTA_ESP32',
    core: 'esp32' as const,
    address: '127.0.0.140',
    image: () => buildEsp32App({ size: 60_000, seed: 11 }),
  },
  {
    name: 'esp8266 espota.py against --core esp8266',
    env: 'ESPOTA_ESP8266',
    core: 'esp8266' as const,
    address: '127.0.0.141',
    image: () => buildEsp8266Sketch({ size: 60_000, seed: 11 }),
  },
];

test('at least one espota.py is given (ESPOTA_ESP32 / ESPOTA_ESP8266)', () => {
  assert.ok(
    cases.some((c) => process.env[c.env]),
    'npm run interop needs ESPOTA_ESP32 and/or ESPOTA_ESP8266 set to the path of espota.py',
  );
});

for (const c of cases) {
  const script = process.env[c.env];
  describe(c.name, {
    skip: script ? false : `set ${c.env} to the script's path to run this interop test`,
  }, () => {
    let dir = '';
    let file = '';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'airflash-espota-'));
      file = join(dir, 'firmware.bin');
      await writeFile(file, c.image());
    });
    after(() => rm(dir, { recursive: true, force: true }));

    const run = async (password: string | undefined, devicePassword: string | undefined) => {
      const dev: EmulatedDevice = await startDevice({
        core: c.core,
        address: c.address,
        port: 0,
        timeScale: 0.05,
        receiveTimeoutMs: 20_000,
        ...(devicePassword === undefined ? {} : { password: devicePassword }),
      });
      try {
        const booted = dev.waitFor('booted', undefined, 60_000).catch(() => undefined);
        const args = ['-i', c.address, '-p', String(dev.port), '-f', file, '-d'];
        if (password !== undefined) args.push('-a', password);
        const result = await espota(script as string, args);
        return { ...result, dev, booted: password === devicePassword ? await booted : undefined };
      } finally {
        await dev.close();
      }
    };

    test('uploads without a password', async () => {
      const r = await run(undefined, undefined);
      assert.equal(r.code, 0, r.out);
      assert.equal(r.dev.counters.updatesCompleted, 1, r.out);
    });

    test('uploads with the right password', async () => {
      const r = await run('admin', 'admin');
      assert.equal(r.code, 0, r.out);
      assert.equal(r.dev.counters.updatesCompleted, 1, r.out);
    });

    test('fails with a wrong password', async () => {
      const r = await run('wrong', 'admin');
      assert.notEqual(r.code, 0, r.out);
      assert.equal(r.dev.counters.updatesCompleted, 0);
      assert.ok(r.dev.counters.authFailures >= 1);
    });
  });
}
