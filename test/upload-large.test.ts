import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { createPreflight, upload } from '../src/upload/index.ts';

describe('a 12 MiB firmware to an emulated 32 MB ESP32 (default_32MB)', () => {
  it('streams from disk, passes the pre-flight and boots', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airflash-large-'));
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.0.90',
      port: 0,
      flashSize: '32MB',
      partitions: 'default_32MB',
      timeScale: 0.001,
      receiveTimeoutMs: 200_000,
    });
    try {
      const image = buildEsp32App({ size: 12 * 1024 * 1024, seed: 7, flashSize: '32MB' });
      const file = join(dir, 'firmware.bin');
      writeFileSync(file, image);
      const md5 = createHash('md5').update(image).digest('hex');
      const booted = dev.waitFor('booted', (e) => e.event === 'booted' && e.md5 === md5, 60_000);
      const r = await upload({
        host: dev.address,
        port: dev.port,
        file,
        timeScale: 0.05,
        // The point here is streaming and memory, not stall detection: a scaled 0.5 s stall
        // timeout (+ 0.2 s allowance) is shorter than a pause of this busy process on 2 loaded cores.
        stallTimeoutMs: 10_000,
        preflight: createPreflight({ chip: 'esp32', partitions: 'default_32MB' }),
      });
      await booted;
      assert.equal(r.bytes, image.length);
      assert.equal(dev.runningImageMd5(), md5);
      assert.equal(r.observation.preflight?.ran, true);
      assert.ok((r.observation.context.slotSize ?? 0) >= image.length);
    } finally {
      await dev.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
