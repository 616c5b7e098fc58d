/**
 * Doctor's view of the ArduinoOTA probe (src/protocols/arduino-ota/host/probe.ts): the typed
 * `ProbeResult` read into the few fields doctor reports, and the `DoctorProbe` that `doctor()`
 * takes. The probe module is loaded when `--probe` asks for it (a literal dynamic import, so a
 * doctor run without `--probe` does not load the sockets and the loop estimator).
 */

import type { ProbeLoop, ProbeOptions, ProbeResult } from '../protocols/arduino-ota/host/probe-types.ts';
import type { DoctorProbe, DoctorProbeResult } from './types.ts';

/** The part of a `ProbeResult` doctor reads (a whole `ProbeResult` is one). */
export type DoctorProbeInput = Pick<ProbeResult, 'answered'> &
  Partial<Pick<ProbeResult, 'authRequired' | 'authScheme' | 'summary'>> & {
    loop?: Pick<ProbeLoop, 'kind'> & Partial<Pick<ProbeLoop, 'periodMs' | 'why'>>;
  };

/** A probe function with the signature of `probe(options)`. */
export type ProbeFunction = (options: ProbeOptions & { host: string }) => Promise<DoctorProbeInput>;

/** Read a probe result into doctor's view of it. */
export function toDoctorProbeResult(result: DoctorProbeInput): DoctorProbeResult {
  const out: DoctorProbeResult = { answered: result.answered };
  if (result.authRequired !== undefined) out.authRequired = result.authRequired;
  if (result.authScheme !== undefined) out.authScheme = result.authScheme;
  const loop = result.loop;
  if (loop !== undefined) {
    out.loopKind = loop.kind;
    if (loop.why !== undefined) out.loopWhy = loop.why;
    // A period counts only when it was measured: a "fast" loop's periodMs is an upper bound.
    if (loop.kind === 'measured' && loop.periodMs !== undefined) out.loopPeriodMs = loop.periodMs;
  }
  if (result.summary !== undefined) out.summary = result.summary;
  return out;
}

/** The DoctorProbe made from a probe function (the library's `probe`, or one a caller injects). */
export function doctorProbeFrom(probe: ProbeFunction): DoctorProbe {
  return async (host, port, options) =>
    toDoctorProbeResult(await probe({ host, port, ...(options.signal ? { signal: options.signal } : {}) }));
}

/** Load the ArduinoOTA probe and give it as a DoctorProbe. */
export async function loadDoctorProbe(): Promise<DoctorProbe> {
  const { probe }: typeof import('../protocols/arduino-ota/host/probe.ts') = await import(
    '../protocols/arduino-ota/host/probe.ts'
  );
  return doctorProbeFrom(probe);
}
