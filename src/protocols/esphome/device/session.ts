/**
 * The emulated ESPHome device's OTA server, one session at a time (esphome
 * `components/esphome/ota/ota_esphome.cpp` at 015decce, "EOD-A"; byte sequence of
 * protocols-next.md §1.2, whose step numbers the comments use), mounted on the shared ESP32 board
 * (src/emulator/board/): the update goes through the board's Update model, so the slot, otadata
 * and the reboot into the new image are the board's. docs/emulator.md "ESPHome native OTA" lists
 * the sources and the assumptions.
 */
import type { BoardClock } from '../../../emulator/board/clock.ts';
import type { Esp32Board } from '../../../emulator/board/esp32-board.ts';
import type { Fault } from '../../../emulator/board/faults.ts';
import { ESP32_ERR } from '../../../emulator/board/updater.ts';
import {
  BLOCK_SIZE,
  decodeSize,
  FEATURE,
  isMagic,
  NONCE_LENGTH,
  otaPrologue,
  RESPONSE,
  SERVER_FLAG,
  textOf,
} from '../wire/index.ts';
import { type DeviceAuth, deviceNonce, expectedAnswer } from './auth.ts';
import { type ErrorStep, errorStep } from './faults.ts';
import { noiseRespond } from './noise-conn.ts';

/** The device's TCP client as the session uses it (the emulator implements it over a socket). */
export interface EsphomeConn {
  /** Exactly `n` bytes; undefined when the peer closed or `timeoutMs` passed first. */
  readExactly(n: number, timeoutMs: number): Promise<Uint8Array | undefined>;
  /** Up to `max` bytes (≥ 1) waiting at most `timeoutMs`; empty on timeout, undefined when closed. */
  readSome(max: number, timeoutMs: number): Promise<Uint8Array | undefined>;
  write(bytes: Uint8Array): void;
  close(): void;
}

export interface EsphomeDeviceConfig {
  /** `ota: version:` (default 2, EOTACFG). */
  version: 1 | 2;
  /** 'sha256': 2026.1+ (extended protocol, SHA-256 only, PR #12707); 'md5': a device before SHA-256
   * auth (PR #10809): the legacy `40` header and the MD5 challenge `01`. */
  auth: DeviceAuth;
  password?: string;
  /** An error byte to answer at its step (faults.ts). */
  errorByte?: number;
  /** `ota: encryption:`: Noise offered (a plaintext client is still served) or required (0x94 without). */
  encryption?: { mode: 'offered' | 'required'; psk: Uint8Array };
  /** Board faults: `drop@P` closes the connection after P % of the image; `stall@P` goes silent there. */
  faults: readonly Fault[];
}

export type EsphomeSessionEvent =
  | { event: 'auth-ok'; address: string; from: string }
  | { event: 'auth-failed'; address: string; from: string }
  | { event: 'update-start'; address: string; command: number; size: number }
  | { event: 'progress'; address: string; bytes: number; total: number }
  | { event: 'update-complete'; address: string; md5: string; size: number; partition: string }
  | { event: 'update-error'; address: string; text: string };

export interface EsphomeShellHost {
  readonly address: string;
  readonly clock: BoardClock;
  random(): number;
  log(line: string): void;
  emit(event: EsphomeSessionEvent): void;
  /** `safe_reboot()` after a successful update. */
  reboot(): void;
  counters: {
    authAttempts: number;
    authFailures: number;
    updatesStarted: number;
    updatesCompleted: number;
    updateErrors: number;
  };
}

/** Handshake watchdog from accept (EOD-A `OTA_SOCKET_TIMEOUT_HANDSHAKE`). */
const HANDSHAKE_MS = 20_000;
/** Data phase: the upload is abandoned after this long without data (105 s since esphome PR #19041). */
const DATA_SILENCE_MS = 105_000;
/** The device reads at most this many bytes per read (EOD-A `uint8_t buf[1024]`). */
const READ_MAX = 1024;

export class EsphomeOtaShell {
  private readonly host: EsphomeShellHost;
  private readonly board: Esp32Board;
  private readonly config: EsphomeDeviceConfig;
  private errorUsed = false;
  private readonly faultsUsed = new Set<Fault>();

  constructor(host: EsphomeShellHost, board: Esp32Board, config: EsphomeDeviceConfig) {
    this.host = host;
    this.board = board;
    this.config = config;
  }

  /** Serve one accepted client `from`; closes it on every path. */
  async serve(conn: EsphomeConn, from: string, signal: AbortSignal): Promise<void> {
    try {
      await this.session(conn, from, signal);
    } finally {
      conn.close();
    }
  }

  private injected(step: ErrorStep): number | undefined {
    const b = this.config.errorByte;
    if (b === undefined || this.errorUsed || errorStep(b) !== step) return undefined;
    this.errorUsed = true;
    return b;
  }

