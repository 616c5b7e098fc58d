/**
 * End to end in a real browser: Debian's Chromium (headless, via playwright-core) against the
 * dashboard with its demo fleet, all on loopback. Skipped, saying why, when /usr/bin/chromium is
 * missing. Set AIRFLASH_UPDATE_SCREENSHOT=1 to write docs/dashboard.png (the README's picture);
 * otherwise the screenshot goes to a temporary folder.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { type DemoFleet, startDemoFleet } from '../src/dashboard/demo.ts';
import { type Dashboard, startDashboard } from '../src/dashboard/index.ts';
import {
  bootedMd5,
  browserSkipReason,
  firmwareImage,
  launchChromium,
  deviceRow as row,
  waitFor as waitForPage,
} from './helpers/browser.ts';

const skip = browserSkipReason();
const UPDATED = ['kitchen-light', 'living-room', 'porch-sensor'];
const BLOCKED = 'weather-station';
const OFFLINE = 'attic-fan';
const LOCKED = 'greenhouse';
const PASSWORD = 'demo';

let dash: Dashboard;
let demo: DemoFleet;
let browser: Browser;
let page: Page;
let stateDir: string;
const pageErrors: string[] = [];

before(async () => {
  if (skip !== undefined) return;
  stateDir = await mkdtemp(join(tmpdir(), 'airflash-dash-e2e-'));
  dash = await startDashboard({ port: 0, stateDir, inviteTimeoutMs: 6000 });
  // A slow link (150 kB/s) so a 192 KiB image takes over a second: progress is visible.
  demo = await startDemoFleet(dash, { bandwidth: 150_000 });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1440, height: 980 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
});

after(async () => {
  if (skip !== undefined) return;
  await browser?.close();
  await dash?.close();
  await demo?.close();
  await rm(stateDir, { recursive: true, force: true });
});

const waitFor = (expression: string, timeoutMs = 10_000, on: Page = page): Promise<void> =>
  waitForPage(expression, timeoutMs, on);

test('the page lists the demo fleet, inspects a firmware, and updates devices live', { skip }, async () => {
  await page.goto(dash.url);
  await waitFor("document.querySelectorAll('#devices tbody tr').length === 12");
  await page.waitForSelector('#conn.live');
  // Devices that announce themselves over (the demo's) mDNS show as online; the offline one does not.
  await waitFor(
    `document.querySelector('tr[data-device-id="${UPDATED[0]}"] .state')?.textContent === 'online'`,
  );
  assert.notEqual(await page.textContent(`${row(OFFLINE)} .state`), 'online');
  // "Check" asks every device (they stay idle): the offline one is marked offline.
  await page.click('#probe');
  await waitFor(
    `document.querySelector('tr[data-device-id="${OFFLINE}"] .state')?.textContent === 'offline'`,
  );
  await waitFor(`document.querySelector('#probe').textContent === 'Check'`);
  // The demo's sample firmware is there to try right away.
  await waitFor(
    `document.querySelector('[data-testid=inspection]')?.textContent.includes('demo-firmware-1.1.0.bin')`,
  );
  assert.match((await page.textContent(`${row(LOCKED)} td.auth`)) ?? '', /password needed/);

  // Record every progress value each row shows (the table is re-rendered on each event).
  // Browser-side code is passed as text: the test runner's transpiler would add helpers to functions.
  await page.evaluate(`(() => {
    const seen = {};
    window.seen = seen;
    const record = () => {
      for (const td of document.querySelectorAll('td.run[data-pct]')) {
        const id = td.closest('tr')?.dataset.deviceId ?? '?';
        const pct = Number(td.dataset.pct);
        const list = (seen[id] ??= []);
        if (list[list.length - 1] !== pct) list.push(pct);
      }
    };
    new MutationObserver(record).observe(document.querySelector('#devices tbody'), {
      childList: true, subtree: true, attributes: true,
    });
  })()`);

  const selected = [...UPDATED, BLOCKED, OFFLINE, LOCKED];
  for (const id of selected) await page.check(`${row(id)} input[type=checkbox]`);
  assert.equal(await page.textContent('#selection'), `${selected.length} selected`);

  // Choose a firmware: it is inspected and checked against each selected device before sending.
  const image = firmwareImage(192 * 1024, 42, '2.0.0');
  const md5 = createHash('md5').update(image).digest('hex');
  await page.setInputFiles('#firmware-input', {
    name: 'weather-2.0.0.bin',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from(image),
  });
  await waitFor(
    `document.querySelector('[data-testid=inspection]')?.textContent.includes('weather-2.0.0.bin')`,
  );
  const inspection = (await page.textContent('[data-testid=inspection]')) ?? '';
  assert.match(inspection, new RegExp(md5));
  assert.match(inspection, /ESP32|esp32/);
  assert.match(inspection, /2\.0\.0/);
  for (const id of selected) {
    await page.waitForSelector(`${row(id)} td.fit[data-verdict="ok"]`);
  }
  // The ESP8266 is refused before anything is sent when it is selected.
  await page.check(`${row('garage-door')} input[type=checkbox]`);
  await page.waitForSelector(`${row('garage-door')} td.fit[data-verdict="refuse"]`);
  assert.match((await page.textContent(`${row('garage-door')} td.fit`)) ?? '', /ESP8266/);
  await page.uncheck(`${row('garage-door')} input[type=checkbox]`);

  // The password box appears for the device that needs one.
  await page.fill(`#pw-${LOCKED}`, PASSWORD);
  await page.fill('#parallel', String(selected.length));
  assert.match((await page.textContent('#update')) ?? '', /Update 6 devices/);
  await page.click('#update');

  // Wait for every selected device to end.
  const stateOf = `Object.fromEntries(${JSON.stringify(selected)}.map((id) => [id,
    document.querySelector('tr[data-device-id="' + id + '"] td.run')?.dataset.state]))`;
  await waitFor(
    `Object.values(${stateOf}).every((s) => s === 'ok' || s === 'failed' || s === 'skipped')`,
    30_000,
  );
  const states = (await page.evaluate(stateOf)) as Record<string, string>;
  assert.deepEqual(states, {
    'kitchen-light': 'ok',
    'living-room': 'ok',
    'porch-sensor': 'ok',
    [BLOCKED]: 'ok',
    [OFFLINE]: 'skipped',
    [LOCKED]: 'ok',
  });

  // Live progress: at least three distinct intermediate values per device, seen in the page.
  const seen = (await page.evaluate('window.seen')) as Record<string, number[]>;
  for (const id of UPDATED) {
    const intermediate = new Set((seen[id] ?? []).filter((p) => p > 0 && p < 100));
    assert.ok(intermediate.size >= 3, `${id}: progress values seen ${JSON.stringify(seen[id])}`);
    assert.equal(seen[id]?.at(-1), 100);
  }

  // Each updated device boots the file we chose (asked of the emulated devices themselves).
  for (const id of [...UPDATED, BLOCKED, LOCKED]) {
    const device = demo.devices.find((d) => d.name === id);
    assert.ok(device, id);
    assert.equal(await bootedMd5(device.handle, md5), md5, id);
  }
  const offline = demo.devices.find((d) => d.name === OFFLINE);
  assert.notEqual(offline?.handle.runningImageMd5(), md5);

  // The blocked-loop device was updated, with its loop-period warning shown.
  const warning = (await page.textContent(`${row(BLOCKED)} .warning[data-code=LOOP_PERIOD]`)) ?? '';
  assert.match(warning, /loop\(\) calls ArduinoOTA\.handle\(\) only about every \d/);
  assert.equal(demo.devices.find((d) => d.name === BLOCKED)?.handle.counters.updatesCompleted, 1);
  // The offline one is reported as such, with the reason; nothing was sent to it.
  const offlineText = (await page.textContent(`${row(OFFLINE)} td.run`)) ?? '';
  assert.match(offlineText, /offline: no answer/);
  assert.match(offlineText, /DEVICE_OFFLINE/);
  assert.equal(offline?.handle.counters.updatesStarted, 0);
  assert.equal(await page.textContent(`${row(OFFLINE)} .state`), 'offline');
  // Last firmware column and the "Retry failed" button.
  assert.match(
    (await page.textContent(`${row(UPDATED[0] as string)}`)) ?? '',
    /weather-2\.0\.0\.bin 2\.0\.0/,
  );
  assert.equal(await page.isVisible('#retry'), true);

  // The password was used and saved, and never shown by the page.
  const html = await page.content();
  assert.ok(!html.includes(`value="${PASSWORD}"`));
  assert.match((await page.textContent(`${row(LOCKED)} td.auth`)) ?? '', /saved/);
  assert.ok((await readFile(join(stateDir, 'passwords.json'), 'utf8')).includes(PASSWORD));

  // The picture of the fleet view (the README's screenshot).
  await page.click(`${row(OFFLINE)} details.diagnosis summary`);
  // "why?": each fact once, nothing the page cannot do (no command-line options).
  const whyTexts = (await page.evaluate(`[...document.querySelectorAll(
    'tr[data-device-id="${OFFLINE}"] td.run .label, tr[data-device-id="${OFFLINE}"] details.diagnosis :is(p, strong, li li)'
  )].map((e) => e.textContent.replace(/^seen: /, '').trim())`)) as string[];
  assert.ok(whyTexts.length >= 2, JSON.stringify(whyTexts));
  for (const text of whyTexts) assert.doesNotMatch(text, /(^|\s)--?[a-z]|AIRFLASH_/, text);
  const sentencesSeen = whyTexts.flatMap((t) => t.split(/(?<=\.)\s+/)).map((t) => t.replace(/^[✗–]\s*/, ''));
  assert.equal(new Set(sentencesSeen).size, sentencesSeen.length, JSON.stringify(sentencesSeen));
  // Auth: a device without a password says so, without a scheme or a "set" button.
  assert.equal((await page.textContent(`${row(UPDATED[0] as string)} td.auth`))?.trim(), 'no password');
  await page.mouse.move(0, 0);
  await page.evaluate("document.querySelector('#toast').hidden = true");
  const target = process.env['AIRFLASH_UPDATE_SCREENSHOT']
    ? fileURLToPath(new URL('../docs/dashboard.png', import.meta.url))
    : join(stateDir, 'dashboard.png');
  await page.screenshot({ path: target, fullPage: true });
  assert.ok((await stat(target)).size > 10_000);

  // History tab.
  await page.click('#tab-history');
  await page.waitForSelector('#history tbody tr.clickable');
  const history = (await page.textContent('#history tbody')) ?? '';
  assert.match(history, /weather-2\.0\.0\.bin/);
  assert.match(history, /5 ok · 0 failed · 1 skipped/);
  assert.deepEqual(pageErrors, []);
});

