import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { throwIfAborted } from '../core/abort.ts';
import { AirflashError } from '../core/errors.ts';
import type { PreparedImage } from '../protocols/types.ts';
import { closableBytes, openImageFile } from './image-file.ts';

/** Read size of the file stream: large enough to be fast, small enough for a flat memory profile. */
export const CHUNK_SIZE = 64 * 1024;
const HEAD_SIZE = 64 * 1024;

export type { PreparedImage };

/** Read `path` front to back through one reused buffer; returns the byte count. */
async function scanFile(
  path: string,
  signal: AbortSignal | undefined,
  fn: (chunk: Uint8Array, at: number) => void,
): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(CHUNK_SIZE);
    let at = 0;
    for (;;) {
      throwIfAborted(signal);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
      if (bytesRead === 0) return at;
      fn(buffer.subarray(0, bytesRead), at);
      at += bytesRead;
    }
  } finally {
    await handle.close();
  }
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
    // node:zlib only when compressing (an ESP8266 option): a plain upload never loads it.
    const data = options.compress
      ? (await import('node:zlib')).gzipSync(options.data, { level: 9 })
      : options.data;
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
  const head = new Uint8Array(Math.min(HEAD_SIZE, size));
  let total = 0;
  try {
    // One reused buffer: hashing a large image allocates nothing per chunk (flat RSS).
    total = await scanFile(sentPath, options.signal, (chunk, at) => {
      hash.update(chunk);
      if (at < head.length) head.set(chunk.subarray(0, head.length - at), at);
    });
  } catch (error) {
    throwIfAborted(options.signal);
    throw new AirflashError('FILE_NOT_FOUND', `Cannot read "${sentPath}": ${(error as Error).message}`, {
      cause: error,
      hint: 'Check the file permissions.',
    });
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
    head: head.subarray(0, Math.min(head.length, total)),
    compressed: false,
    signedSubstituted,
    readOriginal: async () => readFile(sentPath),
    openOriginal: () => openImageFile(sentPath),
    open: () => fileChunks(sentPath),
  };
}

/** Buffers in the ring of `fileChunks`: a chunk stays valid while the next RING − 1 are read. */
export const CHUNK_RING = 4;

/**
 * The file as 64 KiB chunks read into a ring of CHUNK_RING reused buffers, so sending a large
 * image allocates nothing per chunk. A consumer may hold a chunk only until it has pulled
 * CHUNK_RING − 1 more: the transfer writes one chunk and waits for the socket to drain before it
 * pulls the next, so at most one is in flight.
 */
function fileChunks(path: string): AsyncIterable<Uint8Array> & { destroy: () => void } {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  let closed = false;
  const close = (): void => {
    closed = true;
    void handle?.close().catch(() => {});
    handle = undefined;
  };
  return {
    destroy: close,
    async *[Symbol.asyncIterator]() {
      handle = await open(path, 'r');
      const ring = Array.from({ length: CHUNK_RING }, () => new Uint8Array(CHUNK_SIZE));
      try {
        for (let at = 0, i = 0; !closed && handle !== undefined; i = (i + 1) % CHUNK_RING) {
          const buffer = ring[i] as Uint8Array;
          const { bytesRead } = await handle.read(buffer, 0, CHUNK_SIZE, at);
          if (bytesRead === 0) return;
          at += bytesRead;
          yield buffer.subarray(0, bytesRead);
        }
      } finally {
        close();
      }
    },
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
  const { createGzip } = await import('node:zlib');
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
