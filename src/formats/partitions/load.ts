import { AirflashError } from '../../core/errors.ts';
import { decodePartitionTable } from './binary.ts';
import { type CsvParseOptions, parsePartitionCsv } from './csv.ts';
import type { PartitionTable } from './types.ts';

export interface LoadPartitionOptions extends CsvParseOptions {
  md5?: boolean;
  onWarning?: (message: string) => void;
}

/** True when the bytes are a binary table (they start AA 50, gen_esp32part's test). */
export function isBinaryPartitionTable(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0xaa && bytes[1] === 0x50;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A table from a file's bytes or text, binary or CSV, decided as gen_esp32part does (AA 50 →
 * binary). CSV must be UTF-8. Not validated (see validatePartitionTable).
 */
export function loadPartitionTable(
  input: Uint8Array | string,
  options: LoadPartitionOptions = {},
): PartitionTable {
  if (typeof input === 'string') return parsePartitionCsv(input, options);
  if (isBinaryPartitionTable(input)) {
    return decodePartitionTable(input, {
      ...(options.md5 === undefined ? {} : { md5: options.md5 }),
      ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    });
  }
  let text: string;
  try {
    text = UTF8.decode(input);
  } catch {
    throw new AirflashError(
      'PARTITION_CSV',
      'The partition table is neither a binary table (AA 50) nor UTF-8 CSV text.',
      {
        hint: 'Give a partitions.csv, a partitions.bin made by gen_esp32part, or a built-in scheme name.',
      },
    );
  }
  return parsePartitionCsv(text, options);
}
