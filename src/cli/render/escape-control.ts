/**
 * Text that came from outside (device replies, mDNS names, platformio.ini values) is printed with
 * its control characters escaped, so that it cannot move the cursor, retitle the terminal or hide
 * output. C0 controls (newline included), DEL and C1 controls become `\xNN`; everything else is
 * kept. A backslash is kept as it is (the escapes are for the reader, not for round trips).
 *
 * Local to the probe and doctor renderers until a shared helper lands in src/cli/render.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/g;

export function escapeControl(text: string): string {
  return text.replace(CONTROL_RE, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
