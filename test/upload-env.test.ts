/**
 * `airflash upload --env NAME [PROJECT_DIR]` end to end: a generated PlatformIO project (one-line
 * upload_flags with the password and port, board_build.partitions, .pio/build/NAME/firmware.bin)
 * uploaded to an emulated ESP32. Devices on 127.0.57.2x.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startDevice } from '../src/emulator/index.ts';
import { buildEsp32App } from '../src/formats/index.ts';
import { md5hex } from '../src/protocols/arduino-ota/wire/index.ts';
import { makeProject, removeProject, runDoctorCli } from './helpers/doctor-io.ts';

const SCALE = 0.05;
const image = buildEsp32App({ size: 60_000, seed: 71 });

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map(removeProject));
});

function ini(address: string, extra = ''): string {
  return `[platformio]
default_envs = ota

[env]
platform = espressif32
board = esp32dev
framework = arduino

[env:serial]

[env:ota]
upload_protocol = espota
upload_port = ${address}
upload_flags = --auth=s3cret --port=4444
board_build.partitions = min_spiffs.csv
${extra}`;
}

interface ResultLine {
  type: string;
  ok: boolean;
  code: string | null;
  message: string;
}
const resultOf = (stdout: string): ResultLine =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ResultLine)
    .find((e) => e.type === 'result') as ResultLine;

describe('airflash upload --env', { concurrency: true }, () => {
  it('takes port, one-line flags, password and image from the project; the device boots the image', async () => {
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.57.20',
      port: 4444,
      password: 's3cret',
      partitions: 'min_spiffs',
      timeScale: SCALE,
    });
    try {
      const dir = await makeProject({
        'platformio.ini': ini(dev.address),
        '.pio/build/ota/firmware.bin': image,
      });
      dirs.push(dir);
      const { code, stdout, stderr } = await runDoctorCli(
        ['upload', '--env', 'ota', dir, '--time-scale', String(SCALE), '--json'],
        '/',
      );
      assert.equal(code, 0, `${stdout}\n${stderr}`);
      assert.equal(resultOf(stdout).ok, true);
      await dev.waitFor('booted', (e) => e.event === 'booted' && e.md5 === md5hex(image), 10_000);
      assert.equal(dev.runningImageMd5(), md5hex(image));
      assert.match(stdout, /"code":"SPLIT_ARGUMENT"/, 'the one-line flags were split, with a warning');
      assert.doesNotMatch(resultOf(stdout).message, /s3cret/, 'the result does not carry the password');
    } finally {
      await dev.close();
    }
  });

  it('from the project folder itself (no PROJECT_DIR), with an option that overrides the file', async () => {
    const dev = await startDevice({
      core: 'esp32',
      address: '127.0.57.21',
      password: 'other',
      timeScale: SCALE,
    });
    try {
      const dir = await makeProject({
        'platformio.ini': ini(dev.address).replace('board_build.partitions = min_spiffs.csv\n', ''),
        '.pio/build/ota/firmware.bin': image,
      });
      dirs.push(dir);
      const { code, stdout } = await runDoctorCli(
        ['upload', '--env=ota', '-p', '3232', '-a', 'other', '--time-scale', String(SCALE), '--json'],
        dir,
      );
      assert.equal(code, 0, stdout);
      await dev.waitFor('booted', (e) => e.event === 'booted' && e.md5 === md5hex(image), 10_000);
    } finally {
      await dev.close();
    }
  });

  it('board_build.partitions reaches the pre-flight: an image too big for its slot is refused (exit 3)', async () => {
    // min_spiffs app slots hold 1,966,080 bytes; a project CSV with a 1 MiB slot refuses 1.1 MiB.
    const csv =
      'nvs, data, nvs, 0x9000, 0x5000\notadata, data, ota, 0xe000, 0x2000\napp0, app, ota_0, 0x10000, 1M\napp1, app, ota_1, , 1M\n';
    const big = buildEsp32App({ size: 1_100_000, seed: 72 });
    const dir = await makeProject({
      'platformio.ini': ini('127.0.57.22').replace('min_spiffs.csv', 'small.csv'),
      'small.csv': csv,
      '.pio/build/ota/firmware.bin': big,
    });
    dirs.push(dir);
    const { code, stdout } = await runDoctorCli(['upload', '--env', 'ota', dir, '--json'], '/');
    assert.equal(code, 3, stdout);
    assert.equal(resultOf(stdout).code, 'PREFLIGHT_TOO_BIG');
  });

  it('an unknown env is a usage error (exit 2); a missing build output is FILE_NOT_FOUND (exit 2, input to fix)', async () => {
    const dir = await makeProject({ 'platformio.ini': ini('127.0.57.23') });
    dirs.push(dir);
    const unknown = await runDoctorCli(['upload', '--env', 'nope', dir], '/');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /There is no \[env:nope\].*\n.*Known environments: serial, ota/);
    const missing = await runDoctorCli(['upload', '--env', 'ota', dir, '--json'], '/');
    assert.equal(missing.code, 2);
    assert.equal(resultOf(missing.stdout).code, 'FILE_NOT_FOUND');
    assert.match(
      resultOf(missing.stdout).message,
      /\[env:ota\] has no build output: .*\.pio\/build\/ota\/firmware\.bin/,
    );
    assert.match(missing.stderr, /pio run -e ota/);
    const noProject = await runDoctorCli(['upload', '--env', 'ota', `${dir}/none`], '/');
    assert.equal(noProject.code, 2);
    assert.match(noProject.stderr, /does not exist/);
    const noName = await runDoctorCli(['upload', '--env'], '/');
    assert.equal(noName.code, 2);
  });
});
