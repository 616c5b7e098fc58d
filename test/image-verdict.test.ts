/**
 * One verdict for files that are not firmware (issue 14): `airflash image` and the upload
 * pre-flight judge them with the same code and words, `image` exits 3, and the library runs the
 * pre-flight by default (`preflight: false` opts out).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isAirflashError } from '../src/core/errors.ts';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { upload } from '../src/upload/index.ts';
import { runCliInMemory } from './helpers/cli-io.ts';

let dir: string;
const elf = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0, ...new Array(120).fill(0)]);
const files: Record<string, Uint8Array> = {
  'random.bin': new Uint8Array(randomBytes(70_000)).map((b, i) => (i === 0 ? 0x5a : b)),
  'notes.txt': new TextEncoder().encode('# build notes\nflash with esptool\n'.repeat(100)),
  'firmware.elf': elf,
  'text.bin.gz': new Uint8Array(gzipSync(new TextEncoder().encode('hello\n'.repeat(500)))),
  'app.bin.gz': new Uint8Array(gzipSync(buildEsp32App({ size: 20_000 }))),
};
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airflash-verdict-'));
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const image = (...args: string[]) => runCliInMemory(['image', ...args], { cwd: dir });

describe('airflash image: a file that is not a firmware image', () => {
  const cases: Array<[string, RegExp]> = [
    ['random.bin', /unrecognised binary data \(first byte 0x5A\)/],
    ['notes.txt', /a text file/],
    ['firmware.elf', /an ELF file/],
    ['text.bin.gz', /gzip data holding a text file/],
  ];
  for (const [name, looks] of cases) {
    it(`${name}: says what it looks like, exits 3, "ok": false`, async () => {
      const text = await image(name);
      assert.equal(text.code, 3, text.stderr);
      assert.match(text.stdout, new RegExp(`^${name.replace('.', '\\.')}: not a firmware image: `, 'm'));
      assert.match(text.stdout, /looks like +/);
      assert.match(text.stdout, /verdict +NOT A FIRMWARE IMAGE/);
      assert.doesNotMatch(text.stdout, /intact/);
      assert.match(text.stderr, /^error \[PREFLIGHT_NOT_APP\]: /);
      assert.match(text.stdout, looks);
      const json = await image(name, '--json');
      assert.equal(json.code, 3);
      const out = JSON.parse(json.stdout);
      assert.equal(out.ok, false);
      assert.equal(out.kind, 'unknown');
      assert.equal(out.verdict.code, 'PREFLIGHT_NOT_APP');
      assert.match(out.content.looksLike, looks);
    });
  }

  it('the ELF verdict says to pass the .bin', async () => {
    const { stdout, stderr } = await image('firmware.elf');
    assert.match(stdout, /You passed the \.elf; pass the \.bin/);
    assert.match(stderr, /try: You passed the \.elf; pass the \.bin/);
  });

  it('a gzip of an ESP32 app is recognised as what it holds, not called random', async () => {
    const { stdout } = await image('app.bin.gz');
    assert.match(stdout, /gzip-compressed ESP8266 image \(ESP32 application image\)/);
  });

  it('upload refuses the same files with the same code and message as `image` (one judgement)', async () => {
    for (const [name] of cases) {
      const shown = await image(name, '--json');
      const verdict = JSON.parse(shown.stdout).verdict;
      const up = await runCliInMemory(['upload', '-i', '127.0.0.1', '-f', join(dir, name), '--json'], {
        cwd: dir,
      });
      assert.equal(up.code, 3, `${name}: ${up.stderr}`);
      assert.match(up.stdout + up.stderr, /PREFLIGHT_NOT_APP/);
      const first = (String(verdict.message).split(' A firmware update')[0] as string).replace(
        `"${name}"`,
        '',
      );
      assert.ok((up.stdout + up.stderr).includes(first), `${name}: ${first}`);
    }
  });
});

describe('upload(): the pre-flight runs by default in the library', () => {
  it('upload({ file: "random.bin" }) is refused before any invitation; preflight: false sends it', async () => {
    const dev = await startDevice({ core: 'esp32', address: '127.0.0.31', port: 0, timeScale: 0.02 });
    let invitations = 0;
    dev.events.on('event', (ev: { event: string }) => {
      if (ev.event === 'invitation') invitations++;
    });
    try {
      const file = join(dir, 'random.bin');
      const refused = await upload({ host: dev.address, port: dev.port, file, timeScale: 0.02 }).catch(
        (e: unknown) => e,
      );
      assert.ok(isAirflashError(refused, 'PREFLIGHT_NOT_APP'), String(refused));
      assert.equal(refused.phase, 'preflight');
      assert.equal(invitations, 0, 'nothing was sent to the device');
      const sent = await upload({
        host: dev.address,
        port: dev.port,
        file,
        preflight: false,
        timeScale: 0.02,
      }).catch((e: unknown) => e);
      assert.ok(isAirflashError(sent, 'DEVICE_ERROR'), String(sent));
      assert.ok(invitations >= 1, 'with preflight: false the image was offered to the device');
    } finally {
      await dev.close();
    }
  });

  it('a valid image still goes through with the default pre-flight', async () => {
    const dev = await startDevice({ core: 'esp32', address: '127.0.0.32', port: 0, timeScale: 0.02 });
    try {
      const r = await upload({
        host: dev.address,
        port: dev.port,
        data: buildEsp32App({ size: 30_000 }),
        timeScale: 0.02,
      });
      assert.equal(r.ok, true);
      assert.equal(r.observation.preflight?.ran, true);
    } finally {
      await dev.close();
    }
  });
});
