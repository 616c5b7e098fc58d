/**
 * What espota.py makes of the argv PlatformIO hands it (docs/protocol.md §7.1–§7.2), close enough
 * to explain a bad `upload_flags`: Python argparse (ESP32 scripts) / optparse (ESP8266 script)
 * rules for `--opt=value`, `--opt value`, `-o value`, `-ovalue`, long-option abbreviations and
 * unknown options. Pure.
 */

export type EspotaCore = 'esp32' | 'esp8266';

export type EspotaDest =
  | 'ip'
  | 'host_ip'
  | 'port'
  | 'host_port'
  | 'auth'
  | 'file'
  | 'spiffs'
  | 'debug'
  | 'progress'
  | 'timeout'
  | 'md5_target';

interface EspotaOptionSpec {
  short: string;
  long: string;
  dest: EspotaDest;
  takesValue: boolean;
  int: boolean;
  /** Only the ESP32 scripts know it. */
  esp32Only: boolean;
}

const SPECS: readonly EspotaOptionSpec[] = [
  { short: '-i', long: '--ip', dest: 'ip', takesValue: true, int: false, esp32Only: false },
  { short: '-I', long: '--host_ip', dest: 'host_ip', takesValue: true, int: false, esp32Only: false },
  { short: '-p', long: '--port', dest: 'port', takesValue: true, int: true, esp32Only: false },
  { short: '-P', long: '--host_port', dest: 'host_port', takesValue: true, int: true, esp32Only: false },
  { short: '-a', long: '--auth', dest: 'auth', takesValue: true, int: false, esp32Only: false },
  { short: '-f', long: '--file', dest: 'file', takesValue: true, int: false, esp32Only: false },
  { short: '-s', long: '--spiffs', dest: 'spiffs', takesValue: false, int: false, esp32Only: false },
  { short: '-d', long: '--debug', dest: 'debug', takesValue: false, int: false, esp32Only: false },
  { short: '-r', long: '--progress', dest: 'progress', takesValue: false, int: false, esp32Only: false },
  { short: '-t', long: '--timeout', dest: 'timeout', takesValue: true, int: true, esp32Only: true },
  { short: '-m', long: '--md5-target', dest: 'md5_target', takesValue: false, int: false, esp32Only: true },
];

/** One option espota recognised, and from which argv element. */
export interface EspotaSetting {
  dest: EspotaDest;
  /** The option as written (`--auth`, `-a`, `--aut`). */
  option: string;
  /** The value espota stores (undefined for flags). */
  value?: string;
  /** Index of the argv element that held the option. */
  index: number;
}

export interface EspotaParse {
  /** Settings in argv order; later ones override earlier ones for the same dest. */
  settings: EspotaSetting[];
  /** Final value per dest (last one wins), `true` for flags. */
  values: Partial<Record<EspotaDest, string | true>>;
  /** What espota would stop with (usage error, exit 2), empty when it would run. */
  errors: string[];
}

/** Python's int(): optional sign, digits, surrounding whitespace allowed. */
function pythonInt(text: string): number | undefined {
  const m = /^\s*([+-]?\d+)\s*$/.exec(text.replace(/_/g, ''));
  return m ? Number.parseInt(m[1] as string, 10) : undefined;
}

export function espotaSpecs(core: EspotaCore): readonly EspotaOptionSpec[] {
  return SPECS.filter((s) => core === 'esp32' || !s.esp32Only);
}

/** Long options that `name` abbreviates (argparse / optparse allow unique prefixes). */
function matchLong(name: string, specs: readonly EspotaOptionSpec[]): EspotaOptionSpec[] {
  const exact = specs.filter((s) => s.long === name);
  if (exact.length > 0) return exact;
  return name.length > 2 ? specs.filter((s) => s.long.startsWith(name)) : [];
}

/**
 * Parse argv the way espota's argparse/optparse would. Each element is one argv element, even
 * when it contains spaces (that is what SCons passes for one `upload_flags` item).
 */
export function parseEspotaArgs(argv: readonly string[], core: EspotaCore): EspotaParse {
  const specs = espotaSpecs(core);
  const settings: EspotaSetting[] = [];
  const errors: string[] = [];
  const unrecognized: string[] = [];

  const store = (spec: EspotaOptionSpec, option: string, value: string | undefined, index: number): void => {
    if (spec.takesValue && spec.int && value !== undefined && pythonInt(value) === undefined) {
      errors.push(`argument ${spec.short}/${spec.long}: invalid int value: '${value}'`);
      return;
    }
    settings.push(
      value === undefined ? { dest: spec.dest, option, index } : { dest: spec.dest, option, value, index },
    );
  };

  let i = 0;
  while (i < argv.length) {
    const arg = argv[i] as string;
    const index = i;
    i += 1;
    if (!arg.startsWith('-') || arg === '-') {
      unrecognized.push(arg);
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg : arg.slice(0, eq);
      const explicit = eq === -1 ? undefined : arg.slice(eq + 1);
      const matches = matchLong(name, specs);
      if (matches.length > 1) {
        errors.push(`ambiguous option: ${name} could match ${matches.map((m) => m.long).join(', ')}`);
        continue;
      }
      const spec = matches[0];
      if (!spec) {
        unrecognized.push(arg);
        continue;
      }
      if (!spec.takesValue) {
        if (explicit !== undefined)
          errors.push(`argument ${spec.short}/${spec.long}: ignored explicit argument '${explicit}'`);
        else store(spec, name, undefined, index);
        continue;
      }
      if (explicit !== undefined) {
        store(spec, name, explicit, index);
        continue;
      }
      const next = argv[i];
      if (next === undefined || (next.startsWith('-') && pythonInt(next) === undefined)) {
        errors.push(`argument ${spec.short}/${spec.long}: expected one argument`);
        continue;
      }
      i += 1;
      store(spec, name, next, index);
      continue;
    }
    // Single dash: "-p 8266" (two elements), "-p8266", "-p=8266", combined flags "-dr". An
    // unknown "-auth=x" is read as "-a" with the value "uth=x", like argparse does.
    let rest = arg.slice(1);
    while (rest.length > 0) {
      const short = `-${rest[0]}`;
      const spec = specs.find((s) => s.short === short);
      if (!spec) {
        unrecognized.push(arg);
        break;
      }
      const tail = rest.slice(1);
      if (!spec.takesValue) {
        store(spec, short, undefined, index);
        rest = tail;
        continue;
      }
      if (tail.length > 0) {
        // argparse: "-a=x" → "x" (split on "=" when "-a" is an option); "-auth=x" → "uth=x".
        store(
          spec,
          short,
          tail.startsWith('=') && rest.length === arg.length - 1 ? tail.slice(1) : tail,
          index,
        );
      } else {
        const next = argv[i];
        if (next === undefined || (next.startsWith('-') && pythonInt(next) === undefined)) {
          errors.push(`argument ${spec.short}/${spec.long}: expected one argument`);
        } else {
          i += 1;
          store(spec, short, next, index);
        }
      }
      break;
    }
  }
  if (unrecognized.length > 0) errors.push(`unrecognized arguments: ${unrecognized.join(' ')}`);

  const values: Partial<Record<EspotaDest, string | true>> = {};
  for (const s of settings) values[s.dest] = s.value ?? true;
  return { settings, values, errors };
}

/** Parse an espota port value like Python's int(). */
export function espotaPort(value: string | true | undefined): number | undefined {
  return typeof value === 'string' ? pythonInt(value) : undefined;
}
