/**
 * The emulated web updater of one firmware profile, mounted on the shared ESP32 board: routes,
 * exact status codes and bodies (texts.ts), auth (Basic or Digest), arduino-esp32's Origin rule,
 * Tasmota's Referer rule and `GET /up`, WLED's OTA lock / PIN / same-subnet rules and release
 * check, ElegantOTA v3's `/ota/start`, and the reboot into the new image after success. Every
 * request with a side effect is counted (`sideEffects`), so tests can prove the probe has none.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { BoardClock } from '../../../emulator/board/clock.ts';
import type { Esp32Board } from '../../../emulator/board/esp32-board.ts';
import type { Fault } from '../../../emulator/board/faults.ts';
import type { ProfileId } from '../wire/profiles/index.ts';
import { WebAuth, type WebAuthConfig } from './auth.ts';
import { type FileGate, type Received, receiveUpload } from './receive.ts';
import type { Reply, ShellApi } from './shell-api.ts';
import { tasmotaGet, tasmotaUpload } from './tasmota.ts';
import * as T from './texts.ts';
import { wledGet, wledUpload } from './wled.ts';

export interface WebCounters {
  requests: number;
  sideEffects: number;
  authFailures: number;
  updatesStarted: number;
  updatesCompleted: number;
  updateErrors: number;
}

export type WebShellEvent =
  | { event: 'update-start'; address: string; command: number; size: number }
  | { event: 'progress'; address: string; bytes: number; total: number }
  | { event: 'update-complete'; address: string; md5: string; size: number; partition: string }
  | { event: 'update-error'; address: string; text: string };

export interface WebShellHost {
  readonly address: string;
  readonly hostname: string;
  readonly mac: string;
  readonly clock: BoardClock;
  readonly counters: WebCounters;
  log(line: string): void;
  emit(e: WebShellEvent): void;
  /** The firmware version the running image reports. */
  version(): string;
  /** Restart `afterMs` device ms from now (the firmwares' delayed restart after the reply). */
  reboot(afterMs: number): void;
}

export interface WebShellConfig {
  profile: ProfileId;
  auth?: WebAuthConfig;
  /** ESPHome: `ota: - platform: web_server` configured (default true). */
  otaEnabled: boolean;
  wled: { otaLock: boolean; pin: boolean; sameSubnet: boolean; release: string };
  /** Answer this failure text once at the end of an upload. */
  error?: string;
  faults: Fault[];
  slowMsPerKiB: number;
}

/** Requests with a side effect on the device, per protocols-next.md §2.7 ("never" row) and §2.5. */
function hasSideEffect(profile: ProfileId, method: string, path: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return true;
  if (profile === 'elegantota-v3' && path === '/ota/start') return true;
  if (profile === 'tasmota' && (path === '/up' || path === '/u4' || path === '/cm')) return true;
  return false;
}

export class WebOtaShell implements ShellApi {
  readonly host: WebShellHost;
  readonly board: Esp32Board;
  readonly config: WebShellConfig;
  private readonly auth: WebAuth | undefined;
  private readonly faultsUsed = new Set<Fault>();
  private injectedUsed = false;
  /** ElegantOTA v3: `/ota/start` began an update (mode, MD5). */
  private started: { mode: string; md5: string } | undefined;
  /** Tasmota: `GET /up` set the upload type to firmware. */
  readonly state = { uploadTypeFirmware: false };

  constructor(host: WebShellHost, board: Esp32Board, config: WebShellConfig) {
    this.host = host;
    this.board = board;
    this.config = config;
    this.auth = config.auth && new WebAuth(config.auth);
  }

  /** After a reboot the server's state is new. */
  reset(): void {
    this.started = undefined;
    this.state.uploadTypeFirmware = false;
  }

  async handle(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const c = this.host.counters;
    c.requests++;
    const url = new URL(req.url ?? '/', 'http://device');
    const method = req.method ?? 'GET';
    if (hasSideEffect(this.config.profile, method, url.pathname)) c.sideEffects++;
    this.host.log(`${method} ${url.pathname}${url.search}`);
    const reply = await this.route(method, url, req, signal);
    if (reply === undefined) return; // the connection was cut
    const headers: Record<string, string> = { Connection: 'close', ...reply.headers };
    if (this.config.profile === 'tasmota') headers['Server'] = `Tasmota/${this.host.version()} (ESP32)`;
    let body: Buffer = Buffer.from(reply.body, 'utf8');
    if (reply.gzip) {
      body = gzipSync(body);
      headers['Content-Encoding'] = 'gzip';
    }
    headers['Content-Type'] = reply.type ?? 'text/html';
    headers['Content-Length'] = String(body.length);
    if (!res.headersSent && !res.destroyed) res.writeHead(reply.status, headers).end(body);
  }

