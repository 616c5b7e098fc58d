/**
 * `npm run bench`: airflash against the limit model, the stop-and-wait reference and (when
 * ESPOTA_ESP32 / ESPOTA_ESP8266 point at the scripts) espota.py, through the emulator over several
 * link profiles; peak memory of the built CLI; fleets of 1, 10 and 50 devices; parser speed.
 * Writes bench/results/latest.json and docs/benchmarks.md and exits 1 when a target is missed.
 *
 * Environment: BENCH_RUNS (default 3) runs per client and profile; BENCH_ONLY=profiles,memory,
 * fleet,parsers,esphome,serial runs a subset (results then go to a temporary file, the docs are not touched);
 * BENCH_PROFILES=loopback,rtt20 limits the profiles likewise; ESPOTA_ESP32_VERSION /
 * ESPOTA_ESP8266_VERSION label the espota.py scripts in the results. `--quick` runs one profile
 * (loopback, ESP32) once per client and the memory runs (≈ 1 minute; a partial run). `--render`
 * rewrites docs/benchmarks.md from bench/results/latest.json, only when that file is a run of the
 * current commit.
 *
 * Every client (airflash, the minimal streaming client, the stop-and-wait reference, espota.py) is
 * timed the same way: the wall time of its own process. The Node clients are compiled to
 * JavaScript first (bench/lib/clients.ts), so none of them pays for a TypeScript loader.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  buildEsp32App,
  buildEsp8266Sketch,
  builtinSchemeCsv,
  decodePartitionTable,
  encodePartitionTable,
  inspectImage,
  parsePartitionCsv,
} from '../src/formats/index.ts';
import type { CoreKind } from '../src/protocols/arduino-ota/wire/index.ts';
import { type CompiledClients, compileClients } from './lib/clients.ts';
import { benchEsphome, type EsphomeBenchResult, esphomeTargets } from './lib/esphome.ts';
import { benchMemory } from './lib/memory.ts';
import {
  airflashArgs,
  type ClientRun,
  EmulatorProcess,
  jsonLines,
  ROOT,
  resultLine,
  runProcess,
} from './lib/procs.ts';
import { currentCommit, espotaInfo, renderRefusal } from './lib/provenance.ts';
import { renderMarkdown } from './lib/report.ts';
import { benchSerial, type SerialBenchResult, serialTargets } from './lib/serial.ts';
import { median, round, spread } from './lib/stats.ts';
import type {
  BenchResults,
  ClientName,
  ClientSummary,
  FleetResult,
  FleetRun,
  MachineInfo,
  MemoryResult,
  ParserResult,
  ProfileResult,
  TargetResult,
} from './lib/types.ts';
import { idealUploadTime, type LinkProfile, throughput } from './model.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
/** Image of the link profiles: 256 KiB (≈ 2 s of ESP32 flash work; keeps 50 ms stop-and-wait at ≈ 15 s). */
const IMAGE_BYTES = 256 * KiB;
const MEMORY_IMAGE_BYTES = 16 * MiB;
/** Peak RSS target of the built CLI for the memory runs (issue 12). */
const MEMORY_LIMIT_MB = 60;
const FLEET_IMAGE_BYTES = 128 * KiB;
const FLEET_SIZES = [1, 10, 50];
const FLEET_PARALLEL = 8;
const FLEET_RTT = 20;

