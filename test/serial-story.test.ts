/**
 * The forum thread's whole story on one emulated board: erase over USB serial → flash the OTA
 * sketch (bootloader, table, app) over serial → the SAME board (its flash kept in a state dir)
 * booted by the ArduinoOTA emulator → upload() over the air → it runs the new image; read back
 * over serial, `partitions --port` says it runs from app1 and app0 holds the image before it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../src/cli/main.ts';
import { restoreBoard, saveBoard } from '../src/emulator/board/board.ts';
import { startDevice } from '../src/emulator/index.ts';
import { serialBoard, startSerialDevice } from '../src/emulator/serial/rom-device.ts';
import {
  buildBootloader,
  buildEsp32App,
  encodePartitionTable,
  requireBuiltinPartitionTable,
} from '../src/formats/index.ts';
import { upload } from '../src/upload/index.ts';
import { bootedMd5 } from './helpers/browser.ts';
import { memoryIO } from './helpers/cli-io.ts';
import { ptyPair } from './helpers/pty.ts';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

test('erase → flash the OTA sketch over serial → the same board updated over the air runs the new image', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'airflash-story-'));
  const stateDir = join(dir, 'state');
  const hostname = 'story-board';
  const boot = buildBootloader({});
  const table = encodePartitionTable(requireBuiltinPartitionTable('default'));
  const sketch = buildEsp32App({ size: 200_000, seed: 11, projectName: 'ota-sketch', version: '1.0' });
  const next = buildEsp32App({ size: 210_000, seed: 12, projectName: 'ota-sketch', version: '2.0' });
  writeFileSync(join(dir, 'bootloader.bin'), boot);
  writeFileSync(join(dir, 'partitions.bin'), table);
  writeFileSync(join(dir, 'firmware.bin'), sketch);
  const board = serialBoard('esp32');
  board.flash.load(0x10000, new Uint8Array(4096).fill(0x5a)); // something old, not bootable
  try {
    // 1–2. Over USB serial: erase, then the OTA sketch with its bootloader and table.
    const pty = await ptyPair();
    const usb = await startSerialDevice({ path: pty.device, board, flashTimeScale: 0 });
    try {
      const cli = (args: string[]) => {
        const m = memoryIO({ cwd: dir });
        return runCli([...args, '--port', pty.host, '--baud', '921600'], m.io).then((code) => ({
          code,
          ...m,
        }));
      };
      assert.equal((await cli(['erase'])).code, 0);
      assert.ok(
        board.flash.read(0x10000, 4096).every((b) => b === 0xff),
        'erased',
      );
      const flashed = await cli([
        'flash',
        '0x1000',
        'bootloader.bin',
        '0x8000',
        'partitions.bin',
        '0x10000',
        'firmware.bin',
      ]);
      assert.equal(flashed.code, 0, flashed.stderr());
      assert.match(flashed.stdout(), /airflash upload -i DEVICE_IP -f firmware\.bin/);
      const before = await cli(['partitions']);
      assert.equal(before.code, 0, before.stderr());
      assert.match(
        before.stdout(),
        /On the board: running from app0 \(ota-sketch 1\.0\) \(otadata blank: the first app with an image\); app1 is empty/,
      );
    } finally {
      await usb.close();
      await pty.close();
    }
    await saveBoard(join(stateDir, hostname), board, 'esp32');

    // 3–4. The same flash booted by the ArduinoOTA emulator, updated over the air.
    const dev = await startDevice({ core: 'esp32', address: '127.0.173.10', hostname, stateDir });
    try {
      assert.equal(dev.runningImageMd5(), md5(sketch), 'it boots what was flashed over serial');
      assert.equal(dev.runningPartition(), 'app0');
      const r = await upload({ host: dev.address, port: dev.port, data: next });
      assert.equal(r.ok, true);
      assert.equal(await bootedMd5(dev, md5(next)), md5(next), 'the device runs the new image');
      assert.equal(dev.runningPartition(), 'app1');
    } finally {
      await dev.close();
    }

    // 5. Back on the USB cable: the table and otadata as the update left them.
    const again = serialBoard('esp32');
    assert.ok(await restoreBoard(join(stateDir, hostname), again, 'esp32'));
    const pty2 = await ptyPair();
    const usb2 = await startSerialDevice({ path: pty2.device, board: again, flashTimeScale: 0 });
    try {
      const m = memoryIO({ cwd: dir });
      assert.equal(
        await runCli(['partitions', '--port', pty2.host, '--baud', '921600', '--json'], m.io),
        0,
        m.stderr(),
      );
      const j = JSON.parse(m.stdout());
      assert.equal(j.board.bootSlot, 'app1');
      assert.equal(
        j.board.summary,
        'running from app1 (ota-sketch 2.0); app0 holds the image before it (ota-sketch 1.0)',
      );
      assert.equal(j.source, `the board on ${pty2.host}`);
    } finally {
      await usb2.close();
      await pty2.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
