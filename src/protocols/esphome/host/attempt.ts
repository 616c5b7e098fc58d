/**
 * One upload attempt of ESPHome's native OTA over `src/transport/` (protocols-next.md §1.2, the
 * steps numbered there; espota2.py `perform_ota`). Version 2 keeps a bounded window of blocks in
 * flight (ESPHOME_WINDOW_BLOCKS) and matches the device's `47` acks as they come, where espota2.py
 * waits for each ack before sending the next block. The socket is closed in `finally`.
 */
import { AirflashError, toAirflashError } from '../../../core/errors.ts';
import type { Transport } from '../../../transport/types.ts';
import type { AttemptJournal, PreparedImage } from '../../types.ts';
import { ESPHOME_TIMEOUTS, ESPHOME_WINDOW_BLOCKS, type EsphomeObservation } from '../model/options.ts';
import {
  type AuthKind,
  ascii,
  authResponse,
  BLOCK_SIZE,
  END_ACK,
  encodeSize,
  FEATURE,
  HOST_FEATURES,
  MAGIC,
  makeCnonce,
  NONCE_LENGTH,
  OTA_TYPE,
  type OtaVersion,
  otaPrologue,
  RESPONSE,
  SERVER_FLAG,
  textOf,
} from '../wire/index.ts';
import { connectWithin } from './connect.ts';
import { afterCommitError, deviceResponseError, expectResponse, unexpectedResponse } from './errors.ts';
import { ByteReader } from './reader.ts';
import { type Channel, decodeNoiseKey, NoiseChannel, noiseHandshake, plainChannel } from './secure.ts';

export interface AttemptInput {
  transport: Transport;
  address: string;
  port: number;
  image: PreparedImage;
  password?: string;
  /** The Noise PSK, base64 of 32 bytes (`--key`): encrypt the session, never fall back to plaintext. */
  key?: string;
  /** Multiplies the named timeouts. */
  timeScale: number;
  journal: AttemptJournal<EsphomeObservation>;
  /** Version 2 blocks in flight; default ESPHOME_WINDOW_BLOCKS, 1 = espota2.py's method. */
  windowBlocks?: number;
  signal?: AbortSignal;
}

