/**
 * ESPHome native OTA end to end: upload({ host: 'esphome://…' }) against the emulated ESPHome
 * device (startDevice({ protocol: 'esphome' })), versions 1 and 2, SHA-256 and legacy MD5 auth,
 * every error byte as a device fault, cuts, the bounded window, backlog 1 and the safe probe.
 * Addresses 127.0.16.x.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { isUploadError, upload } from '../src/index.ts';
import { esphome } from '../src/protocols/esphome/index.ts';
import { RESPONSE_ERRORS } from '../src/protocols/esphome/wire/index.ts';

const IMAGE = buildEsp32App({ size: 70_000, seed: 16 });
const MD5 = createHash('md5').update(IMAGE).digest('hex');
const SCALE = 0.05;

type Opts = Parameters<typeof startDevice>[0];
async function withDevice<T>(
  options: Opts,
  fn: (d: Awaited<ReturnType<typeof startDevice>>) => Promise<T>,
): Promise<T> {
  const d = await startDevice({ protocol: 'esphome', port: 0, timeScale: SCALE, ...options });
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

const target = (d: { address: string; port: number }): string => `esphome://${d.address}:${d.port}`;

describe('esphome upload', () => {
  for (const otaVersion of [1, 2] as const)
    for (const esphomeAuth of ['sha256', 'md5'] as const)
      it(`version ${otaVersion}, ${esphomeAuth} auth: the board boots the image`, () =>
        withDevice({ address: '127.0.16.1', otaVersion, esphomeAuth, password: 'pw' }, async (d) => {
          const before = d.runningPartition();
          const progress: number[] = [];
          const r = await upload({
            host: target(d),
            data: IMAGE,
            password: 'pw',
            onEvent: (e) => {
              if (e.type === 'progress') progress.push(e.bytes);
            },
          });
          assert.equal(r.protocol, 'esphome');
          assert.equal(r.md5, MD5);
          const obs = r.observation as unknown as {
            otaVersion: number;
            auth: string;
            bytesAcked: number;
            extended: boolean;
          };
          assert.equal(obs.otaVersion, otaVersion);
          assert.equal(obs.auth, esphomeAuth);
          assert.equal(
            obs.extended,
            esphomeAuth === 'sha256',
            'a device before SHA-256 answers the legacy 40',
          );
          assert.equal(obs.bytesAcked, IMAGE.length);
          assert.equal(progress.at(-1), IMAGE.length);
          await d.waitFor('booted', undefined, 10_000);
          assert.equal(d.runningImageMd5(), MD5, 'booted image MD5 = file MD5');
          assert.notEqual(d.runningPartition(), before, 'rebooted into the other slot');
        }));

  it('wrong password: AUTH_FAILED (SHA-256 and MD5); none given: AUTH_REQUIRED', async () => {
    for (const esphomeAuth of ['sha256', 'md5'] as const)
      await withDevice({ address: '127.0.16.2', esphomeAuth, password: 'right' }, async (d) => {
        const e = await upload({ host: target(d), data: IMAGE, password: 'wrong' }).catch((x: unknown) => x);
        assert.ok(isUploadError(e, 'AUTH_FAILED'), String(e));
        assert.equal(e.deviceText, '0x82 AUTH_INVALID');
        const none = await upload({ host: target(d), data: IMAGE }).catch((x: unknown) => x);
        assert.ok(isUploadError(none, 'AUTH_REQUIRED'), String(none));
        assert.equal(d.counters.updatesStarted, 0);
      });
  });

  it('every error byte the device answers maps to its stable code', async () => {
    for (const entry of RESPONSE_ERRORS)
      await withDevice({ address: '127.0.16.3', esphomeError: entry.byte, password: 'pw' }, async (d) => {
        const md5Before = d.runningImageMd5();
        const e = await upload({ host: target(d), data: IMAGE, password: 'pw' }).catch((x: unknown) => x);
        assert.ok(isUploadError(e), `${entry.name}: ${String(e)}`);
        assert.equal(e.code, entry.code, `${entry.name}: ${e.message}`);
        assert.match(e.deviceText ?? '', new RegExp(entry.name));
        assert.ok(e.hint && e.hint.length > 0);
        assert.equal(d.runningImageMd5(), md5Before, `${entry.name}: the old firmware stays`);
      });
  });

  it('a cut at any of several offsets never succeeds and the old image keeps running', async () => {
    for (const at of [0, 1, 37, 80, 99])
      await withDevice({ address: '127.0.16.4', faults: [`drop@${at}`] }, async (d) => {
        const md5Before = d.runningImageMd5();
        const e = await upload({ host: target(d), data: IMAGE }).catch((x: unknown) => x);
        assert.ok(isUploadError(e), `drop@${at}: ${String(e)}`);
        assert.ok(['NETWORK_ERROR', 'INCOMPLETE', 'TIMEOUT'].includes(e.code), `drop@${at}: ${e.code}`);
        assert.equal(d.runningImageMd5(), md5Before);
        assert.equal(d.counters.updatesCompleted, 0);
      });
  });

  it('a silent device: it abandons the upload (105 s) before the host ack budget (160 s) runs out, and is free again', () =>
    withDevice({ address: '127.0.16.9', faults: ['stall@40'], timeScale: 0.01 }, async (d) => {
      const started = Date.now();
      const e = await upload({ host: target(d), data: IMAGE, timeScale: 0.01 }).catch((x: unknown) => x);
      const ms = Date.now() - started;
      assert.ok(isUploadError(e, 'NETWORK_ERROR'), String(e));
      assert.ok(ms >= 1000 && ms < 1600, `the device closed first, at about 1.05 s (took ${ms} ms)`);
      assert.equal(d.counters.updateErrors, 1);
      const r = await upload({ host: target(d), data: IMAGE, timeScale: 0.01 });
      assert.equal(r.ok, true, 'the next upload finds the device free (the fault fires once)');
    }));

  it('filesystem images and --compress are refused for esphome:// before any byte is sent', () =>
    withDevice({ address: '127.0.16.10' }, async (d) => {
      for (const extra of [{ filesystem: true }, { compress: true }]) {
        const e = await upload({ host: target(d), data: IMAGE, preflight: false, ...extra }).catch(
          (x: unknown) => x,
        );
        assert.ok(isUploadError(e, 'BAD_ARGUMENT'), String(e));
      }
      assert.equal(d.counters.updatesStarted, 0);
    }));

  it('version 2 keeps at most 2 blocks unacked (a device that never acks gets 16 KiB)', async () => {
    let data = 0;
    let handshake = 0;
    const server = createServer((s: Socket) => {
      // magic(5) → 00 02; features(1) → 48 00 41; type(1)+size(4) → 42; md5(32) → 43; then silence
      const steps: Array<[number, number[]]> = [
        [5, [0x00, 0x02]],
        [6, [0x48, 0x00, 0x41]],
        [11, [0x42]],
        [43, [0x43]],
      ];
      s.on('data', (c: Buffer) => {
        handshake += c.length;
        while (steps.length > 0 && handshake >= (steps[0] as [number, number[]])[0])
          s.write(Buffer.from((steps.shift() as [number, number[]])[1]));
        if (steps.length === 0) data = handshake - 43;
      });
      setTimeout(() => s.destroy(), 600);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.16.5', r));
    const port = (server.address() as { port: number }).port;
    try {
      const e = await upload({ host: `esphome://127.0.16.5:${port}`, data: IMAGE }).catch((x: unknown) => x);
      assert.ok(isUploadError(e), String(e));
      assert.equal(data, 2 * 8192, 'two blocks in flight, then the host waits for a 47');
    } finally {
      server.close();
    }
  });

  it('backlog 1: a second upload while the first runs does not take the device', () =>
    withDevice({ address: '127.0.16.6' }, async (d) => {
      const [a, b] = await Promise.allSettled([
        upload({ host: target(d), data: IMAGE }),
        upload({ host: target(d), data: IMAGE }),
      ]);
      const ok = [a, b].filter((x) => x.status === 'fulfilled');
      assert.equal(ok.length, 1, JSON.stringify([a.status, b.status]));
      assert.equal(d.counters.updatesCompleted, 1);
    }));

  it('the safe probe learns version and auth and starts no update', () =>
    withDevice({ address: '127.0.16.7', password: 'pw', otaVersion: 1 }, async (d) => {
      const p = await esphome.probe?.({ host: d.address, port: d.port }, { timeoutMs: 3000 });
      assert.deepEqual(
        { online: p?.online, authRequired: p?.authRequired },
        { online: true, authRequired: true },
      );
      for (let i = 0; i < 50 && d.state() !== 'idle'; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(d.state(), 'idle', 'the device noticed the close and waits for the next client');
      assert.equal(d.counters.updatesStarted, 0);
      const r = await upload({ host: target(d), data: IMAGE, password: 'pw' });
      assert.equal(r.ok, true, 'the device is free after the probe');
    }));

  it('esphome:// to a closed port is NETWORK_ERROR in the connect phase', async () => {
    const e = await upload({ host: 'esphome://127.0.16.8:1', data: IMAGE }).catch((x: unknown) => x);
    assert.ok(isUploadError(e, 'NETWORK_ERROR'), String(e));
    assert.equal(e.phase, 'connect');
  });
});
