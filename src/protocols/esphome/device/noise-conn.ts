/**
 * The emulated device's side of ESPHome's encrypted OTA (esphome `ota_esphome_noise.cpp`,
 * protocols-next.md §1.3): the NNpsk0 responder over the plaintext connection, then a connection
 * that reads encrypted frames (control units and ≤ 1024-byte data frames, OTA_BUFFER_SIZE =
 * 1024 + the 16-byte MAC) and writes every response byte as its own encrypted frame
 * (`noise_write_byte_`). A wrong key gets a refusal frame with `Handshake MAC failure`.
 */
import { AirflashError } from '../../../core/errors.ts';
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
import type { EsphomeConn } from './session.ts';

const EMPTY = new Uint8Array(0);
/** The status byte of a refusal frame (any non-zero value; the exact one is unverified). */
const REJECT_STATUS = 0x01;

export type NoiseOutcome = { conn: EsphomeConn } | { refused: string } | { gone: true };

/** Answer the client's handshake frame; the encrypted connection, or why not. */
export async function noiseRespond(
  conn: EsphomeConn,
  psk: Uint8Array,
  prologue: Uint8Array,
  timeoutMs: number,
): Promise<NoiseOutcome> {
  const header = await conn.readExactly(NOISE_FRAME_HEADER, timeoutMs);
  const length = header && frameLength(header);
  if (length === undefined || length < 1 || length > NOISE_MAX_HANDSHAKE_PAYLOAD) return { gone: true };
  const payload = await conn.readExactly(length, timeoutMs);
  if (payload === undefined || payload[0] !== NOISE_HANDSHAKE_OK) return { gone: true };
  const hs = new NnPsk0Handshake({ role: 'responder', psk, prologue });
  try {
    hs.readMessage(payload.subarray(1));
  } catch (error) {
    const reason =
      error instanceof AirflashError && error.code === 'HANDSHAKE_MAC_FAILURE'
        ? NOISE_MAC_FAILURE_REASON
        : 'Handshake failed';
    const text = new TextEncoder().encode(reason);
    const refusal = new Uint8Array(1 + text.length);
    refusal[0] = REJECT_STATUS;
    refusal.set(text, 1);
    conn.write(encodeFrame(refusal));
    return { refused: reason };
  }
  const second = hs.writeMessage(EMPTY);
  const answer = new Uint8Array(1 + second.length);
  answer[0] = NOISE_HANDSHAKE_OK;
  answer.set(second, 1);
  conn.write(encodeFrame(answer));
  return { conn: new NoiseConn(conn, hs.transport as NoiseTransport) };
}

class NoiseConn implements EsphomeConn {
  private readonly inner: EsphomeConn;
  private readonly ciphers: NoiseTransport;
  private plain: Uint8Array = EMPTY;

  constructor(inner: EsphomeConn, ciphers: NoiseTransport) {
    this.inner = inner;
    this.ciphers = ciphers;
  }

  async readExactly(n: number, timeoutMs: number): Promise<Uint8Array | undefined> {
    const until = performance.now() + timeoutMs;
    while (this.plain.length < n) {
      const header = await this.inner.readExactly(NOISE_FRAME_HEADER, Math.max(0, until - performance.now()));
      if (header === undefined || !(await this.frame(header, until))) return undefined;
    }
    return this.take(n);
  }

  async readSome(max: number, timeoutMs: number): Promise<Uint8Array | undefined> {
    if (this.plain.length === 0) {
      const first = await this.inner.readSome(NOISE_FRAME_HEADER, timeoutMs);
      if (first === undefined || first.length === 0) return first;
      const rest =
        first.length === NOISE_FRAME_HEADER
          ? EMPTY
          : await this.inner.readExactly(NOISE_FRAME_HEADER - first.length, timeoutMs);
      if (rest === undefined) return undefined;
      const header = new Uint8Array(NOISE_FRAME_HEADER);
      header.set(first);
      header.set(rest, first.length);
      if (!(await this.frame(header, performance.now() + timeoutMs))) return undefined;
    }
    return this.take(Math.min(max, this.plain.length));
  }

  write(bytes: Uint8Array): void {
    for (const b of bytes)
      this.inner.write(encodeFrame(this.ciphers.send.encryptWithAd(EMPTY, Uint8Array.of(b))));
  }

  close(): void {
    this.inner.close();
  }

  /** Read one frame's ciphertext after `header` and decrypt it; false = bad frame or gone. */
  private async frame(header: Uint8Array, until: number): Promise<boolean> {
    const length = frameLength(header);
    if (length === undefined || length <= NOISE_MAC || length > NOISE_MAX_PLAINTEXT + NOISE_MAC) return false;
    const sealed = await this.inner.readExactly(length, Math.max(0, until - performance.now()));
    const opened = sealed && this.ciphers.receive.decryptWithAd(EMPTY, sealed);
    if (opened === undefined) return false;
    const next = new Uint8Array(this.plain.length + opened.length);
    next.set(this.plain);
    next.set(opened, this.plain.length);
    this.plain = next;
    return true;
  }

  private take(n: number): Uint8Array {
    const out = this.plain.slice(0, n);
    this.plain = this.plain.subarray(n);
    return out;
  }
}
