/**
 * `.local` names and discover against emulated devices, when the user asks for the loopback
 * interface (`--interface lo` or `--interface 127.0.0.1`, the same option on every command):
 * `emulate --mdns` advertises, `discover` lists it, `probe NAME.local` and `upload -i NAME.local`
 * reach it. mDNS stays on loopback, on a private group port (AIRFLASH_MDNS_PORT).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../src/cli/main.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { memoryIO, runCliInMemory } from './helpers/cli-io.ts';
import { freeUdpPort } from './helpers/mdns-loopback.ts';

async function waitFor(read: () => string, pattern: RegExp, ms: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = pattern.exec(read());
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}: ${read()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('emulate --mdns + discover/probe/upload with --interface on loopback', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-mdns-cli-'));
  const image = buildEsp32App({ size: 60_000, seed: 94 });
  await writeFile(join(dir, 'firmware.bin'), image);
  const env = { AIRFLASH_MDNS_PORT: String(await freeUdpPort()) };
  const stop = new AbortController();
  const emu = memoryIO({ env, signal: stop.signal, cwd: dir });
  const running = runCli(
    ['emulate', '--mdns', '--address', '127.0.94.1', '--port', '0', '--time-scale', '0.1'],
    emu.io,
  );
  t.after(async () => {
    stop.abort();
    await running;
    await rm(dir, { recursive: true, force: true });
  });
  const [, port, hostname] = await waitFor(
    emu.stdout,
    /listening 127\.0\.94\.1:(\d+) core=esp32 hostname=(\S+)/,
    20_000,
  );

  const found = await runCliInMemory(['discover', '--interface', 'lo', '--timeout', '2', '--json'], { env });
  assert.equal(found.code, 0, found.stderr);
  const up = found.stdout
    .trim()
    .split('\n')
    .map(
      (l) => JSON.parse(l) as { event: string; device: { name: string; addresses: string[]; port: number } },
    );
  const device = up.find((e) => e.event === 'up' && e.device.name.startsWith(hostname as string))?.device;
  assert.ok(device, found.stdout);
  assert.deepEqual(device.addresses, ['127.0.94.1']);
  assert.equal(device.port, Number(port));

  const probed = await runCliInMemory(
    ['probe', `${hostname}.local`, '-p', String(port), '--interface', '127.0.0.1', '--no-loop', '--json'],
    { env },
  );
  assert.equal(probed.code, 0, probed.stderr);
  assert.equal((JSON.parse(probed.stdout) as { answered: boolean }).answered, true);

  const sent = await runCliInMemory(
    [
      'upload',
      '-i',
      `${hostname}.local`,
      '-p',
      String(port),
      '--interface',
      'lo',
      '-f',
      'firmware.bin',
      '--time-scale',
      '0.1',
    ],
    { env, cwd: dir },
  );
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(`${sent.stdout}${sent.stderr}`, new RegExp(`Updated ${hostname}\\.local`));
  await waitFor(emu.stdout, /Booted app1/, 20_000);
});
