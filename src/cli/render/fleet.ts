/** The fleet upload's output: JSON lines, a live multi-line display, or plain lines. */
import type { FleetEvent, FleetSummary } from '../../fleet/fleet.ts';
import type { CliIO } from '../types.ts';
import { safeBlock, safeJson, safeText } from './safe-text.ts';

interface Line {
  name: string;
  phase: string;
  bytes: number;
  total: number;
  done: boolean;
}

const PHASE_TEXT: Record<string, string> = {
  queued: 'waiting',
  probe: 'probing',
  resolve: 'resolving',
  prepare: 'reading the image',
  preflight: 'checking',
  invite: 'inviting',
  auth: 'authenticating',
  connect: 'waiting for the connect-back',
  transfer: 'uploading',
  result: 'waiting for OK',
  done: 'done',
  'retry-wait': 'retrying soon',
  'reboot-wait': 'waiting for it to come back',
};

function bar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.floor(f * width);
  return `[${'='.repeat(full)}${full < width ? '>' : ''}${' '.repeat(Math.max(0, width - full - 1))}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

/**
 * The most likely cause and the first next step from whatever the diagnosis returned (the
 * diagnosis module's `{ summary, causes: [{ title, next: [...] }] }`, or the basic one).
 */
export function diagnosisText(diagnosis: unknown): { why?: string; next?: string } {
  if (typeof diagnosis !== 'object' || diagnosis === null) return {};
  const { summary, causes } = diagnosis as { summary?: unknown; causes?: unknown };
  const out: { why?: string; next?: string } = {};
  const first: unknown = Array.isArray(causes) ? causes[0] : undefined;
  if (typeof first === 'object' && first !== null) {
    const { title, next } = first as { title?: unknown; next?: unknown };
    if (typeof title === 'string') out.why = title;
    else if (typeof summary === 'string') out.why = summary;
    if (typeof next === 'string') out.next = next;
    else if (Array.isArray(next) && typeof next[0] === 'string') out.next = next[0];
  } else if (typeof summary === 'string') out.why = summary;
  return out;
}

export type FleetRenderMode = 'json' | 'live' | 'plain';

export class FleetRenderer {
  private readonly lines = new Map<string, Line>();
  private drawn = 0;
  private lastDraw = 0;
  private readonly percentShown = new Map<string, number>();
  private readonly jsonPercent = new Map<string, number>();
  readonly events: FleetEvent[] = [];
  private readonly io: CliIO;
  private readonly mode: FleetRenderMode;
  private readonly width: number;
  private readonly keepEvents: boolean;

  constructor(io: CliIO, mode: FleetRenderMode, keepEvents: boolean, names: string[]) {
    this.io = io;
    this.mode = mode;
    this.keepEvents = keepEvents;
    this.width = Math.min(32, Math.max(8, ...names.map((n) => n.length)));
  }

  /** Device names, devices-file names and device texts are in there: printed escaped. */
  private err(text: string): void {
    this.io.stderr.write(safeBlock(text));
  }

  /** Keep progress to one event per device and 5 % step (JSON and the report). */
  private worthKeeping(e: FleetEvent): boolean {
    if (e.type === 'retry') this.jsonPercent.delete(e.device);
    if (e.type !== 'progress') return true;
    const step = e.total === 0 ? 20 : Math.floor((20 * e.bytes) / e.total);
    if (this.jsonPercent.get(e.device) === step) return false;
    this.jsonPercent.set(e.device, step);
    return true;
  }

  event(e: FleetEvent): void {
    const keep = this.worthKeeping(e);
    if (keep && this.keepEvents) this.events.push(e);
    if (this.mode === 'json') {
      if (keep) this.io.stdout.write(`${safeJson(e)}\n`);
      return;
    }
    if (this.mode === 'live') this.live(e);
    else this.plain(e);
  }

  private label(name: string): string {
    return name.length > this.width ? `${name.slice(0, this.width - 1)}…` : name.padEnd(this.width);
  }

  private resultLine(e: Extract<FleetEvent, { type: 'result' }>): string {
    const mark =
      e.status === 'ok'
        ? 'ok     '
        : e.status === 'failed'
          ? 'FAILED '
          : e.status === 'skipped'
            ? 'skipped'
            : e.status === 'planned'
              ? 'plan   '
              : 'aborted';
    const detail = e.ok || e.code === null ? e.message : `${e.code}: ${e.message}`;
    let text = `${this.label(e.device)}  ${mark}  ${detail}`;
    if (e.status === 'failed') {
      const d = diagnosisText(e.diagnosis);
      if (d.why && d.why !== e.message) text += `\n${' '.repeat(this.width + 11)}likely: ${d.why}`;
      if (d.next) text += `\n${' '.repeat(this.width + 11)}next: ${d.next}`;
    }
    return `${text}\n`;
  }

  private plain(e: FleetEvent): void {
    switch (e.type) {
      case 'plan':
        if (e.action === 'skip') this.err(`${e.device}: ${e.message}\n`);
        break;
      case 'phase':
        if (e.phase === 'probe' || e.phase === 'transfer' || e.phase === 'reboot-wait')
          this.err(`${e.device}: ${PHASE_TEXT[e.phase]}\n`);
        break;
      case 'progress': {
        const pct = e.total === 0 ? 100 : Math.floor((100 * e.bytes) / e.total);
        const step = Math.floor(pct / 25) * 25;
        if (step > (this.percentShown.get(e.device) ?? -1) && step > 0) {
          this.percentShown.set(e.device, step);
          this.err(`${e.device}: ${step}%\n`);
        }
        break;
      }
      case 'warning':
        this.err(`${e.device ?? 'image'}: warning: ${e.message}\n`);
        break;
      case 'hint':
        this.err(`${e.device}: note: ${e.message}\n`);
        break;
      case 'retry':
        this.percentShown.delete(e.device);
        this.err(
          `${e.device}: attempt ${e.attempt} of ${e.of} failed (${e.code}); again in ${(e.delayMs / 1000).toFixed(1)} s\n`,
        );
        break;
      case 'result':
        this.err(this.resultLine(e));
        break;
      case 'stopped':
        this.err(`rollout stopped: ${e.message}\n`);
        break;
      case 'summary':
        break;
    }
  }

  private live(e: FleetEvent): void {
    const permanent: string[] = [];
    switch (e.type) {
      case 'plan':
        this.lines.set(e.device, { name: e.device, phase: 'queued', bytes: 0, total: 0, done: false });
        return;
      case 'phase': {
        const l = this.lines.get(e.device);
        if (l) l.phase = e.phase;
        break;
      }
      case 'progress': {
        const l = this.lines.get(e.device);
        if (l) {
          l.bytes = e.bytes;
          l.total = e.total;
        }
        break;
      }
      case 'warning':
        permanent.push(`${e.device ?? 'image'}: warning: ${e.message}\n`);
        break;
      case 'hint':
        break;
      case 'retry': {
        const l = this.lines.get(e.device);
        if (l) l.bytes = 0;
        permanent.push(
          `${this.label(e.device)}  retry    attempt ${e.attempt} of ${e.of} failed (${e.code}: ${e.message})\n`,
        );
        break;
      }
      case 'result': {
        const l = this.lines.get(e.device);
        if (l) l.done = true;
        permanent.push(this.resultLine(e));
        break;
      }
      case 'stopped':
        permanent.push(`rollout stopped: ${e.message}\n`);
        break;
      case 'summary':
        break;
    }
    const now = Date.now();
    if (permanent.length === 0 && e.type !== 'summary' && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.redraw(permanent, e.type === 'summary');
  }

  private redraw(permanent: string[], final: boolean): void {
    // The cursor movements are ours; everything else is escaped.
    let out = this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[0J` : '';
    out += permanent.map(safeBlock).join('');
    const active = [...this.lines.values()].filter((l) => !l.done && l.phase !== 'queued');
    const waiting = [...this.lines.values()].filter((l) => !l.done && l.phase === 'queued').length;
    const done = [...this.lines.values()].filter((l) => l.done).length;
    const rows: string[] = [];
    if (!final) {
      for (const l of active) {
        const frac = l.total > 0 ? l.bytes / l.total : 0;
        rows.push(`${this.label(l.name)}  ${bar(frac, 24)}  ${PHASE_TEXT[l.phase] ?? l.phase}`);
      }
      rows.push(`${done} of ${this.lines.size} done, ${active.length} running, ${waiting} waiting`);
    }
    out += rows.map((r) => `${safeText(r)}\x1b[K\n`).join('');
    this.drawn = rows.length;
    this.io.stderr.write(out);
  }
}

export function summaryText(s: FleetSummary): string {
  const parts = [
    `${s.ok} updated`,
    `${s.failed} failed`,
    `${s.skipped} skipped (offline)`,
    `${s.aborted} not started`,
  ];
  if (s.dryRun)
    return `dry run: ${s.devices.planned.length} device(s) would be updated, ${s.failed} cannot be (refused by the pre-flight, or see the device's line); nothing was sent.\n`;
  return `${parts.join(', ')} in ${s.seconds.toFixed(1)} s${s.stopped ? ` — rollout stopped (${s.stopped.reason}): ${s.stopped.message}` : ''}\n`;
}
