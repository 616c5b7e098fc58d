/**
 * One error base class for the whole library. Users match on `code`, which is stable across
 * releases (documented in README "Error codes"). Messages say what happened and what to try.
 */

export const ERROR_CODES = [
  // usage and input
  'BAD_ARGUMENT',
  'FILE_NOT_FOUND',
  // invitation / auth
  'NO_INVITATION_REPLY',
  'AUTH_REQUIRED',
  'AUTH_FAILED',
  'AUTH_UNSUPPORTED',
  'DEVICE_REFUSED',
  'BAD_REPLY',
  'DEVICE_BUSY',
  // data phase
  'NO_CONNECT_BACK',
  'TRANSFER_STALLED',
  'DEVICE_ERROR',
  'INCOMPLETE',
  'HOST_NOT_FOUND',
  'NETWORK_ERROR',
  // device-reported (ESPHome native OTA response codes, src/protocols/esphome/wire/responses.ts)
  'PROTOCOL_MISMATCH',
  'FLASH_WRITE_FAILED',
  'WRONG_FLASH_CONFIG',
  'NO_SPACE',
  'NO_OTA_PARTITION',
  'MD5_MISMATCH',
  'SIGNATURE_INVALID',
  'DOWNGRADE_REFUSED',
  'ENCRYPTION_REQUIRED',
  'OTA_VERSION_UNSUPPORTED',
  // ESPHome native OTA, Noise encryption (src/protocols/esphome/noise/, issue 16)
  'HANDSHAKE_MAC_FAILURE',
  'NOISE_HANDSHAKE_FAILED',
  'ENCRYPTION_UNAVAILABLE',
  // web OTA over HTTP (src/protocols/web-ota/wire/device-texts.ts and wire/verdict.ts)
  'ORIGIN_REFUSED',
  'REFERER_REFUSED',
  'PIN_REQUIRED',
  'OTA_LOCKED',
  'SUBNET_REFUSED',
  'OTA_NOT_ENABLED',
  'RELEASE_MISMATCH',
  // lifecycle
  'INTERRUPTED',
  'TIMEOUT',
  // formats
  'PARTITION_CSV',
  'PARTITION_TABLE',
  'PARTITION_INVALID',
  'IMAGE_TRUNCATED',
  'IMAGE_INVALID',
  'OTADATA_INVALID',
  // pre-flight
  'PREFLIGHT_NOT_APP',
  'PREFLIGHT_NOT_FS',
  'PREFLIGHT_WRONG_CHIP',
  'PREFLIGHT_CORRUPT',
  'PREFLIGHT_TOO_BIG',
  'PREFLIGHT_NO_OTA',
  'PREFLIGHT_EMPTY',
  // fleet / discovery / doctor / dashboard
  'DEVICE_OFFLINE',
  'ROLLOUT_STOPPED',
  'DEVICES_FILE',
  'DISCOVERY_FAILED',
  'CONFIG_INVALID',
  // dashboard HTTP API (the JSON error body's code; the status is given with each)
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'BAD_PATH',
  'BAD_JSON',
  'BAD_HOST',
  'TOKEN_REQUIRED',
  'BAD_TOKEN',
  'CROSS_ORIGIN',
  'CSRF',
  'TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'NOT_FIRMWARE',
  'IMAGE_EMPTY',
  'IMAGE_IN_USE',
  'TOO_MANY_CONNECTIONS',
  // USB serial ROM loader (src/protocols/serial/)
  'SERIAL_UNAVAILABLE',
  'SERIAL_NO_PORT',
  'SERIAL_PORT_AMBIGUOUS',
  'SERIAL_OPEN_FAILED',
  'SERIAL_NO_DATA',
  'SERIAL_NOT_IN_DOWNLOAD_MODE',
  'SERIAL_NO_SYNC',
  'SERIAL_PROTOCOL',
  'SERIAL_WRITE_FAILED',
  'SERIAL_VERIFY_FAILED',
  'SERIAL_BOARD_RESET',
  'PREFLIGHT_FLASH_SIZE',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AirflashErrorDetails {
  /** The phase the operation was in when it failed (invite, auth, connect, transfer, result, ...). */
  phase?: string;
  /** What the user should try next. Rendered by the CLI after the message. */
  hint?: string;
  /** Raw text the device sent, verbatim, when there was any. */
  deviceText?: string;
  /** Anything else worth keeping for diagnosis (bytes sent, host, port ...). */
  data?: Record<string, unknown>;
  cause?: unknown;
}

const BRAND = Symbol.for('airflash.error');

export class AirflashError extends Error {
  readonly code: ErrorCode;
  readonly phase: string | undefined;
  readonly hint: string | undefined;
  readonly deviceText: string | undefined;
  readonly data: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: AirflashErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AirflashError';
    this.code = code;
    this.phase = details.phase;
    this.hint = details.hint;
    this.deviceText = details.deviceText;
    this.data = details.data ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * `instanceof AirflashError` works across copies of the package (a brand, not the prototype);
   * a subclass (`UploadError`, `PortRefusedError`) is checked by its prototype as usual, so an
   * `instanceof` of a subclass is never true for a plain AirflashError.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof (a subclass or AirflashError)
    if (this !== AirflashError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.phase === undefined ? {} : { phase: this.phase }),
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.deviceText === undefined ? {} : { deviceText: this.deviceText }),
    };
  }
}

