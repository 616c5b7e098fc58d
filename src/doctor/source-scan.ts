/**
 * A light static look at Arduino sketches for OTA problems: is `ArduinoOTA.begin()` called, is
 * `ArduinoOTA.handle()` reachable from `loop()`, and how long does `loop()` block in `delay()`.
 * Not a C++ parser: comments and string literals are masked, functions are found by
 * `name(...) {` at brace depth 0, and `delay()` arguments are evaluated when they are constant
 * expressions (numbers, + - * /, parentheses, `#define` / `const` names, `pdMS_TO_TICKS`,
 * `portTICK_PERIOD_MS`). Pure: files in, facts out.
 */

import { evaluateConstant, lineAt, type Masked, maskSource, matchBracket, unescapeC } from './c-source.ts';

export interface SourceFile {
  /** Path relative to the project, with forward slashes. */
  path: string;
  text: string;
}

export interface SourceLocation {
  path: string;
  line: number;
}

export interface DelayCall extends SourceLocation {
  /** The call as written, e.g. `delay(30000)`. */
  call: string;
  /** Milliseconds when the argument is a constant expression. */
  ms?: number;
  /** The function the call sits in. */
  inFunction: string;
  /** Call chain from loop(), e.g. ["loop", "readSensors"]. */
  via: string[];
}

export interface CallWithArgument extends SourceLocation {
  call: string;
  /** A string literal argument, unescaped, when the argument is one. */
  literal?: string;
  /** A numeric argument, when the argument is a constant expression. */
  number?: number;
}

export interface SourceScan {
  files: string[];
  /** Any mention of ArduinoOTA (include, object). */
  mentionsArduinoOTA: boolean;
  begin: CallWithArgument[];
  handle: SourceLocation[];
  /** Where `void loop()` is defined (Arduino). */
  loop?: SourceLocation;
  /** handle() is called from loop() directly or through functions defined in the project. */
  handleReachableFromLoop: boolean;
  /** Functions (other than loop's call tree) that call handle(), e.g. a FreeRTOS task. */
  handleOutsideLoop: string[];
  /** delay()/vTaskDelay() calls in loop() and the project functions it calls. */
  loopDelays: DelayCall[];
  /** Sum of the constant delays found on loop()'s call tree (an upper-bound guess of the period). */
  loopDelayTotalMs: number;
  setPort: CallWithArgument[];
  setPassword: CallWithArgument[];
  setPasswordHash: CallWithArgument[];
  /** Deep sleep calls on loop()'s call tree (the device is offline most of the time). */
  deepSleep: SourceLocation[];
}

/** Source extensions airflash scans. */
export const SOURCE_EXTENSIONS: readonly string[] = [
  '.ino',
  '.pde',
  '.cpp',
  '.cc',
  '.cxx',
  '.c',
  '.h',
  '.hpp',
];

interface FunctionDef {
  name: string;
  file: SourceFile;
  masked: Masked;
  /** Offsets of the body braces. */
  open: number;
  close: number;
}

const KEYWORDS = new Set(['if', 'for', 'while', 'switch', 'return', 'sizeof', 'catch', 'else', 'do', 'case']);

/** Function definitions at brace depth 0 (and inside namespaces/classes, loosely). */
function findFunctions(file: SourceFile, masked: Masked): FunctionDef[] {
  const out: FunctionDef[] = [];
  const re = /([A-Za-z_]\w*(?:::[A-Za-z_~]\w*)*)\s*\(/g;
  const { bare } = masked;
  let depth = 0;
  let scanFrom = 0;
  for (let m = re.exec(bare); m !== null; m = re.exec(bare)) {
    for (let k = scanFrom; k < m.index; k += 1) {
      if (bare[k] === '{') depth += 1;
      else if (bare[k] === '}') depth -= 1;
    }
    scanFrom = m.index;
    if (depth !== 0) continue;
    const fullName = m[1] as string;
    const name = fullName.split('::').pop() as string;
    if (KEYWORDS.has(name)) continue;
    const parenOpen = m.index + (m[0] as string).length - 1;
    const parenClose = matchBracket(bare, parenOpen);
    if (parenClose === -1) continue;
    // After the parameter list: optional qualifiers, then "{".
    const after = /^\s*(?:const\s*|noexcept\s*|override\s*|IRAM_ATTR\s*)*\{/.exec(bare.slice(parenClose + 1));
    if (!after) continue;
    const open = parenClose + (after[0] as string).length;
    const close = matchBracket(bare, open);
    if (close === -1) continue;
    out.push({ name, file, masked, open, close });
    // Skip the body.
    re.lastIndex = close + 1;
    scanFrom = close + 1;
  }
  return out;
}

function collectConstants(files: { masked: Masked }[]): Map<string, string> {
  const constants = new Map<string, string>();
  for (const { masked } of files) {
    for (const m of masked.code.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+([^\n]+)$/gm)) {
      constants.set(m[1] as string, (m[2] as string).trim());
    }
    for (const m of masked.code.matchAll(
      /\b(?:static\s+)?(?:const|constexpr)\s+(?:unsigned\s+|signed\s+)?(?:long\s+long|long|int|short|uint\d+_t|int\d+_t|size_t|auto|TickType_t|u?int)\s+([A-Za-z_]\w*)\s*=\s*([^;]+);/g,
    )) {
      constants.set(m[1] as string, (m[2] as string).trim());
    }
    for (const m of masked.code.matchAll(
      /\b(?:static\s+)?(?:const\s+)?(?:char\s*\*\s*(?:const\s+)?|char\s+|String\s+|std::string\s+)([A-Za-z_]\w*)\s*(?:\[\s*\d*\s*\])?\s*=\s*("(?:[^"\\\n]|\\.)*")\s*;/g,
    )) {
      constants.set(m[1] as string, m[2] as string);
    }
  }
  return constants;
}

