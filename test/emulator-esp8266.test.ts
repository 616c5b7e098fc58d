import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type EmulatedDevice, startDevice } from '../src/emulator/index.ts';
import { RawTcp, RawUdp, sleep, stopAndWait, waitReply } from './helpers/raw-client.ts';

/**
 * Golden bytes from docs protocol.md §11.3 (a real ESP8266 ArduinoOTA build), typed in here.
 * Emulated device: 4 MB, 4M2M layout (FS_start 0x200000), running sketch 400,000 bytes.
 */

const md5 = (b: Uint8Array | string): string => createHash('md5').update(b).digest('hex');

/** "an 0xE9 header followed by random bytes" (§11.1). */
function image(size: number, seed = 1, first = 0xe9, byte3 = 0x40): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  out[0] = first;
  out[1] = 1;
  out[2] = 2;
  out[3] = byte3;
  return out;
}

const ADDR = '127.0.0.21';
const FAST = 0.01;

async function session(dev: EmulatedDevice) {
  const udp = await RawUdp.open();
  const tcp = await RawTcp.listen();
  const invite = (img: Uint8Array, opts: { cmd?: number; md5?: string; from?: RawUdp } = {}) =>
    (opts.from ?? udp).send(
      `${opts.cmd ?? 0} ${tcp.port} ${img.length} ${opts.md5 ?? md5(img)}\n`,
      dev.port,
      dev.address,
    );
  return {
    udp,
    tcp,
    invite,
    async close() {
      await udp.close();
      await tcp.close();
    },
  };
}

