/**
 * Web OTA under faults and in identification, over real sockets: an upload cut at several
 * offsets (the connection dropped, the device that stops reading) is never success and nothing
 * new boots; a slow device still updates; `probe` names every profile with zero requests that
 * have side effects (the emulator counts them). Addresses 127.0.182.x.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildEsp32App } from '../src/formats/index.ts';
import { isUploadError, type UploadOptions, upload } from '../src/index.ts';
import type { HttpObservation, HttpOptions } from '../src/protocols/web-ota/index.ts';
import { httpOta, PROFILE_IDS } from '../src/protocols/web-ota/index.ts';
import { fast, url, withWeb } from './helpers/web-ota.ts';

const IMG = buildEsp32App({ size: 200_000, seed: 182, version: '3.1.0', projectName: 'ESP32' });

describe('web OTA: a cut upload is never success', () => {
  const cuts = ['drop@1', 'drop@50', 'drop@99', 'stall@50'] as const;
  let n = 0;
  for (const profile of ['arduino-esp32', 'elegantota-v3', 'wled'] as const)
    for (const fault of cuts) {
      n++;
      const address = `127.0.182.${n}`;
      it(`${profile}, ${fault}: fails with INCOMPLETE or TRANSFER_STALLED; the old image still boots`, () =>
        withWeb({ address, profile, faults: [fault] }, async (d) => {
          const before = d.runningImageMd5();
          let error: unknown;
          try {
            await upload({
              host: url(d),
              data: IMG,
              ...fast,
              // 1 s real with the scale: loopback's socket buffers may hold the whole body, so a device
              // that stops reading is seen in the response phase.
              httpTimeouts: { ...fast.httpTimeouts, idleMs: 20_000, responseMs: 20_000 },
            } as UploadOptions & HttpOptions);
          } catch (e) {
            error = e;
          }
          assert.ok(isUploadError(error), `expected a failure, got ${String(error)}`);
          const allowed = fault.startsWith('stall')
            ? ['TRANSFER_STALLED', 'TIMEOUT']
            : ['INCOMPLETE', 'NETWORK_ERROR'];
          assert.ok(allowed.includes(error.code), error.code);
          const obs = error.observation as HttpObservation;
          assert.ok(['upload', 'response'].includes(obs.stage), obs.stage);
          assert.equal(obs.status, undefined); // no reply was read, so none was taken for success
          assert.equal(d.counters.updatesCompleted, 0);
          assert.equal(d.runningImageMd5(), before);
        }));
    }

  it('a slow device (5 device ms per KiB) still updates, progress never goes back', () =>
    withWeb({ address: '127.0.182.40', profile: 'esphome', webSlowMsPerKiB: 5 }, async (d) => {
      const seen: number[] = [];
      await upload({
        host: url(d),
        data: IMG,
        ...fast,
        onEvent: (e) => {
          if (e.type === 'progress') seen.push(e.bytes);
        },
      } as UploadOptions & HttpOptions);
      assert.deepEqual(
        seen,
        [...seen].sort((a, b) => a - b),
      );
      assert.equal(seen.at(-1), IMG.length);
      assert.equal(d.counters.updatesCompleted, 1);
    }));
});

describe('web OTA identification: every profile, zero side effects', () => {
  PROFILE_IDS.forEach((profile, i) => {
    it(`${profile}: probe names it, the device saw no request with a side effect`, () =>
      withWeb({ address: `127.0.182.${60 + i}`, profile }, async (d) => {
        const r = await httpOta.probe?.({ host: d.address, port: d.port }, { timeoutMs: 5000 });
        assert.equal(r?.online, true);
        assert.equal((r as { identity?: { profile?: string } }).identity?.profile, profile);
        assert.ok(d.web.requests > 0);
        assert.equal(d.web.sideEffects, 0);
      }));
  });

  for (const [profile, n] of [
    ['elegantota-v3', 70],
    ['arduino-esp8266', 71],
  ] as const)
    it(`${profile} behind a password: "auth" is what it needs; with the credentials the probe names it`, () =>
      withWeb({ address: `127.0.182.${n}`, profile, password: 'pw', webAuth: 'digest' }, async (d) => {
        const r = await httpOta.probe?.({ host: d.address, port: d.port }, { timeoutMs: 5000 });
        const id = (r as { identity?: { profile?: string; needs: string[]; auth?: string } }).identity;
        assert.equal(id?.profile, undefined);
        assert.deepEqual(id?.needs, ['auth']);
        assert.equal(id?.auth, 'digest');
        // An upload with the credentials identifies it (GETs only) and updates.
        const up = await upload({ host: url(d), data: IMG, password: 'pw', ...fast } as UploadOptions &
          HttpOptions);
        assert.equal((up.observation as unknown as HttpObservation).profile, profile);
        assert.equal(d.web.sideEffects, profile === 'elegantota-v3' ? 2 : 1);
      }));

  it('nothing listening: probe is offline, an upload fails with NETWORK_ERROR', async () => {
    const r = await httpOta.probe?.({ host: '127.0.182.99', port: 8099 }, { timeoutMs: 2000 });
    assert.equal(r?.online, false);
    await assert.rejects(
      upload({ host: 'http://127.0.182.99:8099', data: IMG, ...fast } as UploadOptions & HttpOptions),
      { code: 'NETWORK_ERROR' },
    );
  });
});
