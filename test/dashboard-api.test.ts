import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Dashboard, type JobDevice, startDashboard } from '../src/dashboard/index.ts';
import { type EmulatedDevice, startDevice } from '../src/emulator/index.ts';
import { bootedMd5, firmwareImage } from './helpers/browser.ts';
import { type Reply, http as rawHttp } from './helpers/dashboard-http.ts';

/** Passwords the tests hand to the dashboard; no response or event may ever contain one. */
const SECRETS = ['hunter2-never-shown', 'x-secret-x', 'wrong-one'];
const leaks: string[] = [];
function checkLeak(where: string, text: string): void {
  for (const secret of SECRETS) if (text.includes(secret)) leaks.push(`${where} contains "${secret}"`);
}

/** A raw HTTP request (node:http lets us set Host and Origin as an attacker would); checked for leaks. */
async function http(
  dash: Dashboard,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Uint8Array | string; host?: string } = {},
): Promise<Reply> {
  const reply = await rawHttp(dash, method, path, {
    headers: { ...(options.host === undefined ? {} : { Host: options.host }), ...options.headers },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  checkLeak(`${method} ${path}`, reply.text);
  return reply;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

function postJson(dash: Dashboard, path: string, body: unknown, headers: Record<string, string> = {}) {
  return http(dash, 'POST', path, { headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) });
}

function postImage(
  dash: Dashboard,
  bytes: Uint8Array,
  name = 'firmware.bin',
  headers: Record<string, string> = {},
) {
  return http(dash, 'POST', '/api/v1/images', {
    headers: {
      'Content-Type': 'application/octet-stream',
      'X-Airflash': '1',
      'X-Filename': name,
      ...headers,
    },
    body: bytes,
  });
}

async function waitForUpdate(dash: Dashboard, id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i += 1) {
    const reply = await http(dash, 'GET', `/api/v1/updates/${id}`);
    const update = reply.json()['update'] as Record<string, unknown>;
    if (update['state'] !== 'running') return update;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('update did not finish');
}

describe('dashboard API', () => {
  let dash: Dashboard;
  let stateDir: string;
  const PASSWORD = 'hunter2-never-shown';
  // Real emulated devices on loopback; a slow link (100 kB/s) so progress comes in steps.
  const devices: Record<string, EmulatedDevice> = {};

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'airflash-dash-'));
    const common = { port: 0, bandwidth: 100_000 } as const;
    devices['kitchen'] = await startDevice({
      ...common,
      core: 'esp32',
      address: '127.0.0.65',
      password: PASSWORD,
    });
    devices['offline-one'] = await startDevice({
      ...common,
      core: 'esp32',
      address: '127.0.0.66',
      faults: ['offline'],
      faultEvery: true,
    });
    devices['locked'] = await startDevice({
      ...common,
      core: 'esp32',
      address: '127.0.0.67',
      password: 'right',
    });
    devices['porch'] = await startDevice({ ...common, core: 'esp32-legacy', address: '127.0.0.68' });
    dash = await startDashboard({ port: 0, stateDir, maxImageBytes: 256 * 1024, inviteTimeoutMs: 1500 });
  });

  after(async () => {
    await dash.close();
    for (const device of Object.values(devices)) await device.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  test('the index lists the endpoints; the page and its files are served with a strict CSP', async () => {
    const index = await http(dash, 'GET', '/api/v1');
    assert.equal(index.status, 200);
    assert.ok((index.json()['endpoints'] as string[]).includes('POST /api/v1/updates'));
    const page = await http(dash, 'GET', '/');
    assert.equal(page.status, 200);
    assert.match(page.text, /<script type="module" src="\/app.js">/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    const js = await http(dash, 'GET', '/app.js');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /text\/javascript/);
    assert.equal((await http(dash, 'GET', '/nope')).status, 404);
    assert.equal((await http(dash, 'GET', '/api/v1/nope')).status, 404);
    assert.equal((await http(dash, 'PUT', '/api/v1/devices', { headers: JSON_HEADERS })).status, 405);
  });

  test('POST /devices adds a manual device; its password is saved 0600 and never returned', async () => {
    const reply = await postJson(dash, '/api/v1/devices', {
      name: 'Kitchen',
      address: '127.0.0.65',
      port: devices['kitchen']?.port,
      core: 'esp32',
      password: PASSWORD,
    });
    assert.equal(reply.status, 201, reply.text);
    const device = reply.json()['device'] as Record<string, unknown>;
    assert.equal(device['id'], 'kitchen');
    assert.equal(device['hasPassword'], true);
    assert.deepEqual(device['sources'], ['manual']);
    assert.ok(!reply.text.includes(PASSWORD));
    const list = await http(dash, 'GET', '/api/v1/devices');
    assert.ok(!list.text.includes(PASSWORD));
    const mode = (await stat(join(stateDir, 'passwords.json'))).mode & 0o777;
    assert.equal(mode, 0o600);
    assert.ok((await readFile(join(stateDir, 'passwords.json'), 'utf8')).includes(PASSWORD));
    // Bad input is refused with a reason.
    const bad = await postJson(dash, '/api/v1/devices', { address: 'not a host!' });
    assert.equal(bad.status, 400);
    assert.match(String((bad.json()['error'] as Record<string, unknown>)['message']), /address/);
    const badPort = await postJson(dash, '/api/v1/devices', { address: '127.0.0.9', port: 70000 });
    assert.equal(badPort.status, 400);
    // More devices for the updates below.
    for (const name of ['offline-one', 'locked', 'porch']) {
      const d = devices[name] as EmulatedDevice;
      const added = await postJson(dash, '/api/v1/devices', {
        name,
        address: d.address,
        port: d.port,
        core: d.core,
      });
      assert.equal(added.status, 201);
    }
  });

  test('POST /devices/:id/password sets and forgets a password without echoing it', async () => {
    const set = await postJson(dash, '/api/v1/devices/porch/password', { password: 'x-secret-x' });
    assert.equal(set.status, 200);
    assert.equal((set.json()['device'] as Record<string, unknown>)['hasPassword'], true);
    assert.ok(!set.text.includes('x-secret-x'));
    const clear = await postJson(dash, '/api/v1/devices/porch/password', { password: null });
    assert.equal((clear.json()['device'] as Record<string, unknown>)['hasPassword'], false);
    assert.equal((await postJson(dash, '/api/v1/devices/ghost/password', { password: 'a' })).status, 404);
  });

  let imageId = '';
  const image = firmwareImage(128 * 1024, 7);

  test('POST /images inspects firmware and refuses what is not firmware', async () => {
    const ok = await postImage(dash, image, 'my%20app.bin');
    assert.equal(ok.status, 201, ok.text);
    const body = ok.json()['image'] as Record<string, unknown>;
    imageId = String(body['id']);
    assert.equal(body['name'], 'my app.bin');
    const inspection = body['inspection'] as Record<string, unknown>;
    assert.equal(inspection['size'], image.length);
    assert.match(String(inspection['md5']), /^[0-9a-f]{32}$/);
    // Not a firmware file: a text file, or the wrong content type.
    const text = await postImage(dash, new TextEncoder().encode('<html>hello</html>'), 'page.html');
    assert.equal(text.status, 415);
    assert.equal((text.json()['error'] as Record<string, unknown>)['code'], 'NOT_FIRMWARE');
    const wrongType = await postImage(dash, image, 'x.bin', { 'Content-Type': 'text/plain' });
    assert.equal(wrongType.status, 415);
    // Looks like firmware but is cut short: 422.
    const cut = await postImage(dash, image.subarray(0, 20), 'cut.bin');
    assert.equal(cut.status, 422);
    assert.equal((await postImage(dash, new Uint8Array(0), 'empty.bin')).status, 422);
  });

  test('POST /images caps the size (413), by Content-Length and while streaming', async () => {
    const big = new Uint8Array(300 * 1024);
    big[0] = 0xe9;
    const declared = await postImage(dash, big);
    assert.equal(declared.status, 413);
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: dash.host,
          port: dash.port,
          method: 'POST',
          path: '/api/v1/images',
          headers: {
            Host: `${dash.host}:${dash.port}`,
            'Content-Type': 'application/octet-stream',
            'X-Airflash': '1',
            'Transfer-Encoding': 'chunked',
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 5; i += 1) req.write(big.subarray(i * 60 * 1024, (i + 1) * 60 * 1024));
      req.end();
    });
    assert.equal(streamed, 413);
  });

  test('GET /images lists them; GET /images/:id gives the inspection and the fit per device', async () => {
    const list = await http(dash, 'GET', '/api/v1/images');
    assert.equal((list.json()['images'] as unknown[]).length, 1);
    const one = await http(dash, 'GET', `/api/v1/images/${imageId}?devices=kitchen,ghost`);
    assert.equal(one.status, 200);
    const fit = one.json()['fit'] as Array<Record<string, unknown>>;
    assert.equal(fit.length, 2);
    assert.equal(fit[0]?.['device'], 'kitchen');
    assert.ok(['ok', 'warn', 'refuse'].includes(String(fit[0]?.['verdict'])));
    assert.equal(fit[1]?.['verdict'], 'refuse');
    assert.equal((await http(dash, 'GET', '/api/v1/images/nope')).status, 404);
  });

  let failedUpdate = '';

  test('POST /updates runs devices in parallel, streams progress over SSE, records history', async () => {
    const seen: Array<{ event: string; data: Record<string, unknown> }> = [];
    const sse = await openEvents(dash, seen);
    try {
      const reply = await postJson(dash, '/api/v1/updates', {
        imageId,
        devices: ['kitchen', 'offline-one', 'locked', 'porch'],
        parallel: 2,
      });
      assert.equal(reply.status, 202, reply.text);
      const id = String((reply.json()['update'] as Record<string, unknown>)['id']);
      failedUpdate = id;
      // A device in a running update cannot be in another one.
      const busy = await postJson(dash, '/api/v1/updates', { imageId, devices: ['kitchen'] });
      assert.equal(busy.status, 409);
      const update = await waitForUpdate(dash, id);
      const results = update['devices'] as JobDevice[];
      const byId = new Map(results.map((d) => [d.id, d]));
      assert.equal(byId.get('kitchen')?.state, 'ok');
      assert.equal(byId.get('porch')?.state, 'ok');
      // The offline one did not answer the probe: skipped, reported as offline, not retried.
      assert.equal(byId.get('offline-one')?.state, 'skipped');
      assert.equal(byId.get('offline-one')?.error?.code, 'DEVICE_OFFLINE');
      assert.equal(byId.get('offline-one')?.error?.offline, true);
      // No password saved for the locked one: it asked for one.
      assert.equal(byId.get('locked')?.state, 'failed');
      assert.equal(byId.get('locked')?.error?.code, 'AUTH_REQUIRED');
      assert.ok(byId.get('locked')?.error?.hint);
      // The diagnosis module's ranked causes come with it.
      const diagnosis = byId.get('locked')?.error?.diagnosis;
      assert.ok(diagnosis && diagnosis.causes.length > 0, JSON.stringify(byId.get('locked')?.error));
      assert.match(diagnosis.causes[0]?.id ?? '', /AUTH|PASSWORD/);
      assert.deepEqual(update['summary'], { ok: 2, failed: 1, skipped: 1 });
      // What the devices themselves saw: the saved password was used, both booted the image.
      const md5 = createHash('md5').update(image).digest('hex');
      assert.equal(await bootedMd5(devices['kitchen'] as EmulatedDevice, md5), md5);
      assert.equal(await bootedMd5(devices['porch'] as EmulatedDevice, md5), md5);
      assert.equal(devices['kitchen']?.counters.authFailures, 0);
      assert.ok((devices['kitchen']?.counters.authAttempts ?? 0) >= 1);
      assert.equal(devices['offline-one']?.counters.updatesStarted, 0);
      assert.equal(devices['locked']?.counters.updatesStarted, 0);
      // Live events: several progress values for one device, then its result.
      await new Promise((r) => setTimeout(r, 50));
      const progress = seen
        .filter((e) => e.event === 'device-progress' && e.data['id'] === 'kitchen')
        .map((e) => e.data['bytes']);
      assert.ok(new Set(progress).size >= 3, `progress values: ${progress.join(',')}`);
      assert.ok(seen.some((e) => e.event === 'device-result' && e.data['id'] === 'offline-one'));
      assert.ok(
        seen.some(
          (e) => e.event === 'device' && e.data['id'] === 'offline-one' && e.data['online'] === false,
        ),
      );
      // The device list now shows the firmware airflash put there.
      const kitchen = (await http(dash, 'GET', '/api/v1/devices')).json()['devices'] as Array<
        Record<string, unknown>
      >;
      const fw = kitchen.find((d) => d['id'] === 'kitchen')?.['lastFirmware'] as Record<string, unknown>;
      assert.equal(fw['name'], 'my app.bin');
      assert.equal(fw['size'], image.length);
    } finally {
      sse.destroy();
    }
    const list = await http(dash, 'GET', '/api/v1/updates');
    assert.equal((list.json()['updates'] as unknown[]).length, 1);
  });

  test('POST /updates/:id/retry updates only the failed devices, with a password given now', async () => {
    const reply = await postJson(dash, `/api/v1/updates/${failedUpdate}/retry`, {
      passwords: { locked: 'right' },
      remember: false,
    });
    assert.equal(reply.status, 202, reply.text);
    const retry = reply.json()['update'] as Record<string, unknown>;
    assert.equal(retry['retryOf'], failedUpdate);
    assert.deepEqual(
      (retry['devices'] as JobDevice[]).map((d) => d.id),
      ['offline-one', 'locked'],
    );
    const done = await waitForUpdate(dash, String(retry['id']));
    assert.deepEqual(done['summary'], { ok: 1, failed: 0, skipped: 1 });
    const md5 = createHash('md5').update(image).digest('hex');
    assert.equal(await bootedMd5(devices['locked'] as EmulatedDevice, md5), md5);
    assert.equal(devices['locked']?.counters.updatesCompleted, 1);
    // remember: false → not saved.
    const locked = (await http(dash, 'GET', '/api/v1/devices')).json()['devices'] as Array<
      Record<string, unknown>
    >;
    assert.equal(locked.find((d) => d['id'] === 'locked')?.['hasPassword'], false);
    assert.equal((await postJson(dash, '/api/v1/updates/nope/retry', {})).status, 404);
  });

  test('canary: when a canary fails, the rest is not sent', async () => {
    await postJson(dash, '/api/v1/devices/locked/password', { password: 'wrong-one' });
    const before = {
      kitchen: devices['kitchen']?.counters.invitations,
      porch: devices['porch']?.counters.invitations,
    };
    const reply = await postJson(dash, '/api/v1/updates', {
      imageId,
      devices: ['locked', 'kitchen', 'porch'],
      canary: 1,
    });
    assert.equal(reply.status, 202);
    const done = await waitForUpdate(dash, String((reply.json()['update'] as Record<string, unknown>)['id']));
    assert.equal(done['state'], 'stopped');
    assert.match(String(done['stopReason']), /canary locked/);
    const results = done['devices'] as JobDevice[];
    assert.deepEqual(
      results.map((d) => [d.id, d.state, d.error?.code, d.canary]),
      [
        ['locked', 'failed', 'AUTH_FAILED', true],
        ['kitchen', 'skipped', 'ROLLOUT_STOPPED', false],
        ['porch', 'skipped', 'ROLLOUT_STOPPED', false],
      ],
    );
    // The others were not even invited.
    assert.equal(devices['kitchen']?.counters.invitations, before.kitchen);
    assert.equal(devices['porch']?.counters.invitations, before.porch);
  });

  test('canary: a canary that is updated and comes back lets the rollout go on', async () => {
    const reply = await postJson(dash, '/api/v1/updates', {
      imageId,
      devices: ['porch', 'kitchen'],
      canary: 1,
    });
    assert.equal(reply.status, 202);
    const done = await waitForUpdate(dash, String((reply.json()['update'] as Record<string, unknown>)['id']));
    assert.equal(done['state'], 'done');
    assert.deepEqual(
      (done['devices'] as JobDevice[]).map((d) => [d.id, d.state, d.canary]),
      [
        ['porch', 'ok', true],
        ['kitchen', 'ok', false],
      ],
    );
  });

  test('POST /updates validates its input', async () => {
    assert.equal((await postJson(dash, '/api/v1/updates', { devices: ['kitchen'] })).status, 400);
    assert.equal(
      (await postJson(dash, '/api/v1/updates', { imageId: 'nope', devices: ['kitchen'] })).status,
      404,
    );
    assert.equal((await postJson(dash, '/api/v1/updates', { imageId, devices: [] })).status, 400);
    assert.equal((await postJson(dash, '/api/v1/updates', { imageId, devices: ['ghost'] })).status, 404);
    assert.equal(
      (await postJson(dash, '/api/v1/updates', { imageId, devices: ['kitchen'], parallel: 0 })).status,
      400,
    );
    assert.equal((await http(dash, 'GET', '/api/v1/updates/nope')).status, 404);
  });

  test('GET /history folds the log; export is a JSON download; no password anywhere', async () => {
    const history = await http(dash, 'GET', '/api/v1/history');
    const updates = history.json()['updates'] as Array<Record<string, unknown>>;
    assert.equal(updates.length, 4);
    assert.equal(updates[3]?.['id'], failedUpdate);
    assert.deepEqual(updates[3]?.['summary'], { ok: 2, failed: 1, skipped: 1 });
    assert.equal(typeof updates[3]?.['durationMs'], 'number');
    const exported = await http(dash, 'GET', '/api/v1/history/export');
    assert.match(String(exported.headers['content-disposition']), /attachment; filename="airflash-history-/);
    assert.equal((exported.json()['updates'] as unknown[]).length, 4);
    const log = await readFile(join(stateDir, 'history.jsonl'), 'utf8');
    assert.ok(
      log
        .split('\n')
        .filter(Boolean)
        .every((line) => JSON.parse(line)),
    );
    for (const text of [log, history.text, exported.text]) {
      assert.ok(!text.includes(PASSWORD));
      assert.ok(!text.includes('right'));
    }
  });

  test('the state survives a restart: manual devices, passwords, history, last firmware', async () => {
    const again = await startDashboard({ port: 0, stateDir });
    try {
      const devices = (await http(again, 'GET', '/api/v1/devices')).json()['devices'] as Array<
        Record<string, unknown>
      >;
      const kitchen = devices.find((d) => d['id'] === 'kitchen');
      assert.equal(kitchen?.['hasPassword'], true);
      const fw = kitchen?.['lastFirmware'] as Record<string, unknown> | undefined;
      assert.equal(fw?.['md5'], await md5(image));
      assert.equal(((await http(again, 'GET', '/api/v1/history')).json()['updates'] as unknown[]).length, 4);
    } finally {
      await again.close();
    }
  });

  test('POST /probe asks devices whether they answer and records it', async () => {
    const started = Object.values(devices).map((d) => d.counters.updatesStarted);
    const reply = await postJson(dash, '/api/v1/probe', {
      devices: ['offline-one', 'locked', 'porch'],
      timeoutMs: 1000,
    });
    assert.equal(reply.status, 200, reply.text);
    const results = reply.json()['results'] as Array<Record<string, unknown>>;
    assert.deepEqual(
      results.map((r) => [r['device'], r['online'], r['authRequired']]),
      [
        ['offline-one', false, undefined],
        ['locked', true, true],
        ['porch', true, false],
      ],
    );
    // Probing starts no update.
    assert.deepEqual(
      Object.values(devices).map((d) => d.counters.updatesStarted),
      started,
    );
    const list = (await http(dash, 'GET', '/api/v1/devices')).json()['devices'] as Array<
      Record<string, unknown>
    >;
    const byId = new Map(list.map((d) => [d['id'], d]));
    assert.equal(byId.get('offline-one')?.['online'], false);
    assert.equal(byId.get('locked')?.['online'], true);
    const auth = byId.get('locked')?.['auth'] as Record<string, unknown> | undefined;
    assert.equal(auth?.['required'], true);
    assert.equal((await postJson(dash, '/api/v1/probe', { devices: ['ghost'] })).status, 404);
    assert.equal((await postJson(dash, '/api/v1/probe', { devices: 'kitchen' })).status, 400);
  });

  test('DELETE /devices/:id removes a manual device', async () => {
    const del = await http(dash, 'DELETE', '/api/v1/devices/porch', { headers: { 'X-Airflash': '1' } });
    assert.equal(del.status, 200);
    assert.equal(
      (await http(dash, 'DELETE', '/api/v1/devices/porch', { headers: { 'X-Airflash': '1' } })).status,
      404,
    );
  });
});

async function md5(bytes: Uint8Array): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('md5').update(bytes).digest('hex');
}

/** Subscribe to /api/v1/events and collect parsed events. */
function openEvents(
  dash: Dashboard,
  seen: Array<{ event: string; data: Record<string, unknown> }>,
): Promise<import('node:http').ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: dash.host,
        port: dash.port,
        path: '/api/v1/events',
        headers: { Host: `${dash.host}:${dash.port}` },
      },
      (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /text\/event-stream/);
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          checkLeak('GET /api/v1/events', chunk);
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(frame)?.[1];
            const data = /^data: (.*)$/m.exec(frame)?.[1];
            if (event !== undefined && data !== undefined) seen.push({ event, data: JSON.parse(data) });
            end = buffer.indexOf('\n\n');
          }
        });
        resolve(req);
      },
    );
    req.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(error);
    });
    req.end();
  });
}

test('no response and no event of this file contained a password', () => {
  assert.deepEqual(leaks, []);
});
