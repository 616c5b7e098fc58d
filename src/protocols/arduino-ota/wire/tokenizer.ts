/**
 * Incremental tokenizer for the device's TCP reply stream (protocol.md §4.3–§4.5).
 *
 * The stream is: runs of ASCII decimal digits (byte counts with no separator, so `10241024` may be
 * two counts), then either `OK` (success) or an error text up to EOF (`Wrong Magic Byte\r\n`,
 * `ERROR[10]: Magic byte is not 0xE9\n`), or EOF with neither. The token sequence is the same for
 * every way TCP splits or coalesces the bytes; digits are reported as fragments that the caller
 * may concatenate.
 */
export type ReplyToken =
  | { type: 'digits'; text: string }
  | { type: 'ok' }
  | { type: 'error'; text: string }
  | { type: 'end'; sawOk: boolean };

/** Longest device text kept; anything after is dropped (a hostile peer cannot grow memory). */
export const MAX_ERROR_TEXT = 4096;

type State = 'counts' | 'o' | 'ok' | 'text' | 'closed';

export class ReplyTokenizer {
  private state: State = 'counts';
  private text = '';
  /** Bytes after `OK` (a real device sends none); exposed for diagnosis. */
  trailing = 0;

  /** Feed bytes; returns the tokens they complete. */
  push(chunk: Uint8Array): ReplyToken[] {
    const out: ReplyToken[] = [];
    let digits = '';
    const flushDigits = (): void => {
      if (digits !== '') {
        out.push({ type: 'digits', text: digits });
        digits = '';
      }
    };
    for (const b of chunk) {
      switch (this.state) {
        case 'counts':
          if (b >= 0x30 && b <= 0x39) digits += String.fromCharCode(b);
          else {
            flushDigits();
            if (b === 0x4f /* O */) this.state = 'o';
            else {
              this.state = 'text';
              this.appendText(b);
            }
          }
          break;
        case 'o':
          if (b === 0x4b /* K */) {
            this.state = 'ok';
            out.push({ type: 'ok' });
          } else {
            this.state = 'text';
            this.appendText(0x4f);
            this.appendText(b);
          }
          break;
        case 'ok':
          this.trailing++;
          break;
        case 'text':
          this.appendText(b);
          break;
        case 'closed':
          break;
      }
    }
    flushDigits();
    return out;
  }

  /** The stream ended (EOF or reset). Returns the final tokens. */
  end(): ReplyToken[] {
    const out: ReplyToken[] = [];
    const state = this.state;
    this.state = 'closed';
    if (state === 'o') this.appendText(0x4f);
    if (state === 'text' || state === 'o')
      out.push({ type: 'error', text: this.text.replace(/[\r\n]+$/, '') });
    out.push({ type: 'end', sawOk: state === 'ok' });
    return out;
  }

  private appendText(b: number): void {
    if (this.text.length < MAX_ERROR_TEXT) this.text += String.fromCharCode(b);
  }
}
