/**
 * `npm run bench:serial`: the USB serial path at 921600 baud (modelled by the ROM-loader emulator
 * as a byte rate of baud ÷ 10) on a socat pty with serialport's native binding: a 1 MiB app
 * written (compressed) and verified by MD5, timed from the start of the write to the end of the
 * verify, against the bound 1.1 × (compressed size ÷ byte rate + the modelled flash erase and
 * program time). Also the compression ratio of a real ESP-IDF image (bench/fixtures/).
 * Prints one JSON line per measure; exits 1 when the bound is missed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { TIMING_MODEL } from '../src/emulator/board/timing.ts';
import { startSerialDevice } from '../src/emulator/serial/rom-device.ts';
import { buildEspImage } from '../src/formats/index.ts';
import { flashSerial } from '../src/protocols/serial/index.ts';
import { ptyPair } from '../test/helpers/pty.ts';

const BAUD = 921600;
const MiB = 1024 * 1024;
const real = new Uint8Array(readFileSync(join(import.meta.dirname, 'fixtures', 'esp_idf_blink_esp32s2.bin')));
const ratio = (b: Uint8Array): number => deflateSync(b, { level: 9 }).length / b.length;
console.log(
  JSON.stringify({
    measure: 'compression',
    image: 'esp_idf_blink_esp32s2.bin',
    bytes: real.length,
    compressed: Math.round(ratio(real) * real.length),
    ratio: Number(ratio(real).toFixed(3)),
  }),
);

// A 1 MiB ESP32 app: two segments (DROM, IROM) filled with the real image's bytes (deflate's
// 32 KiB window sees no repeat of a 182 KB run, so the ratio stays the real image's).
const fill = (n: number): Uint8Array => {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += real.length) out.set(real.subarray(0, Math.min(real.length, n - at)), at);
  return out;
};
const body = buildEspImage({
  family: 'esp32',
  chip: 'esp32',
  segments: [
    { load: 0x3f400020, data: fill(MiB / 2 - 4096) },
    { load: 0x400d0020, data: fill(MiB / 2 - 4096) },
  ],
});
const app = new Uint8Array(MiB).fill(0xff);
app.set(body.subarray(0, Math.min(body.length, MiB)));
const compressed = deflateSync(app, { level: 9 }).length;
const f = TIMING_MODEL.flash;
const flashMs = (MiB / f.blockSize) * f.blockEraseMs + MiB / f.writeBytesPerMs;
const lineMs = ((compressed * 10) / BAUD) * 1000;
const boundMs = 1.1 * (lineMs + flashMs);

const pty = await ptyPair();
const dev = await startSerialDevice({ path: pty.device, chip: 'esp32' });
let t0 = 0;
let t1 = 0;
try {
  await flashSerial({
    port: pty.host,
    baud: BAUD,
    parts: [{ data: app, name: '1MiB.bin' }],
    onEvent: (e) => {
      if (e.type === 'phase' && e.phase === 'write') t0 = performance.now();
      if (e.type === 'phase' && e.phase === 'reset') t1 = performance.now();
    },
  });
} finally {
  await dev.close();
  await pty.close();
}
const ms = t1 - t0;
const ok = ms <= boundMs;
console.log(
  JSON.stringify({
    measure: 'serial-1MiB-write-verify',
    baud: BAUD,
    bytes: MiB,
    compressed,
    ratio: Number((compressed / MiB).toFixed(3)),
    lineMs: Math.round(lineMs),
    flashMs: Math.round(flashMs),
    boundMs: Math.round(boundMs),
    ms: Math.round(ms),
    ofBound: Number((ms / boundMs).toFixed(3)),
    ok,
  }),
);
process.exitCode = ok ? 0 : 1;
