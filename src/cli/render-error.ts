import { AirflashError } from '../errors.ts';

/** Human rendering of an error: what happened, the device's words, and what to try. */
export function renderError(error: unknown): string {
  if (error instanceof AirflashError) {
    const lines = [`error [${error.code}]: ${error.message}`];
    if (error.deviceText !== undefined) lines.push(`  device said: ${JSON.stringify(error.deviceText)}`);
    if (error.hint !== undefined) lines.push(`  try: ${error.hint}`);
    return `${lines.join('\n')}\n`;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return `error [INTERNAL]: ${message}\n  try: this is a bug in airflash; please report it with the command you ran.\n`;
}
