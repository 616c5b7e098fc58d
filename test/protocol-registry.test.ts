/**
 * The protocol registry (issue 15): a test-only protocol registered through the public
 * `registerProtocol()` (one line, below) goes through `upload()` and `uploadFleet()` with nothing
 * changed in the library; a bare host and `arduino-ota://` stay ArduinoOTA.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  buildEsp32App,
  isUploadError,
  parseTarget,
  pickProtocol,
  registerProtocol,
  startDevice,
  upload,
  uploadFleet,
} from '../src/index.ts';
import { startLoopbackDevice } from './test-protocol/device.ts';
import { type LoopbackObservation, loopbackTest } from './test-protocol/index.ts';

registerProtocol(loopbackTest);

const IMAGE = buildEsp32App({ size: 30_000, seed: 77 });
const MD5 = createHash('md5').update(IMAGE).digest('hex');

describe('protocol registry', () => {
  let device: Awaited<ReturnType<typeof startLoopbackDevice>>;
  before(async () => {
    device = await startLoopbackDevice('127.0.77.1');
  });
  after(() => device.close());

  it('picks: explicit scheme > mDNS service > probe > port > family default (ArduinoOTA)', () => {
    assert.equal(pickProtocol(parseTarget('192.0.2.1')).id, 'arduino-ota', 'a bare -i HOST: espota');
    assert.equal(pickProtocol(parseTarget('esp.local', 8266)).id, 'arduino-ota');
    assert.equal(pickProtocol(parseTarget('arduino-ota://[::1]:3232')).id, 'arduino-ota');
    assert.deepEqual(parseTarget('arduino-ota://[::1]:3232'), {
      host: '::1',
      scheme: 'arduino-ota',
      port: 3232,
    });
    assert.equal(pickProtocol(parseTarget('loopback-test://127.0.0.1:9')).id, 'loopback-test');
    assert.equal(pickProtocol({ host: 'x', service: '_arduino._tcp' }).id, 'arduino-ota');
    assert.equal(pickProtocol({ host: 'x' }, { probed: 'loopback-test' }).id, 'loopback-test');
    assert.throws(() => pickProtocol(parseTarget('nosuch://x')), { code: 'BAD_ARGUMENT' });
    assert.equal(pickProtocol(parseTarget('esphome://x')).id, 'esphome', 'esphome:// forces ESPHome');
    assert.equal(pickProtocol(parseTarget('x', 3232)).id, 'arduino-ota', 'a bare host stays ArduinoOTA');
    assert.throws(() => registerProtocol(loopbackTest), { code: 'BAD_ARGUMENT' }, 'an id is registered once');
  });

  it('upload() dispatches to the registered protocol; the result is tagged with it', async () => {
    const phases: string[] = [];
    const r = await upload({
      host: `loopback-test://127.0.77.1:${device.port}`,
      data: IMAGE,
      onEvent: (e) => {
        if (e.type === 'phase') phases.push(e.phase);
      },
    });
    assert.equal(r.protocol, 'loopback-test');
    assert.equal(r.md5, MD5);
    assert.equal(r.attempts, 1);
    assert.deepEqual(device.received, [MD5], 'the device checked the MD5 of what it got');
    assert.deepEqual(phases, ['prepare', 'preflight', 'connect', 'transfer', 'result', 'done']);
  });

  it('a failure is an UploadError with the typed observation of that protocol', async () => {
    const e = await upload({ host: 'loopback-test://127.0.77.1:1', data: IMAGE }).catch((x: unknown) => x);
    assert.ok(isUploadError(e));
    assert.equal(e.protocol, 'loopback-test');
    assert.equal((e.observation as LoopbackObservation).bytesSent, 0);
    assert.equal(e.phase, 'connect');
  });

  it('uploadFleet() probes and updates it like any device, next to an ArduinoOTA one', async () => {
    const esp = await startDevice({ core: 'esp32', address: '127.0.77.2', timeScale: 0.05 });
    try {
      const before = device.received.length;
      const summary = await uploadFleet({
        targets: [
          { name: 'loopback', host: `loopback-test://127.0.77.1:${device.port}` },
          { name: 'esp', host: esp.address, port: esp.port },
        ],
        image: IMAGE,
        timeScale: 0.05,
      });
      const byName = new Map(summary.results.map((x) => [x.device, x]));
      assert.equal(byName.get('loopback')?.status, 'ok', JSON.stringify(byName.get('loopback')));
      assert.equal(byName.get('esp')?.status, 'ok', JSON.stringify(byName.get('esp')));
      assert.equal(device.received.length, before + 1);
      assert.equal(esp.counters.updatesCompleted, 1, 'the ArduinoOTA device took the image too');
    } finally {
      await esp.close();
    }
  });
});
