/**
 * CountTracker: the device's counts have no separator (`14601460…700`), so the split is a guess.
 * What must hold: never above the bytes sent, never going back, and exact for the streams real
 * devices send — an ESP32's one count per read of at most 1460 bytes, grouped into socket reads in
 * every possible way, and an ESP8266's one count per drain, each arriving in its own read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CountTracker } from '../src/protocols/arduino-ota/wire/counts.ts';
import { DEVICE_READ_SIZE } from '../src/protocols/arduino-ota/wire/index.ts';

/** Every way to group `n` items into consecutive non-empty runs (2^(n-1) groupings). */
function* groupings<T>(items: readonly T[]): Generator<T[][]> {
  const n = items.length;
  for (let mask = 0; mask < 1 << Math.max(0, n - 1); mask++) {
    const out: T[][] = [[]];
    items.forEach((item, i) => {
      (out.at(-1) as T[]).push(item);
      if (i < n - 1 && mask & (1 << i)) out.push([]);
    });
    yield out;
  }
}

/** The counts an ESP32 sends for `size` bytes read in full reads of `read` bytes. */
function esp32Counts(size: number, read: number): number[] {
  const out: number[] = [];
  for (let left = size; left > 0; left -= read) out.push(Math.min(read, left));
  return out;
}

/** Feed reads of whole counts; the host has sent `ahead` bytes more than the device counted so far. */
function feedGroups(groups: number[][], ahead: (i: number) => number, total: number): CountTracker {
  const t = new CountTracker();
  let counted = 0;
  groups.forEach((g, i) => {
    counted += g.reduce((a, b) => a + b, 0);
    t.add(g.join(''), Math.min(total, counted + ahead(i)));
  });
  return t;
}

describe('CountTracker', () => {
  it('ESP32 full reads (1460 or 1024) and the tail: exact under every grouping into socket reads', () => {
    for (const read of [DEVICE_READ_SIZE, 1024]) {
      for (const tail of [1, 7, 12, 99, 100, 460, 700, 1000, read - 1, read]) {
        const size = read * 6 + tail;
        const counts = esp32Counts(size, read);
        for (const groups of groupings(counts)) {
          // The host is ahead of the device by less than one read (stop-and-wait) and by nothing.
          for (const ahead of [0, read - 1]) {
            const t = feedGroups(groups, () => ahead, size);
            assert.equal(
              t.confirmed,
              size,
              `read ${read}, tail ${tail}, reads ${JSON.stringify(groups.map((g) => g.join('')))}`,
            );
            assert.equal(t.chunks, groups.length);
          }
        }
      }
    }
  });

  it('a short first read, then full reads, with the host a write-ahead window ahead: exact under every grouping', () => {
    for (const first of [100, 536, 700, 999, 1459]) {
      for (const tail of [100, 460, 1000]) {
        const counts = [first, 1460, 1460, 1460, 1460, tail];
        const size = counts.reduce((a, b) => a + b, 0);
        for (const groups of groupings(counts)) {
          const t = feedGroups(groups, () => 60_000, size + 60_000);
          assert.equal(t.confirmed, size, JSON.stringify(groups.map((g) => g.join(''))));
        }
      }
    }
  });

  it('ESP8266 drains: one count per read, any size up to what is outstanding, exact', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 65_536 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 65_536 }), { minLength: 40, maxLength: 40 }),
        (counts, aheads) => {
          const total = counts.reduce((a, b) => a + b, 0) + 65_536;
          const t = feedGroups(
            counts.map((c) => [c]),
            (i) => aheads[i] as number,
            total,
          );
          assert.equal(t.confirmed, total - 65_536);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a count of exactly one device read (1460) in a run is one count, not 146 + 0', () => {
    const t = new CountTracker();
    t.add('14601460', 2920);
    assert.equal(t.confirmed, 2920);
    t.add('1460', 2920 + 1460);
    assert.equal(t.confirmed, 4380);
  });

  it('any split of any reply stream: never above the bytes sent, never backwards', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{0,200}$/),
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 30, maxLength: 30 }),
        (stream, cuts, sentSteps) => {
          const t = new CountTracker();
          let sent = 0;
          let at = 0;
          let last = 0;
          for (let i = 0; i < cuts.length && at < stream.length; i++) {
            const piece = stream.slice(at, at + (cuts[i] as number));
            at += piece.length;
            sent += sentSteps[i] as number;
            t.add(piece, sent);
            assert.ok(t.confirmed <= sent, `${t.confirmed} confirmed > ${sent} sent`);
            assert.ok(t.confirmed >= last);
            last = t.confirmed;
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('empty digit text changes nothing and is not a count', () => {
    const t = new CountTracker();
    t.add('', 1000);
    assert.equal(t.confirmed, 0);
    assert.equal(t.chunks, 0);
  });
});
