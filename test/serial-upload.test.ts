/**
 * The serial family on the upload front (issue 17): `upload({ host: 'serial://PATH' })` and
 * `airflash upload -i serial://PATH -f app.bin` over a real pty (socat) to the ROM-loader emulator.
 * The board's flash is read back from the emulator, never from the uploader.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../src/cli/main.ts';
import { type SerialDevice, startSerialDevice } from '../src/emulator/serial/rom-device.ts';
import {
  blankOtadata,
  buildEsp32App,
  buildEsp8266Sketch,
  encodePartitionTable,
  requireBuiltinPartitionTable,
  setBootSlot,
} from '../src/formats/index.ts';
import { isUploadError, type UploadEvent, upload } from '../src/index.ts';
import type { SerialChip } from '../src/protocols/serial/device/chips.ts';
import type { SerialFault } from '../src/protocols/serial/device/faults.ts';
import { memoryIO } from './helpers/cli-io.ts';
import { ptyPair } from './helpers/pty.ts';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const blank = (b: Uint8Array): boolean => b.every((x) => x === 0xff);

async function onBoard(
  run: (port: string, dev: SerialDevice, dir: string) => Promise<void>,
  opts: { chip?: SerialChip; faults?: SerialFault[] } = {},
): Promise<void> {
  const pty = await ptyPair();
  const dev = await startSerialDevice({ path: pty.device, flashTimeScale: 0, ...opts });
  const dir = mkdtempSync(join(tmpdir(), 'airflash-serial-upload-'));
  try {
    await run(pty.host, dev, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await dev.close();
    await pty.close();
  }
}

test('upload({ host: serial://PATH }): a blank board gets the app at 0x10000, MD5 on the board, the envelope', async () => {
  await onBoard(async (port, dev, dir) => {
    const app = buildEsp32App({ size: 60 * 1024 + 3, seed: 11 });
    const file = join(dir, 'app.bin');
    writeFileSync(file, app);
    const events: UploadEvent[] = [];
    const r = await upload({ host: `serial://${port}`, file, onEvent: (e) => events.push(e) });
    assert.equal(md5(dev.board.flash.read(0x10000, app.length)), md5(app), 'the board holds the app in app0');
    assert.equal(r.protocol, 'serial');
    assert.equal(r.host, port);
    assert.equal(r.address, port);
    assert.equal(r.port, 0);
    assert.equal(r.bytes, app.length);
    assert.equal(r.md5, md5(app));
    assert.equal(r.attempts, 1);
    const obs = r.observation as unknown as {
      slot: { address: number; name: string; why: string };
      chip: string;
    };
    assert.deepEqual(obs.slot, { address: 0x10000, why: 'default' });
    assert.equal(obs.chip, 'ESP32-D0WD-V3 (revision 3)');
    const phases = events.flatMap((e) => (e.type === 'phase' ? [e.phase] : []));
    // Nothing to resolve for a device path: the first phase is the image's.
    assert.deepEqual(phases, ['prepare', 'preflight', 'connect', 'transfer', 'result', 'done']);
    const progress = events.flatMap((e) => (e.type === 'progress' ? [e] : []));
    assert.ok(progress.length >= 1);
    for (const p of progress) {
      assert.deepEqual(Object.keys(p).sort(), ['bytes', 'sent', 'stage', 'total', 'type']);
      assert.equal(p.total, app.length);
      assert.ok(p.bytes <= p.total && p.sent <= p.total);
    }
    const last = progress.at(-1);
    assert.equal(last?.bytes, app.length);
    assert.equal(last?.stage, 'flashing');
    assert.ok(progress.slice(0, -1).every((p) => p.stage === 'sending' && p.bytes < app.length));
  });
});

test("the board's table: blank otadata → app0; otadata booting app1 → app1, app0 keeps the image before it", async () => {
  await onBoard(async (port, dev, dir) => {
    const table = requireBuiltinPartitionTable('default');
    const app1 = table.entries.find((e) => e.name === 'app1');
    assert.ok(app1);
    dev.board.flash.load(0x8000, encodePartitionTable(table));
    const before = buildEsp32App({ size: 20 * 1024, seed: 1 });
    writeFileSync(join(dir, 'before.bin'), before);
    const first = await upload({ host: `serial://${port}`, file: join(dir, 'before.bin') });
    assert.deepEqual((first.observation as unknown as { slot: unknown }).slot, {
      address: 0x10000,
      name: 'app0',
      size: 0x140000,
      why: 'first-app',
    });
    assert.equal(md5(dev.board.flash.read(0x10000, before.length)), md5(before));
    dev.board.flash.load(0xe000, setBootSlot(blankOtadata(), 1, 2));
    const app = buildEsp32App({ size: 30 * 1024, seed: 2 });
    writeFileSync(join(dir, 'app.bin'), app);
    const r = await upload({ host: `serial://${port}`, file: join(dir, 'app.bin') });
    assert.equal(md5(dev.board.flash.read(app1.offset, app.length)), md5(app));
    assert.equal(md5(dev.board.flash.read(0x10000, before.length)), md5(before), 'app0 untouched');
    assert.deepEqual((r.observation as unknown as { slot: unknown }).slot, {
      address: app1.offset,
      name: 'app1',
      size: app1.size,
      why: 'otadata',
    });
  });
});

test('ESP8266: the sketch at 0x0', async () => {
  await onBoard(
    async (port, dev, dir) => {
      const sketch = buildEsp8266Sketch({ size: 24 * 1024, seed: 4 });
      writeFileSync(join(dir, 'sketch.bin'), sketch);
      const r = await upload({ host: `serial://${port}`, file: join(dir, 'sketch.bin') });
      assert.equal(md5(dev.board.flash.read(0, sketch.length)), md5(sketch));
      assert.equal(
        (r.observation as unknown as { slot: { address: number; why: string } }).slot.why,
        'default',
      );
    },
    { chip: 'esp8266' },
  );
});

test('airflash upload -i serial://PATH -f app.bin --json: exit 0, protocol serial, the board holds it', async () => {
  await onBoard(async (port, dev, dir) => {
    const app = buildEsp32App({ size: 40 * 1024, seed: 9 });
    writeFileSync(join(dir, 'app.bin'), app);
    const m = memoryIO({ cwd: dir });
    assert.equal(
      await runCli(['upload', '-i', `serial://${port}`, '-f', 'app.bin', '--json'], m.io),
      0,
      m.stderr(),
    );
    const lines = m
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const result = lines.at(-1) as Record<string, unknown>;
    assert.equal(result['type'], 'result');
    assert.equal(result['ok'], true);
    assert.equal(result['protocol'], 'serial');
    assert.equal(result['bytes'], app.length);
    assert.equal(md5(dev.board.flash.read(0x10000, app.length)), md5(app));
    const plain = memoryIO({ cwd: dir });
    assert.equal(await runCli(['upload', '-i', `serial://${port}`, '-f', 'app.bin'], plain.io), 0);
    assert.match(plain.stderr() + plain.stdout(), new RegExp(`Updated serial://${port} with 40\\.0 KiB`));
  });
});

test('a wrong-family image: PREFLIGHT_WRONG_CHIP, exit 3, not a byte written', async () => {
  await onBoard(async (port, dev, dir) => {
    const sketch = buildEsp8266Sketch({ size: 24 * 1024, seed: 6 });
    writeFileSync(join(dir, 'sketch.bin'), sketch);
    const m = memoryIO({ cwd: dir });
    assert.equal(await runCli(['upload', '-i', `serial://${port}`, '-f', 'sketch.bin', '--json'], m.io), 3);
    const result = JSON.parse(m.stdout().trim().split('\n').at(-1) as string) as Record<string, unknown>;
    assert.equal(result['code'], 'PREFLIGHT_WRONG_CHIP');
    assert.equal(result['protocol'], 'serial');
    assert.match(String(result['message']), /is built for ESP8266.*, the board is an ESP32\.$/);
    assert.doesNotMatch(String(result['message']), /invitation|updater/, 'serial words, not OTA ones');
    assert.ok(blank(dev.board.flash.read(0, 0x8000)) && blank(dev.board.flash.read(0x10000, 0x140000)));
    // An ESP32-S3 app on the ESP32: the same refusal from the library, before any write.
    const s3 = buildEsp32App({ size: 16 * 1024, chip: 'esp32s3' });
    writeFileSync(join(dir, 's3.bin'), s3);
    await assert.rejects(upload({ host: `serial://${port}`, file: join(dir, 's3.bin') }), {
      code: 'PREFLIGHT_WRONG_CHIP',
    });
    assert.ok(blank(dev.board.flash.read(0x10000, 0x140000)));
  });
});

test('a board out of download mode: SERIAL_NOT_IN_DOWNLOAD_MODE, exit 1, not retried, nothing written', async () => {
  await onBoard(
    async (port, dev, dir) => {
      const app = buildEsp32App({ size: 16 * 1024, seed: 3 });
      writeFileSync(join(dir, 'app.bin'), app);
      const m = memoryIO({ cwd: dir });
      const code = await runCli(
        ['upload', '-i', `serial://${port}`, '-f', 'app.bin', '--retries', '2', '--json'],
        m.io,
      );
      assert.equal(code, 1);
      const lines = m
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines.at(-1)?.['code'], 'SERIAL_NOT_IN_DOWNLOAD_MODE');
      assert.equal(lines.at(-1)?.['ok'], false);
      assert.ok(!lines.some((l) => l['type'] === 'retry'), 'a human step is not retried');
      assert.ok(blank(dev.board.flash.read(0x10000, app.length)));
    },
    { faults: [{ kind: 'no-download-mode' }] },
  );
});

test('a flash write error: SERIAL_WRITE_FAILED, never success; --compress is refused first', async () => {
  await onBoard(
    async (port, dev, dir) => {
      const app = buildEsp32App({ size: 64 * 1024, seed: 8 });
      writeFileSync(join(dir, 'app.bin'), app);
      const error = await upload({ host: `serial://${port}`, file: join(dir, 'app.bin') }).then(
        () => assert.fail('a failed write cannot be a success'),
        (e: unknown) => e,
      );
      assert.ok(isUploadError(error));
      assert.equal(error.code, 'SERIAL_WRITE_FAILED');
      assert.equal(error.protocol, 'serial');
      assert.notEqual(md5(dev.board.flash.read(0x10000, app.length)), md5(app));
      await assert.rejects(upload({ host: `serial://${port}`, file: join(dir, 'app.bin'), compress: true }), {
        code: 'BAD_ARGUMENT',
      });
    },
    { faults: [{ kind: 'write-error', atBlock: 1 }] },
  );
});

test('a lost reply mid-write is retried (--retries 1): a new connect writes the app again; without retries it fails', async () => {
  for (const retries of [0, 1])
    await onBoard(
      async (port, dev, dir) => {
        const app = buildEsp32App({ size: 60 * 1024, seed: 12 });
        writeFileSync(join(dir, 'app.bin'), app);
        const events: UploadEvent[] = [];
        const run = upload({
          host: `serial://${port}`,
          file: join(dir, 'app.bin'),
          retries,
          onEvent: (e) => events.push(e),
        });
        if (retries === 0) {
          await assert.rejects(run, { code: 'SERIAL_PROTOCOL' });
          assert.notEqual(md5(dev.board.flash.read(0x10000, app.length)), md5(app));
          return;
        }
        const r = await run;
        assert.equal(r.attempts, 2);
        const retry = events.find((e) => e.type === 'retry');
        assert.equal(retry?.type === 'retry' ? retry.code : undefined, 'SERIAL_PROTOCOL');
        assert.equal(md5(dev.board.flash.read(0x10000, app.length)), md5(app));
      },
      { faults: [{ kind: 'lost-reply', atBlock: 1 }] },
    );
});

test("-s: the filesystem partition of the board's table; without a table (blank ESP32, ESP8266) BAD_ARGUMENT, exit 2", async () => {
  const fsImage = new Uint8Array(48 * 1024).map((_, i) => (i * 7 + 3) & 0xff);
  await onBoard(async (port, dev, dir) => {
    writeFileSync(join(dir, 'fs.bin'), fsImage);
    const blankBoard = memoryIO({ cwd: dir });
    assert.equal(await runCli(['upload', '-i', `serial://${port}`, '-s', '-f', 'fs.bin'], blankBoard.io), 2);
    assert.match(blankBoard.stderr(), /no partition table at 0x8000/);
    const table = requireBuiltinPartitionTable('default');
    const spiffs = table.entries.find((e) => e.name === 'spiffs');
    assert.ok(spiffs);
    dev.board.flash.load(0x8000, encodePartitionTable(table));
    const r = await upload({ host: `serial://${port}`, file: join(dir, 'fs.bin'), filesystem: true });
    assert.equal(md5(dev.board.flash.read(spiffs.offset, fsImage.length)), md5(fsImage));
    assert.ok(blank(dev.board.flash.read(0x10000, 0x1000)), 'no app slot written');
    assert.deepEqual((r.observation as unknown as { slot: unknown }).slot, {
      address: spiffs.offset,
      name: 'spiffs',
      size: spiffs.size,
      why: 'filesystem',
    });
    // One byte more than the partition holds: refused before a byte is written.
    const big = new Uint8Array(spiffs.size + 1).fill(0x5a);
    writeFileSync(join(dir, 'big.bin'), big);
    await assert.rejects(upload({ host: `serial://${port}`, file: join(dir, 'big.bin'), filesystem: true }), {
      code: 'PREFLIGHT_TOO_BIG',
    });
    assert.equal(md5(dev.board.flash.read(spiffs.offset, fsImage.length)), md5(fsImage));
  });
  await onBoard(
    async (port, _dev, dir) => {
      writeFileSync(join(dir, 'fs.bin'), fsImage);
      await assert.rejects(
        upload({ host: `serial://${port}`, file: join(dir, 'fs.bin'), filesystem: true }),
        {
          code: 'BAD_ARGUMENT',
          message: /ESP8266 has no partition table/,
        },
      );
    },
    { chip: 'esp8266' },
  );
});
