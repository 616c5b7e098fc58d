/**
 * `npm run soak`: 500 consecutive uploads (the library's `upload()`, in this process) to 10
 * emulated devices of every core, with and without passwords, round robin; each device must
 * confirm (update-complete with the image's MD5) and boot every new image before its next upload.
 * The devices run in their own process (`airflash emulate --fleet`), so what is measured here is
 * the uploader: open handles (process.getActiveResourcesInfo()) and the heap after a full GC,
 * sampled every 50 uploads. The soak fails when an upload fails or either grows beyond its margin.
 * The emulator process's RSS is reported too.
 *
 *   npm run soak                       # 500 uploads
 *   SOAK_UPLOADS=2000 npm run soak     # longer
 *
 * `runSoak()` is also used by test/soak-short.test.ts (40 uploads).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildEsp32App, buildEsp8266Sketch } from '../src/formats/index.ts';
import { upload } from '../src/upload/index.ts';
import { EmulatorProcess } from './lib/procs.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export interface SoakSample {
  uploads: number;
  heapUsed: number;
  rss: number;
  /** Resident set size of the emulator process (informative), bytes. */
  emulatorRss: number | null;
  handles: number;
  byType: Record<string, number>;
}

export interface SoakOptions {
  uploads: number;
  devices?: number;
  /** Take a sample every this many uploads. */
  sampleEvery?: number;
  /** Uploads before the baseline sample. Default: five rounds (5 × devices). */
  warmup?: number;
  /** First address: devices on consecutive addresses from it. */
  addressBase?: string;
  /** Run the emulator from source (tests) instead of the built CLI. */
  fromSource?: boolean;
  onSample?: (s: SoakSample) => void;
}

export interface SoakResult {
  uploads: number;
  devices: number;
  failures: Array<{ upload: number; device: string; code: string; message: string }>;
  seconds: number;
  baseline: SoakSample;
  final: SoakSample;
  samples: SoakSample[];
  /** final.heapUsed − baseline.heapUsed, bytes. */
  heapGrowth: number;
  /** Least-squares slope of heapUsed over the second half of the samples, bytes per upload (the
   * first half still sees JIT and inline caches settle). */
  heapSlope: number;
  /** final.handles − baseline.handles. */
  handleGrowth: number;
}

/** Time scales of the devices (flash work, fixed delays, the ESP32 receive timeout: 1 s → 100 ms)
 * and of the uploader (stall timeout 10 s → 1 s): both well above scheduling noise on a loaded
 * 2-core machine (at 0.01 the ESP32's 10 ms first-byte budget failed about 1 upload in 200). */
const DEVICE_SCALE = 0.1;
const UPLOAD_SCALE = 0.1;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

function handles(): { count: number; byType: Record<string, number> } {
  const byType: Record<string, number> = {};
  const info = process.getActiveResourcesInfo();
  for (const t of info) byType[t] = (byType[t] ?? 0) + 1;
  return { count: info.length, byType };
}

async function rssOf(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /VmRSS:\s+(\d+)/.exec(status);
  return m ? Number(m[1]) * 1024 : null;
}

async function sample(
  uploads: number,
  emulator: EmulatorProcess,
  settleMs = 2500,
  target?: number,
): Promise<SoakSample> {
  // Let closing sockets finish: wait until the handle count is back at `target` (or settleMs).
  const until = performance.now() + settleMs;
  await sleep(20);
  while (target !== undefined && handles().count > target && performance.now() < until) await sleep(50);
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(5);
  }
  const h = handles();
  const m = process.memoryUsage();
  return {
    uploads,
    heapUsed: m.heapUsed,
    rss: m.rss,
    emulatorRss: await rssOf(emulator.child.pid),
    handles: h.count,
    byType: h.byType,
  };
}

function slope(samples: SoakSample[]): number {
  if (samples.length < 2) return 0;
  const n = samples.length;
  const mx = samples.reduce((a, s) => a + s.uploads, 0) / n;
  const my = samples.reduce((a, s) => a + s.heapUsed, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.uploads - mx) * (s.heapUsed - my);
    den += (s.uploads - mx) ** 2;
  }
  return den > 0 ? num / den : 0;
}

