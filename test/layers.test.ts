/**
 * The layer table of docs/architecture.md, enforced: every `import`, `export … from` and `import()`
 * of src/**\/*.ts is parsed (TypeScript's own parser), its relative specifier resolved, and the
 * importing and imported files' layers checked against the table read from the doc itself, so
 * the doc and the check cannot drift. Also: a dynamic import names its module by a literal, and
 * no file in src/ is over 400 lines.
 *
 * EXPECTED_VIOLATIONS and OVERSIZED only shrink: they are what the redesign (issue 15) is removing
 * in parallel slices. A violation not listed fails; a listed one that is gone fails too (remove
 * it from the list), so the lists stay true.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..');
const MAX_LINES = 400;

/** Known violations (`file → import (rule)`), being removed by the slices of issue 15. */
const EXPECTED_VIOLATIONS: readonly string[] = [
  // S6 (devices): the default-port rule reads ArduinoOTA's wire constants.
  'src/devices/ports.ts → src/protocols/arduino-ota/wire/index.ts (devices may not import protocols/arduino-ota/wire)',
  // S3 (probe, diagnosis): doctor re-exported from diagnosis; the probe uses the diagnose folder's types and imports discovery.
  'src/diagnosis/index.ts → src/doctor/doctor.ts (diagnosis may not import doctor)',
  'src/diagnosis/index.ts → src/doctor/platformio-ini.ts (diagnosis may not import doctor)',
  'src/diagnosis/index.ts → src/doctor/probe.ts (diagnosis may not import doctor)',
  'src/protocols/arduino-ota/host/probe-loop.ts → src/protocols/arduino-ota/diagnose/types.ts (protocols/arduino-ota/host may not import protocols/arduino-ota/diagnose)',
  'src/protocols/arduino-ota/host/probe.ts → src/discovery/index.ts (protocols/arduino-ota/host may import only types of discovery)',
  'src/protocols/arduino-ota/host/probe.ts → src/protocols/arduino-ota/diagnose/facts.ts (protocols/arduino-ota/host may not import protocols/arduino-ota/diagnose)',
  'src/protocols/arduino-ota/host/probe.ts → src/protocols/arduino-ota/diagnose/types.ts (protocols/arduino-ota/host may not import protocols/arduino-ota/diagnose)',
  'src/protocols/arduino-ota/host/probe.ts → src/upload/index.ts (protocols/arduino-ota/host may not import upload)',
  // S4 (doctor): the probe is loaded through a string variable.
  'src/doctor/probe.ts → import(specifier) (a dynamic import names its module by a literal)',
  // S1 (emulator): the board knows ArduinoOTA types; the device shell reaches above the board.
  'src/emulator/board/core-profile.ts → src/protocols/arduino-ota/wire/index.ts (emulator/board may not import protocols/arduino-ota/wire)',
  'src/emulator/board/state-dir.ts → src/protocols/arduino-ota/wire/index.ts (emulator/board may not import protocols/arduino-ota/wire)',
  'src/protocols/arduino-ota/device/device.ts → src/discovery/index.ts (protocols/arduino-ota/device may not import discovery)',
  'src/protocols/arduino-ota/device/device.ts → src/emulator/device-options.ts (protocols/arduino-ota/device may not import emulator)',
  'src/protocols/arduino-ota/device/device.ts → src/emulator/link.ts (protocols/arduino-ota/device may not import emulator)',
  'src/protocols/arduino-ota/device/device.ts → src/emulator/types.ts (protocols/arduino-ota/device may not import emulator)',
  // S2 (host): the session's defaults and image reader live in upload/.
  'src/protocols/arduino-ota/host/handshake.ts → src/upload/defaults.ts (protocols/arduino-ota/host may not import upload)',
  'src/protocols/arduino-ota/host/transfer-limits.ts → src/upload/defaults.ts (protocols/arduino-ota/host may not import upload)',
  'src/protocols/arduino-ota/host/transfer.ts → src/upload/defaults.ts (protocols/arduino-ota/host may not import upload)',
  'src/protocols/arduino-ota/host/transfer.ts → src/upload/image.ts (protocols/arduino-ota/host may not import upload)',
  'src/protocols/arduino-ota/host/wrong-port.ts → src/upload/image.ts (protocols/arduino-ota/host may not import upload)',
  // S5 (upload, fleet): the front and the fleet call ArduinoOTA directly; the host and the diagnosis
  // rules use the front's option and observation types.
  'src/fleet/fleet.ts → src/protocols/arduino-ota/host/fleet-probe.ts (fleet may not import protocols/arduino-ota/host)',
  'src/fleet/preflight.ts → src/protocols/arduino-ota/wire/index.ts (fleet may not import protocols/arduino-ota/wire)',
  'src/protocols/arduino-ota/diagnose/facts.ts → src/upload/index.ts (protocols/arduino-ota/diagnose may not import upload)',
  'src/protocols/arduino-ota/host/handshake.ts → src/upload/types.ts (protocols/arduino-ota/host may not import upload)',
  'src/protocols/arduino-ota/host/recorder.ts → src/upload/types.ts (protocols/arduino-ota/host may not import upload)',
  'src/protocols/arduino-ota/host/same-offset.ts → src/upload/types.ts (protocols/arduino-ota/host may not import upload)',
  'src/protocols/arduino-ota/host/transfer.ts → src/upload/types.ts (protocols/arduino-ota/host may not import upload)',
  'src/protocols/arduino-ota/host/wrong-port.ts → src/upload/types.ts (protocols/arduino-ota/host may not import upload)',
  'src/upload/index.ts → src/protocols/arduino-ota/host/transfer.ts (upload may not import protocols/arduino-ota/host)',
  'src/upload/types.ts → src/protocols/arduino-ota/wire/index.ts (upload may not import protocols/arduino-ota/wire)',
  'src/upload/upload.ts → src/protocols/arduino-ota/host/handshake-errors.ts (upload may not import protocols/arduino-ota/host)',
  'src/upload/upload.ts → src/protocols/arduino-ota/host/handshake.ts (upload may not import protocols/arduino-ota/host)',
  'src/upload/upload.ts → src/protocols/arduino-ota/host/recorder.ts (upload may not import protocols/arduino-ota/host)',
  'src/upload/upload.ts → src/protocols/arduino-ota/host/same-offset.ts (upload may not import protocols/arduino-ota/host)',
  'src/upload/upload.ts → src/protocols/arduino-ota/host/transfer.ts (upload may not import protocols/arduino-ota/host)',
  'src/upload/upload.ts → src/protocols/arduino-ota/host/udp-intake.ts (upload may not import protocols/arduino-ota/host)',
  'src/upload/upload.ts → src/protocols/arduino-ota/host/wrong-port.ts (upload may not import protocols/arduino-ota/host)',
  'src/upload/upload.ts → src/protocols/arduino-ota/wire/index.ts (upload may not import protocols/arduino-ota/wire)',
  'src/upload/upload.ts → src/transport/inbox.ts (upload may not import transport)',
  'src/upload/upload.ts → src/transport/node.ts (upload may not import transport)',
  'src/upload/upload.ts → src/transport/port-check.ts (upload may not import transport)',
];

