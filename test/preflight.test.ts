import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { AirflashError, EXIT, exitCodeFor } from '../src/core/errors.ts';
import {
  blankOtadata,
  buildBootloader,
  buildEsp32App,
  buildEsp8266Sketch,
  buildEspImage,
  buildMergedImage,
  builtinPartitionTable,
  encodePartitionTable,
  type PartitionTable,
  type PreflightInput,
  parsePartitionCsv,
  preflight,
} from '../src/formats/index.ts';

const table = (name: string): PartitionTable => builtinPartitionTable(name) as PartitionTable;

function refusal(input: PreflightInput): AirflashError {
  try {
    preflight(input);
  } catch (error) {
    assert.ok(error instanceof AirflashError, String(error));
    assert.equal(exitCodeFor(error), EXIT.preflight, 'refusals exit with 3');
    assert.ok(error.hint, 'every refusal says what to do');
    return error;
  }
  assert.fail('expected a refusal');
}

const app = buildEsp32App({ chip: 'esp32', size: 869_968 });

describe('firmware pre-flight', () => {
  it('accepts a valid app for the target, with the OTA slot as maxSize', () => {
    const r = preflight({
      image: app,
      command: 'firmware',
      target: { core: 'esp32', chip: 'esp32', partitions: table('default') },
    });
    assert.equal(r.info.kind, 'esp32-app');
    assert.equal(r.maxSize, 1_310_720);
    assert.equal(r.targetPartition?.name, 'app0');
    assert.deepEqual(r.warnings, []);
  });

  it('refuses an empty file: PREFLIGHT_EMPTY', () => {
    const e = refusal({ image: new Uint8Array(0), command: 'firmware', fileName: 'firmware.bin' });
    assert.equal(e.code, 'PREFLIGHT_EMPTY');
    assert.match(e.message, /"firmware.bin" is empty/);
  });

  it('refuses an ESP32 bootloader, a merged image, a partition table, otadata and garbage: PREFLIGHT_NOT_APP', () => {
    const cases: Array<[Uint8Array, RegExp, RegExp]> = [
      [buildBootloader({ chip: 'esp32' }), /is ESP32 bootloader/, /not bootloader\.bin/],
      [
        buildMergedImage({ chip: 'esp32s3' }),
        /is merged full-flash image for ESP32-S3/,
        /full-flash image is for a serial flasher/,
      ],
      [
        encodePartitionTable(table('default')),
        /is binary partition table \(6 partitions\)/,
        /partitions\.bin/,
      ],
      [blankOtadata(), /is otadata/, /boot_app0/],
      [new TextEncoder().encode('not firmware'), /is not a firmware image: it is a text file/, /text/],
      [
        new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0, ...new Array(40).fill(0)]),
        /is not a firmware image: it is an ELF file/,
        /You passed the \.elf; pass the \.bin/,
      ],
    ];
    for (const [image, message, hint] of cases) {
      const e = refusal({ image, command: 'firmware', target: { core: 'esp32' }, fileName: 'x.bin' });
      assert.equal(e.code, 'PREFLIGHT_NOT_APP');
      assert.match(e.message, message);
      assert.match(e.message, /not an application image|not a firmware image/);
      assert.match(e.hint ?? '', hint);
    }
  });

  it('refuses a chip that contradicts the target: PREFLIGHT_WRONG_CHIP', () => {
    const s3 = buildEsp32App({ chip: 'esp32s3', size: 4096 });
    const e = refusal({ image: s3, command: 'firmware', target: { chip: 'ESP32-C3', chipSource: '--chip' } });
    assert.equal(e.code, 'PREFLIGHT_WRONG_CHIP');
    assert.match(
      e.message,
      /built for ESP32-S3 \(chip id 9\), but the device is an ESP32-C3 \(from --chip\)/,
    );
    assert.equal(
      refusal({ image: s3, command: 'firmware', target: { core: 'esp8266' } }).code,
      'PREFLIGHT_WRONG_CHIP',
    );
    const sketch = buildEsp8266Sketch({ size: 0x2000 });
    const e2 = refusal({ image: sketch, command: 'firmware', target: { core: 'esp32' } });
    assert.equal(e2.code, 'PREFLIGHT_WRONG_CHIP');
    assert.match(e2.message, /Arduino ESP8266 sketch .* \(ESP8266\), but the device is an ESP32-family chip/);
  });

  it('refuses a corrupt image: PREFLIGHT_CORRUPT (checksum, SHA-256, CRC, truncation)', () => {
    const bad = new Uint8Array(app);
    bad[0x1000] = (bad[0x1000] as number) ^ 1;
    const e = refusal({ image: bad, command: 'firmware', target: { core: 'esp32' } });
    assert.equal(e.code, 'PREFLIGHT_CORRUPT');
    assert.match(e.message, /checksum failed/);
    assert.match(e.message, /SHA-256/);
    const cut = refusal({ image: app.subarray(0, 5000), command: 'firmware' });
    assert.equal(cut.code, 'PREFLIGHT_CORRUPT');
    assert.match(cut.message, /not a complete firmware image: The image is truncated/);
    assert.equal(typeof cut.data['offset'], 'number');
    const sketch = buildEsp8266Sketch({ size: 0x3000 });
    sketch[0x2800] = (sketch[0x2800] as number) ^ 1;
    assert.match(
      refusal({ image: sketch, command: 'firmware', target: { core: 'esp8266' } }).message,
      /CRC-32/,
    );
  });

  it('too big for the slot: PREFLIGHT_TOO_BIG when the table is known, a warning when assumed', () => {
    const big = buildEsp32App({ size: 1_400_000 });
    const e = refusal({
      image: big,
      command: 'firmware',
      target: { core: 'esp32', partitions: table('default'), partitionsSource: 'scheme "default"' },
    });
    assert.equal(e.code, 'PREFLIGHT_TOO_BIG');
    assert.equal(
      e.message,
      'The file is 1,400,000 bytes but an OTA slot of scheme "default" holds 1,310,720 bytes (1280 KiB): 89,280 bytes too many. The device would refuse it ("Bad Size Given").',
    );
    assert.match(e.hint ?? '', /min_spiffs/);
    const r = preflight({
      image: big,
      command: 'firmware',
      target: { core: 'esp32', partitions: table('default'), partitionsAssumed: true },
    });
    assert.deepEqual(
      r.warnings.map((w) => w.code),
      ['too_big_assumed'],
    );
    // It fits min_spiffs.
    preflight({
      image: big,
      command: 'firmware',
      target: { core: 'esp32', partitions: table('min_spiffs') },
    });
  });

  it('no spare OTA slot: PREFLIGHT_NO_OTA (huge_app, max_app_4MB), a warning when assumed', () => {
    for (const scheme of ['huge_app', 'max_app_4MB', 'no_ota']) {
      const e = refusal({
        image: app,
        command: 'firmware',
        target: { core: 'esp32', partitions: table(scheme) },
      });
      assert.equal(e.code, 'PREFLIGHT_NO_OTA', scheme);
      assert.match(e.message, /No OTA/);
    }
    const r = preflight({
      image: app,
      command: 'firmware',
      target: { core: 'esp32', partitions: table('huge_app'), partitionsAssumed: true },
    });
    assert.equal(r.warnings[0]?.code, 'no_ota_assumed');
  });

  it('warns when less than 5 % of the slot is left', () => {
    const r = preflight({
      image: buildEsp32App({ size: 1_300_000 }),
      command: 'firmware',
      target: { partitions: table('default') },
    });
    assert.equal(r.warnings[0]?.code, 'nearly_full');
    assert.match(r.warnings[0]?.message ?? '', /99\.2 % of the 1280 KiB slot/);
  });

  it('accepts a real-layout Arduino ESP8266 sketch and its .bin.gz', () => {
    const sketch = buildEsp8266Sketch({ size: 350_000 });
    const r = preflight({
      image: sketch,
      command: 'firmware',
      target: { core: 'esp8266', flashSize: 4 << 20 },
    });
    assert.equal(r.info.kind, 'esp8266-sketch');
    assert.deepEqual(r.warnings, []);
    const gz = preflight({
      image: new Uint8Array(gzipSync(sketch)),
      command: 'firmware',
      target: { core: 'esp8266' },
    });
    assert.equal(gz.info.kind, 'esp8266-gzip');
  });

  it('ESP8266: an image built for more flash than the device has is refused; over 1,044,464 bytes warns', () => {
    const sketch = buildEsp8266Sketch({ size: 0x3000, flashSize: '16MB' });
    const e = refusal({
      image: sketch,
      command: 'firmware',
      target: { core: 'esp8266', flashSize: 4 << 20 },
    });
    assert.equal(e.code, 'PREFLIGHT_WRONG_CHIP');
    assert.match(e.message, /built for 16MB of flash/);
    const huge = preflight({
      image: buildEsp8266Sketch({ size: 1_100_000 }),
      command: 'firmware',
      target: { core: 'esp8266' },
    });
    assert.equal(huge.warnings[0]?.code, 'esp8266_sketch_limit');
  });

  it('ESP32 does not take gzip', () => {
    const gz = new Uint8Array(gzipSync(buildEsp32App({ size: 4096 })));
    assert.equal(
      refusal({ image: gz, command: 'firmware', target: { core: 'esp32' } }).code,
      'PREFLIGHT_NOT_APP',
    );
  });

  it('a bare ESP8266 image is accepted with a warning', () => {
    const r = preflight({
      image: buildEspImage({ family: 'esp8266', segments: [{ load: 0x40100000, length: 0x400 }] }),
      command: 'firmware',
      target: { core: 'esp8266' },
    });
    assert.deepEqual(
      r.warnings.map((w) => w.code),
      ['no_eboot'],
    );
  });
});

