/**
 * ESPHome native OTA wire codec (src/protocols/esphome/wire/): golden bytes typed from
 * shared/docs/protocols-next.md §1.2, the auth vectors published there (computed from the inputs
 * of esphome tests/unit_tests/test_espota2.py), and every response code 0x80–0x94 and 0xFF.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES } from '../src/core/errors.ts';
import { expectedAnswer } from '../src/protocols/esphome/device/auth.ts';
import {
  ackCount,
  authResponse,
  BLOCK_SIZE,
  decodeSize,
  encodeSize,
  FEATURE,
  HOST_FEATURES,
  MAGIC,
  makeCnonce,
  RESPONSE,
  RESPONSE_ERRORS,
  responseError,
  SERVER_FLAG,
} from '../src/protocols/esphome/wire/index.ts';

describe('esphome wire', () => {
  it('golden bytes of §1.2', () => {
    assert.deepEqual([...MAGIC], [0x6c, 0x26, 0xf7, 0x5c, 0x45]);
    assert.deepEqual(FEATURE, { compression: 0x01, sha256Auth: 0x02, extended: 0x04, noise: 0x08 });
    assert.deepEqual(SERVER_FLAG, { compression: 0x01, partitionAccess: 0x02, noiseOffered: 0x04 });
    assert.equal(HOST_FEATURES, 0x06, 'SHA-256 auth + extended, no gzip, no Noise');
    assert.deepEqual(
      [
        RESPONSE.ok,
        RESPONSE.requestAuth,
        RESPONSE.requestSha256Auth,
        RESPONSE.headerOk,
        RESPONSE.authOk,
        RESPONSE.updatePrepareOk,
        RESPONSE.binMd5Ok,
        RESPONSE.receiveOk,
        RESPONSE.updateEndOk,
        RESPONSE.supportsCompression,
        RESPONSE.chunkOk,
        RESPONSE.featureFlags,
      ],
      [0x00, 0x01, 0x02, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48],
    );
    assert.deepEqual([...encodeSize(0x0012_3456)], [0x00, 0x12, 0x34, 0x56]);
    assert.deepEqual([...encodeSize(0xffff_ffff)], [0xff, 0xff, 0xff, 0xff]);
    assert.equal(decodeSize(Uint8Array.of(0x80, 0, 0, 1)), 0x8000_0001);
    assert.throws(() => encodeSize(-1), RangeError);
    assert.equal(BLOCK_SIZE, 8192);
    assert.equal(ackCount(8192, BLOCK_SIZE), 1);
    assert.equal(ackCount(8193, BLOCK_SIZE), 2);
    assert.equal(ackCount(1, BLOCK_SIZE), 1);
  });

  it('SHA-256 and MD5 answers match the published vectors (host and device each)', () => {
    const nonce = '1234567890'.repeat(7).slice(0, 64);
    assert.ok(nonce.endsWith('901234'));
    const sha = 'e7c2b93071598e1fb412042fa7facfaaf332aa0e4544613dccb6c0232a0c0113';
    assert.equal(authResponse('sha256', 'testpass', nonce, 'b'.repeat(64)), sha);
    assert.equal(expectedAnswer('sha256', 'testpass', nonce, 'b'.repeat(64)), sha);
    const md5 = '1aa3eb141f482ee55a766b45a64491f7';
    assert.equal(authResponse('md5', 'testpass', '12345678901234567890123456789012', 'a'.repeat(32)), md5);
    assert.equal(expectedAnswer('md5', 'testpass', '12345678901234567890123456789012', 'a'.repeat(32)), md5);
    assert.match(makeCnonce('sha256'), /^[0-9a-f]{64}$/);
    assert.match(makeCnonce('md5'), /^[0-9a-f]{32}$/);
  });

  it('every response code 0x80–0x94 and 0xFF has a stable code and advice', () => {
    const bytes = [...Array.from({ length: 0x15 }, (_, i) => 0x80 + i), 0xff];
    assert.deepEqual(
      RESPONSE_ERRORS.map((e) => e.byte),
      bytes,
    );
    for (const b of bytes) {
      const e = responseError(b);
      assert.ok(e, `0x${b.toString(16)}`);
      assert.ok((ERROR_CODES as readonly string[]).includes(e.code), e.code);
      assert.ok(e.advice.length > 10 && e.message.length > 10);
    }
    assert.equal(responseError(0x82)?.code, 'AUTH_FAILED');
    assert.equal(responseError(0x8b)?.code, 'MD5_MISMATCH');
    assert.equal(responseError(0x94)?.code, 'ENCRYPTION_REQUIRED');
    assert.equal(responseError(0x89)?.code, 'NO_SPACE');
    assert.equal(responseError(0x47), undefined, 'a chunk ack is no error');
  });
});
