/**
 * Web OTA from the CLI and in fleets: `airflash upload -f FILE http://HOST`, `-i HOST --protocol
 * http`, exit codes and --json of a refusal, a factory image (exit 3), `airflash probe http://…`,
 * `airflash emulate --protocol http --profile NAME`, and one fleet of ArduinoOTA, ESPHome and web
 * devices in one call and one command. Addresses 127.0.183.x.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App, buildMergedImage } from '../src/formats/index.ts';
import { uploadFleet } from '../src/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';
import { SCALE, url, withWeb } from './helpers/web-ota.ts';

const IMAGE = buildEsp32App({ size: 80_000, seed: 183, version: '4.2.0', projectName: 'ESP32' });
const MD5 = createHash('md5').update(IMAGE).digest('hex');
const dir = mkdtempSync(join(tmpdir(), 'airflash-web-'));
const file = join(dir, 'firmware.bin');
const factory = join(dir, 'firmware.factory.bin');
writeFileSync(file, IMAGE);
writeFileSync(factory, buildMergedImage({}));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Polls (a device may have booted before the call, or boot a moment after the fleet's answer). */
async function bootedWith(d: { runningImageMd5(): string }, md5: string): Promise<void> {
  for (let i = 0; i < 400 && d.runningImageMd5() !== md5; i++) await new Promise((r) => setTimeout(r, 25));
}

