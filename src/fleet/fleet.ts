/**
 * Fleet uploads: one image to many devices, `parallel` at a time, with a probe per device
 * (offline devices are skipped, not retried), retries of transient failures with backoff, an
 * optional canary stage and a failure budget. The library never prints: everything is an event.
 */

import { AirflashError, toAirflashError } from '../core/errors.ts';
import { diagnoseUpload } from '../diagnosis/diagnose-upload.ts';
import { parseTarget, pickProtocol } from '../protocols/registry.ts';
import {
  baseResult,
  errorFields,
  FLEET_DEFAULTS,
  type FleetRun,
  refusedResult,
  runDevice,
  type Slot,
} from './device-run.ts';
import { defaultPort, type FleetImage, fleetPreflight, loadFleetImage } from './preflight.ts';
import type {
  DeviceResult,
  FleetEvent,
  FleetOptions,
  FleetStopReason,
  FleetSummary,
  FleetTarget,
  FleetTotals,
} from './types.ts';

export { FLEET_DEFAULTS, isTransientFailure } from './device-run.ts';
export type * from './types.ts';

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

/**
 * Upload one image to many devices. Resolves with the summary in every case where the rollout
 * ran (failures are per device); throws before any traffic when the image itself is refused
 * (PREFLIGHT_*, FILE_NOT_FOUND) or the options are wrong (BAD_ARGUMENT).
 */
/** A `scheme://HOST` target of a protocol whose ports exclude the family default (http: 80). */
function schemePort(target: FleetTarget): number | undefined {
  const t = parseTarget(target.host);
  if (t.scheme === undefined) return undefined;
  const ports = pickProtocol(t).ports ?? [];
  return ports.includes(defaultPort(target)) ? undefined : ports[0];
}

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
    port: target.port ?? parseTarget(target.host).port ?? schemePort(target) ?? defaultPort(target),
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

  const run: FleetRun = {
    options,
    image,
    emit,
    scale,
    scaled,
    retries,
    backoffMs,
    probeTimeoutMs,
    canaryTimeoutMs,
    signal,
  };
  let failures = 0;
  const countFailure = (): void => {
    failures++;
    if (maxFailures !== undefined && failures >= maxFailures)
      stop(
        'max-failures',
        `${failures} device(s) failed (--max-failures ${maxFailures}): the rollout stopped; the devices not started yet were left alone.`,
      );
  };

  /** Update one device and record its result; an interruption stops the rollout. */
  const processSlot = async (slot: Slot): Promise<void> => {
    try {
      const result = await runDevice(slot, run);
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
        ...errorFields(e),
        diagnosis: await diagnoseUpload(e, { followUp: false }),
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
