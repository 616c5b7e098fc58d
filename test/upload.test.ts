import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App, buildEsp8266Sketch } from '../src/formats/index.ts';
import { md5hex } from '../src/protocols/arduino-ota/wire/index.ts';
import { type UploadEvent, upload } from '../src/upload/index.ts';

const SCALE = 0.02;
let nextHost = 10;
const addr = (): string => `127.0.0.${nextHost++}`;
const esp32Image = buildEsp32App({ size: 120_000, seed: 11 });
const esp8266Image = buildEsp8266Sketch({ size: 120_000, seed: 12 });
const imageFor = (core: string): Uint8Array => (core === 'esp8266' ? esp8266Image : esp32Image);
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

async function withDevice<T>(
  options: Parameters<typeof startDevice>[0],
  fn: (dev: Awaited<ReturnType<typeof startDevice>>) => Promise<T>,
): Promise<T> {
  const dev = await startDevice({ address: addr(), port: 0, timeScale: SCALE, ...options });
  try {
    return await fn(dev);
  } finally {
    await dev.close();
  }
}

async function fails(p: Promise<unknown>) {
  try {
    await p;
  } catch (error) {
    assert.ok(isAirflashError(error), `not an AirflashError: ${String(error)}`);
    return error;
  }
  assert.fail('the upload succeeded but should have failed');
}

describe('upload() against the emulator, every core', () => {
  for (const core of ['esp32', 'esp32-legacy', 'esp8266'] as const) {
    for (const password of [undefined, 'hunter2 with spaces']) {
      it(`${core}, ${password ? 'right password' : 'no password'}: the device boots the image`, async () => {
        await withDevice({ core, ...(password ? { password } : {}) }, async (dev) => {
          const data = imageFor(core);
          const events: UploadEvent[] = [];
          const booted = dev.waitFor('booted', (e) => e.event === 'booted' && e.md5 === md5(data), 10_000);
          const r = await upload({
            host: dev.address,
            port: dev.port,
            data,
            ...(password ? { password } : {}),
            timeScale: SCALE,
            onEvent: (e) => events.push(e),
          });
          await booted;
          assert.equal(r.ok, true);
          assert.equal(r.md5, md5(data));
          assert.equal(dev.runningImageMd5(), md5(data));
          assert.equal(r.authScheme, password ? (core === 'esp32' ? 'sha256' : 'md5') : undefined);
          const phases = events.filter((e) => e.type === 'phase').map((e) => e.phase);
          assert.deepEqual(phases.at(-1), 'done');
          assert.ok(phases.includes('transfer'));
          assert.equal(phases.includes('auth'), password !== undefined);
          const progress = events.filter((e) => e.type === 'progress');
          assert.ok(progress.length >= 2);
          for (const p of progress) assert.ok(p.bytes <= p.sent && p.bytes <= p.total);
          assert.equal(progress.at(-1)?.bytes, data.length);
          assert.ok(
            progress.slice(0, -1).every((p) => p.bytes < p.total),
            '100 % only on OK',
          );
          assert.equal(r.observation.outcome?.ok, true);
          assert.equal(r.observation.options.passwordGiven, password !== undefined);
        });
      });
    }
  }

  it('ESP32 ≥ 3.3.1 with a stored MD5 hash: SHA-256 first, then the MD5 fallback (with a warning)', async () => {
    await withDevice({ core: 'esp32', passwordHash: md5hex('admin') }, async (dev) => {
      const r = await upload({
        host: dev.address,
        port: dev.port,
        data: esp32Image,
        password: 'admin',
        timeScale: SCALE,
      });
      assert.equal(r.authScheme, 'sha256');
      assert.equal(r.passwordHash, 'md5');
      assert.ok(r.warnings.some((w) => w.code === 'MD5_PASSWORD_HASH'));
      assert.deepEqual(
        r.observation.auth?.tries.map((t) => [t.secret, t.outcome]),
        [
          ['sha256', 'failed'],
          ['md5', 'ok'],
        ],
      );
    });
  });

  it('-m / md5Target uses the MD5 hash at once', async () => {
    await withDevice({ core: 'esp32', passwordHash: md5hex('admin') }, async (dev) => {
      const r = await upload({
        host: dev.address,
        port: dev.port,
        data: esp32Image,
        password: 'admin',
        md5Target: true,
        timeScale: SCALE,
      });
      assert.equal(r.passwordHash, 'md5');
      assert.equal(r.observation.auth?.tries.length, 1);
      assert.equal(r.observation.invitationsSent, 1);
    });
  });
});

