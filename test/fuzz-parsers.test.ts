/**
 * fast-check over the parsers not yet fuzzed elsewhere (test/image.test.ts covers inspectImage on
 * arbitrary bytes, test/protocol.test.ts the device scanner and the tokenizer on well-formed count
 * streams): the reply tokenizer on arbitrary bytes, partition tables (CSV text, binary, loader,
 * validation, OTA verdict), otadata, the upload pre-flight, image headers, flash sizes and the
 * invitation-answer classifier. Each must return or throw an AirflashError with one of its
 * documented codes — never anything else, never slowly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AirflashError, type ErrorCode } from '../src/core/errors.ts';
import {
  blankOtadata,
  bootSlotFromOtadata,
  buildEsp32App,
  buildEsp8266Sketch,
  builtinPartitionTable,
  builtinSchemeCsv,
  decodePartitionTable,
  encodePartitionTable,
  loadPartitionTable,
  OTADATA_SIZE,
  otaVerdict,
  type PartitionTable,
  parseFlashSize,
  parsePartitionCsv,
  preflight,
  readImageHeader,
  readOtadata,
  setBootSlot,
  validatePartitionTable,
} from '../src/formats/index.ts';
import {
  MAX_ERROR_TEXT,
  parseInvitationReply,
  type ReplyToken,
  ReplyTokenizer,
} from '../src/protocols/arduino-ota/wire/index.ts';

/**
 * The same inputs every run (FUZZ_SEED=n explores others; a failure prints the seed and path).
 * With a random seed a run could fail where the previous one passed, on the same code.
 */
const SEED = Number(process.env['FUZZ_SEED'] ?? 20_261_202);

/**
 * CPU time of this process, in ms. "Never slowly" is measured in CPU time, not wall time: other
 * processes on a busy machine delay a parse but do not add to its CPU time.
 */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Run `fn`; it may return or throw an AirflashError with one of `codes`, within `ms` of CPU. */
function documented<T>(codes: readonly ErrorCode[], fn: () => T, ms = 250): T | undefined {
  const started = cpuMs();
  try {
    return fn();
  } catch (error) {
    assert.ok(error instanceof AirflashError, `not an AirflashError: ${String(error)}`);
    assert.ok(codes.includes(error.code), `undocumented code ${error.code}: ${error.message}`);
    assert.ok(error.message.length > 0);
    return undefined;
  } finally {
    const took = cpuMs() - started;
    assert.ok(took < ms, `took ${took.toFixed(0)} ms of CPU`);
  }
}

/** Random edits and a truncation of a real structure. */
function mutations(seeds: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 10 }),
      fc.option(fc.nat(), { nil: undefined }),
    )
    .map(([base, edits, cut]) => {
      const out = new Uint8Array(base);
      for (const [at, v] of edits) if (out.length > 0) out[at % out.length] = v;
      return cut === undefined ? out : out.subarray(0, cut % (out.length + 1));
    });
}

function tokensOf(chunks: Uint8Array[]): ReplyToken[] {
  const t = new ReplyTokenizer();
  const out: ReplyToken[] = [];
  for (const c of chunks) out.push(...t.push(c));
  out.push(...t.end());
  // merge adjacent digit fragments: chunking may split a run
  const merged: ReplyToken[] = [];
  for (const tok of out) {
    const last = merged.at(-1);
    if (tok.type === 'digits' && last?.type === 'digits')
      merged[merged.length - 1] = { type: 'digits', text: last.text + tok.text };
    else merged.push(tok);
  }
  return merged;
}

