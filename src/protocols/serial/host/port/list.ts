import { SerialPort } from 'serialport';
import { AirflashError } from '../../../../core/errors.ts';

/** One serial port of this machine, as the OS lists it, with what it usually is. */
interface SerialPortEntry {
  path: string;
  /** USB vendor / product id (numbers), when the port is a USB device. */
  vendorId?: number;
  productId?: number;
  manufacturer?: string | undefined;
  serialNumber?: string | undefined;
  /** "CP210x", "CH340", "CH9102", "FTDI", "Espressif USB-JTAG-serial", … or undefined. */
  kind?: string;
  /** A USB-UART bridge or an ESP's own USB: a candidate for `--port auto`. */
  candidate: boolean;
}

/** Well-known USB ids of the bridges on ESP boards (the vendors' own id lists). */
const USB_KINDS: ReadonlyArray<{ vid: number; pid?: number; kind: string }> = [
  { vid: 0x303a, pid: 0x1001, kind: 'Espressif USB-JTAG-serial' },
  { vid: 0x303a, kind: 'Espressif USB (CDC)' },
  { vid: 0x10c4, pid: 0xea60, kind: 'CP210x' },
  { vid: 0x10c4, pid: 0xea70, kind: 'CP210x' },
  { vid: 0x1a86, pid: 0x7523, kind: 'CH340' },
  { vid: 0x1a86, pid: 0x7522, kind: 'CH340' },
  { vid: 0x1a86, pid: 0x55d4, kind: 'CH9102' },
  { vid: 0x1a86, pid: 0x55d3, kind: 'CH9102' },
  { vid: 0x0403, kind: 'FTDI' },
];

/** The kind of a USB id pair, or undefined. */
function usbKind(vendorId?: number, productId?: number): string | undefined {
  if (vendorId === undefined) return undefined;
  return USB_KINDS.find((k) => k.vid === vendorId && (k.pid === undefined || k.pid === productId))?.kind;
}

const hex = (s: string | undefined): number | undefined => {
  if (s === undefined || !/^(0x)?[0-9a-f]{1,4}$/i.test(s)) return undefined;
  return Number.parseInt(s.replace(/^0x/i, ''), 16);
};

/** The raw entry a lister returns (serialport's `PortInfo`). */
interface RawPortInfo {
  path: string;
  vendorId?: string | undefined;
  productId?: string | undefined;
  manufacturer?: string | undefined;
  serialNumber?: string | undefined;
}

/** Entries from raw listings (hex ids parsed, kinds named). */
function describePorts(raw: readonly RawPortInfo[]): SerialPortEntry[] {
  return raw.map((p) => {
    const vendorId = hex(p.vendorId);
    const productId = hex(p.productId);
    const kind = usbKind(vendorId, productId);
    return {
      path: p.path,
      ...(vendorId === undefined ? {} : { vendorId }),
      ...(productId === undefined ? {} : { productId }),
      ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}),
      ...(p.serialNumber ? { serialNumber: p.serialNumber } : {}),
      ...(kind ? { kind } : {}),
      candidate: kind !== undefined || vendorId !== undefined,
    };
  });
}

/** The serial ports of this machine. */
async function listSerialPorts(options: { signal?: AbortSignal } = {}): Promise<SerialPortEntry[]> {
  options.signal?.throwIfAborted();
  return describePorts(await SerialPort.list());
}

/**
 * The port for `--port NAME`: the name as given, or for `auto` the one candidate (a USB serial
 * device); none or several is an error that lists what there is.
 */
function pickPort(name: string, ports: readonly SerialPortEntry[]): SerialPortEntry {
  if (name !== 'auto') return ports.find((p) => p.path === name) ?? { path: name, candidate: false };
  const candidates = ports.filter((p) => p.candidate);
  const list = (xs: readonly SerialPortEntry[]): string =>
    xs.map((p) => `${p.path}${p.kind ? ` (${p.kind})` : ''}`).join(', ');
  if (candidates.length === 1) return candidates[0] as SerialPortEntry;
  if (candidates.length === 0)
    throw new AirflashError('SERIAL_NO_PORT', 'No USB serial port found for --port auto.', {
      hint:
        ports.length === 0
          ? 'Plug the board in with a data cable (some USB cables only charge) and check the driver (CP210x, CH340).'
          : `Ports without a USB id: ${list(ports)}. Name one with --port.`,
    });
  throw new AirflashError(
    'SERIAL_PORT_AMBIGUOUS',
    `--port auto found ${candidates.length} USB serial ports.`,
    {
      hint: `Name one with --port: ${list(candidates)}.`,
      data: { ports: candidates.map((p) => p.path) },
    },
  );
}

export { describePorts, listSerialPorts, pickPort, type RawPortInfo, type SerialPortEntry, usbKind };
