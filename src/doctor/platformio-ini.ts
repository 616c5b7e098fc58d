/**
 * platformio.ini with PlatformIO's semantics (platformio-core `project/config.py`, which sits on
 * Python's `configparser` with `inline_comment_prefixes=("#", ";")`). Pure: text in, values out.
 *
 * - Sections `[platformio]`, `[env]` (the common base of every `[env:NAME]`), `[env:NAME]`, and
 *   any other `[section]` (for `${section.option}` and `extends`).
 * - Options `name = value` or `name: value`; names are lower-cased, values stripped.
 * - A value continues on lines indented deeper than its option line (blank lines inside are
 *   kept; comment lines are skipped); the parts are joined with "\n".
 * - Full-line comments start with `;` or `#`; inline comments are `;` or `#` preceded by
 *   whitespace (`a = b ;c` → `b`, `a = b;c` → `b;c`).
 * - `extends = a, b`: options are looked up in the section itself, then `a` (and what `a`
 *   extends), then `b`, and for `[env:*]` finally `[env]`. The first definition wins.
 * - `${section.option}` (recursive, with a cycle guard), `${sysenv.NAME}`, `${this.option}`,
 *   `${this.__env__}`; `${NAME}` without a section is an SCons variable and stays as it is.
 * - Multi-value options split on newlines if the value has one, otherwise on ", " (comma +
 *   space); each piece is stripped, empty pieces and `;`/`#` comments are dropped.
 * - Environment overrides for a few options (`PLATFORMIO_UPLOAD_FLAGS` is appended after a
 *   newline, `PLATFORMIO_UPLOAD_PORT` replaces) when `sysenv` is given.
 *
 * Errors (bad syntax, duplicate section/option, unknown `extends`, a reference to a missing
 * option, an interpolation cycle) are AirflashError CONFIG_INVALID naming the file and line.
 */

import { configError, type IniDocument, type IniSection, parseIni } from './ini-parse.ts';
import { replaceTemplates, stripInlineComment } from './ini-scan.ts';

/** Where an option's value came from after `extends` and `[env]` were followed. */
export interface ResolvedOption {
  /** Value after `${...}` interpolation (and environment overrides). */
  value: string;
  /** The raw value before interpolation. */
  raw: string;
  /** The section that defined it (`env:X`, `env`, an extended section), or `sysenv`. */
  section: string;
  /** Line of the definition; 0 when the value came from an environment variable only. */
  line: number;
}

export interface PlatformioConfigOptions {
  /** File name used in error messages and findings. Default "platformio.ini". */
  file?: string;
  /** Environment variables for `${sysenv.X}` and PLATFORMIO_* overrides. Default: none. */
  sysenv?: Readonly<Record<string, string | undefined>>;
}

export interface PlatformioConfig {
  readonly file: string;
  readonly document: IniDocument;
  /** Section names in file order. */
  sections(): string[];
  /** Names of the `[env:NAME]` sections, in file order. */
  envs(): string[];
  /** `[platformio] default_envs`, split (empty when not set). */
  defaultEnvs(): string[];
  /** Option names visible in a section (own, extended, and `[env]` for `env:*`). */
  options(section: string): string[];
  /** The interpolated value with its origin, or undefined when the option is not set. */
  lookup(section: string, option: string): ResolvedOption | undefined;
  /** The interpolated value, or undefined when the option is not set. */
  get(section: string, option: string): string | undefined;
  /** A multi-value option split the way PlatformIO splits it (empty when not set). */
  getList(section: string, option: string): string[];
}

/** Deepest chain of `${section.option}` references followed. */
export const MAX_INTERPOLATION_DEPTH = 32;
/** Longest value after interpolation, and all interpolated text together, in characters. */
export const MAX_VALUE_CHARS = 256 * 1024;
export const MAX_EXPANDED_CHARS = 8 * 1024 * 1024;

/** Options PlatformIO treats as lists ("Multiple: Yes"), by `scope.name`. */
const MULTI_VALUE_OPTIONS: ReadonlySet<string> = new Set([
  'platformio.default_envs',
  'platformio.extra_configs',
  'env.extends',
  'env.build_flags',
  'env.build_src_flags',
  'env.build_unflags',
  'env.build_src_filter',
  'env.src_build_flags',
  'env.src_filter',
  'env.lib_deps',
  'env.lib_ignore',
  'env.lib_extra_dirs',
  'env.extra_scripts',
  'env.upload_flags',
  'env.monitor_filters',
  'env.monitor_flags',
  'env.test_filter',
  'env.test_ignore',
  'env.test_testing_command',
  'env.check_flags',
  'env.check_patterns',
  'env.check_src_filters',
  'env.debug_init_cmds',
  'env.debug_extra_cmds',
  'env.debug_server',
]);

