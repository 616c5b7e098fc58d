/**
 * The per-device lock (host-lock.ts) covers the probes too (issue 11): the fleet's probe
 * (`probeDevice`) and the family question before an upload (`askFamily`) wait for another
 * upload's handshake with the same device in this process, instead of queueing their invitations
 * between its invitation and its auth line (which restarts a password ESP32's WAITAUTH).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { askFamily, probeDevice } from '../src/protocols/arduino-ota/host/probe-device.ts';
import { upload } from '../src/upload/index.ts';

const SCALE = 0.05;

async function slowPasswordEsp32(address: string) {
  return startDevice({ core: 'esp32', address, port: 0, password: 'pw', loopMs: 30_000, timeScale: SCALE });
}

describe('probes wait for an upload handshake with the same device', () => {
  for (const [name, address, ask] of [
    [
      'the fleet probe (probeDevice)',
      '127.0.111.1',
      (host: string, port: number) => probeDevice({ host, port, timeoutMs: 600, timeScale: SCALE }),
    ],
    [
      'the family question (askFamily)',
      '127.0.111.2',
      (host: string, port: number) => askFamily({ host, port, timeoutMs: 600, timeScale: SCALE }),
    ],
  ] as const) {
    it(`${name}: the upload's handshake is not disturbed`, async () => {
      const dev = await slowPasswordEsp32(address);
      try {
        let startedAt = 0;
        const started = dev.waitFor('update-start', undefined, 30_000).then(() => {
          startedAt = performance.now();
        });
        const booted = dev.waitFor('booted', undefined, 30_000);
        const data = buildEsp32App({ size: 20_000, seed: 61 });
        const up = upload({ host: dev.address, port: dev.port, password: 'pw', data, timeScale: SCALE });
        // The upload's first invitation is out; the probe comes while it waits for handle().
        await new Promise((r) => setTimeout(r, 100));
        let probedAt = 0;
        const probe = ask(dev.address, dev.port).then((r) => {
          probedAt = performance.now();
          return r;
        });
        const r = await up;
        await Promise.all([probe, started]);
        // Only the upload's own invitations reached the device before its auth line: one AUTH
        // answered, no Authentication Failed, no AUTH the upload did not expect.
        assert.equal(dev.counters.authFailures, 0);
        assert.equal(r.observation.auth?.tries.length, 1, JSON.stringify(r.observation.auth));
        assert.ok(
          !r.observation.received.some((x) => x.kind === 'auth' && x.use === 'stray'),
          JSON.stringify(r.observation.received),
        );
        assert.ok(dev.counters.invitations <= 2, `${dev.counters.invitations} AUTHs`);
        // The probe asked only after the handshake (it ended after the device began the update).
        assert.ok(
          startedAt > 0 && probedAt > startedAt,
          `probe ended ${probedAt - startedAt} ms after update-start`,
        );
        const boot = await booted;
        assert.equal(boot.event === 'booted' && boot.md5, r.md5);
      } finally {
        await dev.close();
      }
    });
  }
});
