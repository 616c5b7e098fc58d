/**
 * What an emulated chip's ROM shows through READ_REG and GET_SECURITY_INFO: the chip-detect magic
 * word, the eFuse words esptool reads for the description, features and MAC, the UART clock
 * divider (the crystal), and the SPI peripheral registers esptool's RDID sequence goes through.
 * Addresses and bit positions follow esptool-js 0.7.0 `src/targets/{esp32,esp8266,esp32s3}.ts`
 * (docs/emulator.md "Serial ROM loader" lists each).
 */

type SerialChip = 'esp32' | 'esp8266' | 'esp32s3';

interface ChipModel {
  chip: SerialChip;
  /** Printed by the ROM when it boots the app instead of waiting for download. */
  bootLog: string;
  /** Status bytes at the end of a ROM response (ESP8266 ROM 2; ESP32 family ROMs 4). */
  romStatusBytes: 2 | 4;
  /** A ROM that knows FLASH_DEFL_* (the ESP8266 ROM does not). */
  romDeflate: boolean;
  /** GET_SECURITY_INFO answer (20 bytes) where the ROM has the command. */
  securityInfo?: Uint8Array;
  /** Constant registers. */
  registers: ReadonlyMap<number, number>;
  /** UART clock divider register and crystal × divider factor (clkdiv = xtalHz × factor / baud). */
  uartClkdivReg: number;
  xtalHz: number;
  xtalFactor: number;
  /** SPI peripheral: base and the offsets esptool uses. */
  spi: { base: number; usr2: number; w0: number };
}

const MAGIC_REG = 0x40001000;

/** A 6-byte MAC (aa:bb:cc:dd:ee:ff) as the two eFuse words ESP32 chips keep it in. */
function esp32MacWords(mac: readonly number[]): [number, number] {
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0] = mac;
  return [((c << 24) | (d << 16) | (e << 8) | f) >>> 0, ((a << 8) | b) >>> 0];
}

function esp32(mac: readonly number[]): ChipModel {
  const [mac0, mac1] = esp32MacWords(mac);
  const efuse = 0x3ff5a000;
  return {
    chip: 'esp32',
    bootLog: 'rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n',
    romStatusBytes: 4,
    romDeflate: true,
    registers: new Map([
      [MAGIC_REG, 0x00f01d83],
      [efuse + 4 * 1, mac0],
      [efuse + 4 * 2, mac1],
      // word 3: package D0WD (bits 9–11 = 1), revision bit 0 (bit 15), dual core, BT enabled
      [efuse + 4 * 3, (1 << 9) | (1 << 15)],
      // word 5: revision bit 1 (bit 20); APB_CTRL_DATE bit 31: revision bit 2 ⇒ revision 3 (V3)
      [efuse + 4 * 5, 1 << 20],
      [0x3ff66000 + 0x7c, 0x80000000],
    ]),
    uartClkdivReg: 0x3ff40014,
    xtalHz: 40_000_000,
    xtalFactor: 1,
    spi: { base: 0x3ff42000, usr2: 0x24, w0: 0x80 },
  };
}

function esp8266(mac: readonly number[]): ChipModel {
  const [, , , d = 0, e = 0, f = 0] = mac;
  const efuse = 0x3ff00050;
  return {
    chip: 'esp8266',
    bootLog: '\r\n ets Jan  8 2013,rst cause:2, boot mode:(3,6)\r\n',
    romStatusBytes: 2,
    romDeflate: false,
    registers: new Map([
      [MAGIC_REG, 0xfff0c101],
      // efuse0 bits 24–31: MAC byte 5; efuse1: OUI selector 0 (18:fe:34) in bits 16–23, bytes 3–4
      [efuse + 0, (f << 24) >>> 0],
      [efuse + 4, (d << 8) | e],
    ]),
    uartClkdivReg: 0x60000014,
    xtalHz: 26_000_000,
    xtalFactor: 2,
    spi: { base: 0x60000200, usr2: 0x24, w0: 0x40 },
  };
}

function esp32s3(mac: readonly number[]): ChipModel {
  const [mac0, mac1] = esp32MacWords(mac);
  const block1 = 0x60007000 + 0x44;
  const security = new Uint8Array(20);
  // flags 0 (no secure boot, no secure download mode), crypt count 0, key purposes 0, chip id 9
  new DataView(security.buffer).setUint32(12, 9, true);
  return {
    chip: 'esp32s3',
    bootLog: 'ESP-ROM:esp32s3-20210327\r\nrst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n',
    romStatusBytes: 4,
    romDeflate: true,
    securityInfo: security,
    registers: new Map([
      [MAGIC_REG, 0x00000009],
      [block1, mac0],
      [block1 + 4, mac1],
      // block1 word 3: minor revision low bits (18–20) = 2 ⇒ v0.2, package 0 (QFN56), no embedded flash
      [block1 + 4 * 3, 2 << 18],
    ]),
    uartClkdivReg: 0x60000014,
    xtalHz: 40_000_000,
    xtalFactor: 1,
    spi: { base: 0x60002000, usr2: 0x20, w0: 0x58 },
  };
}

/** The model of `chip` with the given MAC. */
function chipModel(chip: SerialChip, mac: readonly number[]): ChipModel {
  if (chip === 'esp8266') return esp8266(mac);
  if (chip === 'esp32s3') return esp32s3(mac);
  return esp32(mac);
}

/** The JEDEC RDID answer of a flash of `size` bytes: manufacturer, memory type, capacity = log2(size). */
function flashIdFor(size: number): number {
  const capacity = Math.round(Math.log2(size));
  return (0xef | (0x40 << 8) | (capacity << 16)) >>> 0;
}

export { type ChipModel, chipModel, flashIdFor, MAGIC_REG, type SerialChip };
