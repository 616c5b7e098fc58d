import { abortError } from '../../../core/abort.ts';
import { AirflashError, type ErrorCode } from '../../../core/errors.ts';
import type { Stream } from '../../../transport/types.ts';
import type { PreparedImage } from '../../types.ts';
import type { UploadObservation } from '../model/options.ts';
import type { Timeouts } from '../model/timeouts.ts';
import { CountTracker } from '../wire/counts.ts';
import { lookupDeviceError, ReplyTokenizer } from '../wire/index.ts';
import { formatSeconds, type Recorder } from './recorder.ts';
import {
  AHEAD_LIMIT_BYTES,
  AHEAD_NUDGE_BYTES,
  flashPauseAllowanceMs,
  MIN_TRANSFER_BYTES_PER_S,
  replyByteCap,
  transferDeadlineMs,
} from './transfer-limits.ts';

export interface TransferContext {
  rec: Recorder;
  t: Timeouts;
  socket: Stream;
  image: PreparedImage;
  signal: AbortSignal | undefined;
}

type TransferRecord = NonNullable<UploadObservation['transfer']>;
type Tokens = ReturnType<ReplyTokenizer['push']>;

/** Printable preview of a reply chunk for debug events (at most 64 characters). */
function preview(chunk: Uint8Array): string {
  return JSON.stringify(Buffer.from(chunk.subarray(0, 64)).toString('latin1'));
}

/**
 * Stream the image to the device with backpressure and at most AHEAD_LIMIT_BYTES beyond what it
 * confirmed, while reading its reply stream: counts, then `OK` or its error text, or EOF.
 * Resolves only on an `OK` that follows the whole image (docs/upload.md "What counts as success").
 */