/** Files over 400 lines, with their length when listed: a listed file may not grow. */
const OVERSIZED: Readonly<Record<string, number>> = {
  'src/cli/commands/upload-fleet.ts': 754,
  'src/discovery/dns-packet.ts': 507,
  'src/doctor/checks.ts': 641,
  'src/doctor/doctor.ts': 467,
  'src/doctor/platformio-ini.ts': 472,
  'src/doctor/source-scan.ts': 421,
  'src/emulator/board/updater.ts': 563,
  'src/fleet/fleet.ts': 582,
  'src/formats/image/build.ts': 502,
  'src/formats/image/inspect.ts': 872,
  'src/protocols/arduino-ota/device/device.ts': 1333,
  'src/protocols/arduino-ota/host/handshake.ts': 658,
  'src/protocols/arduino-ota/host/probe.ts': 812,
  'src/upload/upload.ts': 517,
};

// ------------------------------------------------------------------ the table, from the doc

interface Allowed {
  /** A layer name; `P` stands for the importing file's protocol, `*` for any protocol or layer. */
  layer: string;
  typesOnly: boolean;
}

interface Row {
  layer: string;
  files: RegExp;
  mayImport: Allowed[];
  excluded: string[];
}

/** `src/protocols/*\/wire/**` → a RegExp; `*` is one folder name (captured), `**` any depth. */
function filePattern(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i] ?? '';
    if (glob.startsWith('/**', i)) {
      out += '/.+';
      i += 2;
    } else if (c === '*') out += '([^/]+)';
    else out += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