/** Options PlatformIO reads from an environment variable (platformio-core `project/options.py`). */
const SYSENV_OPTIONS: ReadonlyMap<string, { variable: string; multiple: boolean }> = new Map([
  ['env.upload_flags', { variable: 'PLATFORMIO_UPLOAD_FLAGS', multiple: true }],
  ['env.upload_port', { variable: 'PLATFORMIO_UPLOAD_PORT', multiple: false }],
  ['env.build_flags', { variable: 'PLATFORMIO_BUILD_FLAGS', multiple: true }],
  ['env.build_src_flags', { variable: 'PLATFORMIO_BUILD_SRC_FLAGS', multiple: true }],
  ['env.extra_scripts', { variable: 'PLATFORMIO_EXTRA_SCRIPTS', multiple: true }],
  ['platformio.default_envs', { variable: 'PLATFORMIO_DEFAULT_ENVS', multiple: true }],
  ['platformio.src_dir', { variable: 'PLATFORMIO_SRC_DIR', multiple: false }],
  ['platformio.build_dir', { variable: 'PLATFORMIO_BUILD_DIR', multiple: false }],
]);

function scopeOf(section: string): string {
  const colon = section.indexOf(':');
  return colon === -1 ? section : section.slice(0, colon);
}

/** True when PlatformIO treats `option` in `section` as a list. */
export function isMultiValueOption(section: string, option: string): boolean {
  return MULTI_VALUE_OPTIONS.has(`${scopeOf(section)}.${option}`);
}

/**
 * Split a multi-value option like PlatformIO's `parse_multi_values`: on newlines if the value
 * has one, otherwise on ", " (comma + space); strip; drop empty pieces and comment pieces.
 */
export function splitMultiValue(value: string): string[] {
  const pieces = value.split(value.includes('\n') ? '\n' : ', ');
  const out: string[] = [];
  for (const piece of pieces) {
    let item = piece.trim();
    if (item === '' || item.startsWith(';') || item.startsWith('#')) continue;
    if (item.includes(';')) item = stripInlineComment(item).trim();
    out.push(item);
  }
  return out;
}

