/**
 * The USB serial family as an `OtaProtocol` on the upload front: `airflash upload -i
 * serial:///dev/ttyUSB0 -f app.bin` (also `serial://COM3`, `serial://auto`). The target is a
 * device path, not a network address (`addressless`: the front resolves nothing). One attempt:
 * connect to the ROM loader, the connected chip against the image (the chip the loader reports IS
 * the evidence: the front's family check is answered before any byte is written), the app written at the
 * slot the board boots (host/upload-app.ts), verified by the stub's MD5, a hard reset. The serial
 * host code (serialport, esptool-js) is loaded only when an upload runs.
 */
import { AirflashError } from '../../core/errors.ts';
import { basicJournal } from '../journal.ts';
import type { OtaProtocol, UploadEvent } from '../types.ts';
import type { SerialObservation } from './host/connect.ts';
import type { AppSlot } from './host/upload-app.ts';
import { uploadAppSerial } from './index.ts';

export const SERIAL_ID = 'serial';

/** The baud rate after the stub runs (flashSerial's default; the ROM itself talks at 115200). */
export const SERIAL_UPLOAD_BAUD = 460800;

/** The named timeouts of a serial upload (scaled by `timeScale`): reaching the loader, the write. */
export const SERIAL_UPLOAD_TIMEOUTS = { connectMs: 30_000, operationMs: 600_000 } as const;

/** What the serial protocol reads of the front's options. */
export interface SerialUploadOptions {
  filesystem?: boolean;
  timeScale?: number;
  onEvent?: (event: UploadEvent) => void;
}

/** One serial upload attempt, as seen. */
export interface SerialUploadObservation {
  protocol: 'serial';
  /** The device as named (`/dev/ttyUSB0`, `COM3`, `auto`). */
  device: string;
  /** The port opened (for `auto`: the one found). */
  port?: string;
  baud: number;
  stage: 'connect' | 'chip' | 'write' | 'reset' | 'done';
  chip?: string;
  slot?: AppSlot;
  /** Compressed bytes the stub acknowledged, of `compressedTotal`. */
  written: number;
  compressedTotal?: number;
  /** What the line saw when it failed (connect.ts), for the diagnosis. */
  serial?: SerialObservation;
}

/** Failures worth one more connect: the line or the loader's replies, not the board's flash or a human step. */
const RETRYABLE: ReadonlySet<string> = new Set([
  'SERIAL_NO_SYNC',
  'SERIAL_PROTOCOL',
  'SERIAL_BOARD_RESET',
  'TIMEOUT',
]);

export const serial: OtaProtocol<SerialUploadOptions, SerialUploadObservation> = {
  id: SERIAL_ID,
  title: 'USB serial (ROM loader)',
  // A filesystem image goes to the filesystem partition of the board's own table (upload-app.ts);
  // a board without one (an ESP8266, a blank ESP32) refuses -s with BAD_ARGUMENT.
  writes: ['app', 'filesystem'],
  addressless: true,
  // A serial write starts over from the sync, and writing the same app again is harmless; a board
  // out of download mode, a missing port or a flash that fails its MD5 needs a person.
  isRetryable: (code) => RETRYABLE.has(code),
  begin(_options, target) {
    const fresh = (): SerialUploadObservation => ({
      protocol: 'serial',
      device: target.path ?? target.host,
      baud: SERIAL_UPLOAD_BAUD,
      stage: 'connect',
      written: 0,
    });
    return basicJournal<SerialUploadObservation>(SERIAL_ID, fresh(), _options.onEvent, fresh);
  },
  // The front's `familyCheck` (a network device asked before its first byte) is answered here by
  // the loader itself: upload-app.ts refuses an image for another family or chip with
  // PREFLIGHT_WRONG_CHIP before any byte is written, in serial words (no OTA updater, no invitation).
  async upload({ options, address, image, journal, target, signal }) {
    const obs = journal.observation;
    if (image.compressed)
      throw new AirflashError(
        'BAD_ARGUMENT',
        'A serial upload compresses by itself; --compress does not apply.',
        {
          hint: 'Leave out --compress for serial:// targets.',
        },
      );
    const started = Date.now();
    const scale = options.timeScale && options.timeScale > 0 ? options.timeScale : 1;
    const data = await image.readOriginal();
    journal.setPhase('connect');
    try {
      const result = await uploadAppSerial({
        port: address.address,
        baud: SERIAL_UPLOAD_BAUD,
        data,
        kind: options.filesystem ? 'filesystem' : 'app',
        timeouts: {
          connectMs: SERIAL_UPLOAD_TIMEOUTS.connectMs * scale,
          operationMs: SERIAL_UPLOAD_TIMEOUTS.operationMs * scale,
        },
        onEvent: (e) => {
          if (e.type === 'stage') {
            obs.stage = e.stage;
            if (e.stage === 'write') journal.setPhase('transfer');
            if (e.stage === 'reset') journal.setPhase('result');
          } else if (e.type === 'chip') {
            obs.port = e.chip.port;
            obs.chip = e.chip.description;
          } else if (e.type === 'slot') obs.slot = e.slot;
          else {
            obs.written = e.written;
            obs.compressedTotal = e.total;
            // The image bytes the acknowledged compressed bytes stand for (esptool-js deflates the whole image).
            const bytes =
              e.total > 0 ? Math.min(image.size, Math.floor((e.written / e.total) * image.size)) : 0;
            journal.emit({
              type: 'progress',
              bytes,
              total: image.size,
              sent: bytes,
              stage: e.written < e.total ? 'sending' : 'flashing',
            });
          }
        },
        ...(signal ? { signal } : {}),
      });
      obs.stage = 'done';
      obs.port = result.port;
      journal.setPhase('done');
      return {
        ok: true,
        protocol: SERIAL_ID,
        host: target.host,
        address: result.port,
        // A serial device has no network port.
        port: 0,
        bytes: image.size,
        md5: image.md5,
        durationMs: Date.now() - started,
        warnings: [],
        observation: obs,
      };
    } catch (error) {
      const seen = (error as { data?: Record<string, unknown> }).data?.['serial'];
      if (seen !== undefined) obs.serial = seen as SerialObservation;
      throw error;
    }
  },
};
