import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { runCli } from '../src/cli/main.ts';
import type { CliIO } from '../src/cli/types.ts';
import { type AdvertiseOptions, createMdnsBus, discoverAll } from '../src/discovery/index.ts';
import {
  type DeviceAdvertiser,
  type EmulatedDevice,
  startDevice,
  startFleet,
} from '../src/emulator/index.ts';
import { bootSlotFromOtadata, buildEsp32App, buildEsp8266Sketch } from '../src/formats/index.ts';
import { RawTcp, RawUdp, stopAndWait, waitReply } from './helpers/raw-client.ts';

interface Ev {
  event: string;
  address: string;
  port?: number;
  core?: string;
}

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

async function cleanUpload(dev: EmulatedDevice, img: Uint8Array): Promise<string> {
  const udp = await RawUdp.open();
  const tcp = await RawTcp.listen();
  try {
    await udp.send(`0 ${tcp.port} ${img.length} ${md5(img)}\n`, dev.port, dev.address);
    assert.equal((await udp.recv())?.data.toString(), 'OK');
    const conn = await tcp.accept();
    assert.ok(conn);
    await stopAndWait(conn, img, 1024);
    return await waitReply(conn, (t) => t.endsWith('OK'));
  } finally {
    await udp.close();
    await tcp.close();
  }
}

describe('startFleet', () => {
  test('each device has its own address, hostname, MAC and firmware; counters are per device', async () => {
    const fleet = await startFleet([
      { core: 'esp32', port: 0, address: '127.0.0.70', timeScale: 0.01, receiveTimeoutMs: 10_000 },
      { core: 'esp8266', port: 0, address: '127.0.0.71', timeScale: 0.01 },
      { core: 'esp32-legacy', port: 0, address: '127.0.0.72', password: 'x', timeScale: 0.01 },
    ]);
    try {
      const [a, b, c] = fleet.devices as [EmulatedDevice, EmulatedDevice, EmulatedDevice];
      assert.deepEqual(
        fleet.devices.map((d) => d.address),
        ['127.0.0.70', '127.0.0.71', '127.0.0.72'],
      );
      assert.equal(new Set(fleet.devices.map((d) => d.hostname)).size, 3);
      assert.equal(new Set(fleet.devices.map((d) => d.mac)).size, 3);
      assert.equal(new Set(fleet.devices.map((d) => d.runningImageMd5())).size, 3);
      assert.match(a.hostname, /^esp32-[0-9a-f]{12}$/);
      assert.match(b.hostname, /^esp8266-[0-9a-f]{6}$/);
      const seen: string[] = [];
      fleet.events.on('event', (e: { event: string; address: string }) =>
        seen.push(`${e.address} ${e.event}`),
      );
      const img = buildEsp32App({ size: 6000, seed: 3 });
      assert.ok((await cleanUpload(a, img)).endsWith('OK'));
      assert.equal(a.counters.updatesStarted, 1);
      assert.equal(b.counters.invitations, 0);
      assert.equal(c.counters.invitations, 0);
      assert.ok(seen.includes('127.0.0.70 update-complete'));
    } finally {
      await fleet.close();
    }
  });

  test('a spec without an address gets the next free loopback address', async () => {
    const fleet = await startFleet([{ port: 0, address: '127.0.0.1' }, { port: 0 }]);
    try {
      assert.deepEqual(
        fleet.devices.map((d) => d.address),
        ['127.0.0.1', '127.0.0.2'],
      );
    } finally {
      await fleet.close();
    }
  });

  test('non-loopback addresses are refused', async () => {
    await assert.rejects(startDevice({ address: '192.168.1.20', port: 0 }), { code: 'BAD_ARGUMENT' });
  });

  test('50 devices stay small in memory (sparse flash)', async () => {
    const specs = Array.from({ length: 50 }, (_, i) => ({ port: 0, address: `127.0.1.${i + 1}` }));
    const before = process.memoryUsage().rss;
    const fleet = await startFleet(specs);
    try {
      const grown = process.memoryUsage().rss - before;
      assert.equal(fleet.devices.length, 50);
      assert.ok(grown < 120 * 1024 * 1024, `RSS grew ${(grown / 1048576).toFixed(1)} MB`);
    } finally {
      await fleet.close();
    }
  });
});

