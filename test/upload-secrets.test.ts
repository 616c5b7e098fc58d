/**
 * No part of a password reaches any output channel: stderr, --json, NODE_DEBUG, -d, the fleet
 * --report (which is written 0600). Passwords that look like several options passed as one
 * argument (` -x`, ` --port=8266`) are the dangerous ones: 0.1.0 quoted their tail.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'airflash-secrets-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'firmware.bin');
writeFileSync(file, buildEsp32App({ size: 40_000, seed: 5 }));
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'run.ts');

/** Every piece of the password of 3 or more characters that is not a common word of airflash's output. */
function fragments(pw: string): string[] {
  return pw
    .split(/\s+/)
    .filter((p) => p.length >= 3)
    .concat([pw, pw.trim()]);
}

function assertNoSecret(channel: string, text: string, pw: string): void {
  for (const f of fragments(pw))
    assert.ok(!text.includes(f), `${channel} contains ${JSON.stringify(f)}:\n${text}`);
}

let host = 40;
for (const core of ['esp32', 'esp32-legacy'] as const) {
  for (const pw of ['hunter2 -xZq9', 'Sw0rdf1sh --port=18266', 's3cr3tpw\t-kQ7 --auth=Xy8']) {
    describe(`a wrong password ${JSON.stringify(pw)} (${core})`, () => {
      it('appears in no output channel (stderr, --json, -d, NODE_DEBUG)', async () => {
        const dev = await startDevice({
          core,
          address: `127.0.5.${host++}`,
          port: 0,
          password: 'right',
          timeScale: 0.05,
        });
        try {
          const args = [
            'upload',
            '-i',
            dev.address,
            '-p',
            String(dev.port),
            '-f',
            file,
            '-a',
            pw,
            '--time-scale',
            '0.05',
          ];
          const plain = await runCliInMemory(args);
          assert.equal(plain.code, 1);
          assert.match(plain.stderr, /AUTH_FAILED/);
          assert.match(plain.stderr, /several options were probably passed as one argument/);
          assertNoSecret('stderr', plain.stderr + plain.stdout, pw);
          const json = await runCliInMemory([...args, '--json']);
          assert.match(json.stdout, /"code":"AUTH_FAILED"/);
          assertNoSecret('--json', json.stdout + json.stderr, pw);
          const debug = await runCliInMemory([...args, '-d']);
          assertNoSecret('-d', debug.stdout + debug.stderr, pw);
          const child = await run(process.execPath, ['--import', 'tsx', CLI, ...args, '--json'], {
            env: { ...process.env, NODE_DEBUG: 'airflash' },
          }).catch((e: { stdout: string; stderr: string; code: number }) => e);
          assert.match(child.stderr, /AIRFLASH/);
          assertNoSecret('NODE_DEBUG', child.stdout + child.stderr, pw);
        } finally {
          await dev.close();
        }
      });
    });
  }
}

describe('a one-line upload_flags argument', () => {
  it('is split with a note that shows *** for the password', async () => {
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.5.91',
      port: 0,
      password: 'Zr7kQ2pw',
      timeScale: 0.05,
    });
    try {
      for (const joined of [
        '--auth=Zr7kQ2pw --port=PORT',
        '-a Zr7kQ2pw --port=PORT',
        '--auth Zr7kQ2pw -p PORT',
      ]) {
        const arg = joined.replace('PORT', String(dev.port));
        const r = await runCliInMemory([
          'upload',
          '-i',
          dev.address,
          arg,
          '-f',
          file,
          '--time-scale',
          '0.05',
          '--json',
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /SPLIT_ARGUMENT/);
        assert.match(r.stdout, /\*\*\*/);
        assertNoSecret('SPLIT_ARGUMENT note', r.stdout + r.stderr, 'Zr7kQ2pw');
      }
    } finally {
      await dev.close();
    }
  });
});

describe('fleet --report', () => {
  it('holds no part of the password and is written 0600 (also over an existing 0644 file)', async () => {
    const pw = 'hunter2 -xZq9';
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.5.90',
      port: 0,
      password: 'right',
      timeScale: 0.05,
    });
    try {
      const report = join(dir, 'report.json');
      writeFileSync(report, '{}\n', { mode: 0o644 });
      const r = await runCliInMemory(
        [
          'upload',
          '--target',
          `${dev.address}:${dev.port}`,
          '-f',
          file,
          '-a',
          pw,
          '--time-scale',
          '0.05',
          '--no-probe',
          '--retries',
          '0',
          '--report',
          report,
        ],
        { cwd: dir },
      );
      assert.notEqual(r.code, 0);
      const text = readFileSync(report, 'utf8');
      assert.match(text, /AUTH_FAILED/);
      assertNoSecret('--report', text + r.stdout + r.stderr, pw);
      assert.equal(statSync(report).mode & 0o777, 0o600);
    } finally {
      await dev.close();
    }
  });
});
