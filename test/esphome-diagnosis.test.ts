/**
 * ESPHome's diagnosis rules (src/protocols/esphome/diagnose/rules.ts), each from a real failure:
 * the emulated device (0x94 without a key, a wrong key, a key for a device without encryption, a
 * wrong password on an MD5 and on a SHA-256 device, a device busy with two clients) or a scripted
 * TCP peer where the emulator has no such mode (a SHA-256-only refusal before the challenge, an
 * erase that outlasts the ack budget). Addresses 127.0.166.x.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { diagnose } from '../src/diagnosis/index.ts';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { upload } from '../src/index.ts';

const IMAGE = buildEsp32App({ size: 30_000, seed: 166 });
const KEY = Buffer.alloc(32, 5).toString('base64');
const OTHER = Buffer.alloc(32, 6).toString('base64');

type Opts = Parameters<typeof startDevice>[0];
async function failureOn(options: Opts, extra: Partial<Parameters<typeof upload>[0]> = {}): Promise<unknown> {
  const d = await startDevice({ protocol: 'esphome', port: 0, timeScale: 0.05, ...options });
  try {
    return await upload({ host: `esphome://${d.address}:${d.port}`, data: IMAGE, ...extra }).then(
      () => assert.fail('the upload should fail'),
      (e: unknown) => e,
    );
  } finally {
    await d.close();
  }
}

const ids = (error: unknown): string[] => diagnose(undefined, error).causes.map((c) => c.id);

/** A scripted ESPHome peer: answers `script` (bytes after how many received), then stays silent. */
async function scripted<T>(
  address: string,
  script: Array<[number, number[]]>,
  fn: (port: number) => Promise<T>,
): Promise<T> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    const steps = [...script];
    let got = 0;
    s.on('data', (c) => {
      got += c.length;
      while (steps.length > 0 && got >= (steps[0] as [number, number[]])[0])
        s.write(Uint8Array.from((steps.shift() as [number, number[]])[1]));
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  try {
    return await fn((server.address() as { port: number }).port);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

describe('esphome diagnosis', () => {
  it('0x94 without a key: ESPHOME_KEY_MISSING first', async () => {
    const e = await failureOn({ address: '127.0.166.1', esphomeEncryption: 'required', esphomeKey: KEY });
    assert.equal(ids(e)[0], 'ESPHOME_KEY_MISSING');
    assert.match(diagnose(undefined, e).causes[0]?.next.join('\n') ?? '', /AIRFLASH_ESPHOME_KEY/);
  });

  it('a wrong key: ESPHOME_WRONG_KEY', async () => {
    const e = await failureOn(
      { address: '127.0.166.2', esphomeEncryption: 'required', esphomeKey: KEY },
      { esphomeKey: OTHER },
    );
    assert.equal(ids(e)[0], 'ESPHOME_WRONG_KEY');
  });

  it('a key for firmware without encryption: the migration order (ESPHOME_ENCRYPTION_MIGRATION)', async () => {
    const e = await failureOn(
      { address: '127.0.166.3', password: 'pw' },
      { esphomeKey: KEY, password: 'pw' },
    );
    assert.equal(ids(e)[0], 'ESPHOME_ENCRYPTION_MIGRATION');
  });

  it('a wrong password: on an MD5 device also ESPHOME_LEGACY_MD5, on a SHA-256 device not', async () => {
    const md5 = await failureOn(
      { address: '127.0.166.4', esphomeAuth: 'md5', password: 'a' },
      { password: 'b' },
    );
    assert.deepEqual(ids(md5).slice(0, 2), ['AUTH_WRONG_PASSWORD', 'ESPHOME_LEGACY_MD5']);
    const sha = await failureOn({ address: '127.0.166.4', password: 'a' }, { password: 'b' });
    assert.deepEqual(ids(sha), ['AUTH_WRONG_PASSWORD']);
  });

  it('82 before any challenge (a SHA-256-only device refusing the client): ESPHOME_SHA256_ONLY', () =>
    scripted(
      '127.0.166.5',
      [
        [5, [0x00, 0x02]],
        [6, [0x48, 0x00, 0x82]],
      ],
      async (port) => {
        const e = await upload({ host: `esphome://127.0.166.5:${port}`, data: IMAGE, password: 'pw' }).catch(
          (x: unknown) => x,
        );
        assert.equal((e as { code?: string }).code, 'AUTH_FAILED');
        assert.equal(ids(e)[0], 'ESPHOME_SHA256_ONLY');
      },
    ));

  it('no answer to the size within the ack budget: ESPHOME_SLOW_ERASE (not the network)', () =>
    scripted(
      '127.0.166.6',
      [
        [5, [0x00, 0x02]],
        [6, [0x48, 0x00, 0x41]],
      ],
      async (port) => {
        // timeScale 0.001: the 160 s ack budget is 160 ms.
        const e = await upload({
          host: `esphome://127.0.166.6:${port}`,
          data: IMAGE,
          timeScale: 0.001,
        }).catch((x: unknown) => x);
        assert.equal((e as { code?: string }).code, 'TIMEOUT', String(e));
        assert.equal(ids(e)[0], 'ESPHOME_SLOW_ERASE');
      },
    ));

  it('a device busy with one client and one waiting: ESPHOME_BUSY', async () => {
    const d = await startDevice({ protocol: 'esphome', address: '127.0.166.7', port: 0, timeScale: 0.5 });
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const s = connect(d.port, d.address);
        s.on('error', () => {});
        await new Promise<void>((r) => s.once('connect', () => r()));
        held.push(s);
        await new Promise((r) => setTimeout(r, 50));
      }
      const e = await upload({ host: `esphome://${d.address}:${d.port}`, data: IMAGE }).catch(
        (x: unknown) => x,
      );
      assert.equal((e as { code?: string }).code, 'NETWORK_ERROR', String(e));
      assert.equal(ids(e)[0], 'ESPHOME_BUSY');
    } finally {
      for (const s of held) s.destroy();
      await d.close();
    }
  });
});