describe('--state: flash survives a restart', () => {
  for (const core of ['esp32', 'esp8266'] as const) {
    test(core, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'airflash-emu-'));
      try {
        const options = {
          core,
          port: 0,
          address: '127.0.0.80',
          hostname: `kept-${core}`,
          stateDir: dir,
          timeScale: 0.01,
          receiveTimeoutMs: 10_000,
        };
        const img =
          core === 'esp8266'
            ? buildEsp8266Sketch({ size: 9000, seed: 8 })
            : buildEsp32App({ size: 9000, seed: 8 });
        const first = await startDevice(options);
        const booted = first.waitFor('booted');
        assert.ok((await cleanUpload(first, img)).endsWith('OK'));
        await booted;
        const otadata = first.otadata();
        await first.close();
        const second = await startDevice(options);
        try {
          assert.equal(second.runningImageMd5(), md5(img));
          if (core === 'esp32') {
            assert.deepEqual(second.otadata(), otadata);
            assert.equal(bootSlotFromOtadata(second.otadata(), 2), 1);
            assert.equal(second.runningPartition(), 'app1');
          }
        } finally {
          await second.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('mDNS advertisement', () => {
  test('each core advertises _arduino._tcp with its TXT set, through an injected transport', async () => {
    const bus = createMdnsBus();
    const fleet = await startFleet([
      {
        core: 'esp32',
        port: 0,
        address: '127.0.0.90',
        password: 'pw',
        mdns: { transport: bus.transport('127.0.0.90') },
      },
      {
        core: 'esp8266',
        port: 0,
        address: '127.0.0.91',
        board: 'd1_mini',
        mdns: { transport: bus.transport('127.0.0.91') },
      },
    ]);
    try {
      const found = await discoverAll({ transport: bus.transport('127.0.0.99'), timeoutMs: 1500 });
      const byName = new Map(found.map((d) => [d.name, d]));
      const [a, b] = fleet.devices as [EmulatedDevice, EmulatedDevice];
      const da = byName.get(a.hostname);
      const db = byName.get(b.hostname);
      assert.ok(da && db, JSON.stringify(found));
      assert.equal(da.port, a.port);
      // The wire order (issue 13 item 7): both responders prepend each added TXT item and send the
      // list from its head, so the order is the reverse of the enableArduino() calls.
      assert.deepEqual(Object.entries(da.txt), [
        ['auth_upload', 'yes'],
        ['ssh_upload', 'no'],
        ['tcp_check', 'no'],
        ['board', 'esp32'],
      ]);
      assert.deepEqual(Object.entries(db.txt), [
        ['auth_upload', 'no'],
        ['board', 'd1_mini'],
        ['ssh_upload', 'no'],
        ['tcp_check', 'no'],
      ]);
      assert.deepEqual([da.core, da.board, da.authUpload], ['esp32', 'esp32', true]);
      assert.deepEqual([db.core, db.board, db.authUpload], ['esp8266', 'd1_mini', false]);
      assert.ok(db.addresses.includes('127.0.0.91'));
    } finally {
      await fleet.close();
    }
  });
});

describe('mDNS advertiser injected', () => {
  test('the device publishes through the advertiser it is given, and withdraws it on close', async () => {
    const published: AdvertiseOptions[] = [];
    const closed: string[] = [];
    const advertiser: DeviceAdvertiser = async (options) => {
      published.push(options);
      return {
        close: async () => {
          closed.push(options.name);
        },
      };
    };
    const dev = await startDevice({
      core: 'esp8266',
      port: 0,
      address: '127.0.0.92',
      board: 'd1_mini',
      password: 'pw',
      mdns: { port: 45353 },
      advertiser,
    });
    try {
      assert.equal(published.length, 1);
      const [ad] = published as [AdvertiseOptions];
      assert.deepEqual(
        [ad.name, ad.hostname, ad.port, ad.addresses, ad.interface, ad.mdnsPort],
        [dev.hostname, dev.hostname, dev.port, ['127.0.0.92'], '127.0.0.92', 45353],
      );
      assert.deepEqual(ad.txt, [
        ['auth_upload', 'yes'],
        ['board', 'd1_mini'],
        ['ssh_upload', 'no'],
        ['tcp_check', 'no'],
      ]);
      assert.deepEqual(closed, []);
    } finally {
      await dev.close();
    }
    assert.deepEqual(closed, [dev.hostname]);
  });

  test('without mdns the advertiser is never called', async () => {
    let calls = 0;
    const dev = await startDevice({
      port: 0,
      address: '127.0.0.93',
      advertiser: async () => {
        calls++;
        return { close: async () => {} };
      },
    });
    await dev.close();
    assert.equal(calls, 0);
  });
});

function cliIO(signal: AbortSignal, cwd = process.cwd()) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const io: CliIO = { stdout, stderr, env: {}, isTTY: false, cwd, signal };
  return { io, output: () => out };
}

async function lines(output: () => string, n: number, timeoutMs = 3000): Promise<string[]> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const all = output().split('\n').filter(Boolean);
    if (all.length >= n || performance.now() > deadline) return all;
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('airflash emulate (CLI)', () => {
  test('--json: listening first, then one event per line with event and address; Ctrl-C exits 0', async () => {
    const ac = new AbortController();
    const { io, output } = cliIO(ac.signal);
    const run = runCli(
      [
        'emulate',
        '--json',
        '--count',
        '2',
        '--address',
        '127.0.0.100',
        '--port',
        '0',
        '--time-scale',
        '0.01',
        '--password',
        'pw',
      ],
      io,
    );
    const first = (await lines(output, 4)).map((l) => JSON.parse(l) as Ev);
    const listening = first.filter((e) => e.event === 'listening');
    assert.equal(listening.length, 2);
    assert.deepEqual(
      listening.map((e) => e.address),
      ['127.0.0.100', '127.0.0.101'],
    );
    assert.equal(first[0]?.event, 'listening');
    const port = listening[0]?.port as number;
    const udp = await RawUdp.open();
    await udp.send(`0 1 1000 ${'0'.repeat(32)}\n`, port, '127.0.0.100');
    assert.match((await udp.recv())?.data.toString() ?? '', /^AUTH [0-9a-f]{64}$/);
    await udp.send(`200 ${'1'.repeat(64)} ${'2'.repeat(64)}\n`, port, '127.0.0.100');
    assert.equal((await udp.recv())?.data.toString(), 'Authentication Failed');
    const all = (await lines(output, 6)).map((l) => JSON.parse(l) as Ev);
    const events = all.map((e) => e.event);
    assert.ok(events.includes('invitation'));
    assert.ok(events.includes('auth-failed'));
    for (const e of all) assert.equal(typeof e.address, 'string');
    await udp.close();
    ac.abort();
    assert.equal(await run, 0);
  });

  test('--fleet FILE with CLI names mixes cores, passwords and faults', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'airflash-fleet-'));
    try {
      await writeFile(
        join(dir, 'fleet.json'),
        JSON.stringify([
          { core: 'esp8266', 'password-hash': md5(new TextEncoder().encode('pw')) },
          { core: 'esp32-legacy', fault: ['offline'] },
          { core: 'esp32', count: 2 },
        ]),
      );
      const ac = new AbortController();
      const { io, output } = cliIO(ac.signal, dir);
      const run = runCli(
        ['emulate', '--fleet', 'fleet.json', '--address', '127.0.0.110', '--port', '0', '--json'],
        io,
      );
      const listening = (await lines(output, 8))
        .map((l) => JSON.parse(l) as Ev)
        .filter((e) => e.event === 'listening');
      assert.deepEqual(
        listening.map((e) => [e.address, e.core]),
        [
          ['127.0.0.110', 'esp8266'],
          ['127.0.0.111', 'esp32-legacy'],
          ['127.0.0.112', 'esp32'],
          ['127.0.0.113', 'esp32'],
        ],
      );
      const udp = await RawUdp.open();
      await udp.send(`0 1 1000 ${'0'.repeat(32)}\n`, listening[1]?.port as number, '127.0.0.111');
      assert.equal(await udp.recv(200), undefined, 'the offline device stays silent');
      await udp.send(`0 1 1000 ${'0'.repeat(32)}\n`, listening[0]?.port as number, '127.0.0.110');
      assert.match((await udp.recv())?.data.toString() ?? '', /^AUTH [0-9a-f]{32}$/);
      await udp.close();
      ac.abort();
      assert.equal(await run, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('human log: listening line, then serial-like lines', async () => {
    const ac = new AbortController();
    const { io, output } = cliIO(ac.signal);
    const run = runCli(['emulate', '--core', 'esp8266', '--address', '127.0.0.120', '--port', '0'], io);
    const got = await lines(output, 3);
    assert.match(got[0] ?? '', /^listening 127\.0\.0\.120:\d+ core=esp8266 hostname=esp8266-[0-9a-f]{6}$/);
    assert.ok(got.some((l) => l.startsWith('OTA server at: esp8266-')));
    ac.abort();
    assert.equal(await run, 0);
  });

  test('usage errors exit 2', async () => {
    const ac = new AbortController();
    const { io } = cliIO(ac.signal);
    assert.equal(await runCli(['emulate', '--bogus'], io), 2);
    assert.equal(await runCli(['emulate', '--fault', 'melt@5'], io), 2);
    assert.equal(await runCli(['emulate', '--address', '10.0.0.1'], io), 2);
  });
});
