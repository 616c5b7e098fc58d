import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { flashCosts, idealUploadTime, type LinkProfile, throughput } from '../bench/model.ts';
import { SparseFlash } from '../src/emulator/board/flash.ts';
import { Esp32Update, Esp8266Update } from '../src/emulator/board/updater.ts';
import { coreProfile, esp32EndMs, TIMING_MODEL } from '../src/emulator/index.ts';
import { buildEsp32App, buildEsp8266Sketch } from '../src/formats/index.ts';

const F = TIMING_MODEL.flash;
const loopback: LinkProfile = { name: 'loopback', rttMs: 0, bandwidth: 0 };
const rtt20: LinkProfile = { name: 'rtt20', rttMs: 20, bandwidth: 0 };
const KiB = 1024;

function near(actual: number, expected: number, eps = 1e-6): void {
  assert.ok(Math.abs(actual - expected) <= eps, `${actual} ≠ ${expected}`);
}

/** Feed the emulator's own Update classes and add up the flash time they report. */
function emulatorFlashMs(image: Uint8Array, core: 'esp32' | 'esp8266', piece: number): number {
  const flash = new SparseFlash(4 * 1024 * 1024);
  let total = 0;
  if (core === 'esp32') {
    const upd = new Esp32Update(flash, true);
    assert.ok(upd.begin(image.length, 0, { label: 'app1', offset: 0x150000, size: 0x140000 }));
    for (let i = 0; i < image.length; i += piece) {
      const r = upd.write(image.subarray(i, Math.min(image.length, i + piece)));
      assert.equal(r.written, Math.min(piece, image.length - i));
      total += r.costMs;
    }
    return total;
  }
  const upd = new Esp8266Update(flash, { fsStart: 0x200000, fsEnd: 0x3fa000, flashSize: 4 * 1024 * 1024 });
  assert.ok(upd.begin(image.length, 0, 400_000));
  for (let i = 0; i < image.length; i += piece) {
    total += upd.write(image.subarray(i, Math.min(image.length, i + piece))).costMs;
  }
  return total;
}

describe('limit model: flash costs', () => {
  it('ESP32, 256 KiB app: four 64 KiB block erases and every byte but the held-back 16 programmed', () => {
    const costs = flashCosts(256 * KiB, 'esp32');
    assert.equal(costs.length, 64);
    const total = costs.reduce((a, b) => a + b, 0);
    near(total, 4 * F.blockEraseMs + (256 * KiB - 16) / F.writeBytesPerMs);
    near(costs[0] as number, F.blockEraseMs + (4096 - 16) / F.writeBytesPerMs);
    near(costs[1] as number, 4096 / F.writeBytesPerMs);
    near(costs[16] as number, F.blockEraseMs + 4096 / F.writeBytesPerMs);
  });

  it('ESP32: the tail below a whole block is erased sector by sector', () => {
    const costs = flashCosts(70_000, 'esp32');
    assert.equal(costs.length, 18);
    near(costs[16] as number, F.sectorEraseMs + 4096 / F.writeBytesPerMs);
    near(costs[17] as number, F.sectorEraseMs + (70_000 - 69_632) / F.writeBytesPerMs);
    // A filesystem image has no held-back header.
    near(flashCosts(4096, 'esp32', true)[0] as number, F.sectorEraseMs + 4096 / F.writeBytesPerMs);
  });

  it('ESP32: all-0xFF buffers are not programmed (only known when the bytes are given)', () => {
    const image = new Uint8Array(128 * KiB).fill(0xff);
    image[0] = 0xe9;
    const costs = flashCosts(image, 'esp32');
    // the first buffer is blank too once its 16 held-back header bytes are left out
    near(costs[0] as number, F.blockEraseMs);
    near(costs[1] as number, 0);
    near(costs[16] as number, F.blockEraseMs);
    assert.ok((flashCosts(image.length, 'esp32')[1] as number) > 0);
  });

  it('ESP8266: a sector erase and a program for every 4 KiB, blank or not', () => {
    const total = flashCosts(256 * KiB, 'esp8266').reduce((a, b) => a + b, 0);
    near(total, 64 * F.sectorEraseMs + (256 * KiB) / F.writeBytesPerMs);
    const blank = new Uint8Array(8192).fill(0xff);
    near(
      flashCosts(blank, 'esp8266').reduce((a, b) => a + b, 0),
      2 * F.sectorEraseMs + 8192 / F.writeBytesPerMs,
    );
  });

  it("equals what the emulator's own Update classes charge, for any chunking", () => {
    const app = buildEsp32App({ size: 200 * KiB, seed: 3 });
    const sketch = buildEsp8266Sketch({ size: 150 * KiB, seed: 3 });
    for (const piece of [1024, 1460, 4096, 65_536]) {
      near(
        emulatorFlashMs(app, 'esp32', piece),
        flashCosts(app, 'esp32').reduce((a, b) => a + b, 0),
        1e-6,
      );
      near(
        emulatorFlashMs(sketch, 'esp8266', piece),
        flashCosts(sketch, 'esp8266').reduce((a, b) => a + b, 0),
        1e-6,
      );
    }
  });

  it('rejects sizes that are not sizes', () => {
    assert.throws(() => flashCosts(0, 'esp32'), RangeError);
    assert.throws(() => flashCosts(-5, 'esp8266'), RangeError);
    assert.throws(
      () => idealUploadTime({ name: 'x', rttMs: -1, bandwidth: 0 }, 10, 'esp32', 'stream'),
      RangeError,
    );
    assert.throws(() => idealUploadTime(loopback, 10, 'esp32', { stopAndWait: 0 }), RangeError);
    assert.throws(
      () => idealUploadTime({ name: 'x', rttMs: 1, bandwidth: 0, udpLoss: 1 }, 10, 'esp32', 'stream'),
      RangeError,
    );
  });
});

