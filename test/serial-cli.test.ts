/**
 * The serial commands end to end (runCli) over a socat pty and the ROM-loader emulator:
 * chip, flash (FILE, a plan, --env, --erase, --json, TTY bar / plain lines), erase (--region),
 * ports, and their exit codes by error code.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../src/cli/main.ts';
import { startSerialDevice } from '../src/emulator/serial/rom-device.ts';
import {
  buildBootloader,
  buildEsp32App,
  encodePartitionTable,
  requireBuiltinPartitionTable,
} from '../src/formats/index.ts';
import type { SerialFault } from '../src/protocols/serial/device/faults.ts';
import { memoryIO } from './helpers/cli-io.ts';
import { ptyPair } from './helpers/pty.ts';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

async function onBoard(
  run: (
    port: string,
    flash: (o: number, n: number) => Uint8Array,
    dir: string,
    load: (o: number, b: Uint8Array) => void,
  ) => Promise<void>,
  faults: SerialFault[] = [],
): Promise<void> {
  const pty = await ptyPair();
  const dev = await startSerialDevice({ path: pty.device, faults, flashTimeScale: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'airflash-serial-cli-'));
  try {
    await run(
      pty.host,
      (o, n) => dev.board.flash.read(o, n),
      dir,
      (o, b) => dev.board.flash.load(o, b),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await dev.close();
    await pty.close();
  }
}

test('airflash chip --port: plain words; --json; exit 0', async () => {
  await onBoard(async (port) => {
    const m = memoryIO();
    assert.equal(await runCli(['chip', '--port', port, '--baud', '921600'], m.io), 0);
    assert.match(m.stdout(), /^ESP32-D0WD-V3, 4MB flash: the 4MB default scheme fits\n/);
    assert.match(m.stdout(), /MAC: {7}24:6f:28:12:34:56/);
    const j = memoryIO();
    assert.equal(await runCli(['chip', '--port', port, '--baud', '921600', '--json'], j.io), 0);
    const info = JSON.parse(j.stdout());
    assert.equal(info.ok, true);
    assert.equal(info.flashSize, 4 * 1024 * 1024);
  });
});

test('airflash flash --port FILE: plain progress lines, the next step over the air; the board holds it', async () => {
  await onBoard(async (port, flash, dir) => {
    const app = buildEsp32App({ size: 40 * 1024, seed: 9 });
    writeFileSync(join(dir, 'app.bin'), app);
    const m = memoryIO({ cwd: dir });
    assert.equal(await runCli(['flash', '--port', port, '--baud', '921600', 'app.bin'], m.io), 0, m.stderr());
    assert.match(m.stderr(), /writing part 1\/1 at 0x10000: /);
    assert.match(m.stderr(), new RegExp(`verified 0x10000: ${app.length} bytes, MD5 ${md5(app)}`));
    assert.match(
      m.stdout(),
      /update it over the network from now on:\n {2}airflash upload -i DEVICE_IP -f firmware.bin/,
    );
    assert.equal(md5(flash(0x10000, app.length)), md5(app));
  });
});

test('airflash flash --env NAME on a TTY: bootloader, table, blank otadata and app from .pio/build/NAME, a bar', async () => {
  await onBoard(async (port, flash, dir, load) => {
    writeFileSync(
      join(dir, 'platformio.ini'),
      '[env:esp32dev]\nplatform = espressif32\nboard = esp32dev\nframework = arduino\n',
    );
    const build = join(dir, '.pio', 'build', 'esp32dev');
    mkdirSync(build, { recursive: true });
    const boot = buildBootloader({});
    const table = encodePartitionTable(requireBuiltinPartitionTable('default'));
    const app = buildEsp32App({ size: 32 * 1024, seed: 2 });
    writeFileSync(join(build, 'bootloader.bin'), boot);
    writeFileSync(join(build, 'partitions.bin'), table);
    writeFileSync(join(build, 'firmware.bin'), app);
    // otadata left by earlier OTA updates (pointing at app1): the build must start app0 again
    load(0xe000, new Uint8Array(32).fill(0x02));
    const m = memoryIO({ cwd: dir, isTTY: true });
    assert.equal(
      await runCli(['flash', '--port', port, '--baud', '921600', '--env', 'esp32dev'], m.io),
      0,
      m.stderr(),
    );
    assert.doesNotMatch(m.stderr(), /Erasing the flash/);
    assert.match(m.stderr(), /\r {2}part 4\/4 at 0x10000 \[=+\] 100%/);
    assert.ok(
      flash(0xe000, 0x2000).every((b) => b === 0xff),
      'otadata blank, as boot_app0.bin leaves it',
    );
    const e = memoryIO({ cwd: dir });
    assert.equal(
      await runCli(['flash', '--port', port, '--baud', '921600', '--env', 'esp32dev', '--erase'], e.io),
      0,
    );
    assert.match(e.stderr(), /Erasing the flash/);
    assert.equal(md5(flash(0x1000, boot.length)), md5(boot));
    assert.equal(md5(flash(0x8000, table.length)), md5(table));
    assert.equal(md5(flash(0x10000, app.length)), md5(app));
  });
});

test('airflash flash --json with a refused plan: the error as JSON, exit 3 (pre-flight), nothing written', async () => {
  await onBoard(async (port, flash, dir) => {
    writeFileSync(join(dir, 'app.bin'), buildEsp32App({ size: 16 * 1024, chip: 'esp32s3' }));
    const m = memoryIO({ cwd: dir });
    assert.equal(
      await runCli(['flash', '--port', port, '--baud', '921600', '--json', '0x10000', 'app.bin'], m.io),
      3,
    );
    const j = JSON.parse(m.stdout());
    assert.equal(j.ok, false);
    assert.equal(j.error.code, 'PREFLIGHT_WRONG_CHIP');
    assert.ok(flash(0x10000, 16).every((b) => b === 0xff));
  });
});

test('airflash erase --region OFFSET SIZE, and the whole chip; a bad region is a usage error (2)', async () => {
  await onBoard(async (port, flash) => {
    const m = memoryIO();
    assert.equal(
      await runCli(['erase', '--port', port, '--baud', '921600', '--region', '0xe000', '0x2000'], m.io),
      0,
      m.stderr(),
    );
    assert.match(m.stdout(), /Erased 0xe000\.\.0x10000/);
    assert.equal(await runCli(['erase', '--port', port, '--region', '0xe000', '0x100'], memoryIO().io), 2);
    assert.equal(await runCli(['erase', '--port', port, '--baud', '921600'], memoryIO().io), 0);
    assert.ok(flash(0, 0x1000).every((b) => b === 0xff));
  });
});

test('a board not in download mode: exit 1 with the advice; no --port: exit 2; ports lists', async () => {
  await onBoard(
    async (port) => {
      const m = memoryIO();
      assert.equal(await runCli(['chip', '--port', port, '--connect-attempts', '1'], m.io), 1);
      assert.match(
        m.stderr(),
        /error \[SERIAL_NOT_IN_DOWNLOAD_MODE\]: The board is not in download mode .*hold BOOT and press EN/,
      );
      assert.match(
        m.stderr(),
        /Diagnosis \(most likely first\):\n {2}1\. \[high\] The board booted its app: nothing pulled GPIO0 low at reset \(NO_AUTO_RESET\)/,
      );
      assert.match(
        m.stderr(),
        /seen: the board.s last output: "(.* )?rst:0x1 \(POWERON_RESET\),boot:0x13 \(SPI_FAST_FLASH_BOOT\)"/,
      );
      const j = memoryIO();
      assert.equal(await runCli(['chip', '--port', port, '--connect-attempts', '1', '--json'], j.io), 1);
      const out = JSON.parse(j.stdout());
      assert.equal(out.error.code, 'SERIAL_NOT_IN_DOWNLOAD_MODE');
      assert.equal(out.diagnosis.causes[0].id, 'NO_AUTO_RESET');
    },
    [{ kind: 'no-download-mode' }],
  );
  const u = memoryIO();
  assert.equal(await runCli(['flash', 'app.bin'], u.io), 2);
  assert.match(u.stderr(), /needs --port PORT/);
  const p = memoryIO();
  assert.equal(await runCli(['ports', '--json'], p.io), 0);
  assert.ok(Array.isArray(JSON.parse(p.stdout())));
});

test('a port name with control characters is printed escaped (no raw ESC reaches the terminal)', async () => {
  const m = memoryIO();
  assert.equal(await runCli(['chip', '--port', '/tmp/no-such-\u001b[31mport'], m.io), 1);
  assert.ok(!m.stderr().includes('\u001b'), m.stderr());
  assert.match(m.stderr(), /error \[SERIAL_OPEN_FAILED\]/);
  assert.match(m.stderr(), /PORT_MISSING/);
});

test('airflash emulate --serial: a board on a pty until Ctrl-C, answering airflash chip', async () => {
  const ac = new AbortController();
  const em = memoryIO({ signal: ac.signal });
  const running = runCli(['emulate', '--serial', '--chip', 'esp32s3'], em.io);
  let path: string | undefined;
  for (let i = 0; i < 250 && path === undefined; i++) {
    path = /on (\S+): airflash chip --port/.exec(em.stdout())?.[1];
    if (path === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(path, em.stdout());
  const m = memoryIO();
  assert.equal(await runCli(['chip', '--port', path, '--baud', '921600'], m.io), 0, m.stderr());
  assert.match(m.stdout(), /^ESP32-S3 \(QFN56\), 4MB flash/);
  ac.abort();
  assert.equal(await running, 0);
  assert.match(em.stderr(), /emulator stopped/);
  assert.equal(await runCli(['emulate', '--serial', '--serial-fault', 'nonsense'], memoryIO().io), 2);
});
