/** Firmware files the page uploaded, kept in memory (by content) for the updates that use them. */
import { createHash } from 'node:crypto';
import type { ImageSummary } from './lib.ts';

export interface StoredImage {
  id: string;
  name: string;
  bytes: Uint8Array;
  summary: ImageSummary;
  uploadedAt: string;
}

export interface ImageView {
  id: string;
  name: string;
  uploadedAt: string;
  inspection: ImageSummary;
}

export class ImageStore {
  #images = new Map<string, StoredImage>();
  readonly maxImages: number;

  constructor(maxImages = 16) {
    this.maxImages = maxImages;
  }

  /** Keep an image; the same bytes give the same id. `inUse` ids are never evicted. */
  add(name: string, bytes: Uint8Array, summary: ImageSummary, inUse: ReadonlySet<string>): StoredImage {
    const id = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    const existing = this.#images.get(id);
    if (existing !== undefined) {
      existing.name = name;
      return existing;
    }
    const image: StoredImage = { id, name, bytes, summary, uploadedAt: new Date().toISOString() };
    this.#images.set(id, image);
    for (const old of this.#images.keys()) {
      if (this.#images.size <= this.maxImages) break;
      if (old !== id && !inUse.has(old)) this.#images.delete(old);
    }
    return image;
  }

  get(id: string): StoredImage | undefined {
    return this.#images.get(id);
  }

  list(): ImageView[] {
    return [...this.#images.values()].reverse().map(view);
  }
}

export function view(image: StoredImage): ImageView {
  return { id: image.id, name: image.name, uploadedAt: image.uploadedAt, inspection: image.summary };
}

/** A file name safe to show and log: no path, no control characters, at most 120 characters. */
export function cleanName(raw: string | undefined): string {
  const base = (raw ?? '').split(/[\\/]/).pop() ?? '';
  let out = '';
  for (const ch of base) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x20 && code !== 0x7f) out += ch;
  }
  out = out.trim().slice(0, 120);
  return out === '' ? 'firmware.bin' : out;
}