/** Parse platformio.ini text and check extends and interpolations eagerly. */
export function parsePlatformioIni(text: string, options: PlatformioConfigOptions = {}): PlatformioConfig {
  const file = options.file ?? 'platformio.ini';
  const sysenv = options.sysenv ?? {};
  const document = parseIni(text, file);
  const { sections } = document;

  const extendsOf = (section: IniSection): string[] => {
    const entry = section.options.get('extends');
    return entry ? splitMultiValue(entry.value) : [];
  };

  // Every `extends` must name an existing section, and must not loop.
  for (const section of sections.values()) {
    for (const target of extendsOf(section)) {
      if (!sections.has(target)) {
        const line = section.options.get('extends')?.line ?? section.line;
        const known = [...sections.keys()].map((s) => `[${s}]`).join(', ');
        throw configError(
          file,
          line,
          `[${section.name}] extends "${target}", but there is no section [${target}].`,
          `Name an existing section (known: ${known}); an env is extended as "env:NAME".`,
        );
      }
    }
  }

  /** Sections to search for an option, in precedence order (first definition wins). */
  const walk = (root: string): string[] => {
    const queue = root.startsWith('env:') ? ['env', root] : [root];
    const done: string[] = [];
    while (queue.length > 0) {
      const name = queue.pop() as string;
      if (done.includes(name)) continue; // extends cycles: visit each section once
      done.push(name);
      const section = sections.get(name);
      if (!section) continue;
      queue.push(...extendsOf(section).reverse());
    }
    return done;
  };

  const rawLookup = (
    section: string,
    option: string,
  ): { raw: string; section: string; line: number } | undefined => {
    for (const name of walk(section)) {
      const entry = sections.get(name)?.options.get(option);
      if (entry) return { raw: entry.value, section: name, line: entry.line };
    }
    return undefined;
  };

  const stack: string[] = [];
  // Each option is interpolated once: without this, `a = ${s.b}${s.b}`, `b = ${s.c}${s.c}`, …
  // costs 2^n lookups.
  const memo = new Map<string, ResolvedOption | undefined>();
  let expandedChars = 0;

  const lookup = (section: string, option: string): ResolvedOption | undefined => {
    const key = `${section}.${option}`;
    if (memo.has(key)) return memo.get(key);
    const result = resolve(section, option, key);
    memo.set(key, result);
    return result;
  };

  const resolve = (section: string, option: string, key: string): ResolvedOption | undefined => {
    let found = rawLookup(section, option);
    const override = SYSENV_OPTIONS.get(`${scopeOf(section)}.${option}`);
    const envValue = override ? sysenv[override.variable] : undefined;
    if (override && envValue !== undefined && envValue !== '') {
      if (override.multiple && found) {
        found = { ...found, raw: found.raw === '' ? envValue : `${found.raw}\n${envValue}` };
      } else {
        found = { raw: envValue, section: 'sysenv', line: 0 };
      }
    }
    if (!found) return undefined;
    if (stack.includes(key)) {
      const chain = [...stack.slice(stack.indexOf(key)), key].map((k) => `\${${k}}`).join(' → ');
      throw configError(
        file,
        found.line,
        `interpolation cycle: ${chain}.`,
        'Break the cycle: one of these options must have a value that does not refer back.',
      );
    }
    if (stack.length >= MAX_INTERPOLATION_DEPTH) {
      throw configError(
        file,
        found.line,
        `\${${key}} is nested more than ${MAX_INTERPOLATION_DEPTH} references deep.`,
        'Refer to the value you need more directly; PlatformIO projects need a few levels at most.',
      );
    }
    stack.push(key);
    try {
      const value = expand(found.raw, section, found.line);
      if (value !== found.raw) {
        expandedChars += value.length;
        if (value.length > MAX_VALUE_CHARS || expandedChars > MAX_EXPANDED_CHARS)
          throw configError(
            file,
            found.line,
            `\${${key}} expands to more than ${value.length > MAX_VALUE_CHARS ? `${MAX_VALUE_CHARS} characters` : `${MAX_EXPANDED_CHARS} characters together with the other values`}.`,
            'An option that refers to another several times doubles with each level: refer to each value once.',
          );
      }
      return { value, raw: found.raw, section: found.section, line: found.line };
    } finally {
      stack.pop();
    }
  };

  const expand = (raw: string, parentSection: string, line: number): string => {
    if (!raw.includes('${') || !raw.includes('}')) return raw;
    return replaceTemplates(raw, (whole, sectionName, optionName) => {
      if (sectionName === undefined) return whole; // SCons / built-in variable: left to PlatformIO
      if (sectionName === 'sysenv') return sysenv[optionName] ?? '';
      let target = sectionName;
      if (sectionName === 'this') {
        target = parentSection;
        if (optionName === '__env__') {
          if (!parentSection.startsWith('env:')) {
            throw configError(
              file,
              line,
              `\${this.__env__} is used in [${parentSection}], which is not an [env:NAME] section.`,
              `Use \${this.__env__} only in values read from an [env:NAME] section.`,
            );
          }
          return parentSection.slice(4);
        }
      }
      if (!sections.has(target) && target !== 'env') {
        throw configError(
          file,
          line,
          `${whole} refers to section [${target}], which does not exist.`,
          `Add a [${target}] section or fix the name in ${whole}.`,
        );
      }
      const resolved = lookup(target, optionName.toLowerCase());
      if (!resolved) {
        throw configError(
          file,
          line,
          `${whole} refers to option "${optionName}" that [${target}] does not define.`,
          `Define ${optionName} in [${target}] or fix the reference.`,
        );
      }
      return isMultiValueOption(target, optionName)
        ? splitMultiValue(resolved.value).join('\n')
        : resolved.value;
    });
  };

  const config: PlatformioConfig = {
    file,
    document,
    sections: () => [...sections.keys()],
    envs: () => [...sections.keys()].filter((s) => s.startsWith('env:')).map((s) => s.slice(4)),
    defaultEnvs: () => config.getList('platformio', 'default_envs'),
    options: (section) => {
      const out = new Set<string>();
      for (const name of walk(section))
        for (const option of sections.get(name)?.options.keys() ?? []) out.add(option);
      return [...out];
    },
    lookup: (section, option) => lookup(section, option.toLowerCase()),
    get: (section, option) => lookup(section, option.toLowerCase())?.value,
    getList: (section, option) => {
      const value = lookup(section, option.toLowerCase())?.value;
      return value === undefined ? [] : splitMultiValue(value);
    },
  };

  // Resolve everything once so that cycles and dangling references fail here, with a line.
  for (const name of sections.keys()) {
    for (const option of config.options(name)) lookup(name, option);
  }
  return config;
}
