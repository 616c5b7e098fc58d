import { AirflashError, EXIT } from '../../core/errors.ts';
import { parseCommandArgs } from '../options.ts';
import { chooseMode } from '../render/progress.ts';
import { safeText } from '../render/safe-text.ts';
import { serialRenderer } from '../render/serial.ts';
import { parseAddress, runJsonAware, SERIAL_COMMON_OPTIONS, serialOptionsFrom } from '../serial-options.ts';
import type { Command } from '../types.ts';

const HELP = `Usage: airflash erase --port PORT [--region OFFSET SIZE] [--json]

Erase the flash of the board on a serial port: the whole chip (the forum's "try erasing the
flash via USB"), or one region of whole 4 KiB sectors, e.g. --region 0xe000 0x2000 (otadata).

Options:
  --port PORT           /dev/ttyUSB0, COM3, … or auto (the one USB serial port)
  --region OFFSET SIZE  erase only these sectors (both multiples of 0x1000)
  --baud BAUD           baud rate once the stub runs (default 460800)
  --reset MODE          auto | classic | usb-jtag | none | D0|R1|W100|D1|R0|W50|D0
  --connect-attempts N  reset + sync attempts (default 7)
  --json                the result as JSON on stdout
  -h, --help            show this help

Exit status: 0 erased; 1 the board did not answer or refused; 2 usage error.
`;

const OPTIONS = [
  ...SERIAL_COMMON_OPTIONS,
  { long: 'region', kind: 'string', arg: 'OFFSET', help: 'erase OFFSET SIZE only (4 KiB sectors)' },
] as const;

export const command: Command = {
  name: 'erase',
  summary: 'Erase the flash (whole chip or a region) over USB serial',
  help: HELP,
  options: OPTIONS,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, OPTIONS, 'erase');
    if (values.help === true) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    let region: { offset: number; size: number } | undefined;
    if (values.region !== undefined) {
      const size = positionals[0];
      if (size === undefined || positionals.length > 1)
        throw new AirflashError('BAD_ARGUMENT', '--region needs OFFSET SIZE, e.g. --region 0xe000 0x2000.');
      region = { offset: parseAddress(values.region, 'OFFSET'), size: parseAddress(size, 'SIZE') };
    } else if (positionals.length > 0)
      throw new AirflashError('BAD_ARGUMENT', `Unexpected argument "${positionals[0]}".`);
    const options = serialOptionsFrom(values, io, 'erase');
    const json = values.json === true;
    const r = serialRenderer(chooseMode({ json, isTTY: io.isTTY }), io.stderr);
    const { eraseSerial } = await import('../../protocols/serial/index.ts');
    await runJsonAware(json, io, async () => {
      const result = await eraseSerial({ ...options, ...(region ? { region } : {}), onEvent: r.onEvent });
      r.end();
      if (!json)
        io.stdout.write(
          region
            ? `Erased 0x${region.offset.toString(16)}..0x${(region.offset + region.size).toString(16)} on ${safeText(result.port)}.\n`
            : `Erased the whole flash on ${safeText(result.port)}.\n`,
        );
      return result;
    });
    return EXIT.ok;
  },
};
