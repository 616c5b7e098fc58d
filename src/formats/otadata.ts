/**
 * otadata (the data/ota partition, formats.md §5): two 32-byte select entries, one per 4 KiB
 * sector, {ota_seq u32, seq_label 20 bytes, ota_state u32, crc u32}; CRC = crc32(seq, 0xFFFFFFFF).
 */
import { AirflashError } from '../core/errors.ts';
import { crc32 } from './crc.ts';

export const OTADATA_SIZE = 0x2000;
export const OTADATA_SECTOR = 0x1000;
export const OTADATA_ENTRY_SIZE = 32;

export const OTA_STATE = {
  new: 0x0,
  pendingVerify: 0x1,
  valid: 0x2,
  invalid: 0x3,
  aborted: 0x4,
  undefined: 0xffffffff,
} as const;

export interface OtadataEntry {
  seq: number;
  state: number;
  /** The stored CRC equals crc32(seq bytes, 0xFFFFFFFF). */
  crcOk: boolean;
  crc: number;
}

export interface Otadata {
  /** Entry 0 (offset 0) and entry 1 (offset 0x1000); undefined when erased (ota_seq 0xFFFFFFFF). */
  entries: Array<OtadataEntry | undefined>;
}

/** "VALID", "PENDING_VERIFY", …, or the number in hex. */
export function otaStateName(state: number): string {
  switch (state) {
    case OTA_STATE.new:
      return 'NEW';
    case OTA_STATE.pendingVerify:
      return 'PENDING_VERIFY';
    case OTA_STATE.valid:
      return 'VALID';
    case OTA_STATE.invalid:
      return 'INVALID';
    case OTA_STATE.aborted:
      return 'ABORTED';
    case OTA_STATE.undefined:
      return 'UNDEFINED';
    default:
      return `0x${state.toString(16)}`;
  }
}

/** The otadata CRC of a sequence number: crc32 of its 4 little-endian bytes, previous = 0xFFFFFFFF. */
export function otadataCrc(seq: number): number {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, seq >>> 0, true);
  return crc32(b, 0xffffffff);
}