describe('filesystem pre-flight', () => {
  const fsImage = (size: number): Uint8Array => new Uint8Array(size).fill(0x5a);

  it('always warns that a filesystem update has no A/B safety', () => {
    const r = preflight({
      image: fsImage(0x160000),
      command: 'filesystem',
      target: { core: 'esp32', partitions: table('default') },
    });
    assert.deepEqual(
      r.warnings.map((w) => w.code),
      ['fs_no_ab'],
    );
    assert.match(r.warnings[0]?.message ?? '', /no A\/B safety/);
    assert.equal(r.targetPartition?.name, 'spiffs');
    assert.equal(r.maxSize, 0x160000);
  });

  it('compares the size with the FS partition: PREFLIGHT_TOO_BIG known, warning assumed', () => {
    const e = refusal({
      image: fsImage(0x170000),
      command: 'filesystem',
      target: { core: 'esp32', partitions: table('default') },
    });
    assert.equal(e.code, 'PREFLIGHT_TOO_BIG');
    assert.match(e.message, /filesystem partition "spiffs" holds 1,441,792 bytes/);
    const r = preflight({
      image: fsImage(0x170000),
      command: 'filesystem',
      target: { core: 'esp32', partitions: table('default'), partitionsAssumed: true },
    });
    assert.ok(r.warnings.some((w) => w.code === 'too_big_assumed'));
    const small = preflight({
      image: fsImage(0x1000),
      command: 'filesystem',
      target: { partitions: table('default') },
    });
    assert.ok(small.warnings.some((w) => w.code === 'fs_size_differs'));
  });

  it('the ≤ 3.3.x core writes FAT at +0x1000, so a FAT partition holds 4 KiB less', () => {
    const fat = table('default_ffat');
    const ok = preflight({
      image: fsImage(0x160000),
      command: 'filesystem',
      target: { core: 'esp32', partitions: fat },
    });
    assert.equal(ok.maxSize, 0x160000);
    const e = refusal({
      image: fsImage(0x160000),
      command: 'filesystem',
      target: { core: 'esp32-legacy', partitions: fat },
    });
    assert.equal(e.code, 'PREFLIGHT_TOO_BIG');
  });

  it('no filesystem partition: refused when known', () => {
    const e = refusal({
      image: fsImage(0x1000),
      command: 'filesystem',
      target: { core: 'esp32', partitions: table('no_fs') },
    });
    assert.equal(e.code, 'PREFLIGHT_NO_OTA');
    assert.match(e.message, /no filesystem partition/);
    const lfs = parsePartitionCsv('nvs, data, nvs, 0x9000, 0x5000\nfs, data, littlefs, 0x10000, 0x10000');
    assert.equal(
      preflight({
        image: fsImage(0x10000),
        command: 'filesystem',
        target: { core: 'esp32', partitions: lfs },
      }).targetPartition?.name,
      'fs',
    );
    assert.equal(
      refusal({
        image: fsImage(0x10000),
        command: 'filesystem',
        target: { core: 'esp32-legacy', partitions: lfs },
      }).code,
      'PREFLIGHT_NO_OTA',
    );
  });

  it('refuses firmware sent as a filesystem: PREFLIGHT_NOT_FS', () => {
    const e = refusal({
      image: app,
      command: 'filesystem',
      target: { core: 'esp32' },
      fileName: 'firmware.bin',
    });
    assert.equal(e.code, 'PREFLIGHT_NOT_FS');
    assert.match(e.message, /"firmware.bin" is ESP32 application image, not a filesystem image/);
    assert.equal(
      refusal({ image: buildEsp8266Sketch({ size: 0x2000 }), command: 'filesystem' }).code,
      'PREFLIGHT_NOT_FS',
    );
  });

  it('empty filesystem image: PREFLIGHT_EMPTY', () => {
    assert.equal(refusal({ image: new Uint8Array(0), command: 'filesystem' }).code, 'PREFLIGHT_EMPTY');
  });
});
