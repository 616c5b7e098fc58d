/**
 * The short soak (CI): 40 consecutive uploads through the library to 10 emulated devices of every
 * core (in their own process), with and without passwords. Every upload must be confirmed and
 * booted, the open handles must come back to the baseline, and the heap after a full GC must not
 * grow. `npm run soak` runs the same for 500 uploads.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runSoak } from '../bench/soak.ts';

const MiB = 1024 * 1024;

it('40 uploads to 10 devices: no failure, no handle left open, no heap growth', {
  timeout: 120_000,
}, async () => {
  const r = await runSoak({
    uploads: 40,
    warmup: 10,
    sampleEvery: 10,
    addressBase: '127.0.8.10',
    fromSource: true,
  });
  assert.deepEqual(r.failures, [], 'every upload succeeded and the device booted the image');
  assert.equal(r.samples.length, 4);
  assert.ok(
    r.handleGrowth <= 0,
    `handles: ${JSON.stringify(r.baseline.byType)} → ${JSON.stringify(r.final.byType)}`,
  );
  // 30 measured uploads: a leak of even 32 KiB per upload would show as ~1 MiB.
  assert.ok(r.heapGrowth < 1 * MiB, `heap grew ${(r.heapGrowth / MiB).toFixed(2)} MiB`);
  // nothing of the uploader (sockets, timers) outlives an upload: no socket at all, and no kind of
  // handle more numerous than at the baseline
  assert.ok(!Object.keys(r.final.byType).some((t) => /UDP|TCP/i.test(t)), JSON.stringify(r.final.byType));
  for (const [type, n] of Object.entries(r.final.byType))
    assert.ok(n <= (r.baseline.byType[type] ?? 0), `${type}: ${r.baseline.byType[type] ?? 0} → ${n}`);
});