describe('ESP8266 emulator: replies byte for byte (protocol.md §11.3)', () => {
  let dev: EmulatedDevice;
  before(async () => {
    dev = await startDevice({ core: 'esp8266', address: ADDR, port: 0, timeScale: FAST });
  });
  after(() => dev.close());

  test('no password: OK from the OTA port, counts 1460…700, final OK, new sketch boots', async () => {
    const s = await session(dev);
    const booted = dev.waitFor('booted');
    const before = dev.runningImageMd5();
    const img = image(8000);
    await s.invite(img);
    const reply = await s.udp.recv();
    assert.ok(reply);
    assert.deepEqual([...reply.data], [...Buffer.from('OK')]);
    assert.equal(reply.port, dev.port);
    const conn = await s.tcp.accept();
    assert.ok(conn);
    assert.equal(conn.remoteAddress, ADDR);
    const replies = await stopAndWait(conn, img, 1460);
    assert.deepEqual(replies, ['1460', '1460', '1460', '1460', '1460', '700']);
    const text = await waitReply(conn, (t) => t.endsWith('OK'));
    assert.equal(text, '146014601460146014601460700OK'.replace('1460700', '700'));
    await conn.ended;
    const b = await booted;
    // Updater.cpp `_writeBuffer()` sets header byte 2 to the running chip's flash mode (the
    // emulated sketch is a default generic build: DOUT = 3); the file says DIO (2).
    const staged = img.slice();
    staged[2] = 3;
    assert.equal(b.event === 'booted' && b.md5, md5(staged));
    assert.notEqual(dev.runningImageMd5(), before);
    // eboot copied the staged image (FS_start − round_up_4K(8000) = 0x1FE000) down to 0
    assert.deepEqual(dev.readFlash(0x1fe000, 8000), staged);
    assert.deepEqual(dev.readFlash(0, 8000), staged);
    assert.equal(dev.otadata().length, 0);
    await s.close();
  });

  test('1024-byte host chunks are acknowledged 1024…832', async () => {
    const s = await session(dev);
    const booted = dev.waitFor('booted');
    const img = image(8000, 2);
    await s.invite(img);
    assert.equal((await s.udp.recv())?.data.toString(), 'OK');
    const conn = await s.tcp.accept();
    assert.ok(conn);
    const replies = await stopAndWait(conn, img, 1024);
    assert.deepEqual(replies, ['1024', '1024', '1024', '1024', '1024', '1024', '1024', '832']);
    await booted;
    await s.close();
  });

  test('malformed invitations get no reply at all', async () => {
    const s = await session(dev);
    const count = dev.counters.invitations;
    await s.udp.send('hello\n', dev.port, ADDR);
    await s.udp.send(`0 ${s.tcp.port} 8000 ${'a'.repeat(31)}\n`, dev.port, ADDR);
    await s.udp.send(`300 ${s.tcp.port} 8000 ${'a'.repeat(32)}\n`, dev.port, ADDR);
    assert.equal(await s.udp.recv(150), undefined);
    assert.equal(dev.counters.invitations, count);
    assert.equal(dev.state(), 'idle');
    await s.close();
  });

  test('a missing trailing LF is accepted', async () => {
    const s = await session(dev);
    const booted = dev.waitFor('booted');
    const img = image(5000, 3);
    await s.udp.send(`0 ${s.tcp.port} ${img.length} ${md5(img)}`, dev.port, ADDR);
    assert.equal((await s.udp.recv())?.data.toString(), 'OK');
    const conn = await s.tcp.accept();
    assert.ok(conn);
    await stopAndWait(conn, img, 1460);
    await booted;
    await s.close();
  });

  test('first byte 0x00: the whole image is taken, then 700ERROR[10]: Magic byte is not 0xE9\\n', async () => {
    const s = await session(dev);
    const before = dev.runningImageMd5();
    const img = image(8000, 4, 0x00);
    await s.invite(img);
    assert.equal((await s.udp.recv())?.data.toString(), 'OK');
    const conn = await s.tcp.accept();
    assert.ok(conn);
    const replies = await stopAndWait(conn, img, 1460);
    assert.equal(replies.at(-1)?.startsWith('700'), true);
    await conn.ended;
    assert.equal(
      conn.text(),
      '146014601460146014601460700ERROR[10]: Magic byte is not 0xE9\n'.replace('1460700', '700'),
    );
    assert.equal(dev.runningImageMd5(), before);
    assert.equal(dev.state(), 'idle');
    await s.close();
  });

  test('wrong MD5: 700ERROR[7]: MD5 verification failed: expected: 0…, calculated: …', async () => {
    const s = await session(dev);
    const before = dev.runningImageMd5();
    const img = image(8000, 5);
    await s.invite(img, { md5: '0'.repeat(32) });
    assert.equal((await s.udp.recv())?.data.toString(), 'OK');
    const conn = await s.tcp.accept();
    assert.ok(conn);
    await stopAndWait(conn, img, 1460);
    await conn.ended;
    assert.ok(
      conn
        .text()
        .endsWith(
          `700ERROR[7]: MD5 verification failed: expected: ${'0'.repeat(32)}, calculated: ${md5(img)}\n`,
        ),
    );
    assert.equal(dev.runningImageMd5(), before);
    await s.close();
  });

  test('header byte 3 = 0x80 (8 MB) on a 4 MB chip: ERROR[9]: new Flash config wrong, real size: 4194304', async () => {
    const s = await session(dev);
    const img = image(8000, 6, 0xe9, 0x80);
    await s.invite(img);
    assert.equal((await s.udp.recv())?.data.toString(), 'OK');
    const conn = await s.tcp.accept();
    assert.ok(conn);
    await stopAndWait(conn, img, 1460);
    await conn.ended;
    assert.ok(conn.text().endsWith('ERROR[9]: new Flash config wrong, real size: 4194304\n'));
    await s.close();
  });

  test('gzip images (1F 8B) skip the magic and flash-size checks', async () => {
    const s = await session(dev);
    const booted = dev.waitFor('booted');
    const img = image(6000, 7, 0x1f, 0x80);
    img[1] = 0x8b;
    await s.invite(img);
    assert.equal((await s.udp.recv())?.data.toString(), 'OK');
    const conn = await s.tcp.accept();
    assert.ok(conn);
    await stopAndWait(conn, img, 1460);
    assert.ok((await waitReply(conn, (t) => t.endsWith('OK'))).endsWith('OK'));
    await booted;
    await s.close();
  });

  test('a host stall gets no timeout (the waited-- bug); the upload then completes', async () => {
    const s = await session(dev);
    const booted = dev.waitFor('booted');
    const img = image(8000, 8);
    const errors = dev.counters.updateErrors;
    await s.invite(img);
    assert.equal((await s.udp.recv())?.data.toString(), 'OK');
    const conn = await s.tcp.accept();
    assert.ok(conn);
    conn.socket.write(img.subarray(0, 2920));
    await waitReply(conn, (t) => t.length >= 4);
    await sleep(300); // 30 device-seconds at timeScale 0.01: far beyond the 1 s wait
    assert.equal(dev.state(), 'runupdate');
    conn.socket.write(img.subarray(2920));
    assert.ok((await waitReply(conn, (t) => t.endsWith('OK'))).endsWith('OK'));
    assert.equal(dev.counters.updateErrors, errors);
    await booted;
    await s.close();
  });

  test('filesystem (cmd 100) goes to FS_start 0x200000 and does not touch the sketch', async () => {
    const s = await session(dev);
    const booted = dev.waitFor('booted');
    const before = dev.runningImageMd5();
    const img = image(9000, 9, 0x00);
    await s.invite(img, { cmd: 100 });
    assert.equal((await s.udp.recv())?.data.toString(), 'OK');
    const conn = await s.tcp.accept();
    assert.ok(conn);
    await stopAndWait(conn, img, 1460);
    assert.ok((await waitReply(conn, (t) => t.endsWith('OK'))).endsWith('OK'));
    await booted;
    assert.deepEqual(dev.readFlash(0x200000, 9000), img);
    assert.equal(dev.runningImageMd5(), before);
    assert.ok(dev.log().includes('Start updating filesystem'));
    await s.close();
  });
});

