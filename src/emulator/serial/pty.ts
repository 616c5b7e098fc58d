import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AirflashError } from '../../core/errors.ts';

/** A pseudo-terminal pair: `host` for airflash (or any serial tool), `device` for the emulated board. */
interface PtyPair {
  host: string;
  device: string;
  close(): Promise<void>;
}

/**
 * A pty pair made by socat (`socat -d -d pty,raw,echo=0,link=HOST pty,raw,echo=0,link=DEVICE`,
 * Debian package `socat`), linked under a fresh temporary folder; `close()` stops socat and
 * removes the links.
 */
async function ptyPair(options: { timeoutMs?: number } = {}): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'airflash-pty-'));
  const host = join(dir, 'host');
  const device = join(dir, 'device');
  const child: ChildProcess = spawn(
    'socat',
    ['-d', '-d', `pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${device}`],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    spawnError = e;
  });
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  while (!(existsSync(host) && existsSync(device))) {
    if (spawnError || child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
      throw new AirflashError(
        'SERIAL_UNAVAILABLE',
        spawnError ? `socat could not start: ${spawnError.message}` : 'socat made no pty pair.',
        { hint: 'Install socat (Debian/Ubuntu: apt-get install socat).' },
      );
    }
    await sleep(20);
  }
  return {
    host,
    device,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill();
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { type PtyPair, ptyPair };
