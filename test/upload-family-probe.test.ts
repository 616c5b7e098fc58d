/**
 * Wrong chip family when context does not tell (issue 11): before the real invitation on a port
 * that contradicts the image (the other family's default: 8266 with an ESP32 app, 3232 with an
 * ESP8266 sketch; also the port a wrong-port fallback moves to), the upload asks the device with
 * the one probe's size-0 invitation and refuses (PREFLIGHT_WRONG_CHIP, exit 3) an image its answer
 * contradicts (ESP8266 `ERR: …`, ESP32 `OK` at once, a 64-hex nonce), naming the evidence; no
 * update begins and the device is left idle. On the image family's default port and on a port
 * that is neither default nothing is asked; `force` / `preflight: false` skip it; an MD5 nonce
 * tells nothing ("could not tell"). The fleet refuses the same way from its own probe. Checked on
 * the emulated devices' own counters and events. Emulated devices on 127.0.211.x.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildEsp32App,
  buildEsp8266Sketch,
  type DeviceEvent,
  type DeviceOptions,
  type EmulatedDevice,
  exitCodeFor,
  isUploadError,
  startDevice,
  type UploadObservation,
  type UploadOptions,
  upload,
  uploadFleet,
} from '../src/index.ts';
import { familyEvidence } from '../src/protocols/arduino-ota/host/probe-core.ts';

const SCALE = 0.05;
const APP = buildEsp32App({ size: 20_000, seed: 11 });
const SKETCH = buildEsp8266Sketch({ size: 20_000, seed: 12 });

interface Run {
  dev: EmulatedDevice;
  outcome: unknown;
  /** Sizes of the invitations the device read (0: the probe's). */
  invitations: number[];
  hints: string[];
  /** The device's state once the upload ended (and its loop ran). */
  state: string;
}

/** One upload to a fresh emulated device; the device is closed afterwards. */
async function run(device: DeviceOptions, options: Omit<UploadOptions, 'host'>): Promise<Run> {
  const dev = await startDevice({ timeScale: SCALE, ...device });
  const invitations: number[] = [];
  const hints: string[] = [];
  const onDevice = (e: DeviceEvent): void => {
    if (e.event === 'invitation') invitations.push(e.size);
  };
  dev.events.on('event', onDevice);
  try {
    const outcome = await upload({
      host: dev.address,
      timeScale: SCALE,
      ...options,
      onEvent: (e) => {
        if (e.type === 'hint') hints.push(e.message);
      },
    }).catch((x: unknown) => x);
    // Whatever happened, the device is idle again once its loop ran (ESP8266: 100 ms after ERR).
    await new Promise((r) => setTimeout(r, 60));
    return { dev, outcome, invitations, hints, state: dev.state() };
  } finally {
    dev.events.off('event', onDevice);
    await dev.close();
  }
}

/** The refusal, with what every refusal shares: exit 3, nothing begun, the device left idle. */
function refusal(r: Run): { message: string; observation: UploadObservation } {
  const e = r.outcome;
  assert.ok(isUploadError(e, 'PREFLIGHT_WRONG_CHIP'), String(e));
  assert.equal(exitCodeFor(e), 3);
  assert.equal(e.phase, 'preflight');
  assert.match(e.hint ?? '', /--force/);
  assert.equal(r.dev.counters.updatesStarted, 0, 'no update started on the device');
  assert.equal(r.dev.counters.updatesCompleted, 0);
  assert.ok(
    r.invitations.every((size) => size === 0),
    `only the probe's size-0 invitation: ${r.invitations}`,
  );
  assert.equal(r.state, 'idle');
  return { message: e.message, observation: e.observation as UploadObservation };
}

