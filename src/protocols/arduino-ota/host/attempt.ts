/**
 * One ArduinoOTA upload attempt (espota) over a transport: the TCP listener, the invitation socket,
 * the handshake (invite, auth, accept: handshake.ts) and the transfer (transfer.ts), every socket
 * closed and the device left idle in `finally`. The upload front (src/upload/upload.ts) runs it per
 * attempt through the protocol object (../index.ts).
 */
import { abortError, throwIfAborted } from '../../../core/abort.ts';
import { AirflashError, toAirflashError } from '../../../core/errors.ts';
import { imageFamily } from '../../../devices/family.ts';
import { Inbox } from '../../../transport/inbox.ts';
import { isLoopback, normaliseAddress, type ResolvedTarget } from '../../../transport/node.ts';
import type { DatagramSocket, Stream, StreamListener, Transport } from '../../../transport/types.ts';
import type { PreparedImage } from '../../types.ts';
import { loopEstimate } from '../model/loop-period.ts';
import type { UploadOptions, UploadResult } from '../model/options.ts';
import type { Timeouts } from '../model/timeouts.ts';
import { formatInvitation } from '../wire/index.ts';
import { type HandshakeEvent, HandshakeState, handshake, RESET_DATAGRAM } from './handshake.ts';
import { deviceKey, lockDevice, markUpdated, sinceUpdated, updatedLoopMs } from './host-lock.ts';
import { readRebootMark, writeRebootMark } from './reboot-marks.ts';
import { formatSeconds, type Recorder } from './recorder.ts';
import { transfer } from './transfer.ts';
import { UdpIntake } from './udp-intake.ts';

/**
 * One upload attempt over a transport: listen for the connect-back, open the invitation sockets,
 * run the handshake, then the transfer. Every listener is removed and every socket closed on the
 * way out; a device left waiting for auth gets a reset datagram.
 */
