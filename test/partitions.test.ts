import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AirflashError } from '../src/core/errors.ts';
import {
  BUILTIN_SCHEMES,
  builtinPartitionTable,
  builtinSchemeCsv,
  builtinSchemeFlashSize,
  decodePartitionTable,
  encodePartitionTable,
  findPartition,
  formatPartitionCsv,
  fsPartition,
  loadPartitionTable,
  otaSlots,
  otaVerdict,
  PARTITION_TYPE,
  type PartitionEntry,
  type PartitionTable,
  parseCsvInt,
  parseFlashSize,
  parsePartitionCsv,
  pyInt,
  validatePartitionTable,
} from '../src/formats/index.ts';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Run fn and return the AirflashError it throws (fails when it does not throw one). */
function errorOf(fn: () => unknown): AirflashError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AirflashError, `expected an AirflashError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an error');
}

function entry(
  over: Partial<PartitionEntry> & { name: string; offset: number; size: number },
): PartitionEntry {
  return { type: 1, subtype: 0x82, encrypted: false, readonly: false, ...over };
}

describe('built-in schemes', () => {
  it('lists every arduino-esp32 scheme named in the issue', () => {
    for (const name of [
      'default',
      'default_8MB',
      'default_16MB',
      'default_32MB',
      'min_spiffs',
      'huge_app',
      'no_ota',
      'minimal',
      'noota_3g',
      'noota_ffat',
      'default_ffat',
      'no_fs',
      'max_app_4MB',
      'max_app_8MB',
      'large_spiffs_16MB',
      'rainmaker',
      'zigbee',
      'bare_minimum_2MB',
    ]) {
      assert.ok(BUILTIN_SCHEMES.includes(name), name);
      assert.ok(builtinPartitionTable(name), name);
    }
    assert.equal(builtinPartitionTable('no_such_scheme'), undefined);
    assert.deepEqual(builtinPartitionTable('DEFAULT.csv'), builtinPartitionTable('default'));
  });

  it('every built-in table is valid on its flash and round-trips CSV → bin → CSV → bin byte for byte', () => {
    for (const name of BUILTIN_SCHEMES) {
      const table = builtinPartitionTable(name) as PartitionTable;
      const flashSize = builtinSchemeFlashSize(name) as number;
      assert.deepEqual(validatePartitionTable(table, { flashSize }).warnings, [], name);
      const bin = encodePartitionTable(table);
      assert.equal(bin.length, 0xc00);
      const csv = formatPartitionCsv(decodePartitionTable(bin));
      const again = encodePartitionTable(parsePartitionCsv(csv));
      assert.equal(hexOf(again), hexOf(bin), name);
      assert.deepEqual(decodePartitionTable(bin), table, name);
    }
  });

  it('returns fresh copies', () => {
    const a = builtinPartitionTable('default') as PartitionTable;
    (a.entries[0] as PartitionEntry).size = 1;
    assert.equal((builtinPartitionTable('default') as PartitionTable).entries[0]?.size, 0x5000);
  });

  // Digests of ESP-IDF gen_esp32part.py v5.5.1 output (reference/partitions/bin/*.bin), computed
  // by hand from those binaries; the tests compare our encoder's output with them.
  const GEN_ESP32PART = [
    [
      'default',
      'a039c66cd3488176037b616b7595fe72',
      '148b959cbff1c38aa8e1d5c0ba9d612c54997b945e56a63f41223eef650653a1',
    ],
    [
      'bare_minimum_2MB',
      '57207d3369ee9969eefd5cd1a0a800dd',
      'dd57a877c0c486f430ae4e8fac66fd85984403f6323a83b027b8f066cef0de89',
    ],
    [
      'zigbee',
      'fd096805a77a11b0e9828cdcdd4d3af3',
      '5e11e0d251b638e5d323a57912b0d3a1aa4fa020084b1fd36f22d0b12c51ff19',
    ],
  ] as const;
  for (const [name, expectedMd5, expectedSha] of GEN_ESP32PART) {
    it(`${name}: CSV → binary equals gen_esp32part's output`, () => {
      const bin = encodePartitionTable(parsePartitionCsv(builtinSchemeCsv(name) as string));
      assert.equal(md5(bin), expectedMd5);
      assert.equal(sha256(bin), expectedSha);
    });
  }

  it('the ESP-IDF host-test table with a UTF-8 name equals partitions.bin', () => {
    const csv =
      'nvs, data, nvs, 0x9000, 0x6000\nphy_инит_, data, phy, 0xf000, 0x1000\nfactory, app, factory, 0x10000, 1M\n';
    const bin = encodePartitionTable(parsePartitionCsv(csv));
    assert.equal(md5(bin), '4b137773c761aabdabbfbec182a1a85e');
    assert.equal(sha256(bin), '864d289b241ff3f711ea0e7c36f970e64ba0afa9e2b3be87051f10dcfc9034d9');
    assert.equal(decodePartitionTable(bin).entries[1]?.name, 'phy_инит_');
  });

  it('default.bin: MD5 record at 0xC0 with the digest of the six records', () => {
    const bin = encodePartitionTable(builtinPartitionTable('default') as PartitionTable);
    assert.equal(hexOf(bin.subarray(0xc0, 0xd0)), `ebeb${'ff'.repeat(14)}`);
    assert.equal(hexOf(bin.subarray(0xd0, 0xe0)), '972dae2ff872a0142d60bad124c0666b');
    assert.ok(bin.subarray(0xe0).every((b) => b === 0xff));
  });

  it('the esp-idf host-test vector: MD5 record digest f9bd061b…', () => {
    // The bytes of test_gen_esp32part.py's LONGER_BINARY_TABLE: its comments (and formats.md §2)
    // say 128 KB and 1 MB for the last two, but the size bytes are 00 02 00 00 and 00 10 00 00,
    // i.e. 0x200 and 0x1000; only those give the digest f9bd061b….
    const table: PartitionTable = {
      entries: [
        entry({ name: 'factory', type: 0, subtype: 0, offset: 0x10000, size: 0x100000 }),
        entry({ name: 'data', type: 1, subtype: 0x20, offset: 0x110000, size: 0x200 }),
        entry({ name: 'second', type: 0x10, subtype: 0, offset: 0x150000, size: 0x1000 }),
      ],
    };
    const bin = encodePartitionTable(table);
    assert.equal(hexOf(bin.subarray(0x70, 0x80)), 'f9bd061b45686f86571a2cd52a1da65b');
    assert.equal(
      formatPartitionCsv(decodePartitionTable(bin)),
      '# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\nfactory,app,factory,0x10000,1M,\ndata,data,32,0x110000,0x200,\nsecond,16,0,0x150000,4K,\n',
    );
  });

  it('layouts match formats.md §3', () => {
    const slots = (n: string): Array<[number, number]> =>
      otaSlots(builtinPartitionTable(n) as PartitionTable).map((s) => [s.offset, s.size]);
    assert.deepEqual(slots('default'), [
      [0x10000, 0x140000],
      [0x150000, 0x140000],
    ]);
    assert.deepEqual(slots('min_spiffs'), [
      [0x10000, 0x1e0000],
      [0x1f0000, 0x1e0000],
    ]);
    assert.deepEqual(slots('default_32MB'), [
      [0x10000, 0xc80000],
      [0xc90000, 0xc80000],
    ]);
    const uf2 = builtinPartitionTable('tinyuf2-partitions-4MB') as PartitionTable;
    assert.deepEqual(findPartition(uf2, 0, 0), {
      ...entry({ name: 'uf2', offset: 0x2d0000, size: 0x40000 }),
      type: 0,
      subtype: 0,
    });
    const bare = builtinPartitionTable('bare_minimum_2MB') as PartitionTable;
    assert.deepEqual(
      bare.entries.map((e) => [e.offset, e.size]),
      [
        [0x9000, 0x5000],
        [0x10000, 0x1db000],
      ],
    );
  });
});

