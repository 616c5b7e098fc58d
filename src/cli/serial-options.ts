import { AirflashError } from '../core/errors.ts';
import type { SerialOptions } from '../protocols/serial/host/connect.ts';
import type { ResetMode } from '../protocols/serial/host/reset.ts';
import type { OptionSpec } from './options.ts';
import { safeBlock, safeJson } from './render/safe-text.ts';
import type { CliIO } from './types.ts';

/** The options every serial command takes (`airflash chip|flash|erase|partitions --port`). */
export const SERIAL_COMMON_OPTIONS = [
  { long: 'port', kind: 'string', arg: 'PORT', help: 'the serial port (/dev/ttyUSB0, COM3), or auto' },
  { long: 'baud', kind: 'number', arg: 'BAUD', help: 'baud rate once the stub runs (default 460800)' },
  {
    long: 'reset',
    kind: 'string',
    arg: 'MODE',
    help: 'auto | classic | usb-jtag | none | a sequence like D0|R1|W100|D1|R0|W50|D0',
  },
  { long: 'connect-attempts', kind: 'number', arg: 'N', help: 'reset + sync attempts (default 7)' },
  { long: 'json', kind: 'flag', help: 'the result as one JSON object on stdout' },
  { long: 'help', short: 'h', kind: 'flag', help: 'show this help' },
] as const satisfies readonly OptionSpec[];

const BAUDS = [9600, 57600, 74880, 115200, 230400, 460800, 921600, 1500000, 2000000];

/** `--reset` as written. */
function resetMode(text: string | undefined): ResetMode | undefined {
  if (text === undefined) return undefined;
  if (text === 'auto' || text === 'classic' || text === 'usb-jtag' || text === 'none') return text;
  if (/^[DRW]/.test(text)) return { custom: text };
  throw new AirflashError(
    'BAD_ARGUMENT',
    `--reset must be auto, classic, usb-jtag, none or a sequence, not "${text}".`,
  );
}

/** The library options of the common serial flags. */
export function serialOptionsFrom(
  v: { port?: string; baud?: string; reset?: string; 'connect-attempts'?: string },
  io: CliIO,
  command: string,
): SerialOptions {
  if (v.port === undefined)
    throw new AirflashError('BAD_ARGUMENT', `airflash ${command} needs --port PORT (or --port auto).`, {
      hint: 'airflash ports lists the serial ports of this machine.',
    });
  const baud = v.baud === undefined ? undefined : Number(v.baud);
  if (baud !== undefined && !BAUDS.includes(baud))
    throw new AirflashError('BAD_ARGUMENT', `--baud ${v.baud} is not one the loader uses.`, {
      hint: `Use one of ${BAUDS.join(', ')}.`,
    });
  const attempts = v['connect-attempts'] === undefined ? undefined : Number(v['connect-attempts']);
  if (attempts !== undefined && (!Number.isInteger(attempts) || attempts < 1 || attempts > 50))
    throw new AirflashError('BAD_ARGUMENT', '--connect-attempts must be a whole number from 1 to 50.');
  const reset = resetMode(v.reset);
  return {
    port: v.port,
    ...(baud === undefined ? {} : { baud }),
    ...(reset === undefined ? {} : { reset }),
    ...(attempts === undefined ? {} : { connectAttempts: attempts }),
    signal: io.signal,
  };
}

/**
 * Run a serial command's work. A failure of the board or the line comes with a diagnosis (the
 * ranked causes of src/protocols/serial/diagnose/) on stderr, or with --json in the one JSON
 * object on stdout; the exit code is the error's.
 */
export async function runJsonAware(json: boolean, io: CliIO, work: () => Promise<unknown>): Promise<void> {
  try {
    const result = await work();
    if (json) io.stdout.write(`${safeJson(result)}\n`);
  } catch (error) {
    if (!(error instanceof AirflashError)) throw error;
    const diagnosis = error.code.startsWith('SERIAL_')
      ? (await import('../protocols/serial/diagnose/rules.ts')).diagnoseSerial(error)
      : undefined;
    if (json)
      io.stdout.write(
        `${safeJson({ ok: false, error: error.toJSON(), ...(diagnosis ? { diagnosis } : {}) })}\n`,
      );
    else if (diagnosis && diagnosis.causes.length > 0) {
      const { renderDiagnosis } = await import('../diagnosis/diagnose.ts');
      io.stderr.write(safeBlock(renderDiagnosis(diagnosis)));
    }
    throw error;
  }
}

/** A number written as hex (0x10000) or decimal. */
export function parseAddress(text: string, what: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text)
    ? Number.parseInt(text.slice(2), 16)
    : /^\d+$/.test(text)
      ? Number(text)
      : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > 0x10000000)
    throw new AirflashError('BAD_ARGUMENT', `${what} "${text}" is not an address (write 0x10000 or 65536).`);
  return n;
}
