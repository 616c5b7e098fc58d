import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { esp32ImageInfo } from '../src/emulator/board/image-check.ts';
import { buildEsp32App, buildEspImage, inspectImage, walkEspImage } from '../src/formats/index.ts';

/** Re-seal an edited ESP32 image: XOR checksum and appended SHA-256, as esptool writes them. */
function reseal(image: Uint8Array, checksumAt: number): void {
  let x = 0xef;
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  for (let pos = 24, i = 0; i < (image[1] as number); i += 1) {
    const len = view.getUint32(pos + 4, true);
    for (let j = pos + 8; j < pos + 8 + len; j += 1) x ^= image[j] as number;
    pos += 8 + len;
  }
  image[checksumAt] = x;
  image.set(
    createHash('sha256')
      .update(image.subarray(0, checksumAt + 1))
      .digest(),
    checksumAt + 1,
  );
}

describe('the one ESP image walker', () => {
  it('walkEspImage gives the inspector its header, segments, checksum and SHA-256', () => {
    const app = buildEsp32App({ size: 16 * 1024, seed: 5 });
    const walked = walkEspImage(app, 0, 'esp32');
    assert.deepEqual(walked, inspectImage(app).image);
    assert.equal(walked.length, app.length);
    assert.equal(walked.checksum.ok, true);
    assert.equal(walked.sha256?.ok, true);
  });

  it('a segment past the end is IMAGE_TRUNCATED naming the segment', () => {
    const app = buildEsp32App({ size: 8 * 1024, seed: 2 });
    assert.throws(
      () => walkEspImage(app.subarray(0, 100), 0, 'esp32'),
      (e: { code?: string; data?: Record<string, unknown> }) =>
        e.code === 'IMAGE_TRUNCATED' && e.data?.['segment'] === 0,
    );
  });
});

describe("the emulator's image check, judged on the walker's results (formats.md §4.8)", () => {
  const app = buildEsp32App({ size: 8 * 1024, seed: 9 });
  const { checksum, sha256 } = walkEspImage(app, 0, 'esp32');
  const partition = (bytes: Uint8Array, size = 16 * 1024): Uint8Array => {
    const out = new Uint8Array(size).fill(0xff);
    out.set(bytes.subarray(0, size));
    return out;
  };

  it('accepts an intact app in a larger partition and gives its length', () => {
    assert.deepEqual(esp32ImageInfo(partition(app)), { ok: true, length: app.length });
  });

  it("refuses with esp_image's reasons, in its order", () => {
    const reason = (bytes: Uint8Array, chipId?: number): string | undefined =>
      esp32ImageInfo(bytes, chipId).reason;
    const edit = (f: (b: Uint8Array) => void): Uint8Array => {
      const b = partition(app);
      f(b);
      return b;
    };
    assert.equal(reason(edit((b) => (b[0] = 0xe8))), 'invalid magic byte (0xe8)');
    assert.equal(reason(app.subarray(0, 20)), 'invalid magic byte (0xe9)');
    assert.equal(reason(edit((b) => (b[1] = 17))), 'too many segments (17)');
    assert.equal(reason(app.subarray(0, 28)), 'segment header beyond the partition');
    assert.equal(reason(app.subarray(0, 200)), 'segment 0 beyond the partition');
    assert.equal(reason(app.subarray(0, checksum.offset)), 'image longer than the partition');
    assert.equal(reason(app.subarray(0, checksum.offset + 10)), 'image longer than the partition');
    assert.equal(reason(partition(app), 2), 'mismatch chip ID, expected 2, found 0');
    const badSum = edit((b) => (b[checksum.offset] = (checksum.computed ^ 1) & 0xff));
    assert.equal(reason(badSum), `checksum failed (0x${checksum.computed.toString(16)} calculated)`);
    const hashAt = (sha256?.offset ?? 0) + 3;
    const badHash = edit((b) => (b[hashAt] = (b[hashAt] as number) ^ 0x10));
    assert.equal(reason(badHash), 'image hash failed - image is corrupt');
    // A resealed edit is a valid image again: the check follows the bytes, not the builder.
    const resealed = edit((b) => (b[40] = (b[40] as number) ^ 0xff));
    reseal(resealed, checksum.offset);
    assert.equal(esp32ImageInfo(resealed).ok, true);
  });

  it('the length is reported for chip, checksum and hash failures, 0 when the layout breaks', () => {
    assert.equal(esp32ImageInfo(partition(app), 5).length, app.length);
    assert.equal(esp32ImageInfo(app.subarray(0, 200)).length, 0);
    const odd = buildEspImage({
      family: 'esp32',
      segments: [{ load: 0x3ffb0000, length: 64 }],
      hashAppended: false,
    });
    assert.deepEqual(esp32ImageInfo(partition(odd)), { ok: true, length: odd.length });
  });
});
