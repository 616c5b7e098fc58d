/**
 * Wrong chip family refused before any byte is sent (issue 11): what the upload knows of the
 * device (the mDNS TXT `board` of the record it came from, its core from the devices file)
 * contradicts the image → PREFLIGHT_WRONG_CHIP (exit 3), saying how it knew; the emulated device
 * gets no datagram at all. `force` sends anyway.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildEsp32App,
  buildEsp8266Sketch,
  exitCodeFor,
  isUploadError,
  startDevice,
  type UploadContext,
  upload,
} from '../src/index.ts';

const SCALE = 0.05;

async function refused(
  core: 'esp32' | 'esp8266',
  address: string,
  data: Uint8Array,
  context: UploadContext,
  compress = false,
): Promise<{ message: string; invitations: number }> {
  const dev = await startDevice({ core, address, timeScale: SCALE });
  try {
    const e = await upload({
      host: dev.address,
      port: dev.port,
      data,
      context,
      compress,
      timeScale: SCALE,
    }).catch((x: unknown) => x);
    assert.ok(isUploadError(e, 'PREFLIGHT_WRONG_CHIP'), String(e));
    assert.equal(exitCodeFor(e), 3);
    assert.equal(e.phase, 'preflight');
    assert.match(e.hint ?? '', /--force/);
    return { message: e.message, invitations: dev.counters.invitations };
  } finally {
    await dev.close();
  }
}

describe('wrong chip family, before any byte', () => {
  it('an ESP32 app to an ESP8266 (mDNS TXT board=generic)', async () => {
    const r = await refused('esp8266', '127.0.78.1', buildEsp32App({ size: 20_000, seed: 1 }), {
      board: 'generic',
    });
    assert.match(r.message, /ESP32-family app, but the device is an ESP8266 \(its mDNS TXT board=generic\)/);
    assert.equal(r.invitations, 0, 'nothing was sent');
  });

  it('an ESP32-S3 image to an ESP32 (mDNS TXT board=esp32)', async () => {
    const r = await refused(
      'esp32',
      '127.0.78.2',
      buildEsp32App({ size: 20_000, seed: 2, chip: 'esp32s3' }),
      {
        board: 'esp32',
      },
    );
    assert.match(r.message, /built for ESP32-S3, but the device is an ESP32 \(its mDNS TXT board=esp32\)/);
    assert.equal(r.invitations, 0);
  });

  it('an ESP8266 sketch to an ESP32 (its core from the devices file)', async () => {
    const r = await refused('esp32', '127.0.78.3', buildEsp8266Sketch({ size: 20_000, seed: 3 }), {
      core: 'esp32',
    });
    assert.match(r.message, /ESP8266 sketch, but the device is an ESP32 \(its core \(esp32\)\)/);
    assert.equal(r.invitations, 0);
  });

  it('--compress (gzip) to an ESP32', async () => {
    const r = await refused(
      'esp32',
      '127.0.78.4',
      buildEsp32App({ size: 20_000, seed: 4 }),
      { board: 'esp32' },
      true,
    );
    assert.match(r.message, /--compress sends a gzip image, but the device is an ESP32/);
    assert.equal(r.invitations, 0);
  });

  it('force sends it anyway; an image that fits is not refused', async () => {
    const dev = await startDevice({ core: 'esp32', address: '127.0.78.5', timeScale: SCALE });
    try {
      const ok = await upload({
        host: dev.address,
        port: dev.port,
        data: buildEsp32App({ size: 20_000, seed: 5 }),
        context: { board: 'esp32' },
        timeScale: SCALE,
      });
      assert.equal(ok.ok, true);
      const forced = await upload({
        host: dev.address,
        port: dev.port,
        data: buildEsp32App({ size: 20_000, seed: 6, chip: 'esp32s3' }),
        context: { board: 'esp32', force: true },
        preflight: false,
        timeScale: SCALE,
      }).catch((x: unknown) => x);
      assert.ok(!isUploadError(forced, 'PREFLIGHT_WRONG_CHIP'));
      assert.ok(dev.counters.invitations >= 2, 'with force the device is invited');
    } finally {
      await dev.close();
    }
  });
});
