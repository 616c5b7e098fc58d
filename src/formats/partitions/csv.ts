/**
 * Partition table CSV, parsed exactly as ESP-IDF gen_esp32part.py v5.5.1 does (formats.md §1):
 * Python str.splitlines / str.strip semantics, `$VAR` expansion, no inline comments, K/M
 * suffixes applied before keyword lookup, Python int(x, 0) number syntax, automatic offsets with
 * per-type alignment, negative sizes, and the tool's own error messages.
 */
import { AirflashError } from '../../core/errors.ts';
import {
  BOOTLOADER_SUBTYPE,
  DATA_SUBTYPE,
  DEFAULT_TABLE_OFFSET,
  offsetAlignment,
  PARTITION_TABLE_SIZE,
  PARTITION_TABLE_SUBTYPE,
  PARTITION_TYPE,
  type PartitionEntry,
  type PartitionTable,
  SUBTYPE_KEYWORDS,
  subtypeName,
  TYPE_KEYWORDS,
  typeName,
} from './types.ts';

export interface CsvParseOptions {
  /** Table offset (gen_esp32part `--offset`); default 0x8000. */
  tableOffset?: number;
  /** `--primary-bootloader-offset`, needed only for `bootloader` type entries (IDF ≥ 5.4). */
  primaryBootloaderOffset?: number;
  /** `--recovery-bootloader-offset`. */
  recoveryBootloaderOffset?: number;
  /** Variables for `$NAME` / `${NAME}` expansion. Default: none, so any `$NAME` is an error. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Strip a leading byte-order mark as gen_esp32part does since IDF v6.0. Default false, like
   * v5.5.1, which keeps a UTF-8 BOM as part of the first line.
   */
  stripBom?: boolean;
}

// Python's str.isspace() set (used by str.strip()) and str.splitlines() boundaries.
const PY_SPACE =
  '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const SPACE_CHAR_RE = new RegExp(`^[${PY_SPACE}]$`);
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are Python's str.splitlines() boundaries
const LINES_RE = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/** Longest CSV text accepted, in characters (a full table with comments is a few KiB). */
export const MAX_CSV_CHARS = 1024 * 1024;
/** Longest CSV line accepted, in characters (gen_esp32part's own tables stay under 200). */
export const MAX_CSV_LINE_CHARS = 4096;

const isPySpace = (ch: string): boolean => SPACE_CHAR_RE.test(ch);

/** Python `str.strip()`, in one pass from each end (a regex with a `$` branch is quadratic). */
export function pyStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isPySpace(text[start] as string)) start += 1;
  while (end > start && isPySpace(text[end - 1] as string)) end -= 1;
  return text.slice(start, end);
}

/** Python `str.splitlines()` (no trailing empty line for a final line break). */
export function pySplitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(LINES_RE);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const INT_RE =
  /^([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?[0-9])*|0(?:_?0)*)$/;

/** Python `int(text, 0)`, or undefined where Python raises ValueError. */
export function pyInt(text: string): number | undefined {
  const m = INT_RE.exec(pyStrip(text));
  if (!m) return undefined;
  const digits = (m[2] as string).replace(/_/g, '');
  const value = Number(BigInt(digits));
  return m[1] === '-' ? -value : value;
}

/** An error gen_esp32part raises as InputError while parsing one field. */
class FieldError extends Error {}

/**
 * gen_esp32part `parse_int`: K/M suffixes (it recurses once per suffix; here a loop), int(x, 0),
 * then keyword lookup. A value beyond what a 32-bit table field holds is an error.
 */
export function parseCsvInt(value: string, keywords: ReadonlyArray<readonly [string, number]> = []): number {
  let multiplier = 1;
  let body = value;
  for (;;) {
    const last = body.slice(-1).toLowerCase();
    if (last === 'k') multiplier *= 1024;
    else if (last === 'm') multiplier *= 1024 * 1024;
    else break;
    body = body.slice(0, -1);
  }
  if (multiplier !== 1) {
    const n = parseBareInt(body, keywords);
    const product = n * multiplier;
    if (!Number.isSafeInteger(product) || Math.abs(product) > 0xffff_ffff)
      throw new FieldError(`Value ${value} is out of range (a partition field holds 32 bits)`);
    return product;
  }
  return parseBareInt(value, keywords);
}

function parseBareInt(value: string, keywords: ReadonlyArray<readonly [string, number]>): number {
  const n = pyInt(value);
  if (n !== undefined) return n;
  if (keywords.length === 0) throw new FieldError(`Invalid field value ${value}`);
  const lower = value.toLowerCase();
  const hit = keywords.find(([k]) => k === lower);
  if (hit) return hit[1];
  throw new FieldError(
    `Value '${value}' is not valid. Known keywords: ${keywords.map(([k]) => k).join(', ')}`,
  );
}