describe('fuzz: reply tokenizer on arbitrary bytes', () => {
  it('same tokens under any chunking; digits only in digit tokens; one ending; bounded text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          fc.tuple(fc.stringMatching(/^[0-9]{0,40}$/), fc.uint8Array({ maxLength: 60 })).map(([d, rest]) => {
            const head = new TextEncoder().encode(d);
            const out = new Uint8Array(head.length + rest.length);
            out.set(head);
            out.set(rest, head.length);
            return out;
          }),
        ),
        fc.array(fc.nat(), { maxLength: 10 }),
        (bytes, cuts) => {
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let prev = 0;
          for (const p of points) {
            chunks.push(bytes.subarray(prev, p));
            prev = p;
          }
          chunks.push(bytes.subarray(prev));
          const whole = tokensOf([bytes]);
          assert.deepEqual(tokensOf(chunks), whole);
          const end = whole.at(-1);
          assert.equal(end?.type, 'end');
          assert.equal(whole.filter((t) => t.type === 'end').length, 1);
          assert.ok(whole.filter((t) => t.type === 'ok' || t.type === 'error').length <= 1);
          for (const t of whole) {
            if (t.type === 'digits') assert.match(t.text, /^[0-9]+$/);
            if (t.type === 'error') assert.ok(t.text.length <= MAX_ERROR_TEXT);
          }
          // success exactly when the first non-digit bytes are "OK"
          let i = 0;
          while (i < bytes.length && (bytes[i] as number) >= 0x30 && (bytes[i] as number) <= 0x39) i++;
          const ok = bytes[i] === 0x4f && bytes[i + 1] === 0x4b;
          assert.equal((end as { sawOk: boolean }).sawOk, ok);
        },
      ),
      { numRuns: 1000, seed: SEED },
    );
  });

  it('a hostile peer cannot grow memory: 1 MiB of text keeps at most MAX_ERROR_TEXT characters', () => {
    const t = new ReplyTokenizer();
    const junk = new Uint8Array(64 * 1024).fill(0x41);
    for (let i = 0; i < 16; i++) t.push(junk);
    const end = t.end();
    const err = end.find((x) => x.type === 'error');
    assert.equal(err?.type, 'error');
    assert.equal((err as { text: string }).text.length, MAX_ERROR_TEXT);
  });
});

describe('fuzz: the answer to an invitation', () => {
  it('parseInvitationReply classifies any text without throwing', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 120 }),
          fc
            .tuple(
              fc.constantFrom('AUTH ', 'AUTH', 'ERR: ', 'ERR', 'OK', 'Authentication Failed'),
              fc.string(),
            )
            .map(([a, b]) => a + b),
        ),
        (text) => {
          const r = parseInvitationReply(text);
          assert.ok(['ok', 'auth', 'refused', 'bad-nonce', 'unknown'].includes(r.kind));
          if (r.kind === 'auth') assert.match(r.nonce, /^([0-9a-fA-F]{32}|[0-9a-fA-F]{64})$/);
          if (r.kind === 'ok') assert.equal(text, 'OK');
        },
      ),
      { numRuns: 1000, seed: SEED },
    );
  });
});

describe('fuzz: partition tables', () => {
  const CSV_CODES: ErrorCode[] = ['PARTITION_CSV', 'PARTITION_INVALID'];
  const BIN_CODES: ErrorCode[] = ['PARTITION_TABLE', 'PARTITION_INVALID'];
  const csv = builtinSchemeCsv('default') as string;
  const binaries = ['default', 'min_spiffs', 'huge_app', 'default_32MB'].map((n) =>
    encodePartitionTable(builtinPartitionTable(n) as PartitionTable),
  );

  const checkTable = (table: PartitionTable | undefined): void => {
    if (!table) return;
    assert.ok(Array.isArray(table.entries));
    // what the parser accepts, the validator and the OTA verdict take without throwing
    documented(['PARTITION_INVALID'], () => validatePartitionTable(table));
    documented(['PARTITION_INVALID'], () => otaVerdict(table, 4 * 1024 * 1024));
  };

  it('CSV: arbitrary text and edited real CSV give a table or PARTITION_CSV / PARTITION_INVALID', () => {
    const line = fc
      .tuple(
        fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('nvs', 'app0', '# c', '')),
        fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('app', 'data', '0x40', '1')),
        fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('ota_0', 'nvs', 'spiffs', 'factory', '0x99')),
        fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.constantFrom('', '0x9000', '0x10000', '36K', '-1', '0xfffffffff'),
        ),
        fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.constantFrom('0x5000', '1M', '4K', '0', '0x1', '99999999999'),
        ),
        fc.oneof(fc.constant(''), fc.constantFrom('encrypted', 'readonly', 'encrypted:readonly', 'bogus')),
      )
      .map((f) => f.join(','));
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.array(line, { maxLength: 12 }).map((l) => l.join('\n')),
      fc
        .tuple(fc.nat(csv.length), fc.nat(csv.length), fc.string({ maxLength: 20 }))
        .map(([a, b, s]) => csv.slice(0, Math.min(a, b)) + s + csv.slice(Math.max(a, b))),
    );
    fc.assert(
      fc.property(text, (t) => {
        checkTable(documented(CSV_CODES, () => parsePartitionCsv(t)));
        checkTable(documented([...CSV_CODES, 'PARTITION_TABLE'], () => loadPartitionTable(t)));
      }),
      { numRuns: 800, seed: SEED },
    );
  });

  it('binary: arbitrary bytes and edited real tables give a table or PARTITION_TABLE / PARTITION_INVALID', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 3072 }), mutations(binaries)), (bytes) => {
        checkTable(documented(BIN_CODES, () => decodePartitionTable(bytes)));
        checkTable(documented([...BIN_CODES, 'PARTITION_CSV'], () => loadPartitionTable(bytes)));
      }),
      { numRuns: 800, seed: SEED },
    );
  });
});

