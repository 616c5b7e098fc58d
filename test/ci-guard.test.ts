/**
 * CI cannot pass by skipping: the browser tests do not skip themselves when CI is set, and
 * .ci/test-summary.mjs (what .ci/run checks npm test's output with) fails on any skipped,
 * cancelled, todo or missing test.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { browserSkipReason, inCi } from './helpers/browser.ts';

const SUMMARY = fileURLToPath(new URL('../.ci/test-summary.mjs', import.meta.url));
const RUN = fileURLToPath(new URL('../.ci/run', import.meta.url));
const MISSING = '/nonexistent/airflash-test/chromium';

describe('browser tests under CI', () => {
  it('inCi reads CI like CI services set it', () => {
    for (const v of ['true', '1', 'yes', 'TRUE']) assert.equal(inCi({ CI: v }), true, v);
    for (const v of [undefined, '', '0', 'false', 'False']) assert.equal(inCi({ CI: v }), false, String(v));
  });

  it('a missing Chromium skips outside CI and does not skip in CI', () => {
    assert.match(browserSkipReason({}, MISSING) ?? '', /missing/);
    assert.equal(browserSkipReason({ CI: 'true' }, MISSING), undefined);
  });
});

function summary(log: string, dir: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const file = join(dir, `log-${Math.random().toString(16).slice(2)}.txt`);
    writeFile(file, log).then(() => {
      execFile(process.execPath, [SUMMARY, file], (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, out: `${stdout}${stderr}` });
      });
    }, reject);
  });
}

const tap = (counts: Record<string, number>): string =>
  [
    'TAP version 13',
    '# Subtest: something',
    'ok 1 - something',
    '1..1',
    ...Object.entries(counts).map(([k, v]) => `# ${k} ${v}`),
    '',
  ].join('\n');

describe('.ci/test-summary.mjs', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airflash-ci-guard-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const clean = { tests: 12, suites: 3, pass: 12, fail: 0, cancelled: 0, skipped: 0, todo: 0 };

  it('passes a clean run (TAP and the spec reporter)', async () => {
    assert.equal((await summary(tap(clean), dir)).code, 0);
    const spec = Object.entries(clean)
      .map(([k, v]) => `ℹ ${k} ${v}`)
      .join('\n');
    assert.equal((await summary(`✔ something (1ms)\n${spec}\n`, dir)).code, 0);
  });

  it('fails one skipped, cancelled or todo test, and a run with no test', async () => {
    const cases: Array<[Record<string, number>, RegExp]> = [
      [{ ...clean, pass: 11, skipped: 1 }, /1 skipped/],
      [{ ...clean, pass: 11, cancelled: 1 }, /1 cancelled/],
      [{ ...clean, pass: 11, todo: 1 }, /1 todo/],
      [{ ...clean, tests: 0, pass: 0 }, /no test ran/],
    ];
    for (const [counts, why] of cases) {
      const r = await summary(tap(counts), dir);
      assert.equal(r.code, 1, JSON.stringify(counts));
      assert.match(r.out, why);
    }
    const spec = await summary('ℹ tests 3\nℹ pass 2\nℹ skipped 1\n', dir);
    assert.equal(spec.code, 1);
    const none = await summary('npm ERR! something broke\n', dir);
    assert.equal(none.code, 1);
    assert.match(none.out, /no test ran/);
  });

  it('reads the totals of the whole run, not a nested subtest count', async () => {
    // node:test prints the totals last; an earlier "# skipped" line belongs to something else.
    const r = await summary(`# skipped 0\n${tap({ ...clean, pass: 11, skipped: 1 })}`, dir);
    assert.equal(r.code, 1);
  });
});

describe('.ci/run', () => {
  it('is valid bash', async () => {
    const code = await new Promise<number>((resolve) =>
      execFile('bash', ['-n', RUN], (error) => resolve(error ? 1 : 0)),
    );
    assert.equal(code, 0);
  });
});
