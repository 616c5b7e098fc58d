/**
 * `airflash upload -d` is live: the CLI, spawned as a child, prints each datagram (with its text,
 * the auth line masked) and each TCP reply chunk to stderr while the upload is still running,
 * with control characters escaped; no password and no password hash appears.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp8266Sketch } from '../src/formats/index.ts';

const RUN = join(import.meta.dirname, '..', 'src', 'cli', 'run.ts');
const PASSWORD = 'hunter2 -x secret';

describe('airflash upload -d (live debug output)', () => {
  it('prints datagrams and reply chunks as they happen, before the upload ends, and no secret', async () => {
    // An ESP8266 (no receive timeout) whose link dies at 50 %: the upload hangs until the stall
    // timeout (60 s), far longer than this test waits.
    const dev = await startDevice({
      core: 'esp8266',
      address: '127.0.0.76',
      port: 0,
      password: PASSWORD,
      timeScale: 0.1,
      faults: ['stall@50'],
    });
    const dir = mkdtempSync(join(tmpdir(), 'airflash-debug-'));
    const file = join(dir, 'sketch.bin');
    writeFileSync(file, buildEsp8266Sketch({ size: 400_000 }));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        RUN,
        'upload',
        '-d',
        '-i',
        dev.address,
        '-p',
        String(dev.port),
        '-f',
        file,
        '--time-scale',
        '0.1',
        '--stall-timeout',
        '60',
        '--force',
      ],
      { env: { ...process.env, AIRFLASH_PASSWORD: PASSWORD }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let stdout = '';
    let exited = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exit = new Promise<void>((r) =>
      child.on('exit', () => {
        exited = true;
        r();
      }),
    );
    try {
      const seen = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 60_000);
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (/udp → auth/.test(stderr) && /tcp ← \d+ bytes/.test(stderr)) {
            clearTimeout(timer);
            resolve(true);
          }
        });
        child.on('exit', () => {
          clearTimeout(timer);
          resolve(false);
        });
      });
      assert.ok(seen, `no live debug lines before the end:\n${stderr}`);
      assert.equal(exited, false, 'the upload had already ended');
      const lines = stderr.split('\n');
      assert.ok(
        lines.some((l) => /^ {2}\+\d+\.\d{3}s udp → invitation "0 \d+ 400\d* [0-9a-f]{32}\\n"$/.test(l)),
        stderr,
      );
      assert.ok(
        lines.some((l) => /^ {2}\+\d+\.\d{3}s udp → auth "200 \*{8} \*{8}\\n"$/.test(l)),
        stderr,
      );
      assert.ok(
        lines.some((l) => /device → "AUTH [0-9a-f]{32}"/.test(l)),
        stderr,
      );
    } finally {
      child.kill('SIGTERM');
      await exit;
      await dev.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const all = stdout + stderr;
    for (const secret of [
      PASSWORD,
      'hunter2',
      'secret',
      createHash('md5').update(PASSWORD).digest('hex'),
      createHash('sha256').update(PASSWORD).digest('hex'),
    ])
      assert.ok(!all.includes(secret), `output contains ${secret}`);
    // nothing raw from outside: no control character except the newlines between lines
    const raw = [...stderr.split('\r\x1b[2K').join('')].filter((ch) => {
      const c = ch.charCodeAt(0);
      return (c < 0x20 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f);
    });
    assert.deepEqual(raw, [], 'raw control characters');
  });
});
