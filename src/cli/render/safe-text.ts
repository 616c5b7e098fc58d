/**
 * Text that came from outside (a device, a file, the network) made safe for a terminal: C0 and C1
 * control characters and DEL are shown as `\xNN` escapes (tab and newline too, so one event stays
 * one line). JSON output stays lossless and does not use this.
 */
export function escapeControl(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? `\\x${c.toString(16).padStart(2, '0')}` : ch;
  }
  return out;
}
