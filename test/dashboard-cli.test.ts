import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { runCli } from '../src/cli/main.ts';
import type { CliIO } from '../src/cli/types.ts';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function io(cwd: string, env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const controller = new AbortController();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const value: CliIO = { stdout, stderr, env, isTTY: false, cwd, signal: controller.signal };
  return { io: value, controller, out: () => out, err: () => err };
}

// Polls; the generous limit only matters on a loaded machine (the demo starts 12 devices first).
async function firstLine(get: () => string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!get().includes('\n')) {
    if (Date.now() > deadline) throw new Error('no line on stdout');
    await new Promise((r) => setTimeout(r, 20));
  }
  return get().split('\n')[0] as string;
}

test('airflash dashboard: the first stdout line is the URL; devices file loaded; Ctrl-C stops it with 0', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-dash-cli-'));
  dirs.push(dir);
  await writeFile(
    join(dir, 'airflash.devices.json'),
    JSON.stringify([
      { name: 'shed', address: '127.0.0.77', core: 'esp8266', passwordEnv: 'AIRFLASH_SHED_PW' },
    ]),
  );
  const t = io(dir, { AIRFLASH_SHED_PW: 'from-env' });
  const run = runCli(['dashboard', '--port', '0', '--state', join(dir, 'state'), '--no-mdns'], t.io);
  const url = await firstLine(t.out);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const devices = (await (await fetch(`${url}api/v1/devices`)).json()) as {
    devices: Array<Record<string, unknown>>;
  };
  assert.equal(devices.devices.length, 1);
  const shed = devices.devices[0] as Record<string, unknown>;
  assert.equal(shed['id'], 'shed');
  assert.equal(shed['port'], 8266);
  assert.deepEqual(shed['sources'], ['file']);
  // The password comes from the environment variable; the API only says there is one.
  assert.equal(shed['hasPassword'], true);
  assert.equal(shed['passwordEnv'], 'AIRFLASH_SHED_PW');
  assert.ok(!JSON.stringify(devices).includes('from-env'));
  assert.match(t.err(), /1 device\(s\) from the devices file/);
  t.controller.abort();
  assert.equal(await run, 0);
  await assert.rejects(fetch(`${url}api/v1/devices`));
});

test('airflash dashboard --host 127.0.0.2 without a token is a usage error; --token auto prints it once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-dash-cli-'));
  dirs.push(dir);
  const bad = io(dir);
  assert.equal(
    await runCli(['dashboard', '--host', '127.0.0.2', '--port', '0', '--state', dir, '--no-mdns'], bad.io),
    2,
  );
  assert.match(bad.err(), /needs a token/);
  assert.match(bad.err(), /--token/);

  const ok = io(dir);
  const run = runCli(
    ['dashboard', '--host', '127.0.0.2', '--port', '0', '--token', 'auto', '--state', dir, '--no-mdns'],
    ok.io,
  );
  const url = await firstLine(ok.out);
  const m = /^http:\/\/127\.0\.0\.2:(\d+)\/\?token=([\w-]{20,})$/.exec(url);
  assert.ok(m, url);
  assert.equal((await fetch(`http://127.0.0.2:${m[1]}/api/v1/devices`)).status, 401);
  const withToken = await fetch(`http://127.0.0.2:${m[1]}/api/v1/devices`, {
    headers: { Authorization: `Bearer ${m[2]}` },
  });
  assert.equal(withToken.status, 200);
  ok.controller.abort();
  assert.equal(await run, 0);
});

test('airflash dashboard rejects bad options with exit 2', async () => {
  const t = io(tmpdir());
  assert.equal(await runCli(['dashboard', '--port', 'abc'], t.io), 2);
  assert.equal(await runCli(['dashboard', '--bogus'], t.io), 2);
  assert.equal(await runCli(['dashboard', '--parallel', '0'], t.io), 2);
  const help = io(tmpdir());
  assert.equal(await runCli(['dashboard', '--help'], help.io), 0);
  assert.match(help.out(), /--demo/);
});

