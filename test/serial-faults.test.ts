/**
 * Every fault of the ROM-loader emulator over the pty: a clear error with a stable code, and never
 * "flashed" when it was not (the board's flash does not hold the image).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { isAirflashError } from '../src/core/errors.ts';
import { startSerialDevice } from '../src/emulator/serial/rom-device.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import type { SerialFault } from '../src/protocols/serial/device/faults.ts';
import { chipInfo } from '../src/protocols/serial/host/chip-info.ts';
import { flashSerial } from '../src/protocols/serial/host/flash.ts';
import { ptyPair } from './helpers/pty.ts';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const app = buildEsp32App({ size: 48 * 1024, seed: 5 });

async function flashWith(fault: SerialFault): Promise<{ error: unknown; flashed: boolean }> {
  const pty = await ptyPair();
  const dev = await startSerialDevice({ path: pty.device, faults: [fault], flashTimeScale: 0 });
  try {
    const error = await flashSerial({
      port: pty.host,
      baud: 921600,
      connectAttempts: 2,
      parts: [{ data: app }],
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    return { error, flashed: md5(dev.board.flash.read(0x10000, app.length)) === md5(app) };
  } finally {
    await dev.close();
    await pty.close();
  }
}

test('no download mode: the boot log is seen, "hold BOOT and press EN"', async () => {
  const { error, flashed } = await flashWith({ kind: 'no-download-mode' });
  assert.ok(isAirflashError(error, 'SERIAL_NOT_IN_DOWNLOAD_MODE'), String(error));
  assert.match(
    (error as Error).message,
    /not in download mode \(it booted with 0x13\): hold BOOT and press EN/,
  );
  assert.equal(flashed, false);
});

test('a silent line: "no data from the board: is this a charge-only cable?"', async () => {
  const pty = await ptyPair();
  try {
    // nothing on the device end
    await assert.rejects(
      chipInfo({ port: pty.host, connectAttempts: 1 }),
      (e) => isAirflashError(e, 'SERIAL_NO_DATA') && /charge-only cable/.test((e as Error).message),
    );
  } finally {
    await pty.close();
  }
});

test('a flash write error: SERIAL_WRITE_FAILED after the retries, not flashed', async () => {
  const { error, flashed } = await flashWith({ kind: 'write-error', atBlock: 2 });
  assert.ok(isAirflashError(error, 'SERIAL_WRITE_FAILED'), String(error));
  assert.equal(flashed, false);
});

test('a reset mid-write: SERIAL_BOARD_RESET, not flashed', async () => {
  const { error, flashed } = await flashWith({ kind: 'reset-mid-write', atBlock: 2 });
  assert.ok(isAirflashError(error, 'SERIAL_BOARD_RESET'), String(error));
  assert.equal(flashed, false);
});

test('a lost reply to a data block: a clear serial error, not reported as flashed', async () => {
  const { error } = await flashWith({ kind: 'lost-reply', atBlock: 1 });
  assert.ok(isAirflashError(error) && /^SERIAL_/.test(error.code), String(error));
});

test('a dropped byte in a reply during connect: esptool-js retries the SYNC and goes on', async () => {
  const { error, flashed } = await flashWith({ kind: 'drop-byte', atReply: 1 });
  assert.equal(error, undefined);
  assert.equal(flashed, true);
});

test('AbortSignal mid-write: INTERRUPTED, the port closed (a second run works), not reported as flashed', async () => {
  const pty = await ptyPair();
  // Real flash time, so the write of 48 KiB takes long enough to be cut.
  const dev = await startSerialDevice({ path: pty.device, flashTimeScale: 1 });
  try {
    const ac = new AbortController();
    const run = flashSerial({
      port: pty.host,
      baud: 921600,
      parts: [{ data: app }],
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'progress' && e.written > 0) ac.abort();
      },
    });
    await assert.rejects(run, (e) => isAirflashError(e, 'INTERRUPTED'));
    const r = await chipInfo({ port: pty.host, baud: 921600 });
    assert.equal(r.chip, 'ESP32', 'the port was released: a new session opens it');
  } finally {
    await dev.close();
    await pty.close();
  }
});

test('the named connect timeout: TIMEOUT "Connecting to the board took longer than …" on a silent line', async () => {
  const pty = await ptyPair();
  try {
    const t0 = performance.now();
    await assert.rejects(
      chipInfo({ port: pty.host, timeouts: { connectMs: 400 } }),
      (e) =>
        isAirflashError(e, 'TIMEOUT') &&
        /Connecting to the board took longer than 400 ms/.test((e as Error).message),
    );
    assert.ok(performance.now() - t0 < 5000, 'it gave up at the deadline, not after all the attempts');
  } finally {
    await pty.close();
  }
});
