import assert from 'node:assert/strict';
import { createHash, pbkdf2Sync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type EmulatedDevice, startDevice } from '../src/emulator/index.ts';
import { bootSlotFromOtadata, buildEsp32App, readOtadata } from '../src/formats/index.ts';
import { RawTcp, RawUdp, sleep, stopAndWait, waitReply } from './helpers/raw-client.ts';

/**
 * ESP32 device behaviour from docs protocol.md §2–§5 (source-derived: ArduinoOTA.cpp 3.0–3.3.0 and
 * the Update library, formats.md §4.9) — texts typed in here, not imported from the emulator.
 * Default table (4 MB default.csv): app0 0x10000, app1 0x150000, both 0x140000; otadata 0xE000.
 */

const md5 = (b: Uint8Array | string): string => createHash('md5').update(b).digest('hex');
const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
const FAST = 0.01;
// receiveTimeoutMs 10 s × 0.01 = 100 ms of real silence before the ESP32 gives up: robust on a busy CI.
const APP0 = 0x10000;
const APP1 = 0x150000;

function app(size: number, seed: number): Uint8Array {
  return buildEsp32App({ chip: 'esp32', size, seed });
}

async function session(dev: EmulatedDevice) {
  const udp = await RawUdp.open();
  const tcp = await RawTcp.listen();
  return {
    udp,
    tcp,
    invite: (img: Uint8Array, opts: { cmd?: number; md5?: string; from?: RawUdp; size?: number } = {}) =>
      (opts.from ?? udp).send(
        `${opts.cmd ?? 0} ${tcp.port} ${opts.size ?? img.length} ${opts.md5 ?? md5(img)}\n`,
        dev.port,
        dev.address,
      ),
    async close() {
      await udp.close();
      await tcp.close();
    },
  };
}

function slot(dev: EmulatedDevice): number | undefined {
  return bootSlotFromOtadata(dev.otadata(), 2, { rollback: true });
}

