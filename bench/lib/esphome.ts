/**
 * The ESPHome section of `npm run bench` (issue 16 "faster than the ESPHome CLI"): one emulated
 * ESPHome device (`airflash emulate --protocol esphome`) behind the ESPHome link model (rtt/2 each
 * way, the ESP32's lwIP receive window of 5744 bytes) at 5, 20 and 50 ms RTT; per profile the
 * built CLI (`esphome://`), espota2.py's method (bench/esphome-client.ts `stop-and-wait`) and the
 * minimal streaming client (`stream`, the practical limit), each timed as its own process's wall
 * time and by its own clock, and the device's confirmation of the image required.
 */
import type { EmulatorProcess as Emu } from './procs.ts';
import { airflashArgs, EmulatorProcess, resultLine, runProcess } from './procs.ts';
import { median, round } from './stats.ts';
import type { TargetResult } from './types.ts';

export type EsphomeBenchClient = 'airflash' | 'stop-and-wait' | 'stream';

export interface EsphomeClientFigures {
  client: EsphomeBenchClient;
  allOk: boolean;
  /** Median wall time of the client's process, ms. */
  medianMs: number;
  /** Median of the client's own clock (connect to done), ms. */
  medianOwnMs: number | null;
  runs: Array<{ ok: boolean; ms: number; ownMs: number | null; message?: string }>;
}

export interface EsphomeProfileResult {
  rttMs: number;
  /** The device's TCP receive window modelled, bytes. */
  window: number;
  imageBytes: number;
  clients: EsphomeClientFigures[];
  /** stop-and-wait median ÷ airflash median (wall). */
  speedup: number | null;
  /** stream median ÷ airflash median (wall): the share of the practical limit airflash reaches. */
  ofPractical: number | null;
}

export interface EsphomeBenchResult {
  profiles: EsphomeProfileResult[];
}

/** The modelled ESP32 receive window (CONFIG_LWIP_TCP_WND_DEFAULT; docs/emulator.md). */
const ESP32_WINDOW = 5744;
const RTTS = [5, 20, 50];

interface Image {
  path: string;
  md5: string;
  bytes: Uint8Array;
}

async function oneRun(
  emu: Emu,
  address: string,
  client: EsphomeBenchClient,
  image: Image,
  esphomeClient: string,
): Promise<{ ok: boolean; ms: number; ownMs: number | null; message?: string }> {
  const port = emu.port(address);
  const from = emu.cursor();
  const p =
    client === 'airflash'
      ? await runProcess(
          ...airflashArgs(['upload', '-i', `esphome://${address}:${port}`, '-f', image.path, '--json']),
        )
      : await runProcess(process.execPath, [
          esphomeClient,
          '--ip',
          address,
          '--port',
          String(port),
          '--file',
          image.path,
          '--mode',
          client,
        ]);
  const r = resultLine(p.stdout);
  const seconds = r?.seconds;
  let ok = p.code === 0 && r?.ok !== false;
  let message: string | undefined = ok ? undefined : String(r?.message ?? (p.stdout + p.stderr).slice(-300));
  try {
    await emu.waitFor(
      (e) => e.address === address && e.event === 'update-complete' && e.md5 === image.md5,
      ok ? 5000 : 300,
      from,
    );
    await emu.waitFor((e) => e.address === address && e.event === 'booted', 20_000, from);
  } catch {
    if (ok) message = 'the client reported success but the device did not confirm the image';
    ok = false;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return {
    ok,
    ms: round(p.wallMs, 1),
    ownMs: typeof seconds === 'number' ? round(seconds * 1000, 1) : null,
    ...(message === undefined ? {} : { message }),
  };
}

/** Run the ESPHome profiles; `esphomeClient` is the compiled bench/esphome-client.js. */
export async function benchEsphome(
  image: Image,
  esphomeClient: string,
  runs: number,
  log: (line: string) => void,
  addressBase = '127.0.161.',
): Promise<EsphomeBenchResult> {
  const profiles: EsphomeProfileResult[] = [];
  let n = 10;
  for (const rttMs of RTTS) {
    const address = `${addressBase}${n++}`;
    const emu = await EmulatorProcess.start([
      '--protocol',
      'esphome',
      '--address',
      address,
      '--port',
      '0',
      '--seed',
      '7',
      '--rtt-ms',
      String(rttMs),
      '--window',
      String(ESP32_WINDOW),
    ]);
    const clients: EsphomeBenchClient[] = ['airflash', 'stream', 'stop-and-wait'];
    const got: Record<EsphomeBenchClient, EsphomeClientFigures['runs']> = {
      airflash: [],
      stream: [],
      'stop-and-wait': [],
    };
    try {
      for (let i = 0; i < runs; i++)
        for (const c of clients) {
          const r = await oneRun(emu, address, c, image, esphomeClient);
          got[c].push(r);
          log(
            `  esphome rtt${rttMs} run ${i + 1}/${runs} ${c}: ${r.ok ? 'ok' : `FAILED ${r.message}`} ${(r.ms / 1000).toFixed(3)} s`,
          );
        }
    } finally {
      await emu.close();
    }
    const figures = clients.map((c): EsphomeClientFigures => {
      const own = got[c].flatMap((r) => (r.ownMs === null ? [] : [r.ownMs]));
      return {
        client: c,
        allOk: got[c].every((r) => r.ok),
        medianMs: round(median(got[c].map((r) => r.ms)), 1),
        medianOwnMs: own.length === got[c].length ? round(median(own), 1) : null,
        runs: got[c],
      };
    });
    const by = (c: EsphomeBenchClient): EsphomeClientFigures =>
      figures.find((f) => f.client === c) as EsphomeClientFigures;
    const air = by('airflash');
    const ratio = (other: EsphomeClientFigures): number | null =>
      air.allOk && other.allOk ? round(other.medianMs / air.medianMs, 3) : null;
    profiles.push({
      rttMs,
      window: ESP32_WINDOW,
      imageBytes: image.bytes.length,
      clients: figures,
      speedup: ratio(by('stop-and-wait')),
      ofPractical: ratio(by('stream')),
    });
  }
  return { profiles };
}

/** The issue's targets: ≥ 2× espota2's method at 20 ms RTT, ≥ 90 % of the practical limit everywhere. */
export function esphomeTargets(result: EsphomeBenchResult): TargetResult[] {
  const t: TargetResult[] = [];
  for (const p of result.profiles) {
    t.push({
      id: `esphome/practical/rtt${p.rttMs}`,
      description: `ESPHome: airflash reaches ≥ 90 % of the minimal streaming client (${p.rttMs} ms RTT)`,
      value: p.ofPractical,
      threshold: '≥ 0.9',
      ok: p.ofPractical !== null && p.ofPractical >= 0.9,
    });
    if (p.rttMs === 20)
      t.push({
        id: 'esphome/speedup/rtt20',
        description: "ESPHome: airflash ≥ 2× espota2.py's method (stop-and-wait per 8 KiB ack) at 20 ms RTT",
        value: p.speedup,
        threshold: '≥ 2',
        ok: p.speedup !== null && p.speedup >= 2,
      });
  }
  return t;
}
