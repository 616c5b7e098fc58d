/**
 * The INI layer of platformio.ini (configparser rules, as platformio-core `project/config.py`
 * uses them with `inline_comment_prefixes=("#", ";")`): sections, options, continuation lines,
 * comments, with bounds. No interpolation here: the model (platformio-ini.ts) does that.
 */

import { AirflashError } from '../core/errors.ts';

export interface IniEntry {
  /** The raw value: stripped, continuation lines joined with "\n", not interpolated. */
  value: string;
  /** 1-based line of the `name = value` line. */
  line: number;
}

export interface IniSection {
  name: string;
  /** 1-based line of the `[name]` header. */
  line: number;
  /** Options in file order, names lower-cased. */
  options: Map<string, IniEntry>;
}

export interface IniDocument {
  file: string;
  /** Sections in file order. */
  sections: Map<string, IniSection>;
}

/** Longest platformio.ini accepted, in characters. */
export const MAX_INI_CHARS = 1024 * 1024;
/** Longest line accepted, in characters. */
export const MAX_INI_LINE_CHARS = 64 * 1024;

/** A value quoted in a message: at most 80 characters. */
export function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function configError(file: string, line: number, message: string, hint: string): AirflashError {
  const where = line > 0 ? `${file}:${line}` : file;
  return new AirflashError('CONFIG_INVALID', `${where}: ${message}`, { hint, data: { file, line } });
}

/** Index where an inline comment starts (`;` or `#` at 0 or after whitespace), or -1. */
function inlineCommentStart(line: string): number {
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i];
    if ((ch === ';' || ch === '#') && (i === 0 || /\s/.test(line[i - 1] as string))) return i;
  }
  return -1;
}

/** Parse the INI structure (configparser rules) without interpolation. */
export function parseIni(text: string, file = 'platformio.ini'): IniDocument {
  if (text.length > MAX_INI_CHARS)
    throw configError(
      file,
      0,
      `the file has ${text.length} characters; airflash reads at most ${MAX_INI_CHARS}.`,
      'Is this really platformio.ini? Split large settings into extra_configs files.',
    );
  const sections = new Map<string, IniSection>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  let current: IniSection | undefined;
  let currentOption: { name: string; parts: string[]; line: number } | undefined;
  let indentLevel = Number.POSITIVE_INFINITY;
  const seenOptions = new Set<string>();

  const flush = (): void => {
    if (current && currentOption) {
      current.options.set(currentOption.name, {
        value: currentOption.parts.join('\n').trimEnd(),
        line: currentOption.line,
      });
    }
    currentOption = undefined;
  };

  for (let index = 0; index < lines.length; index += 1) {
    const raw = lines[index] as string;
    const lineNo = index + 1;
    if (raw.length > MAX_INI_LINE_CHARS)
      throw configError(
        file,
        lineNo,
        `the line has ${raw.length} characters; airflash reads at most ${MAX_INI_LINE_CHARS} per line.`,
        'Put long values on indented continuation lines, one item per line.',
      );
    const trimmedStart = raw.trimStart();
    const isFullComment = trimmedStart.startsWith(';') || trimmedStart.startsWith('#');
    const commentAt = isFullComment ? 0 : inlineCommentStart(raw);
    const value = (commentAt === -1 ? raw : raw.slice(0, commentAt)).trim();
    if (value === '') {
      // A blank line (not a comment) inside a value is kept; comment lines are skipped.
      if (commentAt === -1 && currentOption) currentOption.parts.push('');
      continue;
    }
    const indent = raw.length - trimmedStart.length;
    if (current && currentOption && indent > indentLevel) {
      currentOption.parts.push(value);
      continue;
    }
    indentLevel = indent;
    const header = /^\[(.+)\]/.exec(value);
    if (header) {
      flush();
      const name = header[1] as string;
      if (sections.has(name)) {
        const first = sections.get(name) as IniSection;
        throw configError(
          file,
          lineNo,
          `section [${name}] appears twice (first at line ${first.line}).`,
          'Merge the two sections into one: PlatformIO refuses duplicate sections.',
        );
      }
      current = { name, line: lineNo, options: new Map() };
      sections.set(name, current);
      continue;
    }
    if (!current) {
      throw configError(
        file,
        lineNo,
        `"${clip(value)}" comes before any [section] header.`,
        'Every option must sit under a section such as [env:esp32dev].',
      );
    }
    // configparser's `(.*?)\s*[=:]\s*(.*)`: split at the first "=" or ":" (found in one pass).
    const eq = value.search(/[=:]/);
    const optionName = eq === -1 ? '' : value.slice(0, eq).trimEnd().toLowerCase();
    if (eq === -1 || optionName === '') {
      throw configError(
        file,
        lineNo,
        `cannot parse "${clip(value)}" in [${clip(current.name)}]: expected "name = value".`,
        'Write options as "name = value"; continuation lines must be indented.',
      );
    }
    flush();
    const key = `${current.name}\u0000${optionName}`;
    if (seenOptions.has(key)) {
      const first = current.options.get(optionName);
      throw configError(
        file,
        lineNo,
        `option "${optionName}" appears twice in [${current.name}]${first ? ` (first at line ${first.line})` : ''}.`,
        'Keep one definition; for several values use one option with one value per indented line.',
      );
    }
    seenOptions.add(key);
    currentOption = { name: optionName, parts: [value.slice(eq + 1).trim()], line: lineNo };
  }
  flush();
  return { file, sections };
}