for (const core of ['esp32', 'esp32-legacy'] as const) {
  describe(`${core} emulator: transfer and Update checks`, () => {
    let dev: EmulatedDevice;
    before(async () => {
      dev = await startDevice({
        core,
        address: core === 'esp32' ? '127.0.0.31' : '127.0.0.32',
        port: 0,
        timeScale: FAST,
        receiveTimeoutMs: 10_000,
      });
    });
    after(() => dev.close());

    test('boots app0 from otadata seq 1; the running image is a valid app', () => {
      assert.equal(dev.runningPartition(), 'app0');
      assert.equal(slot(dev), 0);
      assert.equal(dev.readFlash(APP0, 1)[0], 0xe9);
      assert.equal(dev.readFlash(0x8000, 2)[0], 0xaa); // binary partition table magic AA 50
      assert.equal(dev.readFlash(0x8001, 1)[0], 0x50);
    });

    test('no password: OK at once, one count per read, …OK glued, otadata switches to app1, app1 boots', async () => {
      const s = await session(dev);
      const img = app(20000, 1);
      const booted = dev.waitFor('booted');
      await s.invite(img);
      const r = await s.udp.recv();
      assert.deepEqual(r?.data, Buffer.from('OK'));
      assert.equal(r?.port, dev.port);
      const conn = await s.tcp.accept();
      assert.ok(conn);
      assert.equal(conn.remoteAddress, dev.address);
      const replies = await stopAndWait(conn, img, 1024);
      assert.deepEqual(replies.slice(0, -1), Array(replies.length - 1).fill('1024'));
      const last = 20000 - 1024 * 19;
      assert.equal(replies.at(-1)?.startsWith(String(last)), true);
      const text = await waitReply(conn, (t) => t.endsWith('OK'));
      assert.ok(text.endsWith(`1024${last}OK`));
      await conn.ended;
      const b = await booted;
      assert.deepEqual(b.event === 'booted' && [b.partition, b.md5], ['app1', md5(img)]);
      assert.equal(dev.runningImageMd5(), md5(img));
      assert.equal(slot(dev), 1);
      const entries = readOtadata(dev.otadata()).entries;
      assert.equal(entries[1]?.seq, 2);
      assert.equal(entries[1]?.state, 2); // marked VALID after boot (rollback build, formats.md §5.6)
      assert.deepEqual(dev.readFlash(APP1, img.length), img);
      await s.close();
    });

    test('wrong first byte: counts up to 4 KiB, then "Decryption error" CR LF; nothing changes', async () => {
      const s = await session(dev);
      const before = { md5: dev.runningImageMd5(), otadata: dev.otadata() };
      const img = app(12000, 2);
      img[0] = 0x00;
      await s.invite(img);
      assert.equal((await s.udp.recv())?.data.toString(), 'OK');
      const conn = await s.tcp.accept();
      assert.ok(conn);
      for (let off = 0; off < img.length && !conn.closed(); off += 1024) {
        conn.socket.write(img.subarray(off, off + 1024));
        await waitReply(conn, (t) => t.length >= (off / 1024 + 1) * 4, 300);
      }
      await conn.ended;
      assert.equal(conn.text(), '1024102410241024Decryption error\r\n');
      assert.equal(dev.runningImageMd5(), before.md5);
      assert.deepEqual(dev.otadata(), before.otadata);
      await s.close();
    });

    test('wrong MD5: every count, then "MD5 Check Failed" CR LF; otadata and running image untouched', async () => {
      const s = await session(dev);
      const before = { md5: dev.runningImageMd5(), otadata: dev.otadata(), part: dev.runningPartition() };
      const img = app(9000, 3);
      await s.invite(img, { md5: 'f'.repeat(32) });
      assert.equal((await s.udp.recv())?.data.toString(), 'OK');
      const conn = await s.tcp.accept();
      assert.ok(conn);
      await stopAndWait(conn, img, 1024);
      await conn.ended;
      assert.ok(conn.text().endsWith(`${img.length - 8 * 1024}MD5 Check Failed\r\n`));
      assert.equal(dev.runningImageMd5(), before.md5);
      assert.equal(dev.runningPartition(), before.part);
      assert.deepEqual(dev.otadata(), before.otadata);
      // the first 16 bytes were held back: the half-written slot is not bootable
      const other = before.part === 'app0' ? APP1 : APP0;
      assert.notEqual(dev.readFlash(other, 1)[0], 0xe9);
      await s.close();
    });

    test('too big: OK, then begin fails silently (no connect); "Bad Size Given"', async () => {
      const s = await session(dev);
      const failed = dev.waitFor('update-error');
      await s.udp.send(`0 ${s.tcp.port} ${0x140001} ${'0'.repeat(32)}\n`, dev.port, dev.address);
      assert.equal((await s.udp.recv())?.data.toString(), 'OK');
      const e = await failed;
      assert.equal(e.event === 'update-error' && e.text, 'Bad Size Given');
      assert.equal(await s.tcp.accept(150), undefined);
      assert.equal(await s.udp.recv(50), undefined);
      await s.close();
    });

    test('host stall: the last count is re-sent 3 times, 1 s apart, then a silent close (Receive Failed)', async () => {
      const s = await session(dev);
      const img = app(9000, 4);
      const failed = dev.waitFor('update-error');
      await s.invite(img);
      assert.equal((await s.udp.recv())?.data.toString(), 'OK');
      const conn = await s.tcp.accept();
      assert.ok(conn);
      await stopAndWait(conn, img.subarray(0, 2048), 1024);
      await conn.ended;
      // two counts for the two chunks, then three re-sends of the last count ("Try[n]")
      assert.equal(conn.text(), '1024'.repeat(2) + '1024'.repeat(3));
      const e = await failed;
      assert.equal(e.event === 'update-error' && e.text, 'Receive Failed');
      assert.ok(dev.log().includes('Try[3]: 1024'));
      assert.ok(dev.log().includes('Error[3]: Receive Failed'));
      await s.close();
    });

    test('host cut at 50 %: "Aborted", firmware and otadata untouched, the next upload works', async () => {
      const s = await session(dev);
      const before = { md5: dev.runningImageMd5(), otadata: dev.otadata() };
      const img = app(16000, 5);
      const failed = dev.waitFor('update-error');
      await s.invite(img);
      assert.equal((await s.udp.recv())?.data.toString(), 'OK');
      const conn = await s.tcp.accept();
      assert.ok(conn);
      await stopAndWait(conn, img.subarray(0, 8192), 1024);
      conn.socket.destroy();
      const e = await failed;
      assert.equal(e.event === 'update-error' && e.text, 'Aborted');
      assert.equal(dev.runningImageMd5(), before.md5);
      assert.deepEqual(dev.otadata(), before.otadata);
      const booted = dev.waitFor('booted');
      await s.invite(img);
      assert.equal((await s.udp.recv())?.data.toString(), 'OK');
      const again = await s.tcp.accept(3000, 1);
      assert.ok(again);
      await stopAndWait(again, img, 1024);
      const b = await booted;
      assert.equal(b.event === 'booted' && b.md5, md5(img));
      await s.close();
    });

    test('an image that fails validation: "Could Not Activate The Firmware"', async () => {
      const s = await session(dev);
      const before = { md5: dev.runningImageMd5(), otadata: dev.otadata() };
      const img = app(9000, 6);
      img[4000] = (img[4000] as number) ^ 0xff; // breaks the checksum and the SHA-256
      await s.invite(img);
      assert.equal((await s.udp.recv())?.data.toString(), 'OK');
      const conn = await s.tcp.accept();
      assert.ok(conn);
      await stopAndWait(conn, img, 1024);
      await conn.ended;
      assert.ok(conn.text().endsWith('Could Not Activate The Firmware\r\n'));
      assert.equal(dev.runningImageMd5(), before.md5);
      assert.deepEqual(dev.otadata(), before.otadata);
      await s.close();
    });

    // ArduinoOTA.cpp `_runUpdate()`: `if (_rebootOnSuccess) { delay(100); ESP.restart(); }` does
    // not look at the command, so a filesystem update reboots too (issue 13 item 1); the board
    // comes back on the same app, with otadata untouched.
    test('filesystem (cmd 100) goes to the spiffs partition; no otadata change; reboots into the same app', async () => {
      const s = await session(dev);
      const before = { md5: dev.runningImageMd5(), otadata: dev.otadata(), part: dev.runningPartition() };
      const img = new Uint8Array(10000).map((_, i) => (i * 7) & 0xff);
      const reboot = dev.waitFor('reboot');
      const booted = dev.waitFor('booted');
      const done = dev.waitFor('update-complete');
      await s.invite(img, { cmd: 100 });
      assert.equal((await s.udp.recv())?.data.toString(), 'OK');
      const conn = await s.tcp.accept();
      assert.ok(conn);
      await stopAndWait(conn, img, 1024);
      const e = await done;
      assert.equal(e.event === 'update-complete' && e.partition, 'spiffs');
      assert.ok((await waitReply(conn, (t) => t.endsWith('OK'))).endsWith('OK'));
      assert.deepEqual(dev.readFlash(0x290000, img.length), img);
      const r = await reboot;
      assert.equal(r.event === 'reboot' && r.reason, 'update');
      const b = await booted;
      assert.deepEqual(b.event === 'booted' && [b.partition, b.md5], [before.part, before.md5]);
      assert.equal(dev.runningImageMd5(), before.md5);
      assert.deepEqual(dev.otadata(), before.otadata);
      await s.close();
    });

    test('malformed invitations: silence', async () => {
      const s = await session(dev);
      await s.udp.send('hello\n', dev.port, dev.address);
      await s.udp.send(`0 ${s.tcp.port} 100 ${'a'.repeat(33)}\n`, dev.port, dev.address);
      assert.equal(await s.udp.recv(100), undefined);
      assert.equal(dev.state(), 'idle');
      await s.close();
    });
  });
}

