import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AirflashError, EXIT, exitCodeFor } from '../../core/errors.ts';
import { resolvePartitions } from '../../devices/partitions.ts';
import {
  BUILTIN_SCHEMES,
  builtinPartitionTable,
  builtinSchemeFlashSize,
  bytesText,
  DEFAULT_TABLE_OFFSET,
  encodePartitionTable,
  formatFlashSize,
  formatPartitionCsv,
  freeRegions,
  type ImageInfo,
  inspectImage,
  kib,
  otaVerdict,
  PARTITION_TABLE_SIZE,
  type PartitionEntry,
  type PartitionTable,
  parseFlashSize,
  subtypeName,
  tableEnd,
  typeName,
  validatePartitionTable,
} from '../../formats/index.ts';
import { type OptionSpec, parseCommandArgs } from '../options.ts';
import { safeBlock, safeJson } from '../render/safe-text.ts';
import type { CliIO, Command } from '../types.ts';

export const PARTITIONS_OPTIONS = [
  { long: 'flash-size', kind: 'string', arg: 'SIZE', help: "the board's flash (4MB, 16M, 0x400000 …)" },
  {
    long: 'firmware',
    kind: 'string',
    arg: 'FILE',
    complete: 'file',
    help: 'show how FILE fits the OTA slot',
  },
  { long: 'format', kind: 'string', arg: 'F', choices: ['table', 'csv', 'bin'], help: 'table, csv or bin' },
  { long: 'json', kind: 'flag', help: 'the table, verdict and fit as JSON' },
  { long: 'list', kind: 'flag', help: 'list the built-in schemes' },
  { long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
] as const satisfies readonly OptionSpec[];

const HELP = `Usage: airflash partitions [NAME|FILE] [--flash-size 4MB] [--firmware FILE]
                           [--format table|csv|bin] [--json]

Show, check and convert an ESP32 partition table, and explain how much room it leaves for an
OTA update (the largest firmware is one OTA slot, not the flash size).

  NAME|FILE         a built-in Arduino/ESP-IDF scheme (default: "default"), or a partitions
                    .csv, or a binary partitions.bin (gen_esp32part format)
  --flash-size S    the board's flash (4MB, 16M, 0x400000 …); default: the scheme's own size,
                    or for a file the smallest standard size it fits (marked "assumed")
  --firmware FILE   show how FILE fits the OTA slot ("869,965 bytes use 66.4 % of a 1280 KiB slot")
  --format F        table (default), csv (gen_esp32part's CSV), bin (the 0xC00-byte binary
                    table, written to stdout)
  --json            the table, reserved areas, free space, verdict and fit as JSON
  --port PORT       read the table and otadata off the board on a serial port instead, and say
                    what it boots ("running from app1; app0 holds the image before it")
  --list            list the built-in schemes

CSV is read exactly as ESP-IDF gen_esp32part.py v5.5.1 reads it, with its error messages.
Exit status: 0 ok; 3 invalid table, or the --firmware does not fit or has no OTA slot (an upload
would be refused); 2 usage error or unreadable file.
Built-in schemes: ${BUILTIN_SCHEMES.join(', ')}.
`;

const STANDARD_FLASH_MB = [1, 2, 4, 8, 16, 32, 64, 128];

interface Loaded {
  table: PartitionTable;
  label: string;
  origin?: string;
  schemeFlash?: number;
  warnings: string[];
}

async function exists(path: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new AirflashError('FILE_NOT_FOUND', `Cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function load(spec: string, io: CliIO): Promise<Loaded> {
  const warnings: string[] = [];
  const r = await resolvePartitions(spec, { cwd: io.cwd, env: io.env, onWarning: (w) => warnings.push(w) });
  return {
    table: r.table,
    label: r.label,
    ...(r.origin === undefined ? {} : { origin: r.origin }),
    ...(r.schemeFlash === undefined ? {} : { schemeFlash: r.schemeFlash }),
    warnings,
  };
}

const hex = (n: number): string => `0x${n.toString(16)}`;

function pad(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

function entryJson(e: PartitionEntry): Record<string, unknown> {
  return {
    ...e,
    typeName: typeName(e.type) ?? null,
    subtypeName: subtypeName(e.type, e.subtype) ?? null,
    end: e.offset + e.size,
  };
}

interface Fit {
  file: string;
  size: number;
  slot: number;
  fits: boolean;
  percent: number;
  free: number;
  kind?: string;
  description?: string;
}

/**
 * The exit code of a table check: an invalid table, or a firmware that does not fit or has no OTA
 * slot to go to, is what the upload pre-flight refuses (exit 3); otherwise 0.
 */
function verdictExit(invalid: AirflashError | undefined, ota: boolean, fit: Fit | undefined): number {
  if (invalid !== undefined) return exitCodeFor(invalid);
  if (fit !== undefined && (!fit.fits || !ota)) return EXIT.preflight;
  return EXIT.ok;
}

function fitLine(fit: Fit): string {
  const pct = `${fit.percent.toFixed(1)} %`;
  return fit.fits
    ? `Firmware ${fit.file}: ${bytesText(fit.size)} bytes use ${pct} of a ${kib(fit.slot)} slot (${bytesText(fit.free)} bytes free).`
    : `Firmware ${fit.file}: ${bytesText(fit.size)} bytes do NOT fit a ${kib(fit.slot)} slot (${pct}; ${bytesText(-fit.free)} bytes too many).`;
}

export const command: Command = {
  name: 'partitions',
  summary: 'Show, convert and check a partition table (why is my app slot 1280 KiB?)',
  help: HELP,
  options: PARTITIONS_OPTIONS,
  async run(argv, io) {
    // `--port PORT`: the table and otadata read off a board over USB serial (partitions-port.ts).
    if (argv.some((a) => a === '--port' || a.startsWith('--port=')))
      return (await import('./partitions-port.ts')).runPartitionsPort(argv, io);
    const { values, positionals } = parseCommandArgs(argv, PARTITIONS_OPTIONS, 'partitions');
    if (values.list) {
      const rows = BUILTIN_SCHEMES.map((n) => {
        const t = builtinPartitionTable(n) as PartitionTable;
        const v = otaVerdict(t, builtinSchemeFlashSize(n));
        return [
          n,
          formatFlashSize(builtinSchemeFlashSize(n) ?? 0),
          v.ok ? `OTA ${v.slots.length} × ${kib(v.maxAppSize)}` : `no OTA (${v.reason})`,
        ];
      });
      io.stdout.write(`${pad([['SCHEME', 'FLASH', 'APP'], ...rows]).join('\n')}\n`);
      return EXIT.ok;
    }
    if (positionals.length > 1) {
      throw new AirflashError(
        'BAD_ARGUMENT',
        `One table at a time, got ${positionals.length}: ${positionals.join(' ')}.`,
      );
    }
    const format = values.format ?? 'table';
    if (!['table', 'csv', 'bin'].includes(format)) {
      throw new AirflashError('BAD_ARGUMENT', `--format must be table, csv or bin, not "${format}".`);
    }
    const loaded = await load(positionals[0] ?? 'default', io);
    const { table } = loaded;
    let flashSize: number;
    let flashAssumed = false;
    if (values['flash-size'] !== undefined) flashSize = parseFlashSize(values['flash-size']);
    else if (loaded.schemeFlash !== undefined) flashSize = loaded.schemeFlash;
    else {
      const end = tableEnd(table);
      flashSize = (STANDARD_FLASH_MB.find((mb) => mb * 1024 * 1024 >= end) ?? 128) * 1024 * 1024;
      flashAssumed = true;
    }

    if (format === 'csv' || format === 'bin') {
      validatePartitionTable(table, { flashSize });
      if (format === 'csv') io.stdout.write(formatPartitionCsv(table));
      else io.stdout.write(Buffer.from(encodePartitionTable(table)));
      return EXIT.ok;
    }

    let invalid: AirflashError | undefined;
    const warnings = [...loaded.warnings];
    try {
      warnings.push(...validatePartitionTable(table, { flashSize }).warnings);
    } catch (error) {
      if (!(error instanceof AirflashError)) throw error;
      invalid = error;
    }
    const verdict = otaVerdict(table, flashSize);
    const free = freeRegions(table, flashSize);
    const firstFree = DEFAULT_TABLE_OFFSET + PARTITION_TABLE_SIZE;

    let fit: Fit | undefined;
    if (values.firmware !== undefined) {
      const path = resolve(io.cwd, values.firmware);
      const bytes = await exists(path);
      if (bytes === undefined) throw new AirflashError('FILE_NOT_FOUND', `${values.firmware}: no such file.`);
      let info: ImageInfo | undefined;
      try {
        info = inspectImage(bytes);
      } catch {
        info = undefined;
      }
      const slot = verdict.ok ? verdict.maxAppSize : verdict.largestAppPartition;
      fit = {
        file: values.firmware,
        size: bytes.length,
        slot,
        fits: bytes.length <= slot,
        percent: slot === 0 ? Number.POSITIVE_INFINITY : (bytes.length / slot) * 100,
        free: slot - bytes.length,
        ...(info === undefined ? {} : { kind: info.kind, description: info.description }),
      };
    }

    if (values.json) {
      io.stdout.write(
        `${safeJson(
          {
            source: loaded.label,
            ...(loaded.origin === undefined ? {} : { origin: loaded.origin }),
            flashSize,
            flashSizeAssumed: flashAssumed,
            tableOffset: DEFAULT_TABLE_OFFSET,
            reserved: [
              {
                name: 'bootloader',
                offset: 0,
                size: DEFAULT_TABLE_OFFSET,
                note: 'from 0x1000 on ESP32/ESP32-S2, 0x0 on S3/C3/C6',
              },
              { name: 'partition table', offset: DEFAULT_TABLE_OFFSET, size: PARTITION_TABLE_SIZE },
            ],
            partitions: table.entries.map(entryJson),
            free,
            valid: invalid === undefined,
            ...(invalid === undefined ? {} : { error: invalid.toJSON() }),
            warnings,
            verdict: { ...verdict, slots: verdict.slots.map((s) => s.name) },
            ...(fit === undefined ? {} : { firmware: { ...fit, percent: Number(fit.percent.toFixed(1)) } }),
          },
          2,
        )}\n`,
      );
      return verdictExit(invalid, verdict.ok, fit);
    }

    const out: string[] = [];
    out.push(
      `Partition table ${loaded.label}${loaded.origin === undefined ? '' : ` (${loaded.origin})`} on ${formatFlashSize(flashSize)} flash${flashAssumed ? ' (assumed: the smallest standard size it fits; set --flash-size)' : ''}`,
      '',
    );
    const rows: string[][] = [['NAME', 'TYPE', 'SUBTYPE', 'OFFSET', 'END', 'SIZE', '', 'FLAGS']];
    rows.push([
      '(bootloader)',
      '',
      '',
      '0x0',
      hex(DEFAULT_TABLE_OFFSET - 1),
      hex(DEFAULT_TABLE_OFFSET),
      kib(DEFAULT_TABLE_OFFSET),
      'reserved (bootloader from 0x1000 on ESP32/S2, 0x0 on S3/C3/C6)',
    ]);
    rows.push([
      '(partition table)',
      '',
      '',
      hex(DEFAULT_TABLE_OFFSET),
      hex(firstFree - 1),
      hex(PARTITION_TABLE_SIZE),
      kib(PARTITION_TABLE_SIZE),
      'reserved',
    ]);
    const items: Array<{ offset: number; row: string[] }> = table.entries.map((e) => ({
      offset: e.offset,
      row: [
        e.name,
        typeName(e.type) ?? hex(e.type),
        subtypeName(e.type, e.subtype) ?? hex(e.subtype),
        hex(e.offset),
        hex(e.offset + e.size - 1),
        hex(e.size),
        kib(e.size),
        [e.encrypted ? 'encrypted' : '', e.readonly ? 'readonly' : ''].filter(Boolean).join(':'),
      ],
    }));
    for (const f of free) {
      items.push({
        offset: f.offset,
        row: [
          '(free)',
          '',
          '',
          hex(f.offset),
          hex(f.offset + f.size - 1),
          hex(f.size),
          kib(f.size),
          'unused',
        ],
      });
    }
    items.sort((a, b) => a.offset - b.offset);
    rows.push(...items.map((i) => i.row));
    out.push(...pad(rows).map((l) => `  ${l}`), '');
    const freeTotal = free.reduce((s, f) => s + f.size, 0);
    out.push(
      `Free space: ${freeTotal === 0 ? 'none, every byte is allotted' : `${kib(freeTotal)} in ${free.length} region(s)`}.`,
    );
    if (invalid !== undefined)
      out.push(`INVALID: ${invalid.message}${invalid.hint === undefined ? '' : `\n  try: ${invalid.hint}`}`);
    for (const w of warnings) out.push(`warning: ${w}`);
    out.push('');
    if (verdict.ok) {
      out.push(
        `OTA: yes. ${verdict.slots.length} OTA slots of ${kib(verdict.maxAppSize)} (${verdict.slots.map((s) => s.name).join(', ')}); maximum firmware ${bytesText(verdict.maxAppSize)} bytes.`,
      );
    } else {
      out.push(`OTA: no (${verdict.reason}).`);
    }
    out.push('', 'Why:', ...verdict.explanation.map((l) => `  - ${l}`));
    if (fit !== undefined) {
      out.push('');
      if (fit.description !== undefined && fit.kind !== 'esp32-app')
        out.push(`note: ${fit.file} is ${fit.description}.`);
      if (!verdict.ok)
        out.push(`No OTA slot; compared with the largest app partition (serial flashing only).`);
      out.push(fitLine(fit));
    }
    // Partition names come from the CSV or binary table: printed escaped.
    io.stdout.write(`${safeBlock(out.join('\n'))}\n`);
    return verdictExit(invalid, verdict.ok, fit);
  },
};