interface ParsedLine {
  entry: PartitionEntry;
  /** undefined = place automatically */
  offset: number | undefined;
  lineNo: number;
}

/** Python `'0x%x' % n` (a negative number prints as 0x-10, as in gen_esp32part's messages). */
export function pyHex(n: number): string {
  return n < 0 ? `0x-${(-n).toString(16)}` : `0x${n.toString(16)}`;
}
const hex = pyHex;

function parseLine(line: string, lineNo: number, options: CsvParseOptions, tableOffset: number): ParsedLine {
  const fields = `${line},,,,`.split(',').map(pyStrip);
  const name = fields[0] as string;
  const typeField = fields[1] as string;
  if (typeField === '') throw new FieldError("Field 'type' can't be left empty.");
  const type = parseCsvInt(typeField, TYPE_KEYWORDS);
  const subtypeField = fields[2] as string;
  let subtype: number;
  if (subtypeField === '') {
    if (type === PARTITION_TYPE.app) throw new FieldError('App partition cannot have an empty subtype');
    subtype = DATA_SUBTYPE.undefined;
  } else subtype = parseCsvInt(subtypeField, SUBTYPE_KEYWORDS.get(type) ?? []);

  // parse_address
  let offset: number | undefined;
  const offsetField = fields[3] as string;
  if (type === PARTITION_TYPE.bootloader && subtype === BOOTLOADER_SUBTYPE.primary) {
    offset = options.primaryBootloaderOffset;
  } else if (type === PARTITION_TYPE.bootloader && subtype === BOOTLOADER_SUBTYPE.recovery) {
    offset = options.recoveryBootloaderOffset;
  } else if (type === PARTITION_TYPE.partition_table && subtype === PARTITION_TABLE_SUBTYPE.primary) {
    offset = tableOffset;
  } else offset = offsetField === '' ? undefined : parseCsvInt(offsetField);

  // parse_size
  let size: number | undefined;
  const sizeField = fields[4] as string;
  if (type === PARTITION_TYPE.bootloader) {
    if (options.primaryBootloaderOffset === undefined) {
      throw new FieldError(
        'Primary bootloader offset is not defined. Please use --primary-bootloader-offset',
      );
    }
    size = tableOffset - options.primaryBootloaderOffset;
  } else if (type === PARTITION_TYPE.partition_table) size = PARTITION_TABLE_SIZE;
  else size = sizeField === '' ? undefined : parseCsvInt(sizeField);
  if (size === undefined) throw new FieldError("Size field can't be empty");

  let encrypted = false;
  let readonly = false;
  for (const flag of (fields[5] as string).split(':')) {
    if (flag === 'encrypted') encrypted = true;
    else if (flag === 'readonly') readonly = true;
    else if (flag.length > 0) throw new FieldError(`CSV flag column contains unknown flag '${flag}'`);
  }
  return { entry: { name, type, subtype, offset: offset ?? 0, size, encrypted, readonly }, offset, lineNo };
}

