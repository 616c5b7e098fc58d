/**
 * Helpers for the dashboard tests: a generated firmware image, and Debian's Chromium driven by
 * playwright-core (a browser download cannot work here). When /usr/bin/chromium is missing the
 * browser tests are skipped, saying so, except in CI (`CI` set, as .ci/run does): there a missing
 * browser fails them, so a run without a browser cannot pass as green.
 */
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { buildEsp32App } from '../../src/formats/index.ts';

/** A valid ESP32 application image of about `size` bytes (deterministic for a seed). */
export function firmwareImage(size: number, seed = 1, version = `1.0.${seed}`): Uint8Array {
  return buildEsp32App({ chip: 'esp32', size, seed, projectName: 'airflash-demo', version });
}

export const CHROMIUM_PATH = process.env['AIRFLASH_CHROMIUM'] ?? '/usr/bin/chromium';

/** Whether `CI` says this is a CI run (any value but empty, "0" or "false"). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env['CI'];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * Why the browser tests cannot run here, or undefined when they must run: Chromium is there, or
 * this is CI (then `launchChromium` fails, saying why).
 */
export function browserSkipReason(
  env: NodeJS.ProcessEnv = process.env,
  path = CHROMIUM_PATH,
): string | undefined {
  if (!existsSync(path) && !inCi(env)) {
    return `${path} is missing: install Debian's chromium (apt-get install chromium) to run the browser tests`;
  }
  return undefined;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // No name lookups leave the machine (Chromium asks for Google hosts at start otherwise).
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE 127.0.0.2, EXCLUDE localhost',
  '--dns-prefetch-disable',
];

/** Launch Chromium headless through playwright-core. */
export async function launchChromium() {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `CI is set and ${CHROMIUM_PATH} is missing: the browser tests cannot be skipped in CI (install chromium, or set AIRFLASH_CHROMIUM)`,
    );
  }
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/**
 * The MD5 of the image an emulated device runs, once it booted `md5` (it reboots just after its
 * `OK`, so right after a successful upload it may still run the old one). Gives up after `ms`
 * and returns what it runs then.
 */
export async function bootedMd5(
  device: { runningImageMd5(): string },
  md5: string,
  ms = 5000,
): Promise<string> {
  const deadline = Date.now() + ms;
  while (device.runningImageMd5() !== md5 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return device.runningImageMd5();
}

/**
 * Poll a browser-side expression until it is truthy. (page.waitForFunction with text would run
 * eval() inside the page, which the dashboard's Content-Security-Policy rightly forbids.)
 */
export async function waitFor(expression: string, timeoutMs: number, on: Page): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await on.evaluate(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${expression}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The selector of a device's row in the dashboard's table. */
export function deviceRow(id: string): string {
  return `#devices tbody tr[data-device-id="${id}"]`;
}

/** Choose a file in the dashboard page's firmware input. */
export async function chooseFile(on: Page, name: string, bytes: Uint8Array): Promise<void> {
  await on.setInputFiles('#firmware-input', {
    name,
    mimeType: 'application/octet-stream',
    buffer: Buffer.from(bytes),
  });
}