describe('ESP8266 emulator: space rule of formats.md §6.3 (fresh device, 400,000-byte sketch)', () => {
  test('too big: ERR: ERROR[4]: Not Enough Space over UDP, no connect, firmware untouched', async () => {
    const dev = await startDevice({ core: 'esp8266', address: '127.0.0.26', port: 0, timeScale: FAST });
    const s = await session(dev);
    const before = dev.runningImageMd5();
    // largest accepted: 0x200000 − round_up_4K(400000) = 1,695,744 bytes (§11.1)
    const failed = dev.waitFor('update-error');
    await s.udp.send(`0 ${s.tcp.port} 1695745 ${'0'.repeat(32)}\n`, dev.port, dev.address);
    const reply = await s.udp.recv();
    assert.equal(reply?.data.toString('latin1'), 'ERR: ERROR[4]: Not Enough Space\n');
    assert.equal(await s.tcp.accept(200), undefined);
    const err = await failed;
    assert.equal(err.event === 'update-error' && err.text, 'ERROR[4]: Not Enough Space');
    assert.equal(dev.runningImageMd5(), before);
    assert.ok(dev.log().includes('Update Begin Error'));
    assert.ok(dev.log().includes('Error[1]: Begin Failed'));
    await s.close();
    await dev.close();
  });

  test('the exact limit 1,695,744 is accepted by begin()', async () => {
    const dev = await startDevice({ core: 'esp8266', address: '127.0.0.26', port: 0, timeScale: FAST });
    const s = await session(dev);
    await s.udp.send(`0 ${s.tcp.port} 1695744 ${'0'.repeat(32)}\n`, dev.port, dev.address);
    assert.equal((await s.udp.recv())?.data.toString(), 'OK');
    const conn = await s.tcp.accept();
    assert.ok(conn);
    const failed = dev.waitFor('update-error');
    // more than one 4 KiB flash buffer, else progress() is still 0 and end() says ERROR[13]: No data supplied
    await stopAndWait(conn, image(4380), 1460);
    conn.socket.destroy(); // host closes early: premature end prints ERROR[0]: No Error (§11.3)
    const err = await failed;
    assert.equal(err.event === 'update-error' && err.text, 'ERROR[0]: No Error');
    await s.close();
    await dev.close();
  });
});

