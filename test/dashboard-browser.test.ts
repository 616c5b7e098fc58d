/**
 * End to end in a real browser: Debian's Chromium (headless, via playwright-core) against the
 * dashboard with its demo fleet, all on loopback. Skipped, saying why, when /usr/bin/chromium is
 * missing. Set AIRFLASH_UPDATE_SCREENSHOT=1 to write docs/dashboard.png (the README's picture);
 * otherwise the screenshot goes to a temporary folder.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { type DemoFleet, startDemoFleet } from '../src/dashboard/demo.ts';
import { type Dashboard, setupSources, startDashboard } from '../src/dashboard/index.ts';
import { bootedMd5, browserSkipReason, firmwareImage, launchChromium } from './helpers/browser.ts';

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

/**
 * Poll a browser-side expression until it is truthy. (page.waitForFunction with text would run
 * eval() inside the page, which the dashboard's Content-Security-Policy rightly forbids.)
 */
async function waitFor(expression: string, timeoutMs = 10_000, on: Page = page): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await on.evaluate(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${expression}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function row(id: string): string {
  return `#devices tbody tr[data-device-id="${id}"]`;
}

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

/** Choose a file in the page's firmware input. */
async function choose(on: Page, name: string, bytes: Uint8Array): Promise<void> {
  await on.setInputFiles('#firmware-input', {
    name,
    mimeType: 'application/octet-stream',
    buffer: Buffer.from(bytes),
  });
}

test('a refused file clears the chosen firmware; a good one clears the error; refused devices are not a primary action', {
  skip,
}, async () => {
  const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await p.goto(dash.url);
    await waitFor("document.querySelectorAll('#devices tbody tr').length === 12", 10_000, p);
    await waitFor(
      `document.querySelector('[data-testid=inspection]')?.textContent.includes('demo-firmware-1.1.0.bin')`,
      10_000,
      p,
    );
    await p.check(`${row('kitchen-light')} input[type=checkbox]`);
    await p.waitForSelector(`${row('kitchen-light')} td.fit[data-verdict="ok"]`);
    assert.equal(await p.isEnabled('#update'), true);
    const good = firmwareImage(64 * 1024, 77, '3.0.0');
    const random = new Uint8Array(createHash('sha512').update('r').digest().subarray(0, 64));
    const notApp = firmwareImage(64 * 1024, 78).slice();
    notApp.fill(0x5a, 24); // starts like an image, but its segments are garbage
    const cases: Array<[string, Uint8Array]> = [
      ['random.bin', new Uint8Array(4096).map((_, i) => (random[i % 64] as number) ^ (i & 0xff))],
      ['notes.txt', new TextEncoder().encode('this is not firmware\n'.repeat(40))],
      ['truncated.bin', good.subarray(0, 5000)],
      ['garbage-app.bin', notApp],
    ];
    for (const [name, bytes] of cases) {
      // A good file first, then the bad one: the good one must not survive the refusal.
      await choose(p, 'good.bin', good);
      await waitFor(
        `document.querySelector('[data-testid=inspection]')?.textContent.includes('good.bin')`,
        10_000,
        p,
      );
      await waitFor(`!document.querySelector('#update').disabled`, 10_000, p);
      await choose(p, name, bytes);
      await p.waitForSelector('[data-testid=rejected]');
      assert.match(
        (await p.textContent('[data-testid=rejected]')) ?? '',
        new RegExp(name.replace('.', '\\.')),
      );
      assert.equal(await p.$('[data-testid=inspection]'), null, `${name}: the previous image is still shown`);
      assert.equal(await p.isDisabled('#update'), true, `${name}: Update stays enabled`);
      assert.equal(await p.textContent('#update'), 'Choose a firmware first');
      assert.equal(await p.isVisible('#toast.error'), true);
    }
    // A valid file: the error goes away, Update is back.
    await choose(p, 'good.bin', good);
    await waitFor(
      `document.querySelector('[data-testid=inspection]')?.textContent.includes('good.bin')`,
      10_000,
      p,
    );
    assert.equal(await p.isVisible('#toast'), false);
    assert.equal(await p.$('[data-testid=rejected]'), null);
    await waitFor(`document.querySelector('#update').textContent === 'Update 1 device'`, 10_000, p);

    // An ESP8266 refuses this ESP32 image: alone, there is nothing to update.
    await p.uncheck(`${row('kitchen-light')} input[type=checkbox]`);
    await p.check(`${row('garage-door')} input[type=checkbox]`);
    await p.waitForSelector(`${row('garage-door')} td.fit[data-verdict="refuse"]`);
    await waitFor(`document.querySelector('#update').disabled`, 10_000, p);
    assert.match((await p.textContent('#update')) ?? '', /Nothing to update/);
    // With a device it fits: only that one counts, the refused one is said, and is not sent.
    await p.check(`${row('kitchen-light')} input[type=checkbox]`);
    await waitFor(`document.querySelector('#update').textContent === 'Update 1 device'`, 10_000, p);
    assert.match((await p.textContent('#selection')) ?? '', /1 refused, not sent/);
  } finally {
    await p.close();
  }
});

