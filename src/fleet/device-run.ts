/**
 * One device of a fleet upload: its probe (through the protocol the registry picks for it), its
 * attempts with backoff, the canary's wait for its reboot, and the result with the diagnosis
 * (`diagnoseUpload`, the same as `airflash upload`).
 */

import { abortError, sleep } from '../core/abort.ts';
import { AirflashError, toAirflashError } from '../core/errors.ts';
import { type DiagnoseUploadOptions, diagnoseUpload } from '../diagnosis/diagnose-upload.ts';
import type { UploadOptions } from '../protocols/arduino-ota/model/options.ts';
import { parseTarget, pickProtocol } from '../protocols/registry.ts';
import type { FamilyEvidence } from '../protocols/types.ts';
import { isUploadError } from '../protocols/upload-error.ts';
import { askedFamily, chipFamilyRefusal } from '../upload/chip-family.ts';
import { isRetryable, upload } from '../upload/upload.ts';
import { type FleetImage, usesSigned } from './preflight.ts';
import type { DeviceResult, FleetEvent, FleetOptions, FleetTarget } from './types.ts';

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
const TRANSIENT: ReadonlySet<string> = new Set([
  'TRANSFER_STALLED',
  'INCOMPLETE',
  'NO_CONNECT_BACK',
  'NO_INVITATION_REPLY',
  'DEVICE_BUSY',
  'NETWORK_ERROR',
  'TIMEOUT',
]);

/** Whether the fleet retries a failed upload with this code. */
export function isTransientFailure(code: AirflashError['code']): boolean {
  return TRANSIENT.has(code) && isRetryable(code);
}

export interface Slot {
  target: FleetTarget;
  port: number;
  index: number;
  canary: boolean;
  result?: DeviceResult;
  /** The per-device pre-flight refused the image for it. */
  refused?: AirflashError;
  warnings: Array<{ code: string; message: string }>;
}

/** What every device of one rollout shares. */
export interface FleetRun {
  options: FleetOptions;
  image: FleetImage;
  emit: (event: FleetEvent) => void;
  scale: number;
  scaled: (ms: number) => number;
  retries: number;
  backoffMs: number;
  probeTimeoutMs: number;
  canaryTimeoutMs: number;
  signal: AbortSignal | undefined;
}

/** The code, message, hint and device text of a failure, as a result reports them. */
export function errorFields(
  e: AirflashError,
): Pick<DeviceResult, 'code' | 'message' | 'hint' | 'deviceText'> {
  return {
    code: e.code,
    message: e.message,
    ...(e.hint === undefined ? {} : { hint: e.hint }),
    ...(e.deviceText === undefined ? {} : { deviceText: e.deviceText }),
  };
}

export function baseResult(slot: Slot): Pick<DeviceResult, 'host' | 'port' | 'canary' | 'warnings'> {
  return { host: slot.target.host, port: slot.port, canary: slot.canary, warnings: slot.warnings };
}

/** Bytes handed to the network in the last attempt, from an ArduinoOTA observation. */
function transferBytes(observation: unknown): number | undefined {
  if (typeof observation !== 'object' || observation === null || !('transfer' in observation))
    return undefined;
  const t = observation.transfer;
  return typeof t === 'object' && t !== null && 'bytesSent' in t && typeof t.bytesSent === 'number'
    ? t.bytesSent
    : undefined;
}

/** A device the image was refused for (nothing sent). */
export async function refusedResult(slot: Slot, error: AirflashError): Promise<DeviceResult> {
  return {
    ok: false,
    status: 'failed',
    ...errorFields(error),
    diagnosis: await diagnoseUpload(error, { followUp: false }),
    seconds: 0,
    bytes: 0,
    attempts: 0,
    ...baseResult(slot),
  };
}

