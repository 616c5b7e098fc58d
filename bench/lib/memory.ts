/**
 * Peak memory of the built CLI (issue 12): an upload of a 16 MiB image to an emulated ESP32 (two
 * 16 MiB OTA slots on 64 MB of flash), `airflash image` on the same file and on
 * 200 MB of random bytes. Each command runs in its own process under /usr/bin/time (ru_maxrss),
 * else /proc/PID/status VmHWM is polled.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { airflashArgs, EmulatorProcess, resultLine, runProcess } from './procs.ts';
import { round } from './stats.ts';
import type { MemoryResult, MemoryRun } from './types.ts';

/** The upload's emulator time scale: 16 MiB of flash work takes ≈ 130 s at 1×, ≈ 6.5 s at 0.05. */
export const MEMORY_TIME_SCALE = 0.05;
export const RANDOM_FILE_BYTES = 200 * 1000 * 1000;
/** Two OTA slots of 16 MiB (on 64 MB of flash: no built-in scheme has a 16 MiB slot). */
const PARTITIONS_CSV = `# Name, Type, SubType, Offset, Size
nvs,      data, nvs,     0x9000,    0x5000
otadata,  data, ota,     0xe000,    0x2000
app0,     app,  ota_0,   0x10000,   0x1000000
app1,     app,  ota_1,   0x1010000, 0x1000000
`;

export const MEMORY_METHOD = existsSync('/usr/bin/time')
  ? '/usr/bin/time -f %M (ru_maxrss)'
  : '/proc/PID/status VmHWM';

/** Write `bytes` random bytes to `path` in 1 MiB pieces (the bench itself stays small). */
async function writeRandom(path: string, bytes: number): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (let left = bytes; left > 0; left -= 1 << 20) await file.write(randomBytes(Math.min(left, 1 << 20)));
  } finally {
    await file.close();
  }
}

async function measure(
  name: string,
  args: string[],
  fileBytes: number,
  expect: (code: number | null, stdout: string) => boolean,
): Promise<MemoryRun & { stdout: string }> {
  const [cmd, argv] = airflashArgs(args);
  const p = await runProcess(cmd, argv, { measureRss: true, timeoutMs: 300_000 });
  return {
    name,
    // Paths by their file name, the address and the emulator's port (a new one each run) by role.
    command: args
      .map((a, i) =>
        args[i - 1] === '-i' ? 'ADDRESS' : args[i - 1] === '-p' ? 'PORT' : a.includes('/') ? basename(a) : a,
      )
      .join(' '),
    fileBytes,
    ok: expect(p.code, p.stdout),
    exitCode: p.code,
    seconds: round(p.wallMs / 1000, 3),
    maxRssKiB: p.maxRssKiB ?? null,
    stdout: p.stdout,
  };
}

/**
 * The same 16 MiB image over web OTA (issue 18): `airflash upload -f FILE http://ADDRESS:PORT` to
 * an emulated ESPHome web_server on the same 16 MiB-slot board; the multipart body streams from
 * the file (exact Content-Length, no buffering), so the peak RSS should match the ArduinoOTA run.
 */
async function benchWebMemory(
  csv: string,
  image: { path: string; bytes: Uint8Array; md5: string },
): Promise<MemoryRun & { stdout: string }> {
  const address = '127.0.0.61';
  const emu = await EmulatorProcess.start([
    '--protocol',
    'http',
    '--profile',
    'esphome',
    '--address',
    address,
    '--port',
    '0',
    '--flash-size',
    '64MB',
    '--partitions',
    csv,
    '--time-scale',
    String(MEMORY_TIME_SCALE),
  ]);
  try {
    const from = emu.cursor();
    const run = await measure(
      `web upload ${image.bytes.length >> 20} MiB`,
      [
        'upload',
        '-f',
        image.path,
        `http://${address}:${emu.port(address)}`,
        '--time-scale',
        String(MEMORY_TIME_SCALE),
        '--json',
      ],
      image.bytes.length,
      (c, out) => c === 0 && resultLine(out)?.ok === true,
    );
    // measure() shortens what holds a '/' to its last part: the URL's address and port, by role.
    run.command = run.command.replace(`${address}:${emu.port(address)}`, 'http://ADDRESS:PORT');
    try {
      await emu.waitFor((e) => e.event === 'update-complete' && e.md5 === image.md5, 5000, from);
    } catch {
      run.ok = false;
    }
    return run;
  } finally {
    await emu.close();
  }
}

export async function benchMemory(
  dir: string,
  image: { path: string; bytes: Uint8Array; md5: string },
  log: (line: string) => void,
): Promise<MemoryResult> {
  const csv = join(dir, 'partitions-16m.csv');
  await writeFile(csv, PARTITIONS_CSV);
  const address = '127.0.0.60';
  const emu = await EmulatorProcess.start([
    '--core',
    'esp32',
    '--address',
    address,
    '--port',
    '0',
    '--flash-size',
    '64MB',
    '--partitions',
    csv,
    '--time-scale',
    String(MEMORY_TIME_SCALE),
  ]);
  let upload: MemoryRun & { stdout: string };
  let code: string | null = null;
  try {
    const from = emu.cursor();
    upload = await measure(
      `upload ${image.bytes.length >> 20} MiB`,
      [
        'upload',
        '-i',
        address,
        '-p',
        String(emu.port(address)),
        '-f',
        image.path,
        '--partitions',
        csv,
        '--json',
      ],
      image.bytes.length,
      (c, out) => c === 0 && resultLine(out)?.ok === true,
    );
    code = (resultLine(upload.stdout)?.code as string | null | undefined) ?? null;
    try {
      await emu.waitFor((e) => e.event === 'update-complete' && e.md5 === image.md5, 5000, from);
    } catch {
      upload.ok = false;
    }
  } finally {
    await emu.close();
  }
  log(`  ${upload.name}: peak RSS ${upload.maxRssKiB} KiB, ${upload.ok ? 'ok' : `FAILED ${code}`}`);
  const web = await benchWebMemory(csv, image);
  log(`  ${web.name}: peak RSS ${web.maxRssKiB} KiB, ${web.ok ? 'ok' : 'FAILED'}`);
  const inspect = await measure(
    `image ${image.bytes.length >> 20} MiB`,
    ['image', image.path],
    image.bytes.length,
    (c) => c === 0,
  );
  log(`  ${inspect.name}: peak RSS ${inspect.maxRssKiB} KiB`);
  const random = join(dir, 'random-200m.bin');
  await writeRandom(random, RANDOM_FILE_BYTES);
  // Random bytes are not a firmware image: refused (exit 3), in bounded memory.
  const refused = await measure('image 200 MB random', ['image', random], RANDOM_FILE_BYTES, (c) => c === 3);
  log(`  ${refused.name}: peak RSS ${refused.maxRssKiB} KiB, exit ${refused.exitCode}`);
  const runs = [upload, web, inspect, refused].map(({ stdout: _stdout, ...run }) => run);
  return {
    imageBytes: image.bytes.length,
    timeScale: MEMORY_TIME_SCALE,
    ok: runs.every((r) => r.ok),
    code,
    seconds: upload.seconds,
    maxRssKiB: upload.maxRssKiB,
    method: MEMORY_METHOD,
    runs,
  };
}
