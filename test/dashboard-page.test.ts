/**
 * The dashboard page in Chromium (headless, playwright-core) against the demo fleet: what the
 * page shows and lets you do — a refused file clears the chosen firmware, images per tab, a
 * waiting device, the phone layout, the demo world's isolation, name conflicts. The update flow
 * itself is in dashboard-browser.test.ts. Skipped, saying why, when /usr/bin/chromium is missing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type DemoFleet, startDemoFleet } from '../src/dashboard/demo.ts';
import { type Dashboard, setupSources, startDashboard } from '../src/dashboard/index.ts';
import {
  browserSkipReason,
  chooseFile as choose,
  firmwareImage,
  launchChromium,
  deviceRow as row,
  waitFor,
} from './helpers/browser.ts';

const skip = browserSkipReason();

let dash: Dashboard;
let demo: DemoFleet;
let browser: Browser;
let stateDir: string;

before(async () => {
  if (skip !== undefined) return;
  stateDir = await mkdtemp(join(tmpdir(), 'airflash-dash-page-'));
  dash = await startDashboard({ port: 0, stateDir, inviteTimeoutMs: 6000 });
  demo = await startDemoFleet(dash, { bandwidth: 150_000 });
  browser = await launchChromium();
});

after(async () => {
  if (skip !== undefined) return;
  await browser?.close();
  await dash?.close();
  await demo?.close();
  await rm(stateDir, { recursive: true, force: true });
});

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
