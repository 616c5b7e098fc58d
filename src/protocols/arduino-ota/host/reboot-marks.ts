/**
 * A device rebooting after ANOTHER airflash process's update (two PlatformIO runs one after the
 * other): the process that saw the device's `OK` leaves a small mark per device (`address:port`)
 * in the user's cache directory, and the next process's upload reads it to know the device is
 * rebooting (the reboot wait of handshake-timers.ts). Safety review: docs/upload.md "Right after
 * an update".
 *
 * A mark holds only the time of the `OK`, the image's MD5 and the loop period that upload showed
 * (whole ms, 0 when not slow), is written atomically (a private
 * temporary file renamed over the old one) with mode 0600 in a 0700 directory, and is read
 * defensively: not a regular file, not the user's own, over 256 bytes, not the exact shape, from
 * the future or older than the reboot window → ignored. It is trusted for nothing but "this
 * device may be rebooting": invite often for a while. Every error is swallowed (no mark).
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** Largest mark file read. */
const MARK_MAX_BYTES = 256;
/** A mark time this far ahead of the clock is still taken (clocks of one host; rounding). */
const FUTURE_SLACK_MS = 2_000;
/** Largest loop period a mark may hold (an hour). */
const LOOP_MAX_MS = 3_600_000;

export interface RebootMark {
  /** Epoch ms of the device's `OK`. */
  at: number;
  md5: string;
  /** The loop period the upload before the reboot showed (0: not slow); absent: unknown. */
  loopMs?: number;
}

/**
 * The directory of the marks: `$XDG_CACHE_HOME/airflash/reboots`, else
 * `$HOME/.cache/airflash/reboots`, else `<os.tmpdir()>/airflash-<uid>/reboots`.
 */
export function rebootMarkDir(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'airflash', 'reboots');
  const home = env['HOME'];
  if (home !== undefined && isAbsolute(home)) return join(home, '.cache', 'airflash', 'reboots');
  const uid = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  return join(tmpdir(), `airflash-${uid}`, 'reboots');
}

function markPath(dir: string, key: string): string {
  return join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
}

/** Leave the mark of a confirmed update; false when it could not be written. */
export async function writeRebootMark(dir: string, key: string, mark: RebootMark): Promise<boolean> {
  const tmp = join(dir, `.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = await open(tmp, 'wx', 0o600);
    try {
      const loop = mark.loopMs === undefined ? {} : { loopMs: Math.round(mark.loopMs) };
      await file.writeFile(JSON.stringify({ v: 1, at: Math.round(mark.at), md5: mark.md5, ...loop }));
    } finally {
      await file.close();
    }
    await rename(tmp, markPath(dir, key));
    return true;
  } catch {
    await rm(tmp, { force: true }).catch(() => {});
    return false;
  }
}

/** The mark of `key` when it is valid and younger than `windowMs`; undefined otherwise. */
export async function readRebootMark(
  dir: string,
  key: string,
  now: number,
  windowMs: number,
): Promise<RebootMark | undefined> {
  const path = markPath(dir, key);
  try {
    const st = await lstat(path);
    if (!st.isFile() || st.size > MARK_MAX_BYTES) return undefined;
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return undefined;
    const value: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const { v, at, md5, loopMs, ...rest } = value as Record<string, unknown>;
    if (v !== 1 || Object.keys(rest).length > 0) return undefined;
    if (typeof at !== 'number' || !Number.isFinite(at)) return undefined;
    if (typeof md5 !== 'string' || !/^[0-9a-f]{32}$/.test(md5)) return undefined;
    if (at > now + FUTURE_SLACK_MS || now - at >= windowMs) return undefined;
    if (loopMs === undefined) return { at, md5 };
    if (typeof loopMs !== 'number' || !Number.isInteger(loopMs) || loopMs < 0 || loopMs > LOOP_MAX_MS)
      return undefined;
    return { at, md5, loopMs };
  } catch {
    return undefined;
  }
}
