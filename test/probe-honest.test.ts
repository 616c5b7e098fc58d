/**
 * probe() and `airflash probe` say only what they saw: no invented loop period, a headline that
 * agrees with the port lines, no mDNS traffic for an IP target unless asked, device text printed
 * with its control characters escaped. Devices on 127.0.57.x; scripted UDP devices where a test
 * needs an answer the emulator does not give.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { describe, it } from 'node:test';
import { probe } from '../src/diagnosis/index.ts';
import { createMdnsTransport } from '../src/discovery/index.ts';
import { toDoctorProbeResult } from '../src/doctor/probe.ts';
import { startDevice } from '../src/emulator/index.ts';
import { runDoctorCli } from './helpers/doctor-io.ts';
import { freeUdpPort } from './helpers/mdns-loopback.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A scripted UDP "device" on address:port: `answer(n, text)` returns the reply to the n-th
 * datagram that is an invitation (1-based) and the delay before sending it; other datagrams
 * (the probe's `0\n`) are counted only.
 */
async function scriptedDevice(
  address: string,
  port: number,
  answer: (n: number) => { text: string; delayMs: number } | undefined,
): Promise<{ socket: Socket; invitations: () => number; close: () => Promise<void> }> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(port, address, () => r()));
  let invitations = 0;
  const timers = new Set<NodeJS.Timeout>();
  socket.on('message', (msg, from) => {
    if (!/^\d+ \d+ \d+ [0-9a-f]{32}/.test(msg.toString('latin1'))) return;
    invitations++;
    const a = answer(invitations);
    if (!a) return;
    const t = setTimeout(() => {
      timers.delete(t);
      socket.send(Buffer.from(a.text, 'latin1'), from.port, from.address);
    }, a.delayMs);
    timers.add(t);
  });
  return {
    socket,
    invitations: () => invitations,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      await new Promise<void>((r) => socket.close(() => r()));
    },
  };
}

const NONCE = '0123456789abcdef0123456789abcdef';

