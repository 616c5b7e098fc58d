/**
 * The one option parser of every airflash command. Each command declares its options as a table
 * (one `OptionSpec` per option: long name, short letter, kind, help, default, choices); the same
 * tables give the unknown-option message, `--help` rows and the shell completion scripts.
 *
 * Accepted spellings: `--opt value`, `--opt=value`, `-o value`, `-ovalue`, `-o=value`, clustered
 * flags (`-dr`), `--` ends the options, the last of a repeated option wins (every occurrence is
 * kept in `occurrences`). Long names must be given in full: `--a` is not `--auth` (an
 * abbreviation that silently picks an option is how a password ends up in the wrong place);
 * an unknown option is BAD_ARGUMENT (exit 2) with a did-you-mean and the command's help.
 *
 * A number option may carry its rules (`integer`, `min`, `max`, `positive`), checked as it is
 * read, and `readOptions` gives every command the values keyed by the library option each one
 * sets (`to`), seconds already in milliseconds: upload, fleet and emulate read their arguments
 * through it, with no loop or table of their own.
 */
import { AirflashError } from '../core/errors.ts';
import { didYouMean } from '../core/suggest.ts';

export interface OptionSpec<N extends string = string> {
  /** Key in `ParsedArgs.values` (default: the long name). */
  name?: N;
  /** Long name without the dashes (`auth`, `host_ip`, `md5-target`). */
  long: string;
  /** One-letter short form. */
  short?: string;
  /** 'string' takes a value; 'number' a number; 'flag' none. */
  kind: 'string' | 'number' | 'flag';
  help: string;
  /** Placeholder for the value in help and completion (FILE, N, HOST …). */
  arg?: string;
  /** The values allowed (checked by the parser; offered by the completion). */
  choices?: readonly string[];
  /** What the completion offers for the value. */
  complete?: 'file' | 'dir';
  /** The option may be given several times (all kept in `occurrences`). */
  repeatable?: boolean;
  /** From espota.py (same meaning). */
  espota?: boolean;
  /** Not listed in --help or the completion. */
  hidden?: boolean;
  /** The key `readOptions` gives the value under: the library option it sets (default: long name). */
  to?: string;
  /** Number rules, checked when the value is read: a whole number, at least `min`, at most `max`. */
  integer?: boolean;
  min?: number;
  max?: number;
  /** Number rule: more than 0 (a wait, a factor). */
  positive?: boolean;
  /** The number is in seconds; `readOptions` gives it in milliseconds (rounded). */
  seconds?: boolean;
}

export interface ParsedArgs<N extends string = string> {
  /** The value of each option given (the last one wins); flags are `true`. */
  values: Partial<Record<N, string | number | true>>;
  /** Every occurrence, in order (repeatable options such as `--target`, `--fault`). */
  occurrences: Array<{ name: N; value: string | number | true }>;
  /** Things the user should know about how the arguments were read. */
  notes: Array<{ code: string; message: string }>;
  positionals: string[];
}

export interface ParseOptionsContext<N extends string> {
  /** The command, for the messages: "upload" → `Run "airflash upload --help"`. */
  command: string;
  /** Called for each value before it is stored; return false to drop it (with a note pushed). */
  accept?: (spec: OptionSpec<N>, value: string | number | true, parsed: ParsedArgs<N>) => boolean;
}

function helpHint(command: string): string {
  return `Run "airflash ${command} --help" for its options.`;
}

/** The BAD_ARGUMENT for an option nobody declared, with the closest declared names. */
export function unknownOption(
  typed: string,
  specs: readonly OptionSpec<string>[],
  command: string,
): AirflashError {
  const long = typed.startsWith('--');
  const bare = typed.replace(/^--?/, '');
  const known = specs.filter((s) => !s.hidden);
  const suggestion = long
    ? didYouMean(
        bare,
        known.map((s) => s.long),
        '--',
      )
    : '';
  return new AirflashError(
    'BAD_ARGUMENT',
    `Unknown option ${typed} for "airflash ${command}".${suggestion}`,
    { hint: helpHint(command), data: { option: typed } },
  );
}

function findLong<N extends string>(name: string, specs: readonly OptionSpec<N>[], command: string) {
  const spec = specs.find((s) => s.long === name);
  if (!spec) throw unknownOption(`--${name}`, specs, command);
  return spec;
}