const QUICK = process.argv.includes('--quick');
const RUNS = QUICK ? 1 : Math.max(1, Number(process.env['BENCH_RUNS'] ?? 3));
const LOSSY_RUNS = QUICK ? 1 : Math.max(RUNS, 5);
const ONLY = new Set(
  (QUICK
    ? 'profiles,memory'
    : (process.env['BENCH_ONLY'] ?? 'profiles,memory,fleet,parsers,esphome,serial')
  ).split(','),
);
const PROFILE_FILTER = QUICK ? ['loopback'] : process.env['BENCH_PROFILES']?.split(',');
const CORE_FILTER: CoreKind[] | undefined = QUICK ? ['esp32'] : undefined;
const PARTIAL = QUICK || process.env['BENCH_ONLY'] !== undefined || PROFILE_FILTER !== undefined;
const ESPOTA: Record<'esp32' | 'esp8266', string | null> = {
  esp32: process.env['ESPOTA_ESP32'] || null,
  esp8266: process.env['ESPOTA_ESP8266'] || null,
};
const PYTHON = process.env['PYTHON'] ?? 'python3';

interface BenchProfile extends LinkProfile {
  label: string;
  cores: CoreKind[];
  runs: number;
}

const PROFILES: BenchProfile[] = [
  { name: 'loopback', label: 'loopback', rttMs: 0, bandwidth: 0, cores: ['esp32', 'esp8266'], runs: RUNS },
  { name: 'rtt5', label: '5 ms RTT', rttMs: 5, bandwidth: 0, cores: ['esp32'], runs: RUNS },
  { name: 'rtt20', label: '20 ms RTT', rttMs: 20, bandwidth: 0, cores: ['esp32', 'esp8266'], runs: RUNS },
  { name: 'rtt50', label: '50 ms RTT', rttMs: 50, bandwidth: 0, cores: ['esp32'], runs: RUNS },
  { name: '1MBps', label: '1 MB/s', rttMs: 0, bandwidth: 1_000_000, cores: ['esp32'], runs: RUNS },
  {
    name: 'lossy',
    label: '20 ms RTT, 10 % datagram loss',
    rttMs: 20,
    bandwidth: 0,
    udpLoss: 0.1,
    // The ideal client re-invites as soon as an answer is overdue (two round trips).
    inviteRetryMs: 40,
    cores: ['esp32'],
    runs: LOSSY_RUNS,
  },
];

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function log(line: string): void {
  console.error(line);
}

function machine(): MachineInfo {
  const c = cpus();
  return {
    cpus: availableParallelism(),
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: process.platform,
    release: release(),
    totalMemMiB: Math.round(totalmem() / MiB),
  };
}

// ------------------------------------------------------------------ one client run

interface Image {
  path: string;
  bytes: Uint8Array;
  md5: string;
}

let compiled: CompiledClients | undefined;

/** A client process's run: success from its exit code and result line; time = process wall time. */
function processRun(p: Awaited<ReturnType<typeof runProcess>>, ownMs?: number): ClientRun {
  const r = resultLine(p.stdout);
  const ok = p.code === 0 && (r === undefined || r.ok === true);
  return {
    ok,
    code: (r?.code as string | null | undefined) ?? (p.code === 0 ? null : `EXIT_${p.code}`),
    ms: p.wallMs,
    ...(ownMs === undefined ? {} : { ownMs }),
    wallMs: p.wallMs,
    verified: false,
    ...(ok ? {} : { message: String(r?.message ?? (p.stdout + p.stderr).slice(-300)) }),
  };
}

