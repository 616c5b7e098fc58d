/**
 * Fleet uploads: one image to many devices, `parallel` at a time, with a probe per device
 * (offline devices are skipped, not retried), retries of transient failures with backoff, an
 * optional canary stage and a failure budget. The library never prints: everything is an event.
 */

import { abortError, sleep } from '../core/abort.ts';
import { AirflashError, type ErrorCode, toAirflashError } from '../core/errors.ts';
import { probeDevice, waitUntilBack } from '../protocols/arduino-ota/host/probe-device.ts';
import type { UploadObservation, UploadOptions } from '../upload/types.ts';
import { isRetryable, upload } from '../upload/upload.ts';
import { defaultPort, type FleetImage, fleetPreflight, loadFleetImage, usesSigned } from './preflight.ts';
import type {
  DeviceResult,
  FleetDiagnose,
  FleetEvent,
  FleetOptions,
  FleetStopReason,
  FleetSummary,
  FleetTarget,
  FleetTotals,
} from './types.ts';

export {
  type ProbeDeviceOptions,
  type ProbeOutcome,
  probeDevice,
  waitUntilBack,
} from '../protocols/arduino-ota/host/probe-device.ts';
export type * from './types.ts';

/** Fleet defaults in ms (each × timeScale). */
export const FLEET_DEFAULTS = {
  parallel: 4,
  retries: 1,
  backoffMs: 2_000,
  probeTimeoutMs: 5_000,
  canaryTimeoutMs: 60_000,
  /** Wait after a canary's `OK` before probing it (it is restarting). */
  rebootGraceMs: 500,
} as const;

/**
 * Failures a new attempt may fix: the link or timing, after the device had answered the probe.
 * Never: offline (skipped), passwords, the device's own error text, pre-flight, usage.
 */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'TRANSFER_STALLED',
  'INCOMPLETE',
  'NO_CONNECT_BACK',
  'NO_INVITATION_REPLY',
  'DEVICE_BUSY',
  'NETWORK_ERROR',
  'TIMEOUT',
]);

/** Whether the fleet retries a failed upload with this code. */
export function isTransientFailure(code: ErrorCode): boolean {
  return TRANSIENT.has(code) && isRetryable(code);
}

/** The default diagnosis: the error's own words and hint. */
export function basicDiagnosis(_observation: UploadObservation | undefined, error: unknown): unknown {
  const e = toAirflashError(error);
  return {
    summary: e.message,
    causes: [
      {
        cause: e.code,
        evidence: e.deviceText === undefined ? [] : [`the device said ${JSON.stringify(e.deviceText)}`],
        next: e.hint ?? 'Run a single upload to this device with -d to see every step.',
      },
    ],
  };
}

function checkInt(name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max)
    throw new AirflashError(
      'BAD_ARGUMENT',
      `${name} must be an integer from ${min} to ${max}, not ${value}.`,
    );
}

function validate(o: FleetOptions): void {
  if (o.targets.length === 0)
    throw new AirflashError('BAD_ARGUMENT', 'No devices to update.', {
      hint: 'Name devices with --target HOST[:PORT], --devices FILE, or a discovery filter (--all, --board, --name).',
    });
  const names = new Set<string>();
  for (const t of o.targets) {
    if (t.name === '') throw new AirflashError('BAD_ARGUMENT', `The device at ${t.host} has no name.`);
    const key = t.name.toLowerCase();
    if (names.has(key))
      throw new AirflashError('BAD_ARGUMENT', `Two devices are called "${t.name}".`, {
        hint: 'Each device of a fleet upload needs its own name (results are reported by name).',
      });
    names.add(key);
    checkInt(`port of ${t.name}`, t.port, 1, 65535);
  }
  checkInt('parallel', o.parallel, 1, 256);
  checkInt('retries', o.retries, 0, 100);
  checkInt('canary', o.canary, 0, 100_000);
  checkInt('maxFailures', o.maxFailures, 1, 100_000);
  for (const [k, v] of [
    ['backoffMs', o.backoffMs],
    ['probeTimeoutMs', o.probeTimeoutMs],
    ['canaryTimeoutMs', o.canaryTimeoutMs],
  ] as const) {
    if (v !== undefined && (!Number.isFinite(v) || v < 0))
      throw new AirflashError('BAD_ARGUMENT', `${k} must be a number ≥ 0, not ${v}.`);
  }
  if (o.timeScale !== undefined && (!Number.isFinite(o.timeScale) || o.timeScale <= 0 || o.timeScale > 1000))
    throw new AirflashError('BAD_ARGUMENT', `timeScale must be from 0.0001 to 1000, not ${o.timeScale}.`);
}

