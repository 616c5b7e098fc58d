/**
 * SLIP framing of the ESP ROM loader (esptool docs `advanced-topics/serial-protocol.rst`,
 * "Low Level Protocol"): a packet starts and ends with 0xC0; inside it 0xC0 is sent as DB DC and
 * 0xDB as DB DD. The decoder is incremental (bytes arrive in any split) and bounded: a frame over
 * `maxFrame` bytes is dropped and reported, never buffered without end.
 */

const END = 0xc0;
const ESC = 0xdb;
const ESC_END = 0xdc;
const ESC_ESC = 0xdd;

/** One SLIP frame around `payload`. */
function slipEncode(payload: Uint8Array): Uint8Array {
  let extra = 0;
  for (const b of payload) if (b === END || b === ESC) extra++;
  const out = new Uint8Array(payload.length + extra + 2);
  let o = 0;
  out[o++] = END;
  for (const b of payload) {
    if (b === END) {
      out[o++] = ESC;
      out[o++] = ESC_END;
    } else if (b === ESC) {
      out[o++] = ESC;
      out[o++] = ESC_ESC;
    } else out[o++] = b;
  }
  out[o] = END;
  return out;
}

/** What the decoder found in a chunk: whole frames, and bytes that were not part of any frame. */
interface SlipEvents {
  frame(payload: Uint8Array): void;
  /** A byte outside a frame (boot log text, noise), or a frame dropped as malformed or too long. */
  junk?(what: 'outside' | 'bad-escape' | 'too-long', byte: number): void;
}

class SlipDecoder {
  private buf: number[] = [];
  private inFrame = false;
  private escaping = false;
  private dropping = false;

  private readonly events: SlipEvents;
  private readonly maxFrame: number;

  constructor(events: SlipEvents, maxFrame = 0x10000) {
    this.events = events;
    this.maxFrame = maxFrame;
  }

  push(chunk: Uint8Array): void {
    for (const b of chunk) this.byte(b);
  }

  private byte(b: number): void {
    if (b === END) {
      // Back-to-back END bytes (an end then a start) give an empty frame: ignored.
      if (this.inFrame && !this.dropping && this.buf.length > 0) this.events.frame(Uint8Array.from(this.buf));
      this.buf = [];
      this.inFrame = true;
      this.escaping = false;
      this.dropping = false;
      return;
    }
    if (!this.inFrame) {
      this.events.junk?.('outside', b);
      return;
    }
    if (this.dropping) return;
    if (this.escaping) {
      this.escaping = false;
      if (b === ESC_END) this.add(END);
      else if (b === ESC_ESC) this.add(ESC);
      else this.drop('bad-escape', b);
      return;
    }
    if (b === ESC) this.escaping = true;
    else this.add(b);
  }

  private add(b: number): void {
    if (this.buf.length >= this.maxFrame) {
      this.drop('too-long', b);
      return;
    }
    this.buf.push(b);
  }

  private drop(what: 'bad-escape' | 'too-long', b: number): void {
    this.dropping = true;
    this.buf = [];
    this.events.junk?.(what, b);
  }
}

export { SlipDecoder, type SlipEvents, slipEncode };