async function clientRun(
  emu: EmulatorProcess,
  address: string,
  client: ClientName,
  image: Image,
  core: CoreKind,
): Promise<ClientRun> {
  const port = emu.port(address);
  const from = emu.cursor();
  const target = ['--ip', address, '--port', String(port), '--file', image.path];
  let run: ClientRun;
  if (client === 'airflash') {
    const [cmd, args] = airflashArgs([
      'upload',
      '-i',
      address,
      '-p',
      String(port),
      '-f',
      image.path,
      '--json',
    ]);
    const p = await runProcess(cmd, args);
    const seconds = resultLine(p.stdout)?.seconds;
    run = processRun(p, typeof seconds === 'number' ? seconds * 1000 : undefined);
  } else if (client === 'stop-and-wait' || client === 'stream') {
    const clients = compiled as CompiledClients;
    const extra = client === 'stream' ? [] : ['--chunk', String(core === 'esp8266' ? 1460 : 1024)];
    const p = await runProcess(process.execPath, [
      client === 'stream' ? clients.stream : clients.stopAndWait,
      ...target,
      ...extra,
    ]);
    const own = resultLine(p.stdout)?.durationMs;
    run = processRun(p, typeof own === 'number' ? own : undefined);
  } else {
    const script = core === 'esp8266' ? ESPOTA.esp8266 : ESPOTA.esp32;
    const p = await runProcess(PYTHON, [
      script as string,
      '-i',
      address,
      '-p',
      String(port),
      '-f',
      image.path,
    ]);
    run = processRun(p);
  }
  // The device has the last word: the image is confirmed only by its update-complete with our MD5
  // (espota 3.3.x may exit 0 after a failed update, protocol.md §4.4).
  try {
    await emu.waitFor(
      (e) => e.address === address && e.event === 'update-complete' && e.md5 === image.md5,
      run.ok ? 5000 : 300,
      from,
    );
    run.verified = true;
  } catch {
    run.verified = false;
  }
  if (run.verified) {
    await emu.waitFor((e) => e.address === address && e.event === 'booted', 20_000, from);
  } else {
    // Let the device give up (ESP32 ~4 s receive timeout) and return to idle.
    await sleep(5000);
  }
  if (run.ok && !run.verified) {
    run.ok = false;
    run.code = 'NOT_VERIFIED';
    run.message = 'the client reported success but the device did not confirm the image';
  }
  return run;
}

function summarise(
  client: ClientName,
  runs: ClientRun[],
  imageBytes: number,
  limitMs: number,
  practicalMs: number | null,
): ClientSummary {
  const t = spread(runs.map((r) => r.ms));
  const own = runs.flatMap((r) => (r.ownMs === undefined ? [] : [r.ownMs]));
  return {
    client,
    timing: 'wall',
    runs: runs.map((r) => ({
      ...r,
      ms: round(r.ms, 1),
      wallMs: round(r.wallMs, 1),
      ...(r.ownMs === undefined ? {} : { ownMs: round(r.ownMs, 1) }),
    })),
    allOk: runs.every((r) => r.ok && r.verified),
    medianMs: round(t.median, 1),
    meanMs: round(t.mean, 1),
    worstMs: round(t.worst, 1),
    medianOwnMs: own.length === runs.length ? round(median(own), 1) : null,
    throughput: round(throughput(imageBytes, t.median), 0),
    ofLimit: round(limitMs / t.median, 4),
    ofLimitMean: round(limitMs / t.mean, 4),
    ofLimitWorst: round(limitMs / t.worst, 4),
    ofPractical: practicalMs === null ? null : round(practicalMs / t.median, 4),
  };
}

// ------------------------------------------------------------------ link profiles

let nextAddress = 10;

