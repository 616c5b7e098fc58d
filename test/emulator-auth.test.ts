import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { type EmulatedDevice, startDevice } from '../src/emulator/index.ts';
import {
  deviceAuthMatches,
  expectedDeviceResponse,
} from '../src/protocols/arduino-ota/device/auth-verify.ts';
import { RawTcp, RawUdp } from './helpers/raw-client.ts';

/**
 * The emulator's own auth check (src/protocols/arduino-ota/device/auth-verify.ts), against the published vectors of
 * docs protocol.md §3.1 and §3.2 — typed in here, never computed with the uploader's
 * authResponse(), so a wrong formula on either side is caught.
 */

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

describe('emulator auth check: protocol.md vectors', () => {
  test('§3.1 MD5 challenge: admin / MD5("123456789") / 412aad2c… → 2266eb54…', () => {
    const secret = '21232f297a57a5a743894a0e4a801fc3'; // MD5("admin"), as typed in §3.1
    const nonce = '25f9e794323b453885f5181f1b624d0b';
    const cnonce = '412aad2c9e62b543158eb711afbac5c2';
    const response = '2266eb54b73239d441a5d702b4e71907';
    assert.equal(expectedDeviceResponse('md5', secret, nonce, cnonce), response);
    assert.equal(deviceAuthMatches('md5', secret, nonce, cnonce, response), true);
    // same length, one digit off; upper case (the device compares case-sensitively)
    assert.equal(deviceAuthMatches('md5', secret, nonce, cnonce, `${response.slice(0, -1)}8`), false);
    assert.equal(deviceAuthMatches('md5', secret, nonce, cnonce, response.toUpperCase()), false);
    assert.equal(deviceAuthMatches('md5', secret, nonce, cnonce, response.slice(1)), false);
  });

  test('§3.2 PBKDF2: SHA-256-stored and MD5-stored secrets give the published responses', () => {
    const nonce = 'ab'.repeat(32);
    const cnonce = 'cd'.repeat(32);
    const sha = '980061b57e53c2de71a544b88d868652220a5f638b654459743bc497df202f9e';
    const viaSha = '4d63ba8b1efa8949a0c5caefe7e8bc77db582e5531bdf2667c663394b4551b93';
    const md = '34f3019046f1d1793091b080627a8dbb';
    const viaMd5 = '72411b1f2dfce35db7cbd293c3cab25f533496919e272648e90685c4b5cf79af';
    assert.equal(expectedDeviceResponse('pbkdf2', sha, nonce, cnonce), viaSha);
    assert.equal(expectedDeviceResponse('pbkdf2', md, nonce, cnonce), viaMd5);
    assert.equal(deviceAuthMatches('pbkdf2', sha, nonce, cnonce, viaSha), true);
    assert.equal(deviceAuthMatches('pbkdf2', sha, nonce, cnonce, viaMd5), false);
    assert.equal(deviceAuthMatches('pbkdf2', sha, nonce, cnonce, `0${viaSha.slice(1)}`), false);
  });
});

async function authRound(dev: EmulatedDevice, response: (nonce: string) => string): Promise<string> {
  const udp = await RawUdp.open();
  const tcp = await RawTcp.listen();
  try {
    await udp.send(`0 ${tcp.port} 5000 ${'0'.repeat(32)}\n`, dev.port, dev.address);
    const auth = (await udp.recv())?.data.toString() ?? '';
    assert.match(auth, /^AUTH [0-9a-f]{32}$/);
    const nonce = auth.slice(5);
    const cnonce = 'c'.repeat(32);
    await udp.send(`200 ${cnonce} ${response(nonce)}\n`, dev.port, dev.address);
    return (await udp.recv())?.data.toString() ?? '';
  } finally {
    await udp.close();
    await tcp.close();
  }
}

describe('setPasswordHash() stores any text on esp8266 and esp32 ≤ 3.3.0 (ArduinoOTA.cpp setPasswordHash)', () => {
  for (const core of ['esp8266', 'esp32-legacy'] as const) {
    test(`${core}: a non-hex hash is stored verbatim and is the secret of the MD5 exchange`, async () => {
      const hash = 'not a hash!'; // neither 32 nor 64 hex: the device takes it all the same
      const dev = await startDevice({
        core,
        address: '127.0.0.41',
        port: 0,
        timeScale: 0.01,
        passwordHash: hash,
      });
      try {
        // MD5(secret:nonce:cnonce) with the text itself as the secret (protocol.md §3.1)
        const ok = await authRound(dev, (nonce) => md5(`${hash}:${nonce}:${'c'.repeat(32)}`));
        assert.equal(ok, 'OK');
      } finally {
        await dev.close();
      }
      const again = await startDevice({
        core,
        address: '127.0.0.41',
        port: 0,
        timeScale: 0.01,
        passwordHash: hash,
      });
      try {
        // the usual host (MD5 of a password as the secret) can never match such a device
        const fail = await authRound(again, (nonce) => md5(`${md5(hash)}:${nonce}:${'c'.repeat(32)}`));
        assert.equal(fail, 'Authentication Failed');
      } finally {
        await again.close();
      }
    });
  }

  test('esp32 ≥ 3.3.1: only 32 or 64 hex (ASSUMPTION A4, PR #11905 "add errors for setPasswordHash")', async () => {
    await assert.rejects(
      startDevice({ core: 'esp32', address: '127.0.0.41', port: 0, passwordHash: 'not a hash!' }),
      (e: Error & { code?: string }) => e.code === 'BAD_ARGUMENT',
    );
    // 33 hex: one more than the MD5 length
    await assert.rejects(
      startDevice({ core: 'esp32', address: '127.0.0.41', port: 0, passwordHash: 'a'.repeat(33) }),
      (e: Error & { code?: string }) => e.code === 'BAD_ARGUMENT',
    );
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.0.41',
      port: 0,
      passwordHash: 'a'.repeat(64),
    });
    await dev.close();
  });
});
