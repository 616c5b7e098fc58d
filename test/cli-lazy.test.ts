/**
 * The CLI loads what a command needs (issue 12, the upload's memory): the modules a plain
 * `airflash upload -i HOST -f FILE` loads before it runs (static imports, followed from the entry
 * point and the upload command) hold no fleet, diagnosis, probe, discovery, doctor, dashboard or
 * emulator code — those come by literal dynamic imports when a command or a failure needs them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..');

/** The relative modules `file` loads when it is evaluated: static value imports and re-exports. */
function staticImports(file: string): string[] {
  return staticSpecifiers(file)
    .filter((s) => s.startsWith('.'))
    .map((s) => resolve(dirname(file), s));
}

/** Every module specifier `file` loads when it is evaluated (relative and packages). */
function staticSpecifiers(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const out: string[] = [];
  for (const node of source.statements) {
    let specifier: ts.Expression | undefined;
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) specifier = node.moduleSpecifier;
    } else if (ts.isExportDeclaration(node) && !node.isTypeOnly) {
      const all = node.exportClause;
      const typeOnly =
        all !== undefined &&
        ts.isNamedExports(all) &&
        all.elements.length > 0 &&
        all.elements.every((e) => e.isTypeOnly);
      if (!typeOnly) specifier = node.moduleSpecifier;
    }
    if (specifier !== undefined && ts.isStringLiteral(specifier)) out.push(specifier.text);
  }
  return out;
}

function loadedBefore(entries: string[]): Map<string, string> {
  const seen = new Map<string, string>();
  const stack: Array<readonly [string, string]> = entries.map((e) => [resolve(ROOT, e), '(entry)']);
  while (stack.length > 0) {
    const [file, from] = stack.pop() as readonly [string, string];
    if (seen.has(file)) continue;
    seen.set(file, from);
    for (const next of staticImports(file)) stack.push([next, relative(ROOT, file)]);
  }
  return seen;
}

describe('the CLI loads lazily', () => {
  it('a single-device upload loads no fleet, diagnosis, probe, discovery, doctor, dashboard or emulator', () => {
    const loaded = loadedBefore(['src/cli/main.ts', 'src/cli/commands/upload.ts']);
    const unwanted =
      /^src\/(fleet|diagnosis|discovery|doctor|dashboard|emulator)\/|\/(probe|probe-loop|fleet-probe)\.ts$/;
    const wrong = [...loaded]
      .map(([file, from]) => [relative(ROOT, file), from] as const)
      .filter(([file]) => unwanted.test(file))
      .map(([file, from]) => `${file} (from ${from})`);
    assert.deepEqual(wrong, []);
    assert.ok(loaded.has(resolve(ROOT, 'src/upload/upload.ts')), 'the walk follows the upload path');
  });

  it('a network upload loads neither esptool-js nor serialport (the serial protocol loads its host when it runs)', () => {
    const serialPackages = (entries: string[]): string[] =>
      [...loadedBefore(entries).keys()].flatMap((file) =>
        staticSpecifiers(file)
          .filter((s) => /^(esptool-js|serialport|@serialport\/)/.test(s))
          .map((s) => `${relative(ROOT, file)} imports ${s}`),
      );
    const loaded = loadedBefore(['src/cli/main.ts', 'src/cli/commands/upload.ts']);
    assert.ok(
      loaded.has(resolve(ROOT, 'src/protocols/serial/protocol.ts')),
      'the serial protocol is registered',
    );
    assert.deepEqual(serialPackages(['src/cli/main.ts', 'src/cli/commands/upload.ts']), []);
    // The check sees them where they are: the serial host's upload module loads both.
    assert.ok(
      serialPackages(['src/protocols/serial/host/upload-app.ts']).some((l) => l.endsWith('esptool-js')),
    );
  });

  it('the image, pre-flight and partition modules of an upload load no image builder and no zlib', () => {
    // The formats barrel re-exports the image builders (buildEsp32App …), which no upload runs;
    // these modules import what they use. zlib comes only with --compress (a dynamic import).
    const entries = ['src/upload/image.ts', 'src/upload/image-file.ts', 'src/upload/preflight.ts'];
    const loaded = loadedBefore([...entries, 'src/devices/partitions.ts']);
    const wrong = [...loaded]
      .map(([file, from]) => [relative(ROOT, file), from] as const)
      .filter(([file]) => /^src\/formats\/(index|image\/build[^/]*)\.ts$/.test(file))
      .map(([file, from]) => `${file} (from ${from})`);
    assert.deepEqual(wrong, []);
    // Not in any module these load statically either (inspect.ts once did: 1.7 MiB of RSS).
    for (const file of [...entries.map((f) => resolve(ROOT, f)), ...loaded.keys()])
      assert.doesNotMatch(readFileSync(file, 'utf8'), /^import [^;]*'node:zlib'/m, relative(ROOT, file));
  });

  it('a single-device upload loads no formats barrel and no image builder', () => {
    // Each module costs memory when it loads (bench/memory-phases.mjs); the barrel pulls in the
    // image builders, which only the emulator, the demo and the bench run.
    const loaded = loadedBefore(['src/cli/main.ts', 'src/cli/commands/upload.ts']);
    const wrong = [...loaded]
      .map(([file, from]) => [relative(ROOT, file), from] as const)
      .filter(([file]) => /^src\/(formats\/index|formats\/image\/build[^/]*|core\/prng)\.ts$/.test(file))
      .map(([file, from]) => `${file} (from ${from})`);
    assert.deepEqual(wrong, []);
  });

  it('doctor without --probe does not load the probe', () => {
    const loaded = [...loadedBefore(['src/cli/commands/doctor.ts']).keys()].map((f) => relative(ROOT, f));
    assert.ok(loaded.includes('src/doctor/doctor.ts'));
    assert.deepEqual(
      loaded.filter((f) => f.startsWith('src/protocols/')),
      [],
    );
  });
});
