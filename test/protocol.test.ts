import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  asciiBytes,
  authResponse,
  espotaCnonce,
  formatInvitation,
  md5hex,
  parseInvitationReply,
  passwordSecret,
  pbkdf2KeyHex,
  type ReplyToken,
  ReplyTokenizer,
  scanAuthLine,
  scanInvitation,
  sha256hex,
} from '../src/protocols/arduino-ota/wire/index.ts';

describe('auth test vectors (protocol.md §3)', () => {
  test('legacy MD5 exchange, §3.1', () => {
    const nonce = md5hex('123456789');
    assert.equal(nonce, '25f9e794323b453885f5181f1b624d0b');
    const cnonce = espotaCnonce(
      'md5',
      'firmware.bin',
      1048576,
      '0123456789abcdef0123456789abcdef',
      '192.168.1.50',
    );
    assert.equal(cnonce, '412aad2c9e62b543158eb711afbac5c2');
    const secret = passwordSecret('admin', 'md5');
    assert.equal(secret, '21232f297a57a5a743894a0e4a801fc3');
    assert.equal(authResponse('md5', secret, nonce, cnonce), '2266eb54b73239d441a5d702b4e71907');
  });

  test('PBKDF2-HMAC-SHA256 exchange, §3.2', () => {
    const nonce = 'ab'.repeat(32);
    const cnonce = 'cd'.repeat(32);
    const secret = passwordSecret('a-real-password', 'sha256');
    assert.equal(secret, '980061b57e53c2de71a544b88d868652220a5f638b654459743bc497df202f9e');
    assert.equal(
      pbkdf2KeyHex(secret, nonce, cnonce),
      'b7a2bf1029f505602abfc2362e593d50150a2407c9095f96f5c6efe9789e21d6',
    );
    assert.equal(
      authResponse('sha256', secret, nonce, cnonce),
      '4d63ba8b1efa8949a0c5caefe7e8bc77db582e5531bdf2667c663394b4551b93',
    );
    const md5Secret = passwordSecret('a-real-password', 'md5');
    assert.equal(md5Secret, '34f3019046f1d1793091b080627a8dbb');
    assert.equal(
      pbkdf2KeyHex(md5Secret, nonce, cnonce),
      'c136ca08480330453b9f0959fcbcac7547d60533de98c1fbf272a93604f393e9',
    );
    assert.equal(
      authResponse('sha256', md5Secret, nonce, cnonce),
      '72411b1f2dfce35db7cbd293c3cab25f533496919e272648e90685c4b5cf79af',
    );
    assert.equal(
      espotaCnonce('sha256', 'firmware.bin', 1048576, '0123456789abcdef0123456789abcdef', '192.168.1.50'),
      'b6f79d70fec18c615efc30a5c50771c93a580f2bd76965461412698e689a04d8',
    );
    assert.equal(sha256hex('admin'), '8c6976e5b5410415bde908bd4dee15dfb167a9c873fc4bb8a81f6f2ab448a918');
  });

  test('scheme detection by nonce length (§3.3)', () => {
    assert.deepEqual(parseInvitationReply('OK'), { kind: 'ok' });
    assert.deepEqual(parseInvitationReply('AUTH e721a63545f2e5927c443e68c8f896b5'), {
      kind: 'auth',
      scheme: 'md5',
      nonce: 'e721a63545f2e5927c443e68c8f896b5',
    });
    assert.equal(parseInvitationReply(`AUTH ${'a'.repeat(64)}`).kind, 'auth');
    assert.deepEqual(parseInvitationReply('AUTH abc'), { kind: 'bad-nonce', nonce: 'abc' });
    assert.deepEqual(parseInvitationReply('ERR: ERROR[4]: Not Enough Space\n'), {
      kind: 'refused',
      text: 'ERROR[4]: Not Enough Space',
    });
    assert.equal(parseInvitationReply('\x00\x01garbage').kind, 'unknown');
  });
});

