import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  buildEsp32App,
  builtinPartitionTable,
  encodePartitionTable,
  type PartitionTable,
} from '../src/formats/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airflash-partitions-'));
  // An app padded with 29 trailing bytes: 869,965 bytes, the size from the issue.
  const app = buildEsp32App({ size: 869_936 });
  const fw = new Uint8Array(869_965);
  fw.set(app);
  await writeFile(join(dir, 'fw.bin'), fw);
  await writeFile(join(dir, 'big.bin'), buildEsp32App({ size: 1_400_000 }));
  await writeFile(
    join(dir, 'custom.csv'),
    '# mine\nnvs, data, nvs, , 0x5000\notadata, data, ota, , 0x2000\na, app, ota_0, , 1M\nb, app, ota_1, , 1M\n',
  );
  await writeFile(join(dir, 'broken.csv'), 'nvs, data, nvs, 0x9000, 0x5000\nfoo, data, nvs, 0x8000, 020\n');
  await writeFile(
    join(dir, 'invalid.csv'),
    'nvs, data, nvs, 0x9000, 0x5000\napp, app, factory, 0x11000, 1M\n',
  );
  await writeFile(
    join(dir, 'table.bin'),
    encodePartitionTable(builtinPartitionTable('min_spiffs') as PartitionTable),
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => runCliInMemory(['partitions', ...args], { cwd: dir });

describe('airflash partitions', () => {
  it('default on 4 MB: two OTA slots of 1280 KiB, maximum firmware 1,310,720 bytes, reserved areas, free space, the arithmetic', async () => {
    const { code, stdout, stderr } = await run('default');
    assert.equal(code, 0, stderr);
    assert.match(stdout, /on 4MB flash/);
    assert.match(
      stdout,
      /OTA: yes\. 2 OTA slots of 1280 KiB \(app0, app1\); maximum firmware 1,310,720 bytes\./,
    );
    assert.match(stdout, /\(bootloader\) +0x0 +0x7fff +0x8000 +32 KiB/);
    assert.match(stdout, /\(partition table\) +0x8000 +0x8fff +0x1000 +4 KiB/);
    assert.match(stdout, /app0 +app +ota_0 +0x10000 +0x14ffff +0x140000 +1280 KiB/);
    assert.match(stdout, /Free space: none, every byte is allotted\./);
    assert.match(
      stdout,
      /0x290000 − 0x10000 = 0x280000 = 2560 KiB, split into 2 slots of 0x140000 = 1,310,720 bytes = 1280 KiB each/,
    );
    assert.match(stdout, /Flash: 4 MiB = 0x400000 = 4,194,304 bytes/);
    // No argument means the default scheme.
    assert.equal((await run()).stdout, stdout);
  });

  it('a scheme larger than --flash-size: says it does not fit, no "0 bytes" slots, exit 3', async () => {
    const r = await run('default', '--flash-size', '2MB');
    assert.equal(r.code, 3);
    assert.match(r.stdout, /No OTA on this flash: the scheme does not fit 2MB\. The table ends at 0x400000/);
    assert.match(
      r.stdout,
      /split into 2 slots of 0x140000 = 1,310,720 bytes = 1280 KiB each \(on a flash the table fits\)/,
    );
    assert.doesNotMatch(r.stdout, /0x0 = 0 bytes/);
  });

  it('--flash-size shows the unused space', async () => {
    const { code, stdout } = await run('default', '--flash-size', '8MB');
    assert.equal(code, 0);
    assert.match(stdout, /\(free\) +0x400000 +0x7fffff +0x400000 +4096 KiB +unused/);
    assert.match(stdout, /Free space: 4096 KiB in 1 region/);
  });

  it('--firmware shows the fit', async () => {
    const { code, stdout } = await run('default', '--firmware', 'fw.bin');
    assert.equal(code, 0);
    assert.match(stdout, /fw\.bin: 869,965 bytes use 66\.4 % of a 1280 KiB slot \(440,755 bytes free\)\./);
    const big = await run('default', '--firmware', 'big.bin');
    assert.equal(big.code, 3, 'does not fit: what the pre-flight refuses');
    assert.match(
      big.stdout,
      /1,400,000 bytes do NOT fit a 1280 KiB slot \(106\.8 %; 89,280 bytes too many\)/,
    );
    assert.equal((await run('min_spiffs', '--firmware', 'big.bin')).code, 0);
  });

  it('a scheme without OTA says so', async () => {
    const { code, stdout } = await run('huge_app');
    assert.equal(code, 0);
    assert.match(stdout, /OTA: no \(single_app\)/);
    assert.match(stdout, /no spare OTA slot/);
  });

  it('--format csv writes gen_esp32part CSV; --format bin writes the binary table', async () => {
    const csv = await run('default', '--format', 'csv');
    assert.equal(
      csv.stdout,
      '# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\nnvs,data,nvs,0x9000,20K,\notadata,data,ota,0xe000,8K,\napp0,app,ota_0,0x10000,1280K,\napp1,app,ota_1,0x150000,1280K,\nspiffs,data,spiffs,0x290000,1408K,\ncoredump,data,coredump,0x3f0000,64K,\n',
    );
    const bin = await run('default', '--format', 'bin');
    assert.equal(bin.code, 0);
    assert.equal(bin.stdoutBytes.length, 0xc00);
    assert.equal(createHash('md5').update(bin.stdoutBytes).digest('hex'), 'a039c66cd3488176037b616b7595fe72');
  });

  it('--json carries the table, the verdict and the fit', async () => {
    const { code, stdout } = await run('default', '--json', '--firmware', 'fw.bin');
    assert.equal(code, 0);
    const json = JSON.parse(stdout);
    assert.equal(json.flashSize, 4 << 20);
    assert.equal(json.verdict.ok, true);
    assert.equal(json.verdict.maxAppSize, 1_310_720);
    assert.deepEqual(json.verdict.slots, ['app0', 'app1']);
    assert.equal(json.partitions.length, 6);
    assert.equal(json.partitions[2].subtypeName, 'ota_0');
    assert.equal(json.firmware.percent, 66.4);
    assert.equal(json.reserved[1].offset, 0x8000);
  });

  it('reads CSV and binary files; a file gets an assumed flash size', async () => {
    const csv = await run('custom.csv');
    assert.equal(csv.code, 0, csv.stderr);
    assert.match(csv.stdout, /a +app +ota_0 +0x10000/);
    assert.match(csv.stdout, /b +app +ota_1 +0x110000/);
    assert.match(csv.stdout, /on 4MB flash \(assumed/);
    const bin = await run('table.bin');
    assert.match(bin.stdout, /2 OTA slots of 1920 KiB/);
  });

  it('CSV errors use gen_esp32part messages; invalid tables are shown with the problem', async () => {
    // A table that cannot be read is input to fix (2); one that is read and invalid is refused (3).
    const broken = await run('broken.csv');
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /error \[PARTITION_CSV\]: Error at line 2: Invalid field value 020/);
    const invalid = await run('invalid.csv');
    assert.equal(invalid.code, 3);
    assert.match(invalid.stdout, /INVALID: Partition app invalid: Offset 0x11000 is not aligned to 0x10000/);
    const asCsv = await run('invalid.csv', '--format', 'csv');
    assert.equal(asCsv.code, 3);
    assert.match(asCsv.stderr, /PARTITION_INVALID/);
  });

  it('usage errors exit 2', async () => {
    const unknown = await run('nope');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /neither a file nor a built-in partition scheme/);
    assert.equal((await run('default', '--format', 'xml')).code, 2);
    assert.equal((await run('default', '--bogus')).code, 2);
    assert.equal((await run('default', '--flash-size', 'big')).code, 2);
    assert.equal((await run('missing/file.csv')).code, 2);
  });

  it('--list and --help', async () => {
    const list = await run('--list');
    assert.equal(list.code, 0);
    assert.match(list.stdout, /^default +4MB +OTA 2 × 1280 KiB$/m);
    assert.match(list.stdout, /^huge_app +4MB +no OTA \(single_app\)$/m);
    const help = await run('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--firmware FILE/);
  });
});