export async function runAttempt(input: AttemptInput): Promise<void> {
  const { journal: j, image, signal } = input;
  const obs = j.observation;
  // timeScale 0 ("no delays" on an emulated device) keeps the budgets at their length.
  const scale = input.timeScale > 0 ? input.timeScale : 1;
  const connectMs = ESPHOME_TIMEOUTS.connectMs * scale;
  const ackMs = ESPHOME_TIMEOUTS.ackMs * scale;
  const window = Math.max(1, Math.floor(input.windowBlocks ?? ESPHOME_WINDOW_BLOCKS));
  const psk = input.key === undefined ? undefined : decodeNoiseKey(input.key);
  j.setPhase('connect');
  obs.stage = 'connect';
  const stream = await connectWithin(
    input.transport,
    { address: input.address, port: input.port },
    connectMs,
    signal,
  );
  const reader = new ByteReader(stream);
  let ch: Channel = plainChannel(stream, reader);
  const read1 = async (ms: number, what: string): Promise<number> =>
    (await ch.take(1, ms, what, signal))[0] as number;
  let sent = 0;
  try {
    // 1–2: magic, version
    obs.stage = 'magic';
    stream.write(MAGIC);
    const head = await read1(connectMs, 'after the magic');
    expectResponse(head, [RESPONSE.ok], 'after the magic', obs);
    const version = await read1(connectMs, 'sending its OTA version');
    if (version !== 1 && version !== 2)
      throw (
        deviceResponseError(version, 'sending its OTA version', obs) ??
        new AirflashError(
          'OTA_VERSION_UNSUPPORTED',
          `The device uses OTA version ${version}; airflash speaks versions 1 and 2.`,
          {
            hint: 'Update airflash, or the device firmware.',
          },
        )
      );
    obs.otaVersion = version as OtaVersion;
    j.log(`device supports OTA version ${version}`);
    // 3–4: features
    obs.stage = 'features';
    const features = HOST_FEATURES | (psk ? FEATURE.noise : 0);
    stream.write(Uint8Array.of(features));
    const answer = await read1(connectMs, 'answering the feature byte');
    expectResponse(
      answer,
      [RESPONSE.headerOk, RESPONSE.supportsCompression, RESPONSE.featureFlags],
      'answering the feature byte',
      obs,
    );
    obs.extended = answer === RESPONSE.featureFlags;
    if (obs.extended) obs.serverFlags = await read1(connectMs, 'sending its feature flags');
    obs.noiseOffered = ((obs.serverFlags ?? 0) & SERVER_FLAG.noiseOffered) !== 0;
    if (psk) {
      // Fail closed (espota2.py): with a key, never send the image in plaintext.
      if (!obs.noiseOffered)
        throw new AirflashError(
          'ENCRYPTION_UNAVAILABLE',
          'An encryption key was given, but the device does not offer encrypted OTA; the image was not sent.',
          {
            hint: 'A firmware before OTA encryption (ESPHome 2026.9) takes one update without --key (on a trusted network or over USB) with `ota: encryption:` in its config; then upload with --key.',
          },
        );
      j.setPhase('auth');
      obs.stage = 'encryption';
      const ciphers = await noiseHandshake(
        stream,
        reader,
        psk,
        otaPrologue(version, features, obs.serverFlags ?? 0),
        connectMs,
        signal,
      );
      ch = new NoiseChannel(stream, reader, ciphers);
      obs.encrypted = true;
      j.log('Noise handshake complete: the session is encrypted');
    }
    // 5–7: auth
    j.setPhase('auth');
    obs.stage = 'auth';
    const ask = await read1(connectMs, 'at the authentication step');
    if (ask === RESPONSE.authOk) obs.auth = 'none';
    else if (ask === RESPONSE.requestSha256Auth || ask === RESPONSE.requestAuth) {
      const kind: AuthKind = ask === RESPONSE.requestSha256Auth ? 'sha256' : 'md5';
      obs.auth = kind;
      if (input.password === undefined || input.password === '')
        throw new AirflashError('AUTH_REQUIRED', 'The device requests a password, but none was given.', {
          hint: 'Pass the OTA password of the ESPHome config (`ota: password:`) with -a PASSWORD.',
        });
      const nonce = textOf(await ch.take(NONCE_LENGTH[kind], connectMs, 'sending its nonce', signal));
      const cnonce = makeCnonce(kind);
      ch.send(ascii(cnonce));
      ch.send(ascii(authResponse(kind, input.password, nonce, cnonce)));
      const verdict = await read1(connectMs, 'checking the password');
      expectResponse(verdict, [RESPONSE.authOk], 'checking the password', obs);
    } else
      throw (
        deviceResponseError(ask, 'at the authentication step', obs) ??
        new AirflashError(
          'AUTH_UNSUPPORTED',
          `The device asked for authentication in an unknown way (0x${ask.toString(16).padStart(2, '0')}).`,
          {
            hint: 'Update airflash, or check that this is an ESPHome device.',
          },
        )
      );
    // 8–10: type, size, prepare (the erase may take long: the ack budget)
    j.setPhase('transfer');
    obs.stage = 'prepare';
    if (obs.extended) ch.send(Uint8Array.of(OTA_TYPE.app));
    ch.send(encodeSize(image.size));
    expectResponse(
      await read1(ackMs, 'preparing the flash'),
      [RESPONSE.updatePrepareOk],
      'preparing the flash',
      obs,
    );
    // 11–12: MD5
    obs.stage = 'md5';
    ch.send(ascii(image.md5));
    expectResponse(await read1(ackMs, 'after the MD5'), [RESPONSE.binMd5Ok], 'after the MD5', obs);
    // 13: data
    obs.stage = 'data';
    let inFlight = 0;
    const progress = (): void =>
      j.emit({
        type: 'progress',
        bytes: obs.bytesAcked,
        total: image.size,
        sent,
        stage: sent < image.size ? 'sending' : 'flashing',
      });
    const ack = async (): Promise<void> => {
      const b = await read1(ackMs, `acknowledging the block at ${obs.bytesAcked}`);
      if (b !== RESPONSE.chunkOk)
        throw (
          deviceResponseError(b, `after ${sent} bytes`, obs) ??
          unexpectedResponse(b, `after ${sent} bytes`, '0x47')
        );
      inFlight--;
      obs.bytesAcked = Math.min(image.size, obs.bytesAcked + BLOCK_SIZE);
      progress();
    };
    const drained = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const done = (): void => {
          stream.off('drain', done);
          stream.off('close', closed);
          resolve();
        };
        const closed = (): void => {
          stream.off('drain', done);
          stream.off('close', closed);
          reject(new AirflashError('NETWORK_ERROR', `The connection closed after ${sent} bytes.`));
        };
        stream.on('drain', done);
        stream.on('close', closed);
      });
    const send = async (block: Uint8Array): Promise<void> => {
      if (version === 2) while (inFlight >= window) await ack();
      if (ch.closed) throw new AirflashError('NETWORK_ERROR', `The connection closed after ${sent} bytes.`);
      const more = ch.send(block);
      sent += block.length;
      obs.bytesSent = sent;
      if (version === 2) inFlight++;
      else obs.bytesAcked = sent;
      progress();
      if (!more) await drained();
    };
    try {
      const source = image.open();
      try {
        let block = new Uint8Array(BLOCK_SIZE);
        let fill = 0;
        for await (const chunk of source) {
          let at = 0;
          while (at < chunk.length) {
            const k = Math.min(BLOCK_SIZE - fill, chunk.length - at);
            block.set(chunk.subarray(at, at + k), fill);
            fill += k;
            at += k;
            if (fill === BLOCK_SIZE) {
              await send(block);
              block = new Uint8Array(BLOCK_SIZE);
              fill = 0;
            }
          }
        }
        if (fill > 0) await send(block.subarray(0, fill));
      } finally {
        source.destroy?.();
      }
      while (inFlight > 0) await ack();
    } catch (error) {
      // A send failure: the device may have written its error byte just before closing (espota2.py).
      const peeked = ch.poll();
      const fromDevice =
        peeked === undefined ? undefined : deviceResponseError(peeked, `after ${sent} bytes`, obs);
      if (fromDevice) throw fromDevice;
      const e = toAirflashError(error);
      throw sent === image.size && (e.code === 'NETWORK_ERROR' || e.code === 'TIMEOUT')
        ? afterCommitError(e)
        : e;
    }
    // 14–16: receive OK, end OK, the end ack
    j.setPhase('result');
    obs.stage = 'end';
    try {
      expectResponse(
        await read1(ackMs, 'confirming the receipt'),
        [RESPONSE.receiveOk],
        'confirming the receipt',
        obs,
      );
      expectResponse(
        await read1(ackMs, 'finishing the update'),
        [RESPONSE.updateEndOk],
        'finishing the update',
        obs,
      );
    } catch (error) {
      const e = toAirflashError(error);
      throw e.code === 'NETWORK_ERROR' || e.code === 'TIMEOUT' ? afterCommitError(e) : e;
    }
    ch.send(END_ACK); // a failed end ack counts as success (espota2.py)
    obs.stage = 'done';
  } finally {
    reader.dispose();
    stream.destroy();
  }
}
