/**
 * C/C++ text helpers for doctor's source scan: comments and literals masked with offsets kept,
 * line numbers, bracket matching, C string unescaping, and constant expressions evaluated (numbers,
 * + - * /, parentheses, named constants, `pdMS_TO_TICKS`, `portTICK_PERIOD_MS`). Pure.
 */

export interface Masked {
  /** Comments blanked (newlines kept). */
  code: string;
  /** Comments and the inside of string / char literals blanked. */
  bare: string;
}

/** Blank comments and literal contents while keeping every offset and newline. */
export function maskSource(text: string): Masked {
  const code = text.split('');
  const bare = text.split('');
  const blank = (arr: string[], i: number): void => {
    if (arr[i] !== '\n') arr[i] = ' ';
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    const next = text[i + 1];
    if (ch === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') {
        blank(code, i);
        blank(bare, i);
        i += 1;
      }
      continue;
    }
    if (ch === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      for (; i < stop; i += 1) {
        blank(code, i);
        blank(bare, i);
      }
      continue;
    }
    if (ch === '"' || ch === "'") {
      // Raw strings R"(...)" are rare in sketches; treat them as ordinary literals.
      i += 1;
      while (i < text.length && text[i] !== ch && text[i] !== '\n') {
        if (text[i] === '\\') {
          blank(bare, i);
          i += 1;
        }
        blank(bare, i);
        i += 1;
      }
      i += 1;
      continue;
    }
    i += 1;
  }
  return { code: code.join(''), bare: bare.join('') };
}

export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i += 1) if (text[i] === '\n') line += 1;
  return line;
}

/** Index of the bracket closing the one at `open` (same kind), or -1. */
export function matchBracket(bare: string, open: number): number {
  const opener = bare[open];
  const closer = opener === '{' ? '}' : opener === '(' ? ')' : ']';
  let depth = 0;
  for (let i = open; i < bare.length; i += 1) {
    const c = bare[i];
    if (c === opener) depth += 1;
    else if (c === closer) {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}

export function unescapeC(literal: string): string {
  return literal.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    if (e.startsWith('x')) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    if (/^[0-7]+$/.test(e)) return String.fromCharCode(Number.parseInt(e, 8));
    const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0' };
    return map[e] ?? e;
  });
}

/** Evaluate a constant C expression: numbers, names from `constants`, + - * /, parentheses. */
export function evaluateConstant(
  expression: string,
  constants: ReadonlyMap<string, string>,
  depth = 0,
): number | undefined {
  if (depth > 8) return undefined;
  const tokens = expression.match(
    /0[xX][0-9a-fA-F]+[uUlL]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[uUlLfF]*|[A-Za-z_]\w*|[-+*/()]|\S/g,
  );
  if (!tokens) return undefined;
  let pos = 0;
  const peek = (): string | undefined => tokens[pos];
  const primary = (): number | undefined => {
    const t = tokens[pos];
    if (t === undefined) return undefined;
    pos += 1;
    if (t === '(') {
      // A cast like (uint32_t) or (unsigned long): skip it.
      if (/^[A-Za-z_]/.test(peek() ?? '') && /_t$|^(unsigned|long|int|uint\w*|size_t)$/.test(peek() ?? '')) {
        while (peek() !== undefined && peek() !== ')') pos += 1;
        pos += 1;
        return unary();
      }
      const v = sum();
      if (peek() !== ')') return undefined;
      pos += 1;
      return v;
    }
    if (/^0[xX]/.test(t)) return Number.parseInt(t.replace(/[uUlL]+$/, ''), 16);
    if (/^\d/.test(t)) return Number(t.replace(/[uUlLfF]+$/, ''));
    if (t === 'pdMS_TO_TICKS' || t === 'MS2TICKS') {
      return primary();
    }
    if (t === 'portTICK_PERIOD_MS' || t === 'portTICK_RATE_MS') return 1;
    if (/^[A-Za-z_]/.test(t)) {
      const def = constants.get(t);
      return def === undefined ? undefined : evaluateConstant(def, constants, depth + 1);
    }
    return undefined;
  };
  const unary = (): number | undefined => {
    if (peek() === '-') {
      pos += 1;
      const v = unary();
      return v === undefined ? undefined : -v;
    }
    if (peek() === '+') pos += 1;
    return primary();
  };
  const product = (): number | undefined => {
    let v = unary();
    while (v !== undefined && (peek() === '*' || peek() === '/')) {
      const op = tokens[pos];
      pos += 1;
      const r = unary();
      if (r === undefined) return undefined;
      v = op === '*' ? v * r : r === 0 ? undefined : Math.trunc(v / r);
    }
    return v;
  };
  const sum = (): number | undefined => {
    let v = product();
    while (v !== undefined && (peek() === '+' || peek() === '-')) {
      const op = tokens[pos];
      pos += 1;
      const r = product();
      if (r === undefined) return undefined;
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  const value = sum();
  return pos === tokens.length ? value : undefined;
}
