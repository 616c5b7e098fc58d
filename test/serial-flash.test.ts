/**
 * The serial path over a real pty (socat) with serialport's native binding on the host end and the
 * ROM-loader emulator on the device end: chip info for every modelled chip, flash + MD5 verify,
 * erase (whole, region), the pre-flight boundaries.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { type SerialDevice, startSerialDevice } from '../src/emulator/serial/rom-device.ts';
import {
  buildEsp32App,
  buildEsp8266Sketch,
  buildMergedImage,
  encodePartitionTable,
  requireBuiltinPartitionTable,
} from '../src/formats/index.ts';
import type { SerialChip } from '../src/protocols/serial/device/chips.ts';
import type { SerialFault } from '../src/protocols/serial/device/faults.ts';
import { chipInfo } from '../src/protocols/serial/host/chip-info.ts';
import { eraseSerial, flashSerial, type SerialEvent } from '../src/protocols/serial/host/flash.ts';
import { type PtyPair, ptyPair } from './helpers/pty.ts';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

async function withBoard<T>(
  chip: SerialChip,
  run: (pty: PtyPair, dev: SerialDevice) => Promise<T>,
  opts: { faults?: SerialFault[]; flashSize?: number } = {},
): Promise<T> {
  const pty = await ptyPair();
  const dev = await startSerialDevice({ path: pty.device, chip, flashTimeScale: 0, ...opts });
  try {
    return await run(pty, dev);
  } finally {
    await dev.close();
    await pty.close();
  }
}

describe('chip info over the pty', () => {
  for (const [chip, name, summary, mac] of [
    [
      'esp32',
      'ESP32-D0WD-V3 (revision 3)',
      'ESP32-D0WD-V3, 4MB flash: the 4MB default scheme fits',
      '24:6f:28:12:34:56',
    ],
    [
      'esp32s3',
      'ESP32-S3 (QFN56) (revision v0.2)',
      'ESP32-S3 (QFN56), 4MB flash: the 4MB default scheme fits',
      '24:6f:28:12:34:56',
    ],
    [
      'esp8266',
      'ESP8266EX',
      'ESP8266EX, 4MB flash: room for OTA of a sketch up to 1 MB (e.g. the 4M2M layout)',
      '18:fe:34:12:34:56',
    ],
  ] as const) {
    test(`${chip}: description, MAC, flash id and size, crystal, in plain words`, async () => {
      await withBoard(chip, async (pty, dev) => {
        const info = await chipInfo({ port: pty.host, baud: 921600 });
        assert.equal(info.description, name);
        assert.equal(info.mac, mac);
        assert.equal(info.flashSize, 4 * 1024 * 1024);
        assert.equal(info.flashId, 0x1640ef);
        assert.equal(info.crystalMHz, chip === 'esp8266' ? 26 : 40);
        assert.equal(info.summary, summary);
        assert.equal(
          info.security === undefined,
          chip !== 'esp32s3',
          'security info only where the ROM has it',
        );
        if (info.security) assert.equal(info.security.chipId, 9);
        assert.ok(dev.stubRunning, 'the stub was uploaded and answered OHAI');
        assert.equal(dev.baud, 921600, 'CHANGE_BAUDRATE reached the board');
      });
    });
  }

  test('a 2 MB board: the default scheme does not fit, in plain words', async () => {
    await withBoard(
      'esp32',
      async (pty) => {
        const info = await chipInfo({ port: pty.host, baud: 921600 });
        assert.equal(info.flashSize, 2 * 1024 * 1024);
        assert.match(info.summary, /^ESP32-D0WD-V3, 2MB flash: the 4MB default scheme does NOT fit/);
      },
      { flashSize: 2 * 1024 * 1024 },
    );
  });
});

describe('flash over the pty', () => {
  test('an app at 0x10000 (ESP32 default): compressed write, MD5 verified, the board holds the bytes', async () => {
    const app = buildEsp32App({ size: 96 * 1024, seed: 7 });
    await withBoard('esp32', async (pty, dev) => {
      const events: SerialEvent[] = [];
      const r = await flashSerial({
        port: pty.host,
        baud: 921600,
        parts: [{ data: app, name: 'app.bin' }],
        onEvent: (e) => events.push(e),
      });
      assert.equal(r.parts[0]?.address, 0x10000);
      assert.equal(r.parts[0]?.md5, md5(app));
      assert.equal(md5(dev.board.flash.read(0x10000, app.length)), md5(app));
      const progress = events.filter((e) => e.type === 'progress');
      assert.ok(progress.length >= 2, 'progress per block');
      const last = progress.at(-1);
      assert.ok(last && last.type === 'progress' && last.written === last.total);
      assert.ok(events.some((e) => e.type === 'verified'));
      assert.deepEqual(
        events.filter((e) => e.type === 'phase').map((e) => (e as { phase: string }).phase),
        ['connect', 'preflight', 'write', 'reset', 'done'],
      );
    });
  });

  test('ESP8266: a sketch goes to 0x0; --erase empties the rest of the flash first', async () => {
    const sketch = buildEsp8266Sketch({ seed: 3 });
    await withBoard('esp8266', async (pty, dev) => {
      dev.board.flash.load(0x300000, new Uint8Array(4096).fill(0x11));
      const r = await flashSerial({ port: pty.host, baud: 921600, erase: true, parts: [{ data: sketch }] });
      assert.equal(r.parts[0]?.address, 0);
      assert.equal(md5(dev.board.flash.read(0, sketch.length)), md5(sketch));
      assert.ok(
        dev.board.flash.read(0x300000, 4096).every((b) => b === 0xff),
        'erased',
      );
    });
  });

  test('a merged full-flash image alone goes to 0x0; on an ESP32-S3 an S3 app to 0x10000', async () => {
    const app = buildEsp32App({ size: 24 * 1024, seed: 8 });
    const merged = buildMergedImage({ app, flashSize: 0x20000 });
    await withBoard('esp32', async (pty, dev) => {
      const r = await flashSerial({
        port: pty.host,
        baud: 921600,
        parts: [{ data: merged, name: 'merged.bin' }],
      });
      assert.equal(r.parts[0]?.address, 0);
      assert.equal(md5(dev.board.flash.read(0, merged.length)), md5(merged));
    });
    const s3 = buildEsp32App({ size: 24 * 1024, chip: 'esp32s3', seed: 8 });
    await withBoard('esp32s3', async (pty, dev) => {
      const r = await flashSerial({ port: pty.host, baud: 921600, parts: [{ data: s3 }] });
      assert.equal(r.parts[0]?.address, 0x10000);
      assert.equal(r.chip.chipId, 'esp32s3');
      assert.equal(md5(dev.board.flash.read(0x10000, s3.length)), md5(s3));
    });
  });

  test('ESP32-S3 refuses an ESP32 app (chip family pre-flight), nothing written', async () => {
    const app = buildEsp32App({ size: 16 * 1024, chip: 'esp32' });
    await withBoard('esp32s3', async (pty, dev) => {
      await assert.rejects(flashSerial({ port: pty.host, baud: 921600, parts: [{ data: app }] }), (e) =>
        isAirflashError(e, 'PREFLIGHT_WRONG_CHIP'),
      );
      assert.ok(dev.board.flash.read(0x10000, 16).every((b) => b === 0xff));
    });
  });

  test('flash size in the header vs the real flash: 4MB header on a 2 MB board is refused', async () => {
    const app = buildEsp32App({ size: 16 * 1024, flashSize: '4MB' });
    const fits = buildEsp32App({ size: 16 * 1024, flashSize: '2MB' });
    await withBoard(
      'esp32',
      async (pty) => {
        await assert.rejects(flashSerial({ port: pty.host, baud: 921600, parts: [{ data: app }] }), (e) =>
          isAirflashError(e, 'PREFLIGHT_FLASH_SIZE'),
        );
        const r = await flashSerial({ port: pty.host, baud: 921600, parts: [{ data: fits }] });
        assert.equal(r.parts.length, 1);
      },
      { flashSize: 2 * 1024 * 1024 },
    );
  });

  test('an app exactly its slot in the table being written fits; one 16-byte step more does not', async () => {
    const table = requireBuiltinPartitionTable('default');
    const slot = table.entries.find((e) => e.name === 'app0');
    assert.ok(slot);
    // a smaller table so the test stays small: app0 of 64 KiB
    const small = {
      entries: table.entries
        .map((e) => (e.name === 'app0' ? { ...e, size: 0x10000 } : e))
        .filter((e) => e.name !== 'app1' && e.name !== 'spiffs' && e.name !== 'coredump'),
    };
    const tableBin = encodePartitionTable(small);
    const exact = buildEsp32App({ size: 0x10000, seed: 1 });
    assert.equal(exact.length, 0x10000);
    const over = new Uint8Array(0x10001);
    over.set(exact);
    await withBoard('esp32', async (pty, dev) => {
      await assert.rejects(
        flashSerial({
          port: pty.host,
          baud: 921600,
          parts: [
            { address: 0x8000, data: tableBin },
            { address: 0x10000, data: over, name: 'big.bin' },
          ],
        }),
        (e) =>
          isAirflashError(e, 'PREFLIGHT_TOO_BIG') && /65537 bytes; its slot app0 holds 65536/.test(e.message),
      );
      assert.ok(
        dev.board.flash.read(0x8000, 16).every((b) => b === 0xff),
        'nothing written after a refused pre-flight',
      );
      const r = await flashSerial({
        port: pty.host,
        baud: 921600,
        parts: [
          { address: 0x8000, data: tableBin },
          { address: 0x10000, data: exact },
        ],
      });
      assert.equal(r.parts.length, 2);
      assert.equal(md5(dev.board.flash.read(0x8000, tableBin.length)), md5(tableBin));
    });
  });
});

describe('the line as a byte rate', () => {
  test('at 115200 baud a 16 KiB incompressible app takes at least its line time; at 921600 far less', async () => {
    const app = buildEsp32App({ size: 16 * 1024, seed: 4 }); // seeded filler: deflate gains nothing
    const writeMs = async (baud: number): Promise<number> =>
      withBoard('esp32', async (pty) => {
        let t0 = 0;
        let t1 = 0;
        await flashSerial({
          port: pty.host,
          baud,
          parts: [{ data: app }],
          onEvent: (e) => {
            if (e.type === 'phase' && e.phase === 'write') t0 = performance.now();
            if (e.type === 'phase' && e.phase === 'reset') t1 = performance.now();
          },
        });
        return t1 - t0;
      });
    const lineMs = ((app.length * 10) / 115200) * 1000; // ≈ 1422 ms
    const slow = await writeMs(115200);
    const fast = await writeMs(921600);
    assert.ok(slow >= lineMs * 0.95, `115200 baud: ${slow} ms for ${lineMs} ms of line time`);
    assert.ok(fast < slow / 3, `921600 baud: ${fast} ms, 115200: ${slow} ms`);
  });

  test('a file with an ESP image header that cannot be read is refused before writing (PREFLIGHT_CORRUPT)', async () => {
    const app = buildEsp32App({ size: 16 * 1024 });
    const bad = app.slice();
    new DataView(bad.buffer).setUint32(0x18 + 4, 0x7fffffff, true); // segment 0 declares 2 GiB
    await withBoard('esp32', async (pty, dev) => {
      await assert.rejects(
        flashSerial({ port: pty.host, baud: 921600, parts: [{ data: bad, name: 'bad.bin' }] }),
        (e) =>
          isAirflashError(e, 'PREFLIGHT_CORRUPT') &&
          /bad\.bin is not a readable ESP image/.test((e as Error).message),
      );
      assert.ok(dev.board.flash.read(0x10000, 16).every((b) => b === 0xff));
    });
  });
});

describe('erase over the pty', () => {
  test('whole chip, and a region (exact sectors; an unaligned one refused before connecting)', async () => {
    await withBoard('esp32', async (pty, dev) => {
      dev.board.flash.load(0x1000, new Uint8Array(0x3000).fill(0));
      await eraseSerial({ port: pty.host, baud: 921600, region: { offset: 0x2000, size: 0x1000 } });
      assert.ok(dev.board.flash.read(0x2000, 0x1000).every((b) => b === 0xff));
      assert.ok(
        dev.board.flash.read(0x1000, 0x1000).every((b) => b === 0),
        'the sector before is kept',
      );
      assert.ok(
        dev.board.flash.read(0x3000, 0x1000).every((b) => b === 0),
        'the sector after is kept',
      );
      await assert.rejects(eraseSerial({ port: pty.host, region: { offset: 0x2001, size: 0x1000 } }), (e) =>
        isAirflashError(e, 'BAD_ARGUMENT'),
      );
      await eraseSerial({ port: pty.host, baud: 921600 });
      assert.ok(dev.board.flash.read(0x1000, 0x3000).every((b) => b === 0xff));
    });
  });
});
