/**
 * Web OTA end to end: upload({ host: 'http://…' }) against every emulated web updater
 * (startDevice({ protocol: 'http', profile })) over real sockets: the board boots the image (MD5),
 * the profile is identified without side effects, the version is confirmed after the reboot.
 * Addresses 127.0.180.x.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { buildEsp32App } from '../src/formats/index.ts';
import { type UploadOptions, upload } from '../src/index.ts';
import type { HttpObservation, HttpOptions, ProfileId } from '../src/protocols/web-ota/index.ts';
import { PROFILE_IDS } from '../src/protocols/web-ota/index.ts';
import { fast, url, withWeb } from './helpers/web-ota.ts';

const image = (version: string, projectName = 'ESP32'): Uint8Array =>
  buildEsp32App({ size: 90_000, seed: 18, version, projectName });
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

describe('web OTA upload, every profile', () => {
  PROFILE_IDS.forEach((profile: ProfileId, i) => {
    it(`${profile}: identified without side effects, the board boots the image, version confirmed`, () =>
      withWeb({ address: `127.0.180.${i + 1}`, profile }, async (d) => {
        const before = d.runningPartition();
        const img = image(`9.${i}.1`);
        const progress: number[] = [];
        const r = await upload({
          host: url(d),
          data: img,
          ...fast,
          onEvent: (e) => {
            if (e.type === 'progress') progress.push(e.bytes);
          },
        } as UploadOptions & HttpOptions);
        assert.equal(r.protocol, 'http');
        const obs = r.observation as unknown as HttpObservation;
        assert.equal(obs.profile, profile);
        assert.equal(r.md5, md5(img));
        // The upload itself is the only request with a side effect (plus its pre-request).
        const expected = profile === 'elegantota-v3' || profile === 'tasmota' ? 2 : 1;
        assert.equal(d.web.sideEffects, expected);
        assert.notEqual(d.runningPartition(), before);
        assert.equal(d.runningImageMd5(), md5(img));
        assert.equal(progress.at(-1), img.length);
        const reports = profile === 'wled' || profile === 'tasmota';
        assert.equal(obs.version?.state, reports ? 'confirmed' : 'not-confirmed');
        if (reports) assert.equal(obs.version?.after, `9.${i}.1`);
        assert.equal(d.version(), `9.${i}.1`);
      }));
  });
});
