/** Reading upload_flags the way espota reads them, and the way the user meant them. */

import { type EspotaParse, espotaPort, espotaSpecs } from './espota.ts';

/** Split an argv element on whitespace outside quotes. */
export function tokenize(element: string): string[] {
  return element.match(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g) ?? [];
}

export const VALUE_OPTIONS = new Set([
  '-i',
  '--ip',
  '-I',
  '--host_ip',
  '-p',
  '--port',
  '-P',
  '--host_port',
  '-a',
  '--auth',
  '-f',
  '--file',
  '-t',
  '--timeout',
]);

/** The argv elements a user meant when one element holds several flags (or `--opt value`). */
export function intendedPieces(element: string): string[] | undefined {
  if (!element.startsWith('-')) return undefined;
  // "--auth=x,--port=3232": a comma without the space PlatformIO splits on.
  const commaParts = element.split(/\s*,\s*(?=-)/);
  const tokens = commaParts.flatMap((part) => tokenize(part));
  if (tokens.length < 2) return undefined;
  const first = tokens[0] as string;
  const laterFlag = tokens.slice(1).some((t) => t.startsWith('-'));
  const spacedValue = tokens.length === 2 && !first.includes('=') && VALUE_OPTIONS.has(first);
  return laterFlag || spacedValue || commaParts.length > 1 ? tokens : undefined;
}

const AUTH_LIKE_RE =
  /^-{1,2}(?:ota[-_]?)?(?:auth(?:entication|[-_]?key|[-_]?pass(?:word)?)?|pass(?:word|wd|phrase)?|pwd|pw|secret)$/i;

/** `--password` and friends: a name that was meant to be espota's `--auth`. */
export function misspelledAuthName(name: string): boolean {
  if (name === '--auth' || name === '-a') return false;
  if (name.startsWith('--') && name.length > 3 && '--auth'.startsWith(name)) return false; // --au, --aut
  return AUTH_LIKE_RE.test(name) || /^--auth[^=]/i.test(name) || name === '-auth';
}

/** Canonical espota spelling of a setting, for fix snippets. */
export function canonical(dest: string, value: string | undefined): string {
  const spec = espotaSpecs('esp32').find((s) => s.dest === dest);
  const long = spec?.long ?? `--${dest}`;
  return value === undefined ? long : `${long}=${value.trim()}`;
}

export function flagsBlock(lines: string[]): string {
  if (lines.length === 0) return '; no upload_flags needed';
  return ['upload_flags =', ...lines.map((l) => `    ${l}`)].join('\n');
}

/** Same settings (ints compared as numbers): "-p 8266" as one element works, "-a pw" does not. */
export function sameMeaning(a: EspotaParse, b: EspotaParse): boolean {
  if (a.errors.length > 0 || b.errors.length > 0 || a.settings.length !== b.settings.length) return false;
  return a.settings.every((s, i) => {
    const t = b.settings[i];
    if (!t || t.dest !== s.dest) return false;
    const intLike = s.dest === 'port' || s.dest === 'host_port' || s.dest === 'timeout';
    return intLike ? espotaPort(s.value) === espotaPort(t.value) : s.value === t.value;
  });
}

export interface FlagAnalysis {
  /** argv espota receives (user flags first, then what PlatformIO adds). */
  argv: string[];
  actual: EspotaParse;
  intended: EspotaParse;
  /** The port espota would really use. */
  actualPort: number | undefined;
}

/** PlatformIO's own espota flags, appended after upload_flags (docs/protocol.md §7.2). */
export function pioEspotaTail(uploadPort: string, firmware: string): string[] {
  return ['--debug', '--progress', '-i', uploadPort, '-f', firmware];
}
