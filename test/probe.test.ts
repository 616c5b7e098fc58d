/**
 * probe(): what an emulated device runs — port, password, auth generation, loop period, mDNS —
 * without changing its firmware, and leaving it idle so that a normal upload works right after.
 * One group runs in real time (a 3 s loop, several start phases, concurrently); the rest use the
 * emulator's time scale. Each device has its own 127.0.56.x address.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { probe } from '../src/diagnosis/index.ts';
import { createMdnsBus, discoverAll } from '../src/discovery/index.ts';
import { loadDoctorProbe, toDoctorProbeResult } from '../src/doctor/probe.ts';
import { type EmulatedDevice, startDevice } from '../src/emulator/index.ts';
import { buildEsp32App, buildEsp8266Sketch } from '../src/formats/index.ts';
import { md5hex } from '../src/protocols/arduino-ota/wire/index.ts';
import { upload } from '../src/upload/index.ts';

const esp32Image = buildEsp32App({ size: 30_000, seed: 61 });
const esp8266Image = buildEsp8266Sketch({ size: 30_000, seed: 62 });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function snapshot(dev: EmulatedDevice) {
  return {
    partition: dev.runningPartition(),
    md5: dev.runningImageMd5(),
    updatesStarted: dev.counters.updatesStarted,
    updatesCompleted: dev.counters.updatesCompleted,
    authFailures: dev.counters.authFailures,
    boots: dev.counters.boots,
  };
}

function within(actual: number | undefined, expected: number, tolerance: number): void {
  assert.ok(actual !== undefined, 'a period was reported');
  assert.ok(
    Math.abs(actual - expected) <= expected * tolerance,
    `period ${actual} ms is not within ±${tolerance * 100} % of ${expected} ms`,
  );
}

describe('probe()', { concurrency: true }, () => {
  describe('probe() in real time: ESP32, password, a 3 s loop', { concurrency: true }, () => {
    // Start the probe at different phases of the device's loop (the loop grid starts at boot).
    for (const [i, phaseMs] of [100, 1100, 2100].entries()) {
      it(`starting ${phaseMs} ms into the loop: SHA-256 generation, period 3 s ± 20 %`, async () => {
        const dev = await startDevice({
          core: 'esp32',
          address: `127.0.56.${1 + i}`,
          password: 'pw',
          loopMs: 3000,
        });
        try {
          const before = snapshot(dev);
          await sleep(phaseMs);
          const r = await probe(dev.address);
          assert.equal(r.answered, true);
          assert.equal(r.port, 3232);
          assert.equal(r.authRequired, true);
          assert.equal(r.authScheme, 'sha256');
          assert.equal(r.nonceLength, 64);
          assert.match(r.core.range, /arduino-esp32 core ≥ 3\.3\.1/);
          assert.equal(r.loop.kind, 'measured');
          assert.equal(r.loop.handleCallsPerGap, 2);
          within(r.loopPeriodMs, 3000, 0.2);
          // The summary shows the measured period (within 20 % of 3 s above), not always "3.0 s".
          assert.match(r.summary, /wants a password \(SHA-256\/PBKDF2 challenge\).*about every \d+\.\d s/);
          assert.ok(
            r.summary.includes(`about every ${((r.loopPeriodMs ?? 0) / 1000).toFixed(1)} s`),
            r.summary,
          );
          assert.equal(r.ports.find((p) => p.port === 8266)?.outcome, 'refused');
          assert.deepEqual(snapshot(dev), before, 'firmware and update counters unchanged');
        } finally {
          await dev.close();
        }
      });
    }
    it('real time, one sample, then a normal upload with default options succeeds', async () => {
      const dev = await startDevice({ core: 'esp32', address: '127.0.56.4', password: 'pw', loopMs: 3000 });
      try {
        const before = snapshot(dev);
        await sleep(600);
        const r = await probe(dev.address, { samples: 1 });
        assert.equal(r.authScheme, 'sha256');
        within(r.loopPeriodMs, 3000, 0.2);
        assert.deepEqual(snapshot(dev), before);
        const up = await upload({ host: dev.address, data: esp32Image, password: 'pw' });
        assert.equal(up.ok, true);
        assert.equal(dev.counters.authFailures, 0);
      } finally {
        await dev.close();
      }
    });
  });

  describe('probe() on scaled devices', { concurrency: true }, () => {
    // 1:4. At 1:10 a 2 s loop was 200 ms real: event-loop lag on 2 loaded cores inflated the
    // timed round trip past the "answered at once" bound (no period reported), and one late
    // timer put a 500 ms gap at 771 ms, outside ±20 %.
    const SCALE = 0.25;

    for (const [i, phase] of [0.05, 0.35, 0.65, 0.95].entries()) {
      it(`ESP32 + password, 3 s loop scaled 1:4, phase ${phase}: period, then a normal upload succeeds`, async () => {
        const dev = await startDevice({
          core: 'esp32',
          address: `127.0.56.${10 + i}`,
          password: 'pw',
          loopMs: 3000,
          timeScale: SCALE,
        });
        try {
          const before = snapshot(dev);
          await sleep(phase * 3000 * SCALE);
          const r = await probe(dev.address, { timeScale: SCALE });
          assert.equal(r.authScheme, 'sha256');
          within(r.loopPeriodMs, 3000 * SCALE, 0.2);
          assert.deepEqual(snapshot(dev), before);
          const up = await upload({ host: dev.address, data: esp32Image, password: 'pw', timeScale: SCALE });
          assert.equal(up.ok, true);
          await dev.waitFor('booted', (e) => e.event === 'booted' && e.md5 === md5hex(esp32Image), 10_000);
          assert.equal(dev.counters.authFailures, 0, 'the probe caused no failed auth');
        } finally {
          await dev.close();
        }
      });
    }

    it('ESP32 without password: OK at once, one handle() call per answer', async () => {
      const dev = await startDevice({
        core: 'esp32',
        address: '127.0.56.20',
        loopMs: 2000,
        timeScale: SCALE,
      });
      try {
        const r = await probe(dev.address, { timeScale: SCALE });
        assert.equal(r.reply, 'ok');
        assert.equal(r.authRequired, false);
        assert.equal(r.core.family, 'esp32');
        assert.equal(r.loop.handleCallsPerGap, 1);
        within(r.loopPeriodMs, 2000 * SCALE, 0.2);
        assert.ok(r.sideEffects.some((s) => /onError .*OTA_BEGIN_ERROR/.test(s)));
        const up = await upload({ host: dev.address, data: esp32Image, timeScale: SCALE });
        assert.equal(up.ok, true);
        assert.equal(dev.counters.updatesCompleted, 1);
      } finally {
        await dev.close();
      }
    });

    it('ESP32 ≤ 3.3.0 with a password: the MD5 generation', async () => {
      const dev = await startDevice({
        core: 'esp32-legacy',
        address: '127.0.56.21',
        password: 'pw',
        loopMs: 2000,
        timeScale: SCALE,
      });
      try {
        const r = await probe(dev.address, { timeScale: SCALE });
        assert.equal(r.authScheme, 'md5');
        assert.equal(r.nonceLength, 32);
        assert.match(r.core.range, /arduino-esp32 core ≤ 3\.3\.0/);
        within(r.loopPeriodMs, 2000 * SCALE, 0.2);
        const up = await upload({ host: dev.address, data: esp32Image, password: 'pw', timeScale: SCALE });
        assert.equal(up.ok, true);
      } finally {
        await dev.close();
      }
    });

    it('ESP8266 without password: ERR from handle() reveals the core and the loop period', async () => {
      const dev = await startDevice({
        core: 'esp8266',
        address: '127.0.56.22',
        loopMs: 5000,
        timeScale: SCALE,
      });
      try {
        const before = snapshot(dev);
        const r = await probe(dev.address, { timeScale: SCALE });
        assert.equal(r.port, 8266);
        assert.equal(r.reply, 'error');
        assert.equal(r.core.family, 'esp8266');
        assert.match(r.deviceError ?? '', /ERROR\[5\]: Bad Size Given/);
        assert.equal(r.authRequired, false, 'an ESP8266 with a password would have answered AUTH first');
        within(r.loopPeriodMs, 5000 * SCALE, 0.2);
        assert.deepEqual(snapshot(dev), before);
        const up = await upload({ host: dev.address, port: 8266, data: esp8266Image, timeScale: SCALE });
        assert.equal(up.ok, true);
      } finally {
        await dev.close();
      }
    });

    it('ESP8266 with a password: the loop cannot be seen, and says why', async () => {
      const dev = await startDevice({
        core: 'esp8266',
        address: '127.0.56.23',
        password: 'pw',
        loopMs: 5000,
        timeScale: SCALE,
      });
      try {
        const before = snapshot(dev);
        const r = await probe(dev.address, { timeScale: SCALE });
        assert.equal(r.authScheme, 'md5');
        assert.equal(r.loop.kind, 'not-visible');
        assert.match(r.loop.why, /network callback/);
        assert.equal(r.loopPeriodMs, undefined);
        assert.match(r.core.range, /ESP8266/);
        assert.deepEqual(snapshot(dev), before);
        // The probe's `0\n` has left its socket when probe() resolves; the device reads it from
        // its own socket a moment later. Wait for that (bounded) instead of a fixed few ms.
        const until = Date.now() + 2000;
        while (dev.state() !== 'idle' && Date.now() < until) await sleep(5);
        assert.equal(dev.state(), 'idle');
        const up = await upload({
          host: dev.address,
          port: 8266,
          data: esp8266Image,
          password: 'pw',
          timeScale: SCALE,
        });
        assert.equal(up.ok, true);
      } finally {
        await dev.close();
      }
    });

    it('finds the port: an ESP32 listening on 8266 (the seed mistake)', async () => {
      const dev = await startDevice({ core: 'esp32', address: '127.0.56.24', port: 8266, password: 'pw' });
      try {
        const any = await probe(dev.address, { timeScale: SCALE, loop: false });
        assert.equal(any.answered, true);
        assert.equal(any.port, 8266);
        assert.equal(any.authScheme, 'sha256');
        assert.equal(any.ports.find((p) => p.port === 3232)?.outcome, 'refused');
        const given = await probe(dev.address, { port: 3232, timeScale: SCALE });
        assert.equal(given.answered, false);
        assert.equal(given.ports.length, 1);
        assert.match(given.summary, /No ArduinoOTA service answered .*UDP 3232 closed/);
        const alt = await probe(dev.address, {
          port: 3232,
          alternatives: true,
          timeScale: SCALE,
          loop: false,
        });
        assert.equal(alt.answered, false, 'not on the port asked');
        assert.equal(alt.port, 8266);
        assert.ok(alt.notes.some((n) => /answers on port 8266: upload with -p 8266/.test(n)));
        assert.match(alt.summary, /^ArduinoOTA answers on 127\.0\.56\.24:8266, not on the port asked/);
        const up = await upload({
          host: dev.address,
          port: 8266,
          data: esp32Image,
          password: 'pw',
          timeScale: SCALE,
        });
        assert.equal(up.ok, true);
      } finally {
        await dev.close();
      }
    });

    it('no device: answered false at once (ICMP port unreachable on 3232 and 8266)', async () => {
      const started = Date.now();
      const r = await probe('127.0.56.25', { timeoutMs: 5000 });
      assert.equal(r.answered, false);
      assert.deepEqual(
        r.ports.map((p) => [p.port, p.outcome]),
        [
          [3232, 'refused'],
          [8266, 'refused'],
        ],
      );
      assert.ok(Date.now() - started < 2000, 'refusals end the wait');
    });

    it('something else answers: not ArduinoOTA', async () => {
      const dev = await startDevice({ core: 'esp32', address: '127.0.56.26', faults: ['garbage'] });
      try {
        const r = await probe(dev.address, { port: dev.port, timeScale: SCALE });
        assert.equal(r.answered, false);
        assert.equal(r.reply, 'other');
        assert.match(r.summary, /not ArduinoOTA/);
      } finally {
        await dev.close();
      }
    });

    it('mDNS: the advertisement and its port (not a default one)', async () => {
      const bus = createMdnsBus({ port: 5353 });
      const dev = await startDevice({
        core: 'esp32',
        address: '127.0.56.27',
        port: 4321,
        password: 'pw',
        mdns: { transport: bus.transport('127.0.56.27') },
      });
      try {
        const r = await probe(dev.address, {
          timeScale: SCALE,
          loop: false,
          mdns: { timeoutMs: 600 },
          browse: (o) => discoverAll({ ...o, transport: bus.transport('127.0.0.1') }),
        });
        assert.equal(r.answered, true);
        assert.equal(r.port, 4321);
        assert.equal(r.ports.find((p) => p.port === 4321)?.source, 'mdns');
        assert.equal(r.mdns?.length, 1);
        assert.equal(r.mdns?.[0]?.port, 4321);
        assert.equal(r.mdns?.[0]?.authUpload, true);
        assert.equal(r.mdns?.[0]?.name, dev.hostname);
      } finally {
        await dev.close();
      }
    });

    it('doctor calls probe({ host, port, signal }) and reads its result', async () => {
      // A 750 ms loop: on one port the link is timed by the first answer, whose event-loop lag on
      // a loaded machine must stay well under the period for the gap to read as a period.
      const dev = await startDevice({
        core: 'esp32',
        address: '127.0.56.28',
        password: 'pw',
        loopMs: 3000,
        timeScale: SCALE,
      });
      try {
        const r = await probe({
          host: dev.address,
          port: 3232,
          timeScale: SCALE,
          signal: AbortSignal.timeout(30_000),
        });
        const view = toDoctorProbeResult(r);
        assert.equal(view.answered, true);
        assert.equal(view.authRequired, true);
        assert.equal(view.authScheme, 'sha256');
        within(view.loopPeriodMs, 3000 * SCALE, 0.3);
        assert.equal(view.summary, r.summary);
      } finally {
        await dev.close();
      }
    });

    it("doctor's loader finds this probe and reads it (seed: an ESP32 asked on 8266)", async () => {
      const probeFn = await loadDoctorProbe();
      assert.ok(probeFn, 'loadDoctorProbe() finds src/protocols/arduino-ota/host/probe.ts');
      const dev = await startDevice({ core: 'esp32', address: '127.0.56.30', password: 'pw' });
      try {
        const wrong = await probeFn(dev.address, 8266, {});
        assert.equal(wrong.answered, false);
        const right = await probeFn(dev.address, 3232, {});
        assert.equal(right.answered, true);
        assert.equal(right.authRequired, true);
        assert.equal(right.authScheme, 'sha256');
      } finally {
        await dev.close();
      }
    });

    it('aborts with INTERRUPTED while waiting for a silent device', async () => {
      const dev = await startDevice({ core: 'esp32', address: '127.0.56.29', faults: ['offline'] });
      try {
        const ac = new AbortController();
        setTimeout(() => ac.abort(), 150);
        const started = Date.now();
        await assert.rejects(probe(dev.address, { port: dev.port, signal: ac.signal, timeoutMs: 60_000 }), {
          code: 'INTERRUPTED',
        });
        assert.ok(Date.now() - started < 2000);
      } finally {
        await dev.close();
      }
    });
  });
});
