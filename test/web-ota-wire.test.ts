/**
 * Web OTA's pure parts: Digest against RFC 7616 §3.9.1's published responses (MD5 and SHA-256),
 * Basic against RFC 7617 §2, the challenge parser, the multipart encoder (exact length, the
 * source's own chunks passed through, a wrong-length source refused) read back by the emulator's
 * independent multipart reader split at every offset, and each profile's reply verdict.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundaryOf, MultipartReader } from '../src/protocols/web-ota/device/multipart-reader.ts';
import {
  basicAuthorization,
  digestAuthorization,
  digestResponse,
  parseChallenges,
} from '../src/protocols/web-ota/wire/auth.ts';
import { boundaryFrom, multipartChunks, planMultipart } from '../src/protocols/web-ota/wire/multipart.ts';
import { type HttpReply, PROFILES } from '../src/protocols/web-ota/wire/profiles/index.ts';
import { replyError } from '../src/protocols/web-ota/wire/verdict.ts';

const RFC_CHALLENGE = (alg: string): string =>
  `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${alg}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`;
const RFC_INPUT = {
  user: 'Mufasa',
  password: 'Circle of Life',
  method: 'GET',
  uri: '/dir/index.html',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  nc: 1,
};

describe('web OTA auth', () => {
  for (const [alg, response] of [
    ['MD5', '8ca523f5e9506fed4657c9700eebdbec'],
    ['SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'],
  ] as const)
    it(`Digest ${alg}: RFC 7616 §3.9.1's response`, () => {
      const [challenge] = parseChallenges(RFC_CHALLENGE(alg));
      assert.ok(challenge);
      assert.equal(digestResponse({ ...RFC_INPUT, challenge }, alg, 'auth'), response);
      const header = digestAuthorization({ ...RFC_INPUT, challenge });
      assert.match(header, new RegExp(`response="${response}"`));
      assert.match(header, /nc=00000001, cnonce="f2\/wE4q74E6zIJEtWaHKaf5wv\/H5QzzpXusqGemxURZJ"/);
      assert.match(header, /opaque="FQhe\/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"/);
      // One character of the password off: another response.
      assert.notEqual(
        digestResponse({ ...RFC_INPUT, password: 'Circle of Lifd', challenge }, alg, 'auth'),
        response,
      );
    });

  it('Basic: RFC 7617 §2 (Aladdin / open sesame); a ":" in the user is refused', () => {
    assert.equal(basicAuthorization('Aladdin', 'open sesame'), 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
    assert.throws(() => basicAuthorization('a:b', 'x'), { code: 'BAD_ARGUMENT' });
  });

  it('the challenge parser reads several challenges, quoted commas and escapes', () => {
    const all = parseChallenges('Basic realm="a, b", Digest realm="x\\"y", nonce="n1", qop="auth"');
    assert.deepEqual(
      all.map((c) => c.scheme),
      ['basic', 'digest'],
    );
    assert.equal(all[0]?.params['realm'], 'a, b');
    assert.equal(all[1]?.params['realm'], 'x"y');
    assert.equal(all[1]?.params['nonce'], 'n1');
    assert.deepEqual(parseChallenges(''), []);
    assert.deepEqual(parseChallenges('realm="x"'), []);
  });

  it('Digest: an unknown algorithm or qop is AUTH_UNSUPPORTED, no nonce too', () => {
    const [c1] = parseChallenges('Digest realm="r", nonce="n", algorithm=SHA-512-256');
    assert.throws(() => digestAuthorization({ ...RFC_INPUT, challenge: c1 as never }), {
      code: 'AUTH_UNSUPPORTED',
    });
    const [c2] = parseChallenges('Digest realm="r", nonce="n", qop="auth-int"');
    assert.throws(() => digestAuthorization({ ...RFC_INPUT, challenge: c2 as never }), {
      code: 'AUTH_UNSUPPORTED',
    });
    const [c3] = parseChallenges('Digest realm="r"');
    assert.throws(() => digestAuthorization({ ...RFC_INPUT, challenge: c3 as never }), {
      code: 'AUTH_UNSUPPORTED',
    });
  });
});

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe('web OTA multipart', () => {
  const file = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);
  const chunks = [file.subarray(0, 1000), file.subarray(1000, 2999), file.subarray(2999)];
  const boundary = boundaryFrom(new Uint8Array(16).fill(0xab));

  it('the planned length is the body length; the file chunks are the source chunks themselves', async () => {
    const plan = planMultipart(boundary, [{ name: 'MD5', value: 'abc' }], {
      field: 'firmware',
      filename: 'fw.bin',
      size: file.length,
    });
    const out = await collect(multipartChunks(plan, chunks));
    assert.equal(
      out.reduce((n, c) => n + c.length, 0),
      plan.length,
    );
    assert.equal(out.length, chunks.length + 2);
    for (let i = 0; i < chunks.length; i++) assert.equal(out[i + 1], chunks[i]); // same objects: not copied
    assert.equal(plan.contentType, `multipart/form-data; boundary=${boundary}`);
  });

  it('a source one byte short or one byte long never yields the closing delimiter', async () => {
    const plan = planMultipart(boundary, [], { field: 'u2', filename: 'f.bin', size: file.length });
    await assert.rejects(collect(multipartChunks(plan, [file.subarray(0, file.length - 1)])), {
      code: 'INTERNAL',
    });
    await assert.rejects(collect(multipartChunks(plan, [file, Uint8Array.of(1)])), { code: 'INTERNAL' });
  });

  it('bad boundaries, names with quotes or line breaks are BAD_ARGUMENT', () => {
    const f = { field: 'firmware', filename: 'a.bin', size: 1 };
    assert.throws(() => planMultipart('', [], f), { code: 'BAD_ARGUMENT' });
    assert.throws(() => planMultipart('x'.repeat(71), [], f), { code: 'BAD_ARGUMENT' });
    planMultipart('x'.repeat(70), [], f);
    assert.throws(() => planMultipart('b', [], { ...f, filename: 'a"b' }), { code: 'BAD_ARGUMENT' });
    assert.throws(() => planMultipart('b', [], { ...f, field: 'a\r\nX: y' }), { code: 'BAD_ARGUMENT' });
    assert.throws(() => planMultipart('b', [{ name: 'k', value: 'a\nb' }], f), { code: 'BAD_ARGUMENT' });
    assert.throws(() => planMultipart('b', [], { ...f, size: -1 }), { code: 'BAD_ARGUMENT' });
  });

  it("the emulator's own reader takes the body split at every offset", async () => {
    const small = file.subarray(0, 300);
    const plan = planMultipart(boundary, [{ name: 'MD5', value: '0123' }], {
      field: 'update',
      filename: 'x.bin',
      size: small.length,
    });
    const body = Buffer.concat(await collect(multipartChunks(plan, [small])));
    assert.equal(boundaryOf(plan.contentType), boundary);
    for (let cut = 0; cut <= body.length; cut++) {
      const reader = new MultipartReader(boundary);
      const events = [...reader.push(body.subarray(0, cut)), ...reader.push(body.subarray(cut))];
      assert.equal(reader.error, undefined, `cut ${cut}`);
      assert.ok(reader.finished, `cut ${cut}`);
      const field = events.find((e) => e.kind === 'field');
      assert.deepEqual(field, { kind: 'field', name: 'MD5', value: '0123' });
      const start = events.find((e) => e.kind === 'file');
      assert.ok(start && start.kind === 'file' && start.dataOffset === plan.head.length, `cut ${cut}`);
      const data = Buffer.concat(events.flatMap((e) => (e.kind === 'data' ? [e.bytes] : [])));
      assert.deepEqual(new Uint8Array(data), small, `cut ${cut}`);
    }
  });
});

const reply = (status: number, body: string, headers: Record<string, string> = {}): HttpReply => ({
  status,
  body,
  headers,
});

describe('web OTA verdicts: status AND body', () => {
  const cases: Array<[keyof typeof PROFILES, HttpReply, string | undefined]> = [
    [
      'arduino-esp8266',
      reply(200, '<META http-equiv="refresh" content="15;URL=/">Update Success! Rebooting...'),
      undefined,
    ],
    ['arduino-esp8266', reply(200, 'Update error: ERROR[4]: Not Enough Space\n'), 'NO_SPACE'],
    ['arduino-esp8266', reply(200, 'Update error: ERROR[13]: No data supplied\n'), 'DEVICE_REFUSED'],
    ['arduino-esp32', reply(200, 'Update error: Wrong origin received!'), 'ORIGIN_REFUSED'],
    ['arduino-esp32', reply(200, 'Update error: ERROR[7]: MD5 Check Failed'), 'MD5_MISMATCH'],
    ['arduino-esp32', reply(200, 'Update error: ERROR[99]: something new'), 'DEVICE_ERROR'],
    ['arduino-esp32', reply(200, 'Hello'), 'BAD_REPLY'],
    ['arduino-esp32', reply(500, 'Update Success! Rebooting...'), 'BAD_REPLY'],
    ['elegantota-v3', reply(200, 'OK'), undefined],
    ['elegantota-v3', reply(400, 'Not Enough Space'), 'NO_SPACE'],
    ['elegantota-v3', reply(200, 'OKAY'), 'BAD_REPLY'],
    ['elegantota-v2', reply(500, 'FAIL'), 'DEVICE_ERROR'],
    ['elegantota-v2', reply(400, 'MD5 parameter missing'), 'MD5_MISMATCH'],
    ['esphome', reply(200, 'Update Successful!'), undefined],
    ['esphome', reply(200, 'Update Failed!'), 'DEVICE_ERROR'],
    ['esphome', reply(200, 'Update Failed: Not Enough Space'), 'NO_SPACE'],
    ['esphome', reply(404, 'Not Found'), 'OTA_NOT_ENABLED'],
    ['tasmota', reply(200, "<b>Upload <font color='#47c266'>Successful</font></b>"), undefined],
    [
      'tasmota',
      reply(200, '<b>Upload <font>Failed</font></b><br><br>Magic byte is not 0xE9'),
      'DEVICE_REFUSED',
    ],
    ['tasmota', reply(403, '403 Forbidden'), 'REFERER_REFUSED'],
    ['wled', reply(200, '<h2>Update successful!</h2>Rebooting now...'), undefined],
    [
      'wled',
      reply(500, "<h2>Update failed!</h2>Firmware release name mismatch: current='A', uploaded='B'."),
      'RELEASE_MISMATCH',
    ],
    [
      'wled',
      reply(500, '<h2>Update failed!</h2>This firmware file is missing compatibility metadata.'),
      'RELEASE_MISMATCH',
    ],
    ['wled', reply(401, 'Please unlock OTA in security settings!'), 'OTA_LOCKED'],
    ['wled', reply(401, 'Please unlock settings using PIN code!'), 'PIN_REQUIRED'],
    ['wled', reply(401, 'Client is not on local subnet.'), 'SUBNET_REFUSED'],
    ['wled', reply(200, 'Update failed!'), 'BAD_REPLY'],
  ];
  for (const [id, r, code] of cases)
    it(`${id}: ${r.status} ${JSON.stringify(r.body.slice(0, 50))} → ${code ?? 'success'}`, () => {
      const e = replyError(PROFILES[id], r, 'upload');
      assert.equal(e?.code, code);
      if (e && code !== 'BAD_REPLY' && code !== 'OTA_NOT_ENABLED' && code !== 'REFERER_REFUSED')
        assert.ok(e.deviceText);
    });
});