describe('invitation line and the device scanner (§2.1, §2.2, §11.3)', () => {
  test('golden invitation bytes', () => {
    const bytes = formatInvitation({
      command: 0,
      port: 39559,
      size: 8000,
      md5: '42473e9d42f603347961499e187e9ed7',
    });
    assert.deepEqual(bytes, asciiBytes('0 39559 8000 42473e9d42f603347961499e187e9ed7\n'));
  });

  test('the device accepts what real devices accept', () => {
    const ok = scanInvitation(asciiBytes('0 39559 8000 42473e9d42f603347961499e187e9ed7\n'));
    assert.deepEqual(ok, { command: 0, port: 39559, size: 8000, md5: '42473e9d42f603347961499e187e9ed7' });
    // no trailing LF, CR LF, upper-case hex, extra leading spaces
    assert.equal(scanInvitation(asciiBytes('100 1 2 42473E9D42F603347961499E187E9ED7'))?.command, 100);
    assert.equal(scanInvitation(asciiBytes('0 1 2 42473e9d42f603347961499e187e9ed7\r\n'))?.md5.length, 32);
    assert.equal(scanInvitation(asciiBytes('  0   1   2 42473e9d42f603347961499e187e9ed7\n'))?.size, 2);
  });

  test('the device stays silent for malformed invitations', () => {
    assert.equal(scanInvitation(asciiBytes('hello\n')), undefined);
    assert.equal(scanInvitation(asciiBytes('0 1 2 42473e9d42f603347961499e187e9ed\n')), undefined); // 31
    assert.equal(scanInvitation(asciiBytes('7 1 2 42473e9d42f603347961499e187e9ed7\n')), undefined);
    assert.equal(scanInvitation(asciiBytes('200 1 2 42473e9d42f603347961499e187e9ed7\n')), undefined);
    assert.equal(scanInvitation(new Uint8Array(0)), undefined);
  });

  test('auth line scanning checks 200 and field lengths', () => {
    const c = 'c'.repeat(32);
    const r = 'd'.repeat(32);
    assert.deepEqual(scanAuthLine(asciiBytes(`200 ${c} ${r}\n`), 32), { cnonce: c, response: r });
    assert.equal(scanAuthLine(asciiBytes(`201 ${c} ${r}\n`), 32), undefined);
    assert.equal(scanAuthLine(asciiBytes(`200 ${c} ${r}\n`), 64), undefined);
    assert.equal(scanAuthLine(asciiBytes('0 1 2 42473e9d42f603347961499e187e9ed7\n'), 32), undefined);
  });

  test('fast-check: the scanner never throws and only returns well-formed invitations', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const inv = scanInvitation(bytes);
        if (inv !== undefined) {
          assert.ok(inv.command === 0 || inv.command === 100);
          assert.equal(inv.md5.length, 32);
        }
        scanAuthLine(bytes, 32);
        scanAuthLine(bytes, 64);
      }),
    );
  });
});

function tokenize(chunks: Uint8Array[]): ReplyToken[] {
  const t = new ReplyTokenizer();
  const tokens = chunks.flatMap((c) => t.push(c)).concat(t.end());
  // Canonical form: adjacent digit fragments merged.
  const merged: ReplyToken[] = [];
  for (const tok of tokens) {
    const last = merged.at(-1);
    if (tok.type === 'digits' && last?.type === 'digits')
      merged[merged.length - 1] = { type: 'digits', text: last.text + tok.text };
    else merged.push(tok);
  }
  return merged;
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

describe('reply tokenizer (§4.3–§4.5)', () => {
  test('counts then OK', () => {
    assert.deepEqual(tokenize([asciiBytes('10241024392OK')]), [
      { type: 'digits', text: '10241024392' },
      { type: 'ok' },
      { type: 'end', sawOk: true },
    ]);
  });

  test('error texts of both cores, verbatim', () => {
    assert.deepEqual(tokenize([asciiBytes('1024Wrong Magic Byte\r\n')]), [
      { type: 'digits', text: '1024' },
      { type: 'error', text: 'Wrong Magic Byte' },
      { type: 'end', sawOk: false },
    ]);
    assert.deepEqual(tokenize([asciiBytes('700ERROR[10]: Magic byte is not 0xE9\n')]).slice(1, 2), [
      { type: 'error', text: 'ERROR[10]: Magic byte is not 0xE9' },
    ]);
    // A text that starts with O but is not OK.
    assert.deepEqual(tokenize([asciiBytes('12Out of memory')]).slice(1, 2), [
      { type: 'error', text: 'Out of memory' },
    ]);
  });

  test('EOF without OK, and a lone O at EOF, are not success', () => {
    assert.deepEqual(tokenize([asciiBytes('1460')]).at(-1), { type: 'end', sawOk: false });
    assert.deepEqual(tokenize([asciiBytes('1460O')]), [
      { type: 'digits', text: '1460' },
      { type: 'error', text: 'O' },
      { type: 'end', sawOk: false },
    ]);
  });

  test('fast-check: the same tokens under any chunking', () => {
    const stream = fc.tuple(
      fc.array(fc.integer({ min: 1, max: 1460 }), { maxLength: 20 }),
      fc.oneof(
        fc.constant('OK'),
        fc.constant(''),
        fc.constant('Wrong Magic Byte\r\n'),
        fc.constant('ERROR[7]: MD5 verification failed: expected: 0, calculated: 1\n'),
        fc.string({ maxLength: 30 }),
      ),
    );
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), ([counts, tail], cuts) => {
        const bytes = asciiBytes(counts.join('') + tail);
        const whole = tokenize([bytes]);
        const split = tokenize(splitAt(bytes, cuts));
        assert.deepEqual(split, whole);
        assert.equal(whole.at(-1)?.type, 'end');
        const sawOk = (whole.at(-1) as { sawOk: boolean }).sawOk;
        assert.equal(sawOk, tail.replace(/^[0-9]+/, '').startsWith('OK'));
      }),
      { numRuns: 500 },
    );
  });
});
