/**
 * Inspection through bounded reads (issue 12): a file source gives the same verdict as the bytes
 * in memory, no single read is larger than SOURCE_CHUNK, a file that is not an image is judged
 * from its first bytes only, and the digit grouping needs no ICU formatter.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  blankOtadata,
  buildEsp32App,
  buildEsp8266Sketch,
  buildMergedImage,
  builtinPartitionTable,
  bytesSource,
  bytesText,
  encodePartitionTable,
  type ImageSource,
  inspectImage,
  type PartitionTable,
  SOURCE_CHUNK,
} from '../src/formats/index.ts';
import { prepareImage } from '../src/upload/image.ts';
import { inspectImageFile, openImageFile } from '../src/upload/image-file.ts';

const samples: Record<string, Uint8Array> = {
  app: buildEsp32App({ chip: 'esp32s3', size: 300_000, seed: 4 }),
  sketch: buildEsp8266Sketch({ size: 200_000, seed: 4 }),
  gzip: new Uint8Array(gzipSync(buildEsp8266Sketch({ size: 50_000, seed: 4 }))),
  merged: buildMergedImage({ chip: 'esp32', flashSize: 0x100000 }),
  table: encodePartitionTable(builtinPartitionTable('default') as PartitionTable),
  otadata: blankOtadata(),
  random: new Uint8Array(randomBytes(100_000)).map((b, i) => (i === 0 ? 0x33 : b)),
};

/** A source that records every read. */
function counting(bytes: Uint8Array): ImageSource & { reads: number[] } {
  const inner = bytesSource(bytes);
  const reads: number[] = [];
  return {
    size: inner.size,
    reads,
    read(offset, length) {
      const out = inner.read(offset, length);
      reads.push(out.length);
      return out;
    },
  };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airflash-stream-'));
  for (const [name, bytes] of Object.entries(samples)) await writeFile(join(dir, name), bytes);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('image inspection through bounded reads', () => {
  for (const name of Object.keys(samples)) {
    it(`${name}: the file source gives the same inspection as the bytes`, async () => {
      const bytes = samples[name] as Uint8Array;
      assert.deepEqual(await inspectImageFile(join(dir, name)), inspectImage(bytes));
    });
  }

  it('no read is larger than SOURCE_CHUNK (except a gzip, bounded by MAX_GZIP_INPUT)', () => {
    for (const name of ['app', 'sketch', 'merged', 'table', 'otadata', 'random']) {
      const source = counting(samples[name] as Uint8Array);
      inspectImage(source);
      assert.ok(Math.max(...source.reads) <= SOURCE_CHUNK, `${name}: ${Math.max(...source.reads)}`);
    }
  });

  it('a large file that is not an image is judged from a few 4 KiB windows, whatever its size', () => {
    const big = new Uint8Array(8 * 1024 * 1024).fill(0x41);
    big[0] = 0x00;
    const source = counting(big);
    const info = inspectImage(source);
    assert.equal(info.kind, 'unknown');
    const total = source.reads.reduce((a, b) => a + b, 0);
    assert.ok(total <= 16 * 1024, `read ${total} bytes`);
  });

  it('a file that shrinks after it was opened gives IMAGE_TRUNCATED, not a crash', async () => {
    const path = join(dir, 'shrinks.bin');
    await writeFile(path, samples['app'] as Uint8Array);
    const source = await openImageFile(path);
    try {
      await writeFile(path, (samples['app'] as Uint8Array).subarray(0, 100));
      assert.throws(
        () => inspectImage(source),
        (e: unknown) => (e as { code?: string }).code === 'IMAGE_TRUNCATED',
      );
    } finally {
      await source.close();
    }
  });

  it('a folder is FILE_NOT_FOUND', async () => {
    await assert.rejects(
      openImageFile(dir),
      (e: unknown) => (e as { code?: string }).code === 'FILE_NOT_FOUND',
    );
  });

  it('--compress streams the file through gzip; the pre-flight reads the original by bounded reads', async () => {
    const path = join(dir, 'sketch');
    const prepared = await prepareImage({ file: path, compress: true });
    assert.equal(prepared.compressed, true);
    assert.deepEqual(new Uint8Array(prepared.head.subarray(0, 2)), new Uint8Array([0x1f, 0x8b]));
    const original = await prepared.openOriginal();
    try {
      assert.equal(original.size, (samples['sketch'] as Uint8Array).length);
      assert.equal(inspectImage(original).kind, 'esp8266-sketch');
    } finally {
      await original.close();
    }
  });
});

describe('bytesText', () => {
  it('groups digits exactly as toLocaleString("en-US") does for integers', () => {
    const values = [0, 1, 12, 999, 1000, 1001, 12_345, 999_999, 1_000_000, 1_310_720, 1_044_464, -1, -1234];
    for (let n = 1; n < 1e15; n *= 7) values.push(n, n + 1, -n);
    for (const n of values) assert.equal(bytesText(n), n.toLocaleString('en-US'), String(n));
  });
});