describe('probe() is honest', { concurrency: true }, () => {
  it('ESP8266 with a password, -p 8266, a late second AUTH: no loop period is invented', async () => {
    // A real ESP8266 answers AUTH from its network callback; a second answer that comes 1.3 s
    // later (Wi-Fi power save, a busy link) says nothing about its loop().
    const dev = await scriptedDevice('127.0.57.1', 8266, (n) => ({
      text: `AUTH ${NONCE}`,
      delayMs: n === 1 ? 0 : 1300,
    }));
    try {
      const r = await probe('127.0.57.1', { port: 8266, timeoutMs: 3000 });
      assert.equal(r.answered, true);
      assert.equal(r.authScheme, 'md5');
      assert.equal(r.loop.kind, 'not-visible');
      assert.equal(r.loopPeriodMs, undefined);
      assert.equal(r.loop.periodMs, undefined);
      assert.match(r.loop.why, /network callback/);
      assert.match(r.summary, /loop period not visible/);
      assert.doesNotMatch(r.summary, /about every/);
      assert.equal(toDoctorProbeResult(r).loopPeriodMs, undefined);
    } finally {
      await dev.close();
    }
  });

  it('ESP32, a 30 s loop scaled 1:10, asked late in its loop: measured, not "called often"', async () => {
    // The first answer waits for the next handle() call (≈2.9 s here); that latency is no round
    // trip, so answers 3 s apart must be read as a 3 s loop period.
    const dev = await startDevice({ core: 'esp32', address: '127.0.57.2', loopMs: 30_000, timeScale: 0.1 });
    try {
      await sleep(150);
      const r = await probe(dev.address, { port: 3232, timeScale: 0.1, samples: 1 });
      assert.equal(r.answered, true);
      assert.ok((r.latencyMs ?? 0) > 1500, `the first answer came late (${r.latencyMs} ms)`);
      assert.equal(r.loop.kind, 'measured');
      assert.ok(
        r.loopPeriodMs !== undefined && Math.abs(r.loopPeriodMs - 3000) <= 600,
        `period ${r.loopPeriodMs}`,
      );
      assert.doesNotMatch(r.summary, /called often/);
      const view = toDoctorProbeResult(r);
      assert.equal(view.loopPeriodMs, r.loopPeriodMs);
    } finally {
      await dev.close();
    }
  });

  it('ESP32 without a password asked on one port: a short loop late in its phase is still a loop', async () => {
    // 300 ms loop; the first answer waits ≈280 ms for handle(), as long as the gaps: only the
    // re-invitation after a pause tells a periodic loop from a slow link. Three gaps, whose median
    // is the period: the emulated loop keeps its schedule, so a handle() call that a loaded event
    // loop runs late lengthens one gap and shortens the next by as much (one gap alone read
    // "period 197" and "period 176" with other suites on the same cores).
    const dev = await startDevice({ core: 'esp32', address: '127.0.57.6', loopMs: 3000, timeScale: 0.1 });
    try {
      await sleep(20);
      const r = await probe(dev.address, { port: 3232, timeScale: 0.1, samples: 3 });
      assert.equal(r.loop.kind, 'measured', JSON.stringify(r.loop));
      assert.ok(
        r.loopPeriodMs !== undefined && Math.abs(r.loopPeriodMs - 300) <= 60,
        `period ${r.loopPeriodMs}`,
      );
    } finally {
      await dev.close();
    }
  });

  it('ESP32 calling handle() continuously over a 200 ms link, one port: fast, no period', async () => {
    const dev = await startDevice({ core: 'esp32', address: '127.0.57.7', rttMs: 200 });
    try {
      const r = await probe(dev.address, { port: 3232, samples: 1 });
      assert.equal(r.loop.kind, 'fast', JSON.stringify(r.loop));
      assert.equal(r.loopPeriodMs, undefined);
      assert.match(r.summary, /handle\(\) is called often/);
    } finally {
      await dev.close();
    }
  });

  it("doctor's view takes a period only when it was measured", () => {
    const fast = toDoctorProbeResult({
      answered: true,
      loop: { kind: 'fast', periodMs: 30_000, why: 'w' },
      summary: 'ArduinoOTA answers; handle() is called often.',
    });
    assert.equal(fast.loopPeriodMs, undefined);
    assert.equal(fast.loopKind, 'fast');
    const measured = toDoctorProbeResult({ answered: true, loop: { kind: 'measured', periodMs: 30_000 } });
    assert.equal(measured.loopPeriodMs, 30_000);
  });

  it('--all-ports: the headline names the port that answered', async () => {
    const dev = await startDevice({ core: 'esp32', address: '127.0.57.3', port: 8266, password: 'pw' });
    try {
      const { code, stdout } = await runDoctorCli(
        ['probe', dev.address, '-p', '3232', '--all-ports', '--no-loop', '--time-scale', '0.1'],
        '/',
      );
      assert.equal(code, 1, 'not on the port asked');
      const [headline] = stdout.split('\n');
      assert.doesNotMatch(headline ?? '', /No ArduinoOTA service answered/);
      assert.match(headline ?? '', /ArduinoOTA answers on 127\.0\.57\.3:8266, not on the port asked/);
      assert.match(headline ?? '', /upload with -p 8266/);
      assert.match(stdout, /UDP 8266: +answered "AUTH /);
    } finally {
      await dev.close();
    }
  });

  it('an IP target: no mDNS query without --mdns; with --mdns the query is sent', async () => {
    const mdnsPort = await freeUdpPort();
    const watcher = await createMdnsTransport({ interfaceAddress: '127.0.0.1', port: mdnsPort });
    const seen: Uint8Array[] = [];
    watcher.onMessage((m) => seen.push(m));
    const dev = await startDevice({ core: 'esp32', address: '127.0.57.4' });
    try {
      const env = { AIRFLASH_MDNS_PORT: String(mdnsPort) };
      const base = ['probe', dev.address, '--no-loop', '--interface', '127.0.0.1', '--json'];
      const quiet = await runDoctorCli(base, '/', env);
      assert.equal(quiet.code, 0);
      assert.equal((JSON.parse(quiet.stdout) as { mdns?: unknown }).mdns, undefined);
      await sleep(300);
      assert.equal(seen.length, 0, 'no mDNS datagram for an IP target');
      const asked = await runDoctorCli([...base, '--mdns'], '/', env);
      assert.equal(asked.code, 0);
      assert.deepEqual((JSON.parse(asked.stdout) as { mdns?: unknown }).mdns, []);
      assert.ok(seen.length > 0, 'with --mdns the browse query went out');
    } finally {
      await dev.close();
      await watcher.close();
    }
  });

  it('device text is printed with control characters escaped', async () => {
    const evil = 'ERR: \x1b]0;owned\x07\x1b[2J\x9b31m boom';
    const dev = await scriptedDevice('127.0.57.5', 8266, () => ({ text: evil, delayMs: 0 }));
    try {
      const { stdout, stderr } = await runDoctorCli(
        ['probe', '127.0.57.5', '-p', '8266', '--no-loop', '--timeout', '2'],
        '/',
      );
      const raw = (text: string): string[] =>
        [...text].filter((c) => {
          const n = c.charCodeAt(0);
          return (n < 0x20 && c !== '\n') || (n >= 0x7f && n <= 0x9f);
        });
      for (const out of [stdout, stderr]) assert.deepEqual(raw(out), [], 'no raw control character');
      assert.match(stdout, /\\(x1b|u001b)\]0;owned\\(x07|u0007)\\(x1b|u001b)\[2J\\(x9b|u009b)31m boom/);
    } finally {
      await dev.close();
    }
  });
});
