import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { Esp8266Update } from '../src/emulator/board/esp8266-updater.ts';
import {
  type DeviceOptions,
  type EmulatedDevice,
  esp8266StagedImage,
  SparseFlash,
  startDevice,
} from '../src/emulator/index.ts';
import { RawTcp, RawUdp, stopAndWait, waitReply } from './helpers/raw-client.ts';

/**
 * ESP8266 Updater details (cores/esp8266/Updater.cpp, Updater.h at f946290e; issue 13 items 3, 9,
 * 12), texts typed in here.
 */

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

function image(size: number, seed: number, mode = 2, byte3 = 0x40): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  out.set([0xe9, 1, mode, byte3]);
  return out;
}

async function withDevice(options: DeviceOptions, fn: (dev: EmulatedDevice) => Promise<void>): Promise<void> {
  const dev = await startDevice({
    core: 'esp8266',
    address: '127.0.0.61',
    port: 0,
    timeScale: 0.01,
    ...options,
  });
  try {
    await fn(dev);
  } finally {
    await dev.close();
  }
}

async function session(dev: EmulatedDevice, announced: number, fileMd5: string) {
  const udp = await RawUdp.open();
  const tcp = await RawTcp.listen();
  await udp.send(`0 ${tcp.port} ${announced} ${fileMd5}\n`, dev.port, dev.address);
  const reply = (await udp.recv())?.data.toString() ?? '';
  return {
    reply,
    tcp,
    async close() {
      await udp.close();
      await tcp.close();
    },
  };
}

describe('more bytes than announced (Updater.h write(T&): reads at most remaining() − _bufferLen)', () => {
  test('announced 5000, sent 6000: counts add up to 5000, OK, the 5000-byte image boots', async () => {
    await withDevice({}, async (dev) => {
      const img = image(6000, 3, 3);
      const announced = img.subarray(0, 5000);
      const booted = dev.waitFor('booted');
      const s = await session(dev, 5000, md5(announced));
      assert.equal(s.reply, 'OK');
      const conn = await s.tcp.accept();
      assert.ok(conn);
      // 1460-byte chunks: the 4th (4380…5840) straddles the announced end
      await stopAndWait(conn, img.subarray(0, 4380), 1460);
      conn.socket.write(img.subarray(4380));
      const text = await waitReply(conn, (t) => t.endsWith('OK') || t.includes('ERROR'));
      assert.ok(text.endsWith('620OK'), text);
      const b = await booted;
      assert.equal(b.event === 'booted' && b.md5, md5(announced));
      await s.close();
    });
  });

  test('unit: an error inside write() runs _setError → _reset(), so end() reports it (not ERROR[13])', () => {
    const flash = new SparseFlash(4 * 1024 * 1024);
    const upd = new Esp8266Update(flash, { fsStart: 0x200000, fsEnd: 0x3fa000, flashSize: 4 * 1024 * 1024 });
    assert.equal(upd.begin(5000, 0, 400_000), true);
    assert.equal(upd.write(new Uint8Array(4096).fill(0xe9)).written, 4096);
    // Updater.cpp write(data, len): progress + _bufferLen + len > _size → UPDATE_ERROR_SPACE
    assert.equal(upd.write(new Uint8Array(1000)).written, 0);
    assert.equal(upd.isRunning(), false); // _reset(): _size = 0
    assert.equal(upd.end(), undefined);
    assert.equal(upd.errorText(), 'ERROR[4]: Not Enough Space');
  });
});

describe("header byte 2 (flash mode) is set to the chip's mode (Updater.cpp _writeBuffer)", () => {
  test('the MD5 check passes over the bytes sent; staged and booted images carry the chip mode', async () => {
    await withDevice({}, async (dev) => {
      const chipMode = dev.readFlash(2, 1)[0] as number;
      assert.equal(chipMode, 3); // the emulated sketch is a default generic build: DOUT
      const img = image(8000, 4, 0); // QIO in the file
      const booted = dev.waitFor('booted');
      const s = await session(dev, img.length, md5(img));
      assert.equal(s.reply, 'OK');
      const conn = await s.tcp.accept();
      assert.ok(conn);
      await stopAndWait(conn, img, 1460);
      assert.ok((await waitReply(conn, (t) => t.endsWith('OK'))).endsWith('OK'));
      const expected = img.slice();
      expected[2] = 3;
      const b = await booted;
      assert.equal(b.event === 'booted' && b.md5, md5(expected));
      assert.notEqual(md5(expected), md5(img));
      assert.deepEqual(dev.readFlash(0, img.length), expected);
      assert.deepEqual(esp8266StagedImage(img, chipMode), expected);
      await s.close();
    });
  });

  test('esp8266StagedImage: same mode and gzip stay as sent; an unknown mode byte is FM_UNKNOWN (0xFF)', () => {
    const same = image(100, 5, 3);
    assert.equal(esp8266StagedImage(same, 3), same);
    const gz = image(100, 5, 0);
    gz[0] = 0x1f;
    assert.equal(esp8266StagedImage(gz, 3), gz);
    assert.equal(esp8266StagedImage(image(100, 5, 2), 7)[2], 0xff);
    assert.equal(esp8266StagedImage(image(100, 5, 9), 3)[2], 3);
  });
});

describe('flash configuration checks use the chip size (--flash-size)', () => {
  test('ERROR[8]: a 2 MB chip running a 4 MB build (ESP.checkFlashConfig in begin)', async () => {
    await withDevice({ flashSize: '2MB' }, async (dev) => {
      const img = image(8000, 6);
      const s = await session(dev, img.length, md5(img));
      assert.equal(s.reply, 'ERR: ERROR[8]: Flash config wrong: real: 2097152, SDK: 4194304\n');
      assert.equal(await s.tcp.accept(300), undefined);
      await s.close();
    });
  });

  test('ERROR[9] names the real size; an 8 MB image is fine on an 8 MB chip with a 4 MB layout', async () => {
    await withDevice({ flashSize: '8MB' }, async (dev) => {
      const img16 = image(8000, 7, 3, 0x90); // 16 MB in byte 3
      let s = await session(dev, img16.length, md5(img16));
      assert.equal(s.reply, 'OK');
      let conn = await s.tcp.accept();
      assert.ok(conn);
      await stopAndWait(conn, img16, 1460);
      const text = await waitReply(conn, (t) => t.endsWith('\n'));
      assert.ok(text.endsWith('ERROR[9]: new Flash config wrong, real size: 8388608\n'), text);
      await s.close();
      const img8 = image(8000, 8, 3, 0x80);
      s = await session(dev, img8.length, md5(img8));
      assert.equal(s.reply, 'OK');
      conn = await s.tcp.accept();
      assert.ok(conn);
      await stopAndWait(conn, img8, 1460);
      assert.ok((await waitReply(conn, (t) => t.endsWith('OK'))).endsWith('OK'));
      await s.close();
    });
  });
});
