/**
 * The layer table of docs/architecture.md, enforced: every `import`, `export … from` and `import()`
 * of src/**\/*.ts is parsed (TypeScript's own parser), its relative specifier resolved, and the
 * importing and imported files' layers checked against the table read from the doc itself, so
 * the doc and the check cannot drift. Also: a dynamic import names its module by a literal, and
 * no file in src/ is over 400 lines. No exceptions are listed: a new violation fails.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  importsOf,
  place,
  ROOT,
  type Row,
  readTable,
  rejection,
  violations,
  walk,
} from './helpers/layer-table.ts';

const MAX_LINES = 400;

// ------------------------------------------------------------------ the checks

test('every import in src/ follows the layer table of docs/architecture.md', (t) => {
  const found = violations();
  for (const v of found) t.diagnostic(v);
  assert.deepEqual(found, [], `${found.length} import(s) break the layer table:\n${found.join('\n')}`);
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
  assert.equal(check('src/diagnosis/a.ts', 'src/upload/upload.ts', true), null);
  assert.equal(
    check('src/diagnosis/a.ts', 'src/upload/upload.ts'),
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

test(`no file in src/ is over ${MAX_LINES} lines`, () => {
  const problems: string[] = [];
  for (const file of walk('src')) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines > MAX_LINES) problems.push(`${file}: ${lines} lines (over ${MAX_LINES})`);
  }
  assert.deepEqual(problems, []);
});
