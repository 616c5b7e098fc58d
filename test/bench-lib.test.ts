/** Pure logic of the benchmark: run statistics and the guard that keeps docs to the current commit. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderRefusal } from '../bench/lib/provenance.ts';
import { spread } from '../bench/lib/stats.ts';

describe('bench statistics', () => {
  it('median, mean, worst and best of the runs', () => {
    // The lossy profile's shape: a good median hides one slow run.
    const s = spread([2100, 2050, 12_100, 2080, 2070]);
    assert.equal(s.median, 2080);
    assert.equal(s.mean, 4080);
    assert.equal(s.worst, 12_100);
    assert.equal(s.best, 2050);
  });

  it('an even count takes the middle two for the median; one run is all four', () => {
    assert.equal(spread([4, 1, 3, 2]).median, 2.5);
    assert.deepEqual(spread([7]), { median: 7, mean: 7, worst: 7, best: 7 });
  });

  it('no runs: NaN, not a number that looks measured', () => {
    const s = spread([]);
    for (const v of Object.values(s)) assert.ok(Number.isNaN(v));
  });
});

describe('render guard', () => {
  const commit = 'a'.repeat(40);
  const provenance = { commit, dirty: false, node: 'v20', espota: { esp32: null, esp8266: null } };
  const head = { commit, dirty: false };

  it('renders a full run of the current commit', () => {
    assert.equal(renderRefusal({ provenance, config: { partial: false } }, head), undefined);
  });

  it('refuses a run of another commit, even one character different', () => {
    const other = { commit: `${'a'.repeat(39)}b`, dirty: false };
    assert.match(
      renderRefusal({ provenance, config: { partial: false } }, other) ?? '',
      /commit aaaaaaaaaaaa/,
    );
  });

  it('refuses a results file without a commit, a run with uncommitted changes, and a partial run', () => {
    assert.match(renderRefusal({ config: { partial: false } }, head) ?? '', /no commit/);
    assert.match(renderRefusal({ provenance: { ...provenance, commit: null } }, head) ?? '', /no commit/);
    assert.match(renderRefusal({ provenance: { ...provenance, dirty: true } }, head) ?? '', /uncommitted/);
    assert.match(renderRefusal({ provenance, config: { partial: true } }, head) ?? '', /partial/);
  });

  it('a checkout that is not a git repository cannot render', () => {
    assert.match(renderRefusal({ provenance }, { commit: null, dirty: true }) ?? '', /not a git checkout/);
  });
});
