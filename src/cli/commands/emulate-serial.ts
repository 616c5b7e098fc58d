import { AirflashError, EXIT } from '../../core/errors.ts';
import { parseFlashSize } from '../../formats/index.ts';
import type { SerialChip } from '../../protocols/serial/device/chips.ts';
import {
  SERIAL_FAULT_KINDS,
  type SerialFault,
  type SerialFaultKind,
} from '../../protocols/serial/device/faults.ts';
import { type OptionSpec, parseCommandArgs } from '../options.ts';
import { safeText } from '../render/safe-text.ts';
import type { CliIO } from '../types.ts';

export const EMULATE_SERIAL_HELP = `Usage: airflash emulate --serial [--chip esp32|esp32s3|esp8266] [--flash-size 4MB]
                              [--serial-fault KIND[@N]]

An emulated board behind a USB serial line: its ROM loader on one end of a pty pair made by
socat, so airflash chip|flash|erase|partitions --port PATH (or esptool) talk to it like a board
on a USB adapter. The line is modelled at the baud rate asked. Runs until Ctrl-C.

  --chip C             esp32 (default), esp32s3 or esp8266
  --flash-size S       the board's flash (default 4MB)
  --serial-fault K@N   no-download-mode, drop-byte@N (reply N), lost-reply@N, write-error@N,
                       reset-mid-write@N (data block N); repeatable
  -h, --help           show this help
`;

const OPTIONS = [
  { long: 'serial', kind: 'flag', help: 'a board on a serial line' },
  { long: 'chip', kind: 'string', arg: 'C', choices: ['esp32', 'esp32s3', 'esp8266'], help: 'the chip' },
  { long: 'flash-size', kind: 'string', arg: 'S', help: "the board's flash" },
  { long: 'serial-fault', kind: 'string', arg: 'K', repeatable: true, help: 'a fault' },
  { long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
] as const satisfies readonly OptionSpec[];

function fault(text: string): SerialFault {
  const [kind, n] = text.split('@');
  if (!SERIAL_FAULT_KINDS.includes(kind as SerialFaultKind))
    throw new AirflashError('BAD_ARGUMENT', `Unknown serial fault "${text}".`, {
      hint: `Use one of ${SERIAL_FAULT_KINDS.join(', ')}.`,
    });
  const at = n === undefined ? undefined : Number(n);
  if (at !== undefined && (!Number.isInteger(at) || at < 1))
    throw new AirflashError('BAD_ARGUMENT', `"${text}": N must be 1 or more.`);
  return {
    kind: kind as SerialFaultKind,
    ...(at === undefined ? {} : kind === 'drop-byte' ? { atReply: at } : { atBlock: at }),
  };
}

/** `airflash emulate --serial`: one board on a pty until Ctrl-C. */
export async function runSerialEmulator(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(argv, OPTIONS, 'emulate');
  if (values.help === true) {
    io.stdout.write(EMULATE_SERIAL_HELP);
    return EXIT.ok;
  }
  const chip = (values.chip ?? 'esp32') as SerialChip;
  const flashSize =
    values['flash-size'] === undefined ? undefined : parseFlashSize(String(values['flash-size']));
  const faults = ((values['serial-fault'] as string[] | undefined) ?? []).map(fault);
  const { ptyPair } = await import('../../emulator/serial/pty.ts');
  const { startSerialDevice } = await import('../../emulator/serial/rom-device.ts');
  const pty = await ptyPair();
  try {
    const dev = await startSerialDevice({
      path: pty.device,
      chip,
      faults,
      ...(flashSize ? { flashSize } : {}),
    });
    try {
      io.stdout.write(
        `${safeText(`serial board (${chip}) on ${pty.host}: airflash chip --port ${pty.host}`)}\n`,
      );
      await new Promise<void>((done) => {
        if (io.signal.aborted) done();
        else io.signal.addEventListener('abort', () => done(), { once: true });
      });
    } finally {
      await dev.close();
    }
  } finally {
    await pty.close();
  }
  io.stderr.write('emulator stopped\n');
  return EXIT.ok;
}
