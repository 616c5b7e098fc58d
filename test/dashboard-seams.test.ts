/**
 * The dashboard's typed seams: its HTTP statuses come from the one code table (src/core/errors.ts),
 * a device of any protocol is listed with its `protocol` tag, and a fleet result's diagnosis is
 * taken only when this update's diagnosis made it (never an object that merely looks like one).
 * The page shows the protocol of a device that is not ArduinoOTA (Chromium; skipped, saying why,
 * when /usr/bin/chromium is missing).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ERROR_CODES, httpStatusForCode } from '../src/core/errors.ts';
import { type Dashboard, type DeviceView, startDashboard } from '../src/dashboard/index.ts';
import { resultError } from '../src/dashboard/job-errors.ts';
import type { DeviceResult } from '../src/fleet/types.ts';
import { browserSkipReason, deviceRow, launchChromium, waitFor } from './helpers/browser.ts';
import { http, postJson } from './helpers/dashboard-http.ts';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-dash-seams-'));
  dirs.push(dir);
  return join(dir, 'state');
}

async function list(dash: Dashboard): Promise<DeviceView[]> {
  return (await http(dash, 'GET', '/api/v1/devices')).json()['devices'] as DeviceView[];
}

test('every HTTP status of the API comes from the one code table', () => {
  const expected: Record<string, number> = {
    BAD_ARGUMENT: 400,
    BAD_JSON: 400,
    BAD_PATH: 400,
    TOKEN_REQUIRED: 401,
    BAD_TOKEN: 401,
    CROSS_ORIGIN: 403,
    CSRF: 403,
    NOT_FOUND: 404,
    METHOD_NOT_ALLOWED: 405,
    DEVICE_BUSY: 409,
    IMAGE_IN_USE: 409,
    TOO_LARGE: 413,
    UNSUPPORTED_MEDIA_TYPE: 415,
    NOT_FIRMWARE: 415,
    BAD_HOST: 421,
    IMAGE_EMPTY: 422,
    IMAGE_INVALID: 422,
    PREFLIGHT_TOO_BIG: 422,
    TOO_MANY_CONNECTIONS: 503,
    INTERNAL: 500,
    NO_INVITATION_REPLY: 500,
  };
  for (const [code, status] of Object.entries(expected)) {
    assert.ok((ERROR_CODES as readonly string[]).includes(code), code);
    assert.equal(httpStatusForCode(code as (typeof ERROR_CODES)[number]), status, code);
  }
});

test('a device of another protocol is listed with its protocol tag, kept across a restart', async (t) => {
  const dir = await stateDir();
  let dash = await startDashboard({ port: 0, host: '127.0.0.1', stateDir: dir });
  t.after(() => dash.close());
  const plain = await postJson(dash, '/api/v1/devices', { name: 'porch', address: '127.0.0.61', port: 3232 });
  assert.equal(plain.status, 201, plain.text);
  const other = await postJson(dash, '/api/v1/devices', {
    name: 'shed',
    address: '127.0.0.62',
    port: 6053,
    protocol: 'loopback-test',
  });
  assert.equal(other.status, 201, other.text);
  const bad = await postJson(dash, '/api/v1/devices', { address: '127.0.0.63', protocol: 'Not A Protocol' });
  assert.equal(bad.status, 400);
  assert.equal((bad.json()['error'] as { code: string }).code, 'BAD_ARGUMENT');
  // The registry takes one from any source, too (a protocol's own discovery).
  dash.registry.upsert('demo', { name: 'lab', address: '127.0.0.64', port: 8080, protocol: 'loopback-test' });

  const byName = (devices: DeviceView[]) => new Map(devices.map((d) => [d.name, d.protocol]));
  assert.deepEqual(
    byName(await list(dash)),
    new Map([
      ['lab', 'loopback-test'],
      ['porch', 'arduino-ota'],
      ['shed', 'loopback-test'],
    ]),
  );
  await dash.close();
  dash = await startDashboard({ port: 0, host: '127.0.0.1', stateDir: dir });
  assert.equal(byName(await list(dash)).get('shed'), 'loopback-test');
});

test("a fleet result's error view is the fleet's own diagnosis (typed), else the result's code", () => {
  const result: DeviceResult = {
    ok: false,
    status: 'failed',
    code: 'AUTH_FAILED',
    message: 'The device refused the password.',
    hint: 'Check the password.',
    diagnosis: null,
    seconds: 1,
    bytes: 0,
    attempts: 1,
    host: '127.0.0.65',
    port: 3232,
    canary: false,
    warnings: [],
  };
  const cause = { code: 'AUTH_FAILED', title: 'Wrong password', likelihood: 'high', evidence: [], next: [] };
  const diagnosis = { summary: 'Wrong password.', causes: [cause] } as unknown as NonNullable<
    DeviceResult['diagnosis']
  >;
  assert.deepEqual(resultError({ ...result, diagnosis }), {
    code: 'AUTH_FAILED',
    message: 'The device refused the password.',
    hint: 'Check the password.',
    offline: false,
    diagnosis: { summary: 'Wrong password.', causes: [cause] },
  });
  // Without a diagnosis only the result's own words are taken.
  assert.deepEqual(resultError(result), {
    code: 'AUTH_FAILED',
    message: 'The device refused the password.',
    offline: false,
    diagnosis: null,
  });
  const offline = resultError({ ...result, status: 'skipped', code: 'DEVICE_OFFLINE' });
  assert.equal(offline.offline, true);
  assert.match(offline.hint ?? '', /did not answer/);
});

test('the page shows the protocol of a device that is not ArduinoOTA', {
  skip: browserSkipReason(),
}, async (t) => {
  const dash = await startDashboard({ port: 0, host: '127.0.0.1', stateDir: await stateDir() });
  t.after(() => dash.close());
  dash.registry.upsert('manual', { name: 'porch', address: '127.0.0.66', port: 3232 });
  dash.registry.upsert('manual', {
    name: 'shed',
    address: '127.0.0.67',
    port: 6053,
    protocol: 'loopback-test',
  });
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(dash.url);
  await waitFor("document.querySelectorAll('#devices tbody tr').length === 2", 10_000, page);
  assert.equal(await page.textContent(`${deviceRow('shed')} .protocol`), 'loopback-test');
  assert.equal(await page.$(`${deviceRow('porch')} .protocol`), null);
});
