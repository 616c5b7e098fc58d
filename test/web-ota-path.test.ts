/**
 * A path in a web-OTA target names the upload endpoint (`http://HOST:PORT/update`): the image goes
 * there, not to the profile's default; an endpoint the device does not serve is never a success.
 * Addresses 127.0.187.x.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { buildEsp32App } from '../src/formats/index.ts';
import { isUploadError, type UploadOptions, upload } from '../src/index.ts';
import type { HttpObservation, HttpOptions } from '../src/protocols/web-ota/index.ts';
import { fast, url, withWeb } from './helpers/web-ota.ts';

const IMG = buildEsp32App({ size: 60_000, seed: 187, version: '2.0.0', projectName: 'ESP32' });
const MD5 = createHash('md5').update(IMG).digest('hex');
const up = (host: string) => upload({ host, data: IMG, ...fast } as UploadOptions & HttpOptions);

describe('web OTA: the target path is the upload endpoint', () => {
  it('http://HOST:PORT/update (the endpoint itself) updates the device', () =>
    withWeb({ address: '127.0.187.1', profile: 'arduino-esp32' }, async (d) => {
      await up(`${url(d)}/update`);
      assert.equal(d.runningImageMd5(), MD5);
    }));

  it('an endpoint the device does not serve fails, and the old image still boots', () =>
    withWeb({ address: '127.0.187.2', profile: 'arduino-esp32' }, async (d) => {
      const before = d.runningImageMd5();
      const e = await up(`${url(d)}/no-such-updater`).then(
        () => undefined,
        (x: unknown) => x,
      );
      assert.ok(isUploadError(e), `expected a failure, got ${String(e)}`);
      assert.equal((e.observation as HttpObservation).status, 404);
      assert.equal(d.counters.updatesStarted, 0);
      assert.equal(d.runningImageMd5(), before);
    }));
});
