/**
 * One exit-code table for every command (README "Exit codes"), checked command by command and
 * failure class by failure class through the CLI entry (runCli with in-memory I/O), against
 * emulated devices on 127.0.91.x.
 *
 *   0 ok · 1 failed while running (device, network, a device check said no) · 2 usage or input to
 *   fix before anything can run (unknown option, bad value, missing/unreadable file, address in
 *   use) · 3 refused: the inputs cannot work there (pre-flight verdict), nothing sent ·
 *   4 some devices of a fleet failed · 130 interrupted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { COMMANDS } from '../src/cli/registry.ts';
import { AirflashError } from '../src/core/errors.ts';
import { type EmulatedDevice, startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';
import { freeUdpPort } from './helpers/mdns-loopback.ts';

type Class =
  | 'usage'
  | 'missing file'
  | 'bad input'
  | 'refused'
  | 'device failure'
  | 'partial fleet'
  | 'interrupted';

interface Row {
  command: string;
  class: Class;
  args: string[];
  exit: number;
  /** What stderr (or stdout for JSON) must say. */
  says?: RegExp;
  env?: Record<string, string>;
  aborted?: boolean;
}

let dir = '';
let good: EmulatedDevice;
let other: EmulatedDevice;
let busyTcp: ReturnType<typeof createServer> | undefined;
let busyTcpPort = 0;
let mdnsPort = 0;
const SILENT = '127.0.91.200';
const fast = ['--time-scale', '0.1'];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airflash-exit-'));
  const app = buildEsp32App({ size: 100_000, seed: 91 });
  await writeFile(join(dir, 'firmware.bin'), app);
  await writeFile(join(dir, 'empty.bin'), new Uint8Array(0));
  const corrupt = new Uint8Array(app);
  corrupt[5000] = (corrupt[5000] ?? 0) ^ 0xff;
  await writeFile(join(dir, 'corrupt.bin'), corrupt);
  await writeFile(join(dir, 'big.bin'), buildEsp32App({ size: 1_400_000, seed: 92 }));
  await writeFile(
    join(dir, 'esp8266-devices.json'),
    JSON.stringify([
      { name: 'a', address: '127.0.91.1', chip: 'esp8266' },
      { name: 'b', address: '127.0.91.2', chip: 'esp8266' },
    ]),
  );
  await writeFile(join(dir, 'bad-devices.json'), '[{"name": "x"}]');
  await writeFile(
    join(dir, 'platformio.ini'),
    '[env:ota]\nplatform = espressif32\nboard = esp32dev\nframework = arduino\nupload_protocol = espota\nupload_port = 127.0.91.200\nboard_build.partitions = huge_app.csv\n',
  );
  good = await startDevice({ address: '127.0.91.1', port: 0, password: 'right', timeScale: 0.1 });
  other = await startDevice({ address: '127.0.91.2', port: 0, password: 'other', timeScale: 0.1 });
  busyTcp = createServer();
  await new Promise<void>((resolve) => busyTcp?.listen(0, '127.0.0.1', resolve));
  busyTcpPort = (busyTcp.address() as { port: number }).port;
  mdnsPort = await freeUdpPort();
});

after(async () => {
  await good?.close();
  await other?.close();
  await new Promise<void>((resolve) => (busyTcp ? busyTcp.close(() => resolve()) : resolve()));
  await rm(dir, { recursive: true, force: true });
});

const unknown = (command: string): Row => ({
  command,
  class: 'usage',
  args: [command, '--bogus'],
  exit: 2,
  says: new RegExp(`Unknown option --bogus for "airflash ${command}"[\\s\\S]*airflash ${command} --help`),
});

