/**
 * The one place where text that came from outside (a device's reply, an mDNS name, a devices
 * file, a platformio.ini value, an image's app descriptor, a file name) is made safe to print.
 *
 * A terminal acts on control characters: ESC starts sequences that set the window title, move
 * the cursor or rewrite what is on screen, and in a UTF-8 terminal the C1 controls U+0080–U+009F
 * (U+009B is CSI) do the same. Bidi overrides and invisible format characters make a printed
 * line read differently from what it holds. These are shown as escapes instead:
 *
 * - C0 controls and DEL: `\n`, `\r`, `\t`, otherwise `\xHH` (ESC is `\x1b`);
 * - C1 controls, bidi controls, zero-width and other invisible format characters, line and
 *   paragraph separators, lone surrogates: `\uHHHH`.
 *
 * A backslash is left as it is (paths stay readable), so the escaped form is for reading, not
 * for parsing back. JSON output stays lossless through `safeJson`.
 */

// C0, DEL, C1; bidi marks and embeddings/overrides/isolates (U+061C, U+200E/F, U+202A–E,
// U+2066–9); zero-width and invisible operators (U+200B–D, U+2060–4, U+206A–F, U+FEFF);
// U+2028/9 (line breaks in some renderers); interlinear annotations (U+FFF9–B); lone surrogates.
const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeOne(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `s` with every control and dangerous format character shown as an escape (newlines too). */
export function safeText(s: string): string {
  return s.replace(UNSAFE, escapeOne);
}

/** Like `safeText` for a block of lines the CLI composed: its line breaks are kept. */
export function safeBlock(s: string): string {
  return s
    .split('\n')
    .map((line) => safeText(line))
    .join('\n');
}

// JSON.stringify already escapes C0 (and lone surrogates); these it leaves raw.
const JSON_UNSAFE =
  /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;

/**
 * `JSON.stringify(value, null, space)` with DEL, C1 and the format characters above written as
 * `\uHHHH` escapes: the same value for a JSON parser, no raw control for a terminal.
 */
export function safeJson(value: unknown, space?: number): string {
  const text = JSON.stringify(value, null, space) ?? 'null';
  return text.replace(JSON_UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
