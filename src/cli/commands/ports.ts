import { EXIT } from '../../core/errors.ts';
import type { SerialPortEntry } from '../../protocols/serial/host/port/list.ts';
import { type OptionSpec, parseCommandArgs } from '../options.ts';
import { safeJson, safeText } from '../render/safe-text.ts';
import type { Command } from '../types.ts';

const HELP = `Usage: airflash ports [--json]

List the serial ports of this machine with their USB vendor/product ids and what they usually
are (CP210x, CH340, CH9102, FTDI, Espressif USB-JTAG-serial), so you can pick one for
airflash chip|flash|erase|partitions --port PORT. "--port auto" picks the one USB serial port
when there is exactly one.

Options:
  --json       the list as JSON on stdout
  -h, --help   show this help
`;

const OPTIONS = [
  { long: 'json', kind: 'flag', help: 'the list as JSON' },
  { long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
] as const satisfies readonly OptionSpec[];

const id = (n: number | undefined): string => (n === undefined ? '----' : n.toString(16).padStart(4, '0'));

/** One line per port. */
export function renderPorts(ports: readonly SerialPortEntry[]): string {
  if (ports.length === 0) return 'No serial ports found. Plug the board in with a data cable.\n';
  const lines = ports.map((p) => {
    const usb = p.vendorId === undefined ? 'no USB id' : `${id(p.vendorId)}:${id(p.productId)}`;
    const what = p.kind ?? (p.vendorId === undefined ? '' : 'USB serial');
    return safeText(
      `${p.path.padEnd(22)} ${usb.padEnd(10)} ${what}${p.manufacturer ? ` (${p.manufacturer})` : ''}`,
    );
  });
  const n = ports.filter((p) => p.candidate).length;
  lines.push(
    n === 1
      ? '--port auto picks the USB serial port above.'
      : `--port auto needs exactly one USB serial port (found ${n}).`,
  );
  return `${lines.join('\n')}\n`;
}

export const command: Command = {
  name: 'ports',
  summary: 'List serial ports with their USB ids (CP210x, CH340, FTDI, ESP USB-JTAG)',
  help: HELP,
  options: OPTIONS,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, OPTIONS, 'ports');
    if (values.help === true) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    const { listSerialPorts } = await import('../../protocols/serial/index.ts');
    const ports = await listSerialPorts({ signal: io.signal });
    io.stdout.write(values.json === true ? `${safeJson(ports)}\n` : renderPorts(ports));
    return EXIT.ok;
  },
};
