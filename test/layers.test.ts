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
  'src/fleet/fleet.ts → src/protocols/arduino-ota/host/probe-device.ts (fleet may not import protocols/arduino-ota/host)',
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