async function benchProfile(profile: BenchProfile, core: CoreKind, image: Image): Promise<ProfileResult> {
  const address = `127.0.0.${nextAddress++}`;
  const args = ['--core', core, '--address', address, '--port', '0', '--seed', '7'];
  if (profile.rttMs > 0) args.push('--rtt-ms', String(profile.rttMs));
  if (profile.bandwidth > 0) args.push('--bandwidth', String(profile.bandwidth));
  if ((profile.udpLoss ?? 0) > 0) args.push('--udp-loss', String(profile.udpLoss));
  const emu = await EmulatorProcess.start(args);
  const chunkSize = core === 'esp8266' ? 1460 : 1024;
  const limit = idealUploadTime(profile, image.bytes, core, 'stream');
  const swModel = idealUploadTime(profile, image.bytes, core, { stopAndWait: chunkSize });
  const clients: ClientName[] = ['airflash', 'stream', 'stop-and-wait'];
  const espota = core === 'esp8266' ? ESPOTA.esp8266 : ESPOTA.esp32;
  if (espota) clients.push('espota');
  const runs: Record<ClientName, ClientRun[]> = { airflash: [], stream: [], 'stop-and-wait': [], espota: [] };
  try {
    for (let i = 0; i < profile.runs; i++) {
      for (const client of clients) {
        const r = await clientRun(emu, address, client, image, core);
        runs[client].push(r);
        log(
          `  ${profile.name}/${core} run ${i + 1}/${profile.runs} ${client}: ${r.ok ? 'ok' : `FAILED ${r.code}`} ${(r.ms / 1000).toFixed(3)} s`,
        );
      }
    }
  } finally {
    await emu.close();
  }
  const stream = runs.stream.every((r) => r.ok && r.verified) ? median(runs.stream.map((r) => r.ms)) : null;
  const summaries = clients.map((c) => summarise(c, runs[c], image.bytes.length, limit.totalMs, stream));
  const air = summaries.find((x) => x.client === 'airflash') as ClientSummary;
  const sw = summaries.find((x) => x.client === 'stop-and-wait') as ClientSummary;
  const speedup: Partial<Record<ClientName, number>> = {};
  for (const x of summaries) if (x !== air) speedup[x.client] = round(x.medianMs / air.medianMs, 3);
  return {
    profile: profile.name,
    label: profile.label,
    core,
    rttMs: profile.rttMs,
    bandwidth: profile.bandwidth,
    udpLoss: profile.udpLoss ?? 0,
    imageBytes: image.bytes.length,
    chunkSize,
    limit,
    stopAndWaitModel: swModel,
    clients: summaries,
    // The model starts at the first invitation: calibrate with the reference's own clock.
    calibration: round((sw.medianOwnMs ?? sw.medianMs) / swModel.totalMs, 4),
    speedup,
  };
}

// ------------------------------------------------------------------ fleet

async function benchFleet(image: Image): Promise<FleetResult> {
  const runs: FleetRun[] = [];
  for (const n of FLEET_SIZES) {
    const first = '127.0.1.1';
    const emu = await EmulatorProcess.start(
      ['--count', String(n), '--address', first, '--rtt-ms', String(FLEET_RTT)],
      n,
    );
    try {
      const from = emu.cursor();
      const targets = emu.addresses().flatMap((a) => ['--target', `${a}:${emu.port(a)}`]);
      const [cmd, args] = airflashArgs([
        'upload',
        ...targets,
        '-f',
        image.path,
        '--parallel',
        String(FLEET_PARALLEL),
        '--json',
      ]);
      const p = await runProcess(cmd, args, { timeoutMs: 600_000 });
      const summary = jsonLines(p.stdout, 'summary')[0];
      const verified = emu.events
        .slice(from)
        .filter((e) => e.event === 'update-complete' && e.md5 === image.md5).length;
      const seconds = typeof summary?.seconds === 'number' ? summary.seconds : p.wallMs / 1000;
      runs.push({
        devices: n,
        parallel: FLEET_PARALLEL,
        ok: typeof summary?.ok === 'number' ? summary.ok : 0,
        failed: typeof summary?.failed === 'number' ? summary.failed : n,
        verified,
        seconds: round(seconds, 3),
        wallSeconds: round(p.wallMs / 1000, 3),
        code: summary ? null : `EXIT_${p.code}`,
        ...(summary ? {} : { message: (p.stderr || p.stdout).slice(-400) }),
      });
      log(`  fleet ${n}: ${verified}/${n} updated in ${seconds.toFixed(2)} s`);
    } finally {
      await emu.close();
    }
  }
  const one = runs.find((r) => r.devices === 1);
  return {
    rttMs: FLEET_RTT,
    imageBytes: image.bytes.length,
    parallel: FLEET_PARALLEL,
    runs,
    budgetSeconds: one ? round(1.5 * Math.ceil(50 / FLEET_PARALLEL) * one.seconds, 3) : null,
    limit: idealUploadTime({ name: 'fleet', rttMs: FLEET_RTT, bandwidth: 0 }, image.bytes, 'esp32', 'stream'),
  };
}

