/**
 * Text that came from outside (a device, a file, the network) made safe for a terminal: C0 and C1
 * control characters and DEL are shown as `\xNN` escapes (tab and newline too, so one event stays
 * one line). JSON output stays lossless and does not use this.
 */
export function escapeControl(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
