/**
 * Shared pieces of the fleet tests: the 20-device scenario (mixed cores, passwords and faults),
 * and an `airflash emulate --fleet` child process whose own events are counted per device.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Emulator time scale of the fleet tests (every device delay × this). */
export const TIME_SCALE = 0.1;

/**
 * Time scale given to the uploader: its waits (stall, invitation attempt, probe) are 5× longer
 * than the devices need, so a loaded test machine does not turn a slow answer into a retry.
 */
export const UPLOADER_SCALE = 0.1;

export function md5(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

/** One emulated device of a scenario, in emulate --fleet file form (also valid DeviceOptions). */
export interface ScenarioDevice {
  name: string;
  /** What the fleet upload should report for it. */
  expect: 'ok' | 'failed' | 'skipped';
  /** The code of a failed / skipped device. */
  code?: string;
  /** Password the devices file gives (when different from the device's). */
  targetPassword?: string;
  /** Core the devices file states (omitted = unknown to the uploader). */
  listedCore?: 'esp32' | 'esp32-legacy' | 'esp8266';
  spec: {
    core: 'esp32' | 'esp32-legacy' | 'esp8266';
    address: string;
    port: 0;
    timeScale: number;
    password?: string;
    faults?: string[];
    faultEvery?: boolean;
    loopMs?: number;
    window?: number;
  };
}

/**
 * Twenty devices on 127.0.<net>.1–20: esp32 and esp32-legacy with and without passwords, one
 * with a slow loop(), one offline, one given the wrong password, one that stalls once (its large
 * TCP window lets it see the host close; see docs/fleet.md), one that cuts every upload, and an
 * ESP8266 the devices file lists as such (the ESP32 image is refused for it before any traffic).
 */
export function scenario(net: number): ScenarioDevice[] {
  const a = (i: number): string => `127.0.${net}.${i}`;
  const base = (i: number, core: ScenarioDevice['spec']['core']) =>
    ({ core, address: a(i), port: 0, timeScale: TIME_SCALE }) as const;
  const list: ScenarioDevice[] = [];
  for (let i = 1; i <= 6; i++) list.push({ name: `hall-${i}`, expect: 'ok', spec: { ...base(i, 'esp32') } });
  for (let i = 7; i <= 10; i++)
    list.push({ name: `kitchen-${i}`, expect: 'ok', spec: { ...base(i, 'esp32'), password: `pw-${i}` } });
  for (let i = 11; i <= 14; i++)
    list.push({
      name: `legacy-${i}`,
      expect: 'ok',
      listedCore: 'esp32-legacy',
      spec: { ...base(i, 'esp32-legacy'), ...(i <= 12 ? { password: `old-${i}` } : {}) },
    });
  list.push({
    name: 'attic-offline',
    expect: 'skipped',
    code: 'DEVICE_OFFLINE',
    spec: { ...base(15, 'esp32'), faults: ['offline'] },
  });
  list.push({
    name: 'garage-wrongpw',
    expect: 'failed',
    code: 'AUTH_FAILED',
    targetPassword: 'not-the-password',
    spec: { ...base(16, 'esp32'), password: 'right-password' },
  });
  list.push({
    name: 'porch-stall-once',
    expect: 'ok',
    spec: { ...base(17, 'esp32-legacy'), faults: ['stall@40'], window: 1 << 20 },
  });
  list.push({
    name: 'shed-cut-always',
    expect: 'failed',
    code: 'INCOMPLETE',
    spec: { ...base(18, 'esp32'), faults: ['drop@50'], faultEvery: true },
  });
  list.push({
    name: 'pond-esp8266',
    expect: 'failed',
    code: 'PREFLIGHT_WRONG_CHIP',
    listedCore: 'esp8266',
    spec: { ...base(19, 'esp8266') },
  });
  list.push({ name: 'cellar-slowloop', expect: 'ok', spec: { ...base(20, 'esp32'), loopMs: 300 } });
  return list;
}

export interface DeviceTally {
  invitations: number;
  authFailed: number;
  updateStarts: number;
  updateCompletes: number;
  booted: number;
}

/** `airflash emulate --fleet FILE --json` in a child process; its events counted per address. */
export interface EmulatorProcess {
  child: ChildProcess;
  /** address → UDP port, from the `listening` events. */
  ports: Map<string, number>;
  tally(address: string): DeviceTally;
  close(): Promise<void>;
}

export async function startEmulatorProcess(
  dir: string,
  specs: ScenarioDevice['spec'][],
): Promise<EmulatorProcess> {
  const file = join(dir, 'emulated-fleet.json');
  await writeFile(file, JSON.stringify(specs));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/run.ts', 'emulate', '--fleet', file, '--json'],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const ports = new Map<string, number>();
  const tallies = new Map<string, DeviceTally>();
  const tally = (address: string): DeviceTally => {
    let t = tallies.get(address);
    if (!t) {
      t = { invitations: 0, authFailed: 0, updateStarts: 0, updateCompletes: 0, booted: 0 };
      tallies.set(address, t);
    }
    return t;
  };
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      let e: { event?: string; address?: string; port?: number };
      try {
        e = JSON.parse(line) as typeof e;
      } catch {
        return;
      }
      if (e.address === undefined) return;
      const t = tally(e.address);
      if (e.event === 'listening' && e.port !== undefined) {
        ports.set(e.address, e.port);
        if (ports.size === specs.length) resolve();
      } else if (e.event === 'invitation') t.invitations++;
      else if (e.event === 'auth-failed') t.authFailed++;
      else if (e.event === 'update-start') t.updateStarts++;
      else if (e.event === 'update-complete') t.updateCompletes++;
      else if (e.event === 'booted') t.booted++;
    });
    void exited.then(() => reject(new Error(`the emulator exited early: ${stderr}`)));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    await ready;
  } finally {
    clearTimeout(timer);
  }
  return {
    child,
    ports,
    tally,
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