export function transfer(ctx: TransferContext): Promise<void> {
  const { rec, t, socket, image, signal } = ctx;
  const total = image.size;
  const tokenizer = new ReplyTokenizer();
  const counts = new CountTracker();
  const started = rec.now();
  const allowanceMs = flashPauseAllowanceMs(t);
  const deadlineMs = transferDeadlineMs(total, t);
  const replyCap = replyByteCap(total);
  const tr: TransferRecord = {
    startedAt: started,
    bytesSent: 0,
    bytesConfirmed: 0,
    countChunks: 0,
    replyBytes: 0,
    aheadLimit: AHEAD_LIMIT_BYTES,
    flashPauseAllowanceMs: allowanceMs,
    deadlineMs,
  };
  rec.obs.transfer = tr;
  rec.setPhase('transfer');
  rec.progress(0, total, 0, 'sending', true);
  rec.log(
    `transfer: writing at most ${AHEAD_LIMIT_BYTES} bytes ahead of the device's counts; silence limit ${formatSeconds(t.stallTimeoutMs)} + ${formatSeconds(allowanceMs)} flash-pause allowance; deadline ${formatSeconds(deadlineMs)}`,
  );

  let written = 0;
  let allWritten = false;
  let finished = false;
  /** Extra write-ahead granted by nudges (a count split that came out too small). */
  let nudged = 0;
  let silence: ReturnType<typeof setTimeout> | undefined;
  let nudge: ReturnType<typeof setTimeout> | undefined;
  let wakeWriter: (() => void) | undefined;
  const writer = new AbortController();
  const sent = (): number => Math.max(0, written - socket.writableLength);
  const room = (): number => counts.confirmed + AHEAD_LIMIT_BYTES + nudged - written;
  const stage = (): 'sending' | 'flashing' => (allWritten ? 'flashing' : 'sending');
  const wake = (): void => {
    const w = wakeWriter;
    wakeWriter = undefined;
    w?.();
  };

  return new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => onDeadline(), deadlineMs);
    const cleanup = (): void => {
      clearTimeout(silence);
      clearTimeout(nudge);
      clearTimeout(deadline);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbortFn);
      writer.abort();
      wake();
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
      code: ErrorCode,
      end: NonNullable<TransferRecord['end']>,
      message: string,
      extra: { deviceText?: string; hint: string },
    ): void => {
      tr.end = end;
      finish(new AirflashError(code, message, { phase: rec.phase, ...extra }));
    };
    const where = (): string => {
      const pct = Math.floor((100 * counts.confirmed) / Math.max(1, total));
      return `after ${counts.confirmed} of ${total} bytes confirmed by the device (${pct} %; ${sent()} handed to the network)`;
    };

    const arm = (): void => {
      clearTimeout(silence);
      const waitingForResult = allWritten && counts.confirmed >= total;
      if (waitingForResult) rec.setPhase('result');
      // The device may stay silent while it writes what it holds to flash (an ESP8266 answers once
      // per drain, protocol.md §4.3; while bytes remain to send, it holds some or soon will): the
      // flash-pause allowance covers that, never more.
      const ms = waitingForResult ? t.resultTimeoutMs : t.stallTimeoutMs + allowanceMs;
      tr.silenceLimitMs = ms;
      silence = setTimeout(() => onSilence(waitingForResult, ms), ms);
    };

    const deviceError = (text: string): void => {
      rec.obs.deviceText = text;
      fail('DEVICE_ERROR', 'device-error', `The device reported an error ${where()}: ${text}`, {
        deviceText: text,
        hint: deviceErrorHint(text),
      });
    };

    const onOk = (): void => {
      // A real device sends OK only after its MD5 check of the whole image, and counts first.
      if (written < total || counts.chunks === 0) {
        fail(
          'BAD_REPLY',
          'early-ok',
          `The device answered OK ${where()}, before ${written < total ? 'the whole image was handed to the network' : 'confirming any byte'}: a real ArduinoOTA device sends OK only after it received and checked every byte, so this is not an update.`,
          {
            hint: 'Something other than the ArduinoOTA Updater answered on this connection (a proxy, a fake or broken device). Check the address and port.',
          },
        );
        return;
      }
      tr.end = 'ok';
      rec.progress(total, total, sent(), 'flashing', true);
      rec.log(`OK after ${formatSeconds(rec.now() - started)} of transfer`);
      finish();
    };

    const settle = (tokens: Tokens): boolean => {
      let digits = '';
      const flush = (): void => {
        counts.add(digits, sent());
        digits = '';
      };
      for (const tok of tokens) {
        if (tok.type === 'digits') {
          digits += tok.text;
          continue;
        }
        flush();
        if (tok.type === 'ok') onOk();
        else if (tok.type === 'error') deviceError(tok.text);
        else if (!tok.sawOk)
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
      flush();
      return false;
    };

    const onData = (chunk: Uint8Array): void => {
      if (finished) return;
      tr.lastDeviceDataAt = rec.now();
      tr.replyBytes = (tr.replyBytes ?? 0) + chunk.length;
      rec.trace(`tcp ← ${chunk.length} bytes ${preview(chunk)}`);
      if (tr.replyBytes > replyCap) {
        fail(
          'BAD_REPLY',
          'reply-cap',
          `The device sent ${tr.replyBytes} reply bytes for a ${total}-byte image, more than an ArduinoOTA device can (at most ${replyCap}): this is not an Updater's reply stream.`,
          {
            hint: 'Something other than the ArduinoOTA Updater answered on this connection. Check the address and port.',
          },
        );
        return;
      }
      const before = counts.confirmed;
      if (settle(tokenizer.push(chunk))) return;
      if (counts.confirmed > before) {
        clearTimeout(nudge);
        nudge = undefined;
        wake();
      }
      rec.progress(Math.min(counts.confirmed, total - 1), total, sent(), stage());
      arm();
    };
    const onEnd = (): void => {
      if (finished) return;
      settle(tokenizer.end());
    };
    const onError = (error: Error): void => {
      if (finished) return;
      rec.log(`socket error: ${error.message}`);
      const text = tokenizer.end().find((tok) => tok.type === 'error');
      if (text?.type === 'error') deviceError(text.text);
      else
        fail('INCOMPLETE', 'reset', `The connection broke ${where()}: ${error.message}`, {
          hint: 'The device keeps its old firmware. Upload again.',
        });
    };
    const onSilence = (waitingForResult: boolean, ms: number): void => {
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
          `The transfer stalled ${where()}: the device sent nothing for ${formatSeconds(ms)} (stall timeout ${formatSeconds(t.stallTimeoutMs)} + ${formatSeconds(allowanceMs)} flash-pause allowance).`,
          {
            hint:
              'The device keeps its old firmware. Upload again (--retries N); move the device closer to the access ' +
              'point or check the link (ESP32 gives up after about 1 s without data).',
          },
        );
    };
    const onDeadline = (): void => {
      if (finished) return;
      fail(
        'TRANSFER_STALLED',
        'deadline',
        `The transfer did not finish within its deadline of ${formatSeconds(deadlineMs)} ${where()} (the image at ${MIN_TRANSFER_BYTES_PER_S / 1024} KiB/s plus the stall and result waits).`,
        {
          hint: 'The device answers, but far too slowly for an update: check the link quality, or whether this is really an ArduinoOTA device.',
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

    /** Resolves when the socket drained, the device confirmed more, or the transfer ended. */
    const waitFor = (what: 'drain' | 'room'): Promise<void> =>
      new Promise<void>((res) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          writer.signal.removeEventListener('abort', done);
          res();
        };
        if (what === 'drain') socket.on('drain', done);
        else {
          wakeWriter = done;
          // A count split that came out too small must not deadlock a device without a receive
          // timeout: after a whole window's flash time of silence, hand it one more device read.
          nudge = setTimeout(() => {
            nudged += AHEAD_NUDGE_BYTES;
            rec.log(
              `write-ahead window full and the device silent: handing it ${AHEAD_NUDGE_BYTES} more bytes`,
            );
            wake();
          }, allowanceMs);
        }
        socket.on('close', done);
        writer.signal.addEventListener('abort', done, { once: true });
      });

    void (async () => {
      const source = image.open();
      try {
        for await (const chunk of source) {
          let rest = chunk.subarray(0, Math.max(0, total - written));
          while (rest.length > 0 && !finished && !socket.destroyed) {
            const n = Math.min(rest.length, room());
            if (n <= 0) {
              rec.progress(Math.min(counts.confirmed, total - 1), total, sent(), 'sending');
              await waitFor('room');
              continue;
            }
            written += n;
            const ok = socket.write(rest.subarray(0, n));
            rest = rest.subarray(n);
            if (!ok) await waitFor('drain');
          }
          if (finished || socket.destroyed || written >= total) break;
        }
        if (!finished && !socket.destroyed && written < total)
          fail('INCOMPLETE', 'eof', `The image file ended after ${written} of ${total} bytes.`, {
            hint: 'The file changed while uploading; wait for the build to finish and upload again.',
          });
        if (!finished && written >= total) {
          allWritten = true;
          rec.log(`all ${total} bytes handed to the network; ${counts.confirmed} confirmed so far`);
          // The device now writes what it holds to flash (ESP8266: then waits 1 s before OK).
          rec.progress(Math.min(counts.confirmed, total - 1), total, sent(), 'flashing', true);
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

/** Advice for the Updater's error texts (the device-error table, wire/device-errors.ts). */
export function deviceErrorHint(text: string): string {
  return lookupDeviceError(text).advice;
}
