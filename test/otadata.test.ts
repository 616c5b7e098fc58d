import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AirflashError } from '../src/core/errors.ts';
import {
  activeOtadataEntry,
  blankOtadata,
  bootSlotFromOtadata,
  crc32,
  OTA_STATE,
  otadataCrc,
  readOtadata,
  setActiveOtaState,
  setBootSlot,
} from '../src/formats/index.ts';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** An otadata image from two hand-written records (undefined = erased). */
function otadata(
  e0?: { seq: number; state: number; crc?: number },
  e1?: { seq: number; state: number; crc?: number },
): Uint8Array {
  const out = blankOtadata();
  const view = new DataView(out.buffer);
  [e0, e1].forEach((e, i) => {
    if (e === undefined) return;
    view.setUint32(i * 0x1000, e.seq, true);
    view.setUint32(i * 0x1000 + 24, e.state, true);
    view.setUint32(i * 0x1000 + 28, e.crc ?? otadataCrc(e.seq), true);
  });
  return out;
}

describe('otadata CRC (formats.md §5.2)', () => {
  it('is crc32(seq bytes, 0xFFFFFFFF), not plain crc32', () => {
    assert.equal(otadataCrc(1), 0x4743989a);
    assert.equal(otadataCrc(2), 0x55f63774);
    assert.equal(otadataCrc(3), 0xed4a5011);
    assert.equal(otadataCrc(4), 0x709d68a8);
    assert.equal(crc32(new Uint8Array([1, 0, 0, 0])), 0x99f8b879);
  });

  it('the first record of seq 1 is 01 00 00 00, 20 × FF, FF FF FF FF, 9A 98 43 47', () => {
    const b = setBootSlot(blankOtadata(), 0, 2);
    assert.equal(
      Buffer.from(b.subarray(0, 32)).toString('hex'),
      `01000000${'ff'.repeat(20)}ffffffff9a984347`,
    );
  });
});

// The reference vectors (reference/otadata/*.bin): their MD5 digests, computed by hand from those
// files, compared with what our encoder writes when it walks the same history.
describe('otadata vectors (formats.md §5.7)', () => {
  const erased = blankOtadata();
  const seq1 = setBootSlot(erased, 0, 2);
  const seq1Valid = setActiveOtaState(seq1, OTA_STATE.valid);
  const seq2New = setBootSlot(seq1Valid, 1, 2, { rollback: true });
  const seq2Valid = setActiveOtaState(seq2New, OTA_STATE.valid);
  const seq3Pending = setActiveOtaState(
    setBootSlot(seq2Valid, 0, 2, { rollback: true }),
    OTA_STATE.pendingVerify,
  );
  const badCrc = otadata({ seq: 1, state: OTA_STATE.undefined, crc: 0 });

  it('otadata_erased.bin: all FF; no valid entry → factory, else ota_0', () => {
    assert.equal(md5(erased), '84d04c9d6cc8ef35bf825d51a5277699');
    assert.deepEqual(readOtadata(erased).entries, [undefined, undefined]);
    assert.equal(bootSlotFromOtadata(erased, 2), undefined);
  });

  it('otadata_seq1_boot_ota0.bin: {seq 1, UNDEFINED} → ota_0', () => {
    assert.equal(md5(seq1), '3834f58ed47ce3d7b120589b68955e37');
    assert.deepEqual(readOtadata(seq1).entries[0], {
      seq: 1,
      state: OTA_STATE.undefined,
      crc: 0x4743989a,
      crcOk: true,
    });
    assert.equal(bootSlotFromOtadata(seq1, 2), 0);
  });

  it('otadata_seq1_valid_seq2_new_boot_ota1.bin: {1, VALID} + {2, NEW} → ota_1', () => {
    assert.equal(md5(seq2New), 'cffe83af6935de3c44b1e8cfc209efde');
    assert.deepEqual(readOtadata(seq2New).entries[1], {
      seq: 2,
      state: OTA_STATE.new,
      crc: 0x55f63774,
      crcOk: true,
    });
    assert.equal(bootSlotFromOtadata(seq2New, 2), 1);
    assert.equal(bootSlotFromOtadata(seq2New, 2, { rollback: true }), 1);
  });

  it('otadata_seq3_pending_seq2_valid.bin: rollback boots ota_1, without rollback seq 3 → ota_0', () => {
    assert.equal(md5(seq3Pending), 'c013aa4caf8da0bc1d3bc33474ae8579');
    assert.deepEqual(readOtadata(seq3Pending).entries[0], {
      seq: 3,
      state: OTA_STATE.pendingVerify,
      crc: 0xed4a5011,
      crcOk: true,
    });
    assert.equal(bootSlotFromOtadata(seq3Pending, 2, { rollback: true }), 1);
    assert.equal(bootSlotFromOtadata(seq3Pending, 2), 0);
  });

  it('otadata_bad_crc.bin: {seq 1, crc 0} is not valid → factory, else ota_0', () => {
    assert.equal(md5(badCrc), 'e62e792f370f1a7c952eea9b262dd3fb');
    assert.equal(readOtadata(badCrc).entries[0]?.crcOk, false);
    assert.equal(bootSlotFromOtadata(badCrc, 2), undefined);
  });
});

