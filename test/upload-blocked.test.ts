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
import { type UploadEvent, upload } from '../src/upload/index.ts';

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
  // An 8 s loop, scaled 1:20 (ESP8266 1:5). The scale sets the real size of every modelled gap:
  // at 1:50 the uploader's 400 ms "a handle() gap is the loop period" threshold was 8 ms real,
  // which scheduler jitter on 2 busy cores exceeds, so ESP8266's 100 ms OK → connect step read as
  // a measured loop period. At 1:5 that threshold is 80 ms real against a 20 ms step.
  for (const core of ['esp32', 'esp32-legacy', 'esp8266'] as const) {
    for (const password of [undefined, 'pw']) {
      it(`${core}, 8 s loop, ${password ? 'password' : 'no password'}`, async () => {
        const scale = core === 'esp8266' ? 0.2 : 0.05;
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
  // Scaled 1:40 (a 750 ms loop): at 1:100 the ±20 % window was ±60 ms real, within jitter.
  for (const phase of [0.05, 0.4, 0.75, 0.97]) {
    it(`ESP32 with password, 30 s loop, upload starting at ${phase * 100} % of the loop`, async () => {
      const scale = 0.025;
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
    const scale = 0.025;
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
