/**
 * A fleet run without its probe (`probe: false`) still asks a device its chip family before the
 * first image byte, as a single upload does (issue 11): the ESP32 app meant for the ESP32 is not
 * sent to the ESP8266 that listens on 8266; the ESP32 is updated.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFleet } from '../src/emulator/index.ts';
import { uploadFleet } from '../src/fleet/fleet.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { TIME_SCALE, UPLOADER_SCALE } from './helpers/fleet.ts';

test('probe: false: an ESP32 app is refused for the ESP8266 on 8266 (its answer), the ESP32 updated', async (t) => {
  const fleet = await startFleet([
    { core: 'esp8266', address: '127.0.112.1', port: 8266, timeScale: TIME_SCALE },
    { core: 'esp32', address: '127.0.112.2', port: 3232, timeScale: TIME_SCALE },
  ]);
  t.after(() => fleet.close());
  const [e8266, e32] = fleet.devices;
  assert.ok(e8266 && e32);
  const summary = await uploadFleet({
    targets: [
      { name: 'pond', host: e8266.address, port: 8266 },
      { name: 'kitchen', host: e32.address, port: 3232 },
    ],
    image: buildEsp32App({ size: 60_000, seed: 71 }),
    probe: false,
    timeScale: UPLOADER_SCALE,
  });
  const pond = summary.results.find((r) => r.device === 'pond');
  assert.equal(pond?.code, 'PREFLIGHT_WRONG_CHIP', JSON.stringify(pond));
  assert.match(pond?.message ?? '', /ESP8266 .*ERR/);
  assert.equal(pond?.bytes, 0);
  // The device's own counters: it was asked (one size-0 invitation), nothing was written.
  assert.equal(e8266.counters.updatesStarted, 0);
  assert.equal(e8266.counters.updatesCompleted, 0);
  assert.deepEqual(summary.devices.ok, ['kitchen']);
  assert.equal(e32.counters.updatesCompleted, 1);
});