/** A string literal, or a name whose `#define` / `const char*` value is one (a few levels deep). */
function stringConstant(
  expression: string,
  constants: ReadonlyMap<string, string>,
  depth = 0,
): string | undefined {
  const lit = /^\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(expression);
  if (lit) return unescapeC(lit[1] as string);
  const name = /^\s*([A-Za-z_]\w*)\s*$/.exec(expression)?.[1];
  const def = name === undefined ? undefined : constants.get(name);
  return def === undefined || depth > 4 ? undefined : stringConstant(def, constants, depth + 1);
}

/** Scan project sources for OTA facts. */
export function scanSources(files: readonly SourceFile[]): SourceScan {
  const prepared = files.map((file) => ({ file, masked: maskSource(file.text) }));
  const constants = collectConstants(prepared);
  const functions = prepared.flatMap(({ file, masked }) => findFunctions(file, masked));
  const byName = new Map<string, FunctionDef[]>();
  for (const f of functions) byName.set(f.name, [...(byName.get(f.name) ?? []), f]);

  const scan: SourceScan = {
    files: files.map((f) => f.path),
    mentionsArduinoOTA: prepared.some(({ masked }) => /\bArduinoOTA\b/.test(masked.bare)),
    begin: [],
    handle: [],
    handleReachableFromLoop: false,
    handleOutsideLoop: [],
    loopDelays: [],
    loopDelayTotalMs: 0,
    setPort: [],
    setPassword: [],
    setPasswordHash: [],
    deepSleep: [],
  };

  const argumentOf = (masked: Masked, parenOpen: number): { code: string; bare: string } | undefined => {
    const close = matchBracket(masked.bare, parenOpen);
    if (close === -1) return undefined;
    return { code: masked.code.slice(parenOpen + 1, close), bare: masked.bare.slice(parenOpen + 1, close) };
  };

  const callsOf = (masked: Masked, file: SourceFile, method: string): CallWithArgument[] => {
    const out: CallWithArgument[] = [];
    const re = new RegExp(`\\bArduinoOTA\\s*(?:\\.|->)\\s*${method}\\s*\\(`, 'g');
    for (const m of masked.bare.matchAll(re)) {
      const parenOpen = m.index + m[0].length - 1;
      const arg = argumentOf(masked, parenOpen);
      const call: CallWithArgument = {
        path: file.path,
        line: lineAt(masked.bare, m.index),
        call: `ArduinoOTA.${method}(${arg ? arg.code.trim() : ''})`,
      };
      if (arg) {
        const literal = stringConstant(arg.code, constants);
        if (literal !== undefined) call.literal = literal;
        else {
          const n = evaluateConstant(arg.code, constants);
          if (n !== undefined) call.number = n;
        }
      }
      out.push(call);
    }
    return out;
  };

  for (const { file, masked } of prepared) {
    scan.begin.push(...callsOf(masked, file, 'begin'));
    scan.handle.push(...callsOf(masked, file, 'handle').map(({ path, line }) => ({ path, line })));
    scan.setPort.push(...callsOf(masked, file, 'setPort'));
    scan.setPassword.push(...callsOf(masked, file, 'setPassword'));
    scan.setPasswordHash.push(...callsOf(masked, file, 'setPasswordHash'));
  }

  const loopDef = byName.get('loop')?.[0];
  const callsHandle = (f: FunctionDef): boolean =>
    /\bArduinoOTA\s*(?:\.|->)\s*handle\s*\(/.test(f.masked.bare.slice(f.open, f.close));

  if (loopDef) {
    scan.loop = { path: loopDef.file.path, line: lineAt(loopDef.masked.bare, loopDef.open) };
    // Walk loop()'s call tree through functions defined in the project.
    const visited = new Set<FunctionDef>();
    const walk = (f: FunctionDef, via: string[]): void => {
      if (visited.has(f) || via.length > 6) return;
      visited.add(f);
      const chain = [...via, f.name];
      const body = f.masked.bare.slice(f.open, f.close);
      if (callsHandle(f)) scan.handleReachableFromLoop = true;
      for (const m of body.matchAll(/\b(delay|vTaskDelay)\s*\(/g)) {
        const parenOpen = f.open + m.index + m[0].length - 1;
        const arg = argumentOf(f.masked, parenOpen);
        const call: DelayCall = {
          path: f.file.path,
          line: lineAt(f.masked.bare, f.open + m.index),
          call: `${m[1] as string}(${arg ? arg.code.trim() : ''})`,
          inFunction: f.name,
          via: chain,
        };
        const ms = arg ? evaluateConstant(arg.code, constants) : undefined;
        if (ms !== undefined) call.ms = ms;
        scan.loopDelays.push(call);
      }
      for (const m of body.matchAll(/\b(esp_deep_sleep_start|esp_deep_sleep|deepSleep)\s*\(/g)) {
        scan.deepSleep.push({ path: f.file.path, line: lineAt(f.masked.bare, f.open + m.index) });
      }
      for (const m of body.matchAll(/(?<![.>:\w])([A-Za-z_]\w*)\s*\(/g)) {
        const name = m[1] as string;
        if (KEYWORDS.has(name) || name === f.name) continue;
        for (const callee of byName.get(name) ?? []) walk(callee, chain);
      }
    };
    walk(loopDef, []);
    scan.loopDelayTotalMs = scan.loopDelays.reduce((total, d) => total + (d.ms ?? 0), 0);
    for (const f of functions) {
      if (!visited.has(f) && callsHandle(f)) scan.handleOutsideLoop.push(f.name);
    }
  } else {
    for (const f of functions) if (callsHandle(f)) scan.handleOutsideLoop.push(f.name);
  }
  return scan;
}