describe('limit model: upload time', () => {
  const size = 256 * KiB;
  const flash32 = 4 * F.blockEraseMs + (size - 16) / F.writeBytesPerMs;
  const flash8266 = 64 * F.sectorEraseMs + size / F.writeBytesPerMs;
  // The ESP32 sends OK only after Update.end() has validated the image (emulator timing.ts).
  const end32 = esp32EndMs(size, 0);

  it('streaming on loopback is the flash time (ESP32) plus the fixed delays (ESP8266)', () => {
    const e32 = idealUploadTime(loopback, size, 'esp32', 'stream');
    near(e32.totalMs, flash32 + end32);
    assert.equal(e32.bound, 'flash');
    near(e32.fixedMs, end32);
    assert.ok(end32 > 0);
    // A filesystem upload has no image check before OK.
    near(idealUploadTime(loopback, size, 'esp32', 'stream', { filesystem: true }).fixedMs, 0);
    const e8 = idealUploadTime(loopback, size, 'esp8266', 'stream');
    const fixed = TIMING_MODEL.esp8266.beforeConnectMs + TIMING_MODEL.esp8266.beforeOkMs;
    near(e8.fixedMs, fixed);
    near(e8.totalMs, flash8266 + fixed);
  });

  it('streaming adds two round trips: invitation → OK, and first byte there + last count back', () => {
    near(idealUploadTime(rtt20, size, 'esp32', 'stream').totalMs, flash32 + end32 + 40);
    const pw = idealUploadTime(rtt20, size, 'esp32', 'stream', { password: true });
    near(pw.totalMs, flash32 + end32 + 60);
    near(pw.handshakeMs, 40);
  });

  it('stop-and-wait pays one round trip per chunk on top of the flash time (espota, protocol.md §4.2)', () => {
    const e = idealUploadTime(rtt20, size, 'esp32', { stopAndWait: 1024 });
    assert.equal(e.chunks, 256);
    near(e.totalMs, 20 + 256 * 20 + flash32 + end32);
    assert.equal(e.bound, 'round-trips');
    const e8 = idealUploadTime(rtt20, size, 'esp8266', { stopAndWait: 1460 });
    const chunks = Math.ceil(size / 1460);
    near(
      e8.totalMs,
      20 +
        TIMING_MODEL.esp8266.beforeConnectMs +
        chunks * 20 +
        flash8266 +
        (chunks - 1) * TIMING_MODEL.esp8266.drainIdleMs +
        TIMING_MODEL.esp8266.beforeOkMs,
    );
  });

  it('a bandwidth cap makes the link the bound when it is slower than the flash', () => {
    const slow: LinkProfile = { name: 'slow', rttMs: 0, bandwidth: 10_000 };
    const e = idealUploadTime(slow, size, 'esp32', 'stream');
    assert.equal(e.bound, 'link');
    const lastCost = flashCosts(size, 'esp32').at(-1) as number;
    near(e.totalMs, (size / 10_000) * 1000 + lastCost + end32);
    const fast: LinkProfile = { name: '1MB/s', rttMs: 0, bandwidth: 1_000_000 };
    const f = idealUploadTime(fast, size, 'esp32', 'stream');
    assert.equal(f.bound, 'flash');
    near(f.totalMs, flash32 + 4096 / 1000 + end32);
    // stop-and-wait pays the serialisation of every chunk in sequence
    near(idealUploadTime(fast, size, 'esp32', { stopAndWait: 1024 }).totalMs, flash32 + size / 1000 + end32);
  });

  it("the window lets one window through per rtt/2 (the emulator's approximation)", () => {
    const far: LinkProfile = { name: 'far', rttMs: 200, bandwidth: 0 };
    const e = idealUploadTime(far, size, 'esp32', 'stream');
    near(e.linkMs, ((size - TIMING_MODEL.defaultWindow) / TIMING_MODEL.defaultWindow) * 100);
    assert.equal(e.bound, 'link');
    const wide = idealUploadTime({ ...far, window: 65_536 }, size, 'esp32', 'stream');
    assert.equal(wide.bound, 'flash');
    // Each core's own lwIP window: the ESP8266's 2144 bytes (coreProfile) make its link slower.
    const e8 = idealUploadTime(far, size, 'esp8266', 'stream');
    near(e8.linkMs, ((size - coreProfile('esp8266').tcpWnd) / coreProfile('esp8266').tcpWnd) * 100);
    assert.equal(coreProfile('esp8266').tcpWnd, 2144);
  });

  it('timeScale scales the device (flash, fixed delays) but not the link', () => {
    const wide: LinkProfile = { ...rtt20, window: 1024 * KiB };
    const e = idealUploadTime(wide, size, 'esp8266', 'stream', { timeScale: 0.1 });
    near(e.flashMs, flash8266 * 0.1);
    near(e.fixedMs, 110);
    near(e.totalMs, 40 + 110 + flash8266 * 0.1);
  });

  it('a lossy link adds the expected re-invitations', () => {
    const lossy: LinkProfile = { name: 'lossy', rttMs: 20, bandwidth: 0, udpLoss: 0.1, inviteRetryMs: 1000 };
    const e = idealUploadTime(lossy, size, 'esp32', 'stream');
    near(e.handshakeMs, 20 + (1 / 0.81 - 1) * 1000);
  });

  it('properties: streaming is never slower than stop-and-wait, never faster than the flash, grows with rtt', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 * 1024 * 1024 }),
        fc.constantFrom('esp32' as const, 'esp32-legacy' as const, 'esp8266' as const),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 1, max: 4096 }),
        (bytes, core, rtt, bandwidth, chunk) => {
          const p: LinkProfile = { name: 'p', rttMs: rtt, bandwidth };
          const s = idealUploadTime(p, bytes, core, 'stream');
          const w = idealUploadTime(p, bytes, core, { stopAndWait: chunk });
          assert.ok(s.totalMs <= w.totalMs + 1e-6, `stream ${s.totalMs} > stop-and-wait ${w.totalMs}`);
          assert.ok(s.totalMs >= s.flashMs + s.fixedMs - 1e-6);
          assert.ok(s.totalMs >= s.linkMs - 1e-6);
          const further = idealUploadTime({ ...p, rttMs: rtt + 10 }, bytes, core, 'stream');
          assert.ok(further.totalMs > s.totalMs);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('throughput is bytes per second', () => {
    assert.equal(throughput(1000, 500), 2000);
    assert.equal(throughput(1000, 0), 0);
  });
});
