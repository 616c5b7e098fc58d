import { readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { AirflashError, EXIT } from '../../core/errors.ts';
import { blankOtadata, decodePartitionTable } from '../../formats/index.ts';
import type { FlashSerialResult } from '../../protocols/serial/host/flash.ts';
import { parseCommandArgs } from '../options.ts';
import { chooseMode } from '../render/progress.ts';
import { safeText } from '../render/safe-text.ts';
import { serialRenderer } from '../render/serial.ts';
import { parseAddress, runJsonAware, SERIAL_COMMON_OPTIONS, serialOptionsFrom } from '../serial-options.ts';
import type { CliIO, Command } from '../types.ts';

const HELP = `Usage: airflash flash --port PORT FILE [ADDRESS FILE …] [--erase] [--baud BAUD] [--json]
       airflash flash --port PORT --env NAME [PROJECT_DIR] [--erase]

Flash a board over USB serial (the first flash, or after a partition change):
  FILE                 alone: an app goes to 0x10000 (ESP32 family) / 0x0 (ESP8266), a merged
                       full-flash image to 0x0, a bootloader / partition table to its place
  ADDRESS FILE …       a flash plan, e.g. 0x1000 bootloader.bin 0x8000 partitions.bin 0x10000 app.bin
  --env NAME           PlatformIO's build output .pio/build/NAME: bootloader.bin, partitions.bin,
                       a blank otadata (as boot_app0.bin: boot the first app) and firmware.bin
                       (ESP8266: firmware.bin), as "upload --env" reads the project

Before writing, every part is checked against the connected board: its chip, the flash size in
its header against the real flash, and each app against its slot in the partition table being
written. Writes are compressed, every region is verified by MD5, and the board is reset into the
new firmware at the end.

Options:
  --port PORT           /dev/ttyUSB0, COM3, … or auto (the one USB serial port)
  --erase               erase the whole flash first
  --baud BAUD           baud rate once the stub runs (default 460800)
  --reset MODE          auto | classic | usb-jtag | none | D0|R1|W100|D1|R0|W50|D0
  --connect-attempts N  reset + sync attempts (default 7)
  --json                the result as JSON on stdout
  -h, --help            show this help

Exit status: 0 flashed and verified; 1 the board failed; 2 usage error; 3 refused by pre-flight.
`;

const OPTIONS = [
  ...SERIAL_COMMON_OPTIONS,
  { long: 'erase', kind: 'flag', help: 'erase the whole flash first' },
  {
    long: 'env',
    kind: 'string',
    arg: 'NAME',
    help: 'flash .pio/build/NAME (bootloader, partitions, firmware)',
  },
] as const;

type Part = { address?: number; data: Uint8Array; name: string };

/** The largest flash of any ESP chip (128 MB): a bigger file cannot be flashed, and is not read. */
const MAX_PART = 128 * 1024 * 1024;

async function readPart(path: string, io: CliIO): Promise<{ data: Uint8Array; name: string }> {
  const full = resolve(io.cwd, path);
  const size = (await stat(full).catch(() => undefined))?.size;
  if (size !== undefined && size > MAX_PART)
    throw new AirflashError(
      'PREFLIGHT_TOO_BIG',
      `${path} is ${size} bytes, more than any ESP flash (128 MB).`,
    );
  try {
    return { data: new Uint8Array(await readFile(full)), name: relative(io.cwd, full) || path };
  } catch (error) {
    throw new AirflashError('FILE_NOT_FOUND', `Cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The parts of `FILE` or `ADDRESS FILE …`. */
async function partsFromArgs(args: readonly string[], io: CliIO): Promise<Part[]> {
  if (args.length === 0)
    throw new AirflashError('BAD_ARGUMENT', 'Name a FILE to flash (or ADDRESS FILE pairs, or --env NAME).');
  if (args.length === 1) return [await readPart(args[0] as string, io)];
  if (args.length % 2 !== 0)
    throw new AirflashError(
      'BAD_ARGUMENT',
      'A flash plan is ADDRESS FILE pairs, e.g. 0x1000 bootloader.bin 0x10000 app.bin.',
    );
  const parts: Part[] = [];
  for (let i = 0; i < args.length; i += 2)
    parts.push({
      address: parseAddress(args[i] as string, 'ADDRESS'),
      ...(await readPart(args[i + 1] as string, io)),
    });
  return parts;
}

/** `--env NAME [DIR]`: the build folder's bootloader, table and app (the ones that exist; firmware.bin must). */
async function partsFromEnv(name: string, dir: string | undefined, io: CliIO): Promise<Part[]> {
  const { pioEnvUpload, readPioProject } = await import('../../doctor/pio-project.ts');
  const project = await readPioProject(resolve(io.cwd, dir ?? '.'), {
    sysenv: io.env,
    command: 'airflash flash --env NAME',
  });
  const upload = await pioEnvUpload(project, name);
  const build = dirname(upload.firmware);
  if ((await stat(upload.firmware).catch(() => undefined))?.isFile() !== true)
    throw new AirflashError(
      'FILE_NOT_FOUND',
      `[env:${name}] has no build output: ${relative(io.cwd, upload.firmware)} does not exist.`,
      {
        hint: `Build it first: pio run -e ${name}`,
      },
    );
  const parts: Part[] = [];
  for (const file of ['bootloader.bin', 'partitions.bin']) {
    const path = join(build, file);
    if ((await stat(path).catch(() => undefined))?.isFile()) parts.push(await readPart(path, io));
  }
  // What PlatformIO's boot_app0.bin does: a blank otadata, so the bootloader starts app0 (the app
  // written now) and not an older image another slot's otadata entry still points at.
  const table = parts.find((p) => p.name.endsWith('partitions.bin'));
  if (table) {
    try {
      const od = decodePartitionTable(table.data).entries.find((e) => e.type === 1 && e.subtype === 0);
      if (od)
        parts.push({ address: od.offset, data: blankOtadata(), name: 'otadata (blank: boot the first app)' });
    } catch {
      // not a table the decoder reads: the pre-flight says so for the part itself
    }
  }
  parts.push(await readPart(upload.firmware, io));
  return parts;
}

/** After the flash: how to update over the network from now on. */
export function nextSteps(result: FlashSerialResult): string {
  const app = result.parts.find(
    (p) => p.address === 0x10000 || (result.chip.family === 'esp8266' && p.address === 0),
  );
  const lines = [
    `Flashed ${result.parts.length} part(s) to the ${result.chip.description} on ${result.port}, every region verified by MD5.`,
  ];
  if (app)
    lines.push(
      'If this sketch starts ArduinoOTA, update it over the network from now on:',
      '  airflash upload -i DEVICE_IP -f firmware.bin',
      '  (airflash discover shows its mDNS name once it joined the Wi-Fi: then -i NAME.local)',
    );
  return `${lines.map(safeText).join('\n')}\n`;
}

export const command: Command = {
  name: 'flash',
  summary: 'Flash a board over USB serial (first flash, partitions): pre-flight, MD5 verify',
  help: HELP,
  options: OPTIONS,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, OPTIONS, 'flash');
    if (values.help === true) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (values.env !== undefined && positionals.length > 1)
      throw new AirflashError('BAD_ARGUMENT', '--env takes at most a PROJECT_DIR, not files.');
    const serial = serialOptionsFrom(values, io, 'flash');
    const parts =
      values.env !== undefined
        ? await partsFromEnv(String(values.env), positionals[0], io)
        : await partsFromArgs(positionals, io);
    const options = serial;
    const json = values.json === true;
    const r = serialRenderer(chooseMode({ json, isTTY: io.isTTY }), io.stderr, parts.length);
    const { flashSerial } = await import('../../protocols/serial/index.ts');
    await runJsonAware(json, io, async () => {
      const result = await flashSerial({
        ...options,
        parts,
        erase: values.erase === true,
        onEvent: r.onEvent,
      });
      r.end();
      if (!json) io.stdout.write(nextSteps(result));
      return result;
    });
    return EXIT.ok;
  },
};