function rows(): Row[] {
  const g = `127.0.91.1:${good.port}`;
  const o = `127.0.91.2:${other.port}`;
  // One device: -i ADDRESS -p PORT (espota's form).
  const one = ['-i', '127.0.91.1', '-p', String(good.port)];
  return [
    // usage: every command, the same message and its own help
    ...Object.keys(COMMANDS).map(unknown),
    {
      command: 'upload',
      class: 'usage',
      args: ['upload', '--target', g, '-f', 'firmware.bin', '--bogus'],
      exit: 2,
      says: /Unknown option --bogus for "airflash upload"/,
    },
    {
      command: 'upload',
      class: 'usage',
      args: ['upload', ...one, '-f', 'firmware.bin', '--a', 'x'],
      exit: 2,
      says: /Unknown option --a .*Did you mean --auth/,
    },
    {
      command: '(none)',
      class: 'usage',
      args: ['uplaod', '-i', 'h'],
      exit: 2,
      says: /Unknown command "uplaod"\. Did you mean upload\?/,
    },
    { command: 'help', class: 'usage', args: ['help', 'nosuch'], exit: 2, says: /Unknown command "nosuch"/ },
    // missing file
    {
      command: 'upload',
      class: 'missing file',
      args: ['upload', ...one, '-f', 'nope.bin'],
      exit: 2,
      says: /FILE_NOT_FOUND/,
    },
    {
      command: 'upload',
      class: 'missing file',
      args: ['upload', '--target', g, '-f', 'nope.bin'],
      exit: 2,
      says: /FILE_NOT_FOUND/,
    },
    {
      command: 'upload',
      class: 'missing file',
      args: ['upload', '--devices', 'nope.json', '-f', 'firmware.bin'],
      exit: 2,
      says: /DEVICES_FILE|FILE_NOT_FOUND/,
    },
    { command: 'image', class: 'missing file', args: ['image', 'nope.bin'], exit: 2, says: /FILE_NOT_FOUND/ },
    {
      command: 'partitions',
      class: 'missing file',
      args: ['partitions', 'nope.csv'],
      exit: 2,
      says: /FILE_NOT_FOUND|neither/,
    },
    {
      command: 'partitions',
      class: 'missing file',
      args: ['partitions', 'default', '--firmware', 'nope.bin'],
      exit: 2,
      says: /FILE_NOT_FOUND/,
    },
    {
      command: 'emulate',
      class: 'missing file',
      args: ['emulate', '--partitions', 'nosuch'],
      exit: 2,
      says: /FILE_NOT_FOUND/,
    },
    {
      command: 'emulate',
      class: 'missing file',
      args: ['emulate', '--fleet', 'nope.json'],
      exit: 2,
      says: /CONFIG_INVALID/,
    },
    {
      command: 'doctor',
      class: 'missing file',
      args: ['doctor', 'no-such-project'],
      exit: 2,
      says: /FILE_NOT_FOUND/,
    },
    // bad input (values, file contents)
    {
      command: 'upload',
      class: 'bad input',
      args: ['upload', ...one, '-f', 'firmware.bin', '-p', '70000'],
      exit: 2,
      says: /port number/,
    },
    {
      command: 'upload',
      class: 'bad input',
      args: ['upload', '--devices', 'bad-devices.json', '-f', 'firmware.bin'],
      exit: 2,
      says: /DEVICES_FILE.*entry 1, "address" is missing/,
    },
    {
      command: 'emulate',
      class: 'bad input',
      args: ['emulate', '--flash-size', '5MB'],
      exit: 2,
      says: /Flash size 5MB is not one an ESP32 board has: 1MB, 2MB, 4MB, 8MB, 16MB, 32MB, 64MB, 128MB/,
    },
    {
      command: 'emulate',
      class: 'bad input',
      args: ['emulate', '--core', 'esp8266', '--flash-size', '3MB'],
      exit: 2,
      says: /not one an ESP8266 board has: 512KB, 1MB, 2MB, 4MB, 8MB, 16MB/,
    },
    // The CLI's option names, not the library's (udpLoss, passwordHash).
    {
      command: 'emulate',
      class: 'bad input',
      args: ['emulate', '--udp-loss', '2'],
      exit: 2,
      says: /error \[BAD_ARGUMENT\]: --udp-loss is a probability/,
    },
    {
      command: 'emulate',
      class: 'bad input',
      args: ['emulate', '--password-hash', 'xyz'],
      exit: 2,
      says: /error \[BAD_ARGUMENT\]: --password-hash must be 32/,
    },
    {
      command: 'emulate',
      class: 'bad input',
      args: ['emulate', '--core', 'esp9'],
      exit: 2,
      says: /--core must be esp32, esp32-legacy, esp8266/,
    },
    {
      command: 'demo',
      class: 'bad input',
      args: ['demo', '--core', 'esp9'],
      exit: 2,
      says: /--core must be/,
    },
    {
      command: 'partitions',
      class: 'bad input',
      args: ['partitions', '--format', 'xml'],
      exit: 2,
      says: /--format must be table, csv, bin/,
    },
    { command: 'image', class: 'bad input', args: ['image', 'a.bin', 'b.bin'], exit: 2, says: /exactly one/ },
    {
      command: 'probe',
      class: 'bad input',
      args: ['probe', SILENT, '--samples', '0'],
      exit: 2,
      says: /--samples/,
    },
    {
      command: 'discover',
      class: 'bad input',
      args: ['discover', '--timeout', '0'],
      exit: 2,
      says: /--timeout/,
    },
    {
      command: 'doctor',
      class: 'bad input',
      args: ['doctor', 'a', 'b'],
      exit: 2,
      says: /one project directory/,
    },
    {
      command: 'dashboard',
      class: 'bad input',
      args: ['dashboard', '--port', '70000'],
      exit: 2,
      says: /--port/,
    },
    {
      command: 'completion',
      class: 'bad input',
      args: ['completion', 'tcsh'],
      exit: 2,
      says: /bash, zsh or fish/,
    },
    // refused: read, and cannot work there; nothing sent
    {
      command: 'upload',
      class: 'refused',
      args: ['upload', ...one, '-a', 'right', '-f', 'empty.bin'],
      exit: 3,
      says: /PREFLIGHT_EMPTY/,
    },
    {
      command: 'upload',
      class: 'refused',
      args: ['upload', ...one, '-a', 'right', '-f', 'corrupt.bin'],
      exit: 3,
      says: /PREFLIGHT_CORRUPT/,
    },
    {
      command: 'upload',
      class: 'refused',
      args: ['upload', '--target', g, '--target', o, '-f', 'empty.bin'],
      exit: 3,
      says: /PREFLIGHT_EMPTY/,
    },
    {
      command: 'upload',
      class: 'refused',
      args: ['upload', '--devices', 'esp8266-devices.json', '-f', 'firmware.bin', '--no-probe', ...fast],
      exit: 3,
      says: /0 updated, 2 failed/,
    },
    { command: 'image', class: 'refused', args: ['image', 'corrupt.bin'], exit: 3, says: /CORRUPT/ },
    {
      command: 'partitions',
      class: 'refused',
      args: ['partitions', 'default', '--firmware', 'big.bin'],
      exit: 3,
      says: /do NOT fit/,
    },
    {
      command: 'partitions',
      class: 'refused',
      args: ['partitions', 'huge_app', '--firmware', 'firmware.bin'],
      exit: 3,
      says: /No OTA slot/,
    },
    {
      command: 'partitions',
      class: 'refused',
      args: ['partitions', 'default', '--flash-size', '2MB'],
      exit: 3,
      says: /does not fit 2MB/,
    },
    // device failure
    {
      command: 'upload',
      class: 'device failure',
      args: ['upload', ...one, '-a', 'wrong', '-f', 'firmware.bin', ...fast],
      exit: 1,
      says: /AUTH_FAILED/,
    },
    {
      command: 'upload',
      class: 'device failure',
      args: ['upload', '-i', SILENT, '-f', 'firmware.bin', '-t', '0.3', '--attempts', '1'],
      exit: 1,
      says: /NO_INVITATION_REPLY/,
    },
    {
      command: 'upload',
      class: 'device failure',
      args: ['upload', '--target', o, '-a', 'right', '-f', 'firmware.bin', ...fast],
      exit: 1,
      says: /0 updated, 1 failed/,
    },
    {
      command: 'probe',
      class: 'device failure',
      args: ['probe', SILENT, '--timeout', '0.5', '--no-mdns', '--no-loop'],
      exit: 1,
    },
    {
      command: 'discover',
      class: 'device failure',
      args: ['discover', '--interface', '127.0.0.1', '--timeout', '0.3'],
      exit: 1,
      says: /no ArduinoOTA device answered/,
      env: { AIRFLASH_MDNS_PORT: String(mdnsPort) },
    },
    { command: 'doctor', class: 'device failure', args: ['doctor', '.'], exit: 1, says: /NO_OTA_PARTITIONS/ },
    {
      command: 'emulate',
      class: 'bad input',
      args: ['emulate', '--address', '127.0.91.1', '--port', String(good.port)],
      exit: 2,
      says: /Cannot listen on 127\.0\.91\.1/,
    },
    {
      command: 'dashboard',
      class: 'bad input',
      args: ['dashboard', '--port', String(busyTcpPort), '--no-mdns', '--state', 'state'],
      exit: 2,
      says: /Cannot listen on 127\.0\.0\.1/,
    },
    // partial fleet
    {
      command: 'upload',
      class: 'partial fleet',
      args: ['upload', '--target', g, '--target', o, '-a', 'right', '-f', 'firmware.bin', ...fast],
      exit: 4,
      says: /1 updated, 1 failed/,
    },
    // interrupted
    {
      command: 'upload',
      class: 'interrupted',
      args: ['upload', ...one, '-a', 'right', '-f', 'firmware.bin', ...fast],
      exit: 130,
      aborted: true,
      says: /INTERRUPTED/,
    },
    {
      command: 'upload',
      class: 'interrupted',
      args: ['upload', '--target', g, '-a', 'right', '-f', 'firmware.bin', ...fast],
      exit: 130,
      aborted: true,
    },
  ];
}

describe('one exit-code table for every command', () => {
  it('every registered command has an unknown-option row', () => {
    const covered = new Set(
      rows()
        .filter((r) => r.class === 'usage')
        .map((r) => r.command),
    );
    for (const name of Object.keys(COMMANDS)) assert.ok(covered.has(name), `no usage row for ${name}`);
  });

  it('every command × failure class exits as the README table says', async () => {
    const failures: string[] = [];
    for (const row of rows()) {
      const controller = new AbortController();
      if (row.aborted) controller.abort(new AirflashError('INTERRUPTED', 'Interrupted (SIGINT).'));
      // A command that wrongly accepts its input (emulate runs until Ctrl-C) is stopped after 30 s
      // and reported as a wrong exit, instead of hanging the test.
      const r = await runCliInMemory(row.args, {
        cwd: dir,
        env: row.env ?? {},
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(30_000)]),
      });
      const text = `${r.stderr}\n${r.stdout}`;
      if (r.code !== row.exit || (row.says !== undefined && !row.says.test(text)))
        failures.push(
          `${row.class}: airflash ${row.args.join(' ')} → exit ${r.code} (want ${row.exit})\n${text.slice(0, 300)}`,
        );
    }
    assert.deepEqual(failures, []);
  });
});