function findShort<N extends string>(ch: string, specs: readonly OptionSpec<N>[], command: string) {
  const spec = specs.find((o) => o.short === ch);
  if (!spec) throw unknownOption(`-${ch}`, specs, command);
  return spec;
}

/** `-p/--port` or `--port`, as messages name an option. */
export function optionLabel(spec: OptionSpec<string>): string {
  return `${spec.short ? `-${spec.short}/` : ''}--${spec.long}`;
}

/** What a number option's rules allow, for the message: "a whole number of at least 1". */
function ruleText(spec: OptionSpec<string>): string {
  if (spec.positive) return 'more than 0';
  if (spec.max === 65535) return `a port number (${spec.min ?? 0}-65535)`;
  const kind = spec.integer ? 'a whole number' : 'a number';
  const from = spec.min === undefined || (spec.integer && spec.min === 0) ? '' : ` of at least ${spec.min}`;
  return `${kind}${from}${spec.max === undefined ? '' : ` up to ${spec.max}`}`;
}

/** The BAD_ARGUMENT for a number its option's rules do not allow. */
export function checkNumberRules(spec: OptionSpec<string>, n: number, command: string): number {
  const ok =
    (!spec.positive || n > 0) &&
    (!spec.integer || Number.isInteger(n)) &&
    (spec.min === undefined || n >= spec.min) &&
    (spec.max === undefined || n <= spec.max);
  if (!ok)
    throw new AirflashError('BAD_ARGUMENT', `--${spec.long} must be ${ruleText(spec)}, not ${n}.`, {
      hint: helpHint(command),
    });
  return n;
}

function convert<N extends string>(spec: OptionSpec<N>, raw: string, command: string): string | number {
  if (spec.kind === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n))
      throw new AirflashError('BAD_ARGUMENT', `Option ${optionLabel(spec)} needs a number, not "${raw}".`, {
        hint: helpHint(command),
      });
    return checkNumberRules(spec, n, command);
  }
  if (spec.choices !== undefined && !spec.choices.includes(raw))
    throw new AirflashError(
      'BAD_ARGUMENT',
      `Option ${optionLabel(spec)} must be ${spec.choices.join(', ')}; not "${raw}".${didYouMean(raw, spec.choices)}`,
      { hint: helpHint(command) },
    );
  return raw;
}

/** Parse one command's arguments against its option table. Throws BAD_ARGUMENT on a usage error. */
export function parseOptions<N extends string>(
  argv: readonly string[],
  specs: readonly OptionSpec<N>[],
  context: ParseOptionsContext<N>,
): ParsedArgs<N> {
  const { command } = context;
  const parsed: ParsedArgs<N> = { values: {}, occurrences: [], notes: [], positionals: [] };
  const set = (spec: OptionSpec<N>, raw: string | true): void => {
    const value = raw === true ? raw : convert(spec, raw, command);
    if (context.accept && !context.accept(spec, value, parsed)) return;
    const key = (spec.name ?? spec.long) as N;
    parsed.values[key] = value;
    parsed.occurrences.push({ name: key, value });
  };
  const needValue = (spec: OptionSpec<N>, i: number): string => {
    const next = argv[i + 1];
    if (next === undefined)
      throw new AirflashError('BAD_ARGUMENT', `Option ${optionLabel(spec)} needs a value.`, {
        hint: helpHint(command),
      });
    return next;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      parsed.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const spec = findLong(eq === -1 ? arg.slice(2) : arg.slice(2, eq), specs, command);
      if (spec.kind === 'flag') {
        if (eq !== -1)
          throw new AirflashError('BAD_ARGUMENT', `Option --${spec.long} takes no value.`, {
            hint: helpHint(command),
          });
        set(spec, true);
      } else if (eq !== -1) set(spec, arg.slice(eq + 1));
      else {
        set(spec, needValue(spec, i));
        i++;
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg)) {
      // Short options, possibly clustered (-dr) or with an attached value (-p3232).
      for (let j = 1; j < arg.length; j++) {
        const spec = findShort(arg[j] as string, specs, command);
        if (spec.kind === 'flag') {
          set(spec, true);
          continue;
        }
        const rest = arg.slice(j + 1);
        if (rest !== '') set(spec, rest.startsWith('=') ? rest.slice(1) : rest);
        else {
          set(spec, needValue(spec, i));
          i++;
        }
        break;
      }
      continue;
    }
    parsed.positionals.push(arg);
  }
  return parsed;
}

