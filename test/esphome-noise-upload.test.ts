/**
 * ESPHome encrypted OTA end to end against the emulated device over real loopback: "required"
 * and "offered" devices, with and without the key, a wrong key (HANDSHAKE_MAC_FAILURE from the
 * device's refusal), a key for a device that offers no encryption (fail closed), a malformed key,
 * and the key never in the CLI's output. Addresses 127.0.162.x.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { isUploadError, upload } from '../src/index.ts';

const IMAGE = buildEsp32App({ size: 40_000, seed: 162 });
const MD5 = createHash('md5').update(IMAGE).digest('hex');
const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1)).toString('base64');
const OTHER = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 2)).toString('base64');

type Opts = Parameters<typeof startDevice>[0];
async function withDevice<T>(
  options: Opts,
  fn: (d: Awaited<ReturnType<typeof startDevice>>) => Promise<T>,
): Promise<T> {
  const d = await startDevice({ protocol: 'esphome', port: 0, timeScale: 0.05, ...options });
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}
const target = (d: { address: string; port: number }): string => `esphome://${d.address}:${d.port}`;

describe('esphome Noise upload', () => {
  for (const mode of ['required', 'offered'] as const)
    it(`encryption ${mode}, the right key: the session is encrypted and the board boots the image`, () =>
      withDevice({ address: '127.0.162.1', esphomeEncryption: mode, esphomeKey: KEY }, async (d) => {
        const r = await upload({ host: target(d), data: IMAGE, esphomeKey: KEY });
        const obs = r.observation as unknown as { encrypted?: boolean; noiseOffered?: boolean };
        assert.equal(obs.encrypted, true);
        assert.equal(obs.noiseOffered, true);
        await d.waitFor('booted', undefined, 10_000);
        assert.equal(d.runningImageMd5(), MD5);
        assert.ok(d.log().some((l) => l.includes('encrypted session')));
      }));

  it('encryption required, no key: ENCRYPTION_REQUIRED (0x94), old firmware kept', () =>
    withDevice({ address: '127.0.162.2', esphomeEncryption: 'required', esphomeKey: KEY }, async (d) => {
      const before = d.runningImageMd5();
      const e = await upload({ host: target(d), data: IMAGE }).catch((x: unknown) => x);
      assert.ok(isUploadError(e, 'ENCRYPTION_REQUIRED'), String(e));
      assert.equal(e.deviceText, '0x94 ENCRYPTION_REQUIRED');
      assert.equal(d.runningImageMd5(), before);
    }));

  it('encryption offered, no key: a plaintext update still works', () =>
    withDevice({ address: '127.0.162.3', esphomeEncryption: 'offered', esphomeKey: KEY }, async (d) => {
      const r = await upload({ host: target(d), data: IMAGE });
      assert.notEqual((r.observation as unknown as { encrypted?: boolean }).encrypted, true);
      await d.waitFor('booted', undefined, 10_000);
      assert.equal(d.runningImageMd5(), MD5);
    }));

  it('a wrong key: HANDSHAKE_MAC_FAILURE with the device reason, and no update starts', () =>
    withDevice({ address: '127.0.162.4', esphomeEncryption: 'required', esphomeKey: KEY }, async (d) => {
      const e = await upload({ host: target(d), data: IMAGE, esphomeKey: OTHER }).catch((x: unknown) => x);
      assert.ok(isUploadError(e, 'HANDSHAKE_MAC_FAILURE'), String(e));
      assert.equal(e.deviceText, 'Handshake MAC failure');
      assert.equal(d.counters.updatesStarted, 0);
      assert.ok(
        !String(e.message).includes(OTHER) && !String(e.hint).includes(OTHER),
        'the key is not in the error',
      );
    }));

  it('a key for a device without encryption: ENCRYPTION_UNAVAILABLE before anything is sent', () =>
    withDevice({ address: '127.0.162.5' }, async (d) => {
      const e = await upload({ host: target(d), data: IMAGE, esphomeKey: KEY }).catch((x: unknown) => x);
      assert.ok(isUploadError(e, 'ENCRYPTION_UNAVAILABLE'), String(e));
      assert.equal(d.counters.updatesStarted, 0);
    }));

  it('a key that is not base64 of 32 bytes (31, 33, junk): BAD_ARGUMENT before connecting', async () => {
    for (const bad of [
      Buffer.alloc(31, 1).toString('base64'),
      Buffer.alloc(33, 1).toString('base64'),
      'not a key!',
    ]) {
      const e = await upload({ host: 'esphome://127.0.162.6:1', data: IMAGE, esphomeKey: bad }).catch(
        (x: unknown) => x,
      );
      assert.ok(
        e instanceof Error && (e as { code?: string }).code === 'BAD_ARGUMENT',
        `${bad}: ${String(e)}`,
      );
      assert.ok(!String((e as Error).message).includes(bad));
    }
  });
});

describe('esphome Noise from the CLI', () => {
  it('--key and AIRFLASH_ESPHOME_KEY update an encrypted device; the key is in no output, not even -d', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { runCliInMemory } = await import('./helpers/cli-io.ts');
    const dir = mkdtempSync(join(tmpdir(), 'airflash-noise-'));
    const file = join(dir, 'firmware.bin');
    writeFileSync(file, IMAGE);
    try {
      await withDevice(
        { address: '127.0.162.7', esphomeEncryption: 'required', esphomeKey: KEY },
        async (d) => {
          const args = ['upload', '-i', target(d), '-f', file];
          const byOption = await runCliInMemory([...args, '--key', KEY, '-d', '--json']);
          assert.equal(byOption.code, 0, byOption.stderr);
          await d.waitFor('booted', undefined, 10_000);
          const byEnv = await runCliInMemory(args, { env: { AIRFLASH_ESPHOME_KEY: KEY } });
          assert.equal(byEnv.code, 0, byEnv.stderr);
          await d.waitFor('booted', undefined, 10_000);
          const wrong = await runCliInMemory([...args, '--key', OTHER, '--json']);
          assert.equal(wrong.code, 1);
          assert.match(wrong.stdout, /HANDSHAKE_MAC_FAILURE/);
          for (const r of [byOption, byEnv, wrong])
            for (const k of [KEY, OTHER])
              assert.ok(!(r.stdout + r.stderr).includes(k), 'the key is never printed');
          assert.match(byOption.stderr, /"esphomeKey":"\*\*\*"/);
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
