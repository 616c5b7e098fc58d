/**
 * The package's public surface, read from the sources with the TypeScript compiler: every name each
 * `exports` entry of package.json offers, marked `value` (exists at runtime) or `type` (types only).
 * `node --import tsx test/helpers/exports.ts --write` rewrites the snapshot after a deliberate change.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT } from './docs-blocks.ts';

export const SNAPSHOT = join(ROOT, 'test', 'fixtures', 'exports.json');

/** package.json `exports` subpath → the source module it is built from. */
export function entryPoints(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { default: string }>;
  };
  const out: Record<string, string> = {};
  for (const [sub, target] of Object.entries(pkg.exports)) {
    const file = typeof target === 'string' ? target : target.default;
    if (!file.startsWith('./dist/') || !file.endsWith('.js')) continue;
    out[sub] = join(ROOT, 'src', file.slice('./dist/'.length).replace(/\.js$/, '.ts'));
  }
  return out;
}

/** For each entry point: its exported names, sorted, as `name: value|type|namespace`. */
export function publicSurface(): Record<string, Record<string, string>> {
  const entries = entryPoints();
  const options: ts.CompilerOptions = {
    allowImportingTsExtensions: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    strict: true,
    types: ['node'],
  };
  const program = ts.createProgram(Object.values(entries), options);
  const checker = program.getTypeChecker();
  const result: Record<string, Record<string, string>> = {};
  for (const [sub, file] of Object.entries(entries)) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`${sub}: ${file} not found`);
    const moduleSymbol = checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`${sub}: ${file} is not a module`);
    const names: Record<string, string> = {};
    for (const sym of checker.getExportsOfModule(moduleSymbol)) {
      const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
      const namespace = sym.declarations?.some((d) => ts.isNamespaceExport(d)) === true;
      const kind =
        namespace || target.flags & ts.SymbolFlags.Module
          ? 'namespace'
          : target.flags & ts.SymbolFlags.Value
            ? 'value'
            : 'type';
      names[sym.getName()] = kind;
    }
    result[sub] = Object.fromEntries(Object.entries(names).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return result;
}

if (process.argv.includes('--write')) {
  writeFileSync(SNAPSHOT, `${JSON.stringify(publicSurface(), null, 2)}\n`);
  process.stdout.write(`wrote ${SNAPSHOT}\n`);
}
