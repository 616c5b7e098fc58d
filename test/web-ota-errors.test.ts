/**
 * Web OTA failures over real sockets against the emulated web updaters: every profile's error
 * body, Basic and Digest (MD5, SHA-256) with right and wrong credentials, arduino-esp32's Origin
 * rule, Tasmota's Referer rule, WLED's OTA lock / PIN / same-subnet rules and release check,
 * ESPHome without web OTA, and a factory image refused before any request. Addresses 127.0.181.x.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { buildEsp32App, buildEsp8266Sketch, buildMergedImage } from '../src/formats/index.ts';
import { isUploadError, type UploadOptions, upload } from '../src/index.ts';
import type { HttpObservation, HttpOptions, ProfileId } from '../src/protocols/web-ota/index.ts';
import { fast, url, withWeb } from './helpers/web-ota.ts';

const IMG = buildEsp32App({ size: 60_000, seed: 181, version: '2.0.0', projectName: 'ESP32' });
const up = (o: Partial<UploadOptions & HttpOptions> & { host: string }) =>
  upload({ data: IMG, ...fast, ...o } as UploadOptions & HttpOptions);

async function failure(
  p: Promise<unknown>,
): Promise<{ code: string; obs: HttpObservation; deviceText?: string }> {
  try {
    await p;
  } catch (error) {
    assert.ok(isUploadError(error), String(error));
    return {
      code: error.code,
      obs: error.observation as HttpObservation,
      ...(error.deviceText === undefined ? {} : { deviceText: error.deviceText }),
    };
  }
  assert.fail('the upload succeeded');
}

describe('web OTA: each error body maps to its code', () => {
  const cases: Array<[ProfileId, string, string]> = [
    ['arduino-esp8266', 'Not Enough Space', 'NO_SPACE'],
    ['arduino-esp32', 'MD5 Check Failed', 'MD5_MISMATCH'],
    ['elegantota-v3', 'Flash Write Failed', 'FLASH_WRITE_FAILED'],
    ['elegantota-v2', 'Not Enough Space', 'DEVICE_ERROR'], // answers only "FAIL"
    ['esphome', 'Not Enough Space', 'DEVICE_ERROR'], // answers only "Update Failed!"
    ['tasmota', 'File too large', 'NO_SPACE'],
    ['wled', 'Not Enough Space', 'NO_SPACE'],
  ];
  cases.forEach(([profile, text, code], i) => {
    it(`${profile}: "${text}" → ${code}, nothing booted`, () =>
      withWeb({ address: `127.0.181.${i + 1}`, profile, webError: text }, async (d) => {
        const before = d.runningImageMd5();
        const f = await failure(up({ host: url(d) }));
        assert.equal(f.code, code);
        assert.equal(f.obs.profile, profile);
        assert.equal(d.runningImageMd5(), before);
        assert.equal(d.counters.updatesCompleted, 0);
      }));
  });
});

describe('web OTA auth over the wire', () => {
  const schemes = ['basic', 'digest', 'digest-sha256'] as const;
  schemes.forEach((webAuth, i) => {
    for (const profile of ['arduino-esp8266', 'elegantota-v3', 'esphome', 'tasmota'] as const) {
      const n = 20 + i * 10 + ['arduino-esp8266', 'elegantota-v3', 'esphome', 'tasmota'].indexOf(profile);
      if (profile === 'esphome' && webAuth !== 'basic') continue; // ESPHome's web_server auth is Basic
      it(`${profile}, ${webAuth}: right credentials update; a wrong password (same length) or none never sends the image`, () =>
        withWeb(
          { address: `127.0.181.${n}`, profile, webAuth, user: 'admin', password: 'secret1' },
          async (d) => {
            const wrong = await failure(up({ host: url(d), httpProfile: profile, password: 'secret2' }));
            assert.equal(wrong.code, 'AUTH_FAILED');
            const none = await failure(up({ host: url(d), httpProfile: profile }));
            assert.equal(none.code, 'AUTH_REQUIRED');
            if (profile !== 'esphome') {
              // The challenge was read with a GET: not one image byte went out.
              assert.equal(wrong.obs.bytesSent, 0);
              assert.equal(none.obs.bytesSent, 0);
              assert.equal(d.web.sideEffects, 0);
            }
            assert.equal(d.counters.updatesStarted, 0);
            const r = await up({ host: url(d), password: 'secret1', user: 'admin' });
            const obs = r.observation as unknown as HttpObservation;
            assert.equal(obs.profile, profile);
            if (profile !== 'esphome') assert.equal(obs.auth, webAuth === 'basic' ? 'basic' : 'digest');
            assert.equal(d.counters.updatesCompleted, 1);
          },
        ));
    }
  });
});

function rawPost(d: { address: string; port: number }, path: string, headers: Record<string, string>) {
  const boundary = 'b0undary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="firmware"; filename="f.bin"\r\n\r\n`),
    Buffer.from(IMG),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: d.address,
        port: d.port,
        method: 'POST',
        path,
        headers: {
          'Content-Type': `multipart/form-data; boundary=${boundary}`,
          'Content-Length': body.length,
          ...headers,
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('web OTA: Origin, Referer, WLED rules, ESPHome without OTA', () => {
  it('arduino-esp32: a POST without Origin gets 200 "Update error: Wrong origin received!"; airflash sends it', () =>
    withWeb({ address: '127.0.181.60', profile: 'arduino-esp32' }, async (d) => {
      const raw = await rawPost(d, '/update', {});
      assert.equal(raw.status, 200);
      assert.equal(raw.body, 'Update error: Wrong origin received!');
      // Told it is an ESP8266 server (no Origin sent): the device's refusal is ORIGIN_REFUSED.
      const f = await failure(up({ host: url(d), httpProfile: 'arduino-esp8266' }));
      assert.equal(f.code, 'ORIGIN_REFUSED');
      await up({ host: url(d) });
      assert.equal(d.counters.updatesCompleted, 1);
    }));

  it('arduino-esp32 with credentials: a wrong Origin is a 401 (AUTH_FAILED with the Origin hint)', () =>
    withWeb({ address: '127.0.181.61', profile: 'arduino-esp32', password: 'pw', user: 'u' }, async (d) => {
      const raw = await rawPost(d, '/update', {
        Authorization: `Basic ${Buffer.from('u:pw').toString('base64')}`,
        Origin: 'http://evil',
      });
      assert.equal(raw.status, 401);
      await up({ host: url(d), password: 'pw', user: 'u' });
    }));

  it('tasmota: a Referer naming another host is 403 (REFERER_REFUSED); a raw POST without one too', () =>
    withWeb({ address: '127.0.181.62', profile: 'tasmota' }, async (d) => {
      const raw = await rawPost(d, '/u2?fsz=1', {});
      assert.equal(raw.status, 403);
      const f = await failure(
        up({ host: `http://other-name:${d.port}`, resolve: async () => [d.address], httpProfile: 'tasmota' }),
      );
      assert.equal(f.code, 'REFERER_REFUSED');
      assert.equal(d.counters.updatesStarted, 0);
    }));

  for (const [option, code, n] of [
    ['wledOtaLock', 'OTA_LOCKED', 63],
    ['wledPin', 'PIN_REQUIRED', 64],
    ['wledSameSubnet', 'SUBNET_REFUSED', 65],
  ] as const)
    it(`wled ${option}: ${code}, and the image is not sent`, () =>
      withWeb({ address: `127.0.181.${n}`, profile: 'wled', [option]: true }, async (d) => {
        const f = await failure(up({ host: url(d) }));
        assert.equal(f.code, code);
        assert.equal(f.obs.bytesSent, 0);
        assert.equal(d.counters.updatesStarted, 0);
      }));

  it('wled: another release name is RELEASE_MISMATCH; --force sends skipValidation and updates', () =>
    withWeb({ address: '127.0.181.66', profile: 'wled', wledRelease: 'ESP32_Ethernet' }, async (d) => {
      const f = await failure(up({ host: url(d) }));
      assert.equal(f.code, 'RELEASE_MISMATCH');
      assert.match(f.deviceText ?? '', /current='ESP32_Ethernet', uploaded='ESP32'/);
      await up({ host: url(d), context: { force: true } });
      assert.equal(d.counters.updatesCompleted, 1);
    }));

  it('elegantota-v3: the MD5 of /ota/start is checked at the end (a wrong one: 400 "MD5 Check Failed")', () =>
    withWeb({ address: '127.0.181.69', profile: 'elegantota-v3' }, async (d) => {
      const start = await fetch(`${url(d)}/ota/start?mode=fr&hash=${'0'.repeat(32)}`);
      assert.equal(await start.text(), 'OK');
      const r = await rawPost(d, '/ota/upload', {});
      assert.deepEqual(r, { status: 400, body: 'MD5 Check Failed' });
      assert.equal(d.counters.updatesCompleted, 0);
      const bad = await fetch(`${url(d)}/ota/start?mode=fr&hash=xyz`);
      assert.deepEqual([bad.status, await bad.text()], [400, 'MD5 parameter invalid']);
      // Through airflash the hash is the image's: it updates, and the device's event names that MD5.
      const done = d.waitFor('update-complete', undefined, 20_000);
      const up1 = await up({ host: url(d) });
      assert.equal(((await done) as { md5: string }).md5, up1.md5);
    }));

  it('esphome without `ota: - platform: web_server`: OTA_NOT_ENABLED', () =>
    withWeb({ address: '127.0.181.67', profile: 'esphome', webOtaDisabled: true }, async (d) => {
      const f = await failure(up({ host: url(d), httpProfile: 'esphome' }));
      assert.equal(f.code, 'OTA_NOT_ENABLED');
    }));

  it('an ESP8266 sketch to a WLED that reports an ESP32: PREFLIGHT_WRONG_CHIP after GETs only', () =>
    withWeb({ address: '127.0.181.70', profile: 'wled' }, async (d) => {
      const f = await failure(up({ host: url(d), data: buildEsp8266Sketch({}) }));
      assert.equal(f.code, 'PREFLIGHT_WRONG_CHIP');
      assert.ok(d.web.requests > 0);
      assert.equal(d.web.sideEffects, 0);
    }));

  it('a factory image (bootloader + table at 0) is refused before any request: PREFLIGHT_NOT_APP', () =>
    withWeb({ address: '127.0.181.68', profile: 'wled' }, async (d) => {
      const merged = buildMergedImage({});
      const f = await failure(up({ host: url(d), data: merged }));
      assert.equal(f.code, 'PREFLIGHT_NOT_APP');
      assert.equal(d.web.requests, 0);
    }));
});