/** The follow-up of a failed device: the fleet's mDNS browse (if any) and its signal. */
function followUpOptions(options: FleetOptions, signal: AbortSignal | undefined): DiagnoseUploadOptions {
  return {
    ...(options.browse === undefined ? {} : { browse: options.browse }),
    ...(signal === undefined ? {} : { signal }),
  };
}

/** The upload's pre-flight hook when the fleet checked the image for the device already. */
const fleetChecked = (): undefined => undefined;

export async function runDevice(slot: Slot, run: FleetRun): Promise<DeviceResult> {
  const { options, image, emit, scale, scaled, retries, backoffMs, probeTimeoutMs, canaryTimeoutMs, signal } =
    run;
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
  const target = parseTarget(slot.target.host, slot.port);
  const protocol = pickProtocol(target);
  const probed = options.probe !== false && protocol.probe !== undefined;
  if (probed && protocol.probe) {
    emit({ type: 'phase', device: name, phase: 'probe' });
    let online = false;
    let family: FamilyEvidence | undefined;
    try {
      const p = await protocol.probe(
        { ...target, port: slot.port },
        {
          timeoutMs: probeTimeoutMs,
          timeScale: scale,
          ...net,
        },
      );
      online = p.online;
      family = p.family;
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      const e = toAirflashError(error, 'NETWORK_ERROR');
      return {
        ok: false,
        status: 'failed',
        code: e.code,
        message: e.message,
        diagnosis: await diagnoseUpload(e, followUpOptions(options, signal)),
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
    // The probe's answer showed the family: an image for the other one is refused before any
    // byte (issue 11; `force` sends anyway). The others go on.
    const refusal =
      family === undefined || options.force === true
        ? undefined
        : chipFamilyRefusal(
            {
              head: image.data,
              command: options.filesystem === true ? 100 : 0,
              compressed: upl.compress === true,
            },
            askedFamily(family),
          );
    if (refusal) {
      emit({ type: 'phase', device: name, phase: 'preflight' });
      return { ...(await refusedResult(slot, refusal)), seconds: seconds() };
    }
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
      // Pre-flighted for this device already (fleet-preflight.ts; skipped with force). Without the
      // fleet's probe nothing asked the device its chip family: a hook that reports that verdict
      // (its warnings were emitted already) keeps the upload's own family question, as a single
      // upload asks it (upload/chip-family.ts `familyCheck`).
      preflight: probed || options.force === true ? false : fleetChecked,
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
      if (slot.canary && protocol.waitUntilBack) {
        emit({ type: 'phase', device: name, phase: 'reboot-wait' });
        const back = await protocol.waitUntilBack(
          { ...target, port: slot.port },
          {
            graceMs: scaled(FLEET_DEFAULTS.rebootGraceMs),
            timeoutMs: canaryTimeoutMs,
            probeTimeoutMs,
            timeScale: scale,
            ...net,
          },
        );
        if (back === undefined)
          return {
            ...result,
            ok: false,
            status: 'failed',
            code: 'DEVICE_OFFLINE',
            message: `updated, but it did not answer again within ${(canaryTimeoutMs / 1000).toFixed(1)} s of its reboot: the new firmware may not start (boot loop, rollback) or not run ArduinoOTA.`,
            diagnosis: await diagnoseUpload(
              new AirflashError('DEVICE_OFFLINE', 'The canary did not come back after its update.', {
                hint: 'Check the device on its serial port: does the new firmware boot, join the network and call ArduinoOTA.begin()?',
              }),
              { observation: r.observation, followUp: false },
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
  const observation = isUploadError(e) ? e.observation : undefined;
  // diagnoseUpload reads the ArduinoOTA observation off the UploadError itself.
  const diagnosis = await diagnoseUpload(e, followUpOptions(options, signal));
  return {
    ok: false,
    status: 'failed',
    ...errorFields(e),
    diagnosis,
    seconds: seconds(),
    bytes: transferBytes(observation) ?? bytesSent,
    attempts,
    ...baseResult(slot),
  };
}
