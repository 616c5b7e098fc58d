import type { Esp8266Board } from '../../../emulator/board/esp8266-board.ts';
import { TIMING_MODEL } from '../../../emulator/board/timing.ts';
import { ArduinoOtaSession, type Datagram, type PendingInvitation, type ShellHost } from './session.ts';

/**
 * esp8266/Arduino ArduinoOTA (libraries/ArduinoOTA/ArduinoOTA.cpp) on an ESP8266 board: `_onRx`
 * runs in the network callback at once and replies to the invitation's source; `_runUpdate()`
 * answers the invitation only after `Update.begin()`, drains the client with `Update.write(client)`
 * and never times out while the host keeps the connection (docs/emulator.md "Fidelity").
 */

const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, '0');

export class Esp8266ArduinoOta extends ArduinoOtaSession {
  private readonly board: Esp8266Board;

  constructor(host: ShellHost, board: Esp8266Board, secret: string | undefined) {
    super(host, secret);
    this.board = board;
  }

  /** In the network callback, at once (ArduinoOTA.cpp `_onRx`); replies to the invitation's source. */
  receive(d: Datagram): void {
    if (this.otaState === 'idle') {
      if (this.invite(d) !== 'open') return;
      this.otaState = 'runupdate';
      this.host.kick();
      return;
    }
    if (this.otaState === 'waitauth') {
      const inv = this.inv as PendingInvitation;
      const r = this.checkAuth(d);
      if (r === 'silent') {
        this.host.log('unexpected datagram while waiting for auth: back to idle');
        this.otaState = 'idle';
        return;
      }
      if (r === 'ok') {
        this.authOk(d);
        this.host.kick();
        return;
      }
      this.host.sendUdp('Authentication Failed', inv.ip, inv.udpPort);
      this.authFailed(d);
    }
    // RUNUPDATE: read and dropped.
  }

  hasWork(): boolean {
    return this.otaState === 'runupdate';
  }

  async handle(signal: AbortSignal): Promise<boolean> {
    if (this.otaState !== 'runupdate') return false;
    await this.runUpdate(signal);
    if (signal.aborted) return true;
    this.otaState = 'idle';
    return true;
  }

  /** `_runUpdate()`. */
  private async runUpdate(signal: AbortSignal): Promise<void> {
    const host = this.host;
    const inv = this.inv as PendingInvitation;
    const upd = this.board.newUpdater();
    if (!upd.begin(inv.size, inv.command, this.board.sketchSize())) {
      const text = upd.errorText();
      host.log(text);
      host.log('Update Begin Error');
      this.callbackError(1);
      host.sendUdp(`ERR: ${text}\n`, inv.ip, inv.udpPort);
      this.updateError(text);
      await host.clock.delay(TIMING_MODEL.esp8266.afterBeginErrorMs, signal);
      return;
    }
    host.sendUdp('OK', inv.ip, inv.udpPort);
    await host.clock.delay(TIMING_MODEL.esp8266.beforeConnectMs, signal);
    upd.setMD5(inv.md5);
    this.startUpdate(inv);
    const tf = this.transferFault(inv.size);
    const conn = await this.connectBack(inv.ip, inv.port, signal);
    if (!conn) {
      host.log('Connect Failed');
      this.callbackError(2);
    }
    let total = 0;
    let received = 0;
    let cut = false;
    while (conn && !cut && !upd.isFinished() && (conn.connected() || conn.available() > 0)) {
      // `while (!client.available() && waited--) delay(1);` — the post-decrement means a real
      // timeout never takes the "Receive Failed" branch: no effective timeout (protocol.md §4.3).
      const got = await conn.waitData(host.clock.scaledTimeout(1000), signal);
      if (got !== 'data') continue;
      // Update.write(client): drain everything available (1 ms pauses while more arrives).
      let written = 0;
      for (;;) {
        // Updater.h `write(T&)`: `available = remaining() - _bufferLen` at most; the rest is never read.
        const want = Math.min(conn.available(), upd.room());
        if (want > 0) {
          const chunk = this.read(conn, want, received, tf);
          if (chunk === 'cut') {
            cut = true;
            break;
          }
          received += chunk.length;
          const r = upd.write(chunk);
          await host.clock.busy(r.costMs, signal);
          written += r.written;
          if (r.written < chunk.length) break;
        }
        if (upd.remaining() === 0) break;
        if (conn.available() > 0) continue;
        const more = await conn.waitData(host.clock.scaledTimeout(TIMING_MODEL.esp8266.drainIdleMs), signal);
        if (more !== 'data') break;
      }
      if (written > 0) {
        conn.write(String(written));
        total += written;
        this.progress(total, inv.size >>> 0);
      }
    }
    const staged = upd.end();
    if (staged) {
      host.log(`[Updater] MD5 Success: ${staged.md5}`);
      if (staged.command === 0) {
        host.log(`Staged: address:0x${hex8(staged.address)}, size:0x${hex8(staged.size)}`);
        this.board.stage(staged);
      } else {
        host.log(`Filesystem: address:0x${hex8(staged.address)}, size:0x${hex8(staged.size)}`);
      }
      host.counters.updatesCompleted++;
      host.emit({
        event: 'update-complete',
        address: host.address,
        md5: staged.md5,
        size: staged.size,
        partition: staged.command === 0 ? 'sketch' : 'filesystem',
      });
      await host.persist();
      // flush, delay(1000), "OK", flush, delay(1000), close (esp8266 PR #7204, protocol.md §4.4)
      await host.clock.delay(TIMING_MODEL.esp8266.beforeOkMs, signal);
      conn?.write('OK');
      await host.clock.delay(TIMING_MODEL.esp8266.afterOkMs, signal);
      conn?.close();
      host.log('Update Success');
      host.log('End');
      host.log('Rebooting...');
      await host.clock.delay(TIMING_MODEL.esp8266.beforeRestartMs, signal);
      host.halt('update');
      return;
    }
    this.callbackError(4);
    const text = upd.errorText();
    conn?.write(`${text}\n`);
    conn?.close();
    host.log(text);
    this.updateError(conn ? text : 'Connect Failed');
    await host.persist();
  }
}
