/**
 * Built-in partition tables, typed in byte for byte as CSV text (they are facts, not code).
 * Arduino-ESP32 `tools/partitions/<name>.csv` at the commit noted for each, and ESP-IDF
 * `components/partition_table/<name>.csv` @ 102122904ade. Layouts: formats.md §3.
 */
import { AirflashError } from '../../core/errors.ts';
import { parsePartitionCsv } from './csv.ts';
import type { PartitionTable } from './types.ts';

interface BuiltinScheme {
  /** Flash size the scheme is made for, in MB. */
  flashMB: number;
  /** Where it comes from. */
  origin: string;
  csv: string;
}

const MB = 1024 * 1024;

const SCHEMES: Record<string, BuiltinScheme> = {
  default: {
    flashMB: 4,
    origin: 'arduino-esp32 tools/partitions/default.csv @ acf6c7b9c2bb',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  ota_0,   0x10000, 0x140000,
app1,     app,  ota_1,   0x150000,0x140000,
spiffs,   data, spiffs,  0x290000,0x160000,
coredump, data, coredump,0x3F0000,0x10000,
`,
  },
  default_8MB: {
    flashMB: 8,
    origin: 'arduino-esp32 tools/partitions/default_8MB.csv @ c9f6ce0e24a4',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  ota_0,   0x10000, 0x330000,
app1,     app,  ota_1,   0x340000,0x330000,
spiffs,   data, spiffs,  0x670000,0x180000,
coredump, data, coredump,0x7F0000,0x10000,
`,
  },
  default_16MB: {
    flashMB: 16,
    origin: 'arduino-esp32 tools/partitions/default_16MB.csv @ reconstructed (see reference/README.md)',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  ota_0,   0x10000, 0x640000,
app1,     app,  ota_1,   0x650000,0x640000,
spiffs,   data, spiffs,  0xc90000,0x360000,
coredump, data, coredump,0xFF0000,0x10000,
`,
  },
  default_32MB: {
    flashMB: 32,
    origin: 'arduino-esp32 tools/partitions/default_32MB.csv @ e9fd96c6105b',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  ota_0,   0x10000, 0xC80000,
app1,     app,  ota_1,   0xC90000,0xC80000,
spiffs,   data, spiffs,  0x1910000,0x6C0000,
coredump, data, coredump,0x1FF0000,0x10000,
`,
  },
  default_ffat: {
    flashMB: 4,
    origin: 'arduino-esp32 tools/partitions/default_ffat.csv @ c9f6ce0e24a4',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  ota_0,   0x10000, 0x140000,
app1,     app,  ota_1,   0x150000,0x140000,
ffat,     data, fat,     0x290000,0x160000,
coredump, data, coredump,0x3F0000,0x10000,
`,
  },
  min_spiffs: {
    flashMB: 4,
    origin: 'arduino-esp32 tools/partitions/min_spiffs.csv @ c9f6ce0e24a4',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  ota_0,   0x10000, 0x1E0000,
app1,     app,  ota_1,   0x1F0000,0x1E0000,
spiffs,   data, spiffs,  0x3D0000,0x20000,
coredump, data, coredump,0x3F0000,0x10000,
`,
  },
  no_fs: {
    flashMB: 4,
    origin: 'arduino-esp32 tools/partitions/no_fs.csv @ 605db20d57ed',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  ota_0,   0x10000, 0x1F0000,
app1,     app,  ota_1,   0x200000,0x1F0000,
coredump, data, coredump,0x3F0000,0x10000,
`,
  },
  no_ota: {
    flashMB: 4,
    origin: 'arduino-esp32 tools/partitions/no_ota.csv @ 161b1673d9ad',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  ota_0,   0x10000, 0x200000,
spiffs,   data, spiffs,  0x210000,0x1E0000,
coredump, data, coredump,0x3F0000,0x10000,`,
  },
  huge_app: {
    flashMB: 4,
    origin: 'arduino-esp32 tools/partitions/huge_app.csv @ 0982989f2c21',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  ota_0,   0x10000, 0x300000,
spiffs,   data, spiffs,  0x310000,0xE0000,
coredump, data, coredump,0x3F0000,0x10000,`,
  },
  noota_3g: {
    flashMB: 4,
    origin: 'arduino-esp32 tools/partitions/noota_3g.csv @ 14d9c41ec0b3',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  ota_0,   0x10000, 0x100000,
spiffs,   data, spiffs,  0x110000,0x2E0000,
coredump, data, coredump,0x3F0000,0x10000,`,
  },
  noota_ffat: {
    flashMB: 4,
    origin: 'arduino-esp32 tools/partitions/noota_ffat.csv @ 14d9c41ec0b3',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  ota_0,   0x10000, 0x200000,
ffat,     data, fat,     0x210000,0x1E0000,
coredump, data, coredump,0x3F0000,0x10000,
# to create/use ffat, see https://github.com/marcmerlin/esp32_fatfsimage
`,
  },
  minimal: {
    flashMB: 2,
    origin: 'arduino-esp32 tools/partitions/minimal.csv @ 14d9c41ec0b3',
    csv: `# Name,   Type, SubType, Offset,   Size, Flags
nvs,      data, nvs,     0x9000,   0x5000,
otadata,  data, ota,     0xe000,   0x2000,
app0,     app,  ota_0,   0x10000,  0x140000,
spiffs,   data, spiffs,  0x150000, 0xA0000,
coredump, data, coredump,0x1F0000, 0x10000,`,
  },
  max_app_4MB: {
    flashMB: 4,
    origin: 'arduino-esp32 tools/partitions/max_app_4MB.csv @ acf6c7b9c2bb',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  factory, 0x10000, 0x3E0000,
coredump, data, coredump,0x3F0000,0x10000,
`,
  },
  max_app_8MB: {
    flashMB: 8,
    origin: 'arduino-esp32 tools/partitions/max_app_8MB.csv @ 00d8a39a7702',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  factory, 0x10000, 0x7E0000,
coredump, data, coredump,0x7F0000,0x10000,`,
  },
  large_spiffs_16MB: {
    flashMB: 16,
    origin: 'arduino-esp32 tools/partitions/large_spiffs_16MB.csv @ 44659ac9a342',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x5000,
otadata,  data, ota,     0xe000,  0x2000,
app0,     app,  ota_0,   0x10000, 0x480000,
app1,     app,  ota_1,   0x490000,0x480000,
spiffs,   data, spiffs,  0x910000,0x6E0000,
coredump, data, coredump,0xFF0000,0x10000,`,
  },
  rainmaker: {
    flashMB: 4,
    origin: 'arduino-esp32 tools/partitions/rainmaker.csv @ acf6c7b9c2bb',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,       data,  nvs,     0x9000,   0x5000,
otadata,   data,  ota,     0xe000,   0x2000,
ota_0,     app,   ota_0,   0x10000,  0x1E0000,
ota_1,     app,   ota_1,   0x1F0000, 0x1E0000,
fctry,     data,  nvs,     0x3D0000, 0x6000,
coredump,  data,  coredump,0x3F0000, 0x10000,
`,
  },
  zigbee: {
    flashMB: 4,
    origin: 'arduino-esp32 tools/partitions/zigbee.csv @ 854645ee8de6',
    csv: `# Name,     Type, SubType, Offset,  Size, Flags
nvs,        data, nvs,     0x9000,  0x5000,
otadata,    data, ota,     0xe000,  0x2000,
app0,       app,  ota_0,   0x10000, 0x140000,
app1,       app,  ota_1,   0x150000,0x140000,
spiffs,     data, spiffs,  0x290000,0x15B000,
zb_storage, data, fat,     0x3EB000,0x4000,
zb_fct,     data, fat,     0x3EF000,0x1000,
coredump,   data, coredump,0x3F0000,0x10000,`,
  },
  bare_minimum_2MB: {
    flashMB: 2,
    origin: 'arduino-esp32 tools/partitions/bare_minimum_2MB.csv @ ccdaa8249356',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     36K,     20K,
factory,  app,  factory, 64K,     1900K,`,
  },
  'tinyuf2-partitions-4MB': {
    flashMB: 4,
    origin: 'arduino-esp32 tools/partitions/tinyuf2-partitions-4MB.csv @ 15f52508ed2e',
    csv: `# ESP-IDF Partition Table
# Name,   Type, SubType, Offset,  Size, Flags
# bootloader.bin,,          0x1000, 32K
# partition table,          0x8000, 4K

nvs,      data, nvs,      0x9000,  20K,
otadata,  data, ota,      0xe000,  8K,
ota_0,    app,  ota_0,   0x10000,  1408K,
ota_1,    app,  ota_1,  0x170000,  1408K,
uf2,      app,  factory,0x2d0000,  256K,
ffat,     data, fat,    0x310000,  960K,
`,
  },
  partitions_singleapp: {
    flashMB: 2,
    origin: 'esp-idf components/partition_table/partitions_singleapp.csv @ 102122904ade',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
# Note: if you have increased the bootloader size, make sure to update the offsets to avoid overlap
nvs,      data, nvs,     ,        0x6000,
phy_init, data, phy,     ,        0x1000,
factory,  app,  factory, ,        1M,
`,
  },
  partitions_singleapp_large: {
    flashMB: 2,
    origin: 'esp-idf components/partition_table/partitions_singleapp_large.csv @ 102122904ade',
    csv: `# Name,   Type, SubType, Offset,  Size, Flags
# Note: if you have increased the bootloader size, make sure to update the offsets to avoid overlap
nvs,      data, nvs,     ,        0x6000,
phy_init, data, phy,     ,        0x1000,
factory,  app,  factory, ,        1500K,
`,
  },
  partitions_two_ota: {
    flashMB: 4,
    origin: 'esp-idf components/partition_table/partitions_two_ota.csv @ 102122904ade',
    csv: `# Name,   Type, SubType, Offset,   Size, Flags
# Note: if you have increased the bootloader size, make sure to update the offsets to avoid overlap
nvs,      data, nvs,     ,        0x4000,
otadata,  data, ota,     ,        0x2000,
phy_init, data, phy,     ,        0x1000,
factory,  app,  factory, ,        1M,
ota_0,    app,  ota_0,   ,        1M,
ota_1,    app,  ota_1,   ,        1M,
`,
  },
  partitions_two_ota_coredump: {
    flashMB: 4,
    origin: 'esp-idf components/partition_table/partitions_two_ota_coredump.csv @ 102122904ade',
    csv: `# Name,   Type, SubType, Offset,   Size
# Note: if you have increased the bootloader size, make sure to update the offsets to avoid overlap
nvs,      data, nvs,     ,         0x4000
otadata,  data, ota,     ,         0x2000
phy_init, data, phy,     ,         0x1000
factory,  0,    0,       ,         1M
coredump, data, coredump,,         64K
ota_0,    0,    ota_0,   ,         1M
ota_1,    0,    ota_1,   ,         1M
`,
  },
  partitions_two_ota_large: {
    flashMB: 4,
    origin: 'esp-idf components/partition_table/partitions_two_ota_large.csv @ 102122904ade',
    csv: `# Name,   Type, SubType, Offset,   Size, Flags
# Note: if you have increased the bootloader size, make sure to update the offsets to avoid overlap
nvs,      data, nvs,     ,        0x6000,
otadata,  data, ota,     ,        0x2000,
phy_init, data, phy,     ,        0x1000,
ota_0,    app,  ota_0,   ,        1700K,
ota_1,    app,  ota_1,   ,        1700K,
`,
  },
};

/** Names of every built-in scheme: the arduino-esp32 ones first, then ESP-IDF's. */
export const BUILTIN_SCHEMES: readonly string[] = Object.freeze(Object.keys(SCHEMES));

function lookup(name: string): BuiltinScheme | undefined {
  const bare = name.replace(/\.csv$/i, '');
  if (Object.hasOwn(SCHEMES, bare)) return SCHEMES[bare];
  const key = BUILTIN_SCHEMES.find((k) => k.toLowerCase() === bare.toLowerCase());
  return key === undefined ? undefined : SCHEMES[key];
}

const cache = new Map<string, PartitionTable>();

/**
 * A built-in scheme by name ("default", "min_spiffs", "huge_app.csv", …; case-insensitive), as a
 * fresh table the caller may modify; undefined when there is no such scheme.
 */
export function builtinPartitionTable(name: string): PartitionTable | undefined {
  const scheme = lookup(name);
  if (scheme === undefined) return undefined;
  let table = cache.get(scheme.csv);
  if (table === undefined) {
    table = parsePartitionCsv(scheme.csv);
    cache.set(scheme.csv, table);
  }
  return { entries: table.entries.map((e) => ({ ...e })) };
}

/** The CSV text of a built-in scheme, exactly as upstream ships it. */
export function builtinSchemeCsv(name: string): string | undefined {
  return lookup(name)?.csv;
}

/** The flash size (bytes) a built-in scheme is made for. */
export function builtinSchemeFlashSize(name: string): number | undefined {
  const scheme = lookup(name);
  return scheme === undefined ? undefined : scheme.flashMB * MB;
}

/** Where a built-in scheme's text comes from (repository, path, commit). */
export function builtinSchemeOrigin(name: string): string | undefined {
  return lookup(name)?.origin;
}

/** A built-in scheme, or BAD_ARGUMENT naming the known ones. */
export function requireBuiltinPartitionTable(name: string): PartitionTable {
  const table = builtinPartitionTable(name);
  if (table === undefined) {
    throw new AirflashError('BAD_ARGUMENT', `There is no built-in partition scheme called "${name}".`, {
      hint: `Use one of ${BUILTIN_SCHEMES.join(', ')}, or give the path of a CSV or binary table.`,
    });
  }
  return table;
}
