import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { idealUploadTime } from '../bench/model.ts';
import { stopAndWaitUpload } from '../bench/stop-and-wait.ts';
import { isAirflashError } from '../src/core/errors.ts';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App, buildEsp8266Sketch } from '../src/formats/index.ts';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

describe('stop-and-wait reference client (espota method)', () => {
  it('updates an emulated ESP32 in 1 KiB steps, one round trip each, close to the model', async () => {
    const image = buildEsp32App({ size: 64 * 1024, seed: 21 });
    const timeScale = 0.2;
    const dev = await startDevice({ address: '127.0.0.71', port: 0, rttMs: 6, timeScale });
    try {
      const r = await stopAndWaitUpload({ host: dev.address, port: dev.port, data: image, chunkSize: 1024 });
      assert.equal(r.chunks, 64);
      const done = await dev.waitFor('booted', (e) => e.event === 'booted' && e.md5 === md5(image), 5000);
      assert.equal(done.event, 'booted');
      assert.equal(dev.runningImageMd5(), md5(image));
      const model = idealUploadTime(
        { name: 'rtt6', rttMs: 6, bandwidth: 0 },
        image,
        'esp32',
        {
          stopAndWait: 1024,
        },
        { timeScale },
      );
      // The bench (`npm run bench`) holds this to ±10 %. A test run shares 2 cores with other
      // tests, and load only ever adds time (a full npm test beside another measured 2.3–4× the
      // model), so only the bound load cannot move is asserted here: never faster than the model
      // (a client that did not wait for each chunk's count would be).
      const ratio = r.durationMs / model.totalMs;
      assert.ok(ratio > 0.7, `measured ${r.durationMs.toFixed(0)} ms, model ${model.totalMs.toFixed(0)} ms`);
      // and it is clearly slower than the streaming limit at this rtt
      const limit = idealUploadTime({ name: 'rtt6', rttMs: 6, bandwidth: 0 }, image, 'esp32', 'stream', {
        timeScale,
      });
      assert.ok(r.durationMs > limit.totalMs * 1.5);
    } finally {
      await dev.close();
    }
  });

  it('updates an emulated ESP8266 with a password in 1460-byte steps', async () => {
    const image = buildEsp8266Sketch({ size: 40 * 1024, seed: 5 });
    const dev = await startDevice({
      core: 'esp8266',
      address: '127.0.0.72',
      port: 0,
      password: 'pw',
      timeScale: 0.05,
    });
    try {
      const r = await stopAndWaitUpload({
        host: dev.address,
        port: dev.port,
        data: image,
        chunkSize: 1460,
        password: 'pw',
      });
      assert.equal(r.bytes, image.length);
      await dev.waitFor('booted', (e) => e.event === 'booted' && e.md5 !== '', 5000);
      assert.equal(dev.counters.updatesCompleted, 1);
    } finally {
      await dev.close();
    }
  });

  it('fails with the right codes: wrong password, device error text, no device', async () => {
    const dev = await startDevice({
      core: 'esp8266',
      address: '127.0.0.73',
      port: 0,
      password: 'pw',
      timeScale: 0.05,
    });
    try {
      const image = buildEsp8266Sketch({ size: 20 * 1024, seed: 6 });
      await assert.rejects(
        stopAndWaitUpload({
          host: dev.address,
          port: dev.port,
          data: image,
          password: 'nope',
          timeoutMs: 2000,
        }),
        (e: unknown) => isAirflashError(e, 'AUTH_FAILED'),
      );
      const bad = image.slice();
      bad[0] = 0x00;
      await assert.rejects(
        stopAndWaitUpload({ host: dev.address, port: dev.port, data: bad, password: 'pw', timeoutMs: 2000 }),
        (e: unknown) => isAirflashError(e, 'DEVICE_ERROR') && /Magic byte/.test(e.message),
      );
    } finally {
      await dev.close();
    }
    await assert.rejects(
      stopAndWaitUpload({
        host: '127.0.0.74',
        port: 9,
        data: new Uint8Array(10),
        timeoutMs: 100,
        attempts: 2,
      }),
      (e: unknown) => isAirflashError(e, 'NO_INVITATION_REPLY'),
    );
  });
});
