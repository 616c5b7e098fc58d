/**
 * The byte channel of one attempt: plaintext over the stream, or, once the Noise handshake ran,
 * ESPHome's encrypted frames (protocols-next.md §1.3; espota2.py `NoiseSocketWrapper`): each
 * `send()` is one control unit in one frame, data split at 1024 plaintext bytes; `take(n)` drains
 * decrypted frames. A frame that does not decrypt is a NETWORK_ERROR (a fresh connection
 * renegotiates), as in espota2.py.
 */
import { AirflashError } from '../../../core/errors.ts';
import type { Stream } from '../../../transport/types.ts';
import { NnPsk0Handshake, type NoiseTransport } from '../noise/index.ts';
import {
  encodeFrame,
  frameLength,
  NOISE_FRAME_HEADER,
  NOISE_HANDSHAKE_OK,
  NOISE_MAC,
  NOISE_MAC_FAILURE_REASON,
  NOISE_MAX_HANDSHAKE_PAYLOAD,
  NOISE_MAX_PLAINTEXT,
} from '../wire/index.ts';
import type { ByteReader } from './reader.ts';

export interface Channel {
  /** Exactly `n` bytes within `timeoutMs` (`what` names the wait). */
  take(n: number, timeoutMs: number, what: string, signal?: AbortSignal): Promise<Uint8Array>;
  /** One byte already received, without waiting (the error byte behind a send failure). */
  poll(): number | undefined;
  readonly closed: boolean;
  /** Send one unit; false asks the writer to wait for the stream's `drain`. */
  send(bytes: Uint8Array): boolean;
}

export function plainChannel(stream: Stream, reader: ByteReader): Channel {
  return {
    take: (n, ms, what, signal) => reader.take(n, ms, what, signal),
    poll: () => reader.poll(),
    get closed() {
      return reader.closed;
    },
    send: (bytes) => stream.write(bytes),
  };
}

const EMPTY = new Uint8Array(0);

/** Decode the API key (`--key`): base64 of exactly 32 bytes; the key itself is never in a message. */
export function decodeNoiseKey(key: string): Uint8Array {
  const bytes = Buffer.from(key.trim(), 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key.trim()) || bytes.length !== 32)
    throw new AirflashError('BAD_ARGUMENT', 'The ESPHome encryption key is not base64 of 32 bytes.', {
      hint: 'Pass the `encryption: key:` of the ESPHome config (44 characters ending in "=") with --key or AIRFLASH_ESPHOME_KEY.',
    });
  return new Uint8Array(bytes);
}

/** Run NNpsk0 as the initiator over the plaintext stream; the ciphers of the session. */
export async function noiseHandshake(
  stream: Stream,
  reader: ByteReader,
  psk: Uint8Array,
  prologue: Uint8Array,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<NoiseTransport> {
  const hs = new NnPsk0Handshake({ role: 'initiator', psk, prologue });
  const first = hs.writeMessage(EMPTY);
  const payload = new Uint8Array(1 + first.length);
  payload[0] = NOISE_HANDSHAKE_OK;
  payload.set(first, 1);
  stream.write(encodeFrame(payload));
  const header = await reader.take(NOISE_FRAME_HEADER, timeoutMs, 'answering the Noise handshake', signal);
  const length = frameLength(header);
  if (length === undefined || length < 1 || length > NOISE_MAX_HANDSHAKE_PAYLOAD)
    throw new AirflashError(
      'NOISE_HANDSHAKE_FAILED',
      `The device answered the Noise handshake with a bad frame (0x${(header[0] as number).toString(16).padStart(2, '0')}, ${length ?? '?'} bytes).`,
    );
  const answer = await reader.take(length, timeoutMs, 'answering the Noise handshake', signal);
  if (answer[0] !== NOISE_HANDSHAKE_OK) {
    const reason = new TextDecoder().decode(answer.subarray(1));
    if (reason === NOISE_MAC_FAILURE_REASON)
      throw new AirflashError(
        'HANDSHAKE_MAC_FAILURE',
        'The device refused the encryption key (Handshake MAC failure).',
        {
          hint: 'The --key / AIRFLASH_ESPHOME_KEY is not the `encryption: key:` of this device.',
          deviceText: reason,
        },
      );
    throw new AirflashError('NOISE_HANDSHAKE_FAILED', 'The device refused the Noise handshake.', {
      deviceText: reason,
    });
  }
  hs.readMessage(answer.subarray(1));
  return hs.transport as NoiseTransport;
}

export class NoiseChannel implements Channel {
  private readonly stream: Stream;
  private readonly reader: ByteReader;
  private readonly ciphers: NoiseTransport;
  private plain: Uint8Array = EMPTY;

  constructor(stream: Stream, reader: ByteReader, ciphers: NoiseTransport) {
    this.stream = stream;
    this.reader = reader;
    this.ciphers = ciphers;
  }

  get closed(): boolean {
    return this.reader.closed;
  }

  poll(): number | undefined {
    if (this.plain.length === 0) return undefined;
    const b = this.plain[0];
    this.plain = this.plain.subarray(1);
    return b;
  }

  async take(n: number, timeoutMs: number, what: string, signal?: AbortSignal): Promise<Uint8Array> {
    const until = Date.now() + timeoutMs;
    while (this.plain.length < n) {
      const left = Math.max(1, until - Date.now());
      const header = await this.reader.take(NOISE_FRAME_HEADER, left, what, signal);
      const length = frameLength(header);
      if (length === undefined || length <= NOISE_MAC || length > NOISE_MAX_PLAINTEXT + NOISE_MAC)
        throw new AirflashError('NETWORK_ERROR', `A bad encrypted frame from the device ${what}.`);
      const sealed = await this.reader.take(length, Math.max(1, until - Date.now()), what, signal);
      const opened = this.ciphers.receive.decryptWithAd(EMPTY, sealed);
      if (opened === undefined)
        throw new AirflashError(
          'NETWORK_ERROR',
          `An encrypted frame from the device ${what} did not decrypt.`,
          {
            hint: 'The frame was corrupted on the way; upload again (a new connection starts a new session).',
          },
        );
      const next = new Uint8Array(this.plain.length + opened.length);
      next.set(this.plain);
      next.set(opened, this.plain.length);
      this.plain = next;
    }
    const out = this.plain.slice(0, n);
    this.plain = this.plain.subarray(n);
    return out;
  }

  send(bytes: Uint8Array): boolean {
    let more = true;
    for (let at = 0; at < bytes.length || (at === 0 && bytes.length === 0); at += NOISE_MAX_PLAINTEXT) {
      const sealed = this.ciphers.send.encryptWithAd(EMPTY, bytes.subarray(at, at + NOISE_MAX_PLAINTEXT));
      more = this.stream.write(encodeFrame(sealed));
      if (bytes.length === 0) break;
    }
    return more;
  }
}