test('airflash dashboard --demo lists a dozen emulated devices and cleans up at exit', async () => {
  const t = io(tmpdir());
  const run = runCli(['dashboard', '--demo', '--port', '0', '--no-mdns'], t.io);
  const url = await firstLine(t.out);
  // The twelve are listed before the URL is printed; the eleven mDNS announcements arrive after
  // it and, on 2 loaded cores, took longer than 5 s. Polling ends as soon as they are in.
  const deadline = Date.now() + 30_000;
  let devices: Array<Record<string, unknown>> = [];
  let listedAtOnce: number | undefined;
  while (Date.now() < deadline) {
    devices = ((await (await fetch(`${url}api/v1/devices`)).json()) as { devices: typeof devices }).devices;
    listedAtOnce ??= devices.length;
    if (devices.filter((d) => d['online'] === true).length === 11) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(listedAtOnce, 12, 'all twelve listed by the time the URL is printed');
  assert.equal(devices.length, 12);
  assert.ok(devices.every((d) => /^127\.0\.0\.\d+$/.test(String(d['address']))));
  assert.deepEqual(new Set(devices.map((d) => d['core'])), new Set(['esp32', 'esp32-legacy', 'esp8266']));
  // Eleven announce themselves (demo mDNS link); the offline one does not.
  assert.equal(devices.filter((d) => d['online'] === true).length, 11);
  // Probing the real emulated devices: the offline one does not answer, the locked one asks for a password.
  const probe = await fetch(`${url}api/v1/probe`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ devices: ['attic-fan', 'greenhouse', 'garage-door'], timeoutMs: 1500 }),
  });
  const results = ((await probe.json()) as { results: Array<Record<string, unknown>> }).results;
  assert.deepEqual(
    results.map((r) => [r['device'], r['online'], r['authRequired']]),
    [
      ['attic-fan', false, undefined],
      ['greenhouse', true, true],
      ['garage-door', true, false],
    ],
  );
  const state = /state in (\S+)/.exec(t.err())?.[1] as string;
  assert.match(state, /airflash-demo-/);
  t.controller.abort();
  assert.equal(await run, 0);
  const { existsSync } = await import('node:fs');
  assert.equal(existsSync(state), false);
});

test('airflash dashboard prints its URL only once the devices file is loaded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-dash-cli-'));
  dirs.push(dir);
  // A FIFO holds the devices file back until the test writes it: the load is as slow as we like.
  const fifo = join(dir, 'slow.devices.json');
  const { execFileSync } = await import('node:child_process');
  execFileSync('mkfifo', [fifo]);
  const t = io(dir);
  // A fixed port (each test file runs in its own network namespace) so the test can see the
  // server listen before it says anything.
  const port = 18931;
  const run = runCli(
    ['dashboard', '--port', String(port), '--state', join(dir, 'state'), '--no-mdns', '--devices', fifo],
    t.io,
  );
  const { connect } = await import('node:net');
  const listening = (): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  const deadline = Date.now() + 30_000;
  while (!(await listening())) {
    assert.ok(Date.now() < deadline, 'the dashboard never listened');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(t.out(), '', 'the URL came before the devices file was read');
  await writeFile(fifo, JSON.stringify([{ name: 'barn', address: '127.0.0.78' }]));
  const url = await firstLine(t.out);
  // The first request after the URL already sees the file's device.
  const devices = (await (await fetch(`${url}api/v1/devices`)).json()) as { devices: Array<{ id: string }> };
  assert.deepEqual(
    devices.devices.map((d) => d.id),
    ['barn'],
  );
  t.controller.abort();
  assert.equal(await run, 0);
});

test('airflash dashboard --demo is a world of its own: no devices file unless --devices names one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-dash-cli-'));
  dirs.push(dir);
  await writeFile(
    join(dir, 'airflash.devices.json'),
    JSON.stringify([
      { name: 'kitchen-light', address: '127.0.0.20' },
      { name: 'barn', address: '127.0.0.21' },
    ]),
  );
  const list = async (url: string) =>
    ((await (await fetch(`${url}api/v1/devices`)).json()) as { devices: Array<Record<string, unknown>> })
      .devices;
  const isolated = io(dir);
  const run = runCli(['dashboard', '--demo', '--port', '0'], isolated.io);
  const url = await firstLine(isolated.out);
  const devices = await list(url);
  assert.equal(devices.length, 12);
  assert.ok(
    devices.every(
      (d) =>
        JSON.stringify(d['sources']) === '["demo"]' || JSON.stringify(d['sources']) === '["demo","mdns"]',
    ),
  );
  assert.ok(!devices.some((d) => d['address'] === '127.0.0.20' || d['name'] === 'barn'));
  assert.doesNotMatch(isolated.err(), /devices file|browsing mDNS/);
  isolated.controller.abort();
  assert.equal(await run, 0);

  // Asked explicitly, the file comes in; its kitchen-light (another address) is shown beside the
  // demo's, as a conflict, not merged into it.
  const asked = io(dir);
  const run2 = runCli(['dashboard', '--demo', '--port', '0', '--devices', 'airflash.devices.json'], asked.io);
  const url2 = await firstLine(asked.out);
  const all = await list(url2);
  assert.equal(all.length, 14);
  const lights = all.filter((d) => d['name'] === 'kitchen-light');
  assert.deepEqual(lights.map((d) => d['address']).sort(), ['127.0.0.101', '127.0.0.20']);
  for (const light of lights) assert.equal((light['conflicts'] as unknown[]).length, 1);
  asked.controller.abort();
  assert.equal(await run2, 0);
});
