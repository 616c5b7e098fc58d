/**
 * Helpers for the dashboard tests: a generated firmware image, and Debian's Chromium driven by
 * playwright-core (a browser download cannot work here). When /usr/bin/chromium is missing the
 * browser tests are skipped, saying so.
 */
import { existsSync } from 'node:fs';
import { buildEsp32App } from '../../src/formats/index.ts';

/** A valid ESP32 application image of about `size` bytes (deterministic for a seed). */
export function firmwareImage(size: number, seed = 1, version = `1.0.${seed}`): Uint8Array {
  return buildEsp32App({ chip: 'esp32', size, seed, projectName: 'airflash-demo', version });
}

export const CHROMIUM_PATH = process.env['AIRFLASH_CHROMIUM'] ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserSkipReason(): string | undefined {
  if (!existsSync(CHROMIUM_PATH)) {
    return `${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install chromium) to run the browser tests`;
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
];

/** Launch Chromium headless through playwright-core. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}
