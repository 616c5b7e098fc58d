/**
 * Library error hints name library options, not CLI flags; the CLI shows its own flags for the
 * same advice (src/cli/render-error.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AirflashError } from '../src/core/errors.ts';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { upload } from '../src/upload/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';

const CLI_WORDING = /-a\b|AIRFLASH_PASSWORD|--auth/;
const image = buildEsp32App({ size: 30_000, seed: 9 });

async function libraryError(password: string | undefined, address: string): Promise<AirflashError> {
  const dev = await startDevice({ core: 'esp32', address, port: 0, password: 'right', timeScale: 0.02 });
  try {
    await upload({
      host: dev.address,
      port: dev.port,
      data: image,
      timeScale: 0.02,
      ...(password === undefined ? {} : { password }),
    });
  } catch (error) {
    assert.ok(error instanceof AirflashError, String(error));
    return error;
  } finally {
    await dev.close();
  }
  assert.fail('the upload should have failed');
}

describe('error hints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airflash-hints-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'firmware.bin');
  writeFileSync(file, image);

  it('the library says `password`, not -a / AIRFLASH_PASSWORD (no password, wrong password)', async () => {
    const missing = await libraryError(undefined, '127.0.0.151');
    assert.equal(missing.code, 'AUTH_REQUIRED');
    assert.match(missing.hint ?? '', /`password` option/);
    assert.doesNotMatch(missing.hint ?? '', CLI_WORDING);
    const wrong = await libraryError('wrong', '127.0.0.152');
    assert.equal(wrong.code, 'AUTH_FAILED');
    assert.match(wrong.hint ?? '', /`password` option/);
    assert.doesNotMatch(wrong.hint ?? '', CLI_WORDING);
  });

  it('the CLI words the same advice with its flags', async () => {
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.0.153',
      port: 0,
      password: 'right',
      timeScale: 0.02,
    });
    try {
      const args = ['upload', '-i', dev.address, '-p', String(dev.port), '-f', file, '--time-scale', '0.02'];
      const missing = await runCliInMemory(args);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /try: Pass it with -a PASSWORD \(or set AIRFLASH_PASSWORD\)/);
      const wrong = await runCliInMemory([...args, '-a', 'wrong']);
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /try: Check the password given with -a \/ AIRFLASH_PASSWORD/);
      assert.doesNotMatch(wrong.stderr, /`password` option/);
    } finally {
      await dev.close();
    }
  });
});