// ------------------------------------------------------------------ parsers

function timeIt(name: string, bytes: number, fn: () => void, minMs = 700): ParserResult {
  fn(); // warm up
  let iterations = 0;
  const started = performance.now();
  let elapsed = 0;
  do {
    fn();
    iterations++;
    elapsed = performance.now() - started;
  } while (elapsed < minMs);
  const seconds = elapsed / 1000;
  return {
    name,
    bytes,
    iterations,
    seconds: round(seconds, 3),
    mbPerSecond: round((bytes * iterations) / seconds / 1e6, 1),
  };
}

function benchParsers(big: Uint8Array): ParserResult[] {
  const app = buildEsp32App({ size: 1 * MiB, seed: 3 });
  const sketch = buildEsp8266Sketch({ size: 512 * KiB, seed: 3 });
  const csv = builtinSchemeCsv('default') as string;
  const table = parsePartitionCsv(csv);
  const binary = encodePartitionTable(table);
  return [
    timeIt('inspectImage, ESP32 app 16 MiB', big.length, () => void inspectImage(big)),
    timeIt('inspectImage, ESP32 app 1 MiB', app.length, () => void inspectImage(app)),
    timeIt('inspectImage, ESP8266 sketch 512 KiB', sketch.length, () => void inspectImage(sketch)),
    timeIt('parsePartitionCsv, default scheme', Buffer.byteLength(csv), () => void parsePartitionCsv(csv)),
    timeIt('decodePartitionTable, binary 3 KiB', binary.length, () => void decodePartitionTable(binary)),
  ];
}

// ------------------------------------------------------------------ targets