describe('upload() failures', () => {
  for (const core of ['esp32', 'esp32-legacy', 'esp8266'] as const) {
    it(`${core}: a wrong password fails with AUTH_FAILED as soon as the device says so`, async () => {
      // Real-time default waits (45 s for the auth answer): the failure must not wait them out.
      await withDevice({ core, password: 'right', timeScale: 1 }, async (dev) => {
        const t0 = Date.now();
        const e = await fails(
          upload({ host: dev.address, port: dev.port, data: imageFor(core), password: 'wrong' }),
        );
        assert.equal(e.code, 'AUTH_FAILED');
        assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
        assert.equal(dev.counters.updatesStarted, 0);
        assert.equal(dev.state(), 'idle');
      });
    });
  }

  it('no password for a device that wants one: AUTH_REQUIRED, and the device is left idle', async () => {
    await withDevice({ core: 'esp32', password: 'x' }, async (dev) => {
      const e = await fails(
        upload({ host: dev.address, port: dev.port, data: esp32Image, timeScale: SCALE }),
      );
      assert.equal(e.code, 'AUTH_REQUIRED');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(dev.state(), 'idle');
    });
  });

  it('ESP8266 image too big: DEVICE_REFUSED with the ERR: text', async () => {
    await withDevice({ core: 'esp8266' }, async (dev) => {
      const big = buildEsp8266Sketch({ size: 2_000_000, seed: 3 });
      const e = await fails(upload({ host: dev.address, port: dev.port, data: big, timeScale: SCALE }));
      assert.equal(e.code, 'DEVICE_REFUSED');
      assert.match(e.deviceText ?? '', /^ERR: ERROR\[4\]: Not Enough Space/);
    });
  });

  for (const core of ['esp32', 'esp8266'] as const) {
    it(`${core}: the device's error text reaches the caller verbatim (DEVICE_ERROR)`, async () => {
      await withDevice({ core }, async (dev) => {
        const bad = new Uint8Array(imageFor(core));
        bad[0] = 0x00;
        let deviceSaid = '';
        dev.events.on('event', (ev: { event: string; text?: string }) => {
          if (ev.event === 'update-error') deviceSaid = ev.text ?? '';
        });
        const errorEvent = dev.waitFor('update-error', undefined, 10_000);
        // preflight: false: the point is the device's own text for a file the pre-flight would refuse.
        const e = await fails(
          upload({ host: dev.address, port: dev.port, data: bad, preflight: false, timeScale: SCALE }),
        );
        const ev = await errorEvent;
        deviceSaid ||= ev.event === 'update-error' ? ev.text : '';
        assert.equal(e.code, 'DEVICE_ERROR');
        assert.ok(deviceSaid.includes(e.deviceText ?? '<none>'), `${e.deviceText} vs ${deviceSaid}`);
        assert.ok((e.deviceText ?? '').length > 3);
        assert.equal(dev.runningImageMd5() === md5(bad), false);
      });
    });
  }

  it('nobody answers: NO_INVITATION_REPLY after exactly the configured attempts', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.2', () => r()));
    let received = 0;
    silent.on('message', () => received++);
    try {
      const t0 = Date.now();
      const e = await fails(
        upload({
          host: '127.0.0.2',
          port: silent.address().port,
          data: esp32Image,
          attemptTimeoutMs: 100,
          inviteAttempts: 3,
        }),
      );
      assert.equal(e.code, 'NO_INVITATION_REPLY');
      const obs = e.data['observation'] as { invitationsSent: number; sent: Array<{ kind: string }> };
      assert.equal(obs.invitationsSent, 3);
      assert.equal(received, 3);
      assert.ok(Date.now() - t0 >= 290);
    } finally {
      silent.close();
    }
  });

  it('Ctrl-C (abort) during the transfer: INTERRUPTED, the device keeps its firmware', async () => {
    await withDevice({ core: 'esp32', bandwidth: 200_000, timeScale: 1 }, async (dev) => {
      const before = dev.runningImageMd5();
      const ac = new AbortController();
      const e = await fails(
        upload({
          host: dev.address,
          port: dev.port,
          data: esp32Image,
          signal: ac.signal,
          onEvent: (ev) => {
            if (ev.type === 'progress' && ev.bytes > 10_000) ac.abort();
          },
        }),
      );
      assert.equal(e.code, 'INTERRUPTED');
      assert.match(e.message, /keeps its old firmware/);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(dev.runningImageMd5(), before);
    });
  });

  it('bad options are BAD_ARGUMENT; a missing file is FILE_NOT_FOUND', async () => {
    assert.equal(
      (await fails(upload({ host: '127.0.0.1', port: 0, data: esp32Image }))).code,
      'BAD_ARGUMENT',
    );
    assert.equal((await fails(upload({ host: '127.0.0.1' }))).code, 'BAD_ARGUMENT');
    assert.equal(
      (await fails(upload({ host: '127.0.0.1', file: '/nonexistent/fw.bin' }))).code,
      'FILE_NOT_FOUND',
    );
  });
});

