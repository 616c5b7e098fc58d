import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import { abortError, sleep, throwIfAborted } from '../core/abort.ts';
import { AirflashError, type ErrorCode, toAirflashError } from '../core/errors.ts';
import { DEFAULT_PORT, imageFamily, sendsSignedImage } from '../devices/family.ts';
import {
  type HandshakeEvent,
  HandshakeState,
  handshake,
  RESET_DATAGRAM,
} from '../protocols/arduino-ota/host/handshake.ts';
import { passwordLooksLikeOptions } from '../protocols/arduino-ota/host/handshake-errors.ts';
import { formatSeconds, Recorder } from '../protocols/arduino-ota/host/recorder.ts';
import { attemptSummary, noteSameOffset } from '../protocols/arduino-ota/host/same-offset.ts';
import { transfer } from '../protocols/arduino-ota/host/transfer.ts';
import { UdpIntake } from '../protocols/arduino-ota/host/udp-intake.ts';
import { withPortFallback } from '../protocols/arduino-ota/host/wrong-port.ts';
import { COMMAND, formatInvitation } from '../protocols/arduino-ota/wire/index.ts';
import { Inbox } from '../transport/inbox.ts';
import {
  isLoopback,
  localAddressFor,
  normaliseAddress,
  type ResolvedTarget,
  resolveTarget,
} from '../transport/node.ts';
import { PortCheck } from '../transport/port-check.ts';
import { resolveTimeouts, type Timeouts } from './defaults.ts';
import { lockDevice, markUpdated, sinceUpdated } from './host-lock.ts';
import { type PreparedImage, prepareImage } from './image.ts';
import { createPreflight } from './preflight.ts';
import type { UploadObservation, UploadOptions, UploadResult } from './types.ts';

/** Codes that a new attempt cannot fix. */
const NOT_RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'BAD_ARGUMENT',
  'FILE_NOT_FOUND',
  'AUTH_REQUIRED',
  'AUTH_FAILED',
  'AUTH_UNSUPPORTED',
  'DEVICE_REFUSED',
  'HOST_NOT_FOUND',
  'INTERRUPTED',
]);

export function isRetryable(code: ErrorCode): boolean {
  return !NOT_RETRYABLE.has(code) && !code.startsWith('PREFLIGHT_');
}

function checkNumber(
  name: string,
  value: number | undefined,
  min: number,
  max: number,
  integer = true,
): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value)))
    throw new AirflashError(
      'BAD_ARGUMENT',
      `${name} must be ${integer ? 'an integer ' : ''}from ${min} to ${max}, not ${value}.`,
    );
}

function validate(o: UploadOptions): void {
  if (o.file === undefined && o.data === undefined)
    throw new AirflashError('BAD_ARGUMENT', 'No image given.', { hint: 'Pass the firmware with -f FILE.' });
  checkNumber('port', o.port, 1, 65535);
  checkNumber('advertisedPort', o.advertisedPort, 1, 65535);
  checkNumber('hostPort', o.hostPort, 0, 65535);
  checkNumber('inviteAttempts', o.inviteAttempts, 1, 1000);
  checkNumber('retries', o.retries, 0, 100);
  for (const k of [
    'attemptTimeoutMs',
    'authTimeoutMs',
    'connectTimeoutMs',
    'connectMaxMs',
    'stallTimeoutMs',
    'resultTimeoutMs',
  ] as const)
    checkNumber(k, o[k], 1, 24 * 3600 * 1000, false);
  checkNumber('timeScale', o.timeScale, 0.0001, 1000, false);
  if (o.hostIp !== undefined && isIP(o.hostIp) === 0)
    throw new AirflashError('BAD_ARGUMENT', `-I/--host_ip must be a local IP address, not "${o.hostIp}".`);
}

function newObservation(
  o: UploadOptions,
  t: Timeouts,
  passwordSource: 'option' | 'env' | undefined,
): UploadObservation {
  const pw = o.password ?? '';
  return {
    version: 1,
    startedAt: Date.now(),
    target: { host: o.host, port: o.port ?? DEFAULT_PORT.esp32 },
    local: {},
    image: {
      ...(o.file === undefined ? {} : { path: o.file }),
      command: o.filesystem ? COMMAND.filesystem : COMMAND.flash,
      compressed: o.compress === true,
      signedSubstituted: false,
    },
    options: {
      passwordGiven: pw !== '',
      ...(passwordSource && pw !== '' ? { passwordSource } : {}),
      ...(pw !== ''
        ? {
            passwordLength: pw.length,
            passwordHasSpace: /\s/.test(pw),
            ...(passwordLooksLikeOptions(pw) ? { passwordLooksLikeOptions: true } : {}),
          }
        : {}),
      md5Target: o.md5Target === true,
      attemptTimeoutMs: t.attemptTimeoutMs,
      inviteAttempts: t.inviteAttempts,
      authTimeoutMs: t.authTimeoutMs,
      connectTimeoutMs: t.connectTimeoutMs,
      connectMaxMs: t.connectMaxMs,
      stallTimeoutMs: t.stallTimeoutMs,
      resultTimeoutMs: t.resultTimeoutMs,
      ...(o.hostPort ? { hostPortFixed: o.hostPort } : {}),
      ...(o.hostIp === undefined ? {} : { hostIpGiven: o.hostIp }),
      timeScale: t.timeScale,
    },
    context: { ...(o.context ?? {}) },
    sent: [],
    received: [],
    invitationsSent: 0,
    loopGapsMs: [],
    warnings: [],
    hints: [],
    timeline: [],
  };
}

/** Upload options plus where the password came from (the CLI reads AIRFLASH_PASSWORD). */
export interface InternalUploadOptions extends UploadOptions {
  passwordSource?: 'option' | 'env';
}

