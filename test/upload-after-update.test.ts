/**
 * An upload right after an update meets a rebooting device (issue 11): it is recognised, invited
 * often until it is back, with no false "loop() blocks" note and no 10 s lost. Filesystem then
 * firmware (PlatformIO's uploadfs + upload) is the same case. A device that was away when nobody
 * here updated it (another process) gets an honest note: the invitations were lost, not delayed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App, buildEsp8266Sketch } from '../src/formats/index.ts';
import { upload } from '../src/upload/index.ts';
import { bootedMd5 } from './helpers/browser.ts';
import { startFakeDevice } from './helpers/fake-ota-device.ts';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
let host = 20;

for (const core of ['esp32', 'esp8266'] as const) {
  for (const first of ['firmware', 'filesystem'] as const) {
    it(`${core}: ${first}, then firmware at once: waits for the reboot, no false note, no 10 s lost`, async () => {
      const dev = await startDevice({ core, address: `127.0.10.${host++}`, password: 'pw' });
      try {
        const build = core === 'esp8266' ? buildEsp8266Sketch : buildEsp32App;
        const a =
          first === 'filesystem' ? new Uint8Array(64 * 1024).fill(0xff) : build({ size: 90_000, seed: 1 });
        const b = build({ size: 90_000, seed: 2 });
        await upload({
          host: dev.address,
          port: dev.port,
          password: 'pw',
          data: a,
          filesystem: first === 'filesystem',
        });
        const r = await upload({ host: dev.address, port: dev.port, password: 'pw', data: b });
        assert.equal(await bootedMd5(dev, md5(b)), md5(b));
        const hints = r.observation.hints.join('\n');
        assert.ok(!/blocks|loop\(\) calls/.test(hints), hints);
        assert.equal(r.loopPeriodMs, undefined);
        assert.ok(r.durationMs < 6000, `second upload took ${r.durationMs} ms`);
      } finally {
        await dev.close();
      }
    });
  }
}

describe('invitations lost while the device was away (not our update)', () => {
  it('says they were lost, not that loop() blocks', async () => {
    const dev = await startFakeDevice({ address: '127.0.10.90', answerFrom: 2 });
    try {
      const r = await upload({
        host: dev.address,
        port: dev.port,
        data: new Uint8Array(5000).fill(1),
        // The handshake is under test, not the image.
        preflight: false,
        attemptTimeoutMs: 1500,
      });
      const hints = r.observation.hints.join('\n');
      assert.ok(!/blocks/.test(hints), hints);
      assert.match(hints, /answered invitation 2 at once but not the 1 before it: those were lost/);
      assert.equal(r.observation.invitationsLost, 1);
    } finally {
      await dev.close();
    }
  });
});
