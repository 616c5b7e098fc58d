/**
 * Auto-selection of a bare `-i HOST` (registry.ts `detectionOrder`, upload.ts): ArduinoOTA first
 * as ever; only when its invitation finds nothing there (NO_INVITATION_REPLY: no answer, or the
 * system's "port unreachable") are the probes of the protocols with a `detectOrder` asked, and
 * the first that answers updates the device. An ArduinoOTA device is never probed over TCP.
 * Addresses 127.0.163.x.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { isUploadError, type UploadEvent, upload } from '../src/index.ts';

const IMAGE = buildEsp32App({ size: 30_000, seed: 163 });
const MD5 = createHash('md5').update(IMAGE).digest('hex');

describe('a bare host picks the protocol the device speaks', () => {
  it('an ESPHome device behind a bare -i HOST -p PORT is updated as ESPHome', async () => {
    const d = await startDevice({ protocol: 'esphome', address: '127.0.163.1', port: 0, timeScale: 0.05 });
    try {
      const events: UploadEvent[] = [];
      const r = await upload({ host: d.address, port: d.port, data: IMAGE, onEvent: (e) => events.push(e) });
      assert.equal(r.protocol, 'esphome');
      assert.equal(r.attempts, 1);
      await d.waitFor('booted', undefined, 10_000);
      assert.equal(d.runningImageMd5(), MD5);
      assert.ok(
        events.some((e) => e.type === 'hint' && /ESPHome/.test(e.message)),
        'the switch is said (a hint event)',
      );
    } finally {
      await d.close();
    }
  });

  it('an ArduinoOTA device is updated as before and never sees a TCP probe', async () => {
    const d = await startDevice({ address: '127.0.163.2', port: 0, timeScale: 0.05 });
    // A TCP listener on the device's address and UDP port number: any probe would land here.
    const probes: number[] = [];
    const tcp = createServer((s) => {
      probes.push(Date.now());
      s.destroy();
    });
    await new Promise<void>((resolve) => tcp.listen(d.port, d.address, resolve));
    try {
      const r = await upload({ host: d.address, port: d.port, data: IMAGE });
      assert.equal(r.protocol, 'arduino-ota');
      assert.equal(probes.length, 0, 'no TCP connection to the device');
    } finally {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await d.close();
    }
  });

  it('nobody there (UDP and TCP refused): the ArduinoOTA error stays, the probe adds no error of its own', async () => {
    const e = await upload({ host: '127.0.163.3', port: 3232, data: IMAGE }).catch((x: unknown) => x);
    assert.ok(isUploadError(e, 'NO_INVITATION_REPLY'), String(e));
    assert.equal(e.protocol, 'arduino-ota');
  });
});
