/**
 * ESPHome's retry classification under `--retries` (espota2.py: OTANetworkError retried, a
 * device-reported OTAError not, nothing once the device had the whole image): a device error byte
 * ends the upload at attempt 1 although the device would take the next; a cut connection is
 * retried and the second attempt updates the device; INCOMPLETE (after the whole image) is final.
 * Addresses 127.0.164.x.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { isUploadError, upload } from '../src/index.ts';
import { esphome } from '../src/protocols/esphome/index.ts';

const IMAGE = buildEsp32App({ size: 60_000, seed: 164 });
const MD5 = createHash('md5').update(IMAGE).digest('hex');

describe('esphome retry classification', () => {
  for (const [byte, code] of [
    [0x83, 'FLASH_WRITE_FAILED'],
    [0x89, 'NO_SPACE'],
    [0x8b, 'MD5_MISMATCH'],
    [0x81, 'DEVICE_REFUSED'],
  ] as const)
    it(`device error 0x${byte.toString(16)} (${code}) is not retried under retries: 2`, async () => {
      const d = await startDevice({
        protocol: 'esphome',
        address: '127.0.164.1',
        port: 0,
        timeScale: 0.05,
        esphomeError: byte,
      });
      try {
        const retries: unknown[] = [];
        const e = await upload({
          host: `esphome://${d.address}:${d.port}`,
          data: IMAGE,
          retries: 2,
          timeScale: 0.05,
          onEvent: (ev) => {
            if (ev.type === 'retry') retries.push(ev);
          },
        }).catch((x: unknown) => x);
        assert.ok(isUploadError(e, code), String(e));
        assert.equal(retries.length, 0, 'no retry event');
      } finally {
        await d.close();
      }
    });

  it('a cut connection (network error) is retried, and the second attempt updates the device', async () => {
    const d = await startDevice({
      protocol: 'esphome',
      address: '127.0.164.2',
      port: 0,
      timeScale: 0.05,
      faults: ['drop@40'],
    });
    try {
      const r = await upload({
        host: `esphome://${d.address}:${d.port}`,
        data: IMAGE,
        retries: 1,
        timeScale: 0.05,
      });
      assert.equal(r.attempts, 2);
      await d.waitFor('booted', undefined, 10_000);
      assert.equal(d.runningImageMd5(), MD5);
    } finally {
      await d.close();
    }
  });

  it('the classification: NETWORK_ERROR and TIMEOUT retried; INCOMPLETE (after commit) and device codes not', () => {
    const retryable = esphome.isRetryable as (code: string) => boolean;
    assert.equal(typeof retryable, 'function');
    for (const c of ['NETWORK_ERROR', 'TIMEOUT']) assert.equal(retryable(c), true, c);
    for (const c of [
      'INCOMPLETE',
      'AUTH_FAILED',
      'AUTH_REQUIRED',
      'ENCRYPTION_REQUIRED',
      'HANDSHAKE_MAC_FAILURE',
      'ENCRYPTION_UNAVAILABLE',
      'DEVICE_ERROR',
      'PROTOCOL_MISMATCH',
      'OTA_VERSION_UNSUPPORTED',
      'BAD_REPLY',
    ])
      assert.equal(retryable(c), false, c);
  });
});
