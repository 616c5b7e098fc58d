/**
 * What runs in a browser, as docs/api.md "Browser" says: the subpaths `airflash/protocol` and
 * `airflash/formats` are pure (no sockets, files, processes or timers of Node: only `node:crypto`
 * for MD5 / SHA-256 and `node:zlib` for gunzip), and the modules listed below import nothing from
 * Node and use no `Buffer`, through everything they import.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { ROOT } from './helpers/docs-blocks.ts';

/** Modules with no Node import and no Buffer, through their imports (docs/api.md "Browser"). */
const BROWSER_SAFE = [
  'src/formats/crc.ts',
  'src/formats/flash-size.ts',
  'src/formats/otadata.ts',
  'src/formats/image/chips.ts',
  'src/formats/image/sniff.ts',
  'src/formats/partitions/csv.ts',
  'src/formats/partitions/builtin.ts',
  'src/formats/partitions/ota.ts',
  'src/formats/partitions/validate.ts',
  'src/protocols/arduino-ota/wire/invitation.ts',
  'src/protocols/arduino-ota/wire/tokenizer.ts',
  'src/protocols/arduino-ota/wire/replies.ts',
  'src/protocols/arduino-ota/wire/text.ts',
];
/** What the pure entry points may take from Node: hashing and gunzip, nothing with I/O. */
const PURE_NODE = new Set(['node:crypto', 'node:zlib']);

/** The specifiers `file` imports at run time (`import type` and `export type` are erased). */
function imports(file: string): string[] {
  const source = ts.createSourceFile(
    file,
    readFileSync(join(ROOT, file), 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      if (node.importClause?.isTypeOnly !== true) out.push(node.moduleSpecifier.text);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      if (!node.isTypeOnly) out.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** Every module `file` reaches (itself included), and every bare/`node:` specifier on the way. */
function closure(file: string): { files: Set<string>; external: Set<string> } {
  const files = new Set<string>();
  const external = new Set<string>();
  const todo = [file];
  while (todo.length > 0) {
    const f = todo.pop() as string;
    if (files.has(f)) continue;
    files.add(f);
    for (const spec of imports(f)) {
      if (spec.startsWith('.')) todo.push(relative(ROOT, resolve(ROOT, dirname(f), spec)));
      else external.add(spec);
    }
  }
  return { files, external };
}

/** Whether the source uses the Buffer global (not in comments or strings). */
function usesBuffer(file: string): boolean {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  let found = false;
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === 'Buffer') found = true;
    if (!found) ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('browser', () => {
  for (const file of BROWSER_SAFE) {
    it(`${file} imports nothing from Node and uses no Buffer, through its imports`, () => {
      const { files, external } = closure(file);
      assert.deepEqual([...external], [], 'imports from outside the package');
      assert.deepEqual([...files].filter(usesBuffer), [], 'uses Buffer');
    });
  }

  for (const entry of ['src/formats/index.ts', 'src/protocols/arduino-ota/wire/index.ts']) {
    it(`${entry} is pure: only ${[...PURE_NODE].join(' and ')} from Node, nothing from above it`, () => {
      const { files, external } = closure(entry);
      assert.deepEqual(
        [...external].filter((s) => !PURE_NODE.has(s)),
        [],
      );
      const outside = [...files].filter(
        (f) =>
          !f.startsWith('src/formats/') &&
          !f.startsWith('src/protocols/arduino-ota/wire/') &&
          !f.startsWith('src/core/'),
      );
      assert.deepEqual(outside, []);
    });
  }

  it('the check sees a Node import and a Buffer where there is one (auth.ts)', () => {
    const { external } = closure('src/protocols/arduino-ota/wire/auth.ts');
    assert.ok(external.has('node:crypto'));
    assert.equal(usesBuffer('src/protocols/arduino-ota/wire/auth.ts'), true);
  });
});
