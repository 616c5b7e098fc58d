/**
 * Issue 11, "its output says each thing once: … with -m the advice repeats the mistake": an
 * upload with `-m` (md5Target) to an arduino-esp32 ≥ 3.3.1 device that stores the SHA-256 hash
 * is refused, and the diagnosis advises leaving -m out, never adding it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { diagnose } from '../src/diagnosis/index.ts';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { type UploadObservation, upload } from '../src/upload/index.ts';

test('-m refused by a SHA-256 device: the advice drops -m instead of repeating it', async () => {
  const dev = await startDevice({ core: 'esp32', address: '127.0.114.1', port: 0, password: 'pw' });
  try {
    const error = await upload({
      host: dev.address,
      port: dev.port,
      password: 'pw',
      md5Target: true,
      data: buildEsp32App({ size: 20_000, seed: 90 }),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isAirflashError(error, 'AUTH_FAILED'), String(error));
    // The device's own counter: it refused the one auth line it got.
    assert.equal(dev.counters.authFailures, 1);
    const d = diagnose(error.data['observation'] as UploadObservation, error);
    const cause = d.causes.find((c) => c.id === 'AUTH_MD5_STORED_HASH');
    assert.ok(cause, JSON.stringify(d.causes.map((c) => c.id)));
    assert.match(cause.title, /You asked for the MD5 password hash \(-m\)/);
    const all = d.causes.flatMap((c) => c.next).join('\n');
    assert.match(all, /without -m/);
    assert.doesNotMatch(all, / -m -f /);
  } finally {
    await dev.close();
  }
});