describe('fuzz: otadata', () => {
  it('arbitrary and edited otadata give a slot / undefined or OTADATA_INVALID', () => {
    const valid = [setBootSlot(blankOtadata(), 1, 2), setBootSlot(setBootSlot(blankOtadata(), 0, 3), 2, 3)];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.uint8Array({ minLength: OTADATA_SIZE, maxLength: OTADATA_SIZE }),
          mutations(valid),
        ),
        fc.integer({ min: 0, max: 20 }),
        fc.boolean(),
        (bytes, slots, rollback) => {
          documented(['OTADATA_INVALID'], () => readOtadata(bytes));
          const slot = documented(['OTADATA_INVALID', 'BAD_ARGUMENT'], () =>
            bootSlotFromOtadata(bytes, slots, { rollback }),
          );
          if (slot !== undefined) assert.ok(Number.isInteger(slot) && slot >= 0 && slot < slots);
        },
      ),
      { numRuns: 800, seed: SEED },
    );
  });
});

describe('fuzz: upload pre-flight and image headers', () => {
  const app = buildEsp32App({ size: 8 * 1024, seed: 9 });
  const sketch = buildEsp8266Sketch({ size: 0x1800, seed: 9 });
  const table = builtinPartitionTable('default') as PartitionTable;
  const PREFLIGHT: ErrorCode[] = [
    'PREFLIGHT_NOT_APP',
    'PREFLIGHT_NOT_FS',
    'PREFLIGHT_WRONG_CHIP',
    'PREFLIGHT_CORRUPT',
    'PREFLIGHT_TOO_BIG',
    'PREFLIGHT_NO_OTA',
    'PREFLIGHT_EMPTY',
  ];

  it('preflight() refuses only with PREFLIGHT_* codes, whatever the bytes and target', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 1500 }), mutations([app, sketch])),
        fc.constantFrom('firmware' as const, 'filesystem' as const),
        fc.record(
          {
            core: fc.constantFrom('esp32' as const, 'esp32-legacy' as const, 'esp8266' as const),
            chip: fc.oneof(
              fc.constantFrom('esp32', 'esp32s3', 'esp32c3', 'esp8266', 'ESP32-C6'),
              fc.string({ maxLength: 8 }),
            ),
            partitions: fc.constant(table),
            flashSize: fc.constantFrom(1024 * 1024, 4 * 1024 * 1024),
          },
          { requiredKeys: [] },
        ),
        (image, command, target) => {
          const r = documented(PREFLIGHT, () => preflight({ image, command, target }));
          if (r) assert.ok(Array.isArray(r.warnings));
        },
      ),
      { numRuns: 800, seed: SEED },
    );
  });

  it('readImageHeader gives a header or IMAGE_TRUNCATED / IMAGE_INVALID', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 64 }), mutations([app, sketch])),
        fc.constantFrom(undefined, 'esp32' as const, 'esp8266' as const),
        (bytes, family) => {
          documented(['IMAGE_TRUNCATED', 'IMAGE_INVALID'], () => readImageHeader(bytes, family));
        },
      ),
      { numRuns: 800, seed: SEED },
    );
  });

  it('parseFlashSize gives a byte count or BAD_ARGUMENT', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 16 }),
          fc
            .tuple(
              fc.integer({ min: -5, max: 100_000 }),
              fc.constantFrom('MB', 'KB', 'M', 'k', 'B', '', 'mb', ' MB'),
            )
            .map(([n, u]) => `${n}${u}`),
          fc.constantFrom('0x400000', '0x', '4MB', '16MB', '1e3MB', 'NaNMB', 'InfinityMB'),
        ),
        (text) => {
          const n = documented(['BAD_ARGUMENT'], () => parseFlashSize(text));
          if (n !== undefined) assert.ok(Number.isSafeInteger(n) && n > 0, `${text} → ${n}`);
        },
      ),
      { numRuns: 800, seed: SEED },
    );
  });
});