  authorized(req: IncomingMessage, method: string): boolean {
    if (this.auth === undefined) return true;
    const ok = this.auth.check(req.headers['authorization'], method);
    if (!ok) this.host.counters.authFailures++;
    return ok;
  }

  unauthorized(): Reply {
    return {
      status: 401,
      body: '',
      headers: { 'WWW-Authenticate': (this.auth as WebAuth).challenge() },
    };
  }

  async drain(req: IncomingMessage): Promise<void> {
    for await (const _ of req as AsyncIterable<Buffer>) {
      /* read and dropped */
    }
  }

  private async route(
    method: string,
    url: URL,
    req: IncomingMessage,
    signal: AbortSignal,
  ): Promise<Reply | undefined> {
    const path = url.pathname;
    const p = this.config.profile;
    if (method === 'GET') {
      if (p === 'wled') return wledGet(this, path, req);
      if (p === 'tasmota') return tasmotaGet(this, path, req);
      if (path === '/' && p === 'esphome') return { status: 200, body: T.ESPHOME_INDEX };
      if (path === '/update/identity' && p === 'elegantota-v2') {
        const id = this.host.mac.replace(/:/g, '').slice(6);
        return { status: 200, type: 'application/json', body: JSON.stringify({ id, hardware: 'ESP32' }) };
      }
      if (path === '/update' && p !== 'esphome') {
        if (!this.authorized(req, method)) return this.unauthorized();
        if (p === 'elegantota-v3') return { status: 200, body: T.ELEGANT_V3_PAGE, gzip: true };
        if (p === 'elegantota-v2') return { status: 200, body: T.ELEGANT_V2_PAGE, gzip: true };
        return { status: 200, body: T.arduinoPage(p === 'arduino-esp32') };
      }
      if (path === '/ota/start' && p === 'elegantota-v3') {
        if (!this.authorized(req, method)) return this.unauthorized();
        const md5 = url.searchParams.get('hash') ?? '';
        if (md5 !== '' && !/^[0-9a-fA-F]{32}$/.test(md5))
          return { status: 400, type: 'text/plain', body: 'MD5 parameter invalid' };
        this.started = { mode: url.searchParams.get('mode') ?? 'fr', md5: md5.toLowerCase() };
        return { status: 200, type: 'text/plain', body: 'OK' };
      }
      return { status: 404, type: 'text/plain', body: 'Not Found' };
    }
    if (method !== 'POST') return { status: 405, type: 'text/plain', body: 'Method Not Allowed' };
    if (p === 'tasmota' && path === '/u2') return tasmotaUpload(this, url, req, signal);
    if (p === 'elegantota-v3' && path === '/ota/upload') return this.elegantV3Upload(req, signal);
    if (path !== '/update' || (p === 'esphome' && !this.config.otaEnabled)) {
      await this.drain(req);
      return { status: 404, type: 'text/plain', body: 'Not Found' };
    }
    if (p === 'wled') return wledUpload(this, req, signal);
    if (p === 'esphome') return this.esphomeUpload(req, signal);
    if (p === 'elegantota-v2') return this.elegantV2Upload(req, signal);
    return this.arduinoUpload(req, signal);
  }

  receive(
    req: IncomingMessage,
    signal: AbortSignal,
    gate: (name: string, filename: string, fields: Map<string, string>) => FileGate,
    checkHead?: (head: Uint8Array, size: number) => { errno: number; text: string } | undefined,
  ): Promise<Received> {
    const { address } = this.host;
    const inject = this.config.error !== undefined && !this.injectedUsed ? this.config.error : undefined;
    if (inject !== undefined) this.injectedUsed = true;
    return receiveUpload(req, {
      board: this.board,
      clock: this.host.clock,
      faults: this.config.faults,
      faultsUsed: this.faultsUsed,
      slowMsPerKiB: this.config.slowMsPerKiB,
      signal,
      log: (l) => this.host.log(l),
      onStart: (size, command) => {
        this.host.counters.updatesStarted++;
        this.host.emit({ event: 'update-start', address, command, size });
      },
      onProgress: (bytes, total) => this.host.emit({ event: 'progress', address, bytes, total }),
      gate: (part, fields) => gate(part.name, part.filename, fields),
      ...(checkHead ? { checkHead } : {}),
      ...(inject === undefined ? {} : { injectedError: inject }),
    });
  }

  /** Success: the event, the counters, and the restart `afterMs` later (device ms). */
  succeeded(r: Extract<Received, { kind: 'ok' }>, afterMs: number): void {
    this.host.counters.updatesCompleted++;
    const md5 = r.md5; // the image received (the board boots it after the restart)
    this.host.emit({
      event: 'update-complete',
      address: this.host.address,
      md5,
      size: r.size,
      partition: r.partition,
    });
    this.host.log('Update Success, rebooting');
    this.host.reboot(afterMs);
  }