type ValueOf<S> = S extends { kind: 'flag' } ? boolean : S extends { repeatable: true } ? string[] : string;

/** The values of a command's options, keyed by long name, typed from its table. */
export type CommandValues<T extends readonly OptionSpec<string>[]> = {
  [S in T[number] as S['long']]?: ValueOf<S>;
};

/**
 * Parse with `parseOptions` and give the values keyed by long name: flags `true`, repeatable
 * options every value in order, other values as the text given (numbers already checked).
 */
export function parseCommandArgs<const T extends readonly OptionSpec<string>[]>(
  argv: readonly string[],
  specs: T,
  command: string,
): { values: CommandValues<T>; positionals: string[] } {
  const byKey = new Map(specs.map((s) => [s.name ?? s.long, s]));
  const parsed = parseOptions(argv, specs, { command });
  const values: Record<string, string | boolean | string[]> = {};
  for (const { name, value } of parsed.occurrences) {
    const spec = byKey.get(name) as OptionSpec<string>;
    if (spec.kind === 'flag') values[spec.long] = true;
    else if (spec.repeatable) values[spec.long] = [...((values[spec.long] as string[]) ?? []), String(value)];
    else values[spec.long] = String(value);
  }
  return { values: values as CommandValues<T>, positionals: parsed.positionals };
}

type KeyOf<S> = S extends { to: infer K extends string }
  ? K
  : S extends { long: infer L extends string }
    ? L
    : never;
type ReadValueOf<S> = S extends { kind: 'flag' }
  ? true
  : S extends { repeatable: true }
    ? string[]
    : S extends { kind: 'number' }
      ? number
      : S extends { choices: readonly (infer C)[] }
        ? C
        : string;

/** The values `readOptions` gives, keyed by each option's `to` (else its long name), typed from the table. */
export type OptionValues<T extends readonly OptionSpec<string>[]> = {
  [S in T[number] as KeyOf<S>]?: ReadValueOf<S>;
};

/**
 * Read a command's arguments against its table: flags `true`, repeatable options every value in
 * order, numbers checked against their rules (`seconds` ones in milliseconds), each under the
 * key of the library option it sets (`to`, else the long name). Throws BAD_ARGUMENT.
 */
export function readOptions<const T extends readonly OptionSpec<string>[]>(
  argv: readonly string[],
  specs: T,
  context: ParseOptionsContext<string>,
): { values: OptionValues<T>; positionals: string[]; notes: ParsedArgs['notes'] } {
  const byKey = new Map(specs.map((s) => [s.name ?? s.long, s]));
  const parsed = parseOptions(argv, specs, context);
  const values: Record<string, string | number | true | string[]> = {};
  for (const { name, value } of parsed.occurrences) {
    const spec = byKey.get(name) as OptionSpec<string>;
    const key = spec.to ?? spec.long;
    if (spec.repeatable) values[key] = [...((values[key] as string[] | undefined) ?? []), String(value)];
    else if (spec.seconds && typeof value === 'number') values[key] = Math.round(value * 1000);
    else values[key] = value;
  }
  return { values: values as OptionValues<T>, positionals: parsed.positionals, notes: parsed.notes };
}

/** The "Options:" rows of a command's help, from its table. */
export function optionsHelp(specs: readonly OptionSpec<string>[]): string {
  const rows = specs
    .filter((s) => !s.hidden)
    .map((s) => {
      const value = s.kind === 'flag' ? '' : ` ${s.arg ?? (s.kind === 'number' ? 'N' : 'VALUE')}`;
      const flag = `${s.short ? `-${s.short}, ` : '    '}--${s.long}${value}`;
      return [flag, s.help] as const;
    });
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`).join('\n');
}

/** The value of a string option, if given. */
export function stringValue(v: string | number | true | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The value of a number option, if given. */
export function numberValue(v: string | number | true | undefined): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

/** A positive number option (optionally a whole number), or BAD_ARGUMENT naming it. */
export function positiveOption(
  v: string | number | true | undefined,
  label: string,
  whole = false,
): number | undefined {
  const n = numberValue(v);
  if (n === undefined) return undefined;
  if (!(n > 0) || (whole && !Number.isInteger(n)))
    throw new AirflashError(
      'BAD_ARGUMENT',
      `${label} must be a ${whole ? 'whole ' : ''}number above 0, not ${n}.`,
    );
  return n;
}
