import { ClassicReset, CustomReset, type Transport, UsbJtagSerialReset } from 'esptool-js';
import { AirflashError } from '../../../core/errors.ts';

/** How the board is put into download mode (esptool's `--before`): by the port's USB id, or forced. */
type ResetMode = 'auto' | 'classic' | 'usb-jtag' | 'none' | { custom: string };

const CUSTOM_STEP = /^(D[01]|R[01]|W\d{1,5})$/;

/** Check a custom reset sequence (`D0|R1|W100|D1|R0|W50|D0`): esptool-js ignores a bad one silently. */
function checkCustomReset(sequence: string): string {
  const steps = sequence.split('|');
  if (steps.some((s) => !CUSTOM_STEP.test(s)))
    throw new AirflashError('BAD_ARGUMENT', `Bad reset sequence "${sequence}".`, {
      hint: 'Steps D0/D1 (DTR), R0/R1 (RTS) and W<ms> (wait), joined by |, e.g. D0|R1|W100|D1|R0|W50|D0.',
    });
  return sequence;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The hard reset after flashing: an RTS pulse (EN low, then high) with IO0 released, as esptool's
 * `HardReset` does (esp-pylib `reset.py`: RTS on, 100 ms, RTS off; 200 ms waits around it when the
 * chip's own USB-OTG re-enumerates). esptool-js 0.7.0's `HardReset` only releases RTS (no pulse),
 * which leaves a board that was not held in reset in the ROM loader: this one replaces it.
 */
class PulseHardReset {
  private readonly transport: Transport;
  private readonly usbOtg: boolean;

  constructor(transport: Transport, usbOtg = false) {
    this.transport = transport;
    this.usbOtg = usbOtg;
  }

  async reset(): Promise<void> {
    await this.transport.setDTR(false);
    await this.transport.setRTS(true);
    await sleep(this.usbOtg ? 200 : 100);
    await this.transport.setRTS(false);
    if (this.usbOtg) await sleep(200);
  }
}

/** The reset constructors handed to esptool-js for `mode` (its own, one forced, or a custom sequence). */
function resetConstructors(mode: ResetMode): Record<string, unknown> {
  const hardReset = (t: Transport, usbOtg?: boolean) => new PulseHardReset(t, usbOtg === true);
  if (typeof mode === 'object') {
    const seq = checkCustomReset(mode.custom);
    const custom = (t: Transport) => new CustomReset(t, seq);
    return { classicReset: custom, usbJTAGSerialReset: custom, hardReset };
  }
  if (mode === 'classic') return { usbJTAGSerialReset: (t: Transport) => new ClassicReset(t, 50), hardReset };
  if (mode === 'usb-jtag') return { classicReset: (t: Transport) => new UsbJtagSerialReset(t), hardReset };
  return { hardReset };
}

export { checkCustomReset, PulseHardReset, type ResetMode, resetConstructors };
