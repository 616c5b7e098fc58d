import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { inferCore } from '../src/discovery/index.ts';
import { type DeviceOptions, type EmulatedDevice, startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { RawTcp, RawUdp } from './helpers/raw-client.ts';

/**
 * The network stack below ArduinoOTA, per core (src/protocols/arduino-ota/device/core-profile.ts; issue 13 items 4, 7,
 * 8, 13, 14): TCP_MSS, the connect-back timeout, the number scanner, IPv6, the mDNS TXT order.
 */

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

async function withDevice(options: DeviceOptions, fn: (dev: EmulatedDevice) => Promise<void>): Promise<void> {
  const dev = await startDevice({
    address: '127.0.0.71',
    port: 0,
    timeScale: 0.01,
    receiveTimeoutMs: 100_000,
    ...options,
  });
  try {
    await fn(dev);
  } finally {
    await dev.close();
  }
}

async function waitText(conn: { text(): string }, length: number): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (conn.text().length < length && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300)); // and nothing more arrives
}

function esp8266Image(size: number): Uint8Array {
  const out = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
  out.set([0xe9, 1, 3, 0x40]);
  return out;
}

describe('TCP_MSS: with a bandwidth cap the device sees MSS-sized segments', () => {
  // 5 KB/s: one 536-byte segment every ~107 ms, so a read never sees two segments at once.
  test('esp8266 (lwIP v2 Lower Memory, MSS 536): counts of 536, never a whole 1460-byte chunk', async () => {
    await withDevice({ core: 'esp8266', timeScale: 1, bandwidth: 5000 }, async (dev) => {
      const img = esp8266Image(2920);
      const udp = await RawUdp.open();
      const tcp = await RawTcp.listen();
      await udp.send(`0 ${tcp.port} ${img.length} ${md5(img)}\n`, dev.port, dev.address);
      assert.equal((await udp.recv())?.data.toString(), 'OK');
      const conn = await tcp.accept();
      assert.ok(conn);
      conn.socket.write(img.subarray(0, 1460));
      await waitText(conn, 9);
      // one count per drain: each segment is drained alone (the next one is ~100 ms away)
      assert.equal(conn.text(), '536536388');
      conn.socket.destroy();
      await udp.close();
      await tcp.close();
    });
  });

  test('esp32 (Arduino sdkconfig MSS 1436): 2872 bytes are read as two segments of 1436', async () => {
    await withDevice({ core: 'esp32', timeScale: 1, bandwidth: 5000 }, async (dev) => {
      const img = buildEsp32App({ chip: 'esp32', size: 2920, seed: 3 });
      const udp = await RawUdp.open();
      const tcp = await RawTcp.listen();
      await udp.send(`0 ${tcp.port} ${img.length} ${md5(img)}\n`, dev.port, dev.address);
      assert.equal((await udp.recv())?.data.toString(), 'OK');
      const conn = await tcp.accept();
      assert.ok(conn);
      // 2872 bytes = two segments of 1436, ~290 ms apart at 5 KB/s: two reads of 1436 (with the
      // old 1460-byte segments: 1460 then 1412)
      conn.socket.write(img.subarray(0, 2872));
      await waitText(conn, 8);
      assert.equal(conn.text(), '14361436');
      conn.socket.destroy();
      await udp.close();
      await tcp.close();
    });
  });
});

/**
 * A TCP listener that never completes a handshake: a child process listens with backlog 1 and
 * then blocks its event loop, so once the accept queue is full the kernel drops further SYNs and
 * the device's connect() can only time out (loopback only).
 */
async function deafListener(): Promise<{ port: number; fillers: Socket[]; child: ChildProcess }> {
  const code = `const net=require('node:net');const s=net.createServer();s.listen({host:'127.0.0.1',port:0,backlog:1},()=>{process.stdout.write(String(s.address().port)+'\\n');setTimeout(()=>{const end=Date.now()+60000;while(Date.now()<end){}},50);});`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('error', reject);
  });
  await new Promise((r) => setTimeout(r, 300)); // the child is now blocked
  const fillers: Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const filler = connect({ host: '127.0.0.1', port });
    filler.on('error', () => {});
    fillers.push(filler);
  }
  await new Promise((r) => setTimeout(r, 200));
  return { port, fillers, child };
}

