/**
 * The emulated device's upload receiver: the request body through its own multipart reader into
 * the board's Update model (src/emulator/board/), with the faults of a real link (the connection
 * cut at P % of the image, a device that stops reading at P %) and the flash time each write costs.
 * The size given to `Update.begin` is the file part's length from `Content-Length` (the firmwares
 * begin with UPDATE_SIZE_UNKNOWN and end "even if remaining"; the model's Update wants a size; an
 * upload without Content-Length is refused with 411, docs/emulator.md lists this).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { BoardClock } from '../../../emulator/board/clock.ts';
import type { Esp32Board } from '../../../emulator/board/esp32-board.ts';
import type { Fault } from '../../../emulator/board/faults.ts';
import { ESP32_UPDATE_ERRORS } from '../../../emulator/board/updater.ts';
import { boundaryOf, MultipartReader } from './multipart-reader.ts';

export interface FilePart {
  name: string;
  filename: string;
}

/** What the firmware decides when the file part starts: write it (command 0 app / 100 fs) or refuse. */
export type FileGate = { command: 0 | 100; md5?: string } | { refuse: string };

export type Received =
  | {
      kind: 'ok';
      size: number;
      md5: string;
      partition: string;
      fields: Map<string, string>;
      head: Uint8Array;
    }
  | { kind: 'refused'; text: string; fields: Map<string, string> }
  | { kind: 'failed'; errno: number; text: string; fields: Map<string, string> }
  | { kind: 'bad-request'; status: number; text: string }
  | { kind: 'cut' };

export interface ReceiveContext {
  board: Esp32Board;
  clock: BoardClock;
  faults: Fault[];
  faultsUsed: Set<Fault>;
  /** Device ms per 1 KiB received beyond the flash time (a slow device). */
  slowMsPerKiB: number;
  signal: AbortSignal;
  log(line: string): void;
  onStart(size: number, command: number): void;
  onProgress(bytes: number, total: number): void;
  /** At the file part's start (fields read so far in `fields`). */
  gate(part: FilePart, fields: Map<string, string>): FileGate;
  /** Checks of the first bytes (Tasmota's magic, WLED's release), undefined = fine. */
  checkHead?(head: Uint8Array, size: number): { errno: number; text: string } | undefined;
  /** Force this failure text at the end (the `error` option). */
  injectedError?: string;
}

const HEAD = 256;

export async function receiveUpload(req: IncomingMessage, c: ReceiveContext): Promise<Received> {
  const boundary = boundaryOf(req.headers['content-type']);
  if (boundary === undefined) return { kind: 'bad-request', status: 400, text: 'Bad Request' };
  const length = Number(req.headers['content-length']);
  if (!Number.isSafeInteger(length) || length < 0)
    return { kind: 'bad-request', status: 411, text: 'Length Required' };
  const tail = Buffer.byteLength(`\r\n--${boundary}--\r\n`);
  const reader = new MultipartReader(boundary);
  const fields = new Map<string, string>();
  let update: ReturnType<Esp32Board['newUpdate']> | undefined;
  let refused: string | undefined;
  let failed: { errno: number; text: string } | undefined;
  let size = 0;
  let got = 0;
  let cutAt: number | undefined;
  let cut: Fault | undefined;
  let partition = '';
  const head: number[] = [];
  let headChecked = false;
  let bodyBytes = 0;
  const md5 = createHash('md5');
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bodyBytes += chunk.length;
    for (const e of reader.push(chunk)) {
      if (e.kind === 'field') fields.set(e.name, e.value);
      else if (e.kind === 'file') {
        const g = c.gate({ name: e.name, filename: e.filename }, fields);
        if ('refuse' in g) {
          refused = g.refuse;
          continue;
        }
        size = length - e.dataOffset - tail;
        update = c.board.newUpdate(true);
        const target = c.board.updateTarget(g.command, 'newest');
        partition = target.region?.label ?? '';
        if (!update.begin(size, g.command, target.region)) {
          failed = { errno: update.error, text: update.errorString() };
          update = undefined;
          continue;
        }
        if (g.md5 !== undefined) update.setMD5(g.md5); // Update.setMD5 (ElegantOTA's hash / MD5 field)
        c.onStart(size, g.command);
        cut = c.faults.find((f) => (f.kind === 'drop' || f.kind === 'stall') && !c.faultsUsed.has(f));
        if (cut) {
          c.faultsUsed.add(cut);
          cutAt = Math.floor((size * cut.percent) / 100);
        }
      } else if (e.kind === 'data' && update && failed === undefined) {
        let bytes = e.bytes;
        if (cutAt !== undefined && got + bytes.length >= cutAt)
          bytes = bytes.subarray(0, Math.max(0, cutAt - got));
        if (!headChecked && head.length < HEAD)
          for (const b of bytes.subarray(0, HEAD - head.length)) head.push(b);
        if (!headChecked && (head.length >= HEAD || got + bytes.length >= size) && c.checkHead) {
          headChecked = true;
          const bad = c.checkHead(Uint8Array.from(head), size);
          if (bad) {
            failed = bad;
            update.abort();
            continue;
          }
        }
        const r = update.write(bytes);
        if (r.written !== bytes.length) {
          failed = { errno: update.error, text: update.errorString() };
          update.abort();
          continue;
        }
        got += bytes.length;
        md5.update(bytes);
        const wait = r.costMs + (c.slowMsPerKiB * bytes.length) / 1024;
        if (wait > 0) await c.clock.delay(wait, c.signal);
        c.onProgress(got, size);
        if (cutAt !== undefined && got >= cutAt) {
          if (cut?.kind === 'stall') {
            c.log(`fault: stopped reading at ${got} bytes`);
            req.pause();
            await new Promise<void>((resolve) => {
              req.socket.once('close', () => resolve());
              c.signal.addEventListener('abort', () => resolve(), { once: true });
            });
          } else c.log(`fault: connection dropped at ${got} bytes`);
          update.abort();
          req.socket.destroy();
          return { kind: 'cut' };
        }
      } else if (e.kind === 'file-end' && update && failed === undefined) {
        if (c.injectedError !== undefined) {
          update.abort();
          failed = { errno: 0, text: c.injectedError };
        } else if (!update.end((r) => c.board.activate(r, c.log))) {
          failed = { errno: update.error, text: ESP32_UPDATE_ERRORS[update.error] ?? update.errorString() };
          update.abort();
        }
      }
    }
    if (reader.error !== undefined) return { kind: 'bad-request', status: 400, text: reader.error };
  }
  if (!reader.finished || bodyBytes !== length) {
    update?.abort();
    return { kind: 'cut' };
  }
  if (refused !== undefined) return { kind: 'refused', text: refused, fields };
  if (failed !== undefined) return { kind: 'failed', ...failed, fields };
  if (size === 0 && update === undefined)
    return { kind: 'failed', errno: 0, text: 'No file selected', fields };
  return { kind: 'ok', size, md5: md5.digest('hex'), partition, fields, head: Uint8Array.from(head) };
}
