import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type AirflashError, isAirflashError } from '../src/core/errors.ts';
import { devicePassword, loadDevicesFile, parseDevicesFile } from '../src/discovery/index.ts';

function devicesError(pattern: RegExp, index?: number, field?: string): (e: unknown) => boolean {
  return (e: unknown) => {
    if (!isAirflashError(e, 'DEVICES_FILE')) return false;
    const err = e as AirflashError;
    assert.match(err.message, pattern);
    const { index: gotIndex, field: gotField } = err.data;
    if (index !== undefined) assert.equal(gotIndex, index);
    if (field !== undefined) assert.equal(gotField, field);
    assert.ok(err.hint, 'every devices-file error has a hint');
    return true;
  };
}

test('a valid file loads with every field, normalized', () => {
  const text = JSON.stringify([
    {
      name: 'kitchen',
      address: '192.168.1.40',
      port: 3232,
      core: 'esp32',
      chip: 'ESP32-S3',
      partitions: 'min_spiffs',
      passwordEnv: 'AIRFLASH_KITCHEN_PW',
    },
    { name: 'porch', address: 'porch-light.local', core: 'esp8266', partitions: 'tables/porch.csv' },
    { name: 'attic', address: 'fd00::9' },
  ]);
  const { devices, warnings } = parseDevicesFile(text, '/p/airflash.devices.json', '/p');
  assert.deepEqual(warnings, []);
  assert.deepEqual(devices, [
    {
      name: 'kitchen',
      address: '192.168.1.40',
      port: 3232,
      core: 'esp32',
      chip: 'esp32s3',
      partitions: 'min_spiffs',
      passwordEnv: 'AIRFLASH_KITCHEN_PW',
    },
    {
      name: 'porch',
      address: 'porch-light.local',
      core: 'esp8266',
      partitions: join('/p', 'tables/porch.csv'),
    },
    { name: 'attic', address: 'fd00::9' },
  ]);
});

test('a password in the file is refused, naming the entry', () => {
  const text = JSON.stringify([
    { name: 'a', address: '10.0.0.1' },
    { name: 'b', address: '10.0.0.2', password: 'hunter2' },
  ]);
  assert.throws(
    () => parseDevicesFile(text),
    devicesError(/entry 2, "password": never store a password in the file; use passwordEnv/, 1, 'password'),
  );
});

test('each invalid field is an error naming the entry index and the field', () => {
  const cases: Array<[unknown, RegExp, number | undefined, string | undefined]> = [
    [{ devices: [] }, /must be a JSON array/, undefined, undefined],
    [['kitchen'], /entry 1 is not an object/, 0, undefined],
    [[{ address: '10.0.0.1' }], /entry 1, "name" is missing/, 0, 'name'],
    [[{ name: 'x' }], /entry 1, "address" is missing/, 0, 'address'],
    [[{ name: 'x', address: '' }], /entry 1, "address" must be a non-empty string/, 0, 'address'],
    [[{ name: 'x', address: '10.0.0.1:3232' }], /neither an IP address nor a host name/, 0, 'address'],
    [[{ name: 'x', address: '10.0.0.1', port: 70000 }], /entry 1, "port" must be an integer/, 0, 'port'],
    [[{ name: 'x', address: '10.0.0.1', port: '3232' }], /"port" must be an integer/, 0, 'port'],
    [[{ name: 'x', address: '10.0.0.1', core: 'rp2040' }], /"rp2040" is not a core/, 0, 'core'],
    [[{ name: 'x', address: '10.0.0.1', chip: 'esp31' }], /"esp31" is not a known chip/, 0, 'chip'],
    [
      [{ name: 'x', address: '10.0.0.1', passwordEnv: 'MY-PW' }],
      /not an environment variable name/,
      0,
      'passwordEnv',
    ],
    [
      [
        { name: 'x', address: '10.0.0.1' },
        { name: 'y', address: '10.0.0.2' },
        { name: 'X', address: '10.0.0.3' },
      ],
      /entry 3, "name": "X" is already used by entry 1/,
      2,
      'name',
    ],
  ];
  for (const [value, pattern, index, field] of cases) {
    assert.throws(
      () => parseDevicesFile(JSON.stringify(value)),
      devicesError(pattern, index, field),
      String(pattern),
    );
  }
  assert.throws(() => parseDevicesFile('[{"name": "x",]'), devicesError(/not valid JSON/));
});

