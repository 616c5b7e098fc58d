/**
 * One ArduinoOTA upload attempt (espota): the TCP listener, the invitation socket, the handshake
 * (invite, auth, accept: handshake.ts) and the transfer (transfer.ts), every socket closed and the
 * device left idle in `finally`. The upload front (src/upload/upload.ts) runs it per attempt
 * through the protocol object (../index.ts).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { abortError, throwIfAborted } from '../../../core/abort.ts';
import { AirflashError, toAirflashError } from '../../../core/errors.ts';
import { imageFamily } from '../../../devices/ports.ts';
import { Inbox } from '../../../transport/inbox.ts';
import { isLoopback, localAddressFor, normaliseAddress } from '../../../transport/node.ts';
import { PortCheck } from '../../../transport/port-check.ts';
import type { Timeouts } from '../../../upload/defaults.ts';
import { lockDevice, markUpdated, sinceUpdated } from '../../../upload/host-lock.ts';
import type { UploadObservation, UploadOptions, UploadResult } from '../../../upload/types.ts';
import type { PreparedImage, ResolvedAddress } from '../../types.ts';
import { formatInvitation } from '../wire/index.ts';
import { type HandshakeEvent, HandshakeState, handshake, RESET_DATAGRAM } from './handshake.ts';
import { formatSeconds, type Recorder } from './recorder.ts';
import { transfer } from './transfer.ts';
import { UdpIntake } from './udp-intake.ts';

/**
 * The loop period, from what was seen. ESP32 answers, connects and reads the auth line each in its
 * own handle() call, so a long OK → connect gap measures the period (with the auth line → OK gap).
 * ESP8266 connects in the same handle() call that sends OK, so only a lower bound is seen there
 * (a late answer).
 */
export function loopEstimate(
  obs: UploadObservation,
  thresholdMs: number,
  lateMs: number = thresholdMs,
): { ms: number; kind: 'measured' | 'at-least' } | undefined {
  const okAt = obs.okAt;
  const connectedAt = obs.connect?.connectedAt;
  const okToConnect = okAt !== undefined && connectedAt !== undefined ? connectedAt - okAt : undefined;
  const lastTry = obs.auth?.tries.findLast((tr) => tr.outcome === 'ok');
  const authToOk = lastTry?.answeredAt !== undefined ? lastTry.answeredAt - lastTry.sentAt : undefined;
  if (okToConnect !== undefined && okToConnect >= thresholdMs) {
    const gaps = [okToConnect];
    if (authToOk !== undefined && authToOk >= okToConnect / 2) gaps.push(authToOk);
    return { ms: Math.round(gaps.reduce((a, b) => a + b, 0) / gaps.length), kind: 'measured' };
  }
  const bounds = [obs.firstAnswerSinceLastInvitationMs ?? 0, authToOk ?? 0];
  const bound = Math.max(...bounds);
  return bound >= lateMs ? { ms: Math.round(bound), kind: 'at-least' } : undefined;
}

