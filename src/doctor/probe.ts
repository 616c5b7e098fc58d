/**
 * Turn the probe module (src/protocols/arduino-ota/host/probe.ts, written separately) into the small function
 * doctor takes. Loaded lazily so that doctor works, without --probe, when that module is absent,
 * and reads the probe result defensively (only the fields doctor needs).
 */

import type { DoctorProbe, DoctorProbeResult } from './types.ts';

type AnyRecord = Record<string, unknown>;

function isRecord(value: unknown): value is AnyRecord {
  return typeof value === 'object' && value !== null;
}

function pick<T>(o: AnyRecord, keys: string[], guard: (v: unknown) => v is T): T | undefined {
  for (const k of keys) {
    const v = o[k];
    if (guard(v)) return v;
  }
  return undefined;
}

const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/** Read whatever `probe()` returned into doctor's view of it. */
export function toDoctorProbeResult(value: unknown): DoctorProbeResult {
  if (!isRecord(value)) return { answered: false };
  const service = pick(value, ['service'], isRecord) ?? {};
  const auth = pick(value, ['auth'], isRecord) ?? {};
  const loop = pick(value, ['loop'], isRecord) ?? {};
  const answered =
    pick(value, ['answered', 'reachable', 'ok', 'found', 'alive'], isBool) ??
    pick(service, ['answered', 'found', 'ok'], isBool) ??
    false;
  const out: DoctorProbeResult = { answered };
  const authRequired =
    pick(value, ['authRequired', 'passwordRequired', 'needsPassword', 'wantsPassword'], isBool) ??
    pick(auth, ['required'], isBool);
  if (authRequired !== undefined) out.authRequired = authRequired;
  const scheme =
    pick(value, ['authScheme', 'authGeneration', 'scheme'], isStr) ??
    pick(auth, ['scheme', 'generation'], isStr);
  if (scheme !== undefined) out.authScheme = scheme;
  const loopKind = pick(loop, ['kind'], isStr);
  const loopWhy = pick(loop, ['why'], isStr);
  if (loopKind !== undefined) out.loopKind = loopKind;
  if (loopWhy !== undefined) out.loopWhy = loopWhy;
  // A period counts only when it was measured: a "fast" loop's periodMs is an upper bound.
  const period =
    pick(value, ['loopPeriodMs', 'handlePeriodMs', 'periodMs'], isNum) ??
    (loopKind === undefined || loopKind === 'measured' ? pick(loop, ['periodMs'], isNum) : undefined);
  if (period !== undefined) out.loopPeriodMs = period;
  const summary = pick(value, ['summary', 'message', 'verdict'], isStr);
  if (summary !== undefined) out.summary = summary;
  return out;
}

/** A DoctorProbe from a loaded probe module, or undefined when it has no usable `probe()`. */
export function doctorProbeFromModule(mod: unknown): DoctorProbe | undefined {
  const isFunction = (v: unknown): v is (options: AnyRecord) => Promise<unknown> => typeof v === 'function';
  const probe = isRecord(mod) ? pick(mod, ['probe'], isFunction) : undefined;
  if (!probe) return undefined;
  return async (host, port, options) => {
    const result = await probe({ host, port, ...(options.signal ? { signal: options.signal } : {}) });
    return toDoctorProbeResult(result);
  };
}

/** Load src/protocols/arduino-ota/host/probe.ts (or the built .js); undefined when it is not there. */
export async function loadDoctorProbe(): Promise<DoctorProbe | undefined> {
  for (const specifier of [
    '../protocols/arduino-ota/host/probe.ts',
    '../protocols/arduino-ota/host/probe.js',
  ]) {
    try {
      const mod: unknown = await import(specifier);
      const probe = doctorProbeFromModule(mod);
      if (probe) return probe;
    } catch {
      // not there (yet)
    }
  }
  return undefined;
}
