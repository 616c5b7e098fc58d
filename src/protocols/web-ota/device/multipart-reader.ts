/**
 * The emulated device's own `multipart/form-data` reader (written apart from the host's encoder,
 * so the emulator never checks the uploader with the uploader's code): fed the request body in
 * whatever pieces the socket delivers, it reports text fields, the start of a file part (with the
 * byte offset where its data begins), the file's data and the end. Part headers are bounded; the
 * file's data is passed through, never collected.
 */

export type MultipartEvent =
  | { kind: 'field'; name: string; value: string }
  | { kind: 'file'; name: string; filename: string; dataOffset: number }
  | { kind: 'data'; bytes: Uint8Array }
  | { kind: 'file-end' }
  | { kind: 'end' };

const MAX_HEADERS = 8 * 1024;
const MAX_FIELD = 8 * 1024;

/** The boundary of a `multipart/form-data; boundary=…` Content-Type, undefined when there is none. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /^\s*multipart\/form-data\s*;.*?boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(
    contentType ?? '',
  );
  return m ? (m[1] ?? m[2]) : undefined;
}

export class MultipartReader {
  private readonly delimiter: Buffer;
  private buffer: Buffer = Buffer.from('\r\n'); // the first delimiter has no CRLF before it
  private state: 'preamble' | 'after-delimiter' | 'headers' | 'field' | 'file' | 'done' = 'preamble';
  private consumed = -2; // body offset of buffer[0] (the virtual CRLF counts -2)
  private part: { name: string; filename?: string; value: Buffer[]; size: number } | undefined;
  error: string | undefined;

  constructor(boundary: string) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  get finished(): boolean {
    return this.state === 'done';
  }

  /** Feed the next piece of the body; returns what it completed. */
  push(chunk: Uint8Array): MultipartEvent[] {
    const out: MultipartEvent[] = [];
    if (this.state === 'done' || this.error !== undefined) return out;
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (!this.step(out)) break;
    }
    return out;
  }

  private take(n: number): Buffer {
    const head = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    this.consumed += n;
    return head;
  }

  /** One step of the state machine; false when it needs more bytes. */
  private step(out: MultipartEvent[]): boolean {
    switch (this.state) {
      case 'preamble': {
        const at = this.buffer.indexOf(this.delimiter);
        if (at === -1) {
          if (this.buffer.length > MAX_HEADERS) this.error = 'no multipart boundary';
          return false;
        }
        this.take(at + this.delimiter.length);
        this.state = 'after-delimiter';
        return true;
      }
      case 'after-delimiter': {
        if (this.buffer.length < 2) return false;
        const two = this.take(2).toString('latin1');
        if (two === '--') {
          this.state = 'done';
          out.push({ kind: 'end' });
          return false;
        }
        if (two !== '\r\n') {
          this.error = 'bad multipart delimiter';
          return false;
        }
        this.state = 'headers';
        return true;
      }
      case 'headers': {
        const at = this.buffer.indexOf('\r\n\r\n');
        if (at === -1) {
          if (this.buffer.length > MAX_HEADERS) this.error = 'part headers too long';
          return false;
        }
        const text = this.take(at + 4).toString('utf8');
        const disposition = /content-disposition:\s*form-data([^\r\n]*)/i.exec(text)?.[1] ?? '';
        const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1] ?? '';
        const filename = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
        this.part = { name, value: [], size: 0, ...(filename === undefined ? {} : { filename }) };
        if (filename !== undefined) {
          this.state = 'file';
          out.push({ kind: 'file', name, filename, dataOffset: this.consumed });
        } else this.state = 'field';
        return true;
      }
      case 'field':
      case 'file': {
        const at = this.buffer.indexOf(this.delimiter);
        const end = at === -1 ? Math.max(0, this.buffer.length - this.delimiter.length + 1) : at;
        if (end > 0) {
          const bytes = this.take(end);
          if (this.state === 'file') out.push({ kind: 'data', bytes: new Uint8Array(bytes) });
          else if (this.part && this.part.size + bytes.length <= MAX_FIELD) {
            this.part.value.push(Buffer.from(bytes));
            this.part.size += bytes.length;
          } else this.error = 'form field too long';
        }
        if (at === -1) return false;
        this.take(this.delimiter.length);
        if (this.state === 'file') out.push({ kind: 'file-end' });
        else if (this.part)
          out.push({
            kind: 'field',
            name: this.part.name,
            value: Buffer.concat(this.part.value).toString('utf8'),
          });
        this.part = undefined;
        this.state = 'after-delimiter';
        return true;
      }
      default:
        return false;
    }
  }
}
