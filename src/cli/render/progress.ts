/**
 * Rendering of upload events for the CLI: a bar on a terminal, plain lines otherwise, or JSON
 * lines on stdout (`--json`: stdout carries only JSON objects, human text goes to stderr).
 * Reusable by the fleet upload and the probe commands (`device` is added to every JSON object).
 */
import type { Writable } from 'node:stream';
import type { UploadEvent, UploadPhase } from '../../upload/index.ts';
import type { DiagnosisView } from './diagnosis.ts';
import { safeBlock, safeJson, safeText } from './safe-text.ts';

export type OutputMode = 'json' | 'bar' | 'plain';

export interface ResultRecord {
  ok: boolean;
  code: string | null;
  message: string;
  diagnosis: DiagnosisView | null;
  seconds: number;
  bytes: number;
  loopPeriodMs?: number;
  /** The protocol that carried the upload, when not the family default (ArduinoOTA). */
  protocol?: string;
}

export interface UploadRenderer {
  event(e: UploadEvent): void;
  /** A human note (argument notes, debug lines); stderr in every mode. */
  note(text: string): void;
  result(r: ResultRecord, humanDetail?: string): void;
}

export interface RendererOptions {
  stdout: Writable;
  stderr: Writable;
  mode: OutputMode;
  /** "127.0.0.1:3232", used in human phase lines. */
  label: string;
  /** Fleet: added to every JSON object and prefixed to human lines. */
  device?: string;
  /** Bar width in characters (default 30). */
  width?: number;
}

export function chooseMode(o: { json?: boolean; progress?: boolean; isTTY: boolean }): OutputMode {
  if (o.json) return 'json';
  return o.progress || o.isTTY ? 'bar' : 'plain';
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

export function phaseText(phase: UploadPhase, label: string): string | undefined {
  switch (phase) {
    case 'resolve':
      return `Resolving ${label}`;
    case 'prepare':
      return 'Reading the image';
    case 'preflight':
      return 'Checking the image (pre-flight)';
    case 'invite':
      return `Inviting ${label}`;
    case 'auth':
      return 'Authenticating';
    case 'connect':
      return 'Waiting for the device to connect back';
    case 'transfer':
      return 'Uploading';
    case 'result':
      return 'Waiting for the device to confirm';
    case 'done':
      return undefined;
  }
}

/** `[=========>          ]  45%` */
export function bar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.floor(f * width);
  const head = full < width ? '>' : '';
  return `[${'='.repeat(full)}${head}${' '.repeat(Math.max(0, width - full - head.length))}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

export function createRenderer(options: RendererOptions): UploadRenderer {
  const { stdout, stderr, mode, label } = options;
  const width = options.width ?? 30;
  const prefix = options.device ? `${options.device}: ` : '';
  const json = (obj: Record<string, unknown>): void => {
    stdout.write(`${safeJson(options.device ? { ...obj, device: options.device } : obj)}\n`);
  };
  let barShown = false;
  let lastBarAt = 0;
  let lastPercentLine = -1;
  let transferStart = 0;
  const clearBar = (): void => {
    if (barShown) {
      stderr.write('\r\x1b[2K');
      barShown = false;
    }
  };
  const line = (text: string): void => {
    clearBar();
    stderr.write(`${safeBlock(`${prefix}${text}`)}\n`);
  };
  let flashingShown = false;
  const drawBar = (bytes: number, total: number, force: boolean, flashing: boolean): void => {
    const now = Date.now();
    if (!force && now - lastBarAt < 100) return;
    lastBarAt = now;
    const secs = Math.max(0.001, (now - transferStart) / 1000);
    const rate = bytes / secs;
    const tail =
      flashing && bytes < total
        ? '  all sent; the device is writing what it holds to flash'
        : `  ${formatBytes(Math.round(rate))}/s`;
    stderr.write(
      `\r\x1b[2K${safeBlock(prefix)}Uploading ${bar(total === 0 ? 1 : bytes / total, width)}  ${formatBytes(bytes)} / ${formatBytes(total)} confirmed${tail}`,
    );
    barShown = true;
    if (total > 0 && bytes >= total) {
      // Keep the finished bar on screen.
      stderr.write('\n');
      barShown = false;
    }
  };

  return {
    event(e) {
      switch (e.type) {
        case 'phase':
          if (mode === 'json') json({ type: 'phase', phase: e.phase });
          else {
            if (e.phase === 'transfer') transferStart = Date.now();
            const text = phaseText(e.phase, label);
            if (text !== undefined && !(mode === 'bar' && e.phase === 'transfer')) line(`${text}...`);
          }
          break;
        case 'progress': {
          const flashing = e.stage === 'flashing';
          if (mode === 'json')
            json({
              type: 'progress',
              bytes: e.bytes,
              total: e.total,
              sent: e.sent,
              ...(e.stage ? { stage: e.stage } : {}),
            });
          else if (mode === 'bar') drawBar(e.bytes, e.total, e.bytes === e.total || flashing, flashing);
          else {
            if (flashing && !flashingShown && e.bytes < e.total) {
              flashingShown = true;
              line(
                `All ${formatBytes(e.sent)} sent; the device confirmed ${formatBytes(e.bytes)} and is writing the rest it holds to flash`,
              );
            }
            const pct = e.total === 0 ? 100 : Math.floor((100 * e.bytes) / e.total);
            const step = Math.floor(pct / 10) * 10;
            if (step > lastPercentLine) {
              lastPercentLine = step;
              line(`Uploading: ${step}% (${formatBytes(e.bytes)} of ${formatBytes(e.total)} confirmed)`);
            }
          }
          break;
        }
        case 'debug':
          line(`  +${(e.at / 1000).toFixed(3)}s ${safeText(e.text)}`);
          break;
        case 'warning':
          if (mode === 'json') json({ type: 'warning', code: e.code, message: e.message });
          else line(`warning: ${e.message}`);
          break;
        case 'hint':
          line(`note: ${e.message}`);
          break;
        case 'retry':
          line(`attempt ${e.attempt} of ${e.of} failed (${e.code}: ${e.message}); trying again`);
          lastPercentLine = -1;
          flashingShown = false;
          break;
      }
    },
    note(text) {
      line(text);
    },
    result(r, humanDetail) {
      clearBar();
      if (mode === 'json') {
        json({
          type: 'result',
          ok: r.ok,
          code: r.code,
          message: r.message,
          diagnosis: r.diagnosis,
          seconds: r.seconds,
          bytes: r.bytes,
          ...(r.loopPeriodMs === undefined ? {} : { loopPeriodMs: r.loopPeriodMs }),
          ...(r.protocol === undefined ? {} : { protocol: r.protocol }),
        });
        if (!r.ok && humanDetail) stderr.write(safeBlock(humanDetail));
        return;
      }
      if (r.ok) stdout.write(`${safeBlock(`${prefix}${r.message}`)}\n`);
      else if (humanDetail) stderr.write(safeBlock(humanDetail));
    },
  };
}
