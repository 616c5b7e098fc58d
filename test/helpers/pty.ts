/**
 * A pty pair made by Debian's socat (`socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`):
 * the emulated board opens one end, airflash's `serialport` the other, like a USB adapter.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PtyPair {
  host: string;
  device: string;
  close(): Promise<void>;
}

export async function ptyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'airflash-pty-'));
  const host = join(dir, 'host');
  const device = join(dir, 'device');
  const child: ChildProcess = spawn(
    'socat',
    ['-d', '-d', `pty,raw,echo=0,link=${host}`, `pty,raw,echo=0,link=${device}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (e) =>
      reject(new Error(`socat could not start (apt-get install socat): ${e.message}`)),
    );
  });
  failed.catch(() => {});
  const deadline = Date.now() + 5000;
  while (!(existsSync(host) && existsSync(device))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill();
      await Promise.race([failed, sleep(10)]);
      throw new Error('socat made no pty pair within 5 s');
    }
    await Promise.race([failed, sleep(20)]);
  }
  return {
    host,
    device,
    async close() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill();
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
