/**
 * The USB serial section of `npm run bench` (BENCH_ONLY=serial): runs bench/serial.ts (a 1 MiB
 * app written and verified at 921600 baud, modelled, over a socat pty with serialport's native
 * binding; the compression ratio of a real ESP-IDF image) in its own process and turns its JSON
 * lines into results and targets.
 */
import { join } from 'node:path';
import { runProcess } from './procs.ts';
import type { TargetResult } from './types.ts';

export interface SerialBenchResult {
  baud: number;
  bytes: number;
  compressed: number;
  ratio: number;
  lineMs: number;
  flashMs: number;
  boundMs: number;
  ms: number;
  ofBound: number;
  /** The real ESP-IDF image (bench/fixtures/) and its deflate ratio. */
  realImage: { image: string; bytes: number; compressed: number; ratio: number };
}

export async function benchSerial(log: (line: string) => void): Promise<SerialBenchResult> {
  const script = join(import.meta.dirname, '..', 'serial.ts');
  const p = await runProcess(process.execPath, ['--import', 'tsx', script], { timeoutMs: 120_000 });
  const lines = p.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const real = lines.find((l) => l['measure'] === 'compression');
  const write = lines.find((l) => l['measure'] === 'serial-1MiB-write-verify');
  if (!real || !write)
    throw new Error(`bench/serial.ts gave no result (exit ${p.code}): ${p.stderr.slice(-400)}`);
  const r: SerialBenchResult = {
    baud: Number(write['baud']),
    bytes: Number(write['bytes']),
    compressed: Number(write['compressed']),
    ratio: Number(write['ratio']),
    lineMs: Number(write['lineMs']),
    flashMs: Number(write['flashMs']),
    boundMs: Number(write['boundMs']),
    ms: Number(write['ms']),
    ofBound: Number(write['ofBound']),
    realImage: {
      image: String(real['image']),
      bytes: Number(real['bytes']),
      compressed: Number(real['compressed']),
      ratio: Number(real['ratio']),
    },
  };
  log(
    `  serial 1 MiB at ${r.baud} baud: ${(r.ms / 1000).toFixed(2)} s written and verified (bound ${(r.boundMs / 1000).toFixed(2)} s); ` +
      `compressed ${r.ratio}, real ESP-IDF image ${r.realImage.ratio}`,
  );
  return r;
}

export function serialTargets(r: SerialBenchResult): TargetResult[] {
  return [
    {
      id: 'serial/write-verify/921600',
      description:
        'USB serial: a 1 MiB app written and verified at 921600 baud (modelled) within 1.1 × (compressed size ÷ byte rate + modelled erase/write time), as a share of that bound',
      value: r.ofBound,
      threshold: '≤ 1',
      ok: r.ofBound <= 1,
      note: `${(r.ms / 1000).toFixed(2)} s of ${(r.boundMs / 1000).toFixed(2)} s; compression ratio ${r.ratio} (real ESP-IDF image ${r.realImage.image}: ${r.realImage.ratio})`,
    },
  ];
}