export async function uploadOnce(
  o: UploadOptions,
  t: Timeouts,
  rec: Recorder,
  target: ResolvedTarget,
  image: PreparedImage,
  net: Transport,
): Promise<Omit<UploadResult, 'attempts'>> {
  const signal = o.signal;
  const obs = rec.obs;
  const device = { address: normaliseAddress(target.address), port: obs.target.port };
  const inbox = new Inbox<HandshakeEvent>();
  const streams = new Set<Stream>();
  const disposers: (() => void)[] = [];
  let udp: DatagramSocket | undefined;
  let connected: DatagramSocket | undefined;
  let listener: StreamListener | undefined;
  let claimed = false;
  let connection: Stream | undefined;
  const state = new HandshakeState();
  const intakes: UdpIntake[] = [];
  let unlock = (): void => {};
  let succeeded = false;
  try {
    throwIfAborted(signal);
    // Local address: -I, else the one that routes to the device.
    let local = o.hostIp;
    if (local !== undefined) obs.local.addressFrom = 'option';
    else {
      local = await net.localAddressFor(target.address, target.family);
      if (local === undefined)
        throw new AirflashError('NETWORK_ERROR', `No route from this computer to ${target.address}.`, {
          hint: 'Check that this computer is on the device network (Wi-Fi / VPN), or pass -I LOCAL_IP.',
        });
      obs.local.addressFrom = isLoopback(target.address) ? 'loopback' : 'route';
    }
    obs.local.address = local;

    // TCP listener first: its port goes into the invitation.
    const host = local;
    listener = await net
      .listen({ address: host, port: o.hostPort ?? 0, backlog: 4 })
      .catch((error: Error) => {
        throw new AirflashError(
          'NETWORK_ERROR',
          `Cannot listen on ${host}:${o.hostPort ?? 0}: ${error.message}`,
          {
            cause: error,
            hint:
              (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
                ? 'That port is in use: pick another -P/--host_port, or leave it out.'
                : 'Check -I/--host_ip: it must be an address of this computer.',
          },
        );
      });
    disposers.push(
      listener.onConnection((stream) => {
        const from = normaliseAddress(stream.remote.address);
        const at = rec.now();
        if (from !== device.address) {
          obs.connect ??= { waitMs: 0, refused: [], extra: 0, probes: 0 };
          obs.connect.refused.push({ at, from });
          rec.log(`refused a connection from ${from} (not the device)`);
          stream.destroy();
          return;
        }
        if (claimed) {
          if (obs.connect) obs.connect.extra++;
          rec.log('closed an extra connection from the device');
          stream.destroy();
          return;
        }
        claimed = true;
        streams.add(stream);
        inbox.push({ kind: 'conn', socket: stream, from, at }, true);
      }),
      listener.onError((error) => inbox.fail(toAirflashError(error, 'NETWORK_ERROR'))),
    );
    const tcpPort = listener.local.port;
    obs.local.tcpPort = tcpPort;

    // One UDP socket for every invitation, the auth line and every answer.
    const u = await net
      .openDatagram({ family: target.family, address: host, port: 0 })
      .catch((error: Error) => {
        throw new AirflashError('NETWORK_ERROR', `Cannot open a UDP socket on ${host}: ${error.message}`, {
          cause: error,
          hint: 'Check -I/--host_ip.',
        });
      });
    udp = u;
    intakes.push(new UdpIntake(u, inbox, rec, device));
    disposers.push(u.onError((error) => inbox.fail(toAirflashError(error, 'NETWORK_ERROR'))));
    obs.local.udpPort = u.local.port;
    // The first invitation goes out on a socket connected to the device's port: only a connected
    // socket hears ICMP "port unreachable". It stays open for the handshake; its answers are read
    // like the main socket's. Optional: without it the main socket sends.
    connected = await net
      .openDatagram({ family: target.family, address: host, port: 0, connect: device })
      .catch(() => undefined);
    if (connected) {
      intakes.push(new UdpIntake(connected, inbox, rec, device, true));
      disposers.push(
        connected.onRefused((errno) => inbox.push({ kind: 'refused', errno, at: rec.now() }, true)),
        connected.onError(() => {}),
      );
    }
    rec.log(`listening on ${host}:${tcpPort}, UDP ${host}:${obs.local.udpPort}`);

    const invitation = formatInvitation({
      command: obs.image.command,
      port: tcpPort,
      size: image.size,
      md5: image.md5,
    });
    // One handshake at a time per device in this process (host-lock.ts).
    const t0 = rec.now();
    const key = deviceKey(device.address, device.port);
    unlock = await lockDevice(key, signal);
    const own = sinceUpdated(key);
    const recent =
      own !== undefined
        ? { since: own, loopMs: updatedLoopMs(key) }
        : await markedSince(o.rebootMarks, key, t.rebootAllowanceMs, rec);
    const since = recent?.since;
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
        connected,
        ...(rebootingUntil === undefined ? {} : { rebootingUntil, rebootLoopMs: recent?.loopMs }),
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
    // ArduinoOTA reboots after every confirmed update (firmware and filesystem); the loop period
    // seen tells the next upload's reboot wait whether queued invitations would cost (handshake-session.ts).
    const loopMs = Math.round(loopEstimate(obs, t.loopSeenMs, t.lateAnswerMs)?.ms ?? 0);
    markUpdated(key, Date.now(), loopMs);
    if (
      o.rebootMarks !== undefined &&
      !(await writeRebootMark(o.rebootMarks, key, { at: Date.now(), md5: image.md5, loopMs }))
    )
      rec.log('could not leave the reboot mark for the next process (ignored)');
    return success(t, rec, target, image, device.port, hs);
  } catch (error) {
    if (signal?.aborted && !(error instanceof AirflashError && error.code === 'INTERRUPTED'))
      throw abortError(signal);
    throw error;
  } finally {
    connected?.close();
    // Leave the device idle: a device left waiting for auth would eat the next invitation.
    if (!succeeded && state.deviceWaitingAuth && udp) {
      try {
        await udp.send(RESET_DATAGRAM, device).catch(() => {});
        obs.sent.push({ at: rec.now(), kind: 'reset', reason: 'idle' });
        rec.log('sent a reset datagram so that the device stops waiting for auth');
        await new Promise((r) => setTimeout(r, 5));
      } catch {
        // best effort
      }
    }
    unlock();
    for (const d of disposers) d();
    connection?.destroy();
    for (const st of streams) st.destroy();
    udp?.close();
    await listener?.close();
  }
}

/** Ms since another process's confirmed update of the device (its reboot mark) and the loop
 * period it saw, or undefined. */
async function markedSince(
  dir: string | undefined,
  key: string,
  windowMs: number,
  rec: Recorder,
): Promise<{ since: number; loopMs: number | undefined } | undefined> {
  if (dir === undefined) return undefined;
  const now = Date.now();
  const mark = await readRebootMark(dir, key, now, windowMs);
  if (mark === undefined) return undefined;
  const since = Math.max(0, now - mark.at);
  rec.log(
    `another airflash process updated this device ${formatSeconds(since)} ago (image ${mark.md5}): it may be rebooting`,
  );
  return { since, loopMs: mark.loopMs };
}

function success(
  t: Timeouts,
  rec: Recorder,
  target: ResolvedTarget,
  image: PreparedImage,
  port: number,
  hs: Awaited<ReturnType<typeof handshake>>,
): Omit<UploadResult, 'attempts'> {
  const obs = rec.obs;
  const loop = loopEstimate(obs, t.loopSeenMs, t.lateAnswerMs);
  if (loop) {
    obs.loopPeriodMs = loop.ms;
    obs.loopPeriodKind = loop.kind;
  }
  if (loop !== undefined && loop.ms >= t.lateAnswerMs) {
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
    port,
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
}
