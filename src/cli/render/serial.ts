import type { Writable } from 'node:stream';
import type { SerialEvent } from '../../protocols/serial/host/flash.ts';
import { bar, formatBytes, type OutputMode } from './progress.ts';
import { safeText } from './safe-text.ts';

const PHASES: Record<string, string> = {
  connect: 'Connecting to the board (reset into the ROM loader, stub upload)',
  preflight: 'Checking every part against the board (pre-flight)',
  erase: 'Erasing the flash',
  write: 'Writing (compressed) and verifying each part by MD5',
  reset: 'Resetting the board into the new firmware',
};

/**
 * The serial commands' progress on stderr: a bar per part on a TTY, plain lines otherwise, nothing
 * with --json (the result is one JSON object on stdout). Returns the event handler and `end()`.
 */
export function serialRenderer(
  mode: OutputMode,
  stderr: Writable,
  parts = 1,
): { onEvent(e: SerialEvent): void; end(): void } {
  let barShown = false;
  const clear = (): void => {
    if (barShown) stderr.write('\n');
    barShown = false;
  };
  return {
    onEvent(e) {
      if (mode === 'json') return;
      if (e.type === 'phase') {
        const text = PHASES[e.phase];
        if (text) {
          clear();
          stderr.write(`${text}\n`);
        }
      } else if (e.type === 'chip') stderr.write(`  ${safeText(e.chip.summary)}\n`);
      else if (e.type === 'progress') {
        const label = `part ${e.part + 1}/${parts} at 0x${e.address.toString(16)}`;
        if (mode === 'bar') {
          stderr.write(
            `\r  ${label} ${bar(e.total === 0 ? 1 : e.written / e.total, 30)} ${formatBytes(e.written)}`,
          );
          barShown = true;
        } else if (e.written === 0) stderr.write(`  writing ${label}: ${formatBytes(e.total)} compressed\n`);
      } else if (e.type === 'verified') {
        clear();
        stderr.write(`  verified 0x${e.address.toString(16)}: ${e.size} bytes, MD5 ${e.md5}\n`);
      }
    },
    end: clear,
  };
}