describe('CSV parsing (gen_esp32part v5.5.1)', () => {
  it('automatic offsets with 64 KiB app alignment (partitions_two_ota_large)', () => {
    const t = parsePartitionCsv(builtinSchemeCsv('partitions_two_ota_large') as string);
    assert.deepEqual(
      t.entries.map((e) => [e.name, e.offset, e.size]),
      [
        ['nvs', 0x9000, 0x6000],
        ['otadata', 0xf000, 0x2000],
        ['phy_init', 0x11000, 0x1000],
        ['ota_0', 0x20000, 1700 * 1024],
        ['ota_1', 0x1d0000, 1700 * 1024],
      ],
    );
  });

  it('numeric types with keyword subtypes and five columns (partitions_two_ota_coredump)', () => {
    const t = parsePartitionCsv(builtinSchemeCsv('partitions_two_ota_coredump') as string);
    assert.deepEqual(
      t.entries.map((e) => [e.name, e.type, e.subtype, e.offset]),
      [
        ['nvs', 1, 2, 0x9000],
        ['otadata', 1, 0, 0xd000],
        ['phy_init', 1, 1, 0xf000],
        ['factory', 0, 0, 0x10000],
        ['coredump', 1, 3, 0x110000],
        ['ota_0', 0, 0x10, 0x120000],
        ['ota_1', 0, 0x11, 0x220000],
      ],
    );
  });

  it('TABs, a numeric custom subtype, no final newline (arduino-esp32 default.csv of 2018)', () => {
    const csv =
      '# Name,   Type, SubType, Offset,   Size, Flags\nnvs,      data, nvs,     0x9000,   0x5000,\notadata,  data, ota,     0xe000,   0x2000,\napp0,     app,  ota_0,   0x10000,  0x140000,\napp1,\t    app,\tota_1,\t 0x150000, 0x140000,\neeprom,   data, 0x99,    0x290000, 0x1000,\nspiffs,   data, spiffs,  0x291000, 0x16F000,';
    const t = parsePartitionCsv(csv);
    assert.deepEqual(t.entries[3], {
      name: 'app1',
      type: 0,
      subtype: 0x11,
      offset: 0x150000,
      size: 0x140000,
      encrypted: false,
      readonly: false,
    });
    assert.equal(t.entries[4]?.subtype, 0x99);
    validatePartitionTable(t, { flashSize: 4 << 20 });
  });

  it('only app sizes are aligned: a data size of 0x36FFFC is accepted', () => {
    const t = parsePartitionCsv('spiffs, data, spiffs, 0xc90000, 0x36FFFC,');
    assert.deepEqual(validatePartitionTable(t).warnings, []);
  });

  it('keywords are case-insensitive; comments and blank lines are skipped; CRLF and CR line ends', () => {
    const t = parsePartitionCsv(
      '# c\r\n\r\n  # indented comment\rNVS, DATA, NVS, 0x9000, 0x5000\r\nfactory, App, Factory, 0x10000, 1M\r\n',
    );
    assert.deepEqual(
      t.entries.map((e) => [e.name, e.type, e.subtype]),
      [
        ['NVS', 1, 2],
        ['factory', 0, 0],
      ],
    );
  });

  it('number syntax: hex, decimal, octal, binary, underscores, K/M suffixes', () => {
    assert.equal(parseCsvInt('0x1F'), 0x1f);
    assert.equal(parseCsvInt('0X1f'), 0x1f);
    assert.equal(parseCsvInt('36864'), 36864);
    assert.equal(parseCsvInt('0o17'), 15);
    assert.equal(parseCsvInt('0b101'), 5);
    assert.equal(parseCsvInt('1_000'), 1000);
    assert.equal(parseCsvInt('0x10K'), 0x4000);
    assert.equal(parseCsvInt('1M'), 0x100000);
    assert.equal(parseCsvInt('1500K'), 0x177000);
    assert.equal(parseCsvInt('1500k'), 0x177000);
    assert.equal(parseCsvInt('0'), 0);
    assert.equal(parseCsvInt('00'), 0);
    assert.equal(pyInt('020'), undefined);
    assert.equal(pyInt('1__0'), undefined);
    assert.equal(pyInt('_1'), undefined);
    assert.equal(pyInt('-0x10'), -16);
  });

  it('a negative size means "ends at": factory,app,factory,,-0x400000 after nvs → 0x10000 / 0x3F0000', () => {
    const t = parsePartitionCsv('nvs, data, nvs, 0x9000, 0x5000\nfactory, app, factory, , -0x400000');
    assert.deepEqual([t.entries[1]?.offset, t.entries[1]?.size], [0x10000, 0x3f0000]);
  });

  it('flags: encrypted, readonly, both; binary flag bits 0 and 1', () => {
    const t = parsePartitionCsv(
      'a, data, nvs, 0x9000, 0x3000, encrypted\nb, data, nvs, , 0x1000, readonly\nc, data, spiffs, , 0x1000, encrypted:readonly',
    );
    assert.deepEqual(
      t.entries.map((e) => [e.encrypted, e.readonly]),
      [
        [true, false],
        [false, true],
        [true, true],
      ],
    );
    const bin = encodePartitionTable(t);
    assert.deepEqual([bin[28], bin[60], bin[92]], [1, 2, 3]);
    assert.match(formatPartitionCsv(t), /^c,data,spiffs,0xd000,4K,encrypted:readonly$/m);
  });

  it('names longer than 16 bytes are truncated silently; 16 bytes are stored without NUL', () => {
    const t = parsePartitionCsv(
      'abcdefghijklmnopqrst, data, nvs, 0x9000, 0x5000\nsixteen_chars_16, data, spiffs, , 0x1000',
    );
    const bin = encodePartitionTable(t);
    assert.equal(Buffer.from(bin.subarray(12, 28)).toString('latin1'), 'abcdefghijklmnop');
    assert.equal(Buffer.from(bin.subarray(44, 60)).toString('latin1'), 'sixteen_chars_16');
    assert.deepEqual(
      decodePartitionTable(bin).entries.map((e) => e.name),
      ['abcdefghijklmnop', 'sixteen_chars_16'],
    );
  });

  it('$VAR and braced variables are expanded from env; an unknown one is an error', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the CSV text really contains ${NAME}
    const t = parsePartitionCsv('nvs, data, nvs, $NVS_OFF, ${NVS_SIZE}', {
      env: { NVS_OFF: '0x9000', NVS_SIZE: '20K' },
    });
    assert.deepEqual([t.entries[0]?.offset, t.entries[0]?.size], [0x9000, 0x5000]);
    const e = errorOf(() => parsePartitionCsv('# x\nnvs, data, nvs, $NOPE, 0x5000'));
    assert.equal(e.code, 'PARTITION_CSV');
    assert.equal(e.message, "Error at line 2: unknown variable 'NOPE'");
  });

  it('a UTF-8 BOM is kept as in v5.5.1 (so the header comment becomes a bad line), stripped on request', () => {
    const csv = '\ufeff# Name, Type, SubType, Offset, Size, Flags\nnvs, data, nvs, 0x9000, 0x5000\n';
    const e = errorOf(() => parsePartitionCsv(csv));
    assert.equal(
      e.message,
      "Error at line 1: Value 'Type' is not valid. Known keywords: app, data, bootloader, partition_table",
    );
    assert.match(e.hint ?? '', /byte-order mark/);
    assert.equal(parsePartitionCsv(csv, { stripBom: true }).entries.length, 1);
  });

  it('bootloader and partition_table types (IDF ≥ 5.4) take computed offsets and sizes', () => {
    const t = parsePartitionCsv(
      'bl, bootloader, primary, N/A, N/A\npt, partition_table, primary, N/A, N/A\nnvs, data, nvs, , 0x5000',
      { primaryBootloaderOffset: 0x1000 },
    );
    assert.deepEqual(
      t.entries.map((e) => [e.type, e.offset, e.size]),
      [
        [2, 0x1000, 0x7000],
        [3, 0x8000, 0x1000],
        [1, 0x9000, 0x5000],
      ],
    );
    validatePartitionTable(t);
    const e = errorOf(() => parsePartitionCsv('bl, bootloader, primary, N/A, N/A'));
    assert.equal(
      e.message,
      'Error at line 1: Primary bootloader offset is not defined. Please use --primary-bootloader-offset',
    );
  });

  describe('errors, with gen_esp32part messages', () => {
    const cases: Array<[string, string]> = [
      ['nvs', "Error at line 1: Field 'type' can't be left empty."],
      ['app0, app, , 0x10000, 1M', 'Error at line 1: App partition cannot have an empty subtype'],
      ['nvs, data, nvs, 0x9000', "Error at line 1: Size field can't be empty"],
      ['nvs, data, nvs, 0x9000, 020', 'Error at line 1: Invalid field value 020'],
      [
        'nvs, data, nvs, 0x9000, 0x5000,  # my comment',
        "Error at line 1: CSV flag column contains unknown flag '# my comment'",
      ],
      [
        'nvs, data, nvs, 0x9000, 0x5000, encrypted:xyz',
        "Error at line 1: CSV flag column contains unknown flag 'xyz'",
      ],
      [
        'x, foo, 0, 0x9000, 0x1000',
        "Error at line 1: Value 'foo' is not valid. Known keywords: app, data, bootloader, partition_table",
      ],
      [
        'x, data, foo, 0x9000, 0x1000',
        "Error at line 1: Value 'foo' is not valid. Known keywords: ota, phy, nvs, coredump, nvs_keys, efuse, undefined, esphttpd, fat, spiffs, littlefs, tee_ota",
      ],
      [
        'x, app, foo, 0x10000, 0x1000',
        `Error at line 1: Value 'foo' is not valid. Known keywords: factory, test, tee_0, tee_1, ${Array.from({ length: 16 }, (_, i) => `ota_${i}`).join(', ')}`,
      ],
      // The K/M suffix is stripped before the keyword lookup.
      [
        'x, data, fook, 0x9000, 0x1000',
        "Error at line 1: Value 'foo' is not valid. Known keywords: ota, phy, nvs, coredump, nvs_keys, efuse, undefined, esphttpd, fat, spiffs, littlefs, tee_ota",
      ],
      // Custom types have no keywords; "custom" ends in m, so the suffix is stripped first.
      ['x, 0x40, custom, 0x9000, 0x1000', 'Error at line 1: Invalid field value custo'],
      ['x, 0x40, foo, 0x9000, 0x1000', 'Error at line 1: Invalid field value foo'],
      [
        'nvs, data, nvs, 0x8000, 0x5000',
        'CSV Error at line 1: Partitions overlap. Partition sets offset 0x8000. But partition table occupies the whole sector 0x8000. Use a free offset 0x9000 or higher.',
      ],
      [
        '# h\nnvs, data, nvs, 0x9000, 0x5000\nphy, data, phy, 0xd000, 0x1000',
        'CSV Error at line 3: Partitions overlap. Partition sets offset 0xd000. Previous partition ends 0xe000',
      ],
      // File order matters: explicit offsets must ascend even without a real overlap.
      [
        'b, data, nvs, 0x20000, 0x5000\na, data, spiffs, 0x10000, 0x1000',
        'CSV Error at line 2: Partitions overlap. Partition sets offset 0x10000. Previous partition ends 0x25000',
      ],
    ];
    for (const [csv, message] of cases) {
      it(message, () => {
        const e = errorOf(() => parsePartitionCsv(csv));
        assert.equal(e.code, 'PARTITION_CSV');
        assert.equal(e.message, message);
      });
    }
  });
});