test("images are per page: a second tab does not get the first one's firmware, nor it the second's", {
  skip,
}, async () => {
  const a = await browser.newPage();
  const b = await browser.newPage();
  try {
    await a.goto(dash.url);
    await waitFor("document.querySelectorAll('#devices tbody tr').length === 12", 10_000, a);
    await choose(a, 'tab-a.bin', firmwareImage(48 * 1024, 91, '9.1.0'));
    await waitFor(
      `document.querySelector('[data-testid=inspection]')?.textContent.includes('tab-a.bin')`,
      10_000,
      a,
    );
    await b.goto(dash.url);
    await waitFor("document.querySelectorAll('#devices tbody tr').length === 12", 10_000, b);
    await waitFor(`document.querySelector('[data-testid=inspection]') !== null`, 10_000, b);
    assert.doesNotMatch((await b.textContent('[data-testid=inspection]')) ?? '', /tab-a\.bin/);
    await choose(b, 'tab-b.bin', firmwareImage(48 * 1024, 92, '9.2.0'));
    await waitFor(
      `document.querySelector('[data-testid=inspection]')?.textContent.includes('tab-b.bin')`,
      10_000,
      b,
    );
    // Tab A, reloaded, still has its own image.
    await a.reload();
    await waitFor(
      `document.querySelector('[data-testid=inspection]')?.textContent.includes('tab-a.bin')`,
      10_000,
      a,
    );
  } finally {
    await a.close();
    await b.close();
  }
});

test('a waiting device says "waiting", not "updating"', { skip }, async () => {
  const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await p.goto(dash.url);
    await waitFor("document.querySelectorAll('#devices tbody tr').length === 12", 10_000, p);
    await choose(p, 'slow.bin', firmwareImage(192 * 1024, 93, '9.3.0'));
    await waitFor(
      `document.querySelector('[data-testid=inspection]')?.textContent.includes('slow.bin')`,
      10_000,
      p,
    );
    for (const id of ['hallway', 'bedroom']) await p.check(`${row(id)} input[type=checkbox]`);
    await p.fill('#parallel', '1');
    await waitFor(`document.querySelector('#update').textContent === 'Update 2 devices'`, 10_000, p);
    await p.click('#update');
    const states = `['hallway', 'bedroom'].map((id) => [document.querySelector('tr[data-device-id="' + id + '"] .state')?.textContent, document.querySelector('tr[data-device-id="' + id + '"] td.run')?.dataset.state])`;
    // While one is sent, the other waits.
    await waitFor(`${states}.some(([s, r]) => s === 'updating' && r === 'running')`, 20_000, p);
    const now = (await p.evaluate(states)) as Array<[string, string]>;
    const waiting = now.find(([, r]) => r === 'queued');
    assert.ok(waiting, JSON.stringify(now));
    assert.equal(waiting[0], 'waiting');
    await waitFor(`${states}.every(([, r]) => r === 'ok')`, 30_000, p);
  } finally {
    await p.close();
  }
});

