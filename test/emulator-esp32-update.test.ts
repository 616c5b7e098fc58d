import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { type DeviceOptions, type EmulatedDevice, esp32EndMs, startDevice } from '../src/emulator/index.ts';
import { buildEsp32App, otaVerdict, parsePartitionCsv } from '../src/formats/index.ts';
import { RawTcp, RawUdp, stopAndWait, waitReply } from './helpers/raw-client.ts';

/**
 * ESP32 Update.begin()/end() per revision (src/emulator/board/esp32-target.ts, docs/emulator.md
 * "ESP32 Update revisions"): targets, the running-partition guard, the FAT offset, the time
 * `Update.end()` takes before `OK`. Tables typed in here as CSV.
 */

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const FAST = 0.01;

async function withDevice(options: DeviceOptions, fn: (dev: EmulatedDevice) => Promise<void>): Promise<void> {
  const dev = await startDevice({
    address: '127.0.0.51',
    port: 0,
    timeScale: FAST,
    receiveTimeoutMs: 10_000,
    ...options,
  });
  try {
    await fn(dev);
  } finally {
    await dev.close();
  }
}

/** Invite, expect OK; resolves with the accepted connection (or undefined: the device never connected). */
async function invite(dev: EmulatedDevice, img: Uint8Array, cmd = 0) {
  const udp = await RawUdp.open();
  const tcp = await RawTcp.listen();
  await udp.send(`${cmd} ${tcp.port} ${img.length} ${md5(img)}\n`, dev.port, dev.address);
  assert.equal((await udp.recv())?.data.toString(), 'OK');
  const conn = await tcp.accept(1500);
  return {
    conn,
    async close() {
      await udp.close();
      await tcp.close();
    },
  };
}

const ONE_SLOT = parsePartitionCsv(`nvs, data, nvs, 0x9000, 0x5000,
otadata, data, ota, 0xe000, 0x2000,
app0, app, ota_0, 0x10000, 0x140000,
spiffs, data, spiffs, 0x150000, 0x2B0000,
`);

describe('one OTA slot: the running-partition guard (issue 13 item 5)', () => {
  // 3.0 – 3.3.0 Updater.cpp begin(): `_partition = esp_ota_get_next_update_partition(NULL); if
  // (!_partition) …` — no comparison with the running partition, so on one slot it erases itself.
  for (const options of [{ core: 'esp32-legacy' }, { core: 'esp32', esp32Updater: '3.3.1' }] as const) {
    test(`${options.core}${'esp32Updater' in options ? ' 3.3.1 (ASSUMPTION A6)' : ''}: erases the running app, crashes mid-transfer, never boots again`, async () => {
      await withDevice({ ...options, partitions: ONE_SLOT }, async (dev) => {
        assert.equal(dev.runningPartition(), 'app0');
        const img = buildEsp32App({ chip: 'esp32', size: 20000, seed: 5 });
        const reboot = dev.waitFor('reboot');
        const booted = dev.waitFor('booted'); // registered now: the reboot takes only 6 ms
        const s = await invite(dev, img);
        assert.ok(s.conn, 'the device connects: begin() accepted the running slot');
        s.conn.socket.write(img);
        const r = await reboot;
        assert.equal(r.event === 'reboot' && r.reason, 'fault');
        await s.conn.ended;
        assert.equal(s.conn.text().includes('OK'), false);
        const b = await booted;
        assert.equal(b.event === 'booted' && b.partition, '');
        assert.equal(dev.state(), 'offline');
        assert.equal(dev.readFlash(0x10000, 1)[0], 0xff); // app0's first sector erased
        await s.close();
      });
    });
  }

  test('the pre-flight verdict for such a table names both outcomes (newest refuses, ≤ 3.3.0 bricks)', () => {
    const v = otaVerdict(ONE_SLOT, 4 * 1024 * 1024);
    assert.equal(v.ok, false);
    assert.equal(v.reason, 'single_app');
    assert.match(v.explanation[0] ?? '', /Partition Could Not be Found/);
    assert.match(v.explanation[0] ?? '', /3\.0 – 3\.3\.0 .*erase the app they run from/);
  });

  test('esp32 newest: OK, then begin() refuses ("Partition Could Not be Found"): no connect, app intact', async () => {
    await withDevice({ core: 'esp32', partitions: ONE_SLOT }, async (dev) => {
      const before = dev.runningImageMd5();
      const err = dev.waitFor('update-error');
      const s = await invite(dev, buildEsp32App({ chip: 'esp32', size: 20000, seed: 6 }));
      assert.equal(s.conn, undefined);
      const e = await err;
      assert.equal(e.event === 'update-error' && e.text, 'Partition Could Not be Found');
      assert.equal(dev.runningImageMd5(), before);
      assert.equal(dev.state(), 'idle');
      await s.close();
    });
  });
});