describe('ESP8266 emulator: password (protocol.md §3.1, §11.3)', () => {
  let dev: EmulatedDevice;
  before(async () => {
    dev = await startDevice({
      core: 'esp8266',
      address: '127.0.0.22',
      port: 0,
      timeScale: FAST,
      password: 'admin',
    });
  });
  after(() => dev.close());

  const authLine = (nonce: string, password: string, cnonce = 'c'.repeat(32)) =>
    `200 ${cnonce} ${md5(`${md5(password)}:${nonce}:${cnonce}`)}\n`;

  test('AUTH <32 hex> (37 bytes); the auth OK goes to the invitation socket even from another socket', async () => {
    const s = await session(dev);
    const booted = dev.waitFor('booted');
    const img = image(3000, 10);
    await s.invite(img);
    const challenge = await s.udp.recv();
    assert.ok(challenge);
    assert.equal(challenge.data.length, 37);
    const m = /^AUTH ([0-9a-f]{32})$/.exec(challenge.data.toString('latin1'));
    assert.ok(m);
    const other = await RawUdp.open();
    await other.send(authLine(m[1] as string, 'admin'), dev.port, dev.address);
    const ok = await s.udp.recv();
    assert.equal(ok?.data.toString(), 'OK');
    assert.equal(await other.recv(100), undefined);
    const conn = await s.tcp.accept();
    assert.ok(conn);
    await stopAndWait(conn, img, 1460);
    await booted;
    await other.close();
    await s.close();
  });

  test('setPasswordHash("21232f29…") is the same as setPassword("admin")', async () => {
    const d2 = await startDevice({
      core: 'esp8266',
      address: '127.0.0.23',
      port: 0,
      timeScale: FAST,
      passwordHash: '21232f297a57a5a743894a0e4a801fc3',
    });
    const s = await session(d2);
    await s.invite(image(2000));
    const nonce = (await s.udp.recv())?.data.toString().slice(5) ?? '';
    await s.udp.send(authLine(nonce, 'admin'), d2.port, d2.address);
    assert.equal((await s.udp.recv())?.data.toString(), 'OK');
    await s.close();
    await d2.close();
  });

  test('wrong password: Authentication Failed (21 bytes), idle, usable', async () => {
    const s = await session(dev);
    await s.invite(image(2000));
    const nonce = (await s.udp.recv())?.data.toString().slice(5) ?? '';
    const fails = dev.counters.authFailures;
    await s.udp.send(authLine(nonce, 'wrong'), dev.port, dev.address);
    const r = await s.udp.recv();
    assert.deepEqual(r?.data, Buffer.from('Authentication Failed'));
    assert.equal(dev.counters.authFailures, fails + 1);
    assert.equal(dev.state(), 'idle');
    assert.ok(dev.log().includes('Error[0]: Auth Failed'));
    await s.close();
  });

  test('a second invitation in WAITAUTH is dropped silently; the auth that follows is ignored; fresh nonce next', async () => {
    const s = await session(dev);
    const img = image(2000, 11);
    await s.invite(img);
    const n1 = (await s.udp.recv())?.data.toString().slice(5) ?? '';
    assert.equal(dev.state(), 'waitauth');
    await s.invite(img);
    assert.equal(await s.udp.recv(100), undefined);
    assert.equal(dev.state(), 'idle');
    await s.udp.send(authLine(n1, 'admin'), dev.port, dev.address);
    assert.equal(await s.udp.recv(100), undefined);
    await sleep(2);
    await s.invite(img);
    const n2 = (await s.udp.recv())?.data.toString().slice(5) ?? '';
    assert.match(n2, /^[0-9a-f]{32}$/);
    assert.notEqual(n2, n1);
    await s.udp.send('x', dev.port, dev.address); // back to idle for the next test
    await s.close();
  });
});

describe('ESP8266 emulator: timing and scheduling (real time)', () => {
  test('connects about 100 ms after OK; OK 1.0 s after the last count; close 1.0 s later', async () => {
    const dev = await startDevice({ core: 'esp8266', address: '127.0.0.24', port: 0 });
    try {
      const s = await session(dev);
      const img = image(3000, 12);
      await s.invite(img);
      const ok = await s.udp.recv();
      const tOk = performance.now();
      assert.equal(ok?.data.toString(), 'OK');
      const conn = await s.tcp.accept();
      assert.ok(conn);
      const connectDelay = conn.at - tOk;
      assert.ok(connectDelay >= 85 && connectDelay < 300, `connect after ${connectDelay} ms`);
      await stopAndWait(conn, img, 1460);
      const tLast = performance.now();
      await waitReply(conn, (t) => t.endsWith('OK'), 3000);
      const tFinal = performance.now();
      assert.ok(tFinal - tLast >= 950 && tFinal - tLast < 1400, `OK after ${tFinal - tLast} ms`);
      await conn.ended;
      const tClose = performance.now();
      assert.ok(tClose - tFinal >= 900 && tClose - tFinal < 1400, `close after ${tClose - tFinal} ms`);
      await s.close();
    } finally {
      await dev.close();
    }
  });

  test('UDP is handled during delay(): AUTH at once, OK only at the next handle()', async () => {
    const dev = await startDevice({
      core: 'esp8266',
      address: '127.0.0.25',
      port: 0,
      loopMs: 400,
      password: 'pw',
    });
    try {
      const s = await session(dev);
      const t0 = performance.now();
      await s.invite(image(2000));
      const challenge = await s.udp.recv();
      assert.ok(performance.now() - t0 < 100, 'AUTH comes from the network callback');
      const nonce = challenge?.data.toString().slice(5) ?? '';
      const cnonce = 'd'.repeat(32);
      const t1 = performance.now();
      await s.udp.send(`200 ${cnonce} ${md5(`${md5('pw')}:${nonce}:${cnonce}`)}\n`, dev.port, dev.address);
      assert.equal((await s.udp.recv(1000))?.data.toString(), 'OK');
      const wait = performance.now() - t1;
      assert.ok(wait <= 450, `OK waited ${wait} ms (one loop period at most)`);
      await s.close();
    } finally {
      await dev.close();
    }
  });
});
