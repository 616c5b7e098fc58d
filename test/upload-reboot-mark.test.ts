/**
 * A device rebooting after ANOTHER airflash process's update (issue 11: two PlatformIO runs one
 * after the other): the first process leaves a reboot mark in the user's cache directory, the
 * second reads it and waits for the reboot at short intervals instead of losing an attempt
 * (host/reboot-marks.ts; the safety review in docs/upload.md "Right after an update").
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import {
  readRebootMark,
  rebootMarkDir,
  writeRebootMark,
} from '../src/protocols/arduino-ota/host/reboot-marks.ts';

const RUN = join(import.meta.dirname, '..', 'src', 'cli', 'run.ts');
const root = mkdtempSync(join(tmpdir(), 'airflash-marks-'));
after(() => rmSync(root, { recursive: true, force: true }));
const MD5 = '0123456789abcdef0123456789abcdef';

function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUN, ...args], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('the reboot mark file', () => {
  it('the directory: XDG_CACHE_HOME, else HOME/.cache, else the temp dir per user; relative paths ignored', () => {
    assert.equal(rebootMarkDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' }), '/x/cache/airflash/reboots');
    assert.equal(
      rebootMarkDir({ XDG_CACHE_HOME: 'rel', HOME: '/home/u' }),
      '/home/u/.cache/airflash/reboots',
    );
    assert.ok(rebootMarkDir({ HOME: 'rel' }).startsWith(join(tmpdir(), 'airflash-')));
  });

  it('written atomically, private, holding only the time and the MD5; read back inside the window only', async () => {
    const dir = join(root, 'a');
    assert.equal(await writeRebootMark(dir, '127.0.113.9:3232', { at: 1_000_000, md5: MD5 }), true);
    const files = readdirSync(dir);
    assert.equal(files.length, 1, 'no temporary file left');
    const file = join(dir, files[0] as string);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.deepEqual(await readRebootMark(dir, '127.0.113.9:3232', 1_000_000 + 19_999, 20_000), {
      at: 1_000_000,
      md5: MD5,
    });
    // Exactly the window old: stale. Another port: no mark.
    assert.equal(await readRebootMark(dir, '127.0.113.9:3232', 1_000_000 + 20_000, 20_000), undefined);
    assert.equal(await readRebootMark(dir, '127.0.113.9:8266', 1_000_000, 20_000), undefined);
    // From the future (beyond 2 s of slack): ignored.
    assert.ok(await readRebootMark(dir, '127.0.113.9:3232', 1_000_000 - 2_000, 20_000));
    assert.equal(await readRebootMark(dir, '127.0.113.9:3232', 1_000_000 - 2_001, 20_000), undefined);
  });

  it('corrupt, oversized, other shapes and symlinks are ignored, never trusted', async () => {
    const dir = join(root, 'b');
    const key = '127.0.113.8:3232';
    assert.equal(await writeRebootMark(dir, key, { at: 5_000, md5: MD5 }), true);
    const file = join(dir, readdirSync(dir)[0] as string);
    const bad = [
      '{"v":1,"at":5000,"md5":"0123"}',
      '{"v":2,"at":5000,"md5":"0123456789abcdef0123456789abcdef"}',
      '{"v":1,"at":"5000","md5":"0123456789abcdef0123456789abcdef"}',
      '{"v":1,"at":5000,"md5":"0123456789abcdef0123456789abcdef","password":"x"}',
      '{"v":1,"at":5000,"md5":"0123456789ABCDEF0123456789ABCDEF"}',
      '[1,5000]',
      'not json',
      `{"v":1,"at":5000,"md5":"${MD5}"}${' '.repeat(256)}`,
      `{"v":1,"at":5000,"md5":"${MD5}","loopMs":-1}`,
      `{"v":1,"at":5000,"md5":"${MD5}","loopMs":1.5}`,
      `{"v":1,"at":5000,"md5":"${MD5}","loopMs":"30000"}`,
      `{"v":1,"at":5000,"md5":"${MD5}","loopMs":3600001}`,
    ];
    for (const text of bad) {
      writeFileSync(file, text);
      assert.equal(await readRebootMark(dir, key, 6_000, 20_000), undefined, text.slice(0, 40));
    }
    // The loop period seen: 0 … an hour, whole ms.
    for (const loopMs of [0, 30_000, 3_600_000]) {
      writeFileSync(file, `{"v":1,"at":5000,"md5":"${MD5}","loopMs":${loopMs}}`);
      assert.deepEqual(await readRebootMark(dir, key, 6_000, 20_000), { at: 5_000, md5: MD5, loopMs });
    }
    // 256 bytes is still read; 257 is not (the case with 256 spaces above).
    writeFileSync(file, `{"v":1,"at":5000,"md5":"${MD5}"}`.padEnd(256, ' '));
    assert.ok(await readRebootMark(dir, key, 6_000, 20_000));
    // A symlink in its place (pointing at a valid mark) is not followed.
    const elsewhere = join(root, 'valid.json');
    writeFileSync(elsewhere, `{"v":1,"at":5000,"md5":"${MD5}"}`);
    rmSync(file);
    symlinkSync(elsewhere, file);
    assert.equal(await readRebootMark(dir, key, 6_000, 20_000), undefined);
  });

  it('a directory that cannot be made (a file in its path): no mark, no error, no file left', async () => {
    const blocker = join(root, 'blocker');
    writeFileSync(blocker, 'not a directory');
    assert.equal(await writeRebootMark(join(blocker, 'reboots'), 'k', { at: 1, md5: MD5 }), false);
    assert.equal(await readRebootMark(join(blocker, 'reboots'), 'k', 1, 20_000), undefined);
  });

  it('a mark owned by another user is ignored', {
    skip: process.getuid?.() !== 0 && 'needs root to chown',
  }, async () => {
    const dir = join(root, 'c');
    const key = '127.0.113.7:3232';
    assert.equal(await writeRebootMark(dir, key, { at: 5_000, md5: MD5 }), true);
    assert.ok(await readRebootMark(dir, key, 6_000, 20_000));
    chownSync(join(dir, readdirSync(dir)[0] as string), 12_345, 12_345);
    assert.equal(await readRebootMark(dir, key, 6_000, 20_000), undefined);
  });
});

describe('two airflash processes one after the other', () => {
  it('the second knows the device is rebooting after the first one’s update, and waits for it at short intervals', async () => {
    // 1:10 slower device: its reboot takes about 7 s, longer than the second process needs to start.
    const dev = await startDevice({ core: 'esp32', address: '127.0.113.1', timeScale: 10 });
    const cache = join(root, 'cache');
    try {
      const env = { XDG_CACHE_HOME: cache };
      const files = [1, 2].map((seed) => {
        const f = join(root, `fw${seed}.bin`);
        writeFileSync(f, buildEsp32App({ size: 20_000, seed: 80 + seed }));
        return f;
      });
      const first = await cli(['upload', '--json', '-i', dev.address, '-f', files[0] as string], env);
      assert.equal(first.code, 0, first.stderr + first.stdout);
      // The mark holds the time and the MD5 of the first image, nothing else.
      const md5First = createHash('md5')
        .update(buildEsp32App({ size: 20_000, seed: 81 }))
        .digest('hex');
      const mark = await readRebootMark(
        join(cache, 'airflash', 'reboots'),
        `${dev.address}:3232`,
        Date.now(),
        60_000,
      );
      assert.equal(mark?.md5, md5First);
      // (the device is still finishing its update or rebooting: it is back about 7 s after its OK)
      assert.notEqual(dev.state(), 'idle');
      const second = await cli(['upload', '--json', '-i', dev.address, '-f', files[1] as string], env);
      assert.equal(second.code, 0, second.stderr + second.stdout);
      const events = second.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { type: string; seconds?: number });
      // Human notes go to stderr under --json.
      assert.match(second.stderr, /note: the device is rebooting after the previous update/);
      assert.doesNotMatch(second.stderr, /loop\(\) blocks/);
      const seconds = events.find((e) => e.type === 'result')?.seconds ?? Infinity;
      // Without the mark the quick second invitation (1 s) is lost too and the third goes out at
      // 20 s, before a transfer of about 5 s at this scale.
      assert.ok(seconds < 18, `second upload took ${seconds} s`);
    } finally {
      await dev.close();
    }
  });
});