describe('ESP32 decryption support off: "Wrong Magic Byte"', () => {
  test('a non-0xE9 first byte reads "Wrong Magic Byte" CR LF', async () => {
    const dev = await startDevice({
      core: 'esp32-legacy',
      address: '127.0.0.33',
      port: 0,
      timeScale: FAST,
      receiveTimeoutMs: 10_000,
      decryptSupport: false,
    });
    const s = await session(dev);
    const img = app(9000, 7);
    img[0] = 0x12;
    await s.invite(img);
    assert.equal((await s.udp.recv())?.data.toString(), 'OK');
    const conn = await s.tcp.accept();
    assert.ok(conn);
    for (let off = 0; off < img.length && !conn.closed(); off += 1024) {
      conn.socket.write(img.subarray(off, off + 1024));
      await waitReply(conn, (t) => t.length >= (off / 1024 + 1) * 4, 300);
    }
    await conn.ended;
    assert.equal(conn.text(), '1024102410241024Wrong Magic Byte\r\n');
    await s.close();
    await dev.close();
  });
});

describe('ESP32 authentication', () => {
  test('esp32-legacy: AUTH <32 hex> (37 bytes), MD5 response; OK to the auth sender; connect from there', async () => {
    const dev = await startDevice({
      core: 'esp32-legacy',
      address: '127.0.0.34',
      port: 0,
      timeScale: FAST,
      receiveTimeoutMs: 10_000,
      password: 'admin',
    });
    const s = await session(dev);
    const img = app(3000, 8);
    await s.invite(img);
    const ch = await s.udp.recv();
    assert.equal(ch?.data.length, 37);
    const nonce = /^AUTH ([0-9a-f]{32})$/.exec(ch?.data.toString() ?? '')?.[1] ?? '';
    assert.equal(nonce.length, 32);
    const cnonce = 'e'.repeat(32);
    const other = await RawUdp.open();
    await other.send(`200 ${cnonce} ${md5(`${md5('admin')}:${nonce}:${cnonce}`)}\n`, dev.port, dev.address);
    assert.equal((await other.recv())?.data.toString(), 'OK');
    const conn = await s.tcp.accept();
    assert.ok(conn);
    await stopAndWait(conn, img, 1024);
    const fin = await waitReply(conn, (t) => t.endsWith('OK'));
    assert.ok(fin.endsWith('OK'), `${fin} ${dev.log().join('|')}`);
    assert.equal(s.udp.drain().length, 0, 'nothing went to the invitation socket');
    await other.close();
    await s.close();
    await dev.close();
  });

  test('esp32 (3.3.1+): AUTH <64 hex> (69 bytes), PBKDF2-HMAC-SHA256 response over the SHA-256 of the password', async () => {
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.0.35',
      port: 0,
      timeScale: FAST,
      receiveTimeoutMs: 10_000,
      password: 'a-real-password',
    });
    const s = await session(dev);
    const img = app(3000, 9);
    await s.invite(img);
    const ch = await s.udp.recv();
    assert.equal(ch?.data.length, 69);
    const nonce = /^AUTH ([0-9a-f]{64})$/.exec(ch?.data.toString() ?? '')?.[1] ?? '';
    const cnonce = 'cd'.repeat(32);
    const secret = sha256('a-real-password');
    const key = pbkdf2Sync(secret, `${nonce}:${cnonce}`, 10000, 32, 'sha256').toString('hex');
    await s.udp.send(`200 ${cnonce} ${sha256(`${key}:${nonce}:${cnonce}`)}\n`, dev.port, dev.address);
    assert.equal((await s.udp.recv())?.data.toString(), 'OK');
    const conn = await s.tcp.accept();
    assert.ok(conn);
    await stopAndWait(conn, img, 1024);
    assert.ok((await waitReply(conn, (t) => t.endsWith('OK'))).endsWith('OK'));
    await s.close();
    await dev.close();
  });

  test('esp32: an MD5 password hash still runs the PBKDF2 exchange with the 32-char secret', async () => {
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.0.36',
      port: 0,
      timeScale: FAST,
      receiveTimeoutMs: 10_000,
      passwordHash: md5('a-real-password'),
    });
    const s = await session(dev);
    await s.invite(app(2000, 1));
    const nonce = (await s.udp.recv())?.data.toString().slice(5) ?? '';
    assert.equal(nonce.length, 64);
    const cnonce = 'ab'.repeat(32);
    const key = pbkdf2Sync(md5('a-real-password'), `${nonce}:${cnonce}`, 10000, 32, 'sha256').toString('hex');
    await s.udp.send(`200 ${cnonce} ${sha256(`${key}:${nonce}:${cnonce}`)}\n`, dev.port, dev.address);
    assert.equal((await s.udp.recv())?.data.toString(), 'OK');
    await s.close();
    await dev.close();
  });

  test('wrong password: "Authentication Failed"; a 32-char (MD5-sized) auth line on 3.3.1+ is dropped silently', async () => {
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.0.37',
      port: 0,
      timeScale: FAST,
      receiveTimeoutMs: 10_000,
      password: 'pw',
    });
    const s = await session(dev);
    await s.invite(app(2000, 1));
    await s.udp.recv();
    await s.udp.send(`200 ${'1'.repeat(64)} ${'2'.repeat(64)}\n`, dev.port, dev.address);
    assert.deepEqual((await s.udp.recv())?.data, Buffer.from('Authentication Failed'));
    assert.equal(dev.state(), 'idle');
    assert.equal(dev.counters.authFailures, 1);
    await s.invite(app(2000, 1));
    await s.udp.recv();
    await s.udp.send(`200 ${'1'.repeat(32)} ${'2'.repeat(32)}\n`, dev.port, dev.address);
    assert.equal(await s.udp.recv(100), undefined);
    assert.equal(dev.state(), 'idle');
    await s.close();
    await dev.close();
  });

  test('a second invitation in WAITAUTH is taken as a bad auth: silence, back to idle', async () => {
    const dev = await startDevice({
      core: 'esp32-legacy',
      address: '127.0.0.38',
      port: 0,
      timeScale: FAST,
      receiveTimeoutMs: 10_000,
      password: 'pw',
    });
    const s = await session(dev);
    const img = app(2000, 1);
    await s.invite(img);
    const n1 = (await s.udp.recv())?.data.toString() ?? '';
    assert.equal(dev.state(), 'waitauth');
    await s.invite(img);
    assert.equal(await s.udp.recv(100), undefined);
    assert.equal(dev.state(), 'idle');
    await sleep(2);
    await s.invite(img);
    const n2 = (await s.udp.recv())?.data.toString() ?? '';
    assert.match(n2, /^AUTH [0-9a-f]{32}$/);
    assert.notEqual(n2, n1);
    await s.close();
    await dev.close();
  });
});

