/**
 * The emulated ESPHome device's link model (src/emulator/esphome-conn.ts) over real loopback: an
 * RTT costs every handshake round trip, and the device's receive window (5744 bytes, the ESP32's
 * lwIP TCP_WND) bounds the host's data to one window per round trip, however far the host writes
 * ahead. The device's `update-complete` names the MD5 of the image it received. Addresses
 * 127.0.161.x.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { esphomeUpload } from '../bench/esphome-client.ts';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';

const IMAGE = buildEsp32App({ size: 64 * 1024, seed: 161 });
const MD5 = createHash('md5').update(IMAGE).digest('hex');
const RTT = 60;
const WINDOW = 5744;

async function timedUpload(
  address: string,
  window: number | undefined,
): Promise<{ ms: number; md5: string }> {
  // timeScale 0: no flash time, so the link alone sets the pace.
  const d = await startDevice({
    protocol: 'esphome',
    address,
    port: 0,
    timeScale: 0,
    rttMs: RTT,
    ...(window === undefined ? {} : { window }),
  });
  try {
    const complete = d.waitFor('update-complete', undefined, 20_000);
    const r = await esphomeUpload(d.address, d.port, IMAGE, 'stream');
    const e = (await complete) as { md5?: string };
    return { ms: r.durationMs, md5: e.md5 ?? '' };
  } finally {
    await d.close();
  }
}

describe('esphome emulator link model', () => {
  it('the receive window bounds a streaming host to one window per RTT; update-complete has the image MD5', async () => {
    const narrow = await timedUpload('127.0.161.1', WINDOW);
    assert.equal(narrow.md5, MD5, 'update-complete names the received image');
    // Handshake: magic→version, features→flags+auth, size→42, md5→43: 4 round trips. Data: the
    // last byte leaves the host no earlier than (ceil(size / window) − 1) RTT after the first.
    const windows = Math.ceil(IMAGE.length / WINDOW);
    const floor = (4 + windows - 1) * RTT;
    assert.ok(narrow.ms >= floor, `${narrow.ms.toFixed(0)} ms ≥ ${floor} ms`);
    const wide = await timedUpload('127.0.161.2', 1 << 24);
    assert.equal(wide.md5, MD5);
    assert.ok(wide.ms >= 4 * RTT, `every handshake round trip costs the RTT (${wide.ms.toFixed(0)} ms)`);
    assert.ok(
      wide.ms < floor - 3 * RTT,
      `a 16 MiB window lets the whole image through in about one RTT (${wide.ms.toFixed(0)} ms < ${floor - 3 * RTT} ms)`,
    );
  });
});