  failed(text: string): void {
    this.host.counters.updateErrors++;
    this.host.emit({ event: 'update-error', address: this.host.address, text });
    this.host.log(`Update error: ${text}`);
  }

  private async arduinoUpload(req: IncomingMessage, signal: AbortSignal): Promise<Reply | undefined> {
    const esp32 = this.config.profile === 'arduino-esp32';
    const authed = this.authorized(req, 'POST');
    const host = req.headers['host'] ?? '';
    const originOk = !esp32 || req.headers['origin'] === `http://${host}`;
    const r = await this.receive(req, signal, (name) => {
      if (!authed) return { refuse: 'auth' };
      if (!originOk) return { refuse: 'origin' };
      return { command: name === 'filesystem' ? 100 : 0 };
    });
    if (r.kind === 'cut') return undefined;
    if (r.kind === 'bad-request') return { status: r.status, type: 'text/plain', body: r.text };
    // The 401 comes after the whole body was read (§2.1a); arduino-esp32 with credentials answers
    // a wrong Origin with 401 too, without them with the error text (§2.2).
    if (!authed || (!originOk && this.auth !== undefined)) return this.unauthorized();
    if (r.kind === 'refused') {
      this.failed('Wrong origin received!');
      return { status: 200, body: T.ARDUINO_WRONG_ORIGIN };
    }
    if (r.kind === 'failed') {
      this.failed(r.text);
      return { status: 200, body: T.arduinoError(r.errno, r.text) };
    }
    this.succeeded(r, 100);
    return { status: 200, body: T.ARDUINO_SUCCESS };
  }

  private async elegantV3Upload(req: IncomingMessage, signal: AbortSignal): Promise<Reply | undefined> {
    const authed = this.authorized(req, 'POST');
    const started = this.started;
    const r = await this.receive(req, signal, () => {
      if (!authed) return { refuse: 'auth' };
      if (started === undefined) return { refuse: 'OTA could not begin' };
      return {
        command: started.mode === 'fs' ? 100 : 0,
        ...(started.md5 === '' ? {} : { md5: started.md5 }),
      };
    });
    this.started = undefined;
    if (r.kind === 'cut') return undefined;
    if (r.kind === 'bad-request') return { status: r.status, type: 'text/plain', body: r.text };
    if (!authed) return this.unauthorized();
    if (r.kind === 'refused' || r.kind === 'failed') {
      this.failed(r.text);
      return {
        status: 400,
        type: 'text/plain',
        body: r.text,
        headers: { 'Access-Control-Allow-Origin': '*' },
      };
    }
    this.succeeded(r, 2000);
    return { status: 200, type: 'text/plain', body: 'OK', headers: { 'Access-Control-Allow-Origin': '*' } };
  }

  private async elegantV2Upload(req: IncomingMessage, signal: AbortSignal): Promise<Reply | undefined> {
    const authed = this.authorized(req, 'POST');
    const r = await this.receive(req, signal, (_name, filename, fields) => {
      if (!authed) return { refuse: 'auth' };
      const md5 = fields.get('MD5');
      if (md5 === undefined) return { refuse: 'MD5 parameter missing' };
      if (!/^[0-9a-fA-F]{32}$/.test(md5)) return { refuse: 'MD5 parameter invalid' };
      return { command: filename === 'filesystem' ? 100 : 0, md5: md5.toLowerCase() };
    });
    if (r.kind === 'cut') return undefined;
    if (r.kind === 'bad-request') return { status: r.status, type: 'text/plain', body: r.text };
    if (!authed) return this.unauthorized();
    if (r.kind === 'refused') {
      this.failed(r.text);
      return { status: 400, type: 'text/plain', body: r.text };
    }
    if (r.kind === 'failed') {
      this.failed(r.text);
      return { status: 500, type: 'text/plain', body: 'FAIL' };
    }
    this.succeeded(r, 100);
    return { status: 200, type: 'text/plain', body: 'OK' };
  }

  private async esphomeUpload(req: IncomingMessage, signal: AbortSignal): Promise<Reply | undefined> {
    const authed = this.authorized(req, 'POST');
    if (!authed) {
      await this.drain(req);
      return this.unauthorized();
    }
    const r = await this.receive(req, signal, () => ({ command: 0 }));
    if (r.kind === 'cut') return undefined;
    if (r.kind === 'bad-request') return { status: r.status, type: 'text/plain', body: r.text };
    if (r.kind !== 'ok') {
      this.failed(r.text);
      return { status: 200, type: 'text/plain', body: T.ESPHOME_FAILED };
    }
    this.succeeded(r, 100);
    return { status: 200, type: 'text/plain', body: T.ESPHOME_SUCCESS };
  }
}
