import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runCliInMemory } from './helpers/cli-io.ts';
import { REPO } from './helpers/fleet.ts';

const netHandles = (): number =>
  process.getActiveResourcesInfo().filter((r) => ['UDPWRAP', 'TCPWRAP', 'TCPSERVERWRAP'].includes(r)).length;

describe('airflash demo (what npm start runs)', () => {
  it('uploads a generated firmware to an emulated ESP32, which boots it; exit 0, nothing left open', async () => {
    const before = netHandles();
    const t0 = Date.now();
    const r = await runCliInMemory(['demo', '--size', '262144']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Device\s+esp32-[0-9a-f]{12} \(ESP32, arduino-esp32 3\.3\)/);
    const fileMd5 = /Firmware .*MD5 ([0-9a-f]{32})/.exec(r.stderr)?.[1];
    const bootMd5 = /rebooted and runs from app\d, image MD5 ([0-9a-f]{32})/.exec(r.stderr)?.[1];
    assert.ok(fileMd5 && bootMd5);
    assert.equal(bootMd5, fileMd5);
    assert.match(r.stderr, /Uploading: 100%/);
    assert.match(r.stdout, /^Updated 127\.0\.0\.1 with 256\.0 KiB/);
    assert.ok(Date.now() - t0 < 15_000);
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(netHandles(), before);
  });

  it('--json: JSON lines on stdout ending with an ok result', async () => {
    const r = await runCliInMemory([
      'demo',
      '--json',
      '--core',
      'esp8266',
      '--size',
      '131072',
      '--no-password',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; ok?: boolean });
    assert.equal(lines.at(-1)?.type, 'result');
    assert.equal(lines.at(-1)?.ok, true);
    assert.ok(lines.every((l) => ['phase', 'progress', 'warning', 'result'].includes(l.type)));
  });

  it("a bad option is a usage error that points to demo's help", async () => {
    const r = await runCliInMemory(['demo', '--core', 'avr']);
    assert.equal(r.code, 2);
    const bogus = await runCliInMemory(['demo', '--bogus']);
    assert.equal(bogus.code, 2);
    assert.match(bogus.stderr, /Unknown option --bogus for "airflash demo"[\s\S]*airflash demo --help/);
  });

  it('a failed demo (an ESP8266 sketch too big for its flash) exits 1 and leaves no temporary file', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'airflash-demo-tmp-'));
    try {
      const child = promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', join(REPO, 'src/cli/run.ts'), 'demo', '--core', 'esp8266', '--size', '2000000'],
        { cwd: REPO, env: { ...process.env, TMPDIR: tmp } },
      );
      const error = await child.then(
        () => undefined,
        (e: { code?: number; stderr?: string }) => e,
      );
      assert.equal(error?.code, 1, error?.stderr);
      assert.match(error?.stderr ?? '', /DEVICE_REFUSED.*Not Enough Space/);
      assert.doesNotMatch(error?.stderr ?? '', /Unhandled|node:internal/);
      assert.deepEqual(
        (await readdir(tmp)).filter((f) => f.startsWith('airflash-demo-')),
        [],
      );
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