interface Slot {
  target: FleetTarget;
  port: number;
  index: number;
  canary: boolean;
  result?: DeviceResult;
  /** The per-device pre-flight refused the image for it. */
  refused?: AirflashError;
  warnings: Array<{ code: string; message: string }>;
}

/**
 * Upload one image to many devices. Resolves with the summary in every case where the rollout
 * ran (failures are per device); throws before any traffic when the image itself is refused
 * (PREFLIGHT_*, FILE_NOT_FOUND) or the options are wrong (BAD_ARGUMENT).
 */
export async function uploadFleet(options: FleetOptions): Promise<FleetSummary> {
  validate(options);
  const started = performance.now();
  const scale = options.timeScale ?? 1;
  const scaled = (ms: number): number => Math.max(1, Math.round(ms * scale));
  const parallel = options.parallel ?? FLEET_DEFAULTS.parallel;
  const retries = options.retries ?? FLEET_DEFAULTS.retries;
  const backoffMs = options.backoffMs ?? scaled(FLEET_DEFAULTS.backoffMs);
  const probeTimeoutMs = options.probeTimeoutMs ?? scaled(FLEET_DEFAULTS.probeTimeoutMs);
  const canaryTimeoutMs = options.canaryTimeoutMs ?? scaled(FLEET_DEFAULTS.canaryTimeoutMs);
  const canaryCount = options.canary ?? 0;
  const maxFailures = options.maxFailures;
  const given: FleetDiagnose = options.diagnose ?? basicDiagnosis;
  // The diagnosis may be async (`diagnoseUpload()` runs the follow-up first, as the CLI does).
  const diagnose = async (observation: UploadObservation | undefined, error: unknown): Promise<unknown> => {
    try {
      return await given(observation, error);
    } catch {
      return basicDiagnosis(observation, error);
    }
  };
  const signal = options.signal;
  const emit = (event: FleetEvent): void => {
    options.onEvent?.(event);
  };

  // One read and one pre-flight of the shared image, before anything is sent.
  const image: FleetImage = await loadFleetImage(options.image, signal);
  const check = fleetPreflight(image, options.filesystem === true, options.force === true);
  for (const w of check.common?.warnings ?? [])
    emit({ type: 'warning', device: null, code: w.code, message: w.message });

  const slots: Slot[] = options.targets.map((target, index) => ({
    target,
    port: target.port ?? defaultPort(target),
    index,
    canary: false,
    warnings: [],
  }));
  for (const slot of slots) {
    if (slot.target.unusable) {
      slot.refused = slot.target.unusable;
      continue;
    }
    const verdict = await check.forTarget(slot.target);
    if ('error' in verdict) slot.refused = verdict.error;
    else slot.warnings.push(...verdict.warnings);
  }
  // Canaries: the first N devices the image is not refused for (offline ones are replaced later).
  let wanted = canaryCount;
  for (const slot of slots) {
    if (wanted === 0) break;
    if (slot.refused) continue;
    slot.canary = true;
    wanted--;
  }
  for (const slot of slots) {
    emit({
      type: 'plan',
      device: slot.target.name,
      host: slot.target.host,
      port: slot.port,
      canary: slot.canary,
      action: slot.refused ? 'skip' : 'upload',
      message: slot.refused
        ? `not sent: ${slot.refused.message}`
        : `${options.dryRun ? 'would upload' : 'upload'} ${image.size} bytes${slot.canary ? ' (canary)' : ''}${slot.target.password ? ' with a password' : ''}`,
    });
  }

  const finish = (slot: Slot, result: DeviceResult): void => {
    slot.result = result;
    emit({ type: 'result', device: slot.target.name, ...result });
  };
  const baseResult = (slot: Slot): Pick<DeviceResult, 'host' | 'port' | 'canary' | 'warnings'> => ({
    host: slot.target.host,
    port: slot.port,
    canary: slot.canary,
    warnings: slot.warnings,
  });
  const refusedResult = async (slot: Slot, error: AirflashError): Promise<DeviceResult> => ({
    ok: false,
    status: 'failed',
    code: error.code,
    message: error.message,
    diagnosis: await diagnose(undefined, error),
    seconds: 0,
    bytes: 0,
    attempts: 0,
    ...baseResult(slot),
  });

  let stopped: { reason: FleetStopReason; message: string } | null = null;
  const stop = (reason: FleetStopReason, message: string): void => {
    if (stopped) return;
    stopped = { reason, message };
    emit({ type: 'stopped', device: null, reason, message });
  };

  if (options.dryRun) {
    for (const slot of slots) {
      for (const w of slot.warnings) emit({ type: 'warning', device: slot.target.name, ...w });
      if (slot.refused) finish(slot, await refusedResult(slot, slot.refused));
      else
        finish(slot, {
          ok: false,
          status: 'planned',
          code: null,
          message: `would upload ${image.size} bytes to ${slot.target.host}:${slot.port}${slot.canary ? ' as a canary' : ''}`,
          diagnosis: null,
          seconds: 0,
          bytes: 0,
          attempts: 0,
          ...baseResult(slot),
        });
    }
    return summarise(slots, image, stopped, true, started, emit);
  }

  let failures = 0;
  const countFailure = (): void => {
    failures++;
    if (maxFailures !== undefined && failures >= maxFailures)
      stop(
        'max-failures',
        `${failures} device(s) failed (--max-failures ${maxFailures}): the rollout stopped; the devices not started yet were left alone.`,
      );
  };

  const runDevice = async (slot: Slot): Promise<DeviceResult> => {
    const name = slot.target.name;
    const t0 = performance.now();
    const seconds = (): number => Math.round(performance.now() - t0) / 1000;
    for (const w of slot.warnings) emit({ type: 'warning', device: name, ...w });
    if (slot.refused) return await refusedResult(slot, slot.refused);
    const upl = options.upload ?? {};
    const net = {
      ...(upl.hostIp === undefined ? {} : { hostIp: upl.hostIp }),
      ...(upl.resolve === undefined ? {} : { resolve: upl.resolve }),
      ...(signal ? { signal } : {}),
    };
    if (options.probe !== false) {
      emit({ type: 'phase', device: name, phase: 'probe' });
      let online = false;
      try {
        const p = await probeDevice({
          host: slot.target.host,
          port: slot.port,
          timeoutMs: probeTimeoutMs,
          timeScale: scale,
          ...net,
        });
        online = p.online;
      } catch (error) {
        if (signal?.aborted) throw abortError(signal);
        const e = toAirflashError(error, 'NETWORK_ERROR');
        return {
          ok: false,
          status: 'failed',
          code: e.code,
          message: e.message,
          diagnosis: await diagnose(undefined, e),
          seconds: seconds(),
          bytes: 0,
          attempts: 0,
          ...baseResult(slot),
        };
      }
      if (!online)
        return {
          ok: false,
          status: 'skipped',
          code: 'DEVICE_OFFLINE',
          message: `offline: no answer from ${slot.target.host}:${slot.port} within ${(probeTimeoutMs / 1000).toFixed(1)} s; skipped, not retried`,
          diagnosis: null,
          seconds: seconds(),
          bytes: 0,
          attempts: 0,
          ...baseResult(slot),
        };
    }
    const data = image.signed && usesSigned(slot.target, upl.signed) ? image.signed : image.data;
    const attemptsAllowed = retries + 1;
    let lastError: AirflashError | undefined;
    let attempts = 0;
    let bytesSent = 0;
    for (let attempt = 1; attempt <= attemptsAllowed; attempt++) {
      attempts = attempt;
      bytesSent = 0;
      const uploadOptions: UploadOptions = {
        ...upl,
        host: slot.target.host,
        port: slot.port,
        data,
        signed: false,
        // Pre-flighted for this device already (fleet-preflight.ts; skipped with force).
        preflight: false,
        filesystem: options.filesystem === true,
        password: slot.target.password ?? '',
        retries: 0,
        timeScale: scale,
        context: {
          ...(slot.target.chip === undefined ? {} : { chip: slot.target.chip }),
          ...(slot.target.core === undefined ? {} : { core: slot.target.core }),
          ...(typeof slot.target.partitions === 'string' ? { partitions: slot.target.partitions } : {}),
          ...(options.force ? { force: true } : {}),
        },
        onEvent: (e) => {
          switch (e.type) {
            case 'phase':
              emit({ type: 'phase', device: name, phase: e.phase });
              break;
            case 'progress':
              bytesSent = Math.max(bytesSent, e.sent);
              emit({ type: 'progress', device: name, bytes: e.bytes, total: e.total, sent: e.sent });
              break;
            case 'warning':
              slot.warnings.push({ code: e.code, message: e.message });
              emit({ type: 'warning', device: name, code: e.code, message: e.message });
              break;
            case 'hint':
              emit({ type: 'hint', device: name, message: e.message });
              break;
            case 'retry':
              break;
          }
        },
        ...(signal ? { signal } : {}),
      };
      try {
        const r = await upload(uploadOptions);
        const okAt = performance.now();
        const result: DeviceResult = {
          ok: true,
          status: 'ok',
          code: null,
          message: `updated (${r.bytes} bytes in ${(r.durationMs / 1000).toFixed(1)} s${attempt > 1 ? `, attempt ${attempt}` : ''})`,
          diagnosis: null,
          seconds: seconds(),
          bytes: r.bytes,
          attempts: attempt,
          ...baseResult(slot),
        };
        if (slot.canary) {
          emit({ type: 'phase', device: name, phase: 'reboot-wait' });
          const back = await waitUntilBack({
            host: slot.target.host,
            port: slot.port,
            graceMs: scaled(FLEET_DEFAULTS.rebootGraceMs),
            timeoutMs: canaryTimeoutMs,
            probeTimeoutMs,
            timeScale: scale,
            ...net,
          });
          if (back === undefined)
            return {
              ...result,
              ok: false,
              status: 'failed',
              code: 'DEVICE_OFFLINE',
              message: `updated, but it did not answer again within ${(canaryTimeoutMs / 1000).toFixed(1)} s of its reboot: the new firmware may not start (boot loop, rollback) or not run ArduinoOTA.`,
              diagnosis: await diagnose(
                r.observation,
                new AirflashError('DEVICE_OFFLINE', 'The canary did not come back after its update.', {
                  hint: 'Check the device on its serial port: does the new firmware boot, join the network and call ArduinoOTA.begin()?',
                }),
              ),
              seconds: seconds(),
            };
          result.backAfterSeconds = Math.round(performance.now() - okAt) / 1000;
          result.seconds = seconds();
        }
        return result;
      } catch (error) {
        if (signal?.aborted) throw abortError(signal);
        const e = toAirflashError(error);
        lastError = e;
        if (attempt < attemptsAllowed && isTransientFailure(e.code)) {
          const delayMs = Math.round(backoffMs * 2 ** (attempt - 1));
          emit({
            type: 'retry',
            device: name,
            attempt,
            of: attemptsAllowed,
            code: e.code,
            message: e.message,
            delayMs,
          });
          emit({ type: 'phase', device: name, phase: 'retry-wait' });
          await sleep(delayMs, signal);
          continue;
        }
        break;
      }
    }
    const e = lastError as AirflashError;
    const { observation } = e.data as { observation?: UploadObservation };
    const diagnosis = await diagnose(observation, e);
    return {
      ok: false,
      status: 'failed',
      code: e.code,
      message: e.message,
      diagnosis,
      seconds: seconds(),
      bytes: observation?.transfer?.bytesSent ?? bytesSent,
      attempts,
      ...baseResult(slot),
    };
  };

  /** Update one device and record its result; an interruption stops the rollout. */
  const processSlot = async (slot: Slot): Promise<void> => {
    try {
      const result = await runDevice(slot);
      finish(slot, result);
      if (result.status === 'failed') countFailure();
    } catch (error) {
      const e = toAirflashError(error);
      if (e.code === 'INTERRUPTED') {
        finish(slot, {
          ok: false,
          status: 'aborted',
          code: e.code,
          message: 'interrupted: the device keeps the firmware it had',
          diagnosis: null,
          seconds: 0,
          bytes: 0,
          attempts: 0,
          ...baseResult(slot),
        });
        stop('interrupted', 'The rollout was interrupted.');
        return;
      }
      finish(slot, {
        ok: false,
        status: 'failed',
        code: e.code,
        message: e.message,
        diagnosis: basicDiagnosis(undefined, e),
        seconds: 0,
        bytes: 0,
        attempts: 0,
        ...baseResult(slot),
      });
      countFailure();
    }
  };
  const halted = (): boolean => stopped !== null || signal?.aborted === true;

  const queue = slots.filter((s) => !s.refused);
  for (const slot of slots) if (slot.refused) finish(slot, await refusedResult(slot, slot.refused));

  if (canaryCount > 0) {
    // Canary stage: devices in order until N were updated; an offline one is skipped and the
    // next device takes its place.
    const canaries: Slot[] = [];
    let active = 0;
    const updated = (): number => canaries.filter((s) => s.result && s.result.status !== 'skipped').length;
    const canaryWorker = async (): Promise<void> => {
      for (;;) {
        if (halted() || updated() + active >= canaryCount) return;
        const slot = queue.shift();
        if (!slot) return;
        if (!slot.canary) {
          slot.canary = true;
          emit({
            type: 'warning',
            device: slot.target.name,
            code: 'CANARY_REPLACEMENT',
            message: 'is a canary in place of a device that was offline',
          });
        }
        canaries.push(slot);
        active++;
        try {
          await processSlot(slot);
        } finally {
          active--;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, canaryCount) }, () => canaryWorker()));
    for (const s of queue) s.canary = false;
    const bad = canaries.filter((s) => s.result?.status === 'failed');
    if (bad.length > 0)
      stop(
        'canary',
        `canary ${bad.map((s) => s.target.name).join(', ')} ${bad.length === 1 ? 'was' : 'were'} not updated or did not come back: the rollout stopped before the other devices.`,
      );
  }
  const worker = async (): Promise<void> => {
    for (;;) {
      if (halted()) return;
      const slot = queue.shift();
      if (!slot) return;
      await processSlot(slot);
    }
  };
  await Promise.all(Array.from({ length: parallel }, () => worker()));

  // Everything not started: aborted.
  for (const slot of slots) {
    if (slot.result) continue;
    const reason = stopped as { reason: FleetStopReason; message: string } | null;
    finish(slot, {
      ok: false,
      status: 'aborted',
      code: reason?.reason === 'interrupted' ? 'INTERRUPTED' : 'ROLLOUT_STOPPED',
      message:
        reason === null
          ? 'not started'
          : reason.reason === 'interrupted'
            ? 'not started: the rollout was interrupted'
            : `not started: ${reason.message}`,
      diagnosis: null,
      seconds: 0,
      bytes: 0,
      attempts: 0,
      ...baseResult(slot),
    });
  }
  return summarise(slots, image, stopped, false, started, emit);
}

function summarise(
  slots: Slot[],
  image: FleetImage,
  stopped: { reason: FleetStopReason; message: string } | null,
  dryRun: boolean,
  started: number,
  emit: (e: FleetEvent) => void,
): FleetSummary {
  const devices: FleetTotals['devices'] = { ok: [], failed: [], skipped: [], aborted: [], planned: [] };
  for (const s of slots) devices[(s.result as DeviceResult).status].push(s.target.name);
  const totals: FleetTotals = {
    ok: devices.ok.length,
    failed: devices.failed.length,
    skipped: devices.skipped.length,
    aborted: devices.aborted.length,
    devices,
    stopped,
    dryRun,
    seconds: Math.round(performance.now() - started) / 1000,
    image: { size: image.size, md5: image.md5 },
  };
  emit({ type: 'summary', device: null, ...totals });
  return { ...totals, results: slots.map((s) => ({ device: s.target.name, ...(s.result as DeviceResult) })) };
}
