import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { AirflashError } from '../errors.ts';
import { throwIfAborted } from '../util/abort.ts';
import { type ClosableImageSource, closableBytes, openImageFile } from './image-file.ts';

/** Read size of the file stream: large enough to be fast, small enough for a flat memory profile. */
export const CHUNK_SIZE = 64 * 1024;
const HEAD_SIZE = 64 * 1024;

export interface PreparedImage {
  /** The path given by the user (for the espota-style cnonce). */
  path?: string;
  /** The path actually read (`.signed` substitution). */
  sentPath?: string;
  size: number;
  md5: string;
  head: Uint8Array;
  compressed: boolean;
  signedSubstituted: boolean;
  /** The image as built (before gzip), whole in memory: prefer `openOriginal`. */
  readOriginal(): Promise<Uint8Array>;
  /** The image as built (before gzip) for bounded reads; the caller closes it. */
  openOriginal(): Promise<ClosableImageSource>;
  /** A fresh stream of the bytes to send (each call starts at the beginning). */
  open(): (AsyncIterable<Uint8Array> | Iterable<Uint8Array>) & { destroy?: () => void };
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

function* chunksOf(data: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < data.length; i += CHUNK_SIZE)
    yield data.subarray(i, Math.min(data.length, i + CHUNK_SIZE));
}

function fromBytes(
  data: Uint8Array,
  extra: { path?: string; sentPath?: string; compressed: boolean; signedSubstituted: boolean },
  original: Uint8Array,
): PreparedImage {
  return {
    ...extra,
    readOriginal: async () => original,
    openOriginal: async () => closableBytes(original),
    size: data.length,
    md5: createHash('md5').update(data).digest('hex'),
    head: data.subarray(0, HEAD_SIZE),
    open: () => chunksOf(data),
  };
}

export interface PrepareOptions {
  file?: string | undefined;
  data?: Uint8Array | undefined;
  compress?: boolean | undefined;
  /** Substitute `FILE.signed` when it exists. */
  useSigned?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Hash the image in one streaming pass (the file is then streamed again from disk while it is
 * sent, so memory stays flat for any size). With `compress` the gzip output is kept in memory
 * (ESP8266 images are small).
 */
export async function prepareImage(options: PrepareOptions): Promise<PreparedImage> {
  throwIfAborted(options.signal);
  if (options.data !== undefined) {
    if (options.file !== undefined)
      throw new AirflashError('BAD_ARGUMENT', 'Give either a file or image bytes, not both.');
    const data = options.compress ? gzipSync(options.data, { level: 9 }) : options.data;
    return fromBytes(data, { compressed: options.compress === true, signedSubstituted: false }, options.data);
  }
  const path = options.file;
  if (path === undefined || path === '')
    throw new AirflashError('BAD_ARGUMENT', 'No image file given.', {
      hint: 'Pass the firmware with -f FILE (e.g. -f .pio/build/esp32dev/firmware.bin).',
    });
  let sentPath = path;
  let signedSubstituted = false;
  if (options.useSigned && (await fileSize(`${path}.signed`)) !== undefined) {
    sentPath = `${path}.signed`;
    signedSubstituted = true;
  }
  const size = await fileSize(sentPath);
  if (size === undefined)
    throw new AirflashError(
      'FILE_NOT_FOUND',
      `The image file "${sentPath}" does not exist or is not a file.`,
      {
        hint: 'Check the path; build the project first (PlatformIO: pio run; Arduino: Sketch > Export compiled binary).',
      },
    );
  if (options.compress) return compressFile({ path, sentPath, signedSubstituted, signal: options.signal });
  const hash = createHash('md5');
  const head: Uint8Array[] = [];
  let headLength = 0;
  let total = 0;
  const stream = createReadStream(sentPath, {
    highWaterMark: CHUNK_SIZE,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      total += chunk.length;
      if (headLength < HEAD_SIZE) {
        const part = chunk.subarray(0, HEAD_SIZE - headLength);
        head.push(Buffer.from(part));
        headLength += part.length;
      }
    }
  } catch (error) {
    throwIfAborted(options.signal);
    throw new AirflashError('FILE_NOT_FOUND', `Cannot read "${sentPath}": ${(error as Error).message}`, {
      cause: error,
      hint: 'Check the file permissions.',
    });
  } finally {
    stream.destroy();
  }
  if (total !== size)
    throw new AirflashError(
      'BAD_ARGUMENT',
      `"${sentPath}" changed while it was read (${size} → ${total} bytes).`,
      {
        hint: 'Wait for the build to finish, then upload again.',
      },
    );
  const md5 = hash.digest('hex');
  return {
    path,
    sentPath,
    size,
    md5,
    head: Buffer.concat(head),
    compressed: false,
    signedSubstituted,
    readOriginal: async () => readFile(sentPath),
    openOriginal: () => openImageFile(sentPath),
    open: () => createReadStream(sentPath, { highWaterMark: CHUNK_SIZE }),
  };
}

/**
 * gzip a file as it is read: only the compressed output is held (what is sent; an ESP8266 image
 * compresses to about half of its ≤ 1 MiB), never the raw file as well.
 */
async function compressFile(file: {
  path: string;
  sentPath: string;
  signedSubstituted: boolean;
  signal: AbortSignal | undefined;
}): Promise<PreparedImage> {
  const { sentPath, signal } = file;
  const parts: Buffer[] = [];
  const input = createReadStream(sentPath, { highWaterMark: CHUNK_SIZE, ...(signal ? { signal } : {}) });
  const gzip = createGzip({ level: 9 });
  try {
    const done = (async () => {
      for await (const chunk of gzip as AsyncIterable<Buffer>) parts.push(chunk);
    })();
    for await (const chunk of input as AsyncIterable<Buffer>) {
      if (!gzip.write(chunk)) await new Promise((r) => gzip.once('drain', r));
    }
    gzip.end();
    await done;
  } catch (error) {
    throwIfAborted(signal);
    throw new AirflashError('FILE_NOT_FOUND', `Cannot read "${sentPath}": ${(error as Error).message}`, {
      cause: error,
      hint: 'Check the file permissions.',
    });
  } finally {
    input.destroy();
    gzip.destroy();
  }
  const data = Buffer.concat(parts);
  return {
    path: file.path,
    sentPath,
    size: data.length,
    md5: createHash('md5').update(data).digest('hex'),
    head: data.subarray(0, HEAD_SIZE),
    compressed: true,
    signedSubstituted: file.signedSubstituted,
    readOriginal: async () => readFile(sentPath),
    openOriginal: () => openImageFile(sentPath),
    open: () => chunksOf(data),
  };
}
