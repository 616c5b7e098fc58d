/**
 * Child processes of the benchmark: the emulator (`airflash emulate --json`), the built CLI
 * (`airflash upload --json`), the stop-and-wait reference and espota.py. Every client runs in its
 * own process, separate from the emulator's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = new URL('../..', import.meta.url).pathname;
const CLI = join(ROOT, 'bin', 'airflash.js');
const CLI_SOURCE = join(ROOT, 'src', 'cli', 'run.ts');
const STOP_AND_WAIT = join(ROOT, 'bench', 'stop-and-wait.ts');

export interface EmuEvent {
  event: string;
  address: string;
  port?: number;
  md5?: string;
  partition?: string;
  text?: string;
  /** Bench clock (performance.now()) when the line arrived. */
  at: number;
}

/** A running `airflash emulate --json` process and the events it printed. */
export class EmulatorProcess {
  readonly child: ChildProcess;
  readonly events: EmuEvent[] = [];
  /** address → UDP port, from the `listening` events (kept across clear()). */
  private readonly ports = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private exited = false;
  stderr = '';

  private constructor(child: ChildProcess) {
    this.child = child;
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    rl.on('line', (line) => {
      let e: EmuEvent;
      try {
        e = { ...(JSON.parse(line) as Omit<EmuEvent, 'at'>), at: performance.now() };
      } catch {
        return;
      }
      if (e.event === 'progress') return;
      if (e.event === 'listening' && e.port !== undefined) this.ports.set(e.address, e.port);
      this.events.push(e);
      for (const w of [...this.waiters]) w();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    child.on('exit', () => {
      this.exited = true;
      for (const w of [...this.waiters]) w();
    });
  }

  /**
   * Start the emulator with `args` (after `emulate --json`); resolves when `devices` listen.
   * `fromSource`: run src/cli/run.ts through tsx instead of the built CLI (tests need no build).
   */
  static async start(args: string[], devices = 1, fromSource = false): Promise<EmulatorProcess> {
    const entry = fromSource ? ['--import', 'tsx', CLI_SOURCE] : [CLI];
    const child = spawn(process.execPath, [...entry, 'emulate', '--json', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const emu = new EmulatorProcess(child);
    try {
      await emu.waitFor((e) => e.event === 'listening', 20_000, 0, devices);
      await emu.waitFor((e) => e.event === 'booted', 20_000, 0, devices);
    } catch (error) {
      await emu.close();
      throw new Error(`the emulator did not start (${args.join(' ')}): ${emu.stderr || String(error)}`);
    }
    return emu;
  }

  /** Port of the device at `address`. */
  port(address: string): number {
    const port = this.ports.get(address);
    if (port === undefined) throw new Error(`no device listens on ${address}`);
    return port;
  }

  addresses(): string[] {
    return [...this.ports.keys()];
  }

  /** Forget the events seen so far (long runs); cursors taken before are invalid afterwards. */
  clear(): void {
    this.events.length = 0;
  }

  /** Index of the next event (a cursor for waitFor). */
  cursor(): number {
    return this.events.length;
  }

  /** Wait until `count` events from `from` on match `match`; returns the last of them. */
  waitFor(match: (e: EmuEvent) => boolean, timeoutMs: number, from = 0, count = 1): Promise<EmuEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.events.slice(from).filter(match);
        if (found.length >= count) {
          done();
          resolve(found[count - 1] as EmuEvent);
          return true;
        }
        if (this.exited) {
          done();
          reject(new Error(`the emulator exited: ${this.stderr}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timeout waiting for an emulator event (${timeoutMs} ms)`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter = (): void => {
        check();
      };
      this.waiters.add(waiter);
      check();
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface ClientRun {
  ok: boolean;
  /** Error code when the client reported one. */
  code: string | null;
  /** The time compared across clients, ms: the process wall time, for every client alike. */
  ms: number;
  /** The client's own measure (first invitation → OK), when it prints one. */
  ownMs?: number;
  /** Wall time of the whole process (start-up included), ms. */
  wallMs: number;
  /** Peak resident set size of the client process, KiB (when measured). */
  maxRssKiB?: number;
  /** The device confirmed the image (update-complete with the image's MD5). */
  verified: boolean;
  message?: string;
}

export interface ProcResult {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  maxRssKiB?: number;
}

const TIME_BIN = '/usr/bin/time';

/** Run a command to its end; with `measureRss` wrapped in /usr/bin/time (or /proc polling). */
export async function runProcess(
  command: string,
  args: string[],
  options: { measureRss?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ProcResult> {
  let cmd = command;
  let argv = args;
  let rssFile: string | undefined;
  const useTime = options.measureRss === true && existsSync(TIME_BIN);
  if (useTime) {
    rssFile = join(tmpdir(), `airflash-bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
    cmd = TIME_BIN;
    argv = ['-f', '%M', '-o', rssFile, command, ...args];
  }
  const started = performance.now();
  const child = spawn(cmd, argv, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
  });
  let polledHwm = 0;
  const poll =
    options.measureRss === true && !useTime
      ? setInterval(() => {
          void readFile(`/proc/${child.pid}/status`, 'utf8')
            .then((s) => {
              const m = /VmHWM:\s+(\d+)/.exec(s);
              if (m) polledHwm = Math.max(polledHwm, Number(m[1]));
            })
            .catch(() => {});
        }, 20)
      : undefined;
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  if (poll) clearInterval(poll);
  const wallMs = performance.now() - started;
  let maxRssKiB: number | undefined;
  if (rssFile) {
    const text = await readFile(rssFile, 'utf8').catch(() => '');
    await rm(rssFile, { force: true });
    const n = Number(text.trim().split('\n').at(-1));
    if (Number.isFinite(n) && n > 0) maxRssKiB = n;
  } else if (polledHwm > 0) maxRssKiB = polledHwm;
  return { code, stdout, stderr, wallMs, ...(maxRssKiB === undefined ? {} : { maxRssKiB }) };
}

/** One JSON line of a client's output (`airflash --json`, the stop-and-wait CLI). */
export interface JsonLine {
  type?: string;
  /** true/false in a result; a count in a fleet summary. */
  ok?: unknown;
  failed?: unknown;
  code?: string | null;
  message?: string;
  seconds?: number;
  durationMs?: number;
  bytes?: number;
  [key: string]: unknown;
}

/** The last `{"type":"result"...}` line of a JSON-lines output. */
export function resultLine(stdout: string): JsonLine | undefined {
  const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const o = JSON.parse(lines[i] as string) as JsonLine;
      if (o.type === 'result' || o.type === 'summary') return o;
    } catch {
      // not JSON
    }
  }
  return undefined;
}

export function airflashArgs(extra: string[]): [string, string[]] {
  return [process.execPath, [CLI, ...extra]];
}

export function stopAndWaitArgs(extra: string[]): [string, string[]] {
  return [process.execPath, ['--import', 'tsx', STOP_AND_WAIT, ...extra]];
}

/** Lines of JSON objects in `stdout` with `type` = `type`. */
export function jsonLines(stdout: string, type: string): JsonLine[] {
  const out: JsonLine[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const o = JSON.parse(line) as JsonLine;
      if (o.type === type) out.push(o);
    } catch {
      // skip
    }
  }
  return out;
}
