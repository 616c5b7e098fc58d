/**
 * Firmware files uploaded to the dashboard. Each upload is its own image with a random id that
 * the page (or script) that sent it holds; an update names that id, so two tabs or two people
 * cannot swap each other's firmware. The bytes are streamed to a temporary file (mode 0600, in a
 * private folder of the state folder) instead of memory, read back only while they are needed
 * (inspection, the fit check, a running update), and the file is removed when the image is
 * rejected, deleted, evicted or the dashboard closes.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { AirflashError } from '../core/errors.ts';
import { tooLarge } from './http.ts';
import type { ImageSummary } from './lib.ts';

export interface StoredImage {
  id: string;
  name: string;
  size: number;
  summary: ImageSummary;
  uploadedAt: string;
  /** Put there by the dashboard itself (the demo's sample), not by an upload. */
  preloaded: boolean;
  /** The temporary file holding the bytes. */
  path: string;
}

export interface ImageView {
  id: string;
  name: string;
  uploadedAt: string;
  preloaded: boolean;
  inspection: ImageSummary;
}

/** A body received into a temporary file, not yet an image. */
export interface ReceivedFile {
  path: string;
  size: number;
  /** The first bytes (up to 16), to tell at once whether it looks like firmware. */
  head: Uint8Array;
}

export interface ImageStoreOptions {
  /** Folder the private upload folder is made in (the state folder). */
  dir: string;
  /** Images kept at most; the oldest not used by a running update go first (default 16). */
  maxImages?: number;
  /** Image files read into memory at the same time (inspection, fit checks; default 2). */
  maxLoads?: number;
}

export class ImageStore {
  #images = new Map<string, StoredImage>();
  #dir: string | null = null;
  #parent: string;
  #pending = new Set<Promise<void>>();
  #loads = 0;
  #waiting: Array<() => void> = [];
  readonly maxImages: number;
  readonly maxLoads: number;

  constructor(options: ImageStoreOptions) {
    this.#parent = options.dir;
    this.maxImages = options.maxImages ?? 16;
    this.maxLoads = options.maxLoads ?? 2;
  }

  /** The private folder (made 0700 by mkdtemp) for this dashboard's upload files. */
  async open(): Promise<void> {
    this.#dir ??= await mkdtemp(join(this.#parent, 'uploads-'));
  }

  get dir(): string {
    if (this.#dir === null) throw new Error('ImageStore: open() first');
    return this.#dir;
  }

  #tempPath(): string {
    return join(this.dir, `${randomBytes(9).toString('hex')}.bin`);
  }

  /** Stream a request body of at most `limit` bytes into a temporary file (413 beyond it). */
  async receive(req: IncomingMessage, limit: number): Promise<ReceivedFile> {
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      throw tooLarge(limit);
    }
    const path = this.#tempPath();
    const out = createWriteStream(path, { mode: 0o600, flags: 'wx' });
    const head: number[] = [];
    let size = 0;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limit) {
          req.resume();
          throw tooLarge(limit);
        }
        for (let i = 0; i < chunk.length && head.length < 16; i += 1) head.push(chunk[i] as number);
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.end();
      await finished(out);
    } catch (error) {
      out.destroy();
      await rm(path, { force: true });
      throw error;
    }
    return { path, size, head: Uint8Array.from(head) };
  }

  /** Remove a received file that did not become an image. */
  async discard(file: ReceivedFile): Promise<void> {
    await rm(file.path, { force: true });
  }

  /** Run `fn` with a file's bytes in memory, at most `maxLoads` files at a time. */
  async withBytes<T>(path: string, fn: (bytes: Uint8Array) => T | Promise<T>): Promise<T> {
    while (this.#loads >= this.maxLoads) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#loads += 1;
    try {
      return await fn(view8(await readFile(path)));
    } finally {
      this.#loads -= 1;
      this.#waiting.shift()?.();
    }
  }

  /** The bytes of an image, for an update that holds them while it runs. */
  async bytes(image: StoredImage): Promise<Uint8Array> {
    return view8(await readFile(image.path));
  }

  /** Keep a received file as a new image. `inUse` ids are never evicted. */
  add(
    file: ReceivedFile,
    name: string,
    summary: ImageSummary,
    inUse: ReadonlySet<string>,
    preloaded = false,
  ): StoredImage {
    const image: StoredImage = {
      id: randomBytes(12).toString('base64url'),
      name,
      size: file.size,
      summary,
      uploadedAt: new Date().toISOString(),
      preloaded,
      path: file.path,
    };
    this.#images.set(image.id, image);
    for (const old of [...this.#images.values()]) {
      if (this.#images.size <= this.maxImages) break;
      if (old.id !== image.id && !inUse.has(old.id)) this.#forget(old);
    }
    return image;
  }

  /** Keep bytes the dashboard made itself (the demo's sample firmware) as an image. */
  async addBytes(name: string, bytes: Uint8Array, summary: ImageSummary): Promise<StoredImage> {
    const path = this.#tempPath();
    await writeFile(path, bytes, { mode: 0o600, flag: 'wx' });
    return this.add(
      { path, size: bytes.length, head: bytes.subarray(0, 16) },
      name,
      summary,
      new Set(),
      true,
    );
  }

  get(id: string): StoredImage | undefined {
    return this.#images.get(id);
  }

  list(): ImageView[] {
    return [...this.#images.values()].reverse().map(view);
  }

  /** Forget an image and remove its file (409 while a running update uses it). */
  delete(id: string, inUse: ReadonlySet<string>): boolean {
    const image = this.#images.get(id);
    if (image === undefined) return false;
    if (inUse.has(id)) {
      throw new AirflashError('IMAGE_IN_USE', 'A running update uses this image.', {
        hint: 'Delete it when the update ends.',
      });
    }
    this.#forget(image);
    return true;
  }

  #forget(image: StoredImage): void {
    this.#images.delete(image.id);
    const removal: Promise<void> = rm(image.path, { force: true })
      .catch(() => {})
      .finally(() => this.#pending.delete(removal));
    this.#pending.add(removal);
  }

  /** Remove every file and the private folder. */
  async close(): Promise<void> {
    this.#images.clear();
    await Promise.allSettled([...this.#pending]);
    if (this.#dir !== null) await rm(this.#dir, { recursive: true, force: true });
    this.#dir = null;
  }
}

/** A Uint8Array over a Buffer's bytes, without copying them. */
function view8(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

export function view(image: StoredImage): ImageView {
  return {
    id: image.id,
    name: image.name,
    uploadedAt: image.uploadedAt,
    preloaded: image.preloaded,
    inspection: image.summary,
  };
}

/** A file name safe to show and log: no path, no control characters, at most 120 characters. */
export function cleanName(raw: string | undefined): string {
  const base = (raw ?? '').split(/[\\/]/).pop() ?? '';
  let out = '';
  for (const ch of base) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x20 && code !== 0x7f && !(code >= 0x80 && code <= 0x9f)) out += ch;
  }
  out = out.trim().slice(0, 120);
  return out === '' ? 'firmware.bin' : out;
}
