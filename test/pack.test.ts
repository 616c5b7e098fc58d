/**
 * The package installs: `npm pack` (which builds dist/ through `prepare`) makes a tarball with
 * no tests, fixtures or benchmarks in it; installed OFFLINE into an empty folder (airflash has no
 * runtime dependencies), its `airflash` runs `--version` and `demo` (exit 0).
 *
 * The pack runs in a copy of the package, so the checkout's own dist/ is not touched.
 */
import assert from 'node:assert/strict';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, run } from './helpers/docs-blocks.ts';

const pkgJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  files: string[];
  dependencies?: Record<string, string>;
};

/** The environment without the parent npm's settings (npm test sets npm_config_* and friends). */
function cleanEnv(cache: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, npm_config_cache: cache, npm_config_update_notifier: 'false', NO_COLOR: '1' };
}

interface PackedFile {
  path: string;
}

describe('npm pack → npm install --offline → airflash runs', () => {
  let dir = '';
  let tarball = '';
  let files: string[] = [];
  let env: NodeJS.ProcessEnv = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airflash-pack-'));
    env = cleanEnv(join(dir, 'npm-cache'));
    // A copy of what the package is made from (the "files" plus what the build needs).
    const copy = join(dir, 'source');
    mkdirSync(copy);
    for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'CHANGELOG.md']) {
      copyFileSync(join(ROOT, f), join(copy, f));
    }
    for (const d of ['bin', 'src']) cpSync(join(ROOT, d), join(copy, d), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const out = join(dir, 'out');
    mkdirSync(out);
    const packed = await run('npm', ['pack', '--json', '--pack-destination', out], {
      cwd: copy,
      timeoutMs: 200_000,
      env,
    });
    assert.equal(packed.code, 0, `npm pack failed:\n${packed.out}`);
    // stdout is the JSON (the build's output goes to stderr).
    const [info] = JSON.parse(packed.stdout) as Array<{
      filename: string;
      files: PackedFile[];
    }>;
    assert.ok(info, packed.out);
    tarball = join(out, info.filename);
    files = info.files.map((f) => f.path);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has no runtime dependencies (the offline install relies on it)', () => {
    assert.deepEqual(Object.keys(pkgJson.dependencies ?? {}), []);
  });

  it('the tarball holds the built package and nothing of the tests, fixtures or benchmarks', () => {
    for (const needed of [
      'package.json',
      'README.md',
      'bin/airflash.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'src/dashboard/public/index.html',
    ]) {
      assert.ok(files.includes(needed), `${needed} is missing from the tarball`);
    }
    const allowed = /^(package\.json|README\.md|CHANGELOG\.md|LICENSE|bin\/|dist\/|src\/)/;
    const unwanted = files.filter(
      (f) => !allowed.test(f) || /(^|\/)(test|tests|fixtures?|bench|\.ci)(\/|$)|\.test\.[jt]s$/.test(f),
    );
    assert.deepEqual(unwanted, []);
  });

  it('installs offline into an empty folder; airflash --version and airflash demo exit 0', async () => {
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
    const installed = await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], {
      cwd: app,
      timeoutMs: 120_000,
      env,
    });
    assert.equal(installed.code, 0, `npm install failed:\n${installed.out}`);
    const bin = join(app, 'node_modules', '.bin', 'airflash');
    const version = await run(bin, ['--version'], { cwd: app, timeoutMs: 30_000, env });
    assert.equal(version.code, 0, version.out);
    assert.equal(version.out.trim(), pkgJson.version);
    const demo = await run(bin, ['demo'], { cwd: app, timeoutMs: 120_000, env });
    assert.equal(demo.code, 0, `airflash demo failed:\n${demo.out}`);
    // And the library resolves from the installed package.
    const lib = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const a = await import('airflash'); console.log(typeof a.upload, typeof a.startDashboard)",
      ],
      { cwd: app, timeoutMs: 30_000, env },
    );
    assert.equal(lib.code, 0, lib.out);
    assert.equal(lib.out.trim(), 'function function');
  });
});
