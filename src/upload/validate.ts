/** The upload options checked at the boundary: BAD_ARGUMENT names the option and the range. */

import { isIP } from 'node:net';
import { AirflashError } from '../core/errors.ts';
import type { UploadOptions } from '../protocols/arduino-ota/model/options.ts';
import { TIMEOUT_COUNTS, type UploadTimeouts } from '../protocols/arduino-ota/model/timeouts.ts';

function checkNumber(
  name: string,
  value: number | undefined,
  min: number,
  max: number,
  integer = true,
): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value)))
    throw new AirflashError(
      'BAD_ARGUMENT',
      `${name} must be ${integer ? 'an integer ' : ''}from ${min} to ${max}, not ${value}.`,
    );
}

export function validate(o: UploadOptions): void {
  if (o.file === undefined && o.data === undefined)
    throw new AirflashError('BAD_ARGUMENT', 'No image given.', { hint: 'Pass the firmware with -f FILE.' });
  checkNumber('port', o.port, 1, 65535);
  checkNumber('advertisedPort', o.advertisedPort, 1, 65535);
  checkNumber('hostPort', o.hostPort, 0, 65535);
  checkNumber('inviteAttempts', o.inviteAttempts, 1, 1000);
  checkNumber('retries', o.retries, 0, 100);
  for (const k of [
    'attemptTimeoutMs',
    'authTimeoutMs',
    'connectTimeoutMs',
    'connectMaxMs',
    'stallTimeoutMs',
    'resultTimeoutMs',
  ] as const)
    checkNumber(k, o[k], 1, 24 * 3600 * 1000, false);
  checkNumber('timeScale', o.timeScale, 0.0001, 1000, false);
  for (const [k, v] of Object.entries(o.timeouts ?? {}) as [keyof UploadTimeouts, number | undefined][])
    if (TIMEOUT_COUNTS.has(k)) checkNumber(`timeouts.${k}`, v, 1, 1000);
    else checkNumber(`timeouts.${k}`, v, 0, 24 * 3600 * 1000, false);
  if (o.hostIp !== undefined && isIP(o.hostIp) === 0)
    throw new AirflashError('BAD_ARGUMENT', `-I/--host_ip must be a local IP address, not "${o.hostIp}".`);
}