describe('web OTA CLI', () => {
  it('airflash upload -f FILE http://HOST:PORT updates a WLED board and says the version is confirmed', () =>
    withWeb({ address: '127.0.183.1', profile: 'wled' }, async (d) => {
      const r = await runCliInMemory(['upload', '-f', file, url(d), '--time-scale', String(SCALE)]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(d.runningImageMd5(), MD5);
      assert.match(r.stdout + r.stderr, /it runs 4\.2\.0 \(the image's version, confirmed\)/);
    }));

  it('airflash upload -i HOST -p PORT --protocol http --user U -a PW (Digest) updates ElegantOTA', () =>
    withWeb(
      { address: '127.0.183.2', profile: 'elegantota-v3', user: 'ota', password: 'pw', webAuth: 'digest' },
      async (d) => {
        const r = await runCliInMemory(
          [
            'upload',
            '-i',
            d.address,
            '-p',
            String(d.port),
            '--protocol',
            'http',
            '--user',
            'ota',
            '-f',
            file,
            '--time-scale',
            String(SCALE),
          ],
          { env: { AIRFLASH_PASSWORD: 'pw' } },
        );
        assert.equal(r.code, 0, r.stderr);
        assert.equal(d.runningImageMd5(), MD5);
        assert.match(r.stdout + r.stderr, /not confirmed/);
        assert.doesNotMatch(r.stdout + r.stderr, /pw/);
      },
    ));

  it('a locked WLED: exit 1, --json result with OTA_LOCKED; a factory image: exit 3, nothing sent', () =>
    withWeb({ address: '127.0.183.3', profile: 'wled', wledOtaLock: true }, async (d) => {
      const r = await runCliInMemory(['upload', '-f', file, url(d), '--json', '--time-scale', String(SCALE)]);
      assert.equal(r.code, 1, r.stderr);
      const last = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as {
        type: string;
        ok: boolean;
        code: string;
      };
      assert.deepEqual([last.type, last.ok, last.code], ['result', false, 'OTA_LOCKED']);
      const before = d.web.requests;
      const f = await runCliInMemory(['upload', '-f', factory, url(d)]);
      assert.equal(f.code, 3, f.stderr);
      assert.match(f.stderr, /PREFLIGHT_NOT_APP|full-flash/);
      assert.equal(d.web.requests, before);
    }));

  it('--profile names the firmware (no identification); an unknown one is a usage error', () =>
    withWeb({ address: '127.0.183.4', profile: 'esphome' }, async (d) => {
      const bad = await runCliInMemory(['upload', '-f', file, url(d), '--profile', 'nope']);
      assert.equal(bad.code, 2);
      const r = await runCliInMemory([
        'upload',
        '-f',
        file,
        url(d),
        '--profile',
        'esphome',
        '--time-scale',
        String(SCALE),
      ]);
      assert.equal(r.code, 0, r.stderr);
      // Named: no identification GETs; only the POST, then the back-online polls of `/`.
      const log = d.log().filter((l) => /^(GET|POST) /.test(l));
      assert.equal(log[0], 'POST /update');
      assert.ok(
        log.slice(1).every((l) => l === 'GET /'),
        log.join(', '),
      );
    }));

  it('airflash probe http://HOST:PORT names the firmware and what it needs (GETs only)', () =>
    withWeb({ address: '127.0.183.5', profile: 'tasmota', password: 'pw' }, async (d) => {
      const r = await runCliInMemory(['probe', url(d)]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Tasmota 1[0-9.]+ \(web OTA profile tasmota\)/);
      assert.match(r.stdout, /needs: +Referer: http:\/\/HOST\/ \(airflash sends it\); a user and password/);
      const j = await runCliInMemory(['probe', url(d), '--json']);
      assert.equal((JSON.parse(j.stdout) as { profile: string }).profile, 'tasmota');
      assert.equal(d.web.sideEffects, 0);
      const none = await runCliInMemory(['probe', 'http://127.0.183.99:8099', '--timeout', '1']);
      assert.equal(none.code, 1);
      assert.match(none.stdout, /nothing answers HTTP/);
    }));

  it('airflash emulate --protocol http --profile arduino-esp8266 runs a web updater that takes an upload', async () => {
    const stop = new AbortController();
    const { memoryIO } = await import('./helpers/cli-io.ts');
    const { runCli } = await import('../src/cli/main.ts');
    const m = memoryIO({ signal: stop.signal });
    const running = runCli(
      [
        'emulate',
        '--protocol',
        'http',
        '--profile',
        'arduino-esp8266',
        '--address',
        '127.0.183.6',
        '--port',
        '0',
        '--time-scale',
        String(SCALE),
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
      const r = await runCliInMemory([
        'upload',
        '-f',
        file,
        `http://127.0.183.6:${port}`,
        '--time-scale',
        String(SCALE),
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(m.stdout(), /"event":"update-complete"/);
    } finally {
      stop.abort();
      assert.equal(await running, 0);
    }
  });
});

describe('web OTA CLI arguments', () => {
  it("-i HOST --protocol http is http://HOST with the scheme's port (80), -p keeps its port; a bare -i stays 3232", async () => {
    const { uploadOptionsFromArgs } = await import('../src/cli/commands/upload.ts');
    const { parseUploadArgs } = await import('../src/cli/espota-args.ts');
    const read = (argv: string[]) => uploadOptionsFromArgs(parseUploadArgs(argv), {});
    const a = read(['-i', '10.0.0.5', '--protocol', 'http', '-f', 'x.bin']);
    assert.deepEqual([a.host, a.port], ['http://10.0.0.5', undefined]);
    const b = read(['-i', 'fe80::1', '--protocol', 'http', '-p', '8080', '-f', 'x.bin']);
    assert.deepEqual([b.host, b.port], ['http://[fe80::1]', 8080]);
    const c = read(['-f', 'x.bin', 'http://wled.local']);
    assert.deepEqual([c.host, c.port], ['http://wled.local', undefined]);
    const d = read(['-i', '10.0.0.5', '-f', 'x.bin']);
    assert.deepEqual([d.host, d.port], ['10.0.0.5', 3232]);
    assert.throws(() => read(['-f', 'x.bin', 'wled.local']), { code: 'BAD_ARGUMENT' });
    const e = uploadOptionsFromArgs(parseUploadArgs(['-f', 'x.bin', 'http://h', '--profile', 'wled']), {
      AIRFLASH_HTTP_USER: 'ota',
    }) as { user?: string; httpProfile?: string };
    assert.deepEqual([e.user, e.httpProfile], ['ota', 'wled']);
  });
});

describe('web OTA in fleets', () => {
  it('one uploadFleet() over an ArduinoOTA, an ESPHome and two web devices', async () => {
    const ao = await startDevice({ core: 'esp32', address: '127.0.183.20', port: 0, timeScale: SCALE });
    const eh = await startDevice({ protocol: 'esphome', address: '127.0.183.21', port: 0, timeScale: SCALE });
    const wl = await startDevice({
      protocol: 'http',
      profile: 'wled',
      address: '127.0.183.22',
      port: 0,
      timeScale: SCALE,
    });
    const ar = await startDevice({
      protocol: 'http',
      profile: 'arduino-esp32',
      address: '127.0.183.23',
      port: 0,
      timeScale: SCALE,
    });
    try {
      const summary = await uploadFleet({
        targets: [
          { name: 'arduino', host: ao.address, port: ao.port },
          { name: 'esphome', host: `esphome://${eh.address}:${eh.port}` },
          { name: 'wled', host: url(wl) },
          { name: 'web-arduino', host: url(ar) },
        ],
        image: IMAGE,
        timeScale: SCALE,
      });
      for (const r of summary.results) assert.equal(r.status, 'ok', JSON.stringify(r));
      for (const d of [ao, eh, wl, ar]) {
        await bootedWith(d, MD5);
        assert.equal(d.runningImageMd5(), MD5);
      }
    } finally {
      await Promise.all([ao, eh, wl, ar].map((d) => d.close()));
    }
  });

  it('airflash upload --target … mixes the three families in one command', async () => {
    const ao = await startDevice({ core: 'esp32', address: '127.0.183.30', port: 0, timeScale: SCALE });
    const eh = await startDevice({ protocol: 'esphome', address: '127.0.183.31', port: 0, timeScale: SCALE });
    const ws = await startDevice({
      protocol: 'http',
      profile: 'tasmota',
      address: '127.0.183.32',
      port: 0,
      timeScale: SCALE,
    });
    try {
      const r = await runCliInMemory([
        'upload',
        '-f',
        file,
        '--target',
        `${ao.address}:${ao.port}`,
        '--target',
        `esphome://${eh.address}:${eh.port}`,
        '--target',
        url(ws),
        '--time-scale',
        String(SCALE),
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      for (const d of [ao, eh, ws]) {
        await bootedWith(d, MD5);
        assert.equal(d.runningImageMd5(), MD5);
      }
    } finally {
      await Promise.all([ao, eh, ws].map((d) => d.close()));
    }
  });
});
