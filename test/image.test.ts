import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { AirflashError } from '../src/core/errors.ts';
import {
  BUILDABLE_CHIPS,
  blankOtadata,
  buildBootloader,
  buildEsp32App,
  buildEsp8266Sketch,
  buildEspImage,
  buildMergedImage,
  builtinPartitionTable,
  crc32Mpeg2,
  encodePartitionTable,
  type ImageInfo,
  inspectImage,
  type PartitionTable,
  readImageHeader,
  setBootSlot,
} from '../src/formats/index.ts';

const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));

function thrown(fn: () => unknown): AirflashError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AirflashError, `expected AirflashError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an error');
}

function errorCodes(info: ImageInfo): string[] {
  return info.problems.filter((p) => p.severity === 'error').map((p) => p.code);
}

function flip(image: Uint8Array, at: number): Uint8Array {
  const copy = new Uint8Array(image);
  copy[at] = (copy[at] as number) ^ 0x40;
  return copy;
}

describe('headers hand-typed from formats.md §8', () => {
  it('esp_idf_blink_esp32s2.bin: DIO, 2MB/80m, entry 0x40022F84, wp 0xEE, chip 2, hash appended, seg0 at 0x3F000020', () => {
    const head = bytes(
      'e9 06 02 1f 84 2f 02 40 ee 00 00 00 02 00 00 00 00 00 00 00 00 00 00 01  20 00 00 3f 18 8c 00 00',
    );
    const h = readImageHeader(head);
    assert.equal(h.segmentCount, 6);
    assert.equal(h.flashModeName, 'DIO');
    assert.equal(h.flashSize, '2MB');
    assert.equal(h.flashFreq, '80m');
    assert.equal(h.entry, 0x40022f84);
    assert.deepEqual(h.extended, {
      wpPin: 0xee,
      spiPinDrv: [0, 0, 0],
      chipId: 2,
      minChipRev: 0,
      minChipRevFull: 0,
      maxChipRevFull: 0,
      hashAppended: 1,
    });
    // The whole file is 182,368 bytes; these 32 stop inside segment 0's data at 0x20.
    const e = thrown(() => inspectImage(head));
    assert.equal(e.code, 'IMAGE_TRUNCATED');
    assert.equal(e.data['offset'], 0x20);
    assert.match(e.message, /segment 0 at 0x20 needs 35864 bytes but the file ends at 0x20/);
  });

  it('bootloader_esp32.bin: DIO, 2MB/40m, entry 0x4009816C, wp_pin 0x00, no hash, zero-length segment 0', () => {
    const head = bytes(
      'e9 04 02 10 6c 81 09 40 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  00 00 fc 3f 00 00 00 00',
    );
    const h = readImageHeader(head);
    assert.equal(h.segmentCount, 4);
    assert.equal(h.flashModeName, 'DIO');
    assert.equal(h.flashSize, '2MB');
    assert.equal(h.flashFreq, '40m');
    assert.equal(h.entry, 0x4009816c);
    assert.equal(h.extended?.wpPin, 0);
    assert.equal(h.extended?.chipId, 0);
    assert.equal(h.extended?.hashAppended, 0);
  });

  it('bootloader_esp8266.bin: no extended header, QIO, byte3 0x00, entry 0x40100294, segments from offset 8', () => {
    const head = bytes('e9 03 00 00 94 02 10 40  00 00 10 40 74 05 00 00');
    const h = readImageHeader(head);
    assert.equal(h.extended, undefined);
    assert.equal(h.segmentCount, 3);
    assert.equal(h.flashModeName, 'QIO');
    assert.equal(h.flashSize, '512KB');
    assert.equal(h.entry, 0x40100294);
    const e = thrown(() => inspectImage(head));
    assert.equal(e.code, 'IMAGE_TRUNCATED');
    assert.equal(e.data['offset'], 0);
    const longer = new Uint8Array(40);
    longer.set(head);
    const e2 = thrown(() => inspectImage(longer));
    assert.equal(e2.data['offset'], 0x10, 'segment 0 data starts at 0x10 and is 0x574 bytes');
  });

  it('helloworld-esp32c3.bin layout: chip 5, QIO, max_rev_full 0xFFFF, segments 0x10 and 0x18, checksum at 0x5F, SHA at 0x60', () => {
    const image = buildEspImage({
      family: 'esp32',
      chip: 'esp32c3',
      flashMode: 'qio',
      flashSizeFreq: 0x00,
      maxChipRevFull: 0xffff,
      hashAppended: true,
      segments: [
        { load: 0x3fc80000, length: 0x10 },
        { load: 0x40380000, length: 0x18 },
      ],
    });
    assert.equal(image.length, 128);
    const info = inspectImage(image);
    assert.equal(info.chip, 'esp32c3');
    assert.equal(info.image?.header.extended?.chipId, 5);
    assert.equal(info.image?.header.extended?.maxChipRevFull, 0xffff);
    assert.equal(info.image?.checksum.offset, 0x5f);
    assert.equal(info.image?.sha256?.offset, 0x60);
    assert.equal(info.ok, true);
    assert.equal(info.kind, 'bootloader', 'a RAM-only image without app descriptor is not an app');
  });
});

describe('generated ESP32-family apps parse back to what they were built with', () => {
  for (const chip of BUILDABLE_CHIPS) {
    it(chip, () => {
      const elf = createHash('sha256').update(chip).digest('hex');
      const image = buildEsp32App({
        chip,
        size: 200_000,
        projectName: `proj-${chip}`,
        version: 'v1.2.3-test',
        idfVersion: 'v5.5.1-arduino',
        date: 'Mar  4 2026',
        time: '10:11:12',
        secureVersion: 3,
        elfSha256: elf,
        flashMode: 'qio',
        flashSize: '8MB',
        minChipRevFull: 101,
        maxChipRevFull: 399,
        seed: 42,
      });
      assert.equal(image.length, 200_000);
      const info = inspectImage(image);
      assert.equal(info.kind, 'esp32-app');
      assert.equal(info.chip, chip);
      assert.equal(info.ok, true, JSON.stringify(info.problems));
      assert.deepEqual(info.problems, []);
      const h = info.image?.header;
      assert.equal(h?.flashModeName, 'QIO');
      assert.equal(h?.flashSize, '8MB');
      assert.equal(h?.extended?.minChipRevFull, 101);
      assert.equal(h?.extended?.minChipRev, 1);
      assert.equal(h?.extended?.maxChipRevFull, 399);
      assert.equal(h?.extended?.hashAppended, 1);
      assert.equal(info.image?.segments[0]?.dataOffset, 0x20);
      assert.equal(info.image?.segments[0]?.region, 'DROM');
      assert.equal(info.image?.sha256?.ok, true);
      assert.equal(info.image?.length, image.length);
      const a = info.appDesc;
      assert.equal(a?.projectName, `proj-${chip}`);
      assert.equal(a?.version, 'v1.2.3-test');
      assert.equal(a?.idfVersion, 'v5.5.1-arduino');
      assert.equal(a?.date, 'Mar  4 2026');
      assert.equal(a?.time, '10:11:12');
      assert.equal(a?.secureVersion, 3);
      assert.equal(a?.elfSha256, elf);
    });
  }

  it('is deterministic from the seed, and sizes round up to 16', () => {
    assert.deepEqual(buildEsp32App({ seed: 9, size: 5000 }), buildEsp32App({ seed: 9, size: 5000 }));
    assert.notDeepEqual(buildEsp32App({ seed: 9, size: 5000 }), buildEsp32App({ seed: 10, size: 5000 }));
    assert.equal(buildEsp32App({ size: 5001 }).length, 5008);
    assert.equal(buildEsp32App({ size: 1 }).length, 512);
    assert.equal(inspectImage(buildEsp32App({ size: 1 })).ok, true);
    assert.equal(buildEsp32App({ hashAppended: false, size: 4096 }).length, 4096);
    assert.equal(inspectImage(buildEsp32App({ hashAppended: false, size: 4096 })).image?.sha256, undefined);
  });

  // CPU time, not wall time: on 2 cores shared with other tests the wall clock measured 4–6× the
  // CPU time (a linear pass takes ~150 ms of CPU; a quadratic one would take minutes). Wall-clock
  // throughput is measured by `npm run bench` (inspectImage, ESP32 app 16 MiB).
  it('builds and checks a 12 MiB image in well under a second of CPU time', () => {
    const start = process.cpuUsage();
    const image = buildEsp32App({ chip: 'esp32s3', size: 12 * 1024 * 1024 });
    const info = inspectImage(image);
    const used = process.cpuUsage(start);
    const cpuMs = (used.user + used.system) / 1000;
    assert.equal(image.length, 12 * 1024 * 1024);
    assert.equal(info.ok, true);
    assert.ok(cpuMs < 1000, `took ${cpuMs} ms of CPU time`);
  });

  it('project names are cut to 31 characters plus NUL', () => {
    const info = inspectImage(buildEsp32App({ projectName: 'x'.repeat(40) }));
    assert.equal(info.appDesc?.projectName, 'x'.repeat(31));
  });
});

describe('Arduino ESP8266 sketches (formats.md §6.1)', () => {
  const sketch = buildEsp8266Sketch({
    size: 300_000,
    seed: 4,
    flashMode: 'dio',
    flashSize: '4MB',
    flashFreq: '80m',
  });

  it('parse back: eboot at 0 padded with 0xAA, the app at 0x1000, length and CRC words at 0x1010/0x1014', () => {
    assert.equal(sketch.length, 300_000);
    const info = inspectImage(sketch);
    assert.equal(info.kind, 'esp8266-sketch');
    assert.equal(info.chip, 'esp8266');
    assert.equal(info.ok, true, JSON.stringify(info.problems));
    const e = info.esp8266;
    assert.ok(e);
    assert.equal(e.hasCrc, true);
    assert.equal(e.lengthWord, 300_000);
    assert.equal(e.crcOk, true);
    assert.equal(e.checksumWithWordsZeroed, true);
    assert.equal(e.app.header.offset, 0x1000);
    assert.equal(e.app.segments[0]?.loadAddress, 0x40201010);
    assert.equal(e.app.segments[0]?.dataOffset, 0x1010);
    assert.equal(e.eboot.header.flashModeName, 'DIO');
    assert.equal(e.eboot.header.flashSize, '4MB');
    assert.equal(e.eboot.header.flashFreq, '80m');
    assert.equal(sketch[3], 0x4f);
    assert.ok(sketch.subarray(e.eboot.length, 0x1000).every((b) => b === 0xaa));
    // The CRC is CRC-32/MPEG-2 of the file with the two words zeroed.
    const zeroed = new Uint8Array(sketch);
    zeroed.fill(0, 0x1010, 0x1018);
    assert.equal(e.crcWord, crc32Mpeg2(zeroed));
  });

  it("a plain XOR over the file (with the patched words) does not match the stored checksum: elf2bin's rule matters", () => {
    const info = inspectImage(sketch);
    const app = info.esp8266?.app;
    assert.ok(app);
    let raw = 0xef;
    for (const s of app.segments)
      for (let i = s.dataOffset; i < s.dataOffset + s.length; i += 1) raw ^= sketch[i] as number;
    assert.notEqual(raw, app.checksum.stored);
  });

  it('an older build without length/CRC words is still a sketch', () => {
    const info = inspectImage(buildEsp8266Sketch({ withCrc: false }));
    assert.equal(info.kind, 'esp8266-sketch');
    assert.equal(info.esp8266?.hasCrc, false);
    assert.equal(info.ok, true);
  });

  it('the flash-size byte can be set directly', () => {
    const info = inspectImage(buildEsp8266Sketch({ flashSizeByte: 0x20, size: 0x2000 }));
    assert.equal(info.esp8266?.eboot.header.flashSize, '1MB');
  });

  it('gzip-compressed sketches are recognised and checked inside', () => {
    const gz = new Uint8Array(gzipSync(sketch));
    const info = inspectImage(gz);
    assert.equal(info.kind, 'esp8266-gzip');
    assert.equal(info.inner?.kind, 'esp8266-sketch');
    assert.equal(info.gzip?.decompressedSize, sketch.length);
    assert.equal(info.ok, true);
    const broken = inspectImage(gz.subarray(0, gz.length - 100));
    assert.deepEqual(errorCodes(broken), ['gzip_corrupt']);
    const corruptInside = inspectImage(new Uint8Array(gzipSync(flip(sketch, 0x2000))));
    assert.ok(errorCodes(corruptInside).includes('crc_mismatch'));
  });
});

describe('one flipped byte in a checksummed region is reported', () => {
  const app = buildEsp32App({ chip: 'esp32', size: 64 * 1024, seed: 5 });
  const info = inspectImage(app);
  const iromSeg = info.image?.segments[3];
  assert.ok(iromSeg);

  it('segment data: checksum and SHA-256', () => {
    const bad = inspectImage(flip(app, iromSeg.dataOffset + 100));
    assert.deepEqual(errorCodes(bad), ['checksum_mismatch', 'sha256_mismatch']);
    assert.equal(bad.ok, false);
    assert.equal(bad.problems[0]?.offset, info.image?.checksum.offset);
  });

  it('header (flash mode): only the SHA-256', () => {
    assert.deepEqual(errorCodes(inspectImage(flip(app, 2))), ['sha256_mismatch']);
  });

  it('the stored digest itself', () => {
    assert.deepEqual(errorCodes(inspectImage(flip(app, app.length - 1))), ['sha256_mismatch']);
  });

  it('without an appended digest the checksum still catches it', () => {
    const plain = buildEsp32App({ hashAppended: false, size: 8192 });
    assert.deepEqual(errorCodes(inspectImage(flip(plain, 0x400))), ['checksum_mismatch']);
  });

  it('ESP8266 sketch: app data → checksum and CRC; eboot → its checksum and CRC; padding → CRC', () => {
    const sketch = buildEsp8266Sketch({ size: 0x4000, seed: 2 });
    assert.deepEqual(errorCodes(inspectImage(flip(sketch, 0x2000))), ['checksum_mismatch', 'crc_mismatch']);
    assert.deepEqual(errorCodes(inspectImage(flip(sketch, 0x20))), ['checksum_mismatch', 'crc_mismatch']);
    assert.deepEqual(errorCodes(inspectImage(flip(sketch, 0xff0))), ['crc_mismatch']);
  });

  it('any single flip after the first byte is detected or refused (property)', () => {
    const small = buildEsp32App({ chip: 'esp32c3', size: 2048, seed: 8 });
    const sketch = buildEsp8266Sketch({ size: 0x1400, seed: 8 });
    for (const image of [small, sketch]) {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: image.length - 1 }),
          fc.integer({ min: 1, max: 255 }),
          (at, mask) => {
            const bad = new Uint8Array(image);
            bad[at] = (bad[at] as number) ^ mask;
            try {
              const result = inspectImage(bad);
              assert.ok(
                !result.ok || result.kind !== inspectImage(image).kind,
                `flip at ${at} went unnoticed`,
              );
            } catch (error) {
              assert.ok(
                error instanceof AirflashError && ['IMAGE_TRUNCATED', 'IMAGE_INVALID'].includes(error.code),
              );
            }
          },
        ),
        { numRuns: 400 },
      );
    }
  });
});

describe('truncated and hostile files', () => {
  const app = buildEsp32App({ chip: 'esp32s2', size: 20_000, seed: 1 });
  const info = inspectImage(app);

  it('name the offset where the file ends inside a structure', () => {
    const cases: Array<[number, RegExp, number]> = [
      [10, /the image header at 0x0 needs 24 bytes but the file ends at 0xA/, 0],
      [0x12, /the image header at 0x0 needs 24 bytes but the file ends at 0x12/, 0],
      [0x40, /the data of segment 0 at 0x20 needs/, 0x20],
      [
        (info.image?.segments[2]?.headerOffset ?? 0) + 4,
        /the header of segment 2 at 0x/,
        info.image?.segments[2]?.headerOffset ?? -1,
      ],
      [app.length - 10, /the appended SHA-256 at 0x/, (info.image?.sha256?.offset ?? 0) as number],
      [app.length - 33, /the checksum byte at 0x/, info.image?.checksum.offset ?? -1],
    ];
    for (const [cut, message, offset] of cases) {
      const e = thrown(() => inspectImage(app.subarray(0, cut)));
      assert.equal(e.code, 'IMAGE_TRUNCATED');
      assert.match(e.message, message);
      assert.equal(e.data['offset'], offset);
      assert.ok(e.hint);
    }
    const empty = thrown(() => inspectImage(new Uint8Array(0)));
    assert.equal(empty.code, 'IMAGE_TRUNCATED');
    const sketch = buildEsp8266Sketch({ size: 0x3000 });
    const cutSketch = thrown(() => inspectImage(sketch.subarray(0, 0x2000)));
    assert.equal(cutSketch.code, 'IMAGE_TRUNCATED');
    assert.match(cutSketch.message, /segment 0 at 0x1010/);
  });

  it('more than 16 segments, or a segment of 16 MiB or more, is IMAGE_INVALID', () => {
    const many = new Uint8Array(app);
    many[1] = 17;
    const e = thrown(() => inspectImage(many));
    assert.equal(e.code, 'IMAGE_INVALID');
    assert.equal(e.data['offset'], 1);
    const huge = new Uint8Array(app);
    new DataView(huge.buffer).setUint32(0x1c, 0x1000000, true);
    assert.equal(thrown(() => inspectImage(huge)).code, 'IMAGE_INVALID');
  });

  it('segment rules: length multiple of 4 and the 64 KiB mapping rule', () => {
    const odd = buildEspImage({
      family: 'esp32',
      chip: 'esp32',
      segments: [{ load: 0x3ffb0000, length: 6 }],
    });
    assert.deepEqual(errorCodes(inspectImage(odd)), ['segment_length']);
    const unmapped = buildEspImage({
      family: 'esp32',
      chip: 'esp32s3',
      segments: [{ load: 0x42000100, length: 0x100 }],
    });
    assert.deepEqual(errorCodes(inspectImage(unmapped)), ['segment_mapping']);
  });

  it('fast-check: arbitrary bytes only ever give a result or IMAGE_TRUNCATED / IMAGE_INVALID', () => {
    const check = (data: Uint8Array): void => {
      try {
        const result = inspectImage(data);
        assert.equal(typeof result.kind, 'string');
        JSON.stringify(result);
      } catch (error) {
        assert.ok(error instanceof AirflashError, `not an AirflashError: ${String(error)}`);
        assert.ok(['IMAGE_TRUNCATED', 'IMAGE_INVALID'].includes(error.code), error.code);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), check), { numRuns: 500 });
    // Biased towards each parser: ESP32 header with a known chip id, ESP8266, gzip, table, merged.
    const prefixed = (prefix: number[]) =>
      fc.uint8Array({ maxLength: 600 }).map((rest) => {
        const out = new Uint8Array(prefix.length + rest.length);
        out.set(prefix);
        out.set(rest, prefix.length);
        return out;
      });
    const esp32Head = fc
      .tuple(
        fc.constantFrom(0, 2, 5, 9, 13),
        fc.constantFrom(0, 1),
        fc.integer({ min: 0, max: 20 }),
        fc.uint8Array({ minLength: 600, maxLength: 600 }),
      )
      .map(([chip, hash, count, rest]) => {
        const out = new Uint8Array(rest);
        out[0] = 0xe9;
        out[1] = count;
        out[12] = chip;
        out[13] = 0;
        out[23] = hash;
        return out;
      });
    for (const arb of [
      esp32Head,
      prefixed([0xe9]),
      prefixed([0xe9, 1]),
      prefixed([0x1f, 0x8b]),
      prefixed([0xaa, 0x50]),
    ]) {
      fc.assert(fc.property(arb, check), { numRuns: 400 });
    }
    // Mutations and truncations of real structures.
    const seeds = [
      app,
      buildEsp8266Sketch({ size: 0x1800 }),
      encodePartitionTable(builtinPartitionTable('default') as PartitionTable),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        (base, edits, cut) => {
          const data = new Uint8Array(base);
          for (const [at, value] of edits) data[at % data.length] = value;
          check(data.subarray(0, cut % (data.length + 1)));
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('kinds', () => {
  it('bootloader: RAM segments only, no app descriptor', () => {
    const info = inspectImage(buildBootloader({ chip: 'esp32s3' }));
    assert.equal(info.kind, 'bootloader');
    assert.equal(info.chip, 'esp32s3');
    assert.equal(info.ok, true);
  });

  it('merged full-flash images: bootloader at the chip offset, table at 0x8000, the app inside', () => {
    for (const chip of BUILDABLE_CHIPS) {
      const merged = buildMergedImage({ chip });
      const info = inspectImage(merged);
      assert.equal(info.kind, 'merged', chip);
      assert.equal(info.chip, chip);
      assert.equal(info.merged?.bootloaderOffset, chip === 'esp32' || chip === 'esp32s2' ? 0x1000 : 0);
      assert.equal(info.merged?.apps[0]?.info?.kind, 'esp32-app');
      assert.equal(info.merged?.apps[0]?.info?.ok, true);
      assert.equal(info.merged?.partitions?.entries.length, 6);
    }
  });

  it('partition table, otadata, ELF, text', () => {
    const table = inspectImage(encodePartitionTable(builtinPartitionTable('min_spiffs') as PartitionTable));
    assert.equal(table.kind, 'partition-table');
    assert.equal(table.partitionTable?.entries[2]?.size, 0x1e0000);
    const otadata = inspectImage(setBootSlot(blankOtadata(), 1, 2));
    assert.equal(otadata.kind, 'otadata');
    assert.equal(otadata.otadata?.entries[0]?.seq, 2);
    assert.equal(inspectImage(blankOtadata()).description, 'otadata (erased)');
    const elf = inspectImage(bytes('7f454c46010101000000000000000000'));
    assert.equal(elf.kind, 'unknown');
    assert.equal(elf.ok, false);
    assert.match(elf.description, /^not a firmware image: an ELF file/);
    assert.match(elf.content?.hint ?? '', /pass the \.bin/);
    const text = inspectImage(new TextEncoder().encode('hello'));
    assert.equal(text.kind, 'unknown');
    assert.equal(text.ok, false);
    assert.deepEqual(
      text.problems.map((p) => [p.code, p.severity]),
      [['not_an_image', 'error']],
    );
  });

  it('a bare ESP8266 image is esp8266-image with a warning', () => {
    const bare = buildEspImage({ family: 'esp8266', segments: [{ load: 0x40100000, length: 0x100 }] });
    const info = inspectImage(bare);
    assert.equal(info.kind, 'esp8266-image');
    assert.deepEqual(
      info.problems.map((p) => [p.code, p.severity]),
      [['no_eboot', 'warning']],
    );
  });

  it('trailing bytes after an app (e.g. a Secure Boot V1 signature) are a warning', () => {
    const app = buildEsp32App({ size: 4096 });
    const signed = new Uint8Array(app.length + 80);
    signed.set(app);
    const info = inspectImage(signed);
    assert.equal(info.ok, true);
    assert.equal(info.trailingBytes, 80);
    assert.equal(info.problems[0]?.code, 'trailing_bytes');
  });
});
