/**
 * Which core answered (issue 11, wrong chip family): detectCore() reads the device's reply to the
 * size-0 invitation (ESP8266 `ERR: …`, ESP32 `OK`), the auth generation (64-hex nonce), the mDNS
 * TXT `board` and, as a weak hint only, the port that answered. And the one probe's "is it there?"
 * (probeDevice, the fleet's pre-probe): a device that answers on another port than the one asked
 * is reported `answersOn` that port, not offline. Emulated devices on 127.0.147.x.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CoreDetection, detectCore, probe } from '../src/diagnosis/index.ts';
import { createMdnsBus, discoverAll } from '../src/discovery/index.ts';
import { startDevice } from '../src/emulator/index.ts';
import { probeDevice } from '../src/protocols/arduino-ota/host/probe-device.ts';

const SCALE = 0.1;

const strengthOf = (d: CoreDetection): string | undefined => ('strength' in d ? d.strength : undefined);

describe('detectCore()', () => {
  it('ERR to a size-0 invitation: ESP8266, firm', () => {
    const d = detectCore({ reply: 'error', port: 3232 });
    assert.equal(d.core, 'esp8266');
    assert.equal(strengthOf(d), 'firm');
    assert.match(d.evidence[0] ?? '', /ERR: …" to an invitation it cannot begin/);
    assert.ok(
      d.evidence.some((e) => /weak hint/.test(e)),
      'the port is named as a weak hint',
    );
  });

  it('OK at once: ESP32, firm; a 64-hex nonce: ESP32 (arduino-esp32 ≥ 3.3.1), firm', () => {
    const ok = detectCore({ reply: 'ok', port: 8266 });
    assert.equal(ok.core, 'esp32');
    assert.equal(strengthOf(ok), 'firm');
    const sha = detectCore({ reply: 'auth', nonceLength: 64, port: 4000 });
    assert.equal(sha.core, 'esp32');
    assert.match(sha.evidence.join('\n'), /3\.3\.1/);
  });

  it('a 32-hex nonce tells no family: the port is a weak hint, mDNS TXT board is firm', () => {
    const byPort = detectCore({ reply: 'auth', nonceLength: 32, port: 8266 });
    assert.equal(byPort.core, 'esp8266');
    assert.equal(strengthOf(byPort), 'weak');
    const byBoard = detectCore({
      reply: 'auth',
      nonceLength: 32,
      port: 3232,
      mdns: [{ port: 3232, board: 'd1_mini', core: 'esp8266' }],
    });
    assert.equal(byBoard.core, 'esp8266');
    assert.equal(strengthOf(byBoard), 'firm');
    assert.match(byBoard.evidence.join('\n'), /board=d1_mini/);
    const none = detectCore({ reply: 'auth', nonceLength: 32, port: 4000 });
    assert.equal(none.core, 'unknown');
  });

  it('the reply wins over an advertisement that disagrees; nothing answered: unknown', () => {
    const d = detectCore({ reply: 'error', mdns: [{ port: 8266, board: 'esp32', core: 'esp32' }] });
    assert.equal(d.core, 'esp8266');
    assert.match(d.evidence.join('\n'), /disagree/);
    assert.equal(detectCore({}).core, 'unknown');
    assert.equal(detectCore({ reply: 'other', port: 3232 }).core, 'unknown');
  });
});

describe('the probe says which core answered (emulated devices)', { concurrency: true }, () => {
  it('ESP8266 without a password on 3232 (setPort): ESP8266 from its ERR answer, not the port', async () => {
    const dev = await startDevice({ core: 'esp8266', address: '127.0.147.1', port: 3232, timeScale: SCALE });
    try {
      const r = await probeDevice({ host: dev.address, port: 3232, timeoutMs: 2000, timeScale: SCALE });
      assert.equal(r.online, true);
      assert.equal(r.answer, 'error');
      assert.equal(r.core.core, 'esp8266');
      assert.equal(strengthOf(r.core), 'firm');
    } finally {
      await dev.close();
    }
  });

  it('ESP32 without a password on 8266 (setPort): ESP32 from its OK answer', async () => {
    const dev = await startDevice({ core: 'esp32', address: '127.0.147.2', port: 8266, timeScale: SCALE });
    try {
      const r = await probeDevice({ host: dev.address, port: 8266, timeoutMs: 2000, timeScale: SCALE });
      assert.equal(r.answer, 'ok');
      assert.equal(r.core.core, 'esp32');
    } finally {
      await dev.close();
    }
  });

  it('ESP8266 with a password (MD5) advertising board=d1_mini: ESP8266 from mDNS TXT board', async () => {
    const bus = createMdnsBus({ port: 5353 });
    const dev = await startDevice({
      core: 'esp8266',
      address: '127.0.147.3',
      port: 3232,
      password: 'pw',
      board: 'd1_mini',
      timeScale: SCALE,
      mdns: { transport: bus.transport('127.0.147.3') },
    });
    try {
      const r = await probe(dev.address, {
        timeScale: SCALE,
        loop: false,
        mdns: { timeoutMs: 600 },
        browse: (o) => discoverAll({ ...o, transport: bus.transport('127.0.0.1') }),
      });
      assert.equal(r.nonceLength, 32);
      assert.equal(r.port, 3232);
      const d = detectCore(r);
      assert.equal(d.core, 'esp8266');
      assert.equal(strengthOf(d), 'firm');
      assert.match(d.evidence.join('\n'), /board=d1_mini/);
    } finally {
      await dev.close();
    }
  });
});

describe("probeDevice(): a device on another port is not offline (the fleet's pre-probe)", {
  concurrency: true,
}, () => {
  it('an ESP32 on 3232 asked on 8266: ICMP refusal, then "answers on 3232", within 2 s', async () => {
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.147.4',
      password: 'pw',
      timeScale: SCALE,
    });
    try {
      const started = performance.now();
      const r = await probeDevice({ host: dev.address, port: 8266, timeoutMs: 5000, timeScale: SCALE });
      assert.ok(performance.now() - started < 2000, `took ${Math.round(performance.now() - started)} ms`);
      assert.equal(r.online, false);
      assert.equal(r.refused, true);
      assert.equal(r.answersOn?.port, 3232);
      assert.equal(r.answersOn?.answer, 'auth');
      assert.equal(r.core.core, 'esp32', 'the 64-hex nonce of the port that answered');
      assert.deepEqual(
        r.ports.map((p) => [p.port, p.outcome]),
        [
          [8266, 'refused'],
          [3232, 'answered'],
        ],
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(dev.state(), 'idle', 'left idle');
    } finally {
      await dev.close();
    }
  });

  it('alternatives: false asks the given port only; nothing anywhere: refused, no answersOn', async () => {
    const dev = await startDevice({ core: 'esp32', address: '127.0.147.5', timeScale: SCALE });
    try {
      const only = await probeDevice({
        host: dev.address,
        port: 8266,
        timeoutMs: 2000,
        alternatives: false,
        timeScale: SCALE,
      });
      assert.equal(only.refused, true);
      assert.equal(only.answersOn, undefined);
      assert.equal(only.ports.length, 1);
      const nobody = await probeDevice({
        host: '127.0.147.6',
        port: 8266,
        timeoutMs: 2000,
        timeScale: SCALE,
      });
      assert.equal(nobody.online, false);
      assert.equal(nobody.refused, true);
      assert.equal(nobody.answersOn, undefined);
      assert.equal(nobody.core.core, 'unknown');
    } finally {
      await dev.close();
    }
  });

  it('a port that refuses at first is asked again: a device that starts ArduinoOTA later is online', async () => {
    const pending = probeDevice({ host: '127.0.147.7', port: 3232, timeoutMs: 3000, timeScale: SCALE });
    await new Promise((resolve) => setTimeout(resolve, 400));
    const dev = await startDevice({ core: 'esp32', address: '127.0.147.7', timeScale: SCALE });
    try {
      const r = await pending;
      assert.equal(r.online, true);
      assert.equal(r.answer, 'ok');
      assert.ok(r.sent >= 2, `sent ${r.sent}`);
      assert.equal(r.refused, undefined);
    } finally {
      await dev.close();
    }
  });
});