// Real time is the point here, so the loop is long enough (1 s) that event-loop lag on 2 loaded
// cores (tens of ms, at times 100+) stays well inside the windows: at 200 ms with ±40 ms, and a
// 650 ms bound on a 600 ms loop, a busy machine failed them.
describe('ESP32 scheduling (real time)', () => {
  test('handle() every loopMs reads ONE datagram per call, on the t0 + k·loopMs grid', async () => {
    const dev = await startDevice({
      core: 'esp32-legacy',
      address: '127.0.0.39',
      port: 0,
      loopMs: 1000,
      password: 'pw',
    });
    try {
      const a = await RawUdp.open();
      const b = await RawUdp.open();
      const c = await RawUdp.open();
      const line = `0 1 2000 ${'0'.repeat(32)}\n`;
      await a.send(line, dev.port, dev.address);
      await b.send(line, dev.port, dev.address);
      const ra = await a.recv(2500);
      const ta = performance.now();
      assert.match(ra?.data.toString() ?? '', /^AUTH /);
      // b's invitation is consumed by the next handle() as the (bad) auth attempt: silence, idle
      assert.equal(await b.recv(300), undefined);
      await c.send(line, dev.port, dev.address);
      const rc = await c.recv(3500);
      const tc = performance.now();
      assert.match(rc?.data.toString() ?? '', /^AUTH /);
      // On the grid: c (sent ~300 ms after a's answer) is answered two calls later, at a whole
      // number of periods; an answer one period after each datagram would be ~300 ms off it.
      const phase = (tc - ta) % 1000;
      assert.ok(phase < 150 || phase > 850, `replies come on the loop grid (phase ${phase.toFixed(1)} ms)`);
      await a.close();
      await b.close();
      await c.close();
    } finally {
      await dev.close();
    }
  });

  test('a blocked loop answers late, to the port the invitation came from', async () => {
    const dev = await startDevice({ core: 'esp32', address: '127.0.0.40', port: 0, loopMs: 1000 });
    try {
      await sleep(1020);
      const u = await RawUdp.open();
      const t0 = performance.now();
      await u.send(`0 1 2000 ${'0'.repeat(32)}\n`, dev.port, dev.address);
      const r = await u.recv(2500);
      const waited = performance.now() - t0;
      assert.equal(r?.data.toString(), 'OK');
      // One period plus a margin for a loaded machine; waiting for a second call would take ~2 s.
      assert.ok(waited <= 1300, `answered within one loop period (${waited.toFixed(0)} ms)`);
      await u.close();
    } finally {
      await dev.close();
    }
  });
});
