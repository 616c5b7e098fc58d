import { AirflashError } from '../errors.ts';
import { safeBlock, safeText } from './render/safe-text.ts';

/**
 * Human rendering of an error: what happened, the device's words, and what to try. Messages can
 * quote a device, a file or a name, so every part is printed through `safeText`.
 */
export function renderError(error: unknown): string {
  if (error instanceof AirflashError) {
    const lines = [`error [${error.code}]: ${safeText(error.message)}`];
    if (error.deviceText !== undefined) lines.push(`  device said: "${safeText(error.deviceText)}"`);
    if (error.hint !== undefined) lines.push(`  try: ${safeText(error.hint)}`);
    return `${lines.join('\n')}\n`;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `error [INTERNAL]: ${safeBlock(message)}\n  try: this is a bug in airflash; please report it with the command you ran.\n`;
}
