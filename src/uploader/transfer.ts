import type { Socket } from 'node:net';
import { AirflashError } from '../errors.ts';
import { ReplyTokenizer } from '../protocol/index.ts';
import { abortError } from '../util/abort.ts';
import { CountTracker } from './counts.ts';
import type { Timeouts } from './defaults.ts';
import type { PreparedImage } from './image.ts';
import { formatSeconds, type Recorder } from './recorder.ts';

/** Slowest flash rate a device is expected to sustain, bytes/ms (flash encryption: 8 KiB in 400 ms,
 * field-notes §2.12a), for the silence allowed while it flashes bytes it has not confirmed yet. */
const SLOWEST_FLASH_BYTES_PER_MS = 16;

export interface TransferContext {
  rec: Recorder;
  t: Timeouts;
  socket: Socket;
  image: PreparedImage;
  signal: AbortSignal | undefined;
}

/**
 * Stream the image to the device (never stop-and-wait) with backpressure, while reading its reply
 * stream: counts, then `OK` (success) or its error text, or EOF. Resolves only on `OK`.
 */
export function transfer(ctx: TransferContext): Promise<void> {
  const { rec, t, socket, image, signal } = ctx;
  const obs = rec.obs;
  const total = image.size;
  const tokenizer = new ReplyTokenizer();
  const counts = new CountTracker();
  const started = rec.now();
  const tr = { startedAt: started, bytesSent: 0, bytesConfirmed: 0, countChunks: 0 } as NonNullable<
    typeof obs.transfer
  >;
  obs.transfer = tr;
  rec.setPhase('transfer');
  rec.progress(0, total, 0, true);

  let written = 0;
  let allWritten = false;
  let finished = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const writer = new AbortController();
  const sent = (): number => Math.max(0, written - socket.writableLength);

  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbortFn);
      writer.abort();
    };
    const finish = (error?: AirflashError): void => {
      if (finished) return;
      finished = true;
      tr.bytesSent = sent();
      tr.bytesConfirmed = counts.confirmed;
      tr.countChunks = counts.chunks;
      tr.endedAt = rec.now();
      tr.trailing = tokenizer.trailing;
      cleanup();
      if (error) reject(error);
      else resolve();
    };
    const fail = (
      code: 'TRANSFER_STALLED' | 'INCOMPLETE' | 'DEVICE_ERROR' | 'NETWORK_ERROR',
      end: NonNullable<typeof tr.end>,
      message: string,
      extra: { deviceText?: string; hint: string },
    ): void => {
      tr.end = end;
      finish(new AirflashError(code, message, { phase: rec.phase, ...extra }));
    };
    const where = (): string => {
      const s = sent();
      return `after ${s} of ${total} bytes sent (${Math.floor((100 * counts.confirmed) / Math.max(1, total))} % confirmed)`;
    };

    const arm = (): void => {
      clearTimeout(timer);
      const waitingForResult = allWritten && counts.confirmed >= total;
      if (waitingForResult) rec.setPhase('result');
      // A device may stay silent while it flashes what it already holds (an ESP8266 answers once per
      // drain, protocol.md §4.3): allow for the unconfirmed bytes at the slowest flash rate.
      const backlog = allWritten ? Math.max(0, sent() - counts.confirmed) : 0;
      const ms = waitingForResult
        ? t.resultTimeoutMs
        : t.stallTimeoutMs + (backlog / SLOWEST_FLASH_BYTES_PER_MS) * t.timeScale;
      timer = setTimeout(() => onTimeout(waitingForResult, ms), ms);
    };

    const deviceError = (text: string): void => {
      obs.deviceText = text;
      fail('DEVICE_ERROR', 'device-error', `The device reported an error ${where()}: ${text}`, {
        deviceText: text,
        hint: deviceErrorHint(text),
      });
    };

    const settle = (tokens: ReturnType<ReplyTokenizer['push']>): boolean => {
      let digits = '';
      for (const tok of tokens) {
        if (tok.type === 'digits') digits += tok.text;
        else if (tok.type === 'ok') {
          counts.add(digits, sent());
          digits = '';
          tr.end = 'ok';
          rec.progress(total, total, sent(), true);
          rec.log(`OK after ${formatSeconds(rec.now() - started)} of transfer`);
          finish();
          return true;
        } else if (tok.type === 'error') {
          counts.add(digits, sent());
          digits = '';
          deviceError(tok.text);
          return true;
        } else if (tok.type === 'end') {
          counts.add(digits, sent());
          digits = '';
          if (!tok.sawOk)
            fail(
              'INCOMPLETE',
              'eof',
              `The device closed the connection ${where()} without confirming the update.`,
              {
                hint: 'The device keeps its old firmware. Upload again; if it repeats, check the Wi-Fi signal and the device log.',
              },
            );
          return true;
        }
      }
      counts.add(digits, sent());
      return false;
    };

    const onData = (chunk: Buffer): void => {
      if (finished) return;
      tr.lastDeviceDataAt = rec.now();
      if (settle(tokenizer.push(chunk))) return;
      rec.progress(Math.min(counts.confirmed, sent(), total - 1), total, sent());
      arm();
    };
    const onEnd = (): void => {
      if (finished) return;
      settle(tokenizer.end());
    };
    const onError = (error: Error): void => {
      if (finished) return;
      rec.log(`socket error: ${error.message}`);
      if (!settle(tokenizer.end())) tr.end = 'reset';
      if (!finished) {
        tr.end = 'reset';
        fail('INCOMPLETE', 'reset', `The connection broke ${where()}: ${error.message}`, {
          hint: 'The device keeps its old firmware. Upload again.',
        });
      }
    };
    const onTimeout = (waitingForResult: boolean, ms: number): void => {
      if (finished) return;
      const partial = tokenizer.end().find((tok) => tok.type === 'error');
      if (partial?.type === 'error') {
        deviceError(partial.text);
        return;
      }
      if (waitingForResult)
        fail(
          'INCOMPLETE',
          'result-timeout',
          `The device received every byte but did not confirm the update within ${formatSeconds(ms)}.`,
          {
            hint: 'The device may still be verifying a large image: raise --result-timeout; check the device log.',
          },
        );
      else
        fail(
          'TRANSFER_STALLED',
          'stall',
          `The transfer stalled ${where()}: the device sent nothing for ${formatSeconds(ms)}.`,
          {
            hint:
              'The device keeps its old firmware. Upload again (--retries N); move the device closer to the access ' +
              'point or check the link (ESP32 gives up after about 1 s without data).',
          },
        );
    };
    const onAbortFn = (): void => {
      tr.end = 'aborted';
      finish(abortError(signal as AbortSignal));
    };

    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    if (signal?.aborted) {
      onAbortFn();
      return;
    }
    signal?.addEventListener('abort', onAbortFn, { once: true });
    arm();

    const waitDrain = (): Promise<void> =>
      new Promise<void>((res) => {
        const done = (): void => {
          // The network took bytes: the device is reading, even when it sends no counts yet.
          if (!finished && !allWritten) arm();
          socket.off('drain', done);
          socket.off('close', done);
          writer.signal.removeEventListener('abort', done);
          res();
        };
        socket.on('drain', done);
        socket.on('close', done);
        writer.signal.addEventListener('abort', done, { once: true });
      });

    void (async () => {
      const source = image.open();
      try {
        for await (const chunk of source) {
          if (finished || socket.destroyed) break;
          const room = total - written;
          if (room <= 0) break;
          const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
          written += piece.length;
          if (!socket.write(piece)) await waitDrain();
        }
        if (!finished && written < total)
          fail('INCOMPLETE', 'eof', `The image file ended after ${written} of ${total} bytes.`, {
            hint: 'The file changed while uploading; wait for the build to finish and upload again.',
          });
        if (!finished) {
          allWritten = true;
          rec.log(`all ${total} bytes handed to the network`);
          arm();
        }
      } catch (error) {
        if (!finished)
          fail('NETWORK_ERROR', 'reset', `Reading or sending the image failed: ${(error as Error).message}`, {
            hint: 'Check the image file and the network, then upload again.',
          });
      } finally {
        if ('destroy' in source && typeof source.destroy === 'function') source.destroy();
      }
    })();
  });
}

/** Advice for the Updater's error texts (protocol.md §4.6). */
export function deviceErrorHint(text: string): string {
  if (/Not Enough Space/i.test(text))
    return 'The image is bigger than the OTA slot: choose a partition scheme with bigger app slots, or shrink the image.';
  if (/Magic|0xE9/i.test(text))
    return 'The file is not a firmware image for this board (wrong file? a filesystem image needs -s).';
  if (/Decryption/i.test(text))
    return 'The image is not a plain firmware image for this device (wrong file?).';
  if (/MD5/i.test(text)) return 'The data arrived corrupted: upload again; check the link quality.';
  if (/bootstrapping/i.test(text)) return 'Reset the ESP8266 once after a serial flash, then upload again.';
  if (/Flash config|flash size/i.test(text))
    return 'The image was built for another flash size: set the board flash size to the real one.';
  if (/Aborted|No Error|premature/i.test(text)) return 'The transfer was cut; upload again.';
  return 'The device keeps its old firmware. Read the device text above.';
}
