/**
 * What `npm run build` ships (issue 12, the upload's memory): JavaScript without comments, and
 * declarations with their doc comments. V8 keeps the source text of every loaded module on its
 * heap (as UTF-16 when the file holds any character beyond Latin-1, as most of ours do), so the
 * doc comments of the ≈ 85 modules an upload loads were held in memory for nothing; with them,
 * the young generation outgrew its 2 MiB semi-space during start-up (bench/memory-phases.mjs). Editors
 * still show the docs: they read the .d.ts files, and the source maps point at src/.
 *
 * The build script runs tsc twice: tsconfig.build.json as it is (declarations with their comments,
 * what a plain `tsc -p tsconfig.build.json` gives, e.g. test/helpers/docs-blocks.ts), then the
 * JavaScript again with --removeComments. The test runs the script itself into a temporary folder.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(suffix))
    .map((f) => join(dir, f));
}

describe('npm run build', () => {
  let out = '';

  before(() => {
    out = mkdtempSync(join(tmpdir(), 'airflash-build-'));
    const script = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { build: string } }
    ).scripts.build;
    // Each step of the script, as written, with the output sent to the temporary folder.
    for (const step of script.split('&&').map((s) => s.trim())) {
      const [tool, ...args] = step.split(/\s+/);
      assert.equal(tool, 'tsc', `a build step that is not tsc: ${step}`);
      const r = spawnSync(process.execPath, [TSC, ...args, '--outDir', out], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, `${step}\n${r.stdout}${r.stderr}`);
    }
  });

  after(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('ships JavaScript without comments (only the source-map line)', () => {
    const js = filesUnder(out, '.js');
    assert.ok(js.length > 100, `${js.length} .js files`);
    const commented = js.filter((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .some((line) => /^\s*(\/\*\*|\/\/(?!# sourceMappingURL=))/.test(line)),
    );
    assert.deepEqual(commented, []);
    assert.match(readFileSync(join(out, 'cli', 'main.js'), 'utf8'), /\/\/# sourceMappingURL=main\.js\.map/);
  });

  it('ships declarations with their doc comments, and their maps', () => {
    const dts = readFileSync(join(out, 'formats', 'index.d.ts'), 'utf8');
    assert.match(dts, /\/\*\*\n \* airflash\/formats: partition tables/);
    assert.match(
      readFileSync(join(out, 'upload', 'image.d.ts'), 'utf8'),
      /\/\*\*[\s\S]*?\*\/\nexport declare function prepareImage/,
    );
    assert.ok(filesUnder(out, '.d.ts.map').length > 100);
  });
});
