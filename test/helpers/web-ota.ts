/** Shared by the web-OTA tests: an emulated web updater for the length of a test, its URL, fast timeouts. */
import { startDevice } from '../../src/emulator/index.ts';
import type { WebDevice } from '../../src/emulator/web-device.ts';

export const SCALE = 0.05;

type Opts = Parameters<typeof startDevice>[0];
export async function withWeb<T>(options: Opts, fn: (d: WebDevice) => Promise<T>): Promise<T> {
  const d = (await startDevice({ protocol: 'http', port: 0, timeScale: SCALE, ...options })) as WebDevice;
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

export const url = (d: { address: string; port: number }): string => `http://${d.address}:${d.port}`;

/** The device's time scale, and budgets that hold on a loaded machine (deadlines poll, they cost nothing). */
export const fast = { timeScale: SCALE, httpTimeouts: { connectMs: 20_000, backOnlineMs: 200_000 } };
