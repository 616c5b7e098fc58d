import { DeviceHalted } from '../../../emulator/board/clock.ts';
import type { Esp32Board } from '../../../emulator/board/esp32-board.ts';
import type { Esp32UpdaterRevision } from '../../../emulator/board/esp32-target.ts';
import { esp32EndMs, TIMING_MODEL } from '../../../emulator/board/timing.ts';
import { ArduinoOtaSession, type Datagram, type ShellHost } from './session.ts';

/**
 * arduino-esp32 3.x ArduinoOTA (libraries/ArduinoOTA/src/ArduinoOTA.cpp) on an ESP32 board:
 * datagrams queue in the socket and `handle()` reads one per call (`_onRx`); replies go to the
 * sender; `_runUpdate()` connects back, reads with `setTimeout()` per pass and re-sends the last
 * count (`Try[n]`), and reboots after `OK` for any command (docs/emulator.md "Fidelity").
 */

/** lwIP CONFIG_LWIP_UDP_RECVMBOX_SIZE default (ESP-IDF Kconfig): datagrams an ESP32 socket queues. */
const ESP32_UDP_QUEUE = 6;
/** Real-time floor of the scaled receive timeout (see runUpdate). */
const RECEIVE_TIMEOUT_FLOOR_MS = 250;

export interface Esp32ShellOptions {
  /** The Update library revision ('3.0' for esp32-legacy). */
  updater: Esp32UpdaterRevision;
  /** Decryption support in the Update library (a wrong first byte reads "Decryption error"). */
  decryptSupport: boolean;
  /** ArduinoOTA.setTimeout() (device ms). */
  receiveTimeoutMs: number;
}

export class Esp32ArduinoOta extends ArduinoOtaSession {
  private readonly board: Esp32Board;
  private readonly options: Esp32ShellOptions;
  private queue: Datagram[] = [];
  private otaIp = '';

  constructor(host: ShellHost, board: Esp32Board, secret: string | undefined, options: Esp32ShellOptions) {
    super(host, secret);
    this.board = board;
    this.options = options;
  }

  override reset(): void {
    super.reset();
    this.queue = [];
  }

  /** Queued in the socket until handle() reads one datagram per call. */
  receive(d: Datagram): void {
    if (this.queue.length >= ESP32_UDP_QUEUE) return;
    this.queue.push(d);
    this.host.kick();
  }

  hasWork(): boolean {
    return this.otaState === 'runupdate' || this.queue.length > 0;
  }

  async handle(signal: AbortSignal): Promise<boolean> {
    let ran = false;
    if (this.otaState === 'runupdate') {
      ran = true;
      await this.runUpdate(signal);
      if (signal.aborted) return true;
      this.otaState = 'idle';
    }
    const d = this.queue.shift();
    if (d) this.onRx(d);
    return ran;
  }

  /** One datagram, inside handle() (ArduinoOTA.cpp `_onRx`). Replies go to the sender. */
  private onRx(d: Datagram): void {
    if (this.otaState === 'idle') {
      if (this.invite(d) !== 'open') return;
      this.host.sendUdp('OK', d.address, d.port);
      this.otaIp = d.address;
      this.otaState = 'runupdate';
      return;
    }
    if (this.otaState === 'waitauth') {
      const r = this.checkAuth(d);
      if (r === 'silent') {
        // ASSUMPTION for ≥ 3.3.1 (A3): silent and back to IDLE, as in 3.0 – 3.3.0.
        this.host.log('auth param fail / unexpected datagram: back to idle');
        this.otaState = 'idle';
        return;
      }
      if (r === 'ok') {
        this.host.sendUdp('OK', d.address, d.port);
        this.otaIp = d.address;
        this.authOk(d);
        return;
      }
      this.host.sendUdp('Authentication Failed', d.address, d.port);
      this.authFailed(d);
    }
  }

