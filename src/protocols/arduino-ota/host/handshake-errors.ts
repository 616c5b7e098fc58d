/** The errors the handshake throws, with their messages and hints (handshake.ts). */
import { AirflashError } from '../../../core/errors.ts';
import {
  AUTH_FAILED_TEXT,
  type AuthScheme,
  lookupDeviceError,
  type PasswordHashKind,
} from '../wire/index.ts';
import type { Recorder } from './recorder.ts';

export { AUTH_FAILED_TEXT };

export function authFailed(
  ctx: { password: string | undefined; rec: Recorder; device: { address: string; port: number } },
  scheme: AuthScheme,
  secrets: PasswordHashKind[],
  index: number,
): AirflashError {
  const tried = secrets.slice(0, index + 1).join(' and ');
  const gen =
    scheme === 'sha256'
      ? 'the device speaks the SHA-256/PBKDF2 exchange (arduino-esp32 ≥ 3.3.1)'
      : 'the device speaks the MD5 exchange (ESP8266 or arduino-esp32 ≤ 3.3.0)';
  // Never quote any part of the password: say only what it looks like.
  const extra = passwordLooksLikeOptions(ctx.password ?? '')
    ? ' The password contains white space followed by "-" (it looks like more options): several options were probably passed as one argument.'
    : '';
  return new AirflashError(
    'AUTH_FAILED',
    `The device refused the password (Authentication Failed; tried the ${tried} password hash; ${gen}).${extra}`,
    {
      phase: 'auth',
      deviceText: AUTH_FAILED_TEXT,
      hint: 'Check the password (the `password` option) against ArduinoOTA.setPassword() in the sketch.',
    },
  );
}

/** A password with white space then `-x` / `--x`: PlatformIO's one-line upload_flags. */
export function passwordLooksLikeOptions(password: string): boolean {
  return /\s-{1,2}[a-z]/i.test(password);
}

/** The device answered, then its answers stopped arriving: lost datagrams, not a refusal. */
export function lostAnswers(
  ctx: { password: string | undefined; rec: Recorder; device: { address: string; port: number } },
  what: string,
): AirflashError {
  const answered = ctx.rec.obs.received.filter((r) => r.fromDevice).length;
  return new AirflashError(
    'TIMEOUT',
    `${what}, although it answered ${answered} datagram(s) of this upload: its answers were lost on the way (a lossy link), not refused.`,
    {
      phase: 'auth',
      hint: 'Improve the Wi-Fi link (signal, distance, interference) or retry with --retries 3; the password was not refused.',
    },
  );
}

/** Advice for an `ERR: …` answer to the invitation (the device-error table). */
export function refusedHint(text: string): string {
  return lookupDeviceError(text).advice;
}

export function udpError(
  error: Error,
  ctx: { password: string | undefined; rec: Recorder; device: { address: string; port: number } },
): AirflashError {
  return new AirflashError(
    'NETWORK_ERROR',
    `Cannot send to ${ctx.device.address}:${ctx.device.port}: ${error.message}`,
    {
      cause: error,
      hint: 'Check that this computer is connected to the device network (and -I, if given).',
    },
  );
}

/** The image is for another chip family than the device (exit 3, nothing sent; `--force` skips). */
export function wrongChip(message: string): AirflashError {
  return new AirflashError('PREFLIGHT_WRONG_CHIP', `${message} Nothing was sent.`, {
    phase: 'auth',
    hint: 'Build the project for this board (the PlatformIO env of this device), or pass --force if you are sure.',
  });
}

/**
 * Nothing listens on the device's UDP port: the system answered an invitation with "port
 * unreachable" (ICMP) before anything else came back. `ports`: the ports found closed. The
 * wrong-port fallback (wrong-port.ts) acts on this type; the code stays NO_INVITATION_REPLY.
 */
export class PortRefusedError extends AirflashError {
  readonly ports: readonly number[];
  constructor(ports: readonly number[], message: string, hint?: string) {
    super('NO_INVITATION_REPLY', message, {
      phase: 'invite',
      data: { portRefused: true },
      ...(hint === undefined ? {} : { hint }),
    });
    this.ports = ports;
  }
}
