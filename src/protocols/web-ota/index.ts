/**
 * Web OTA over HTTP (protocols-next.md §2) as an `OtaProtocol`: `http://HOST[:PORT]` forces it
 * (port 80 by default); WLED devices announce `_wled._tcp`. One family, a profile per firmware
 * (wire/profiles/): Arduino's HTTPUpdateServer (ESP8266, ESP32), ElegantOTA v2/Async and v3,
 * ESPHome's web_server OTA, Tasmota and WLED, identified by read-only probes unless named
 * (`httpProfile`). A bare `-i HOST` stays ArduinoOTA (the registry's family default); only when
 * nobody answers ArduinoOTA or ESPHome there is web OTA's read-only identification asked
 * (`detectOrder`), on `-p PORT` or port 80.
 */
import { sleep } from '../../core/abort.ts';
import { resolveTarget } from '../../transport/node.ts';
import { basicJournal } from '../journal.ts';
import type { OtaProtocol, ProtocolProbe } from '../types.ts';
import { type HttpObservation, type HttpOptions, resolveHttpTimeouts } from './model/options.ts';
import type { WebIdentity } from './wire/identify.ts';

export const HTTP_ID = 'http';
export const HTTP_DEFAULT_PORT = 80;

/** The failures a new attempt can fix: the link's, not the device's answer. */
const RETRYABLE: ReadonlySet<string> = new Set([
  'NETWORK_ERROR',
  'TIMEOUT',
  'INCOMPLETE',
  'TRANSFER_STALLED',
]);

export interface HttpProbe extends ProtocolProbe {
  /** What identification found (firmware, version, chip, what an upload needs). */
  identity?: WebIdentity;
}

async function identifyAt(
  target: { host: string; port: number },
  options: {
    timeoutMs: number;
    resolve?: (h: string, o: { signal?: AbortSignal }) => Promise<string[]>;
    signal?: AbortSignal;
  },
) {
  const a = await resolveTarget(target.host, options.resolve, options.signal);
  // Loaded when a probe runs: an upload of another family does not load this family's host.
  const { identifyDevice } = await import('./host/identify.ts');
  const { hostHeader } = await import('./host/attempt.ts');
  return identifyDevice({
    address: a.address,
    port: target.port,
    host: hostHeader(target.host, target.port),
    timeoutMs: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

export const httpOta: OtaProtocol<HttpOptions, HttpObservation> = {
  id: HTTP_ID,
  title: 'web OTA (HTTP)',
  writes: ['app', 'filesystem'],
  services: ['_wled._tcp'],
  ports: [HTTP_DEFAULT_PORT],
  // After ESPHome's (10): its probe is a few GETs of pages every updater serves read-only.
  detectOrder: 20,
  // A cut or silent connection may go through on the next attempt; a device's answer (an error
  // body, a refusal, wrong credentials, WLED's lock or PIN) is the same the next time, and a PIN
  // tried again only adds to the board's lock-out (wled00/wled_server.cpp).
  isRetryable: (code) => RETRYABLE.has(code),
  async probe(target, options): Promise<HttpProbe> {
    const id = await identifyAt(target, options);
    return {
      online: id.profile !== undefined,
      ...(id.latencyMs === undefined ? {} : { latencyMs: id.latencyMs }),
      ...(id.profile === undefined ? {} : { authRequired: id.needs.includes('auth') }),
      ...(id.chip === undefined
        ? {}
        : { family: { family: id.chip, how: `its web updater (${id.profile}) reports ${id.chip}` } }),
      identity: id,
    };
  },
  async waitUntilBack(target, options) {
    const start = Date.now();
    await sleep(options.graceMs, options.signal);
    while (Date.now() - start < options.timeoutMs) {
      const id = await identifyAt(target, { ...options, timeoutMs: options.probeTimeoutMs });
      if (id.profile !== undefined) return Date.now() - start;
      await sleep(Math.min(500, options.probeTimeoutMs), options.signal);
    }
    return undefined;
  },
  begin(options, target) {
    const fresh = (): HttpObservation => ({
      protocol: 'http',
      host: target.host,
      port: target.port ?? HTTP_DEFAULT_PORT,
      stage: 'identify',
      bytesSent: 0,
      bytesAccepted: 0,
    });
    return basicJournal<HttpObservation>(HTTP_ID, fresh(), options.onEvent, fresh);
  },
  async upload({ options, address, image, journal, target, familyCheck, signal }) {
    const obs = journal.observation;
    obs.address = address.address;
    const started = Date.now();
    // Loaded when a web-OTA upload runs.
    const { runAttempt } = await import('./host/attempt.ts');
    const warnings = await runAttempt({
      options,
      host: target.host,
      ...(target.path === undefined ? {} : { path: target.path }),
      address: address.address,
      port: obs.port,
      image,
      timeouts: resolveHttpTimeouts(options),
      journal,
      ...(familyCheck ? { familyCheck } : {}),
      ...(signal ? { signal } : {}),
    });
    journal.setPhase('done');
    return {
      ok: true,
      protocol: HTTP_ID,
      host: target.host,
      address: address.address,
      port: obs.port,
      bytes: image.size,
      md5: image.md5,
      durationMs: Date.now() - started,
      warnings,
      observation: obs,
    };
  },
};

export {
  HTTP_TIMEOUTS,
  type HttpObservation,
  type HttpOptions,
  type HttpTimeouts,
  type VersionCheck,
} from './model/options.ts';
export type { Need, WebIdentity } from './wire/identify.ts';
// The names only (types.ts): the profiles load with this family's upload or probe, not with every upload.
export { isProfileId, PROFILE_IDS, type ProfileId } from './wire/profiles/types.ts';
