/**
 * Nothing from outside reaches the terminal raw: the safe-text helper, and the CLI's output for a
 * hostile device, a hostile mDNS name, a devices file and an image app descriptor with ESC in them.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { safeBlock, safeJson, safeText } from '../src/cli/render/safe-text.ts';
import { advertise, arduinoTxt } from '../src/discovery/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';
import { startFakeDevice } from './helpers/fake-ota-device.ts';
import { freeUdpPort } from './helpers/mdns-loopback.ts';

/** C0 except \n, DEL, C1: what must never be in the CLI's human output. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
/** What must never be raw in JSON output either (line breaks of indented JSON are allowed). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW_IN_JSON = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the fleet view's cursor movements
const OWN_CURSOR_MOVES = /\x1b\[(\d+F|0J|K)/g;

describe('safeText', () => {
  it('escapes every C0 control and DEL as \\xHH (\\n, \\r, \\t by name)', () => {
    for (let c = 0; c < 0x20; c++) {
      const out = safeText(`a${String.fromCharCode(c)}b`);
      const named: Record<number, string> = { 9: '\\t', 10: '\\n', 13: '\\r' };
      assert.equal(out, `a${named[c] ?? `\\x${c.toString(16).padStart(2, '0')}`}b`, `code ${c}`);
    }
    assert.equal(safeText('\x7f'), '\\x7f');
    assert.equal(safeText('\x1b]0;pwned\x07'), '\\x1b]0;pwned\\x07');
  });

  it('escapes every C1 control as \\u00HH, and the printable neighbours pass', () => {
    for (let c = 0x80; c <= 0x9f; c++) {
      assert.equal(safeText(String.fromCharCode(c)), `\\u00${c.toString(16)}`);
    }
    assert.equal(safeText('\x20~\xa0é'), ' ~\xa0é');
  });

  it('escapes bidi controls, zero-width and invisible format characters, lone surrogates', () => {
    const cases: Array<[string, string]> = [
      ['\u202e', '\\u202e'],
      ['\u202a', '\\u202a'],
      ['\u2066', '\\u2066'],
      ['\u2069', '\\u2069'],
      ['\u200b', '\\u200b'],
      ['\u200f', '\\u200f'],
      ['\u061c', '\\u061c'],
      ['\u2028', '\\u2028'],
      ['\ufeff', '\\ufeff'],
      ['\ud800', '\\ud800'],
      ['\udfff', '\\udfff'],
    ];
    for (const [input, expected] of cases) assert.equal(safeText(`x${input}y`), `x${expected}y`);
    // Neighbours that are text: a surrogate pair (emoji), U+2030, U+2070, CJK.
    for (const ok of ['😀', '\u2030', '\u2070', '日本', 'kitchen-1']) assert.equal(safeText(ok), ok);
  });

  it('is idempotent and keeps backslashes', () => {
    const once = safeText('C:\\fw\x1b[2J\x85');
    assert.equal(once, 'C:\\fw\\x1b[2J\\u0085');
    assert.equal(safeText(once), once);
  });

  it('safeBlock keeps line breaks and escapes the rest', () => {
    assert.equal(safeBlock('one\x1b[31m\ntwo\r\n'), 'one\\x1b[31m\ntwo\\r\n');
  });
});

describe('safeJson', () => {
  it('is lossless and leaves no raw control character', () => {
    let all = '';
    for (let c = 0; c < 0xa0; c++) all += String.fromCharCode(c);
    const value = { text: `${all}\u202e\u2028\ufeff\\`, n: 1, nested: [{ k: '\x9b' }] };
    for (const space of [undefined, 2]) {
      const text = safeJson(value, space);
      // Only the indentation's line breaks are raw.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
      assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e\u2028\ufeff]/);
      assert.match(text, /\\u0085/);
      assert.match(text, /\\u009b/);
      assert.deepEqual(JSON.parse(text), value);
    }
    assert.equal(safeJson(undefined), 'null');
  });
});

describe('the CLI prints outside text escaped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airflash-escape-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const firmware = join(dir, 'firmware.bin');
  writeFileSync(firmware, buildEsp32App({ size: 40_000, seed: 5 }));

  /** No raw control in the output, and the escaped form is there instead. */
  function assertEscaped(text: string, escaped: string, what: string): void {
    assert.doesNotMatch(text, RAW_CONTROL, `${what} holds a raw control character: ${JSON.stringify(text)}`);
    assert.ok(text.includes(escaped), `${what} does not show ${escaped}: ${text}`);
  }

  it('a device refusing with ESC/BEL/C1 in its text (upload, plain and --json)', async () => {
    const device = await startFakeDevice({
      address: '127.0.0.131',
      // Bytes as a device sends them: the uploader reads them as Latin-1, so 0x9B is U+009B (CSI).
      answer: Buffer.from('ERR: \x1b]0;pwned\x07\x1b[2J\x9b31m\x85evil', 'latin1'),
    });
    try {
      const args = ['upload', '-i', device.address, '-p', String(device.port), '-f', firmware];
      const plain = await runCliInMemory(args);
      assert.notEqual(plain.code, 0);
      assertEscaped(plain.stderr, '\\x1b]0;pwned\\x07\\x1b[2J\\u009b31m\\u0085evil', 'stderr');
      assert.doesNotMatch(plain.stdout, RAW_CONTROL);
      const json = await runCliInMemory([...args, '--json']);
      assert.notEqual(json.code, 0);
      assert.doesNotMatch(json.stdout, RAW_IN_JSON);
      const result = JSON.parse(json.stdout.trim().split('\n').at(-1) ?? '') as {
        type: string;
        message: string;
      };
      assert.equal(result.type, 'result');
      assertEscaped(json.stderr, '\\x1b]0;pwned', 'stderr (--json)');
      assert.match(json.stdout, /\\u009b31m/);
      // Lossless: the parsed message has what the device said (the uploader may quote it).
      assert.ok(
        JSON.stringify(result).includes('\\u001b]0;pwned\\u0007') || !result.message.includes('pwned'),
      );
    } finally {
      await device.close();
    }
  });

  it('the debug log (-d) of an upload to a device answering with ESC', async () => {
    const device = await startFakeDevice({
      address: '127.0.0.135',
      answer: Buffer.from('ERR: \x1b[2J\x9bdebug', 'latin1'),
    });
    try {
      const r = await runCliInMemory([
        'upload',
        '-i',
        device.address,
        '-p',
        String(device.port),
        '-f',
        firmware,
        '-d',
      ]);
      assert.notEqual(r.code, 0);
      assertEscaped(r.stderr, '\\x1b[2J\\u009bdebug', 'stderr with -d');
    } finally {
      await device.close();
    }
  });

  it('a platformio.ini value with ESC (doctor, plain and --json)', async () => {
    const project = join(dir, 'pio');
    mkdirSync(join(project, 'src'), { recursive: true });
    writeFileSync(
      join(project, 'platformio.ini'),
      '[env:ota]\nplatform = espressif32\nboard = esp32dev\nframework = arduino\nupload_protocol = espota\n' +
        'upload_port = 127.0.0.136\nupload_flags = --auth=x\x1b]0;pio\x07y --port=3232\n',
    );
    writeFileSync(
      join(project, 'src', 'main.cpp'),
      '#include <ArduinoOTA.h>\nvoid setup() {}\nvoid loop() {}\n',
    );
    const plain = await runCliInMemory(['doctor', project]);
    assertEscaped(plain.stdout, '\\x1b]0;pio\\x07', 'doctor stdout');
    assert.doesNotMatch(plain.stderr, RAW_CONTROL);
    const json = await runCliInMemory(['doctor', project, '--json']);
    assert.doesNotMatch(json.stdout, RAW_IN_JSON);
    assert.match(json.stdout, /\\u001b\]0;pio\\u0007/);
  });

  it('a device answering a probe with ESC in its text', async () => {
    const device = await startFakeDevice({
      address: '127.0.0.132',
      answer: Buffer.from('ERR: \x1b[31mred\x85', 'latin1'),
    });
    try {
      const r = await runCliInMemory(['probe', device.address, '-p', String(device.port)]);
      assertEscaped(r.stdout, '\\x1b[31mred\\u0085', 'probe stdout');
      assert.doesNotMatch(r.stderr, RAW_CONTROL);
      const j = await runCliInMemory(['probe', device.address, '-p', String(device.port), '--json']);
      assert.doesNotMatch(j.stdout, RAW_IN_JSON);
      assert.match(j.stdout, /\\u001b\[31mred\\u0085/);
    } finally {
      await device.close();
    }
  });

  it('an mDNS name and TXT value with ESC in discover (table and --json)', async () => {
    const port = await freeUdpPort();
    const ad = await advertise({
      name: 'evil\x1b[2Jname\u009b',
      hostname: 'evil',
      port: 3232,
      addresses: ['127.0.0.133'],
      txt: arduinoTxt('esp32', 'b\x1b]0;x\x07', false),
      mdnsPort: port,
    });
    try {
      const env = { AIRFLASH_MDNS_PORT: String(port) };
      const table = await runCliInMemory(['discover', '--interface', 'lo', '--timeout', '0.8'], { env });
      assert.equal(table.code, 0, table.stderr);
      assertEscaped(table.stdout, 'evil\\x1b[2Jname\\u009b', 'discover table');
      assert.ok(table.stdout.includes('b\\x1b]0;x\\x07'), table.stdout);
      const json = await runCliInMemory(['discover', '--interface', 'lo', '--timeout', '0.8', '--json'], {
        env,
      });
      assert.doesNotMatch(json.stdout, RAW_IN_JSON);
      const event = JSON.parse(json.stdout.trim().split('\n')[0] ?? '') as { device: { name: string } };
      assert.equal(event.device.name, 'evil\x1b[2Jname\u009b');
    } finally {
      await ad.close();
    }
  });

  it('a devices-file name with ESC (fleet upload, plain and live)', async () => {
    writeFileSync(
      join(dir, 'evil.devices.json'),
      JSON.stringify([{ name: 'kitchen\x1b]0;pwned\x07', address: '127.0.0.134', port: 9 }]),
    );
    for (const isTTY of [false, true]) {
      const r = await runCliInMemory(
        ['upload', '--devices', 'evil.devices.json', '-f', 'firmware.bin', '--time-scale', '0.02'],
        { cwd: dir, isTTY },
      );
      assert.notEqual(r.code, 0);
      // The live view's own cursor movements are the only escapes allowed.
      const human = isTTY ? r.stderr.replace(OWN_CURSOR_MOVES, '') : r.stderr;
      assertEscaped(human + r.stdout, 'kitchen\\x1b]0;pwned\\x07', `fleet output (isTTY ${isTTY})`);
    }
  });

  it('an image app descriptor with ESC (airflash image, plain and --json)', async () => {
    const file = join(dir, 'evil.bin');
    writeFileSync(
      file,
      buildEsp32App({ size: 20_000, seed: 6, projectName: 'p\x1b[8m\u009d', version: 'v\x1b]0;t\x07' }),
    );
    const plain = await runCliInMemory(['image', file]);
    assertEscaped(plain.stdout, 'p\\x1b[8m\\u009d', 'image stdout');
    assert.ok(plain.stdout.includes('v\\x1b]0;t\\x07'), plain.stdout);
    const json = await runCliInMemory(['image', file, '--json']);
    assert.doesNotMatch(json.stdout, RAW_IN_JSON);
    assert.match(json.stdout, /p\\u001b\[8m\\u009d/);
  });
});
