/**
 * The public API on purpose: what each `exports` entry of package.json offers is exactly the
 * committed snapshot (test/fixtures/exports.json), so a name is added or removed deliberately
 * (`node --import tsx test/helpers/exports.ts --write`, then review the diff), and no internal
 * (DNS constants and codecs, doctor's probe adapters, the emulator's flash store) is at the root.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { entryPoints, publicSurface, SNAPSHOT } from './helpers/exports.ts';

const INTERNALS = [
  'CLASS_IN',
  'FLAG_AUTHORITATIVE',
  'FLAG_RESPONSE',
  'RECORD_TYPE_CODES',
  'encodeMessage',
  'decodeMessage',
  'typeCode',
  'typeName',
  'isResponse',
  'loadDoctorProbe',
  'toDoctorProbeResult',
  'doctorProbeFromModule',
  'SparseFlash',
  'basicDiagnosis',
  'FleetDiagnose',
];

describe('public API', () => {
  const surface = publicSurface();

  it('every entry point exports exactly its snapshot', () => {
    const snapshot = JSON.parse(readFileSync(SNAPSHOT, 'utf8')) as Record<string, Record<string, string>>;
    assert.deepEqual(Object.keys(surface).sort(), Object.keys(snapshot).sort(), 'the entry points');
    for (const sub of Object.keys(surface)) {
      const now = surface[sub] ?? {};
      const then = snapshot[sub] ?? {};
      const added = Object.keys(now).filter((n) => !(n in then));
      const removed = Object.keys(then).filter((n) => !(n in now));
      const changed = Object.keys(now).filter((n) => n in then && then[n] !== now[n]);
      assert.deepEqual(
        { added, removed, changed },
        { added: [], removed: [], changed: [] },
        `airflash${sub.slice(1)}`,
      );
    }
  });

  it('no internal is exported from the root', () => {
    const root = surface['.'] ?? {};
    assert.deepEqual(
      INTERNALS.filter((n) => n in root),
      [],
    );
  });

  it('the entry points are the documented ones and each resolves to a source module', () => {
    assert.deepEqual(Object.keys(entryPoints()).sort(), [
      '.',
      './diagnosis',
      './doctor',
      './formats',
      './protocol',
    ]);
  });

  it('the runtime values match the declared ones (nothing typed that does not exist, nothing hidden)', async () => {
    for (const [sub, file] of Object.entries(entryPoints())) {
      const mod = (await import(file)) as Record<string, unknown>;
      const declared = Object.entries(surface[sub] ?? {})
        .filter(([, kind]) => kind !== 'type')
        .map(([n]) => n)
        .sort();
      assert.deepEqual(Object.keys(mod).sort(), declared, `airflash${sub.slice(1)}`);
    }
  });
});

describe('package.json sideEffects', () => {
  it('lists every module imported for its side effect (a bundler would drop it otherwise)', async () => {
    const { readdirSync } = await import('node:fs');
    const { dirname: dir, join: joinPath, relative: rel, resolve: res } = await import('node:path');
    const root = res(import.meta.dirname, '..');
    const pkg = JSON.parse(readFileSync(joinPath(root, 'package.json'), 'utf8')) as { sideEffects: unknown };
    assert.ok(Array.isArray(pkg.sideEffects), 'sideEffects is a list, not false');
    const listed = new Set(pkg.sideEffects as string[]);
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(joinPath(d, e.name)) : e.name.endsWith('.ts') ? [joinPath(d, e.name)] : [],
      );
    const needed = new Set<string>();
    for (const file of walk(joinPath(root, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/^import '(\.[^']+)';$/gm)) {
        needed.add(rel(root, res(dir(file), m[1] as string)));
      }
    }
    assert.ok(needed.size > 0, 'the registration of the built-in protocols is a side-effect import');
    for (const src of needed) {
      assert.ok(listed.has(`./${src}`), `${src} is in sideEffects`);
      const built = `./${src.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js')}`;
      assert.ok(listed.has(built), `${built} is in sideEffects`);
    }
  });
});
