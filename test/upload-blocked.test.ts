/**
 * Devices whose loop() calls ArduinoOTA.handle() rarely (issue 5, "Blocked loops"): updated with
 * DEFAULT options (scaled with the same time scale as the emulated device), the result reports
 * the loop period. One test runs in real time.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App, buildEsp8266Sketch } from '../src/formats/index.ts';
import { type UploadEvent, upload } from '../src/uploader/index.ts';

let nextHost = 60;
const esp32Image = buildEsp32App({ size: 60_000, seed: 21 });
const esp8266Image = buildEsp8266Sketch({ size: 60_000, seed: 22 });
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function blockedUpload(o: {
  core: 'esp32' | 'esp32-legacy' | 'esp8266';
  loopMs: number;
  scale: number;
  password?: string;
  /** Start the upload at this fraction of the device's loop period after the device started. */
  phase: number;
}) {
  const dev = await startDevice({
    core: o.core,
    address: `127.0.0.${nextHost++}`,
    port: 0,
    loopMs: o.loopMs,
    timeScale: o.scale,
    ...(o.password ? { password: o.password } : {}),
  });
  try {
    await sleep(o.phase * o.loopMs * o.scale);
    const data = o.core === 'esp8266' ? esp8266Image : esp32Image;
    const events: UploadEvent[] = [];
    const booted = dev.waitFor('booted', (e) => e.event === 'booted' && e.md5 === md5(data), 60_000);
    const r = await upload({
      host: dev.address,
      port: dev.port,
      data,
      ...(o.password ? { password: o.password } : {}),
      timeScale: o.scale,
      onEvent: (e) => events.push(e),
    });
    await booted;
    assert.equal(dev.runningImageMd5(), md5(data));
    return { r, events, dev };
  } finally {
    await dev.close();
  }
}

describe('blocked loop(): updated with default options', () => {
  // An 8 s loop, scaled 1:50.
  for (const core of ['esp32', 'esp32-legacy', 'esp8266'] as const) {
    for (const password of [undefined, 'pw']) {
      it(`${core}, 8 s loop, ${password ? 'password' : 'no password'}`, async () => {
        const scale = 0.02;
        const { r } = await blockedUpload({
          core,
          loopMs: 8000,
          scale,
          phase: 0.5,
          ...(password ? { password } : {}),
        });
        assert.equal(r.ok, true);
        if (core !== 'esp8266') {
          assert.equal(r.loopPeriodKind, 'measured');
          const period = (r.loopPeriodMs ?? 0) / scale;
          assert.ok(period > 8000 * 0.8 && period < 8000 * 1.2, `loop period ${period} ms (model time)`);
        } else if (r.loopPeriodMs !== undefined) {
          assert.equal(r.loopPeriodKind, 'at-least');
          assert.ok(r.loopPeriodMs / scale <= 8000 * 1.2);
        }
      });
    }
  }

  // The seed's device: loop() ends in delay(30000), with a password. Every phase of the loop at
  // which the upload can start (0, 1 or 2 stale invitations queued when the device first answers).
  for (const phase of [0.05, 0.4, 0.75, 0.97]) {
    it(`ESP32 with password, 30 s loop, upload starting at ${phase * 100} % of the loop`, async () => {
      const scale = 0.01;
      const { r, events } = await blockedUpload({
        core: 'esp32',
        loopMs: 30_000,
        scale,
        phase,
        password: 'seed',
      });
      const period = (r.loopPeriodMs ?? 0) / scale;
      assert.equal(r.loopPeriodKind, 'measured');
      assert.ok(period > 30_000 * 0.8 && period < 30_000 * 1.2, `loop period ${period} ms (model time)`);
      assert.ok(
        events.some((e) => e.type === 'hint' && /handle\(\)/.test(e.message)),
        'an interim hint names the blocked loop',
      );
    });
  }

  it('ESP32 without password, 30 s loop', async () => {
    const scale = 0.01;
    const { r } = await blockedUpload({ core: 'esp32', loopMs: 30_000, scale, phase: 0.9 });
    assert.equal(r.loopPeriodKind, 'measured');
  });

  it('real time: ESP32 (3.3.1+) with password and a 1.5 s loop, default options', async () => {
    const { r, events } = await blockedUpload({
      core: 'esp32',
      loopMs: 1500,
      scale: 1,
      phase: 0.3,
      password: 'rt',
    });
    assert.equal(r.loopPeriodKind, 'measured');
    assert.ok(Math.abs((r.loopPeriodMs ?? 0) - 1500) < 300, `loop period ${r.loopPeriodMs}`);
    assert.ok(events.some((e) => e.type === 'phase' && e.phase === 'auth'));
  });
});