test('at phone width (390×844 and 420 px) nothing scrolls sideways and Update stays in view', {
  skip,
}, async () => {
  for (const width of [390, 420]) {
    const p = await browser.newPage({ viewport: { width, height: 844 } });
    try {
      await p.goto(dash.url);
      await waitFor("document.querySelectorAll('#devices tbody tr').length === 12", 10_000, p);
      await waitFor(`document.querySelector('[data-testid=inspection]') !== null`, 10_000, p);
      await p.check(`${row('kitchen-light')} input[type=checkbox]`);
      await waitFor(`!document.querySelector('#update').disabled`, 10_000, p);
      const overflow = (await p.evaluate(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      )) as number;
      assert.ok(overflow <= 0, `${width} px: ${overflow} px of horizontal scroll`);
      for (const scrollY of [0, 400]) {
        await p.evaluate(`window.scrollTo(0, ${scrollY})`);
        const box = await p.locator('#update').boundingBox();
        assert.ok(box, 'no Update button');
        assert.ok(box.x >= 0 && box.x + box.width <= width, `${width} px: Update at x ${box.x}+${box.width}`);
        assert.ok(
          box.y >= 0 && box.y + box.height <= 844,
          `${width} px, scrolled ${scrollY}: Update at y ${box.y}`,
        );
      }
      // Every cell of a device fits the width: no cell wider than the page.
      const widest = (await p.evaluate(
        `Math.max(...[...document.querySelectorAll('#devices td')].map((td) => td.getBoundingClientRect().right))`,
      )) as number;
      assert.ok(widest <= width, `${width} px: a cell reaches ${widest}`);
    } finally {
      await p.close();
    }
  }
});

test('--demo world: the devices file in the working folder is not loaded, nor anything from the network', {
  skip,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'airflash-dash-e2e-demo-'));
  const cwd = join(dir, 'project');
  await mkdir(cwd);
  await writeFile(
    join(cwd, 'airflash.devices.json'),
    JSON.stringify([
      { name: 'kitchen-light', address: '127.0.0.20' },
      { name: 'barn', address: '127.0.0.21' },
    ]),
  );
  const isolated = await startDashboard({ port: 0, stateDir: join(dir, 'state'), inviteTimeoutMs: 6000 });
  const notes = await setupSources(isolated, { cwd, demo: true });
  const p = await browser.newPage();
  try {
    assert.ok(!notes.some((n) => /devices file|browsing mDNS/.test(n)), notes.join('\n'));
    await p.goto(isolated.url);
    await waitFor("document.querySelectorAll('#devices tbody tr').length === 12", 10_000, p);
    assert.equal(await p.$(row('barn')), null);
    assert.equal(await p.$('.conflict'), null);
    const addresses = (await p.evaluate(
      `[...document.querySelectorAll('#devices tbody td.mono')].map((td) => td.textContent)`,
    )) as string[];
    assert.ok(
      addresses.every((a) => /^127\.0\.0\.1(0[1-9]|1[0-2]):\d+$/.test(a)),
      addresses.join(' '),
    );
    // The eleven demo devices that announce themselves come online over the demo's own link.
    await waitFor(`document.querySelectorAll('.state.online').length === 11`, 10_000, p);
  } finally {
    await p.close();
    await isolated.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a devices-file entry and a demo device of the same name are two rows, each showing the conflict', {
  skip,
}, async () => {
  const id = dash.registry.upsert('file', { name: 'kitchen-light', address: '127.0.0.20', port: 3232 });
  const p = await browser.newPage();
  try {
    assert.notEqual(id, 'kitchen-light');
    await p.goto(dash.url);
    await waitFor("document.querySelectorAll('#devices tbody tr').length === 13", 10_000, p);
    const mine = (await p.textContent(`[data-testid="conflict-kitchen-light"]`)) ?? '';
    assert.match(mine, /127\.0\.0\.20:3232 \(file\)/);
    const other = (await p.textContent(`[data-testid="conflict-${id}"]`)) ?? '';
    assert.match(other, /127\.0\.0\.101:\d+ \(demo, mdns\)/);
    assert.match((await p.textContent(row('kitchen-light'))) ?? '', /127\.0\.0\.101/);
  } finally {
    await p.close();
    dash.registry.remove(id, 'file');
  }
});
