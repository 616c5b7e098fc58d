/**
 * Device identity in the dashboard: a configured device is its address (an mDNS namesake elsewhere
 * is shown beside it, never merged into it), saved passwords are pinned to that address and go
 * with their device, names are not folded into one another. Plus the small API guards (a bad
 * %-escape, the state folder's mode). Real emulated devices and an in-memory mDNS link on loopback.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { browseInto, type Dashboard, type DeviceView, startDashboard } from '../src/dashboard/index.ts';
import { createMdnsBus } from '../src/discovery/index.ts';
import { type EmulatedDevice, startDevice } from '../src/emulator/index.ts';
import { firmwareImage } from './helpers/browser.ts';
import { http, postImage, postJson, waitForUpdate } from './helpers/dashboard-http.ts';

const dirs: string[] = [];
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers.reverse()) await close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function dashboard(): Promise<Dashboard> {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-dash-id-'));
  dirs.push(dir);
  const dash = await startDashboard({ port: 0, stateDir: join(dir, 'state'), inviteTimeoutMs: 1500 });
  closers.push(() => dash.close());
  return dash;
}

async function device(options: Parameters<typeof startDevice>[0]): Promise<EmulatedDevice> {
  const d = await startDevice(options);
  closers.push(() => d.close());
  return d;
}

async function list(dash: Dashboard): Promise<DeviceView[]> {
  return (await http(dash, 'GET', '/api/v1/devices')).json()['devices'] as DeviceView[];
}

async function until<T>(what: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await what();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('an mDNS namesake of a hand-added device is shown beside it, and gets neither its address nor its password', async () => {
  const dash = await dashboard();
  const real = await device({ core: 'esp32', address: '127.0.0.31', port: 0, password: 'kitchen-secret' });
  const bus = createMdnsBus({ port: 5353 });
  // The impostor announces the same name from another address, and wants a password too: it
  // would receive an auth answer derived from the saved password.
  const impostor = await device({
    core: 'esp32',
    address: '127.0.0.105',
    port: 0,
    hostname: 'kitchen',
    password: 'other',
    mdns: { transport: bus.transport('127.0.0.105') },
  });
  const added = await postJson(dash, '/api/v1/devices', {
    name: 'kitchen',
    address: '127.0.0.31',
    port: real.port,
    core: 'esp32',
    password: 'kitchen-secret',
  });
  assert.equal(added.status, 201);
  const controller = new AbortController();
  const transport = bus.transport('127.0.0.1');
  const browsing = browseInto(dash, controller.signal, transport).catch(() => {});
  closers.push(async () => {
    controller.abort();
    await browsing;
    transport.close();
  });
  const both = await until(async () => {
    const devices = (await list(dash)).filter((d) => d.name === 'kitchen');
    return devices.length === 2 ? devices : undefined;
  });
  const mine = both.find((d) => d.id === 'kitchen') as DeviceView;
  const other = both.find((d) => d.id !== 'kitchen') as DeviceView;
  assert.equal(mine.address, '127.0.0.31');
  assert.deepEqual(mine.sources, ['manual']);
  assert.equal(mine.hasPassword, true);
  assert.equal(other.address, '127.0.0.105');
  assert.deepEqual(other.sources, ['mdns']);
  assert.equal(other.hasPassword, false);
  assert.deepEqual(
    mine.conflicts.map((c) => c.address),
    ['127.0.0.105'],
  );
  assert.deepEqual(
    other.conflicts.map((c) => c.address),
    ['127.0.0.31'],
  );

  // Updating "kitchen" goes to the configured address with its password; the impostor hears nothing.
  const image = (await postImage(dash, firmwareImage(48 * 1024, 3))).json()['image'] as { id: string };
  const started = await postJson(dash, '/api/v1/updates', { imageId: image.id, devices: ['kitchen'] });
  assert.equal(started.status, 202);
  const update = await waitForUpdate(dash, (started.json()['update'] as { id: string }).id);
  assert.deepEqual(update['summary'], { ok: 1, failed: 0, skipped: 0 });
  assert.equal(real.counters.updatesCompleted, 1);
  assert.equal(impostor.counters.invitations, 0);

  // Updating the impostor explicitly: it is not handed the saved password (the uploader had none to answer with).
  const second = await postJson(dash, '/api/v1/updates', { imageId: image.id, devices: [other.id] });
  const failed = await waitForUpdate(dash, (second.json()['update'] as { id: string }).id);
  const result = (failed['devices'] as Array<{ error: { code: string } | null }>)[0];
  assert.equal(result?.error?.code, 'AUTH_REQUIRED');
  assert.equal(impostor.counters.authFailures, 0);
});

test('a device known only from mDNS keeps its saved password only at the address it was saved for', async () => {
  const dash = await dashboard();
  dash.registry.upsert('mdns', { name: 'porch', address: '127.0.0.41', port: 3232 }, { online: true });
  const saved = await postJson(dash, '/api/v1/devices/porch/password', { password: 'porch-pw' });
  assert.equal(saved.status, 200);
  assert.equal((saved.json()['device'] as DeviceView).hasPassword, true);
  // The name now announced from another address (a moved lease, or an impostor): no password.
  dash.registry.upsert('mdns', { name: 'porch', address: '127.0.0.42', port: 3232 }, { online: true });
  const moved = (await list(dash)).find((d) => d.id === 'porch') as DeviceView;
  assert.equal(moved.address, '127.0.0.42');
  assert.equal(moved.hasPassword, false);
  // Back where it was saved: the password applies again.
  dash.registry.upsert('mdns', { name: 'porch', address: '127.0.0.41', port: 3232 }, { online: true });
  assert.equal(((await list(dash)).find((d) => d.id === 'porch') as DeviceView).hasPassword, true);
  // On disk, the pin is next to the password.
  const file = JSON.parse(await readFile(dash.store.passwordsFile, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(file['porch'], { password: 'porch-pw', address: '127.0.0.41', port: 3232 });
});

test('deleting a hand-added device forgets its password: a later device of that name does not inherit it', async () => {
  const dash = await dashboard();
  const add = (address: string, password?: string) =>
    postJson(dash, '/api/v1/devices', { name: 'garage', address, ...(password ? { password } : {}) });
  assert.equal((await add('127.0.0.51', 'garage-pw')).status, 201);
  assert.ok(dash.store.hasPassword('garage', { address: '127.0.0.51', port: 3232, configured: true }));
  assert.equal(
    (await http(dash, 'DELETE', '/api/v1/devices/garage', { headers: { 'X-Airflash': '1' } })).status,
    200,
  );
  const again = await add('127.0.0.51');
  assert.equal((again.json()['device'] as DeviceView).hasPassword, false);
  assert.doesNotMatch(await readFile(dash.store.passwordsFile, 'utf8'), /garage-pw/);
});

test('"kitchen one" and "kitchen-one" are two devices', async () => {
  const dash = await dashboard();
  for (const [name, address] of [
    ['kitchen one', '127.0.0.61'],
    ['kitchen-one', '127.0.0.62'],
    ['kitchen_one', '127.0.0.63'],
  ] as const) {
    assert.equal((await postJson(dash, '/api/v1/devices', { name, address })).status, 201);
  }
  const devices = await list(dash);
  assert.deepEqual(
    devices.map((d) => [d.id, d.address]),
    [
      ['kitchen one', '127.0.0.61'],
      ['kitchen_one', '127.0.0.63'],
      ['kitchen-one', '127.0.0.62'],
    ].sort((a, b) => (a[0] as string).localeCompare(b[0] as string, 'en', { numeric: true })),
  );
  // Each reachable by its own id (URI-encoded).
  const one = await postJson(dash, `/api/v1/devices/${encodeURIComponent('kitchen one')}/password`, {
    password: 'only-this-one',
  });
  assert.equal((one.json()['device'] as DeviceView).address, '127.0.0.61');
  assert.equal(((await list(dash)).find((d) => d.id === 'kitchen-one') as DeviceView).hasPassword, false);
});

test('a malformed %-escape in an API path is a 400 with a code, not a 500', async () => {
  const dash = await dashboard();
  for (const path of [
    '/api/v1/devices/%zz',
    '/api/v1/updates/%',
    '/api/v1/images/%E9',
    '/api/v1/devices/%C3%28/password',
  ]) {
    const method = path.endsWith('/password') ? 'POST' : 'GET';
    const reply = await http(dash, method, path, { headers: { 'X-Airflash': '1' } });
    assert.equal(reply.status, 400, path);
    assert.equal((reply.json()['error'] as { code: string }).code, 'BAD_PATH', path);
  }
  // A well-formed escape still works.
  assert.equal((await http(dash, 'GET', '/api/v1/updates/%41')).status, 404);
});

test('an existing state folder is tightened to 0700', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-dash-id-'));
  dirs.push(dir);
  const state = join(dir, 'state');
  await mkdir(state, { mode: 0o755 });
  await chmod(state, 0o755);
  const dash = await startDashboard({ port: 0, stateDir: state });
  closers.push(() => dash.close());
  assert.equal((await stat(state)).mode & 0o777, 0o700);
});

test('a device the image does not fit is failed at once: never queued, never busy, sent nothing', async () => {
  const dash = await dashboard();
  const esp32 = await device({ core: 'esp32', address: '127.0.0.72', port: 0 });
  for (const [name, address, port, core] of [
    ['old-plug', '127.0.0.71', 8266, 'esp8266'],
    ['new-plug', '127.0.0.72', esp32.port, 'esp32'],
  ] as const) {
    assert.equal((await postJson(dash, '/api/v1/devices', { name, address, port, core })).status, 201);
  }
  const image = (await postImage(dash, firmwareImage(32 * 1024, 8))).json()['image'] as { id: string };
  const started = await postJson(dash, '/api/v1/updates', {
    imageId: image.id,
    devices: ['old-plug', 'new-plug'],
  });
  assert.equal(started.status, 202);
  const update = started.json()['update'] as { id: string; devices: Array<Record<string, unknown>> };
  const refused = update.devices.find((d) => d['id'] === 'old-plug') as Record<string, unknown>;
  assert.equal(refused['state'], 'failed');
  assert.equal((refused['error'] as { code: string }).code, 'PREFLIGHT_WRONG_CHIP');
  assert.equal(((await list(dash)).find((d) => d.id === 'old-plug') as DeviceView).busy, null);
  const done = await waitForUpdate(dash, update.id);
  assert.deepEqual(done['summary'], { ok: 1, failed: 1, skipped: 0 });
  assert.equal(esp32.counters.updatesCompleted, 1);
});
