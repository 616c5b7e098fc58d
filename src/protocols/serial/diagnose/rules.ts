import type { AirflashError } from '../../../core/errors.ts';
import type { Diagnosis, DiagnosisCause } from '../../../diagnosis/types.ts';
import type { SerialObservation } from '../host/connect.ts';

/** The USB id pair of the port, as text. */
const usbText = (o: SerialObservation): string =>
  o.usbVendorId === undefined
    ? `${o.port} has no USB id (not a USB serial adapter?)`
    : `${o.port} is USB ${o.usbVendorId.toString(16).padStart(4, '0')}:${(o.usbProductId ?? 0).toString(16).padStart(4, '0')}`;

const portCause = (message: string): string =>
  /permission|EACCES/i.test(message)
    ? 'PORT_PERMISSION'
    : /no such file|ENOENT/i.test(message)
      ? 'PORT_MISSING'
      : 'PORT_BUSY';

const isUsbJtag = (o: SerialObservation): boolean => o.usbVendorId === 0x303a && o.usbProductId === 0x1001;

function cause(
  id: string,
  likelihood: DiagnosisCause['likelihood'],
  title: string,
  evidence: string[],
  next: string[],
): DiagnosisCause {
  return { id, likelihood, title, evidence, next };
}

/**
 * The causes of a failed serial operation, most likely first, from its code and what the line
 * saw (the observation `mapFailure` attached): the serial counterpart of the network diagnosis,
 * in the same `Diagnosis` shape the CLI renders.
 */
function diagnoseSerial(error: AirflashError): Diagnosis {
  const o = error.data['serial'] as SerialObservation | undefined;
  const seen: string[] = [];
  if (o) {
    seen.push(usbText(o), `reset: ${o.reset}; ${o.bytesReceived} bytes received from the board`);
    const text = o.lastText.replace(/\s+/g, ' ').trim();
    if (text !== '') seen.push(`the board's last output: "${text.slice(-120)}"`);
  }
  const causes: DiagnosisCause[] = [];
  switch (error.code) {
    case 'SERIAL_NO_DATA':
      if (o && o.usbVendorId === undefined)
        causes.push(
          cause('WRONG_PORT', 'high', 'This port is not the board (a built-in serial port?)', seen, [
            'airflash ports: pick the USB serial port, or --port auto',
          ]),
        );
      causes.push(
        cause(
          'CHARGE_ONLY_CABLE',
          'high',
          'The cable charges but carries no data, or the board has no power',
          seen,
          ['Try a cable you know carries data (one that worked for another board), directly in the computer'],
        ),
        cause(
          'ADAPTER_TX_RX',
          'medium',
          'An external USB-serial adapter with TX/RX not crossed, or not connected',
          seen,
          ['Adapter TX → board RX (GPIO3 on ESP32, RXD on ESP8266), adapter RX → board TX, and GND to GND'],
        ),
      );
      break;
    case 'SERIAL_NOT_IN_DOWNLOAD_MODE':
      causes.push(
        cause('NO_AUTO_RESET', 'high', 'The board booted its app: nothing pulled GPIO0 low at reset', seen, [
          'Hold BOOT (GPIO0), press and release EN (RST), release BOOT, then run the command again',
        ]),
        cause(
          'RESET_SEQUENCE',
          isUsbJtag(o ?? ({} as SerialObservation)) ? 'medium' : 'low',
          'The reset sequence does not match the board',
          seen,
          [
            o && isUsbJtag(o)
              ? "--reset usb-jtag (the chip's own USB)"
              : '--reset classic, or a custom --reset D0|R1|W100|D1|R0|W50|D0',
          ],
        ),
        cause('GPIO0_HELD', 'low', 'Something on GPIO0 holds it high (a pull-up, an attached module)', seen, [
          'Disconnect what is wired to GPIO0 and try again',
        ]),
      );
      break;
    case 'SERIAL_NO_SYNC':
      causes.push(
        cause('TX_PATH_DOWN', 'high', 'The board talks but does not hear the computer (its RX line)', seen, [
          'Check the RX wire / the adapter, and that no other program holds the port',
        ]),
        cause('NOISE', 'medium', 'Noise on the line (long cable, unpowered hub)', seen, [
          'A shorter cable, another USB port, a powered hub',
        ]),
      );
      break;
    case 'SERIAL_PROTOCOL':
    case 'SERIAL_VERIFY_FAILED':
      causes.push(
        cause(
          'LINK_UNRELIABLE',
          'high',
          'Bytes are lost or damaged on the USB-serial link at this speed',
          seen,
          ['Run it again with a lower --baud (115200 always works), a shorter cable, no hub'],
        ),
        cause(
          'FLASH_FAILING',
          error.code === 'SERIAL_VERIFY_FAILED' ? 'medium' : 'low',
          'The flash chip does not keep what was written',
          seen,
          [
            'airflash erase, then flash again; if it fails at the same place, the flash chip is worn or damaged',
          ],
        ),
      );
      break;
    case 'SERIAL_WRITE_FAILED':
      causes.push(
        cause('FLASH_WRITE_ERROR', 'high', 'The flash chip refused a write', seen, [
          'airflash erase --port …, then flash again',
        ]),
        cause('POWER_SUPPLY', 'medium', 'The supply sags while the flash writes', seen, [
          'A powered hub or a better 3.3 V regulator; no other load on the board',
        ]),
      );
      break;
    case 'SERIAL_BOARD_RESET':
      causes.push(
        cause('BROWNOUT', 'high', 'The board reset itself while writing: a brown-out on the supply', seen, [
          'A powered hub or another USB port; disconnect loads (LEDs, motors) while flashing',
        ]),
      );
      break;
    case 'SERIAL_OPEN_FAILED':
      causes.push(
        cause(portCause(error.message), 'high', error.message, seen, [error.hint ?? 'airflash ports']),
      );
      break;
    default:
      break;
  }
  const first = causes[0];
  return {
    summary: first ? `${error.message} Most likely: ${first.title.toLowerCase()}.` : error.message,
    code: error.code,
    causes,
  };
}

export { diagnoseSerial };
