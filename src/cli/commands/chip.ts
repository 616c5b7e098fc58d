import { EXIT } from '../../core/errors.ts';
import type { ChipInfo } from '../../protocols/serial/host/chip-info.ts';
import { parseCommandArgs } from '../options.ts';
import { safeText } from '../render/safe-text.ts';
import { runJsonAware, SERIAL_COMMON_OPTIONS, serialOptionsFrom } from '../serial-options.ts';
import type { Command } from '../types.ts';

const HELP = `Usage: airflash chip --port PORT [--baud BAUD] [--reset MODE] [--json]

Ask the board on a serial port what it is: chip (family, revision, features), MAC, the flash
chip's id and real size, the crystal, and security info where the chip has it, in plain words
("ESP32-D0WD-V3, 4MB flash: the 4MB default scheme fits"). Nothing is written.

Options:
  --port PORT           /dev/ttyUSB0, COM3, … or auto (the one USB serial port)
  --baud BAUD           baud rate once the stub runs (default 460800)
  --reset MODE          auto (by USB id) | classic | usb-jtag | none | D0|R1|W100|D1|R0|W50|D0
  --connect-attempts N  reset + sync attempts (default 7)
  --json                the result as JSON on stdout
  -h, --help            show this help

Exit status: 0 the board answered; 1 it did not (see the message); 2 usage error.
`;

export function renderChip(c: ChipInfo): string {
  const lines = [
    c.summary,
    `  chip:      ${c.description}`,
    `  features:  ${c.features.join(', ')}`,
    `  crystal:   ${c.crystalMHz} MHz`,
    `  MAC:       ${c.mac}`,
    `  flash id:  0x${c.flashId.toString(16).padStart(6, '0')} (manufacturer 0x${(c.flashId & 0xff).toString(16)}, capacity byte 0x${((c.flashId >> 16) & 0xff).toString(16)})`,
  ];
  if (c.security)
    lines.push(
      `  security:  secure boot ${c.security.secureBoot ? 'on' : 'off'}, flash encryption count ${c.security.flashCryptCount}, secure download mode ${c.security.secureDownloadMode ? 'on' : 'off'}`,
    );
  lines.push(`  port:      ${c.port}`);
  return `${lines.map(safeText).join('\n')}\n`;
}

export const command: Command = {
  name: 'chip',
  summary: 'Show the chip, MAC and real flash size of a board on a serial port',
  help: HELP,
  options: SERIAL_COMMON_OPTIONS,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, SERIAL_COMMON_OPTIONS, 'chip');
    if (values.help === true) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    const options = serialOptionsFrom(values, io, 'chip');
    const { chipInfo } = await import('../../protocols/serial/index.ts');
    await runJsonAware(values.json === true, io, async () => {
      const info = await chipInfo(options);
      if (values.json !== true) io.stdout.write(renderChip(info));
      return { ok: true, ...info };
    });
    return EXIT.ok;
  },
};