function readTable(): Row[] {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const start = doc.indexOf('## Layer table');
  assert.ok(start >= 0, 'docs/architecture.md has a "## Layer table" section');
  const rows: Row[] = [];
  for (const line of doc.slice(start).split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length !== 5 || !cells[1]?.startsWith('`')) continue;
    const [, layerCell = '', filesCell = '', importCell = ''] = cells;
    const mayImport: Allowed[] = [];
    const excluded: string[] = [];
    for (const m of importCell.matchAll(/(not )?`([^`]+)`( \(types\))?/g)) {
      const name = m[2] ?? '';
      if (m[1] !== undefined) excluded.push(name);
      else mayImport.push({ layer: name, typesOnly: m[3] !== undefined });
    }
    rows.push({
      layer: layerCell.replaceAll('`', ''),
      files: filePattern(filesCell.replaceAll('`', '')),
      mayImport,
      excluded,
    });
  }
  assert.ok(rows.length > 10, 'the layer table has its rows');
  return rows;
}

interface Placed {
  row: Row;
  /** The layer with `P` replaced by the file's protocol (`protocols/arduino-ota/host`). */
  concrete: string;
  protocol: string | null;
}

function place(file: string, rows: readonly Row[]): Placed | null {
  for (const row of rows) {
    const m = row.files.exec(file);
    if (m === null) continue;
    const protocol = row.layer.includes('/P') ? (m[1] ?? null) : null;
    return {
      row,
      protocol,
      concrete: protocol === null ? row.layer : row.layer.replace('/P', `/${protocol}`),
    };
  }
  return null;
}

/** Whether a layer name of the table (with `P` and `*`) names the imported layer. */
function names(pattern: string, target: Placed, from: Placed): boolean {
  if (pattern === '*') return true;
  const concrete = from.protocol === null ? pattern : pattern.replace('/P', `/${from.protocol}`);
  if (concrete.includes('*')) return filePattern(concrete).test(target.concrete);
  return concrete === target.concrete;
}

// ------------------------------------------------------------------ the imports, from the code

interface ImportSite {
  specifier: string | null;
  /** The source text of a dynamic import's argument that is not a literal. */
  expression?: string;
  typeOnly: boolean;
}

