/**
 * Nothing from outside reaches the terminal raw: the safe-text helper, and the CLI's output for a
 * hostile device, a hostile mDNS name, a devices file and an image app descriptor with ESC in them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeBlock, safeJson, safeText } from '../src/cli/render/safe-text.ts';

/** C0 except \n, DEL, C1: what must never be in the CLI's human output. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('safeText', () => {
  it('escapes every C0 control and DEL as \\xHH (\\n, \\r, \\t by name)', () => {
    for (let c = 0; c < 0x20; c++) {
      const out = safeText(`a${String.fromCharCode(c)}b`);
      const named: Record<number, string> = { 9: '\\t', 10: '\\n', 13: '\\r' };
      assert.equal(out, `a${named[c] ?? `\\x${c.toString(16).padStart(2, '0')}`}b`, `code ${c}`);
    }
    assert.equal(safeText('\x7f'), '\\x7f');
    assert.equal(safeText('\x1b]0;pwned\x07'), '\\x1b]0;pwned\\x07');
  });

  it('escapes every C1 control as \\u00HH, and the printable neighbours pass', () => {
    for (let c = 0x80; c <= 0x9f; c++) {
      assert.equal(safeText(String.fromCharCode(c)), `\\u00${c.toString(16)}`);
    }
    assert.equal(safeText('\x20~\xa0é'), ' ~\xa0é');
  });

  it('escapes bidi controls, zero-width and invisible format characters, lone surrogates', () => {
    const cases: Array<[string, string]> = [
      ['\u202e', '\\u202e'],
      ['\u202a', '\\u202a'],
      ['\u2066', '\\u2066'],
      ['\u2069', '\\u2069'],
      ['\u200b', '\\u200b'],
      ['\u200f', '\\u200f'],
      ['\u061c', '\\u061c'],
      ['\u2028', '\\u2028'],
      ['\ufeff', '\\ufeff'],
      ['\ud800', '\\ud800'],
      ['\udfff', '\\udfff'],
    ];
    for (const [input, expected] of cases) assert.equal(safeText(`x${input}y`), `x${expected}y`);
    // Neighbours that are text: a surrogate pair (emoji), U+2030, U+2070, CJK.
    for (const ok of ['😀', '\u2030', '\u2070', '日本', 'kitchen-1']) assert.equal(safeText(ok), ok);
  });

  it('is idempotent and keeps backslashes', () => {
    const once = safeText('C:\\fw\x1b[2J\x85');
    assert.equal(once, 'C:\\fw\\x1b[2J\\u0085');
    assert.equal(safeText(once), once);
  });

  it('safeBlock keeps line breaks and escapes the rest', () => {
    assert.equal(safeBlock('one\x1b[31m\ntwo\r\n'), 'one\\x1b[31m\ntwo\\r\n');
  });
});

describe('safeJson', () => {
  it('is lossless and leaves no raw control character', () => {
    let all = '';
    for (let c = 0; c < 0xa0; c++) all += String.fromCharCode(c);
    const value = { text: `${all}\u202e\u2028\ufeff\\`, n: 1, nested: [{ k: '\x9b' }] };
    for (const space of [undefined, 2]) {
      const text = safeJson(value, space);
      // Only the indentation's line breaks are raw.
      // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
      assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e\u2028\ufeff]/);
      assert.match(text, /\\u0085/);
      assert.match(text, /\\u009b/);
      assert.deepEqual(JSON.parse(text), value);
    }
    assert.equal(safeJson(undefined), 'null');
  });
});
