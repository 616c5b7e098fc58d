/**
 * An image file as an ImageSource: bounded positional reads from one file handle, so inspecting
 * or pre-flighting a file of any size keeps memory flat (the inspector reads the header, the
 * segment table and the app descriptor where they are, and hashes ranges in 64 KiB chunks).
 */
import { readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { AirflashError } from '../core/errors.ts';
// The modules themselves, not the formats barrel (which also loads the image builders).
import { inspectImage } from '../formats/image/inspect.ts';
import { bytesSource, type ImageSource, SOURCE_CHUNK } from '../formats/image/source.ts';
import type { ImageInfo } from '../formats/image/types.ts';

export interface ClosableImageSource extends ImageSource {
  close(): Promise<void>;
}

/** An in-memory image with the same interface (close does nothing). */
export function closableBytes(bytes: Uint8Array): ClosableImageSource {
  const source = bytesSource(bytes);
  return { size: source.size, read: source.read, close: async () => {} };
}

/** Open `path` for bounded reads. FILE_NOT_FOUND when it cannot be opened or is not a file. */
export async function openImageFile(path: string): Promise<ClosableImageSource> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new AirflashError('FILE_NOT_FOUND', `Cannot read "${path}": ${(error as Error).message}`, {
      cause: error,
      hint: 'Check the path; PlatformIO writes .pio/build/<env>/firmware.bin, Arduino <sketch>.ino.bin.',
    });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile())
      throw new AirflashError('FILE_NOT_FOUND', `"${path}" is not a file.`, {
        hint: 'Pass the firmware .bin file, not a folder.',
      });
    const size = stats.size;
    const fd = handle.fd;
    /** Fill `buffer` from `position`; fewer bytes only where the file ends. */
    const fill = (buffer: Uint8Array, n: number, position: number): number => {
      let got = 0;
      while (got < n) {
        const r = readSync(fd, buffer, got, n - got, position + got);
        if (r === 0) break;
        got += r;
      }
      return got;
    };
    const scratch = new Uint8Array(SOURCE_CHUNK);
    return {
      size,
      read(offset, length) {
        const start = Math.max(0, offset);
        const n = Math.max(0, Math.min(size, offset + length) - start);
        const buffer = new Uint8Array(n);
        return buffer.subarray(0, fill(buffer, n, start));
      },
      scan(start, end, fn) {
        for (let at = Math.max(0, start); at < Math.min(end, size); ) {
          const got = fill(scratch, Math.min(SOURCE_CHUNK, Math.min(end, size) - at), at);
          if (got === 0) return;
          fn(scratch.subarray(0, got));
          at += got;
        }
      },
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** `inspectImage` on a file, reading only what it needs (the handle is closed in every case). */
export async function inspectImageFile(path: string): Promise<ImageInfo> {
  const source = await openImageFile(path);
  try {
    return inspectImage(source);
  } finally {
    await source.close();
  }
}