  /** `_runUpdate()`. */
  private async runUpdate(signal: AbortSignal): Promise<void> {
    const host = this.host;
    const inv = this.inv as NonNullable<typeof this.inv>;
    const upd = this.board.newUpdate(this.options.decryptSupport);
    const target = this.board.updateTarget(inv.command, this.options.updater);
    if (!upd.begin(inv.size, inv.command, target.region)) {
      // Begin failed: nothing goes to the host (protocol.md §2.4).
      host.log(`Begin ERROR: ${upd.errorString()}`);
      this.callbackError(1);
      this.updateError(upd.errorString());
      return;
    }
    upd.setMD5(inv.md5);
    this.startUpdate(inv);
    const tf = this.transferFault(inv.size);
    const conn = await this.connectBack(this.otaIp, inv.port, signal);
    if (!conn) {
      host.log('Connect Failed');
      this.callbackError(2);
    }
    let written = 0;
    let total = 0;
    let tried = 0;
    let received = 0;
    let firstError = conn ? '' : 'Connect Failed';
    while (conn && !upd.isFinished() && conn.connected()) {
      // Scaled, but never below RECEIVE_TIMEOUT_FLOOR_MS of real time: a busy test machine can
      // pause the event loop for tens of milliseconds, which a 10 ms timeout would take for silence.
      const timeout = host.clock.flooredTimeout(this.options.receiveTimeoutMs, RECEIVE_TIMEOUT_FLOOR_MS);
      const got = await conn.waitData(timeout, signal);
      if (got === 'timeout') {
        if (written && tried++ < TIMING_MODEL.esp32.receiveRetries) {
          host.log(`Try[${tried}]: ${written}`);
          if (!conn.write(String(written))) {
            host.log('failed to respond');
            break;
          }
          continue;
        }
        host.log('Receive Failed');
        this.callbackError(3);
        upd.abort();
        conn.close();
        this.updateError('Receive Failed');
        return;
      }
      if (got === 'closed') break;
      tried = 0;
      const chunk = this.read(conn, TIMING_MODEL.esp32.readSize, received, tf);
      if (chunk === 'cut') continue;
      if (chunk.length === 0) continue;
      received += chunk.length;
      const r = upd.write(chunk);
      await host.clock.busy(r.costMs, signal);
      if (target.overwritesRunning && this.board.runningAppErased()) {
        // ASSUMPTION (A8): the crash comes at the first 4 KiB flush.
        // ≤ 3.3.0 on a one-slot table: Update erased the app the CPU runs from (its first sector,
        // at the first 4 KiB flush); the next cache miss executes erased flash and the chip resets.
        host.log('Guru Meditation Error: the running app partition was erased (no running-partition guard)');
        conn.destroy();
        host.halt('fault');
        throw new DeviceHalted();
      }
      written = r.written;
      if (written > 0) {
        conn.write(String(written));
        total += written;
        this.progress(total, upd.expectedSize() || inv.size >>> 0);
      } else {
        host.log(`Write ERROR: ${upd.errorString()}`);
        firstError ||= upd.errorString();
      }
    }
    const staged = upd.target();
    const endMs = esp32EndMs(inv.size >>> 0, inv.command);
    const ended = upd.end((reg) => this.board.activate(reg, (line) => host.log(line)));
    // Update.end() reads the image back, checks its SHA-256 and rewrites otadata before `OK`.
    if (ended) await host.clock.busy(endMs, signal);
    if (ended) {
      conn?.write('OK');
      conn?.close();
      host.counters.updatesCompleted++;
      host.log('Update Success');
      host.emit({
        event: 'update-complete',
        address: host.address,
        md5: upd.md5Hex(),
        size: inv.size >>> 0,
        partition: staged?.label ?? '',
      });
      await host.persist();
      await host.clock.delay(TIMING_MODEL.esp32.afterOkMs, signal);
      host.log('End');
      // `if (_rebootOnSuccess) { delay(100); ESP.restart(); }` in ArduinoOTA.cpp `_runUpdate()`
      // does not look at `_cmd`: a filesystem update (cmd 100) reboots as a firmware update does.
      await host.clock.delay(TIMING_MODEL.esp32.beforeRestartMs, signal);
      host.log('Rebooting...');
      host.halt('update');
      return;
    }
    this.callbackError(4);
    const text = upd.errorString();
    conn?.write(`${text}\r\n`);
    conn?.close();
    host.log(`Update ERROR: ${text}`);
    this.updateError(firstError && firstError !== text ? firstError : text);
    await host.persist();
    await host.clock.delay(TIMING_MODEL.esp32.afterErrorMs, signal);
  }
}