describe('validation (gen_esp32part verify)', () => {
  const cases: Array<[string, PartitionTable | string, string, { flashSize?: number }?]> = [
    [
      'app offset not aligned',
      'app, app, factory, 0x11000, 0x100000',
      'Partition app invalid: Offset 0x11000 is not aligned to 0x10000',
    ],
    [
      'data offset not aligned',
      'nvs, data, nvs, 0x9800, 0x5000',
      'Partition nvs invalid: Offset 0x9800 is not aligned to 0x1000',
    ],
    [
      'app size not aligned',
      'app, app, factory, 0x10000, 0x100800',
      'Partition app invalid: Size 0x100800 is not aligned to 0x1000',
    ],
    [
      'readonly otadata',
      'otadata, data, ota, 0xe000, 0x2000, readonly',
      "Partition otadata invalid: 'otadata' partition of type 1 and subtype 0 is always read-write and cannot be read-only",
    ],
    [
      'readonly coredump',
      'cd, data, coredump, 0x10000, 0x10000, readonly',
      "Partition cd invalid: 'cd' partition of type 1 and subtype 3 is always read-write and cannot be read-only",
    ],
    [
      'small read/write nvs',
      'nvs, data, nvs, 0x9000, 0x2000',
      "Partition nvs invalid: 'nvs' partition of type 1 and subtype 2 of this size (0x2000) must be flagged as 'readonly' (the size of read/write NVS has to be at least 0x3000)",
    ],
    [
      'duplicate names',
      'a, data, nvs, 0x9000, 0x5000\na, data, spiffs, , 0x1000',
      'Partition names must be unique',
    ],
    [
      'below the table',
      { entries: [entry({ name: 'x', offset: 0x8000, size: 0x1000 })] },
      'Partition offset 0x8000 is below 0x9000',
    ],
    [
      'overlap (binary input)',
      {
        entries: [
          entry({ name: 'b', offset: 0xa000, size: 0x1000 }),
          entry({ name: 'a', offset: 0x9000, size: 0x2000 }),
        ],
      },
      'Partition at 0xa000 overlaps 0x9000-0xafff',
    ],
    [
      'two otadata',
      'o1, data, ota, 0xd000, 0x2000\no2, data, ota, 0xf000, 0x2000',
      'Found multiple otadata partitions. Only one partition can be defined with type="data"(1) and subtype="ota"(0).',
    ],
    ['otadata size', 'otadata, data, ota, 0xe000, 0x1000', 'otadata partition must have size = 0x2000'],
    [
      'two tee_ota',
      't1, data, tee_ota, 0xd000, 0x2000\nt2, data, tee_ota, 0xf000, 0x2000',
      'Found multiple TEE otadata partitions. Only one partition can be defined with type="data"(1) and subtype="tee_ota"(0x90).',
    ],
    ['tee_ota size', 't, data, tee_ota, 0xe000, 0x1000', 'TEE otadata partition must have size = 0x2000'],
    [
      'beyond the flash',
      'nvs, data, nvs, 0x9000, 0x5000\nbig, data, spiffs, 0x3f0000, 0x20000',
      "Partitions tables occupies 4.1MB of flash (4259840 bytes) which does not fit in configured flash size 4MB. Change the flash size in menuconfig under the 'Serial Flasher Config' menu.",
      { flashSize: 4 << 20 },
    ],
  ];
  for (const [title, input, message, options] of cases) {
    it(title, () => {
      const table = typeof input === 'string' ? parsePartitionCsv(input) : input;
      const e = errorOf(() => validatePartitionTable(table, options ?? {}));
      assert.equal(e.code, 'PARTITION_INVALID');
      assert.equal(e.message, message);
      assert.ok(e.hint, 'every validation error says what to do');
    });
  }

  it('a read-only nvs may be 0x1000', () => {
    validatePartitionTable(parsePartitionCsv('nvs, data, nvs, 0x9000, 0x1000, readonly'));
  });

  it('warns about names equal to keywords of another type, OTA slot gaps and unequal slots', () => {
    const { warnings } = validatePartitionTable(
      parsePartitionCsv(
        'otadata, data, ota, 0xe000, 0x2000\nota_0, app, ota_0, 0x10000, 0x100000\nota_1, app, ota_2, , 0x80000\ndata, app, ota_1, , 0x80000',
      ),
    );
    assert.ok(warnings.some((w) => w.includes("Partition has name 'ota_1' which is a partition subtype")));
    assert.ok(warnings.some((w) => w.includes("Partition has name 'data' which is a partition type")));
    assert.ok(warnings.some((w) => w.startsWith('OTA slots differ in size')));
    const gap = validatePartitionTable(
      parsePartitionCsv(
        'otadata, data, ota, 0xe000, 0x2000\na, app, ota_0, 0x10000, 0x100000\nb, app, ota_2, , 0x100000',
      ),
    );
    assert.ok(gap.warnings.some((w) => w.includes('the bootloader counts 1 slot(s) and ignores ota_2')));
  });

  it('rainmaker: partitions named like their own subtype give no warning', () => {
    assert.deepEqual(
      validatePartitionTable(builtinPartitionTable('rainmaker') as PartitionTable).warnings,
      [],
    );
  });
});