describe("familyEvidence(): only the device's own answer counts", () => {
  it('ERR, an immediate OK and a 64-hex nonce tell; a 32-hex nonce, silence and other text do not', () => {
    assert.equal(
      familyEvidence({ reply: 'error', text: 'ERR: ERROR[5]: Bad Size Given\n' })?.family,
      'esp8266',
    );
    assert.match(
      familyEvidence({ reply: 'error', text: 'ERR: x' })?.how ?? '',
      /answered "ERR: x" to a size-0/,
    );
    assert.equal(familyEvidence({ reply: 'ok' })?.family, 'esp32');
    assert.equal(familyEvidence({ reply: 'auth', nonceLength: 64 })?.family, 'esp32');
    assert.equal(familyEvidence({ reply: 'auth', nonceLength: 32 }), undefined);
    assert.equal(familyEvidence({}), undefined);
    assert.equal(familyEvidence({ reply: 'other', text: 'hello' }), undefined);
  });
});

describe('wrong chip family, asked before the first byte', { concurrency: true }, () => {
  it('an ESP32 app to an ESP8266 on 8266: it answered ERR to the probe, refused', async () => {
    const r = await run({ core: 'esp8266', address: '127.0.211.1' }, { port: 8266, data: APP });
    const e = refusal(r);
    assert.match(
      e.message,
      /ESP32-family app, but the device is an ESP8266 \(it answered "ERR: [^"]+" to a size-0 invitation/,
    );
    assert.match(e.message, /No image byte was sent/);
    assert.equal(e.observation.invitationsSent, 0, 'the upload sent no invitation of its own');
    assert.ok(r.invitations.length >= 1, 'the device was asked');
  });

  it('nothing listens on 3232: the fallback to the advertised 8266 asks it before inviting it', async () => {
    const r = await run({ core: 'esp8266', address: '127.0.211.2' }, { data: APP, advertisedPort: 8266 });
    const e = refusal(r);
    assert.match(e.message, /the device is an ESP8266 \(it answered "ERR: /);
    assert.deepEqual(
      (e.observation.portRefused ?? []).map((p) => p.port),
      [3232],
      'nothing listened on 3232',
    );
  });

  it('a port that is neither default (setPort(8080)) is not asked about (the documented trade-off)', async () => {
    const r = await run({ core: 'esp32', address: '127.0.211.3', port: 8080 }, { port: 8080, data: APP });
    assert.equal((r.outcome as { ok?: boolean }).ok, true, String(r.outcome));
    assert.deepEqual(r.invitations, [APP.length], 'one invitation, the upload’s own');
  });

  it('an ESP8266 sketch to an ESP32 on 3232: it answered OK at once, refused', async () => {
    const r = await run({ core: 'esp32', address: '127.0.211.4' }, { port: 3232, data: SKETCH });
    assert.match(
      refusal(r).message,
      /ESP8266 sketch, but the device is an ESP32 \(it answered OK at once to a size-0 invitation/,
    );
  });

  it('an ESP32 app to an ESP32 on 3232: not asked (exactly one invitation), updated', async () => {
    const r = await run({ core: 'esp32', address: '127.0.211.5' }, { port: 3232, data: APP });
    assert.equal((r.outcome as { ok?: boolean }).ok, true, String(r.outcome));
    assert.deepEqual(r.invitations, [APP.length], 'one invitation, the upload’s own');
    assert.equal(r.dev.counters.invitations, 1);
  });

  it('the image family’s default port is not asked about, even when setPort() moved the other core there', async () => {
    const r = await run({ core: 'esp32', address: '127.0.211.6', port: 8266 }, { port: 8266, data: SKETCH });
    assert.ok(!r.invitations.includes(0), `no probe: ${r.invitations}`);
  });

  it('force, or preflight: false, sends without asking', async () => {
    const forced = await run(
      { core: 'esp8266', address: '127.0.211.7' },
      { port: 8266, data: APP, context: { force: true } },
    );
    assert.ok(!isUploadError(forced.outcome, 'PREFLIGHT_WRONG_CHIP'), String(forced.outcome));
    assert.ok(!forced.invitations.includes(0), `no probe: ${forced.invitations}`);
    assert.equal(forced.dev.counters.updatesStarted, 1, 'with force the update starts');
    const unchecked = await run(
      { core: 'esp8266', address: '127.0.211.8' },
      { port: 8266, data: APP, preflight: false },
    );
    assert.ok(!isUploadError(unchecked.outcome, 'PREFLIGHT_WRONG_CHIP'), String(unchecked.outcome));
    assert.ok(!unchecked.invitations.includes(0));
    assert.equal(unchecked.dev.counters.updatesStarted, 1);
  });

  it('a password ESP32 (SHA-256 nonce) on 8266 with an ESP8266 sketch: refused on its nonce', async () => {
    const r = await run(
      { core: 'esp32', address: '127.0.211.9', port: 8266, password: 'pw' },
      { port: 8266, data: SKETCH, password: 'pw' },
    );
    const e = r.outcome;
    assert.ok(isUploadError(e, 'PREFLIGHT_WRONG_CHIP'), String(e));
    assert.equal(exitCodeFor(e), 3);
    assert.match(e.message, /64-hex/);
    assert.equal(r.dev.counters.updatesStarted, 0);
    assert.equal(r.dev.counters.authFailures, 0, 'no password was sent');
    assert.equal(r.state, 'idle');
  });

  it('a password ESP32 (SHA-256 nonce) on 3232 with an ESP8266 sketch: the probe’s nonce refuses it', async () => {
    const r = await run(
      { core: 'esp32', address: '127.0.211.10', password: 'pw' },
      { port: 3232, data: SKETCH, password: 'pw' },
    );
    assert.match(refusal(r).message, /ESP32 \(it asked for its password with a 64-hex PBKDF2 nonce/);
  });

  it('a password ESP32 ≤ 3.3.0 (MD5 nonce): could not tell, nothing refused before sending', async () => {
    const r = await run(
      { core: 'esp32-legacy', address: '127.0.211.11', password: 'pw' },
      { port: 3232, data: SKETCH, password: 'pw' },
    );
    assert.ok(!isUploadError(r.outcome, 'PREFLIGHT_WRONG_CHIP'), String(r.outcome));
    assert.ok(
      r.hints.some((h) => /could not tell/.test(h) && /32 hex/.test(h)),
      r.hints.join('\n'),
    );
    assert.ok(r.invitations.includes(0), 'it was asked');
    assert.ok(r.invitations.includes(SKETCH.length), 'then invited');
  });
});

describe('a fleet with one device of the other family', () => {
  it('its probe refuses the wrong-family device before any byte; the others are updated', async () => {
    const specs: DeviceOptions[] = [
      { core: 'esp32', address: '127.0.211.20', timeScale: SCALE },
      { core: 'esp8266', address: '127.0.211.21', timeScale: SCALE },
      { core: 'esp32', address: '127.0.211.22', port: 0, timeScale: SCALE },
    ];
    const devices = await Promise.all(specs.map((s) => startDevice(s)));
    try {
      const summary = await uploadFleet({
        targets: devices.map((d, i) => ({ name: `m${i}`, host: d.address, port: d.port })),
        image: APP,
        timeScale: SCALE,
      });
      assert.deepEqual(summary.devices.ok, ['m0', 'm2']);
      assert.deepEqual(summary.devices.failed, ['m1']);
      const m1 = summary.results[1];
      assert.equal(m1?.code, 'PREFLIGHT_WRONG_CHIP');
      assert.equal(m1?.status, 'failed');
      assert.equal(m1?.bytes, 0);
      assert.equal(m1?.attempts, 0);
      assert.match(
        m1?.message ?? '',
        /the device is an ESP8266 \(it answered "ERR: [^"]+" to a size-0 invitation/,
      );
      const esp8266 = devices[1] as EmulatedDevice;
      assert.equal(esp8266.counters.updatesStarted, 0, 'no update started on the ESP8266');
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(esp8266.state(), 'idle', 'left idle by the probe');
      for (const i of [0, 2]) assert.equal(devices[i]?.counters.updatesCompleted, 1);
    } finally {
      await Promise.all(devices.map((d) => d.close()));
    }
  });
});