function check(bytes: Uint8Array): DataView {
  if (bytes.length < OTADATA_SECTOR + OTADATA_ENTRY_SIZE) {
    throw new AirflashError(
      'OTADATA_INVALID',
      `otadata is ${bytes.length} bytes; it must hold two sectors (0x2000 bytes, entry 1 at 0x1000).`,
      { hint: 'Read the whole data/ota partition (8 KiB).' },
    );
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Both select entries. */
export function readOtadata(bytes: Uint8Array): Otadata {
  const view = check(bytes);
  const entries: Array<OtadataEntry | undefined> = [];
  for (const at of [0, OTADATA_SECTOR]) {
    const seq = view.getUint32(at, true);
    if (seq === 0xffffffff) {
      entries.push(undefined);
      continue;
    }
    const crc = view.getUint32(at + 28, true);
    entries.push({ seq, state: view.getUint32(at + 24, true), crc, crcOk: crc === otadataCrc(seq) });
  }
  return { entries };
}

function isValid(entry: OtadataEntry | undefined, rollback: boolean): entry is OtadataEntry {
  if (entry === undefined || !entry.crcOk) return false;
  if (entry.state === OTA_STATE.invalid || entry.state === OTA_STATE.aborted) return false;
  // With rollback the bootloader turns PENDING_VERIFY into ABORTED before choosing.
  if (rollback && entry.state === OTA_STATE.pendingVerify) return false;
  return true;
}

/** Index (0 or 1) of the active entry: the valid one with the higher seq (entry 0 on a tie). */
export function activeOtadataEntry(
  bytes: Uint8Array,
  options: { rollback?: boolean } = {},
): 0 | 1 | undefined {
  const [a, b] = readOtadata(bytes).entries;
  const rollback = options.rollback === true;
  const va = isValid(a, rollback);
  const vb = isValid(b, rollback);
  if (va && vb) return (b as OtadataEntry).seq > (a as OtadataEntry).seq ? 1 : 0;
  if (va) return 0;
  if (vb) return 1;
  return undefined;
}

/**
 * Which ota_N the bootloader boots: (seq − 1) mod slotCount of the active entry (§5.4).
 * undefined when no entry is valid (or slotCount is 0): the bootloader then boots the factory app
 * if there is one, otherwise it scans the partitions and boots ota_0, and writes entry 0 =
 * {seq 1, VALID} once that app runs. With `rollback`, a PENDING_VERIFY entry counts as ABORTED
 * (an update that never confirmed itself is rolled back); without it, it counts as valid.
 */
export function bootSlotFromOtadata(
  bytes: Uint8Array,
  slotCount: number,
  options: { rollback?: boolean } = {},
): number | undefined {
  if (slotCount <= 0) return undefined;
  const active = activeOtadataEntry(bytes, options);
  if (active === undefined) return undefined;
  const entry = readOtadata(bytes).entries[active] as OtadataEntry;
  return ((entry.seq - 1) >>> 0) % slotCount;
}

/** Erased otadata: 0x2000 bytes of 0xFF (what selecting the factory app leaves). */
export function blankOtadata(): Uint8Array {
  return new Uint8Array(OTADATA_SIZE).fill(0xff);
}

function writeEntry(out: Uint8Array, index: 0 | 1, seq: number, state: number, previous: Uint8Array): void {
  const at = index * OTADATA_SECTOR;
  // Erase the sector, then write the 32-byte record; seq_label keeps what the record held before.
  out.fill(0xff, at, at + OTADATA_SECTOR);
  out.set(previous.subarray(at + 4, at + 24), at + 4);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(at, seq >>> 0, true);
  view.setUint32(at + 24, state >>> 0, true);
  view.setUint32(at + 28, otadataCrc(seq), true);
}

/**
 * What esp_ota_set_boot_partition writes to make the bootloader boot ota_`slot` (§5.5), as a new
 * copy. The new entry's state is NEW with `rollback`, else UNDEFINED (0xFFFFFFFF).
 * - Active entry already on that slot: only its state is rewritten.
 * - Otherwise the other sector gets the smallest seq ≡ slot + 1 (mod slotCount) above the active seq.
 * - No valid entry: entry 0 gets seq slot + 1.
 */
export function setBootSlot(
  bytes: Uint8Array,
  slot: number,
  slotCount: number,
  options: { rollback?: boolean } = {},
): Uint8Array {
  if (!Number.isInteger(slotCount) || slotCount < 1 || slotCount > 16) {
    throw new AirflashError('OTADATA_INVALID', `slotCount ${slotCount} is not a number of OTA slots (1–16).`);
  }
  if (!Number.isInteger(slot) || slot < 0 || slot >= slotCount) {
    throw new AirflashError(
      'OTADATA_INVALID',
      `ota_${slot} does not exist: there are ${slotCount} OTA slots.`,
    );
  }
  check(bytes);
  const out = new Uint8Array(Math.max(bytes.length, OTADATA_SIZE)).fill(0xff);
  out.set(bytes);
  const state = options.rollback ? OTA_STATE.new : OTA_STATE.undefined;
  // The active entry as esp_ota_ops sees it (it does not apply the bootloader's rollback rule).
  const active = activeOtadataEntry(bytes);
  if (active === undefined) {
    writeEntry(out, 0, slot + 1, state, bytes);
    return out;
  }
  const current = readOtadata(bytes).entries[active] as OtadataEntry;
  if (((current.seq - 1) >>> 0) % slotCount === slot) {
    writeEntry(out, active, current.seq, state, bytes);
    return out;
  }
  const base = (slot + 1) % slotCount;
  let seq = base;
  if (current.seq > base) seq = base + Math.ceil((current.seq - base) / slotCount) * slotCount;
  writeEntry(out, active === 0 ? 1 : 0, seq, state, bytes);
  return out;
}

/** Rewrite the state of the active entry (e.g. VALID after the app confirms, ABORTED on rollback). */
export function setActiveOtaState(bytes: Uint8Array, state: number): Uint8Array {
  check(bytes);
  const out = new Uint8Array(bytes);
  const active = activeOtadataEntry(bytes);
  if (active === undefined) return out;
  const entry = readOtadata(bytes).entries[active] as OtadataEntry;
  writeEntry(out, active, entry.seq, state, bytes);
  return out;
}