test('with a token on 127.0.0.2: the printed URL signs the page in, live events and changes work', {
  skip,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-dash-e2e-token-'));
  const secured = await startDashboard({
    host: '127.0.0.2',
    port: 0,
    token: 'browser-token-0123456789',
    stateDir: dir,
  });
  const context = await browser.newContext();
  const stranger = await browser.newContext();
  try {
    const p = await context.newPage();
    const errors: string[] = [];
    p.on('pageerror', (error) => errors.push(error.message));
    await p.goto(secured.url);
    // The token went into a cookie and out of the address bar.
    assert.equal(p.url(), `${secured.origin}/`);
    await waitFor("document.querySelector('#conn')?.classList.contains('live')", 10_000, p);
    // A state change through the page (JSON + same origin + cookie) works, and comes back live.
    await p.click('details.add summary');
    await p.fill('#add-device input[name=name]', 'shed');
    await p.fill('#add-device input[name=address]', '127.0.0.79');
    await p.click('#add-device button[type=submit]');
    await waitFor(`document.querySelector('tr[data-device-id="shed"]') !== null`, 10_000, p);
    assert.deepEqual(errors, []);
    // Another browser without the cookie gets nothing.
    const q = await stranger.newPage();
    const reply = await q.goto(`${secured.origin}/`);
    assert.equal(reply?.status(), 401);
    const api = await q.goto(`${secured.origin}/api/v1/devices`);
    assert.equal(api?.status(), 401);
  } finally {
    await context.close();
    await stranger.close();
    await secured.close();
    await rm(dir, { recursive: true, force: true });
  }
});