const UNKNOWN_VAR_RE = /(?<!\\)\$\{?([A-Za-z_][A-Za-z0-9_]*)/;
const WORD_RE = /[A-Za-z0-9_]/;

function expandVars(line: string, env: Readonly<Record<string, string | undefined>>): string {
  // os.path.expandvars (`\$(\w+|\{[^}]*\})`, ASCII): known variables are replaced, unknown ones
  // are left as they are. A scan, not that regex: "${" repeated without "}" made it quadratic.
  let out = '';
  let from = 0;
  let nextClose = -2; // index of the next "}" at or after the last search, -1 when none is left
  let i = line.indexOf('$');
  while (i !== -1 && i + 1 < line.length) {
    let end = -1;
    let name = '';
    if (WORD_RE.test(line[i + 1] as string)) {
      end = i + 2;
      while (end < line.length && WORD_RE.test(line[end] as string)) end += 1;
      name = line.slice(i + 1, end);
    } else if (line[i + 1] === '{') {
      if (nextClose !== -1 && nextClose < i + 2) nextClose = line.indexOf('}', i + 2);
      if (nextClose !== -1) {
        end = nextClose + 1;
        name = line.slice(i + 2, nextClose);
      }
    }
    if (end === -1) {
      i = line.indexOf('$', i + 1);
      continue;
    }
    const value = Object.hasOwn(env, name) ? env[name] : undefined;
    if (value !== undefined) {
      out += line.slice(from, i) + value;
      from = end;
    }
    i = line.indexOf('$', end);
  }
  const expanded = out + line.slice(from);
  const unknown = UNKNOWN_VAR_RE.exec(expanded);
  if (unknown) throw new FieldError(`unknown variable '${unknown[1]}'`);
  return expanded;
}

function csvError(message: string, hint?: string): AirflashError {
  return new AirflashError('PARTITION_CSV', message, {
    hint: hint ?? 'Fix that line of the partition CSV (columns: Name, Type, SubType, Offset, Size, Flags).',
  });
}

/**
 * Parse partition CSV text into a table, resolving automatic offsets and negative sizes as
 * gen_esp32part does. Does not validate (see validatePartitionTable). Throws PARTITION_CSV with
 * gen_esp32part's message ("Error at line N: …", "CSV Error at line N: Partitions overlap …").
 */
export function parsePartitionCsv(text: string, options: CsvParseOptions = {}): PartitionTable {
  const tableOffset = options.tableOffset ?? DEFAULT_TABLE_OFFSET;
  const source = options.stripBom && text.startsWith('\ufeff') ? text.slice(1) : text;
  if (source.length > MAX_CSV_CHARS)
    throw csvError(
      `The partition CSV has ${source.length} characters; airflash reads at most ${MAX_CSV_CHARS}.`,
      'A partition table holds at most 95 entries: this is not a partition CSV.',
    );
  const lines = pySplitLines(source);
  const parsed: ParsedLine[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if ((lines[i] as string).length > MAX_CSV_LINE_CHARS)
      throw csvError(
        `Error at line ${i + 1}: the line has ${(lines[i] as string).length} characters; airflash reads at most ${MAX_CSV_LINE_CHARS} per line.`,
      );
    try {
      const line = pyStrip(expandVars(lines[i] as string, options.env ?? {}));
      if (line.startsWith('#') || line.length === 0) continue;
      parsed.push(parseLine(line, i + 1, options, tableOffset));
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      const bomHint =
        i === 0 && source.startsWith('\ufeff')
          ? 'The file starts with a UTF-8 byte-order mark; gen_esp32part before IDF v6.0 reads it as part of the first line. Save the CSV without a BOM.'
          : undefined;
      throw csvError(`Error at line ${i + 1}: ${error.message}`, bomHint);
    }
  }

  // Fix up missing offsets and negative sizes, walking in file order.
  let lastEnd = tableOffset + PARTITION_TABLE_SIZE;
  for (const [index, p] of parsed.entries()) {
    const { entry } = p;
    if (entry.type === PARTITION_TYPE.bootloader && entry.subtype === BOOTLOADER_SUBTYPE.primary) continue;
    if (entry.type === PARTITION_TYPE.partition_table && entry.subtype === PARTITION_TABLE_SUBTYPE.primary)
      continue;
    if (p.offset !== undefined && p.offset < lastEnd) {
      if (index === 0) {
        throw csvError(
          `CSV Error at line ${p.lineNo}: Partitions overlap. Partition sets offset ${hex(p.offset)}. But partition table occupies the whole sector ${hex(tableOffset)}. Use a free offset ${hex(lastEnd)} or higher.`,
          `Partitions start after the partition table: use ${hex(lastEnd)} or leave the offset empty.`,
        );
      }
      throw csvError(
        `CSV Error at line ${p.lineNo}: Partitions overlap. Partition sets offset ${hex(p.offset)}. Previous partition ends ${hex(lastEnd)}`,
        'List partitions with explicit offsets in ascending order, each starting at or after the end of the one before.',
      );
    }
    if (p.offset === undefined) {
      const align = offsetAlignment(entry.type);
      if (lastEnd % align !== 0) lastEnd += align - (lastEnd % align);
      entry.offset = lastEnd;
    } else entry.offset = p.offset;
    if (entry.size < 0) entry.size = -entry.size - entry.offset;
    lastEnd = entry.offset + entry.size;
  }
  return { entries: parsed.map((p) => p.entry) };
}

function formatAddress(value: number, includeSizes: boolean, simple: boolean): string {
  if (!simple && includeSizes) {
    if (value % 0x100000 === 0) return `${value / 0x100000}M`;
    if (value % 0x400 === 0) return `${value / 0x400}K`;
  }
  return hex(value);
}

/**
 * Write CSV as gen_esp32part's to_csv does: header comments, keywords where known, offsets in
 * lower-case hex, sizes as NM / NK / hex. `simple` writes plain numbers (no keywords or suffixes).
 */
export function formatPartitionCsv(table: PartitionTable, options: { simple?: boolean } = {}): string {
  const simple = options.simple === true;
  const rows = ['# ESP-IDF Partition Table', '# Name, Type, SubType, Offset, Size, Flags'];
  for (const e of table.entries) {
    const t = simple ? undefined : typeName(e.type);
    const s = simple ? undefined : subtypeName(e.type, e.subtype);
    const flags = [e.encrypted ? 'encrypted' : '', e.readonly ? 'readonly' : ''].filter((f) => f !== '');
    rows.push(
      [
        e.name,
        t ?? String(e.type),
        s ?? String(e.subtype),
        formatAddress(e.offset, false, simple),
        formatAddress(e.size, true, simple),
        flags.join(':'),
      ].join(','),
    );
  }
  return `${rows.join('\n')}\n`;
}