function importsOf(file: string, text = readFileSync(join(ROOT, file), 'utf8')): ImportSite[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const sites: ImportSite[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const typeOnly = ts.isImportDeclaration(node)
        ? node.importClause?.isTypeOnly === true
        : node.isTypeOnly;
      sites.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const e = node.moduleReference.expression;
      sites.push({ specifier: ts.isStringLiteral(e) ? e.text : null, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg !== undefined && ts.isStringLiteralLike(arg))
        sites.push({ specifier: arg.text, typeOnly: false });
      else sites.push({ specifier: null, expression: arg?.getText(source) ?? '', typeOnly: false });
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg) && ts.isStringLiteral(arg.literal)) {
        sites.push({ specifier: arg.literal.text, typeOnly: true });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sites;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

/** Why `file` may not import `target` (`import type` when `typeOnly`), or null when it may. */
function rejection(file: string, target: string, typeOnly: boolean, rows: readonly Row[]): string | null {
  const from = place(file, rows);
  const to = place(target, rows);
  if (from === null) return 'no row of the layer table holds this file';
  if (to === null) return 'no row of the layer table holds the imported file';
  if (to.concrete === from.concrete) return null;
  const part = (p: Placed): string | undefined =>
    p.protocol === null ? undefined : p.concrete.split('/')[2];
  if (
    from.protocol !== null &&
    from.protocol === to.protocol &&
    ((part(from) === 'host' && part(to) === 'device') || (part(from) === 'device' && part(to) === 'host'))
  ) {
    return 'host and device of a protocol never import each other';
  }
  const excluded = from.row.excluded.some((x) => names(x, to, from));
  const granted = excluded ? [] : from.row.mayImport.filter((a) => names(a.layer, to, from));
  if (granted.some((a) => !a.typesOnly || typeOnly)) return null;
  return granted.length > 0
    ? `${from.concrete} may import only types of ${to.concrete}`
    : `${from.concrete} may not import ${to.concrete}`;
}

function violations(): string[] {
  const rows = readTable();
  const found: string[] = [];
  for (const file of walk('src').filter((f) => f.endsWith('.ts'))) {
    if (place(file, rows) === null) {
      found.push(`${file} → (none) (no row of the layer table holds this file)`);
      continue;
    }
    for (const site of importsOf(file)) {
      if (site.specifier === null) {
        found.push(
          `${file} → import(${site.expression ?? ''}) (a dynamic import names its module by a literal)`,
        );
        continue;
      }
      if (!site.specifier.startsWith('.')) continue; // node: builtins and packages
      const target = relative(ROOT, resolve(ROOT, dirname(file), site.specifier))
        .split('\\')
        .join('/');
      if (!target.startsWith('src/')) continue; // package.json (the version)
      const why = rejection(file, target, site.typeOnly, rows);
      if (why !== null) found.push(`${file} → ${target} (${why})`);
    }
  }
  return [...new Set(found)].sort();
}

// ------------------------------------------------------------------ the checks

test('every import in src/ follows the layer table of docs/architecture.md', (t) => {
  const found = violations();
  for (const v of found) t.diagnostic(v);
  const expected = new Set(EXPECTED_VIOLATIONS);
  const unexpected = found.filter((v) => !expected.has(v));
  const gone = EXPECTED_VIOLATIONS.filter((v) => !found.includes(v));
  assert.deepEqual(
    { unexpected, gone },
    { unexpected: [], gone: [] },
    `${unexpected.length} import(s) break the layer table:\n${unexpected.join('\n')}\n` +
      `${gone.length} expected violation(s) are fixed; remove them from EXPECTED_VIOLATIONS:\n${gone.join('\n')}`,
  );
});

test('the layer table reads as the doc says: host and device apart, wire pure, cli and dashboard on top', () => {
  const rows = readTable();
  const row = (layer: string): Row => {
    const r = rows.find((x) => x.layer === layer);
    assert.ok(r, layer);
    return r;
  };
  assert.deepEqual(row('core').mayImport, []);
  assert.deepEqual(
    row('protocols/P/wire').mayImport.map((a) => a.layer),
    ['core', 'formats'],
  );
  for (const [a, b] of [
    ['protocols/P/host', 'device'],
    ['protocols/P/device', 'host'],
  ] as const) {
    assert.ok(!row(a).mayImport.some((x) => x.layer.endsWith(`/${b}`)), `${a} may not import ${b}`);
  }
  const everything = rows.filter((r) => r.mayImport.some((a) => a.layer === '*')).map((r) => r.layer);
  assert.deepEqual(everything.sort(), ['cli', 'dashboard', 'index']);
  // A file is placed in the first row that holds it.
  const arduino = place('src/protocols/arduino-ota/host/handshake.ts', rows);
  assert.equal(arduino?.concrete, 'protocols/arduino-ota/host');
  assert.equal(place('src/emulator/board/flash.ts', rows)?.row.layer, 'emulator/board');
  assert.equal(place('src/protocols/esphome/index.ts', rows)?.concrete, 'protocols/esphome');
  assert.equal(place('src/protocols/registry.ts', rows)?.row.layer, 'protocols/registry');
});

test('the check: P is the own protocol, host and device apart, (types) and "not" hold', () => {
  const rows = readTable();
  const check = (from: string, to: string, typeOnly = false) => rejection(from, to, typeOnly, rows);
  const ota = 'src/protocols/arduino-ota';
  assert.equal(check(`${ota}/host/a.ts`, `${ota}/wire/b.ts`), null);
  assert.equal(
    check(`${ota}/host/a.ts`, `${ota}/device/b.ts`),
    'host and device of a protocol never import each other',
  );
  assert.equal(
    check(`${ota}/device/a.ts`, `${ota}/host/b.ts`, true),
    'host and device of a protocol never import each other',
  );
  assert.equal(
    check('src/protocols/esphome/wire/a.ts', `${ota}/wire/b.ts`),
    'protocols/esphome/wire may not import protocols/arduino-ota/wire',
  );
  assert.equal(
    check('src/protocols/esphome/host/a.ts', `${ota}/wire/b.ts`),
    'protocols/esphome/host may not import protocols/arduino-ota/wire',
  );
  assert.equal(
    check(`${ota}/wire/a.ts`, 'src/transport/node.ts'),
    'protocols/arduino-ota/wire may not import transport',
  );
  assert.equal(
    check('src/upload/a.ts', `${ota}/host/b.ts`),
    'upload may not import protocols/arduino-ota/host',
  );
  assert.equal(check('src/upload/a.ts', 'src/protocols/registry.ts'), null);
  assert.equal(check('src/protocols/builtin.ts', `${ota}/index.ts`), null);
  assert.equal(check('src/diagnosis/a.ts', 'src/upload/types.ts', true), null);
  assert.equal(
    check('src/diagnosis/a.ts', 'src/upload/types.ts'),
    'diagnosis may import only types of upload',
  );
  assert.equal(check('src/emulator/a.ts', `${ota}/device/b.ts`), null);
  assert.equal(
    check('src/emulator/board/a.ts', `${ota}/device/b.ts`),
    'emulator/board may not import protocols/arduino-ota/device',
  );
  assert.equal(check('src/core/a.ts', 'src/formats/b.ts'), 'core may not import formats');
  assert.equal(check('src/cli/a.ts', `${ota}/device/b.ts`), null);
  assert.equal(check('src/dashboard/a.ts', 'src/cli/b.ts'), 'dashboard may not import cli');
  assert.equal(check('src/stray.ts', 'src/core/errors.ts'), 'no row of the layer table holds this file');
});

test('the import parser sees static, type-only, re-export and dynamic imports', () => {
  const text = [
    "import { a } from './a.ts';",
    "import type { B } from './b.ts';",
    "export { c } from './c.ts';",
    "export type { D } from './d.ts';",
    "const e = await import('./e.ts');",
    'const f = await import(name);',
    "type G = import('./g.ts').G;",
    "import x = require('./h.ts');",
  ].join('\n');
  assert.deepEqual(importsOf('sample.ts', text), [
    { specifier: './a.ts', typeOnly: false },
    { specifier: './b.ts', typeOnly: true },
    { specifier: './c.ts', typeOnly: false },
    { specifier: './d.ts', typeOnly: true },
    { specifier: './e.ts', typeOnly: false },
    { specifier: null, expression: 'name', typeOnly: false },
    { specifier: './g.ts', typeOnly: true },
    { specifier: './h.ts', typeOnly: false },
  ]);
});

test(`no file in src/ is over ${MAX_LINES} lines, except the listed ones, which may not grow`, (t) => {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const file of walk('src')) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    const allowed = OVERSIZED[file];
    if (allowed !== undefined) {
      seen.add(file);
      if (lines > allowed) problems.push(`${file}: ${lines} lines, grew past its listed ${allowed}`);
      else if (lines <= MAX_LINES) problems.push(`${file}: ${lines} lines now; remove it from OVERSIZED`);
      else t.diagnostic(`${file}: ${lines} lines (allowed for now)`);
    } else if (lines > MAX_LINES) problems.push(`${file}: ${lines} lines (over ${MAX_LINES})`);
  }
  for (const file of Object.keys(OVERSIZED)) {
    if (!seen.has(file)) problems.push(`${file}: gone; remove it from OVERSIZED`);
  }
  assert.deepEqual(problems, []);
});
