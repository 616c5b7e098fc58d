/**
 * Every size limit of the pre-flight at its exact value and one more (issue 12): the OTA slot
 * (1,310,720 bytes in the default scheme), the filesystem partition, the ESP8266 sketch window
 * (1,044,464 bytes) and the flash size (the ESP8266 header's and the partition table's end).
 * Catches "refuses exactly the slot size" and "lets through up to 4 KiB too big".
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AirflashError } from '../src/core/errors.ts';
import {
  buildEsp32App,
  buildEsp8266Sketch,
  builtinPartitionTable,
  ESP8266_MAX_SKETCH,
  type PartitionTable,
  type PreflightInput,
  preflight,
} from '../src/formats/index.ts';

const table = (name: string): PartitionTable => builtinPartitionTable(name) as PartitionTable;
const SLOT = 1_310_720;

function code(input: PreflightInput): string {
  try {
    preflight(input);
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof AirflashError, String(error));
    return error.code;
  }
}

/** `image` with `extra` bytes appended (trailing bytes are only a warning). */
function grow(image: Uint8Array, extra: number): Uint8Array {
  const out = new Uint8Array(image.length + extra);
  out.set(image);
  return out;
}

describe('pre-flight size boundaries', () => {
  const exact = buildEsp32App({ size: SLOT, seed: 5 });
  const known = { core: 'esp32' as const, partitions: table('default') };

  it('the default OTA slot: exactly 1,310,720 bytes passes, one byte more is refused', () => {
    assert.equal(exact.length, SLOT);
    assert.equal(code({ image: exact, command: 'firmware', target: known }), 'ok');
    for (const extra of [1, 16, 4096]) {
      assert.equal(
        code({ image: grow(exact, extra), command: 'firmware', target: known }),
        'PREFLIGHT_TOO_BIG',
        `${extra} bytes over the slot`,
      );
    }
    const smaller = buildEsp32App({ size: SLOT - 16, seed: 5 });
    assert.equal(code({ image: smaller, command: 'firmware', target: known }), 'ok');
  });

  it('the slot limit is reported exactly: maxSize and the byte count over it', () => {
    const r = preflight({ image: exact, command: 'firmware', target: known });
    assert.equal(r.maxSize, SLOT);
    assert.ok(!r.warnings.some((w) => w.code.startsWith('too_big')));
    try {
      preflight({ image: grow(exact, 1), command: 'firmware', target: known });
      assert.fail('expected PREFLIGHT_TOO_BIG');
    } catch (error) {
      assert.ok(error instanceof AirflashError);
      assert.deepEqual(error.data, { size: SLOT + 1, maxSize: SLOT });
      assert.match(error.message, /: 1 bytes too many/);
    }
  });

  it('an assumed table: exact gives no size warning, one byte more warns', () => {
    const assumed = { ...known, partitionsAssumed: true };
    const atLimit = preflight({ image: exact, command: 'firmware', target: assumed });
    assert.ok(!atLimit.warnings.some((w) => w.code === 'too_big_assumed'));
    const over = preflight({ image: grow(exact, 1), command: 'firmware', target: assumed });
    assert.ok(over.warnings.some((w) => w.code === 'too_big_assumed'));
  });

  it('every slot of the built-in schemes: exact passes, +1 refused', () => {
    for (const scheme of ['min_spiffs', 'no_fs', 'default_16MB']) {
      const t = table(scheme);
      const slot = (preflight({
        image: buildEsp32App({ size: 4096 }),
        command: 'firmware',
        target: { partitions: t },
      }).maxSize ?? 0) as number;
      assert.ok(slot > 0, scheme);
      const image = buildEsp32App({ size: slot, seed: 9 });
      assert.equal(code({ image, command: 'firmware', target: { partitions: t } }), 'ok', scheme);
      assert.equal(
        code({ image: grow(image, 1), command: 'firmware', target: { partitions: t } }),
        'PREFLIGHT_TOO_BIG',
        scheme,
      );
    }
  });

  it('the filesystem partition (default: 0x160000): exact passes without a size warning, +1 refused', () => {
    const fs = new Uint8Array(0x160000).fill(0xff);
    const r = preflight({ image: fs, command: 'filesystem', target: known });
    assert.equal(r.maxSize, 0x160000);
    assert.ok(!r.warnings.some((w) => w.code === 'fs_size_differs'));
    assert.equal(code({ image: grow(fs, 1), command: 'filesystem', target: known }), 'PREFLIGHT_TOO_BIG');
  });

  it('the ESP8266 sketch window: 1,044,464 bytes gives no warning, one byte more warns', () => {
    assert.equal(ESP8266_MAX_SKETCH, 1_044_464);
    const atLimit = buildEsp8266Sketch({ size: ESP8266_MAX_SKETCH, seed: 2 });
    assert.equal(atLimit.length, ESP8266_MAX_SKETCH);
    const limitWarnings = (image: Uint8Array): number =>
      preflight({ image, command: 'firmware', target: { core: 'esp8266' } }).warnings.filter(
        (w) => w.code === 'esp8266_sketch_limit',
      ).length;
    assert.equal(limitWarnings(atLimit), 0);
    assert.equal(limitWarnings(grow(atLimit, 1)), 1);
    assert.equal(limitWarnings(buildEsp8266Sketch({ size: ESP8266_MAX_SKETCH + 16, seed: 2 })), 1);
  });

  it('ESP8266 flash size: a header for exactly the device flash passes, one byte less flash refuses', () => {
    const sketch = buildEsp8266Sketch({ size: 0x3000, flashSize: '4MB' });
    const target = (flashSize: number) => ({ core: 'esp8266' as const, flashSize });
    assert.equal(code({ image: sketch, command: 'firmware', target: target(4 << 20) }), 'ok');
    assert.equal(
      code({ image: sketch, command: 'firmware', target: target((4 << 20) - 1) }),
      'PREFLIGHT_WRONG_CHIP',
    );
    assert.equal(code({ image: sketch, command: 'firmware', target: target(8 << 20) }), 'ok');
  });

  it('ESP32 flash size: a table ending exactly at the flash end passes, one byte less flash refuses', () => {
    const image = buildEsp32App({ size: 4096 });
    const at = (flashSize: number) => code({ image, command: 'firmware', target: { ...known, flashSize } });
    assert.equal(at(4 << 20), 'ok');
    assert.equal(at((4 << 20) - 1), 'PREFLIGHT_NO_OTA');
  });
});
