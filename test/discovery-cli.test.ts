import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { runCli } from '../src/cli/main.ts';
import type { CliIO } from '../src/cli/types.ts';
import { type Advertisement, advertise, arduinoTxt } from '../src/discovery/index.ts';
import { freeUdpPort } from './helpers/mdns-loopback.ts';

/** A device as the --json lines carry it (typed here, not imported, so the test checks the wire). */
interface JsonDevice {
  name: string;
  host: string;
  addresses: string[];
  port: number;
  board?: string;
  authUpload?: boolean;
  core?: string;
  txt: Record<string, string>;
}

function makeIO(
  port: number,
  signal = new AbortController().signal,
): { io: CliIO; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const io: CliIO = {
    stdout,
    stderr,
    env: { AIRFLASH_MDNS_PORT: String(port) },
    isTTY: false,
    cwd: process.cwd(),
    signal,
  };
  return { io, out: () => out, err: () => err };
}

async function fleet(port: number): Promise<Advertisement[]> {
  return [
    await advertise({
      name: 'esp32-111111',
      hostname: 'esp32-111111',
      port: 3232,
      addresses: ['127.0.0.41'],
      txt: arduinoTxt('esp32', 'esp32', true),
      mdnsPort: port,
    }),
    await advertise({
      name: 'esp8266-222222',
      hostname: 'esp8266-222222',
      port: 8266,
      addresses: ['127.0.0.42'],
      txt: arduinoTxt('esp8266', 'nodemcuv2', false),
      mdnsPort: port,
    }),
  ];
}

test('airflash discover --json prints one event per line for loopback-advertised devices', async () => {
  const port = await freeUdpPort();
  const ads = await fleet(port);
  try {
    const { io, out } = makeIO(port);
    const code = await runCli(['discover', '--json', '--interface', 'lo', '--timeout', '0.8'], io);
    assert.equal(code, 0);
    const lines = out().trim().split('\n');
    const events = lines.map((l) => JSON.parse(l) as { event: string; device: JsonDevice });
    assert.deepEqual(events.map((e) => `${e.event} ${e.device.name}`).sort(), [
      'up esp32-111111',
      'up esp8266-222222',
    ]);
    const esp32 = events.find((e) => e.device.name === 'esp32-111111')?.device;
    assert.deepEqual(esp32?.addresses, ['127.0.0.41']);
    assert.equal(esp32?.port, 3232);
    assert.equal(esp32?.authUpload, true);
    assert.equal(esp32?.core, 'esp32');
    assert.equal(esp32?.host, 'esp32-111111.local');
    const esp8266 = events.find((e) => e.device.name === 'esp8266-222222')?.device;
    assert.equal(esp8266?.board, 'nodemcuv2');
    assert.equal(esp8266?.core, 'esp8266');
    assert.deepEqual(Object.keys(esp8266?.txt ?? {}), ['tcp_check', 'ssh_upload', 'board', 'auth_upload']);
  } finally {
    for (const ad of ads) await ad.close();
  }
});

test('airflash discover prints a table, sorted by name', async () => {
  const port = await freeUdpPort();
  const ads = await fleet(port);
  try {
    const { io, out } = makeIO(port);
    const code = await runCli(['discover', '--interface', '127.0.0.1', '--timeout', '0.8'], io);
    assert.equal(code, 0);
    const rows = out().trimEnd().split('\n');
    assert.equal(rows.length, 3);
    assert.match(rows[0] ?? '', /^NAME\s+ADDRESSES\s+PORT\s+BOARD\s+PASSWORD\s+CORE$/);
    assert.match(rows[1] ?? '', /^esp32-111111\s+127\.0\.0\.41\s+3232\s+esp32\s+yes\s+esp32$/);
    assert.match(rows[2] ?? '', /^esp8266-222222\s+127\.0\.0\.42\s+8266\s+nodemcuv2\s+no\s+esp8266$/);
  } finally {
    for (const ad of ads) await ad.close();
  }
});

test('airflash discover --watch lists changes until Ctrl-C and exits 0', async () => {
  const port = await freeUdpPort();
  const controller = new AbortController();
  const { io, out } = makeIO(port, controller.signal);
  const run = runCli(['discover', '--watch', '--interface', 'lo'], io);
  const ad = await advertise({
    name: 'blinker',
    hostname: 'blinker',
    port: 3232,
    addresses: ['127.0.0.43'],
    txt: arduinoTxt('esp32', 'esp32c3', false),
    mdnsPort: port,
  });
  await new Promise((r) => setTimeout(r, 300));
  await ad.close();
  await new Promise((r) => setTimeout(r, 300));
  controller.abort();
  assert.equal(await run, 0);
  assert.deepEqual(out().trim().split('\n'), [
    'up      blinker  127.0.0.43  port=3232  board=esp32c3  password=no  core=esp32',
    'down    blinker  127.0.0.43  port=3232  board=esp32c3  password=no  core=esp32',
  ]);
});

test('airflash discover with nobody answering exits 1 with a hint; bad options exit 2', async () => {
  const port = await freeUdpPort();
  const quiet = makeIO(port);
  assert.equal(await runCli(['discover', '--interface', 'lo', '--timeout', '0.3'], quiet.io), 1);
  assert.equal(quiet.out(), '');
  assert.match(quiet.err(), /no ArduinoOTA device answered within 0\.3 s/);
  const bad = makeIO(port);
  assert.equal(await runCli(['discover', '--timeout', 'soon'], bad.io), 2);
  assert.match(bad.err(), /BAD_ARGUMENT.*--timeout/);
  const unknown = makeIO(port);
  assert.equal(await runCli(['discover', '--interface', 'no-such-if0'], unknown.io), 2);
  assert.match(unknown.err(), /no network interface named "no-such-if0"/);
});
