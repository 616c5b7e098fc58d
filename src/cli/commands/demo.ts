import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AirflashError, EXIT, exitCodeFor, toAirflashError } from '../../core/errors.ts';
import type { DeviceEvent, EmulatedDevice } from '../../emulator/index.ts';
import { buildEsp32App, buildEsp8266Sketch } from '../../formats/index.ts';
import { md5hex } from '../../protocols/arduino-ota/wire/index.ts';
import { createPreflight, upload } from '../../upload/index.ts';
import { type CommandValues, type OptionSpec, parseCommandArgs } from '../options.ts';
import { chooseMode, createRenderer, formatBytes } from '../render/progress.ts';
import { safeBlock, safeJson } from '../render/safe-text.ts';
import { renderError } from '../render-error.ts';
import type { CliIO, Command } from '../types.ts';

const HELP = `airflash demo — see an over-the-air update end to end, without hardware

Starts an emulated ESP32 (arduino-esp32 3.3, with an OTA password) on loopback, generates a valid
firmware image, uploads it with airflash (progress shown), and shows the device booting the new
image: the MD5 of the running image equals the file's. Takes a few seconds; leaves nothing behind.

Usage: airflash demo [--core esp32|esp32-legacy|esp8266] [--size BYTES] [--loop-ms N] [--json]

  --core C       emulated core (default esp32 = arduino-esp32 >= 3.3.1)
  --size N       firmware size in bytes (default 1048576; 524288 for esp8266)
  --loop-ms N    the sketch calls ArduinoOTA.handle() every N ms (try 30000: a blocked loop)
  --no-password  no OTA password (default password: "demo")
  --json         JSON lines on stdout, as airflash upload --json
  -r, --progress draw the progress bar even when not on a terminal
`;

