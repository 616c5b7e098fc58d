/**
 * Web OTA's retry classification under `--retries`: a device's refusal (WLED's OTA lock, an error
 * body, wrong credentials) ends the upload at attempt 1 — a second attempt gets the same answer
 * and, for a lock or a PIN, only adds to the board's own lock-out — while a cut connection is
 * retried and the second attempt updates the device. Addresses 127.0.186.x.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildEsp32App } from '../src/formats/index.ts';
import { isUploadError, type UploadOptions, upload } from '../src/index.ts';
import type { HttpOptions } from '../src/protocols/web-ota/index.ts';
import { fast, url, withWeb } from './helpers/web-ota.ts';

const IMG = buildEsp32App({ size: 80_000, seed: 186, version: '2.0.0', projectName: 'ESP32' });

async function run(host: string, extra: Partial<UploadOptions & HttpOptions> = {}) {
  const retries: string[] = [];
  const error = await upload({
    host,
    data: IMG,
    retries: 2,
    ...fast,
    httpTimeouts: { ...fast.httpTimeouts, idleMs: 20_000, responseMs: 20_000 },
    ...extra,
    onEvent: (e) => {
      if (e.type === 'retry') retries.push(e.code);
    },
  } as UploadOptions & HttpOptions).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, retries };
}

describe('web OTA retry classification', () => {
  it('WLED with its OTA lock on: OTA_LOCKED at once, no retry', () =>
    withWeb({ address: '127.0.186.1', profile: 'wled', wledOtaLock: true }, async (d) => {
      const { error, retries } = await run(url(d));
      assert.ok(isUploadError(error, 'OTA_LOCKED'), String(error));
      assert.deepEqual(retries, []);
      assert.equal(d.counters.updatesStarted, 0);
    }));

  it('an error body ("Not Enough Space") is final: no retry, one update begun', () =>
    withWeb(
      { address: '127.0.186.2', profile: 'arduino-esp8266', webError: 'Not Enough Space' },
      async (d) => {
        const { error, retries } = await run(url(d));
        assert.ok(isUploadError(error, 'NO_SPACE'), String(error));
        assert.deepEqual(retries, []);
        assert.ok(d.counters.updatesStarted <= 1, String(d.counters.updatesStarted));
      },
    ));

  it('a wrong password is final: no retry', () =>
    withWeb({ address: '127.0.186.3', profile: 'arduino-esp32', password: 'right-one' }, async (d) => {
      const { error, retries } = await run(url(d), { password: 'wrong-one', httpProfile: 'arduino-esp32' });
      assert.ok(isUploadError(error, 'AUTH_FAILED'), String(error));
      assert.deepEqual(retries, []);
    }));

  it('a connection cut at 50 % is retried, and the second attempt updates the device', () =>
    withWeb({ address: '127.0.186.4', profile: 'arduino-esp32', faults: ['drop@50'] }, async (d) => {
      const { error, retries } = await run(url(d));
      assert.equal(error, undefined, String(error));
      assert.equal(retries.length, 1);
      assert.ok(['INCOMPLETE', 'NETWORK_ERROR'].includes(retries[0] ?? ''), retries[0]);
      assert.equal(d.counters.updatesCompleted, 1);
    }));
});