const KINDS: Array<{ core: 'esp32' | 'esp32-legacy' | 'esp8266'; password?: string }> = [
  { core: 'esp32' },
  { core: 'esp32', password: 'soak' },
  { core: 'esp32-legacy' },
  { core: 'esp32-legacy', password: 'soak' },
  { core: 'esp8266' },
  { core: 'esp8266', password: 'soak' },
];

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const count = options.devices ?? 10;
  const every = options.sampleEvery ?? 50;
  const base = (options.addressBase ?? '127.0.7.10').split('.').map(Number) as [
    number,
    number,
    number,
    number,
  ];
  const images = {
    esp32: [buildEsp32App({ size: 16 * 1024, seed: 51 }), buildEsp32App({ size: 16 * 1024, seed: 52 })],
    esp8266: [
      buildEsp8266Sketch({ size: 16 * 1024, seed: 51 }),
      buildEsp8266Sketch({ size: 16 * 1024, seed: 52 }),
    ],
  };
  const sums = { esp32: images.esp32.map(md5), esp8266: images.esp8266.map(md5) };
  const specs = Array.from({ length: count }, (_, i) => {
    const kind = KINDS[i % KINDS.length] as (typeof KINDS)[number];
    return { ...kind, address: `${base[0]}.${base[1]}.${base[2]}.${base[3] + i}`, port: 0 };
  });
  const dir = await mkdtemp(join(tmpdir(), 'airflash-soak-'));
  const fleetFile = join(dir, 'fleet.json');
  await writeFile(fleetFile, JSON.stringify(specs));
  const started = performance.now();
  const failures: SoakResult['failures'] = [];
  const emulator = await EmulatorProcess.start(
    ['--fleet', fleetFile, '--time-scale', String(DEVICE_SCALE)],
    count,
    options.fromSource === true,
  );
  try {
    const uploadsTo = new Array<number>(count).fill(0);
    const one = async (k: number): Promise<void> => {
      const i = k % count;
      const spec = specs[i] as (typeof specs)[number];
      const family = spec.core === 'esp8266' ? 'esp8266' : 'esp32';
      const which = (uploadsTo[i] as number) % 2;
      uploadsTo[i] = (uploadsTo[i] as number) + 1;
      const image = images[family][which] as Uint8Array;
      const sum = sums[family][which] as string;
      emulator.clear();
      try {
        await upload({
          host: spec.address,
          port: emulator.port(spec.address),
          data: image,
          timeScale: UPLOAD_SCALE,
          ...(spec.password ? { password: spec.password } : {}),
        });
        await emulator.waitFor(
          (e) => e.address === spec.address && e.event === 'update-complete' && e.md5 === sum,
          10_000,
        );
        await emulator.waitFor(
          (e) => e.address === spec.address && e.event === 'booted' && e.md5 === sum,
          10_000,
        );
      } catch (error) {
        const e = error as { code?: string; message?: string };
        failures.push({ upload: k, device: spec.address, code: e.code ?? 'ERROR', message: e.message ?? '' });
        await sleep(500);
      }
    };
    // Warm-up: every code path, module, pool and inline cache exists before the baseline.
    const warm = Math.min(options.warmup ?? count * 5, options.uploads);
    for (let k = 0; k < warm; k++) await one(k);
    const baseline = await sample(warm, emulator);
    options.onSample?.(baseline);
    const samples: SoakSample[] = [baseline];
    for (let k = warm; k < options.uploads; k++) {
      await one(k);
      if ((k + 1 - warm) % every === 0 && k + 1 < options.uploads) {
        const s = await sample(k + 1, emulator, 2500, baseline.handles);
        samples.push(s);
        options.onSample?.(s);
      }
    }
    const final = await sample(options.uploads, emulator, 5000, baseline.handles);
    samples.push(final);
    options.onSample?.(final);
    return {
      uploads: options.uploads,
      devices: count,
      failures,
      seconds: (performance.now() - started) / 1000,
      baseline,
      final,
      samples,
      heapGrowth: final.heapUsed - baseline.heapUsed,
      heapSlope: slope(samples.slice(Math.floor(samples.length / 2))),
      handleGrowth: final.handles - baseline.handles,
    };
  } finally {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const MiB = 1024 * 1024;

async function main(): Promise<number> {
  const uploads = Number(process.env['SOAK_UPLOADS'] ?? 500);
  console.error(
    `soak: ${uploads} uploads to 10 emulated devices (ESP32 ≥ 3.3.1, 3.0–3.3.0, ESP8266; with and without password)`,
  );
  const r = await runSoak({
    uploads,
    onSample: (s) =>
      console.error(
        `  after ${String(s.uploads).padStart(5)} uploads: heap ${(s.heapUsed / MiB).toFixed(2)} MiB, rss ` +
          `${(s.rss / MiB).toFixed(1)} MiB, handles ${s.handles} ${JSON.stringify(s.byType)}; emulator rss ` +
          `${s.emulatorRss === null ? '–' : `${(s.emulatorRss / MiB).toFixed(1)} MiB`}`,
      ),
  });
  const heapMargin = 1 * MiB;
  const slopeMargin = 512;
  const checks = [
    {
      what: 'every upload succeeded and booted',
      ok: r.failures.length === 0,
      value: `${r.failures.length} failures`,
    },
    {
      what: 'open handles back to the baseline',
      ok: r.handleGrowth <= 0,
      value: `${r.handleGrowth >= 0 ? '+' : ''}${r.handleGrowth} (${JSON.stringify(r.final.byType)})`,
    },
    {
      what: `heap growth < ${heapMargin / MiB} MiB`,
      ok: r.heapGrowth < heapMargin,
      value: `${(r.heapGrowth / MiB).toFixed(3)} MiB`,
    },
    {
      what: `heap slope (second half) < ${slopeMargin} bytes per upload`,
      ok: r.heapSlope < slopeMargin,
      value: `${r.heapSlope.toFixed(0)} bytes/upload`,
    },
  ];
  for (const f of r.failures.slice(0, 10))
    console.error(`  failure #${f.upload} ${f.device}: ${f.code} ${f.message}`);
  for (const c of checks) console.error(`${c.ok ? 'PASS' : 'FAIL'} ${c.what}: ${c.value}`);
  const ok = checks.every((c) => c.ok);
  console.error(`soak ${ok ? 'passed' : 'FAILED'}: ${r.uploads} uploads in ${r.seconds.toFixed(1)} s`);
  return ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = await main();
}
