/**
 * A streaming `multipart/form-data` body (RFC 7578) with its exact length known before the first
 * byte: the text parts and the file part's headers are built up front, the image itself is passed
 * through chunk by chunk as its source yields it (never copied, never held whole), so the
 * `Content-Length` is exact and a 16 MiB image costs no more memory than one chunk.
 */
import { AirflashError } from '../../../core/errors.ts';

/** A text form field sent before the file part (AsyncElegantOTA's `MD5`, WLED's `skipValidation`). */
export interface MultipartField {
  readonly name: string;
  readonly value: string;
}

/** The file part: the form field name (`firmware`, `update`, `u2` …), its filename and size. */
export interface MultipartFile {
  readonly field: string;
  readonly filename: string;
  readonly size: number;
  readonly contentType?: string;
}

export interface MultipartPlan {
  readonly boundary: string;
  /** The request's `Content-Type` header value. */
  readonly contentType: string;
  /** Exact body length in bytes: head + file + tail. */
  readonly length: number;
  /** Everything before the file's bytes (text fields, then the file part's headers). */
  readonly head: Uint8Array;
  /** Everything after the file's bytes (CRLF and the closing delimiter). */
  readonly tail: Uint8Array;
  readonly fileSize: number;
}

const encoder = new TextEncoder();
// RFC 2046 §5.1.1 bchars without the space (so the header value needs no quotes); 1–70 long.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/;
// A header parameter value: printable ASCII without the quote and backslash (no CR/LF).
const PARAM = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

function checkParam(what: string, value: string): void {
  if (!PARAM.test(value))
    throw new AirflashError(
      'BAD_ARGUMENT',
      `The multipart ${what} may hold printable ASCII only (no quotes, backslashes or line breaks).`,
    );
}

/** A boundary from 16 random bytes (the caller passes them: this module stays pure). */
export function boundaryFrom(random: Uint8Array): string {
  let hex = '';
  for (const b of random) hex += b.toString(16).padStart(2, '0');
  return `----airflash${hex}`;
}

/** Lay out the body: the lengths are fixed here, before any image byte is read. */
export function planMultipart(
  boundary: string,
  fields: readonly MultipartField[],
  file: MultipartFile,
): MultipartPlan {
  if (!BOUNDARY.test(boundary))
    throw new AirflashError(
      'BAD_ARGUMENT',
      "A multipart boundary is 1 to 70 characters of [0-9A-Za-z'()+_,-./:=?].",
    );
  if (!Number.isSafeInteger(file.size) || file.size < 0)
    throw new AirflashError(
      'BAD_ARGUMENT',
      `The file part's size must be a whole number of bytes, not ${file.size}.`,
    );
  let head = '';
  for (const f of fields) {
    checkParam('field name', f.name);
    if (f.value.includes(`--${boundary}`) || /[\r\n]/.test(f.value))
      throw new AirflashError(
        'BAD_ARGUMENT',
        `The form field "${f.name}" holds a line break or the boundary.`,
      );
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"\r\n\r\n${f.value}\r\n`;
  }
  checkParam('field name', file.field);
  checkParam('filename', file.filename);
  const type = file.contentType ?? 'application/octet-stream';
  checkParam('content type', type);
  head += `--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.filename}"\r\nContent-Type: ${type}\r\n\r\n`;
  const headBytes = encoder.encode(head);
  const tailBytes = encoder.encode(`\r\n--${boundary}--\r\n`);
  return {
    boundary,
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: headBytes.length + file.size + tailBytes.length,
    head: headBytes,
    tail: tailBytes,
    fileSize: file.size,
  };
}

/**
 * The body's chunks: the head, then the source's own chunks unchanged (the same objects), then
 * the tail. A source that yields more or fewer bytes than planned is an error before the tail, so
 * a wrong length never reaches the device as a complete body.
 */
export async function* multipartChunks(
  plan: MultipartPlan,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  yield plan.head;
  let seen = 0;
  for await (const chunk of source) {
    seen += chunk.length;
    if (seen > plan.fileSize)
      throw new AirflashError('INTERNAL', `The image grew while it was sent (over ${plan.fileSize} bytes).`);
    if (chunk.length > 0) yield chunk;
  }
  if (seen !== plan.fileSize)
    throw new AirflashError(
      'INTERNAL',
      `The image ended at ${seen} of ${plan.fileSize} bytes while it was sent.`,
    );
  yield plan.tail;
}
