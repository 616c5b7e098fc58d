/**
 * The faults of the emulated ROM loader (docs/emulator.md "Serial ROM loader: faults"):
 * - `no-download-mode`: the chip boots the app (prints its boot log) and never answers a SYNC;
 * - `drop-byte`: one byte of the `atReply`-th reply frame is lost on the wire;
 * - `lost-reply`: the reply to the `atBlock`-th flash data block never comes;
 * - `write-error`: every flash data block from the `atBlock`-th on fails with the flash write error 0x08;
 * - `reset-mid-write`: the board resets after the `atBlock`-th block (boot log, then silence).
 */
const SERIAL_FAULT_KINDS = [
  'no-download-mode',
  'drop-byte',
  'lost-reply',
  'write-error',
  'reset-mid-write',
] as const;

type SerialFaultKind = (typeof SERIAL_FAULT_KINDS)[number];

interface SerialFault {
  kind: SerialFaultKind;
  /** For the flash faults: the data block it hits (1 = the first block; default 1). */
  atBlock?: number;
  /** For `drop-byte`: the reply frame it hits (1 = the first; default 1). */
  atReply?: number;
}

export { SERIAL_FAULT_KINDS, type SerialFault, type SerialFaultKind };
