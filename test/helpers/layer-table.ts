/**
 * The layer table of docs/architecture.md as data, and the imports of a source file, for
 * test/layers.test.ts: the table is read from the doc itself (so the two cannot drift), imports
 * are found with TypeScript's own parser (static, type-only, `export … from`, `import()`).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export const ROOT = resolve(import.meta.dirname, '../..');

// ------------------------------------------------------------------ the table, from the doc

export interface Allowed {
  /** A layer name; `P` stands for the importing file's protocol, `*` for any protocol or layer. */
  layer: string;
  typesOnly: boolean;
}

export interface Row {
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

export function readTable(): Row[] {
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

export interface Placed {
  row: Row;
  /** The layer with `P` replaced by the file's protocol (`protocols/arduino-ota/host`). */
  concrete: string;
  protocol: string | null;
}

export function place(file: string, rows: readonly Row[]): Placed | null {
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

export interface ImportSite {
  specifier: string | null;
  /** The source text of a dynamic import's argument that is not a literal. */
  expression?: string;
  typeOnly: boolean;
}

export function importsOf(file: string, text = readFileSync(join(ROOT, file), 'utf8')): ImportSite[] {
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

export function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

/** Why `file` may not import `target` (`import type` when `typeOnly`), or null when it may. */
export function rejection(
  file: string,
  target: string,
  typeOnly: boolean,
  rows: readonly Row[],
): string | null {
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

export function violations(): string[] {
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
