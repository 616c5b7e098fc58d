import { AirflashError, type ErrorCode } from '../core/errors.ts';
import { safeBlock, safeText } from './render/safe-text.ts';

/**
 * The CLI's wording of a hint whose library form names a library option (`password`,
 * `authTimeoutMs`): the same advice with the command-line flags. Library hints stay neutral.
 */
const CLI_HINTS: Partial<Record<ErrorCode, string>> = {
  AUTH_REQUIRED:
    'Pass it with -a PASSWORD (or set AIRFLASH_PASSWORD), as set by ArduinoOTA.setPassword() in the sketch.',
  AUTH_FAILED:
    'Check the password given with -a / AIRFLASH_PASSWORD against ArduinoOTA.setPassword() in the sketch; if the device is busy, give it more time with --auth-timeout.',
};

/** The hint the CLI shows for an error: its own wording where it has one, else the library's. */
export function cliHint(error: AirflashError): string | undefined {
  return error.hint === undefined ? undefined : (CLI_HINTS[error.code] ?? error.hint);
}

/**
 * Human rendering of an error: what happened, the device's words, and what to try. Messages can
 * quote a device, a file or a name, so every part is printed through `safeText`.
 */
export function renderError(error: unknown): string {
  if (error instanceof AirflashError) {
    const lines = [`error [${error.code}]: ${safeText(error.message)}`];
    if (error.deviceText !== undefined) lines.push(`  device said: "${safeText(error.deviceText)}"`);
    const hint = cliHint(error);
    if (hint !== undefined) lines.push(`  try: ${safeText(hint)}`);
    return `${lines.join('\n')}\n`;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `error [INTERNAL]: ${safeBlock(message)}\n  try: this is a bug in airflash; please report it with the command you ran.\n`;
}
