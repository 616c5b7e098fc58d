import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isAirflashError } from '../src/core/errors.ts';
import {
  type DnsMessage,
  type DnsRecord,
  decodeMessage,
  decodeTxt,
  encodeMessage,
  encodeTxt,
} from '../src/discovery/dns-packet.ts';

const isAirflashErrorLike =
  (code: 'DISCOVERY_FAILED') =>
  (error: unknown): boolean =>
    isAirflashError(error, code);

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const label = (s: string): number[] => [s.length, ...ascii(s)];

test('a PTR query for _arduino._tcp.local encodes to the bytes of RFC 1035 §4', () => {
  const bytes = encodeMessage({ questions: [{ name: '_arduino._tcp.local', type: 'PTR' }] });
  const expected = [
    // id, flags, qd=1, an=0, ns=0, ar=0
    0,
    0,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    ...label('_arduino'),
    ...label('_tcp'),
    ...label('local'),
    0,
    // type PTR (12), class IN (1)
    0,
    12,
    0,
    1,
  ];
  assert.deepEqual([...bytes], expected);
});

test('a hand-typed compressed response decodes (pointers, cache-flush bit, SRV, TXT, A, AAAA)', () => {
  // Offsets: header 0..11; answer name "_arduino._tcp.local" at 12.
  const bytes = Uint8Array.from([
    0,
    0,
    0x84,
    0x00,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    3,
    // PTR _arduino._tcp.local → kitchen.<ptr 12>
    ...label('_arduino'),
    ...label('_tcp'),
    ...label('local'),
    0, // 12..32
    0,
    12,
    0,
    1,
    0,
    0,
    0x11,
    0x94, // type PTR, class IN, ttl 4500
    0,
    10, // rdlength: 1+7 + 2
    ...label('kitchen'),
    0xc0,
    12, // "kitchen" at 43, then pointer to 12
    // SRV kitchen.<ptr 43> → port 3232, target kitchen-host.<ptr 26 = "local">
    0xc0,
    43,
    0,
    33,
    0x80,
    1,
    0,
    0,
    0,
    120, // SRV, cache-flush IN, ttl 120
    0,
    21, // rdlength: 6 + 1+12 + 2
    0,
    0,
    0,
    0,
    0x0c,
    0xa0, // prio 0 weight 0 port 3232
    ...label('kitchen-host'),
    0xc0,
    26,
    // TXT kitchen.<ptr 43>: board=esp32, flag, =novalue
    0xc0,
    43,
    0,
    16,
    0x80,
    1,
    0,
    0,
    0,
    120,
    0,
    26,
    11,
    ...ascii('board=esp32'),
    4,
    ...ascii('flag'),
    8,
    ...ascii('=novalue'),
    // AAAA kitchen-host.local (pointer to the SRV target)
    0xc0,
    71,
    0,
    28,
    0x80,
    1,
    0,
    0,
    0,
    120,
    0,
    16,
    0xfe,
    0x80,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
  ]);
  const m = decodeMessage(bytes);
  assert.equal(m.flags, 0x8400);
  assert.deepEqual(m.answers, [
    { name: '_arduino._tcp.local', ttl: 4500, type: 'PTR', data: 'kitchen._arduino._tcp.local' },
  ]);
  const [srv, txt, aaaa] = m.additionals;
  assert.deepEqual(srv, {
    name: 'kitchen._arduino._tcp.local',
    ttl: 120,
    cacheFlush: true,
    type: 'SRV',
    data: { priority: 0, weight: 0, port: 3232, target: 'kitchen-host.local' },
  });
  assert.equal(txt?.type, 'TXT');
  assert.deepEqual(decodeTxt(txt?.type === 'TXT' ? txt.data : []), [
    ['board', 'esp32'],
    ['flag', ''],
  ]);
  assert.deepEqual(aaaa, {
    name: 'kitchen-host.local',
    ttl: 120,
    cacheFlush: true,
    type: 'AAAA',
    data: 'fe80::1',
  });
});

test('malformed messages are rejected with DISCOVERY_FAILED, never loop or crash', () => {
  const header = (an: number): number[] => [0, 0, 0x84, 0, 0, 0, 0, an, 0, 0, 0, 0];
  const cases: Array<[string, number[]]> = [
    ['truncated header', [0, 0, 0x84]],
    ['pointer to itself', [...header(1), 0xc0, 12]],
    ['pointer forwards', [...header(1), 0xc0, 20, 0, 0, 0, 0, 0, 0, 0, 0]],
    ['label past the end', [...header(1), 9, ...ascii('abc')]],
    ['reserved label type', [...header(1), 0x40, 0]],
    ['A with 3 bytes', [...header(1), 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3]],
    ['rdlength past the end', [...header(1), 0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 50, 1]],
    ['TXT string past its record', [...header(1), 0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 2, 5, 65]],
    [
      'SRV shorter than rdlength says',
      [...header(1), 0, 0, 33, 0, 1, 0, 0, 0, 1, 0, 9, 0, 0, 0, 0, 0, 1, 0, 0, 0],
    ],
  ];
  for (const [why, bytes] of cases) {
    assert.throws(() => decodeMessage(Uint8Array.from(bytes)), isAirflashErrorLike('DISCOVERY_FAILED'), why);
  }
});