export function isAirflashError(value: unknown, code?: ErrorCode): value is AirflashError {
  return value instanceof AirflashError && (code === undefined || value.code === code);
}

/** Wrap anything thrown into an AirflashError, keeping AirflashErrors as they are. */
export function toAirflashError(value: unknown, fallback: ErrorCode = 'INTERNAL'): AirflashError {
  if (value instanceof AirflashError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new AirflashError(fallback, message, { cause: value });
}

/** Process exit codes, one table for every command (README "Exit codes"). */
export const EXIT = {
  /** Success. */
  ok: 0,
  /** Ran and failed: the device, the network or a check of the device said no. */
  failed: 1,
  /** Nothing was tried: fix the command line or a file it names (missing, unreadable, bad syntax). */
  usage: 2,
  /** Refused: the inputs were read and cannot work there (pre-flight verdict); nothing was sent. */
  preflight: 3,
  /** Some devices of a fleet failed or were skipped. */
  partial: 4,
  /** Ctrl-C / SIGTERM. */
  interrupted: 130,
} as const;

/** Error codes whose exit code is not 1 (failed). Every other code exits 1. */
const EXIT_BY_CODE: Partial<Record<ErrorCode, number>> = {
  BAD_ARGUMENT: EXIT.usage,
  FILE_NOT_FOUND: EXIT.usage,
  DEVICES_FILE: EXIT.usage,
  CONFIG_INVALID: EXIT.usage,
  PARTITION_CSV: EXIT.usage,
  PARTITION_TABLE: EXIT.usage,
  PARTITION_INVALID: EXIT.preflight,
  IMAGE_INVALID: EXIT.preflight,
  IMAGE_TRUNCATED: EXIT.preflight,
  OTADATA_INVALID: EXIT.preflight,
  INTERRUPTED: EXIT.interrupted,
  // USB serial ROM loader: naming no port, or an ambiguous `--port auto`, is a usage error
  SERIAL_NO_PORT: EXIT.usage,
  SERIAL_PORT_AMBIGUOUS: EXIT.usage,
};

/** The exit code of an error code: the one mapping every command uses. */
export function exitCodeForCode(code: ErrorCode | string): number {
  return EXIT_BY_CODE[code as ErrorCode] ?? (code.startsWith('PREFLIGHT_') ? EXIT.preflight : EXIT.failed);
}

export function exitCodeFor(error: unknown): number {
  if (!(error instanceof AirflashError)) return EXIT.failed;
  return exitCodeForCode(error.code);
}

/**
 * HTTP status of an error code in the dashboard's API (the JSON error body carries the code).
 * Codes not listed: 422 for IMAGE_* and PREFLIGHT_* (the request was read and cannot work), else
 * 500. One table beside the exit codes, so a code's meaning is written once.
 */
const HTTP_STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  BAD_ARGUMENT: 400,
  CONFIG_INVALID: 400,
  BAD_PATH: 400,
  BAD_JSON: 400,
  TOKEN_REQUIRED: 401,
  BAD_TOKEN: 401,
  CROSS_ORIGIN: 403,
  CSRF: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  DEVICE_BUSY: 409,
  IMAGE_IN_USE: 409,
  TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FIRMWARE: 415,
  BAD_HOST: 421,
  TOO_MANY_CONNECTIONS: 503,
};

/** The HTTP status of an error code: the one mapping the dashboard's API uses. */
export function httpStatusForCode(code: ErrorCode): number {
  return (
    HTTP_STATUS_BY_CODE[code] ?? (code.startsWith('IMAGE_') || code.startsWith('PREFLIGHT_') ? 422 : 500)
  );
}
