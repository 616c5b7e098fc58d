/**
 * Linear-time scans for platformio.ini values (src/doctor/platformio-ini.ts): the regexes they
 * replace backtracked quadratically on long runs of whitespace or of "${" without a "}".
 */

const WS_RE = /\s/;

/** `value` without an inline `;` comment (whitespace, then `;`, then the rest), in one pass. */
export function stripInlineComment(value: string): string {
  for (let j = 1; j < value.length; j += 1) {
    if (value[j] !== ';' || !WS_RE.test(value[j - 1] as string)) continue;
    let i = j - 1;
    while (i > 0 && WS_RE.test(value[i - 1] as string)) i -= 1;
    return value.slice(0, i);
  }
  return value;
}

/**
 * Replace each `${[section.]option}` (configparser's and PlatformIO's VARTPL pattern
 * `\$\{(?:([^.}()]+)\.)?([^}]+)\}`) with `replace(whole, section, option)`, in one scan.
 */
export function replaceTemplates(
  raw: string,
  replace: (whole: string, section: string | undefined, option: string) => string,
): string {
  let out = '';
  let from = 0;
  let i = raw.indexOf('${');
  while (i !== -1) {
    const close = raw.indexOf('}', i + 2);
    if (close === -1) break; // no later "${" can close either
    const content = raw.slice(i + 2, close);
    if (content === '') {
      i = raw.indexOf('${', i + 1);
      continue;
    }
    const dot = content.indexOf('.');
    const prefix = dot > 0 ? content.slice(0, dot) : '';
    const qualified = dot > 0 && dot < content.length - 1 && !/[()]/.test(prefix);
    out +=
      raw.slice(from, i) +
      replace(
        raw.slice(i, close + 1),
        qualified ? prefix : undefined,
        qualified ? content.slice(dot + 1) : content,
      );
    from = close + 1;
    i = raw.indexOf('${', from);
  }
  return out + raw.slice(from);
}