test('names are compressed on encode and IPv6 addresses take their RFC 5952 form', () => {
  const message = {
    flags: 0x8400,
    answers: [
      { name: 'a.local', type: 'A', ttl: 1, data: '10.0.0.1' },
      { name: 'a.local', type: 'AAAA', ttl: 1, data: '2001:DB8:0:0:0:0:2:1' },
      { name: 'a.local', type: 'AAAA', ttl: 1, data: '::ffff:192.0.2.1' },
    ] satisfies DnsRecord[],
  };
  const bytes = encodeMessage(message);
  // "a.local" is written once; the two later records point at it (2 bytes each).
  const once = 1 + 1 + 1 + 5 + 1;
  assert.equal(bytes.length, 12 + (once + 10 + 4) + (2 + 10 + 16) * 2);
  const back = decodeMessage(bytes);
  assert.deepEqual(
    back.answers.map((r) => r.data),
    ['10.0.0.1', '2001:db8::2:1', '::ffff:c000:201'],
  );
  assert.throws(() => encodeMessage({ answers: [{ name: 'x', type: 'A', ttl: 1, data: '1.2.3' }] }));
  assert.throws(() => encodeMessage({ answers: [{ name: 'x', type: 'AAAA', ttl: 1, data: '1::2::3' }] }));
  assert.throws(() => encodeMessage({ questions: [{ name: `${'a'.repeat(64)}.local`, type: 'A' }] }));
});

const labelArb = fc.stringMatching(/^[a-z0-9_][a-z0-9_-]{0,14}$/);
const nameArb = fc.array(labelArb, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const ttlArb = fc.integer({ min: 0, max: 0xffffffff });
const v4Arb = fc.ipV4();
const v6Arb = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
  .map((g) => g.map((x) => x.toString(16)).join(':'));
const recordArb: fc.Arbitrary<DnsRecord> = fc.oneof(
  fc.record({ name: nameArb, ttl: ttlArb, type: fc.constant('A' as const), data: v4Arb }),
  fc.record({ name: nameArb, ttl: ttlArb, type: fc.constant('AAAA' as const), data: v6Arb }),
  fc.record({ name: nameArb, ttl: ttlArb, type: fc.constant('PTR' as const), data: nameArb }),
  fc.record({
    name: nameArb,
    ttl: ttlArb,
    cacheFlush: fc.constant(true),
    type: fc.constant('SRV' as const),
    data: fc.record({
      priority: fc.integer({ min: 0, max: 0xffff }),
      weight: fc.integer({ min: 0, max: 0xffff }),
      port: fc.integer({ min: 0, max: 0xffff }),
      target: nameArb,
    }),
  }),
  fc.record({
    name: nameArb,
    ttl: ttlArb,
    type: fc.constant('TXT' as const),
    data: fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 5 }),
  }),
);

/** What decode gives back for an encoded record: IPv6 in canonical form. */
function normalize(record: DnsRecord): DnsRecord {
  if (record.type !== 'AAAA') return record;
  const probe = decodeMessage(encodeMessage({ answers: [record] })).answers[0];
  return { ...record, data: probe?.type === 'AAAA' ? probe.data : '' };
}

test('encode → decode is the identity on messages (property)', () => {
  fc.assert(
    fc.property(
      fc.record({
        id: fc.integer({ min: 0, max: 0xffff }),
        flags: fc.integer({ min: 0, max: 0xffff }),
        questions: fc.array(
          fc.record({
            name: nameArb,
            type: fc.constantFrom(
              'A' as const,
              'AAAA' as const,
              'PTR' as const,
              'SRV' as const,
              'TXT' as const,
              'ANY' as const,
            ),
          }),
          { maxLength: 3 },
        ),
        answers: fc.array(recordArb, { maxLength: 4 }),
        authorities: fc.constant([] as DnsRecord[]),
        additionals: fc.array(recordArb, { maxLength: 4 }),
      }),
      (message: DnsMessage) => {
        const back = decodeMessage(encodeMessage(message));
        // structuredClone: fast-check builds objects without a prototype; decode gives plain ones.
        const expected = structuredClone({
          ...message,
          answers: message.answers.map(normalize),
          additionals: message.additionals.map(normalize),
        });
        assert.deepEqual(back, expected);
      },
    ),
    { numRuns: 300 },
  );
});

test('decode never throws anything but DISCOVERY_FAILED on random bytes (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        decodeMessage(bytes);
      } catch (error) {
        assert.ok(isAirflashErrorLike('DISCOVERY_FAILED')(error), String(error));
      }
    }),
    { numRuns: 2000 },
  );
});

test('TXT helpers keep order and split at the first "="', () => {
  const entries: Array<[string, string]> = [
    ['board', 'esp32'],
    ['path', 'a=b'],
    ['auth_upload', 'no'],
  ];
  assert.deepEqual(decodeTxt(encodeTxt(entries)), entries);
});
