import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  choosePartitions,
  DEFAULT_PORT,
  defaultPort,
  familyOfPort,
  resolvePartitions,
  resolvePartitionsSync,
  sendsSignedImage,
} from '../src/devices/index.ts';
import { loadTable } from '../src/emulator/device-options.ts';
import { builtinPartitionTable, encodePartitionTable, formatPartitionCsv } from '../src/formats/index.ts';
import { loadPartitions } from '../src/upload/index.ts';

describe('chip-family facts: one default-port rule', () => {
  it('3232 for ESP32 (and an unknown device), 8266 for ESP8266, from a family, a core or a record', () => {
    assert.deepEqual(DEFAULT_PORT, { esp32: 3232, esp8266: 8266 });
    assert.equal(defaultPort(), 3232);
    assert.equal(defaultPort('esp32-legacy'), 3232);
    assert.equal(defaultPort('esp8266'), 8266);
    assert.equal(defaultPort({ chip: 'esp8266' }), 8266);
    assert.equal(defaultPort({ core: 'esp8266', chip: null }), 8266);
    assert.equal(defaultPort({ core: 'esp32', chip: 'esp32s3' }), 3232);
    assert.equal(familyOfPort(3232), 'esp32');
    assert.equal(familyOfPort(8266), 'esp8266');
    assert.equal(familyOfPort(8267), undefined);
  });

  it('the signed-image rule: FILE.signed goes to what looks like an ESP8266, unless told', () => {
    assert.equal(sendsSignedImage(undefined, { port: 8266 }), true);
    assert.equal(sendsSignedImage('auto', { core: 'esp8266' }), true);
    assert.equal(sendsSignedImage('auto', { chip: 'esp8266' }), true);
    assert.equal(sendsSignedImage(undefined, { port: 3232, chip: 'esp32' }), false);
    assert.equal(sendsSignedImage(false, { port: 8266 }), false);
    assert.equal(sendsSignedImage(true, { port: 3232 }), true);
  });
});

describe('one resolvePartitions, one precedence: a table, then a file, then a built-in scheme', () => {
  let dir: string;
  const minSpiffs = builtinPartitionTable('min_spiffs');
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airflash-devices-'));
    // A project file named like a built-in scheme: PlatformIO builds with the file.
    await writeFile(join(dir, 'default'), formatPartitionCsv(minSpiffs ?? { entries: [] }));
    await writeFile(join(dir, 'table.bin'), encodePartitionTable(minSpiffs ?? { entries: [] }));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('a file shadows the built-in scheme of its name, for every caller', async () => {
    const fromFile = await resolvePartitions('default', { cwd: dir });
    assert.equal(fromFile.from, 'file');
    assert.deepEqual(fromFile.table, minSpiffs);
    assert.deepEqual(resolvePartitionsSync(join(dir, 'default')).table, minSpiffs);
    assert.deepEqual(await loadPartitions(join(dir, 'default')), minSpiffs);
    assert.deepEqual((await loadTable(join(dir, 'default'))).table, minSpiffs);
    assert.equal((await loadTable(join(dir, 'default'))).schemeFlash, undefined);
    assert.equal((await resolvePartitions(join(dir, 'table.bin'))).from, 'file');
    // The name as given on a command line, in the project folder: upload and emulator agree.
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      assert.deepEqual(await loadPartitions('default'), minSpiffs);
      assert.deepEqual((await loadTable('default')).table, minSpiffs);
    } finally {
      process.chdir(cwd);
    }
  });

  it('without a file, the built-in scheme with its flash size and origin; a table object as it is', async () => {
    const builtin = await resolvePartitions('default', { cwd: join(dir, 'nowhere') });
    assert.equal(builtin.from, 'builtin');
    assert.deepEqual(builtin.table, builtinPartitionTable('default'));
    assert.equal(builtin.schemeFlash, 4 * 1024 * 1024);
    assert.match(builtin.origin ?? '', /\S/);
    // A folder of that name is not a file.
    await mkdir(join(dir, 'huge_app'));
    assert.equal((await resolvePartitions('huge_app', { cwd: dir })).from, 'builtin');
    const table = { entries: [] };
    assert.equal(choosePartitions(table, undefined).table, table);
  });

  it('neither: FILE_NOT_FOUND (exit 2) from every caller, with one message', async () => {
    for (const load of [
      () => resolvePartitions('nosuch', { cwd: dir }),
      () => loadPartitions(join(dir, 'nosuch.csv')),
      () => loadTable('nosuch'),
    ]) {
      await assert.rejects(load, (e: { code?: string; message?: string }) => {
        assert.equal(e.code, 'FILE_NOT_FOUND');
        assert.match(e.message ?? '', /is neither a file nor a built-in partition scheme/);
        return true;
      });
    }
  });
});