describe('upload() images and targets', () => {
  it('filesystem images (command 100) go to the filesystem partition', async () => {
    for (const core of ['esp32', 'esp8266'] as const) {
      await withDevice({ core }, async (dev) => {
        const fs = new Uint8Array(randomBytes(64 * 1024));
        const done = dev.waitFor('update-complete', undefined, 10_000);
        const r = await upload({
          host: dev.address,
          port: dev.port,
          data: fs,
          filesystem: true,
          timeScale: SCALE,
        });
        const ev = await done;
        assert.equal(r.command, 100);
        assert.equal(ev.event === 'update-complete' && ev.md5, md5(fs));
        assert.equal(r.observation.image.command, 100);
      });
    }
  });

  it('IPv6 literal (::1 and [::1])', async () => {
    const dev = await startDevice({ core: 'esp32', address: '::1', port: 0, timeScale: SCALE });
    try {
      for (const host of ['::1', '[::1]']) {
        const r = await upload({ host, port: dev.port, data: esp32Image, timeScale: SCALE });
        assert.equal(r.address, '::1');
        await dev.waitFor('booted', undefined, 5000);
      }
    } finally {
      await dev.close();
    }
  });

  it('host names through the resolver (e.g. a .local name resolved by mDNS)', async () => {
    await withDevice({ core: 'esp32' }, async (dev) => {
      const asked: string[] = [];
      const r = await upload({
        host: 'kitchen.local',
        port: dev.port,
        data: esp32Image,
        timeScale: SCALE,
        resolve: async (h) => {
          asked.push(h);
          return [dev.address];
        },
      });
      assert.deepEqual(asked, ['kitchen.local']);
      assert.equal(r.address, dev.address);
      assert.equal(r.observation.target.resolvedBy, 'resolver');
    });
  });

  it('an unresolvable name is HOST_NOT_FOUND', async () => {
    // The resolver is injected: no DNS query leaves this machine.
    const e = await fails(
      upload({ host: 'no-such-host.invalid', data: esp32Image, resolve: async () => [] }),
    );
    assert.equal(e.code, 'HOST_NOT_FOUND');
  });

  it('ESP8266: FILE.signed is sent instead of FILE when it exists (as espota does), with a warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airflash-signed-'));
    try {
      const file = join(dir, 'sketch.ino.bin');
      writeFileSync(file, new Uint8Array(5000));
      writeFileSync(`${file}.signed`, esp8266Image);
      await withDevice({ core: 'esp8266' }, async (dev) => {
        const r = await upload({
          host: dev.address,
          port: dev.port,
          file,
          context: { chip: 'esp8266' },
          timeScale: SCALE,
        });
        assert.equal(r.md5, md5(esp8266Image));
        assert.equal(r.observation.image.signedSubstituted, true);
        assert.ok(r.warnings.some((w) => w.code === 'SIGNED_IMAGE'));
        const plain = await upload({
          host: dev.address,
          port: dev.port,
          file,
          signed: false,
          preflight: false,
          timeScale: SCALE,
        }).catch((e: unknown) => e);
        assert.ok(isAirflashError(plain), 'the unsigned zero-filled file is rejected by the device');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--compress sends a gzip image that the ESP8266 accepts', async () => {
    await withDevice({ core: 'esp8266' }, async (dev) => {
      const r = await upload({
        host: dev.address,
        port: dev.port,
        data: esp8266Image,
        compress: true,
        timeScale: SCALE,
      });
      assert.ok(r.bytes < esp8266Image.length + 100);
      assert.equal(r.observation.image.compressed, true);
      assert.equal(r.observation.image.firstByte, 0x1f);
    });
  });
});

describe('upload() leaves nothing open', () => {
  const count = (): Record<string, number> => {
    const c: Record<string, number> = {};
    for (const r of process.getActiveResourcesInfo()) c[r] = (c[r] ?? 0) + 1;
    return c;
  };
  const net = (c: Record<string, number>): number =>
    (c['UDPWRAP'] ?? 0) + (c['TCPWRAP'] ?? 0) + (c['TCPSERVERWRAP'] ?? 0) + (c['FSReqCallback'] ?? 0);

  it('after success, failure, timeout and abort', async () => {
    await new Promise((r) => setTimeout(r, 50));
    const before = count();
    await withDevice({ core: 'esp32', password: 'p' }, async (dev) => {
      await upload({ host: dev.address, port: dev.port, data: esp32Image, password: 'p', timeScale: SCALE });
      await dev.waitFor('booted', undefined, 5000);
      await fails(
        upload({ host: dev.address, port: dev.port, data: esp32Image, password: 'q', timeScale: SCALE }),
      );
      await fails(upload({ host: dev.address, port: dev.port, data: esp32Image, timeScale: SCALE }));
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 5);
      await fails(
        upload({ host: dev.address, port: dev.port, data: esp32Image, password: 'p', signal: ac.signal }),
      );
    });
    await fails(
      upload({ host: '127.0.0.3', port: 9, data: esp32Image, attemptTimeoutMs: 50, inviteAttempts: 2 }),
    );
    await new Promise((r) => setTimeout(r, 100));
    const after = count();
    assert.equal(net(after), net(before), `before ${JSON.stringify(before)} after ${JSON.stringify(after)}`);
    assert.ok((after['Timeout'] ?? 0) <= (before['Timeout'] ?? 0), `timers left: ${JSON.stringify(after)}`);
  });
});
