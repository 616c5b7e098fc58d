import { AirflashError } from '../core/errors.ts';

/**
 * ESP8266 flash layouts (boards.txt `eesz` menu, formats.md §6.2): flash size, FS_start, FS_end
 * (flash offsets). The sketch + OTA area runs from 0 to FS_start.
 */
export interface Esp8266FlashLayout {
  name: string;
  flashSize: number;
  fsStart: number;
  fsEnd: number;
}

const K = 1024;
const M = 1024 * 1024;

const LAYOUTS: Array<[string, number, number, number]> = [
  ['4M', 4 * M, 0x3fb000, 0x3fb000],
  ['4M1M', 4 * M, 0x300000, 0x3fa000],
  ['4M2M', 4 * M, 0x200000, 0x3fa000],
  ['4M3M', 4 * M, 0x100000, 0x3fa000],
  ['2M', 2 * M, 0x1fb000, 0x1fb000],
  ['2M64', 2 * M, 0x1f0000, 0x1fb000],
  ['2M128', 2 * M, 0x1e0000, 0x1fb000],
  ['2M256', 2 * M, 0x1c0000, 0x1fb000],
  ['2M512', 2 * M, 0x180000, 0x1fa000],
  ['2M1M', 2 * M, 0x100000, 0x1fa000],
  ['1M', 1 * M, 0xfb000, 0xfb000],
  ['1M64', 1 * M, 0xeb000, 0xfb000],
  ['1M128', 1 * M, 0xdb000, 0xfb000],
  ['1M144', 1 * M, 0xd7000, 0xfb000],
  ['1M160', 1 * M, 0xd3000, 0xfb000],
  ['1M192', 1 * M, 0xcb000, 0xfb000],
  ['1M256', 1 * M, 0xbb000, 0xfb000],
  ['1M512', 1 * M, 0x7b000, 0xfb000],
  ['8M6M', 8 * M, 0x200000, 0x7fa000],
  ['8M7M', 8 * M, 0x100000, 0x7fa000],
  ['16M14M', 16 * M, 0x200000, 0xffa000],
  ['16M15M', 16 * M, 0x100000, 0xffa000],
  ['512K', 512 * K, 0x7b000, 0x7b000],
  ['512K32', 512 * K, 0x73000, 0x7b000],
  ['512K64', 512 * K, 0x6b000, 0x7b000],
  ['512K128', 512 * K, 0x5b000, 0x7b000],
];

export const ESP8266_LAYOUT_NAMES: readonly string[] = LAYOUTS.map((l) => l[0]);

export function esp8266Layout(name: string): Esp8266FlashLayout {
  const hit = LAYOUTS.find((l) => l[0].toLowerCase() === name.trim().toLowerCase());
  if (!hit) {
    throw new AirflashError('BAD_ARGUMENT', `Unknown ESP8266 flash layout "${name}".`, {
      hint: `Use one of ${ESP8266_LAYOUT_NAMES.join(', ')} (the boards.txt "eesz" menu ids).`,
    });
  }
  return { name: hit[0], flashSize: hit[1], fsStart: hit[2], fsEnd: hit[3] };
}