export const DEMO_OPTIONS = [
  {
    long: 'core',
    kind: 'string',
    arg: 'C',
    choices: ['esp32', 'esp32-legacy', 'esp8266'],
    help: 'emulated core (default esp32)',
  },
  {
    long: 'size',
    kind: 'number',
    arg: 'N',
    help: 'firmware size in bytes (default 1048576; 524288 for esp8266)',
  },
  { long: 'loop-ms', kind: 'number', arg: 'N', help: 'the sketch calls ArduinoOTA.handle() every N ms' },
  { long: 'no-password', kind: 'flag', help: 'no OTA password (default password: "demo")' },
  { long: 'json', kind: 'flag', help: 'JSON lines on stdout, as airflash upload --json' },
  { long: 'progress', short: 'r', kind: 'flag', help: 'draw the progress bar even when not on a terminal' },
  { long: 'time-scale', kind: 'number', arg: 'F', help: 'device time scale', hidden: true },
  { long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
] as const satisfies readonly OptionSpec[];

/** The emulated device's clock runs this much faster than real time (its flash writes, loop). */
const DEVICE_TIME_SCALE = 0.25;

export async function runDemo(argv: string[], io: CliIO): Promise<number> {
  const started = Date.now();
  let values: CommandValues<typeof DEMO_OPTIONS>;
  try {
    values = parseCommandArgs(argv, DEMO_OPTIONS, 'demo').values;
  } catch (error) {
    io.stderr.write(renderError(error));
    return exitCodeFor(error);
  }
  if (values.help === true) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  const core = (values.core ?? 'esp32') as 'esp32' | 'esp32-legacy' | 'esp8266';
  // An ESP8266 sketch must fit the 1 MB code window next to the running one: 512 KiB there.
  const size =
    values.size !== undefined ? Number(values.size) : core === 'esp8266' ? 512 * 1024 : 1024 * 1024;
  if (!Number.isInteger(size) || size < 8192 || size > 3 * 1024 * 1024) {
    io.stderr.write(
      renderError(new AirflashError('BAD_ARGUMENT', '--size must be from 8192 to 3145728 bytes.')),
    );
    return EXIT.usage;
  }
  const loopMs = values['loop-ms'] !== undefined ? Number(values['loop-ms']) : 0;
  const scale = values['time-scale'] !== undefined ? Number(values['time-scale']) : DEVICE_TIME_SCALE;
  const password = values['no-password'] === true ? undefined : 'demo';
  const json = values.json === true;
  const say = (text: string): void => {
    io.stderr.write(`${safeBlock(text)}\n`);
  };

  const { esp8266StagedImage, startDevice } = await import('../../emulator/index.ts');
  let dev: EmulatedDevice | undefined;
  let dir: string | undefined;
  try {
    const deviceLog: DeviceEvent[] = [];
    dev = await startDevice({
      core,
      address: '127.0.0.1',
      port: 0,
      loopMs,
      timeScale: scale,
      ...(password === undefined ? {} : { password }),
      onEvent: (e) => deviceLog.push(e),
    });
    const coreName =
      core === 'esp32'
        ? 'ESP32, arduino-esp32 3.3'
        : core === 'esp32-legacy'
          ? 'ESP32, arduino-esp32 3.0'
          : 'ESP8266';
    say(`airflash demo: an emulated device on loopback, a generated firmware, an over-the-air update.\n`);
    say(
      `Device   ${dev.hostname} (${coreName}) at ${dev.address}:${dev.port}${password ? `, OTA password "${password}"` : ''}${loopMs ? `, loop() every ${loopMs} ms of device time` : ''}${scale === 1 ? '' : ` (device time runs ${1 / scale}× faster)`}`,
    );
    const before = dev.runningImageMd5();
    say(`         running from ${dev.runningPartition()}, image MD5 ${before}`);

    const image =
      core === 'esp8266'
        ? buildEsp8266Sketch({ size, seed: Date.now() & 0xffff })
        : buildEsp32App({ size, seed: Date.now() & 0xffff, version: '2.0.0', projectName: 'airflash-demo' });
    const fileMd5 = md5hex(image);
    // An ESP8266 writes header byte 2 (flash mode) with the running chip's mode (Updater.cpp
    // `_writeBuffer()`): the image it boots is the file with that byte, not the file itself.
    const bootMd5Expected =
      core === 'esp8266' ? md5hex(esp8266StagedImage(image, dev.readFlash(2, 1)[0] ?? 0)) : fileMd5;
    dir = await mkdtemp(join(tmpdir(), 'airflash-demo-'));
    const file = join(dir, core === 'esp8266' ? 'demo.ino.bin' : 'firmware.bin');
    await writeFile(file, image);
    say(`Firmware ${file}: ${formatBytes(image.length)}, MD5 ${fileMd5}\n`);

    const mode = chooseMode({ json, progress: values.progress === true, isTTY: io.isTTY });
    const renderer = createRenderer({
      stdout: io.stdout,
      stderr: io.stderr,
      mode,
      label: `${dev.address}:${dev.port}`,
    });
    const booted = dev.waitFor('booted', (e) => e.event === 'booted' && e.md5 === bootMd5Expected, 120_000);
    // When the upload fails, this wait ends with the device's close in `finally`: observed here,
    // so it cannot become an unhandled rejection that kills the process before the clean-up.
    booted.catch(() => {});
    const result = await upload({
      host: dev.address,
      port: dev.port,
      file,
      ...(password === undefined ? {} : { password }),
      signed: false,
      timeScale: Math.min(1, scale * 4),
      preflight: createPreflight({ chip: core === 'esp8266' ? 'esp8266' : 'esp32' }),
      onEvent: (e) => renderer.event(e),
      signal: io.signal,
    });
    const boot = await booted;
    const bootMd5 = boot.event === 'booted' ? boot.md5 : '';
    const seconds = result.durationMs / 1000;
    renderer.result({
      ok: true,
      code: null,
      message: `Updated ${dev.address} with ${formatBytes(result.bytes)} in ${seconds.toFixed(1)} s.`,
      diagnosis: null,
      seconds: Math.round(seconds * 1000) / 1000,
      bytes: result.bytes,
      ...(result.loopPeriodMs === undefined ? {} : { loopPeriodMs: result.loopPeriodMs }),
    });
    const ok = bootMd5 === bootMd5Expected && dev.runningImageMd5() === bootMd5Expected;
    say(
      `\nDevice   rebooted and runs from ${boot.event === 'booted' ? boot.partition : '?'}, image MD5 ${dev.runningImageMd5()}`,
    );
    say(
      ok
        ? bootMd5Expected === fileMd5
          ? `         = the file's MD5: the device runs the new firmware.`
          : `         = the file with the chip's flash mode in header byte 2: the device runs the new firmware.`
        : '         does NOT match the file!',
    );
    say(
      `\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s. Next: airflash upload --help, airflash emulate --help.`,
    );
    return ok ? EXIT.ok : EXIT.failed;
  } catch (error) {
    const e = toAirflashError(error);
    if (json)
      io.stdout.write(
        `${safeJson({ type: 'result', ok: false, code: e.code, message: e.message, diagnosis: null, seconds: (Date.now() - started) / 1000, bytes: 0 })}\n`,
      );
    io.stderr.write(renderError(e));
    return exitCodeFor(e);
  } finally {
    await dev?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

export const command: Command = {
  name: 'demo',
  summary: 'Upload a generated firmware to an emulated ESP32 and watch it boot',
  help: HELP,
  options: DEMO_OPTIONS,
  run: runDemo,
};