describe('connect-back timeout: ESP32 NetworkClient 3000 ms, ESP8266 WiFiClient 5000 ms', () => {
  for (const [core, ms] of [
    ['esp32-legacy', 3000],
    ['esp8266', 5000],
  ] as const) {
    test(`${core}: "Connect Failed" after ${ms} device-ms (time scale 0.4)`, async () => {
      const deaf = await deafListener();
      try {
        await withDevice({ core, timeScale: 0.4, receiveTimeoutMs: 1000 }, async (dev) => {
          const img =
            core === 'esp8266' ? esp8266Image(5000) : buildEsp32App({ chip: 'esp32', size: 5000, seed: 1 });
          const udp = await RawUdp.open();
          const start = dev.waitFor('update-start', undefined, 10_000);
          const err = dev.waitFor('update-error', undefined, 20_000);
          await udp.send(`0 ${deaf.port} ${img.length} ${md5(img)}\n`, dev.port, dev.address);
          await start;
          const t0 = performance.now();
          const e = await err;
          const took = performance.now() - t0;
          assert.equal(e.event === 'update-error' && e.text, 'Connect Failed');
          const expected = ms * 0.4;
          assert.ok(took >= expected - 100, `${took.toFixed(0)} ms`);
          assert.ok(took < expected + 700, `${took.toFixed(0)} ms`);
          await udp.close();
        });
      } finally {
        for (const f of deaf.fillers) f.destroy();
        deaf.child.kill('SIGKILL');
      }
    });
  }
});

describe("the device's number scanner (ArduinoOTA.cpp parseInt, newlib atoi)", () => {
  test('15 digits: ESP8266 reads 100 (filesystem), ESP32 fills its buffer and reads 0 (firmware)', async () => {
    for (const [core, command] of [
      ['esp8266', 100],
      ['esp32', 0],
    ] as const) {
      await withDevice({ core }, async (dev) => {
        const udp = await RawUdp.open();
        const inv = dev.waitFor('invitation');
        // Either way the 15 digits are consumed; port and size follow.
        await udp.send(`000000000000100 40000 5000 ${'0'.repeat(32)}\n`, dev.port, dev.address);
        const e = await inv;
        assert.equal(e.event === 'invitation' && e.command, command, core);
        await udp.close();
      });
    }
  });

  test('a size above 2^31 clamps to 2147483647 (too big), it does not wrap to a small size', async () => {
    await withDevice({ core: 'esp8266' }, async (dev) => {
      const udp = await RawUdp.open();
      const tcp = await RawTcp.listen();
      // 4294972296 = 2^32 + 5000: wrapping would give 5000 and an upload
      await udp.send(`0 ${tcp.port} 4294972296 ${'0'.repeat(32)}\n`, dev.port, dev.address);
      assert.equal((await udp.recv())?.data.toString(), 'ERR: ERROR[4]: Not Enough Space\n');
      await udp.close();
      await tcp.close();
    });
    await withDevice({ core: 'esp32' }, async (dev) => {
      const udp = await RawUdp.open();
      const tcp = await RawTcp.listen();
      const inv = dev.waitFor('invitation');
      const err = dev.waitFor('update-error');
      await udp.send(`0 ${tcp.port} 4294972296 ${'0'.repeat(32)}\n`, dev.port, dev.address);
      const e = await inv;
      assert.equal(e.event === 'invitation' && e.size, 2147483647);
      const e2 = await err;
      assert.equal(e2.event === 'update-error' && e2.text, 'Bad Size Given');
      assert.equal(await tcp.accept(300), undefined);
      await udp.close();
      await tcp.close();
    });
  });
});

describe('IPv6: a default ESP8266 build has none', () => {
  test('esp8266 on ::1 is refused (BAD_ARGUMENT) unless ipv6: true; esp32 listens on ::1', async () => {
    await assert.rejects(
      startDevice({ core: 'esp8266', address: '::1', port: 0 }),
      (e: Error & { code?: string }) => e.code === 'BAD_ARGUMENT' && /IPv6/.test(e.message),
    );
    const v6 = await startDevice({ core: 'esp8266', address: '::1', port: 0, ipv6: true });
    assert.equal(v6.address, '::1');
    await v6.close();
    const esp32 = await startDevice({ core: 'esp32', address: '::1', port: 0 });
    await esp32.close();
  });
});

describe('discovery reads the core from either TXT order (issue 13 item 7)', () => {
  const add8266: Array<[string, string]> = [
    ['tcp_check', 'no'],
    ['ssh_upload', 'no'],
    ['board', 'myboard'],
    ['auth_upload', 'yes'],
  ];
  const add32: Array<[string, string]> = [
    ['board', 'myboard'],
    ['tcp_check', 'no'],
    ['ssh_upload', 'no'],
    ['auth_upload', 'yes'],
  ];
  test('ESP8266 and ESP32, in the order added and in the (reversed) wire order', () => {
    // a board name and port that say nothing, so only the order can decide
    assert.equal(inferCore(add8266, 1234), 'esp8266');
    assert.equal(inferCore([...add8266].reverse(), 1234), 'esp8266');
    assert.equal(inferCore(add32, 1234), 'esp32');
    assert.equal(inferCore([...add32].reverse(), 1234), 'esp32');
    // any other order says nothing; the port then decides
    const shuffled: Array<[string, string]> = [add8266[1], add8266[0], add8266[3], add8266[2]] as Array<
      [string, string]
    >;
    assert.equal(inferCore(shuffled, 8266), 'esp8266');
    assert.equal(inferCore(shuffled, 1234), undefined);
  });
});