describe('binary tables', () => {
  const good = encodePartitionTable(builtinPartitionTable('default') as PartitionTable);

  it('at most 94 partitions with the MD5 record, 95 without', () => {
    const many = (n: number): PartitionTable => ({
      entries: Array.from({ length: n }, (_, i) =>
        entry({ name: `p${i}`, offset: 0x9000 + i * 0x1000, size: 0x1000 }),
      ),
    });
    assert.equal(encodePartitionTable(many(94)).length, 0xc00);
    assert.equal(
      errorOf(() => encodePartitionTable(many(95))).message,
      'Binary partition table length (3072) longer than max',
    );
    assert.equal(encodePartitionTable(many(95), { md5: false }).length, 0xc00);
    assert.equal(
      errorOf(() => encodePartitionTable(many(96), { md5: false })).message,
      'Binary partition table length (3072) longer than max',
    );
    assert.equal(decodePartitionTable(encodePartitionTable(many(94))).entries.length, 94);
  });

  it('an MD5 mismatch is reported with both digests', () => {
    const bad = new Uint8Array(good);
    bad[5] = (bad[5] as number) ^ 1;
    const e = errorOf(() => decodePartitionTable(bad));
    assert.equal(e.code, 'PARTITION_TABLE');
    assert.match(
      e.message,
      /^MD5 checksums don't match! \(computed: 0x[0-9a-f]{32}, parsed: 0xb'972dae2ff872a0142d60bad124c0666b'\)$/,
    );
    // With MD5 checking off the record is just an invalid entry.
    assert.equal(
      errorOf(() => decodePartitionTable(good, { md5: false })).message,
      "Invalid magic bytes (b'\\xeb\\xeb') for partition definition",
    );
  });

  it('bad magic, a missing end marker, a length not a multiple of 32', () => {
    const bad = new Uint8Array(good);
    bad[32] = 0x12;
    bad[33] = 0x41;
    assert.equal(
      errorOf(() => decodePartitionTable(bad)).message,
      "Invalid magic bytes (b'\\x12A') for partition definition",
    );
    assert.equal(
      errorOf(() => decodePartitionTable(good.subarray(0, 0xc0))).message,
      'Partition table is missing an end-of-table marker',
    );
    assert.equal(
      errorOf(() => decodePartitionTable(good.subarray(0, 0x50))).message,
      'Partition table length must be a multiple of 32 bytes',
    );
  });

  it('a table without MD5 record or end marker reads like gen_esp32part: 96 bytes need an end marker', () => {
    const noMd5 = encodePartitionTable(
      parsePartitionCsv(builtinSchemeCsv('partitions_singleapp') as string),
      { md5: false },
    );
    assert.equal(decodePartitionTable(noMd5).entries.length, 3);
    assert.equal(
      errorOf(() => decodePartitionTable(noMd5.subarray(0, 96))).message,
      'Partition table is missing an end-of-table marker',
    );
  });

  it('unknown flag bits give the "Newer binary format?" warning', () => {
    const bin = new Uint8Array(good);
    bin[0x1c] = 0x05;
    // Recompute the MD5 record so only the flag is unusual.
    bin.set(createHash('md5').update(bin.subarray(0, 0xc0)).digest(), 0xd0);
    const warnings: string[] = [];
    const t = decodePartitionTable(bin, { onWarning: (w) => warnings.push(w) });
    assert.equal(t.entries[0]?.encrypted, true);
    assert.deepEqual(warnings, [
      'WARNING: Partition definition had unknown flag(s) 0x00000004. Newer binary format?',
    ]);
  });

  it('loadPartitionTable tells binary (AA 50) from CSV bytes', () => {
    assert.deepEqual(loadPartitionTable(good), builtinPartitionTable('default'));
    assert.deepEqual(
      loadPartitionTable(new TextEncoder().encode(builtinSchemeCsv('default') as string)),
      builtinPartitionTable('default'),
    );
    assert.equal(errorOf(() => loadPartitionTable(new Uint8Array([0xc3, 0x28]))).code, 'PARTITION_CSV');
  });

  it('values that do not fit the binary record are refused', () => {
    const e = errorOf(() =>
      encodePartitionTable({ entries: [entry({ name: 'x', type: 300, offset: 0x9000, size: 0x1000 })] }),
    );
    assert.equal(e.code, 'PARTITION_TABLE');
  });

  it('random valid tables round-trip binary → CSV → binary (property)', () => {
    const arbEntry = fc.record({
      name: fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/[,\s#$\\]/.test(s) && s === s.trim()),
      type: fc.constantFrom(0, 1, 0x40, 0xfe),
      subtype: fc.integer({ min: 0, max: 255 }),
      blocks: fc.integer({ min: 1, max: 64 }),
      encrypted: fc.boolean(),
      readonly: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(arbEntry, { maxLength: 20 }), (specs) => {
        let offset = 0x10000;
        const entries = specs.map((s, i) => {
          const e = {
            name: `${s.name}${i}`,
            type: s.type,
            subtype: s.subtype,
            offset,
            size: s.blocks * 0x10000,
            encrypted: s.encrypted,
            readonly: s.readonly,
          };
          offset += e.size;
          return e;
        });
        const bin = encodePartitionTable({ entries });
        const csv = formatPartitionCsv(decodePartitionTable(bin));
        assert.equal(hexOf(encodePartitionTable(parsePartitionCsv(csv))), hexOf(bin));
      }),
      { numRuns: 200 },
    );
  });
});

describe('OTA verdict', () => {
  const verdictOf = (n: string) =>
    otaVerdict(builtinPartitionTable(n) as PartitionTable, builtinSchemeFlashSize(n));

  it('default on 4 MB: two 1280 KiB slots, maximum firmware 1,310,720 bytes, and the arithmetic', () => {
    const v = verdictOf('default');
    assert.equal(v.ok, true);
    assert.equal(v.maxAppSize, 1_310_720);
    assert.deepEqual(
      v.slots.map((s) => s.name),
      ['app0', 'app1'],
    );
    const text = v.explanation.join('\n');
    assert.match(
      text,
      /0x290000 − 0x10000 = 0x280000 = 2560 KiB, split into 2 slots of 0x140000 = 1,310,720 bytes = 1280 KiB each/,
    );
    assert.match(text, /spiffs 1408 KiB \+ coredump 64 KiB = 1472 KiB/);
    assert.match(text, /0x0–0x8fff \(36 KiB\)/);
    assert.match(text, /= 4096 KiB = the whole flash/);
  });

  it('max sizes and reasons for every Arduino scheme', () => {
    const expected: Record<string, [boolean, number | string]> = {
      default: [true, 1_310_720],
      default_ffat: [true, 1_310_720],
      min_spiffs: [true, 1_966_080],
      no_fs: [true, 2_031_616],
      default_8MB: [true, 3_342_336],
      default_16MB: [true, 6_553_600],
      large_spiffs_16MB: [true, 0x480000],
      default_32MB: [true, 0xc80000],
      rainmaker: [true, 0x1e0000],
      zigbee: [true, 0x140000],
      'tinyuf2-partitions-4MB': [true, 0x160000],
      no_ota: [false, 'single_app'],
      huge_app: [false, 'single_app'],
      noota_3g: [false, 'single_app'],
      noota_ffat: [false, 'single_app'],
      minimal: [false, 'single_app'],
      max_app_4MB: [false, 'factory_only'],
      max_app_8MB: [false, 'factory_only'],
      bare_minimum_2MB: [false, 'factory_only'],
    };
    for (const [name, [ok, value]] of Object.entries(expected)) {
      const v = verdictOf(name);
      assert.equal(v.ok, ok, name);
      if (ok) assert.equal(v.maxAppSize, value, name);
      else {
        assert.equal(v.reason, value, name);
        assert.equal(v.maxAppSize, 0);
      }
    }
    assert.equal(verdictOf('huge_app').largestAppPartition, 3_145_728);
    assert.match(verdictOf('huge_app').explanation[0] as string, /no spare OTA slot/);
  });

  it('no otadata, a slot gap, a table beyond the flash', () => {
    const noOtadata = parsePartitionCsv('a, app, ota_0, 0x10000, 1M\nb, app, ota_1, , 1M');
    assert.equal(otaVerdict(noOtadata).reason, 'no_otadata');
    const gap = parsePartitionCsv(
      'o, data, ota, 0xe000, 0x2000\na, app, ota_0, 0x10000, 1M\nb, app, ota_2, , 1M',
    );
    assert.equal(otaVerdict(gap).reason, 'slot_gap');
    assert.equal(
      otaVerdict(builtinPartitionTable('default_8MB') as PartitionTable, 4 << 20).reason,
      'exceeds_flash',
    );
    assert.equal(otaVerdict({ entries: [] }).reason, 'no_app');
  });

  it('unequal slots: the maximum is the smallest slot', () => {
    const t = parsePartitionCsv(
      'o, data, ota, 0xe000, 0x2000\na, app, ota_0, 0x10000, 1M\nb, app, ota_1, , 512K',
    );
    assert.equal(otaVerdict(t).maxAppSize, 512 * 1024);
  });

  it('the filesystem partition for command 100', () => {
    const t = parsePartitionCsv(
      'lfs, data, littlefs, 0x9000, 0x10000\nfat, data, fat, , 0x10000\nsp, data, spiffs, , 0x10000',
    );
    assert.equal(fsPartition(t, 'esp32')?.name, 'sp');
    const noSpiffs = parsePartitionCsv('lfs, data, littlefs, 0x9000, 0x10000\nfat, data, fat, , 0x10000');
    assert.equal(fsPartition(noSpiffs, 'esp32')?.name, 'fat');
    assert.equal(fsPartition(noSpiffs, 'esp32-legacy')?.name, 'fat');
    const lfsOnly = parsePartitionCsv('lfs, data, littlefs, 0x9000, 0x10000');
    assert.equal(fsPartition(lfsOnly, 'esp32')?.name, 'lfs');
    assert.equal(fsPartition(lfsOnly, 'esp32-legacy'), undefined);
    assert.equal(findPartition(t, PARTITION_TYPE.data)?.name, 'lfs');
  });
});

describe('parseFlashSize', () => {
  it('accepts the usual spellings', () => {
    for (const [text, bytes] of [
      ['4MB', 4 << 20],
      ['4M', 4 << 20],
      ['4mib', 4 << 20],
      ['32MB', 32 << 20],
      ['512KB', 512 << 10],
      ['4194304', 4 << 20],
      ['0x400000', 4 << 20],
    ] as const) {
      assert.equal(parseFlashSize(text), bytes, text);
    }
    for (const bad of ['', 'four', '4XB', '-1', '0'])
      assert.equal(errorOf(() => parseFlashSize(bad)).code, 'BAD_ARGUMENT');
  });
});
