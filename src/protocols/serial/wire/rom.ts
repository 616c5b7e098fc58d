/**
 * The ROM loader's command and response packets (esptool docs `advanced-topics/serial-protocol.rst`,
 * "Command Packet" / "Response Packet" / "Checksum"), as plain records over DataView with bounds
 * checks. All integers are little-endian.
 *   request:  u8 0x00, u8 op, u16 size, u32 checksum, data[size]
 *   response: u8 0x01, u8 op, u16 size, u32 value, data[size] (data ends in the status bytes)
 */

/** The command opcodes (serial-protocol.rst "Supported by stub loader and ROM loader" + "stub only"). */
const OP = {
  FLASH_BEGIN: 0x02,
  FLASH_DATA: 0x03,
  FLASH_END: 0x04,
  MEM_BEGIN: 0x05,
  MEM_END: 0x06,
  MEM_DATA: 0x07,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
  ERASE_FLASH: 0xd0,
  ERASE_REGION: 0xd1,
  READ_FLASH: 0xd2,
  RUN_USER_CODE: 0xd3,
} as const;

/** ROM / stub error codes (serial-protocol.rst "Status bytes"). */
const ROM_ERROR = {
  invalidMessage: 0x05,
  failedToAct: 0x06,
  invalidCrc: 0x07,
  flashWriteError: 0x08,
  flashReadError: 0x09,
  flashReadLengthError: 0x0a,
  deflateError: 0x0b,
  stubBadDataChecksum: 0xc1,
} as const;

/** The checksum seed (serial-protocol.rst "Checksum": XOR of the data bytes, seeded with 0xEF). */
const CHECKSUM_SEED = 0xef;

/** The 36-byte SYNC payload: 07 07 12 20 followed by 32 × 0x55. */
const SYNC_PAYLOAD: Uint8Array = Uint8Array.from([
  0x07,
  0x07,
  0x12,
  0x20,
  ...new Array<number>(32).fill(0x55),
]);

interface RomRequest {
  op: number;
  checksum: number;
  data: Uint8Array;
}

/** Decode one request frame; undefined when it is not one (wrong direction byte, short, size mismatch). */
function decodeRequest(frame: Uint8Array): RomRequest | undefined {
  if (frame.length < 8 || frame[0] !== 0x00) return undefined;
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const size = v.getUint16(2, true);
  if (frame.length !== 8 + size) return undefined;
  return { op: v.getUint8(1), checksum: v.getUint32(4, true), data: frame.subarray(8) };
}

/** The XOR checksum of `data` from the seed. */
function romChecksum(data: Uint8Array): number {
  let c = CHECKSUM_SEED;
  for (const b of data) c ^= b;
  return c;
}

/** A response frame payload: direction 0x01, the op, the size, `value`, then `data`. */
function encodeResponse(op: number, value: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  const v = new DataView(out.buffer);
  v.setUint8(0, 0x01);
  v.setUint8(1, op);
  v.setUint16(2, data.length, true);
  v.setUint32(4, value >>> 0, true);
  out.set(data, 8);
  return out;
}

/** The u32 words of a payload (a short tail is ignored); `count` words are required. */
function words(data: Uint8Array, count: number): number[] | undefined {
  if (data.length < count * 4) return undefined;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(v.getUint32(i * 4, true));
  return out;
}

/** A u32 little-endian in 4 bytes. */
function u32le(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, true);
  return out;
}

export {
  CHECKSUM_SEED,
  decodeRequest,
  encodeResponse,
  OP,
  ROM_ERROR,
  type RomRequest,
  romChecksum,
  SYNC_PAYLOAD,
  u32le,
  words,
};