describe('slot selection', () => {
  it('(seq − 1) mod N, the higher valid seq wins, entry 0 on a tie', () => {
    assert.equal(bootSlotFromOtadata(otadata({ seq: 5, state: 2 }), 3), 1);
    assert.equal(bootSlotFromOtadata(otadata({ seq: 4, state: 2 }, { seq: 7, state: 2 }), 2), 0);
    assert.equal(activeOtadataEntry(otadata({ seq: 4, state: 2 }, { seq: 4, state: 2 })), 0);
    assert.equal(
      bootSlotFromOtadata(otadata({ seq: 4, state: 2 }, { seq: 7, state: OTA_STATE.invalid }), 2),
      1,
    );
    assert.equal(
      bootSlotFromOtadata(otadata({ seq: 4, state: 2 }, { seq: 7, state: OTA_STATE.aborted }), 2),
      1,
    );
    assert.equal(bootSlotFromOtadata(otadata({ seq: 4, state: 2 }, { seq: 7, state: 2, crc: 1 }), 2), 1);
    assert.equal(bootSlotFromOtadata(otadata({ seq: 1, state: 2 }), 0), undefined);
  });

  it('esp_ota_set_boot_partition: ((slot + 1) mod n) + k·n, the smallest not below the active seq', () => {
    // n = 2: running seq 2 (ota_1), select ota_0 → seq 3 in the other sector; then ota_1 → 4.
    const a = otadata(undefined, { seq: 2, state: 2 });
    const b = setBootSlot(a, 0, 2);
    assert.equal(readOtadata(b).entries[0]?.seq, 3);
    const c = setBootSlot(b, 1, 2);
    assert.equal(readOtadata(c).entries[1]?.seq, 4);
    // n = 3 from seq 1 (ota_0): ota_2 → 3, then ota_1 → 5.
    const d = setBootSlot(setBootSlot(blankOtadata(), 0, 3), 2, 3);
    assert.equal(readOtadata(d).entries[1]?.seq, 3);
    assert.equal(readOtadata(setBootSlot(d, 1, 3)).entries[0]?.seq, 5);
    // Already on the target: only the state is rewritten, in place.
    const same = setBootSlot(otadata({ seq: 3, state: 2 }), 0, 2, { rollback: true });
    assert.deepEqual(readOtadata(same).entries, [
      { seq: 3, state: OTA_STATE.new, crc: otadataCrc(3), crcOk: true },
      undefined,
    ]);
  });

  it('setBootSlot returns a copy and the bootloader then boots that slot (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.array(fc.nat(15), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        (n, picks, rollback) => {
          let bytes = blankOtadata();
          for (const pick of picks) {
            const slot = pick % n;
            const before = new Uint8Array(bytes);
            const next = setBootSlot(bytes, slot, n, { rollback });
            assert.deepEqual(bytes, before, 'input untouched');
            assert.equal(bootSlotFromOtadata(next, n), slot);
            bytes = setActiveOtaState(next, OTA_STATE.valid);
            assert.equal(bootSlotFromOtadata(bytes, n, { rollback: true }), slot);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects short buffers and impossible slots', () => {
    assert.throws(
      () => readOtadata(new Uint8Array(100)),
      (e: unknown) => e instanceof AirflashError && e.code === 'OTADATA_INVALID',
    );
    assert.throws(
      () => setBootSlot(blankOtadata(), 2, 2),
      (e: unknown) => e instanceof AirflashError && e.code === 'OTADATA_INVALID',
    );
    assert.throws(
      () => setBootSlot(blankOtadata(), 0, 0),
      (e: unknown) => e instanceof AirflashError && e.code === 'OTADATA_INVALID',
    );
  });
});
