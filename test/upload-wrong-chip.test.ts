/**
 * Wrong chip family, refused before any image byte (issue 11), on solid evidence only: a 64-hex
 * PBKDF2 nonce is sent only by arduino-esp32 ≥ 3.3.1, so an ESP8266 sketch is refused with exit 3
 * (PREFLIGHT_WRONG_CHIP) and the device receives nothing; `--force` sends it anyway. A 32-hex nonce
 * fits ESP8266 and ESP32 ≤ 3.3.0 alike: no refusal there.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp8266Sketch } from '../src/formats/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';

const dir = mkdtempSync(join(tmpdir(), 'airflash-wrong-chip-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sketch = join(dir, 'sketch.ino.bin');
writeFileSync(sketch, buildEsp8266Sketch({ size: 60_000, seed: 8 }));

describe('wrong chip family', () => {
  it('an ESP8266 sketch to an ESP32 ≥ 3.3.1 with a password: exit 3 before any byte, saying how it knew', async () => {
    const dev = await startDevice({ core: 'esp32', address: '127.0.13.1', password: 'pw', timeScale: 0.05 });
    try {
      const args = [
        'upload',
        '-i',
        dev.address,
        '-a',
        'pw',
        '-f',
        sketch,
        '--time-scale',
        '0.05',
        '--no-signed',
      ];
      const r = await runCliInMemory(args);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /PREFLIGHT_WRONG_CHIP/);
      assert.match(r.stderr, /64-hex PBKDF2 nonce/);
      assert.equal(dev.counters.updatesStarted, 0, 'no update began: no image byte was sent');
      assert.equal(
        dev.counters.authFailures <= 1,
        true,
        'at most the reset datagram that returns it to idle',
      );
      // The device was left idle: the same upload with --force goes through the handshake.
      const forced = await runCliInMemory([...args, '--force']);
      assert.doesNotMatch(forced.stderr, /PREFLIGHT_WRONG_CHIP/);
      assert.equal(dev.counters.updatesStarted, 1, 'with --force the image is sent');
    } finally {
      await dev.close();
    }
  });

  it('an ESP8266 sketch to an ESP32 ≤ 3.3.0 (32-hex nonce): not refused on that ambiguous evidence', async () => {
    const dev = await startDevice({
      core: 'esp32-legacy',
      address: '127.0.13.2',
      password: 'pw',
      timeScale: 0.05,
    });
    try {
      const r = await runCliInMemory([
        'upload',
        '-i',
        dev.address,
        '-a',
        'pw',
        '-f',
        sketch,
        '--time-scale',
        '0.05',
        '--no-signed',
      ]);
      assert.doesNotMatch(r.stderr, /PREFLIGHT_WRONG_CHIP/);
      assert.ok(dev.counters.authAttempts >= 1);
    } finally {
      await dev.close();
    }
  });
});
