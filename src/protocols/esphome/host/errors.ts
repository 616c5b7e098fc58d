/** The errors of the host side, built from the wire's response table (protocols-next.md §1.4, §1.6). */
import { AirflashError } from '../../../core/errors.ts';
import type { EsphomeObservation } from '../model/options.ts';
import { hexByte, responseError } from '../wire/index.ts';

/** The device's error byte `byte`, read while `what`, as its stable code; undefined when `byte` is no error. */
export function deviceResponseError(
  byte: number,
  what: string,
  obs: EsphomeObservation,
): AirflashError | undefined {
  const entry = responseError(byte);
  if (entry === undefined) return undefined;
  obs.response = hexByte(byte);
  obs.responseName = entry.name;
  return new AirflashError(entry.code, `${entry.message} (${hexByte(byte)} ${entry.name}, ${what})`, {
    hint: entry.advice,
    deviceText: `${hexByte(byte)} ${entry.name}`,
    data: { esphomeResponse: byte, esphomeName: entry.name },
  });
}

/** A byte that is neither the expected answer nor an error byte (espota2.py "Unexpected response from ESP"). */
export function unexpectedResponse(byte: number, what: string, expected: string): AirflashError {
  return new AirflashError(
    'BAD_REPLY',
    `Unexpected response from the device ${what}: ${hexByte(byte)} (expected ${expected}).`,
    {
      hint: 'Something other than ESPHome native OTA answered on this port (an ArduinoOTA device takes -i HOST without esphome://). Check the address and port.',
    },
  );
}

/** The device's byte: the expected one passes; an error byte or anything else throws. */
export function expectResponse(
  byte: number,
  expected: readonly number[],
  what: string,
  obs: EsphomeObservation,
): number {
  if (expected.includes(byte)) return byte;
  throw (
    deviceResponseError(byte, what, obs) ?? unexpectedResponse(byte, what, expected.map(hexByte).join(' or '))
  );
}

/** A network failure after the whole image was handed over (espota2.py: not retryable, maybe committed). */
export function afterCommitError(cause: AirflashError): AirflashError {
  return new AirflashError(
    'INCOMPLETE',
    `The connection failed after the whole image was sent: ${cause.message}`,
    {
      hint: 'The device may have already committed the update and be rebooting: check it (airflash probe) before uploading again.',
      cause,
    },
  );
}
