import { abortError } from '../../../core/abort.ts';

/** The handshake in progress per device (`address:port`) in this process, and its waiters. */
const held = new Map<string, Promise<void>>();

/**
 * Serialise handshakes with one device within this process: two uploaders that invite the same
 * device within milliseconds interleave their invitations and auth lines, and the device's nonce
 * changes under the first one (a false AUTH_FAILED). Held from the first invitation to the
 * connect-back only; the transfer runs unlocked (a busy device ignores other invitations anyway).
 * Resolves with the release function; rejects on abort while waiting.
 */
export async function lockDevice(key: string, signal: AbortSignal | undefined): Promise<() => void> {
  for (;;) {
    const current = held.get(key);
    if (current === undefined) break;
    await waitOrAbort(current, signal);
  }
  let release!: () => void;
  const mine = new Promise<void>((resolve) => {
    release = resolve;
  });
  held.set(key, mine);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (held.get(key) === mine) held.delete(key);
    release();
  };
}

/** The key of one device's lock: its address and OTA port. */
export function deviceKey(address: string, port: number): string {
  return `${address}:${port}`;
}

/**
 * Several ports of one device (a probe that asks 3232 and 8266): the locks are taken one by one in
 * a fixed (sorted) order, so two callers never hold one each while waiting for the other's.
 */
export async function lockDevices(
  keys: readonly string[],
  signal: AbortSignal | undefined,
): Promise<() => void> {
  const releases: (() => void)[] = [];
  try {
    for (const key of [...new Set(keys)].sort()) releases.push(await lockDevice(key, signal));
  } catch (error) {
    for (const r of releases) r();
    throw error;
  }
  return () => {
    for (const r of releases.reverse()) r();
  };
}

function waitOrAbort(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** When each device (`address:port`) last said OK at the end of an upload of this process (epoch ms),
 * and the loop period that upload showed (0: not slow). */
const updatedAt = new Map<string, { at: number; loopMs: number }>();

/** Remember that the device just confirmed an update: it reboots now. */
export function markUpdated(key: string, at: number = Date.now(), loopMs = 0): void {
  updatedAt.delete(key);
  updatedAt.set(key, { at, loopMs });
  if (updatedAt.size > 1024) updatedAt.delete(updatedAt.keys().next().value as string);
}

/** Epoch ms since the device's last confirmed update by this process, or undefined. */
export function sinceUpdated(key: string, now: number = Date.now()): number | undefined {
  const u = updatedAt.get(key);
  return u === undefined ? undefined : now - u.at;
}

/** The loop period the last confirmed update of the device by this process showed, or undefined. */
export function updatedLoopMs(key: string): number | undefined {
  return updatedAt.get(key)?.loopMs;
}
