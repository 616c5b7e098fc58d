import { AirflashError } from '../core/errors.ts';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 * 1024,
  mb: 1024 * 1024,
  mib: 1024 * 1024,
  g: 1024 * 1024 * 1024,
  gb: 1024 * 1024 * 1024,
  gib: 1024 * 1024 * 1024,
};

/**
 * Parse a flash size as people write it: "4MB", "4M", "4MiB", "512KB", "32MB", "4194304",
 * "0x400000". Units are binary (1 MB = 1,048,576 bytes), as in esptool and the IDF. Throws
 * BAD_ARGUMENT for anything else.
 */
export function parseFlashSize(text: string): number {
  const trimmed = text.trim();
  const hex = /^0x([0-9a-f]+)$/i.exec(trimmed);
  let value: number | undefined;
  if (hex) value = Number.parseInt(hex[1] as string, 16);
  else {
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(trimmed);
    const unit = m ? UNITS[(m[2] as string).toLowerCase()] : undefined;
    if (m && unit !== undefined) value = Math.round(Number(m[1]) * unit);
  }
  if (value === undefined || !Number.isSafeInteger(value) || value <= 0) {
    throw new AirflashError('BAD_ARGUMENT', `"${text}" is not a flash size.`, {
      hint: 'Write it like 4MB, 16M, 512KB, 4194304 or 0x400000.',
    });
  }
  return value;
}

/** "4MB", "512KB", "4194304 bytes": the shortest exact way to say a flash size. */
export function formatFlashSize(bytes: number): string {
  if (bytes > 0 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}MB`;
  if (bytes > 0 && bytes % 1024 === 0) return `${bytes / 1024}KB`;
  return `${bytes} bytes`;
}