  /** Write an error byte, as the device does before it aborts and closes (EOD-A `send_error_and_cleanup_`). */
  private fail(conn: EsphomeConn, byte: number, text: string): void {
    this.host.log(`OTA: ${text} (0x${byte.toString(16)})`);
    conn.write(Uint8Array.of(byte));
  }

  private async session(plain: EsphomeConn, from: string, signal: AbortSignal): Promise<void> {
    const { clock } = this.host;
    // The connection: plaintext, then the encrypted one once the Noise handshake ran.
    let conn = plain;
    const deadline = performance.now() + clock.scaledTimeout(HANDSHAKE_MS);
    const left = (): number => Math.max(0, deadline - performance.now());
    const hs = (n: number): Promise<Uint8Array | undefined> => conn.readExactly(n, left());
    // 1: magic
    const magic = await hs(5);
    if (magic === undefined) return this.host.log('OTA: handshake timed out or the client left');
    const magicError = this.injected('magic');
    if (!isMagic(magic) || magicError !== undefined) return this.fail(conn, 0x80, 'magic bytes mismatch');
    // 2: version
    conn.write(Uint8Array.of(RESPONSE.ok, this.config.version));
    // 3–4: features
    const features = (await hs(1))?.[0];
    if (features === undefined) return;
    const sha = this.config.auth === 'sha256';
    const extended = sha && (features & FEATURE.extended) !== 0;
    // ESP32: no compression (only the ESP8266 backend inflates), no partition access; Noise when
    // the config has `encryption:` (server flag 04, ESPHome 2026.9+).
    const noise = this.config.encryption;
    const flags = noise ? SERVER_FLAG.noiseOffered : 0x00;
    conn.write(extended ? Uint8Array.of(RESPONSE.featureFlags, flags) : Uint8Array.of(RESPONSE.headerOk));
    const encryption = this.injected('features');
    if (encryption !== undefined) return this.fail(conn, encryption, 'encrypted connection required');
    if (noise && extended && (features & FEATURE.noise) !== 0) {
      const prologue = otaPrologue(this.config.version, features, flags);
      const r = await noiseRespond(conn, noise.psk, prologue, left());
      if ('refused' in r) return this.host.log(`OTA: noise handshake refused: ${r.refused}`);
      if ('gone' in r) return this.host.log('OTA: noise handshake failed or the client left');
      conn = r.conn;
      this.host.log('OTA: encrypted session');
    } else if (noise?.mode === 'required')
      return this.fail(conn, 0x94, 'encrypted connection required (the client offered no encryption)');
    // 5–7: auth
    const password = this.config.password;
    if (password === undefined || password === '') conn.write(Uint8Array.of(RESPONSE.authOk));
    else {
      if (sha && (features & FEATURE.sha256Auth) === 0)
        return this.fail(conn, 0x82, 'SHA256 required (the client offered no SHA-256 auth)');
      const kind: DeviceAuth = sha ? 'sha256' : 'md5';
      const nonce = deviceNonce(kind, () => this.host.random());
      conn.write(
        Uint8Array.of(
          sha ? RESPONSE.requestSha256Auth : RESPONSE.requestAuth,
          ...Buffer.from(nonce, 'latin1'),
        ),
      );
      const cnonce = await hs(NONCE_LENGTH[kind]);
      const answer = cnonce && (await hs(NONCE_LENGTH[kind]));
      if (cnonce === undefined || answer === undefined) return;
      this.host.counters.authAttempts++;
      const forced = this.injected('auth');
      if (forced !== undefined || textOf(answer) !== expectedAnswer(kind, password, nonce, textOf(cnonce))) {
        this.host.counters.authFailures++;
        this.host.emit({ event: 'auth-failed', address: this.host.address, from });
        return this.fail(conn, 0x82, 'auth invalid');
      }
      this.host.emit({ event: 'auth-ok', address: this.host.address, from });
      conn.write(Uint8Array.of(RESPONSE.authOk));
    }
    // 8: type (extended only)
    if (extended) {
      const type = (await hs(1))?.[0];
      if (type === undefined) return;
      if (type !== 0x00) return this.fail(conn, 0x8e, `unsupported OTA type ${type}`);
    }
    // 9–10: size, backend.begin(size)
    const sizeBytes = await hs(4);
    if (sizeBytes === undefined) return;
    const size = decodeSize(sizeBytes);
    await this.transfer(conn, size, signal);
  }