/**
 * Upload a firmware (command 0) or filesystem (command 100) image to an ArduinoOTA device.
 * Resolves on the device's `OK` only. Every failure is an AirflashError whose
 * `data.observation` is the UploadObservation of the (last) attempt.
 */
export async function upload(options: UploadOptions): Promise<UploadResult> {
  const o = options as InternalUploadOptions;
  validate(o);
  const t = resolveTimeouts(o);
  const signal = o.signal;
  const passwordSource = o.passwordSource ?? (o.password ? 'option' : undefined);
  const retries = o.retries ?? 0;
  const previous: NonNullable<UploadObservation['previousAttempts']> = [];

  let rec = new Recorder(newObservation(o, t, passwordSource), o.onEvent, o.debug === true);
  let target: ResolvedTarget;
  let image: PreparedImage;
  try {
    throwIfAborted(signal);
    rec.setPhase('resolve');
    target = await resolveTarget(o.host, o.resolve, signal);
    rec.obs.target.address = target.address;
    rec.obs.target.family = target.family;
    rec.obs.target.resolvedBy = target.resolvedBy;
    rec.log(`target ${o.host} → ${target.address}:${rec.obs.target.port}`);
    rec.setPhase('prepare');
    const port = o.port ?? DEFAULT_PORT.esp32;
    const useSigned = sendsSignedImage(o.signed, { port, chip: o.context?.chip, core: o.context?.core });
    image = await prepareImage({ file: o.file, data: o.data, compress: o.compress, useSigned, signal });
    applyImage(rec.obs, image);
    if (image.signedSubstituted)
      rec.warn(
        'SIGNED_IMAGE',
        `Sending the signed image ${image.sentPath} instead of ${image.path} (as espota does).`,
      );
    if (image.size === 0)
      throw new AirflashError(
        'PREFLIGHT_EMPTY',
        'The image is empty (0 bytes); there is nothing to upload.',
        {
          hint: 'Build the project again; the device cannot begin an update of size 0.',
        },
      );
    const check = o.preflight === undefined ? createPreflight() : o.preflight;
    if (check) {
      rec.setPhase('preflight');
      const outcome = await check({
        ...(image.path === undefined ? {} : { path: image.path }),
        size: image.size,
        md5: image.md5,
        command: rec.obs.image.command,
        head: image.head,
        read: () => image.readOriginal(),
        open: () => image.openOriginal(),
      });
      rec.obs.preflight = {
        ran: true,
        warnings: outcome?.warnings ?? [],
        ...(outcome?.info ? { info: outcome.info } : {}),
      };
      for (const w of outcome?.warnings ?? []) rec.warn(w.code, w.message);
      const maxSize = outcome?.info?.['maxSize'];
      if (typeof maxSize === 'number' && rec.obs.context.slotSize === undefined)
        rec.obs.context.slotSize = maxSize;
    }
  } catch (error) {
    throw finalise(rec, error);
  }

  for (let attempt = 1; ; attempt++) {
    try {
      const r = rec;
      const result = await withPortFallback(r, image, o, () => uploadOnce(o, t, r, target, image));
      return { ...result, attempts: attempt };
    } catch (error) {
      const e = finalise(rec, error);
      noteSameOffset(rec, previous, e);
      if (attempt > retries || !isRetryable(e.code) || signal?.aborted) throw e;
      previous.push(attemptSummary(e, rec.obs));
      rec.emit({ type: 'retry', attempt, of: retries + 1, code: e.code, message: e.message });
      await sleep(t.retryPauseMs * attempt, signal).catch((err: unknown) => {
        throw finalise(rec, err);
      });
      const fresh = new Recorder(newObservation(o, t, passwordSource), o.onEvent, o.debug === true);
      fresh.obs.target = { ...rec.obs.target };
      fresh.obs.image = { ...rec.obs.image };
      if (rec.obs.preflight) fresh.obs.preflight = rec.obs.preflight;
      fresh.obs.previousAttempts = [...previous];
      rec = fresh;
    }
  }
}

function applyImage(obs: UploadObservation, image: PreparedImage): void {
  obs.image.size = image.size;
  obs.image.md5 = image.md5;
  obs.image.compressed = image.compressed;
  obs.image.signedSubstituted = image.signedSubstituted;
  if (image.sentPath !== undefined && image.sentPath !== image.path) obs.image.sentPath = image.sentPath;
  if (image.head.length > 0) obs.image.firstByte = image.head[0] as number;
}

/** Attach the observation and the outcome to the error; INTERRUPTED gets its full message. */
function finalise(rec: Recorder, error: unknown): AirflashError {
  let e = toAirflashError(error);
  if (e.code === 'INTERRUPTED') {
    const sending = rec.phase === 'transfer' || rec.phase === 'result';
    e = new AirflashError(
      'INTERRUPTED',
      `Interrupted during ${rec.phase}${sending ? ' (the transfer was cut)' : ''}: the device keeps its old firmware.`,
      {
        phase: rec.phase,
        hint: 'Nothing was confirmed by the device, so it keeps the firmware it had. Run the upload again when ready.',
        cause: error,
      },
    );
  }
  if (rec.obs.outcome === undefined) {
    rec.obs.outcome = { ok: false, code: e.code, phase: rec.phase, message: e.message, at: rec.now() };
    rec.log(`failed: ${e.code} ${e.message}`);
  }
  Object.assign(e.data, { observation: rec.obs });
  return e;
}

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

async function uploadOnce(
  o: UploadOptions,
  t: Timeouts,
  rec: Recorder,
  target: ResolvedTarget,
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
      host: o.host,
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