function evaluate(results: Omit<BenchResults, 'targets' | 'ok'>): TargetResult[] {
  const t: TargetResult[] = [];
  for (const p of results.profiles) {
    const air = p.clients.find((c) => c.client === 'airflash') as ClientSummary;
    const sw = p.clients.find((c) => c.client === 'stop-and-wait') as ClientSummary;
    // The practical limit: the minimal streaming client on the same link, timed the same way.
    t.push({
      id: `practical/${p.profile}/${p.core}`,
      description: `airflash reaches ≥ 90 % of the minimal streaming client's speed (${p.label}, ${p.core})`,
      value: air.ofPractical,
      threshold: '≥ 0.9',
      ok: air.allOk && air.ofPractical !== null && air.ofPractical >= 0.9,
      ...(air.allOk ? {} : { note: 'a run failed' }),
      ...(air.ofPractical === null ? { note: 'the streaming client failed a run' } : {}),
    });
    // Calibration needs a deterministic link: on the lossy one a lost datagram costs the
    // reference client its 10 s invitation timeout, which no expected value predicts for one run.
    if (p.udpLoss === 0)
      t.push({
        id: `calibration/${p.profile}/${p.core}`,
        description: `stop-and-wait measured within ±10 % of the model (${p.label}, ${p.core})`,
        value: p.calibration,
        threshold: '0.9 … 1.1',
        ok: sw.allOk && p.calibration >= 0.9 && p.calibration <= 1.1,
        ...(sw.allOk ? {} : { note: 'a run failed' }),
      });
    // espota.py's own failures (e.g. a lost datagram on the lossy link) are shown in the table,
    // not held against airflash.
  }
  const rtt20 = results.profiles.find((p) => p.profile === 'rtt20' && p.core === 'esp32');
  if (rtt20)
    t.push({
      id: 'speedup/rtt20/esp32',
      description: 'airflash ≥ 2× faster than stop-and-wait at 20 ms RTT',
      value: rtt20.speedup['stop-and-wait'] ?? null,
      threshold: '≥ 2',
      ok: (rtt20.speedup['stop-and-wait'] ?? 0) >= 2,
    });
  for (const run of results.memory?.runs ?? []) {
    const mb = run.maxRssKiB === null ? null : (run.maxRssKiB * 1024) / 1e6;
    t.push({
      id: `memory/${run.name.replace(/ /g, '-')}`,
      description: `peak RSS of the built CLI, ${run.name} < ${MEMORY_LIMIT_MB} MB`,
      value: mb === null ? null : round(mb, 1),
      threshold: `< ${MEMORY_LIMIT_MB} MB`,
      ok: run.ok && mb !== null && mb < MEMORY_LIMIT_MB,
      ...(run.ok ? {} : { note: `the command failed (exit ${run.exitCode})` }),
    });
  }
  if (results.fleet) {
    const f50 = results.fleet.runs.find((r) => r.devices === 50);
    const budget = results.fleet.budgetSeconds;
    if (f50 && budget !== null)
      t.push({
        id: 'fleet/50',
        description: `50 devices within 1.5 × ceil(50/${FLEET_PARALLEL}) × one device's time`,
        value: f50.seconds,
        threshold: `≤ ${budget.toFixed(2)} s`,
        ok: f50.verified === 50 && f50.seconds <= budget,
        ...(f50.verified === 50 ? {} : { note: `${f50.verified}/50 devices updated` }),
      });
    for (const r of results.fleet.runs)
      if (r.verified !== r.devices)
        t.push({
          id: `fleet/${r.devices}/all-updated`,
          description: `every device of the ${r.devices}-device fleet updated`,
          value: r.verified,
          threshold: `${r.devices}`,
          ok: false,
        });
  }
  return t;
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'airflash-bench-'));
  try {
    const write = async (name: string, bytes: Uint8Array): Promise<Image> => {
      const path = join(dir, name);
      await writeFile(path, bytes);
      return { path, bytes, md5: md5(bytes) };
    };
    const images: Record<'esp32' | 'esp8266', Image> = {
      esp32: await write('app-256k.bin', buildEsp32App({ size: IMAGE_BYTES, seed: 11 })),
      esp8266: await write('sketch-256k.bin', buildEsp8266Sketch({ size: IMAGE_BYTES, seed: 11 })),
    };
    const big = await write('app-16m.bin', buildEsp32App({ size: MEMORY_IMAGE_BYTES, seed: 12 }));
    const fleetImage = await write('app-128k.bin', buildEsp32App({ size: FLEET_IMAGE_BYTES, seed: 13 }));
    const m = machine();
    const head = currentCommit(ROOT);
    const provenance = {
      ...head,
      node: process.version,
      espota: {
        esp32: espotaInfo(ESPOTA.esp32, process.env['ESPOTA_ESP32_VERSION']),
        esp8266: espotaInfo(ESPOTA.esp8266, process.env['ESPOTA_ESP8266_VERSION']),
      },
    };
    log(
      `airflash bench of ${head.commit?.slice(0, 12) ?? 'no commit'}${head.dirty ? ' (uncommitted changes)' : ''} on ${m.cpus} × ${m.cpuModel}, node ${m.node}; ${RUNS} runs per client${QUICK ? ' (quick)' : ''}`,
    );
    if (ONLY.has('profiles') || ONLY.has('esphome')) compiled = await compileClients(dir);

    const profiles: ProfileResult[] = [];
    if (ONLY.has('profiles')) {
      for (const profile of PROFILES) {
        if (PROFILE_FILTER && !PROFILE_FILTER.includes(profile.name)) continue;
        for (const core of profile.cores) {
          if (CORE_FILTER && !CORE_FILTER.includes(core)) continue;
          log(`profile ${profile.label} (${core})`);
          profiles.push(await benchProfile(profile, core, images[core === 'esp8266' ? 'esp8266' : 'esp32']));
        }
      }
    }
    let memory: MemoryResult | null = null;
    if (ONLY.has('memory')) {
      log(`memory: ${MEMORY_IMAGE_BYTES >> 20} MiB image, 200 MB of random bytes`);
      memory = await benchMemory(dir, big, log);
    }
    let fleet: FleetResult | null = null;
    if (ONLY.has('fleet')) {
      log('fleet: 1, 10, 50 devices');
      fleet = await benchFleet(fleetImage);
    }
    const parsers = ONLY.has('parsers') ? benchParsers(big.bytes) : [];
    let esphome: EsphomeBenchResult | null = null;
    if (ONLY.has('esphome')) {
      log('esphome: 5, 20, 50 ms RTT');
      esphome = await benchEsphome(images.esp32, (compiled as CompiledClients).esphome, RUNS, log);
    }
    let serial: SerialBenchResult | null = null;
    if (ONLY.has('serial')) {
      log('serial: 1 MiB at 921600 baud over a pty');
      serial = await benchSerial(log);
    }

    const base = {
      version: 1 as const,
      provenance,
      date: new Date().toISOString(),
      durationSeconds: round((performance.now() - started) / 1000, 1),
      machine: m,
      config: {
        runs: RUNS,
        lossyRuns: LOSSY_RUNS,
        imageBytes: IMAGE_BYTES,
        memoryImageBytes: MEMORY_IMAGE_BYTES,
        fleetImageBytes: FLEET_IMAGE_BYTES,
        espota: {
          esp32: ESPOTA.esp32 ? 'ESPOTA_ESP32' : null,
          esp8266: ESPOTA.esp8266 ? 'ESPOTA_ESP8266' : null,
        },
        partial: PARTIAL,
        ...(QUICK ? { quick: true } : {}),
      },
      profiles,
      memory,
      fleet,
      parsers,
      esphome,
      serial,
    };
    const targets = [
      ...evaluate(base),
      ...(esphome ? esphomeTargets(esphome) : []),
      ...(serial ? serialTargets(serial) : []),
    ];
    const results: BenchResults = { ...base, targets, ok: targets.every((x) => x.ok) };
    const json = `${JSON.stringify(results, null, 2)}\n`;
    if (PARTIAL) {
      const out = join(tmpdir(), 'airflash-bench-partial.json');
      await writeFile(out, json);
      log(`partial run: results in ${out} (docs/benchmarks.md not touched)`);
    } else {
      await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
      await writeFile(join(ROOT, 'bench', 'results', 'latest.json'), json);
      const refused = renderRefusal(results, head);
      if (refused === undefined) {
        await writeFile(join(ROOT, 'docs', 'benchmarks.md'), renderMarkdown(results));
        log('wrote bench/results/latest.json and docs/benchmarks.md');
      } else log(`wrote bench/results/latest.json; docs/benchmarks.md NOT rendered: ${refused}`);
    }
    for (const x of targets)
      log(
        `${x.ok ? 'PASS' : 'MISS'} ${x.id}: ${x.value ?? '–'} (${x.threshold})${x.note ? ` — ${x.note}` : ''}`,
      );
    log(`bench ${results.ok ? 'passed' : 'MISSED A TARGET'} in ${results.durationSeconds} s`);
    return results.ok ? 0 : 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `--render`: write docs/benchmarks.md again from bench/results/latest.json (after doc edits). */
async function render(): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const results = JSON.parse(
    await readFile(join(ROOT, 'bench', 'results', 'latest.json'), 'utf8'),
  ) as BenchResults;
  const refused = renderRefusal(results, currentCommit(ROOT));
  if (refused !== undefined) {
    log(`refusing to render docs/benchmarks.md: ${refused}`);
    return 1;
  }
  await writeFile(join(ROOT, 'docs', 'benchmarks.md'), renderMarkdown(results));
  log('wrote docs/benchmarks.md from bench/results/latest.json');
  return 0;
}

process.exitCode = process.argv.includes('--render') ? await render() : await main();
