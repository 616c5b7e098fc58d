import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  buildBootloader,
  buildEsp32App,
  buildEsp8266Sketch,
  buildMergedImage,
  builtinPartitionTable,
  encodePartitionTable,
  type PartitionTable,
} from '../src/formats/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airflash-image-'));
  const app = buildEsp32App({ chip: 'esp32c3', size: 100_000, projectName: 'blink', version: '2.1.0' });
  await writeFile(join(dir, 'app.bin'), app);
  const bad = new Uint8Array(app);
  bad[0x3000] = (bad[0x3000] as number) ^ 0xff;
  await writeFile(join(dir, 'bad.bin'), bad);
  await writeFile(join(dir, 'cut.bin'), app.subarray(0, 50_000));
  await writeFile(join(dir, 'sketch.bin'), buildEsp8266Sketch({ size: 0x5000 }));
  await writeFile(join(dir, 'bootloader.bin'), buildBootloader({ chip: 'esp32' }));
  await writeFile(join(dir, 'merged.bin'), buildMergedImage({ chip: 'esp32s3', flashSize: 0x100000 }));
  await writeFile(
    join(dir, 'partitions.bin'),
    encodePartitionTable(builtinPartitionTable('default') as PartitionTable),
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => runCliInMemory(['image', ...args], { cwd: dir });

describe('airflash image', () => {
  it('an ESP32-C3 app: chip, flash, segments, checksum, SHA-256, app descriptor', async () => {
    const { code, stdout, stderr } = await run('app.bin');
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^app\.bin: ESP32-C3 application image$/m);
    assert.match(stdout, /chip +ESP32-C3 \(chip id 5\)/);
    assert.match(stdout, /flash +DIO, 4MB, 80m/);
    assert.match(stdout, /checksum +0x[0-9A-F]{2} at 0x[0-9A-F]+: ok/);
    assert.match(stdout, /SHA-256 +[0-9a-f]{64} at 0x[0-9A-F]+: ok/);
    assert.match(stdout, /project +blink/);
    assert.match(stdout, /version +2\.1\.0/);
    assert.match(stdout, /verdict +intact/);
  });

  it('a corrupt image exits 3 (refused, as upload refuses it) and says why', async () => {
    const { code, stdout, stderr } = await run('bad.bin');
    assert.equal(code, 3);
    assert.match(
      stderr,
      /^error \[PREFLIGHT_CORRUPT\]: "bad\.bin" \(ESP32-C3 application image\) is corrupt/,
    );
    assert.match(stdout, /checksum .*MISMATCH/);
    assert.match(stdout, /PROBLEM +.*checksum failed/);
    assert.match(stdout, /verdict +CORRUPT/);
  });

  it('a truncated image names the offset', async () => {
    const { code, stderr } = await run('cut.bin');
    assert.equal(code, 3);
    assert.match(
      stderr,
      /error \[PREFLIGHT_CORRUPT\]: "cut\.bin" is not a complete firmware image: The image is truncated: the data of segment \d+ at 0x[0-9A-F]+ needs \d+ bytes but the file ends at 0xC350\./,
    );
  });

  it('an Arduino ESP8266 sketch shows eboot, the sketch, the length word and the CRC', async () => {
    const { code, stdout } = await run('sketch.bin');
    assert.equal(code, 0);
    assert.match(stdout, /Arduino ESP8266 sketch/);
    assert.match(stdout, /eboot at 0x0:/);
    assert.match(stdout, /sketch at 0x1000:/);
    assert.match(stdout, /length word 20,480 at 0x1010 \(= file size\)/);
    assert.match(stdout, /CRC-32 +0x[0-9A-F]{8} at 0x1014: ok/);
  });

  it('bootloader, merged image, partition table', async () => {
    assert.match((await run('bootloader.bin')).stdout, /ESP32 bootloader/);
    const merged = await run('merged.bin');
    assert.match(merged.stdout, /merged full-flash image for ESP32-S3/);
    assert.match(merged.stdout, /app app0 +at 0x10000: ESP32-S3 application image/);
    const table = await run('partitions.bin');
    assert.match(table.stdout, /binary partition table \(6 partitions\)/);
    assert.match(table.stdout, /app0 +app +ota_0 +0x10000 +1280 KiB/);
  });

  it('--json', async () => {
    const { code, stdout } = await run('app.bin', '--json');
    assert.equal(code, 0);
    const json = JSON.parse(stdout);
    assert.equal(json.kind, 'esp32-app');
    assert.equal(json.chip, 'esp32c3');
    assert.equal(json.appDesc.projectName, 'blink');
    assert.equal(json.ok, true);
  });

  it('usage and missing files', async () => {
    assert.equal((await run()).code, 2);
    assert.equal((await run('a', 'b')).code, 2);
    const missing = await run('nope.bin');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /FILE_NOT_FOUND/);
  });
});