export async function uploadOnce(
  o: UploadOptions,
  t: Timeouts,
  rec: Recorder,
  target: ResolvedAddress,
  image: PreparedImage,
): Promise<Omit<UploadResult, 'attempts'>> {
  const signal = o.signal;
  const obs = rec.obs;
  const device = { address: normaliseAddress(target.address), port: obs.target.port };
  const inbox = new Inbox<HandshakeEvent>();
  const sockets = new Set<Socket>();
  let udp: UdpSocket | undefined;
  let server: Server | undefined;
  let claimed = false;
  let connection: Socket | undefined;
  const state = new HandshakeState();
  let portCheck: PortCheck | undefined;
  const intakes: UdpIntake[] = [];
  let unlock = (): void => {};
  let succeeded = false;
  try {
    throwIfAborted(signal);
    // Local address: -I, else the one that routes to the device.
    let local = o.hostIp;
    if (local !== undefined) obs.local.addressFrom = 'option';
    else {
      local = await localAddressFor(target.address, target.family);
      if (local === undefined)
        throw new AirflashError('NETWORK_ERROR', `No route from this computer to ${target.address}.`, {
          hint: 'Check that this computer is on the device network (Wi-Fi / VPN), or pass -I LOCAL_IP.',
        });
      obs.local.addressFrom = isLoopback(target.address) ? 'loopback' : 'route';
    }
    obs.local.address = local;

    // TCP listener first: its port goes into the invitation.
    const srv = createServer({ noDelay: false });
    server = srv;
    srv.on('connection', (s) => {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
      const from = normaliseAddress(s.remoteAddress ?? '');
      const at = rec.now();
      if (from !== device.address) {
        obs.connect ??= { waitMs: 0, refused: [], extra: 0, probes: 0 };
        obs.connect.refused.push({ at, from });
        rec.log(`refused a connection from ${from} (not the device)`);
        s.destroy();
        return;
      }
      if (claimed) {
        if (obs.connect) obs.connect.extra++;
        rec.log('closed an extra connection from the device');
        s.destroy();
        return;
      }
      claimed = true;
      inbox.push({ kind: 'conn', socket: s, from, at }, true);
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        reject(
          new AirflashError(
            'NETWORK_ERROR',
            `Cannot listen on ${local}:${o.hostPort ?? 0}: ${error.message}`,
            {
              cause: error,
              hint:
                (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
                  ? 'That port is in use: pick another -P/--host_port, or leave it out.'
                  : 'Check -I/--host_ip: it must be an address of this computer.',
            },
          ),
        );
      };
      srv.once('error', onError);
      srv.listen({ host: local, port: o.hostPort ?? 0, backlog: 4 }, () => {
        srv.off('error', onError);
        resolve();
      });
    });
    srv.on('error', (error) => inbox.fail(toAirflashError(error, 'NETWORK_ERROR')));
    const tcpPort = (srv.address() as { port: number }).port;
    obs.local.tcpPort = tcpPort;

    // One UDP socket for every invitation, the auth line and every answer.
    const u = createSocket(target.family === 6 ? 'udp6' : 'udp4');
    udp = u;
    intakes.push(new UdpIntake(u, inbox, rec, device));
    await new Promise<void>((resolve, reject) => {
      u.once('error', reject);
      u.bind({ address: local, port: 0 }, () => {
        u.off('error', reject);
        resolve();
      });
    }).catch((error: Error) => {
      throw new AirflashError('NETWORK_ERROR', `Cannot open a UDP socket on ${local}: ${error.message}`, {
        cause: error,
        hint: 'Check -I/--host_ip.',
      });
    });
    u.on('error', (error) => inbox.fail(toAirflashError(error, 'NETWORK_ERROR')));
    obs.local.udpPort = u.address().port;
    portCheck = new PortCheck(device);
    if (
      await portCheck.open(
        target.family,
        local,
        () => rec.now(),
        (r) => inbox.push({ kind: 'refused', ...r }, true),
      )
    )
      intakes.push(new UdpIntake(portCheck.socket as UdpSocket, inbox, rec, device));
    rec.log(`listening on ${local}:${tcpPort}, UDP ${local}:${obs.local.udpPort}`);

    const invitation = formatInvitation({
      command: obs.image.command,
      port: tcpPort,
      size: image.size,
      md5: image.md5,
    });
    // One handshake at a time per device in this process (host-lock.ts).
    const t0 = rec.now();
    const key = `${device.address}:${device.port}`;
    unlock = await lockDevice(key, signal);
    const since = sinceUpdated(key);
    const rebootingUntil =
      since !== undefined && since < t.rebootAllowanceMs
        ? rec.now() + t.rebootAllowanceMs - since
        : undefined;
    if (rec.now() - t0 >= 1)
      rec.log(`waited ${formatSeconds(rec.now() - t0)} for another upload's handshake with this device`);
    const hs = await handshake(
      {
        rec,
        t,
        udp: u,
        inbox,
        device,
        invitation,
        password: o.password === '' ? undefined : o.password,
        md5Target: o.md5Target === true,
        signal,
        portCheck,
        ...(rebootingUntil === undefined ? {} : { rebootingUntil }),
        imageFamily: imageFamily(image.head, obs.image.command),
        force: o.context?.force === true,
      },
      state,
    );
    connection = hs.socket;
    // The handshake is over: nothing reads the inbox any more, so stop filling it.
    for (const intake of intakes) intake.stop();
    unlock();
    await transfer({ rec, t, socket: connection, image, signal });
    succeeded = true;
    markUpdated(key); // ArduinoOTA reboots after every confirmed update (firmware and filesystem)
    const loop = loopEstimate(obs, t.loopSeenMs, t.lateAnswerMs);
    if (loop) {
      obs.loopPeriodMs = loop.ms;
      obs.loopPeriodKind = loop.kind;
    }
    const blocked = loop !== undefined && loop.ms >= t.lateAnswerMs;
    if (blocked) {
      rec.hint(
        loop.kind === 'measured'
          ? `the device's loop() calls ArduinoOTA.handle() only about every ${formatSeconds(loop.ms)}; call it more often (no long delay() in loop()) for faster, more reliable uploads`
          : `the device answered only after ${formatSeconds(loop.ms)}: its loop() calls ArduinoOTA.handle() at least that rarely (the exact period cannot be seen on this device: it connects in the same handle() call that answers)`,
      );
    }
    const durationMs = rec.now();
    obs.outcome = { ok: true, message: 'updated', at: durationMs };
    rec.setPhase('done');
    return {
      ok: true,
      protocol: 'arduino-ota',
      host: obs.target.host,
      address: target.address,
      port: device.port,
      bytes: image.size,
      md5: image.md5,
      command: obs.image.command,
      durationMs,
      ...(obs.loopPeriodMs === undefined
        ? {}
        : { loopPeriodMs: obs.loopPeriodMs, loopPeriodKind: obs.loopPeriodKind ?? 'measured' }),
      ...(hs.authScheme === undefined ? {} : { authScheme: hs.authScheme }),
      ...(hs.passwordHash === undefined ? {} : { passwordHash: hs.passwordHash }),
      warnings: obs.warnings,
      observation: obs,
    };
  } catch (error) {
    if (signal?.aborted && !(error instanceof AirflashError && error.code === 'INTERRUPTED'))
      throw abortError(signal);
    throw error;
  } finally {
    portCheck?.close();
    // Leave the device idle: a device left waiting for auth would eat the next invitation.
    if (!succeeded && state.deviceWaitingAuth && udp) {
      try {
        udp.send(RESET_DATAGRAM, device.port, device.address);
        obs.sent.push({ at: rec.now(), kind: 'reset', reason: 'idle' });
        rec.log('sent a reset datagram so that the device stops waiting for auth');
        await new Promise((r) => setTimeout(r, 5));
      } catch {
        // best effort
      }
    }
    unlock();
    connection?.destroy();
    for (const s of sockets) s.destroy();
    if (udp) {
      try {
        udp.close();
      } catch {
        // already closed
      }
    }
    if (server) await new Promise<void>((r) => (server as Server).close(() => r()));
  }
}