  private async transfer(conn: EsphomeConn, size: number, signal: AbortSignal): Promise<void> {
    const { clock, counters, address } = this.host;
    const prepareError = this.injected('prepare');
    if (prepareError !== undefined) return this.fail(conn, prepareError, 'update prepare failed');
    const update = this.board.newUpdate(true);
    const target = this.board.updateTarget(0, 'newest');
    if (!update.begin(size, 0, target.region)) {
      const byte =
        update.error === ESP32_ERR.noPartition ? 0x8a : update.error === ESP32_ERR.size ? 0x89 : 0x81;
      return this.fail(conn, byte, `backend begin failed: ${update.errorString()}`);
    }
    counters.updatesStarted++;
    this.host.emit({ event: 'update-start', address, command: 0, size });
    conn.write(Uint8Array.of(RESPONSE.updatePrepareOk));
    const ok = await this.receive(conn, update, size, signal);
    if (!ok) {
      update.abort();
      counters.updateErrors++;
      this.host.emit({ event: 'update-error', address, text: 'upload aborted' });
      return;
    }
    // 14–15
    conn.write(Uint8Array.of(RESPONSE.receiveOk));
    const endError = this.injected('end');
    const partition = update.target()?.label ?? '';
    if (endError !== undefined || !update.end((r) => this.board.activate(r, (l) => this.host.log(l)))) {
      const md5Failed = update.error === ESP32_ERR.md5;
      update.abort();
      counters.updateErrors++;
      const byte = endError ?? (md5Failed ? 0x8b : 0x84);
      this.host.emit({ event: 'update-error', address, text: `end failed 0x${byte.toString(16)}` });
      return this.fail(conn, byte, 'update end failed');
    }
    conn.write(Uint8Array.of(RESPONSE.updateEndOk));
    // 16: the end ack (a missing one is non-fatal, EOD-A)
    await conn.readExactly(1, clock.scaledTimeout(1000));
    counters.updatesCompleted++;
    this.host.emit({ event: 'update-complete', address, md5: update.md5Hex(), size, partition });
    this.host.log('OTA update finished');
    conn.close();
    await clock.delay(110, signal); // close, 10 ms, callbacks, 100 ms, safe_reboot() (step 17)
    this.host.reboot();
  }

  /** 11–13a: the MD5, then the data with a `47` per 8192 bytes (version 2). False = aborted. */
  private async receive(
    conn: EsphomeConn,
    update: ReturnType<Esp32Board['newUpdate']>,
    size: number,
    signal: AbortSignal,
  ): Promise<boolean> {
    const { clock } = this.host;
    const md5 = await conn.readExactly(32, clock.scaledTimeout(HANDSHAKE_MS));
    if (md5 === undefined) return false;
    update.setMD5(textOf(md5));
    conn.write(Uint8Array.of(RESPONSE.binMd5Ok));
    // drop@P: the connection closes at P %; stall@P: the device goes silent there (reads and
    // answers nothing) until its data-phase watchdog abandons the upload and closes.
    // Each fault fires once (as the board's faults without faultEvery).
    const cut = this.config.faults.find(
      (f) => (f.kind === 'drop' || f.kind === 'stall') && !this.faultsUsed.has(f),
    );
    if (cut) this.faultsUsed.add(cut);
    const dropAt = cut === undefined ? undefined : Math.floor((size * cut.percent) / 100);
    let got = 0;
    let lastData = performance.now();
    while (got < size) {
      if (dropAt !== undefined && got >= dropAt) {
        if (cut?.kind === 'stall') {
          this.host.log(`fault: silent from ${got} bytes`);
          await conn.readExactly(Number.MAX_SAFE_INTEGER, clock.scaledTimeout(DATA_SILENCE_MS));
          this.host.log('OTA: no data for too long, upload abandoned');
        } else this.host.log(`fault: connection dropped at ${got} bytes`);
        return false;
      }
      const want = Math.min(
        READ_MAX,
        size - got,
        dropAt !== undefined && dropAt > got ? dropAt - got : READ_MAX,
      );
      const chunk = await conn.readSome(want, clock.scaledTimeout(2000));
      if (chunk === undefined) return false;
      if (chunk.length === 0) {
        if (performance.now() - lastData > clock.scaledTimeout(DATA_SILENCE_MS)) return false;
        continue;
      }
      lastData = performance.now();
      const writeError = this.injected('data');
      const r = update.write(chunk);
      if (writeError !== undefined || r.written !== chunk.length) {
        const magic = update.error === ESP32_ERR.magic || update.error === ESP32_ERR.decrypt;
        this.fail(conn, writeError ?? (magic ? 0x80 : 0x83), `flash write failed: ${update.errorString()}`);
        return false;
      }
      if (r.costMs > 0) await clock.delay(r.costMs, signal);
      const before = got;
      got += chunk.length;
      this.host.emit({ event: 'progress', address: this.host.address, bytes: got, total: size });
      if (this.config.version === 2) {
        const crossed = Math.floor(got / BLOCK_SIZE) > Math.floor(before / BLOCK_SIZE);
        if (crossed || (got === size && got % BLOCK_SIZE !== 0)) conn.write(Uint8Array.of(RESPONSE.chunkOk));
      }
    }
    return true;
  }
}