test('unknown keys are warnings, not errors', () => {
  const { devices, warnings } = parseDevicesFile(
    JSON.stringify([{ name: 'x', address: '10.0.0.1', adress: 'typo', notes: 'hi' }]),
    'f.json',
  );
  assert.equal(devices.length, 1);
  assert.equal(warnings.length, 2);
  assert.match(
    warnings[0] ?? '',
    /f\.json: entry 1 \("x"\): unknown key "adress" ignored\. Did you mean address\?/,
  );
  assert.match(warnings[1] ?? '', /unknown key "notes"/);
});

test('loadDevicesFile: cwd default (absent → []), explicit path (absent → error), warnings callback', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-devices-'));
  try {
    assert.deepEqual(await loadDevicesFile(undefined, dir), []);
    await assert.rejects(loadDevicesFile('missing.json', dir), devicesError(/does not exist/));
    await writeFile(
      join(dir, 'airflash.devices.json'),
      `\uFEFF${JSON.stringify([{ name: 'k', address: '10.0.0.1', partitions: 'p.csv', extra: 1 }])}`,
    );
    const warnings: string[] = [];
    const devices = await loadDevicesFile(undefined, dir, { onWarning: (w) => warnings.push(w) });
    assert.deepEqual(devices, [{ name: 'k', address: '10.0.0.1', partitions: join(dir, 'p.csv') }]);
    assert.equal(warnings.length, 1);
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'fleet.json'), JSON.stringify([{ name: 'z', address: '10.0.0.9' }]));
    assert.deepEqual(await loadDevicesFile('sub/fleet.json', dir), [{ name: 'z', address: '10.0.0.9' }]);
    await writeFile(join(dir, 'bad.json'), JSON.stringify([{ name: 'z' }]));
    await assert.rejects(
      loadDevicesFile('bad.json', dir),
      devicesError(/bad\.json: entry 1, "address" is missing/),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('devicePassword reads the named environment variable and says which one is missing', () => {
  const record = { name: 'kitchen', address: '10.0.0.1', passwordEnv: 'AIRFLASH_KITCHEN_PW' };
  assert.equal(devicePassword(record, { AIRFLASH_KITCHEN_PW: 's3cret' }), 's3cret');
  assert.equal(devicePassword({ name: 'open', address: '10.0.0.2' }, {}), undefined);
  assert.throws(() => devicePassword(record, {}), devicesError(/\$AIRFLASH_KITCHEN_PW, which is not set/));
});

test('passwordEnv must start with AIRFLASH_: another secret is never sent to a device', () => {
  const entry = (passwordEnv: string): string =>
    JSON.stringify([{ name: 'x', address: '10.0.0.1', passwordEnv }]);
  for (const name of [
    'GITHUB_TOKEN',
    'AWS_SECRET_ACCESS_KEY',
    'AIRFLASH_',
    'airflash_PW',
    'XAIRFLASH_PW',
    'AIRFLASHPW',
  ]) {
    assert.throws(
      () => parseDevicesFile(entry(name)),
      devicesError(
        /does not start with AIRFLASH_; airflash reads passwords only from variables named AIRFLASH_/,
        0,
        'passwordEnv',
      ),
      name,
    );
  }
  assert.equal(parseDevicesFile(entry('AIRFLASH_P')).devices[0]?.passwordEnv, 'AIRFLASH_P');
  assert.throws(
    () =>
      devicePassword(
        { name: 'x', address: '10.0.0.1', passwordEnv: 'GITHUB_TOKEN' },
        { GITHUB_TOKEN: 'ghp_secret' },
      ),
    (e: unknown) =>
      isAirflashError(e, 'DEVICES_FILE') && !String((e as Error).message).includes('ghp_secret'),
  );
});