describe('gaps in slot numbering: esp_ota_get_next_update_partition skips missing subtypes', () => {
  test('ota_0 + ota_2: the image goes to ota_2, then activation fails (the bootloader counts 1 slot)', async () => {
    const table = parsePartitionCsv(`nvs, data, nvs, 0x9000, 0x5000,
otadata, data, ota, 0xe000, 0x2000,
app0, app, ota_0, 0x10000, 0x140000,
app2, app, ota_2, 0x150000, 0x140000,
`);
    await withDevice({ core: 'esp32', partitions: table }, async (dev) => {
      const img = buildEsp32App({ chip: 'esp32', size: 20000, seed: 7 });
      const s = await invite(dev, img);
      assert.ok(s.conn);
      await stopAndWait(s.conn, img, 1024);
      const text = await waitReply(s.conn, (t) => t.endsWith('\r\n'));
      assert.ok(text.endsWith('Could Not Activate The Firmware\r\n'));
      assert.deepEqual(dev.readFlash(0x150000, img.length), img); // written to ota_2 in full
      assert.equal(dev.runningPartition(), 'app0');
      await s.close();
    });
  });
});

describe('filesystem targets (cmd 100)', () => {
  test('esp32-legacy FAT fallback writes at partition offset 0 (`_paroffset` is never read)', async () => {
    await withDevice({ core: 'esp32-legacy', partitions: 'default_ffat' }, async (dev) => {
      const ffat = dev.partitionTable()?.entries.find((e) => e.name === 'ffat');
      assert.ok(ffat);
      // a full-size image: at +0x1000 it would run 4 KiB past the partition end (into coredump)
      const img = new Uint8Array(ffat.size).map((_, i) => (i * 13 + 1) & 0xff);
      const after = dev.readFlash(ffat.offset + ffat.size, 4096);
      const s = await invite(dev, img, 100);
      assert.ok(s.conn);
      s.conn.socket.write(img);
      await waitReply(s.conn, (t) => t.endsWith('OK'), 60_000);
      assert.deepEqual(dev.readFlash(ffat.offset, 4096), img.subarray(0, 4096));
      assert.deepEqual(dev.readFlash(ffat.offset + ffat.size, 4096), after);
      await s.close();
    });
  });

  const LITTLEFS_ONLY = parsePartitionCsv(`nvs, data, nvs, 0x9000, 0x5000,
otadata, data, ota, 0xe000, 0x2000,
app0, app, ota_0, 0x10000, 0x140000,
app1, app, ota_1, 0x150000, 0x140000,
lfs, data, littlefs, 0x290000, 0x170000,
`);

  test('esp32 newest (U_FLASHFS, PR #11856): littlefs is the third fallback', async () => {
    await withDevice({ core: 'esp32', partitions: LITTLEFS_ONLY }, async (dev) => {
      const img = new Uint8Array(5000).fill(0x5a);
      const done = dev.waitFor('update-complete');
      const s = await invite(dev, img, 100);
      assert.ok(s.conn);
      await stopAndWait(s.conn, img, 1024);
      const e = await done;
      assert.equal(e.event === 'update-complete' && e.partition, 'lfs');
      await s.close();
    });
  });

  test('esp32 3.3.1 (U_SPIFFS = 100: spiffs, then fat): no littlefs fallback → Partition Could Not be Found', async () => {
    await withDevice({ core: 'esp32', esp32Updater: '3.3.1', partitions: LITTLEFS_ONLY }, async (dev) => {
      const err = dev.waitFor('update-error');
      const s = await invite(dev, new Uint8Array(5000).fill(0x5a), 100);
      assert.equal(s.conn, undefined);
      const e = await err;
      assert.equal(e.event === 'update-error' && e.text, 'Partition Could Not be Found');
      await s.close();
    });
  });
});

describe('Update.end() takes time before OK (read back + SHA-256 + otadata rewrite)', () => {
  test('esp32EndMs grows with the image; a filesystem update has no check', () => {
    assert.ok(esp32EndMs(200_000, 0) >= 50 && esp32EndMs(200_000, 0) <= 200);
    assert.ok(esp32EndMs(1_310_720, 0) > esp32EndMs(200_000, 0) + 200);
    assert.equal(esp32EndMs(1_310_720, 100), 0);
  });

  test('real time: OK arrives at least the modelled end time after the last count', async () => {
    const size = 400_000;
    const scale = 0.5;
    await withDevice({ core: 'esp32', timeScale: scale, receiveTimeoutMs: 4000 }, async (dev) => {
      const img = buildEsp32App({ chip: 'esp32', size, seed: 9 });
      const s = await invite(dev, img);
      assert.ok(s.conn);
      const conn = s.conn;
      // The last count is timed where the device writes it (its 100 % progress event follows the
      // write synchronously), not when this test reads it: the device runs in this process, and a
      // loaded event loop delays the read of the count while the end timer is already running, so
      // a reader's clock made the gap look shorter (43 ms under load) than the device made it.
      let lastCount: number | undefined;
      const onProgress = (e: { bytes: number; total: number }): void => {
        if (e.bytes >= e.total) lastCount = performance.now();
      };
      dev.events.on('progress', onProgress);
      try {
        await stopAndWait(conn, img.subarray(0, size - 1000), 1000, 20_000);
        const before = conn.text().length;
        conn.socket.write(img.subarray(size - 1000));
        await waitReply(conn, (t) => t.length >= before + 4, 20_000);
        await waitReply(conn, (t) => t.endsWith('OK'), 20_000);
      } finally {
        dev.events.off('progress', onProgress);
      }
      assert.ok(lastCount !== undefined, 'the device reported its last count');
      const gap = performance.now() - lastCount;
      // Lower bound only (load can only make it longer); old model: OK right after the count.
      assert.ok(gap >= esp32EndMs(size, 0) * scale * 0.8, `OK ${gap.toFixed(0)} ms after the last count`);
      await s.close();
    });
  });
});
