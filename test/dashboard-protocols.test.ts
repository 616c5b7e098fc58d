/**
 * The test-only protocol (test/test-protocol, registered with one `registerProtocol` line) through
 * the dashboard: listed with its protocol, probed and updated through the protocol the registry
 * picks for it (`loopback-test://host:port`), next to an ArduinoOTA device probed as before.
 * Nothing in src/ names it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  buildEsp32App,
  type EmulatedDevice,
  registerProtocol,
  startDashboard,
  startDevice,
} from '../src/index.ts';
import { http, postImage, postJson, waitForUpdate } from './helpers/dashboard-http.ts';
import { startLoopbackDevice } from './test-protocol/device.ts';
import { loopbackTest } from './test-protocol/index.ts';

registerProtocol(loopbackTest);

const IMAGE = buildEsp32App({ size: 40_000, seed: 15 });
const MD5 = createHash('md5').update(IMAGE).digest('hex');

let dir = '';
let shed: Awaited<ReturnType<typeof startLoopbackDevice>>;
let porch: EmulatedDevice;
let dash: Awaited<ReturnType<typeof startDashboard>>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airflash-dash-protocols-'));
  shed = await startLoopbackDevice('127.0.172.1');
  porch = await startDevice({ core: 'esp32', address: '127.0.172.2', port: 0, timeScale: 0.05 });
  dash = await startDashboard({ port: 0, host: '127.0.0.1', stateDir: join(dir, 'state') });
  for (const body of [
    { name: 'shed', address: '127.0.172.1', port: shed.port, protocol: 'loopback-test' },
    { name: 'porch', address: '127.0.172.2', port: porch.port },
  ]) {
    const r = await postJson(dash, '/api/v1/devices', body);
    assert.equal(r.status, 201, r.text);
  }
});
after(async () => {
  await dash?.close();
  await shed?.close();
  await porch?.close();
  await rm(dir, { recursive: true, force: true });
});

test('the probe asks each device in its own protocol', async () => {
  const invitationsBefore = porch.counters.invitations;
  const reply = await postJson(dash, '/api/v1/probe', { devices: ['shed', 'porch'], timeoutMs: 2000 });
  assert.equal(reply.status, 200, reply.text);
  const results = reply.json()['results'] as Array<Record<string, unknown>>;
  assert.deepEqual(
    results.map((r) => [r['device'], r['online']]),
    [
      ['shed', true],
      ['porch', true],
    ],
  );
  // The ArduinoOTA device got invitations; the loopback device got none of them (it would not
  // understand one) and no image.
  assert.ok(porch.counters.invitations > invitationsBefore);
  assert.deepEqual(shed.received, []);
});

test('an update reaches the loopback-test device through its protocol, the ArduinoOTA one through ArduinoOTA', async () => {
  const image = await postImage(dash, IMAGE);
  assert.equal(image.status, 201, image.text);
  const imageId = String((image.json()['image'] as Record<string, unknown>)['id']);
  const reply = await postJson(dash, '/api/v1/updates', { imageId, devices: ['shed', 'porch'] });
  assert.equal(reply.status, 202, reply.text);
  const id = String((reply.json()['update'] as Record<string, unknown>)['id']);
  const update = await waitForUpdate(dash, id);
  const states = (update['devices'] as Array<Record<string, unknown>>).map((d) => [d['id'], d['state']]);
  assert.deepEqual(states, [
    ['shed', 'ok'],
    ['porch', 'ok'],
  ]);
  assert.deepEqual(shed.received, [MD5]);
  assert.equal(porch.counters.updatesCompleted, 1);
  const list = (await http(dash, 'GET', '/api/v1/devices')).json()['devices'] as Array<
    Record<string, unknown>
  >;
  assert.equal(list.find((d) => d['name'] === 'shed')?.['protocol'], 'loopback-test');
});
