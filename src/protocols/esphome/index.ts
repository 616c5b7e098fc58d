/**
 * ESPHome's native OTA ("espota2", protocols-next.md §1) as an `OtaProtocol`: `esphome://HOST[:PORT]`
 * forces it; devices announce `_esphomelib._tcp`; ESPHome's default OTA ports are 3232 (ESP32)
 * and 8266 (ESP8266) (esphome `components/esphome/ota/__init__.py`). A bare `-i HOST` stays
 * ArduinoOTA (the registry's family default) unless ArduinoOTA finds nobody there and this
 * family's safe probe answers (`detectOrder`).
 */
import { sleep } from '../../core/abort.ts';
import { AirflashError } from '../../core/errors.ts';
import { DEFAULT_PORT } from '../../devices/family.ts';
import { nodeTransport, resolveTarget } from '../../transport/node.ts';
import { basicJournal } from '../journal.ts';
import type { OtaProtocol } from '../types.ts';
import type { EsphomeObservation, EsphomeOptions } from './model/options.ts';

export const ESPHOME_ID = 'esphome';

async function probe(
  target: { host: string; port: number },
  options: {
    timeoutMs: number;
    resolve?: (h: string, o: { signal?: AbortSignal }) => Promise<string[]>;
    signal?: AbortSignal;
  },
) {
  const a = await resolveTarget(target.host, options.resolve, options.signal);
  // Loaded when a probe runs: a single upload does not load probe code (test/cli-lazy.test.ts).
  const { probeEsphome } = await import('./host/probe.ts');
  return probeEsphome(
    nodeTransport,
    { address: a.address, port: target.port },
    options.timeoutMs,
    options.signal,
  );
}

export const esphome: OtaProtocol<EsphomeOptions, EsphomeObservation> = {
  id: ESPHOME_ID,
  title: 'ESPHome native OTA',
  writes: ['app'],
  services: ['_esphomelib._tcp'],
  ports: [DEFAULT_PORT.esp32, DEFAULT_PORT.esp8266],
  // A bare -i HOST that ArduinoOTA finds nothing at is probed for ESPHome (registry.ts).
  detectOrder: 10,
  // espota2.py: a network failure (OTANetworkError) may be retried; a device-reported error byte
  // is final, and so is a failure once the whole image was sent (INCOMPLETE: it may have committed).
  isRetryable: (code) => code === 'NETWORK_ERROR' || code === 'TIMEOUT',
  async probe(target, options) {
    const r = await probe(target, options);
    return {
      online: r.online && r.esphome,
      ...(r.latencyMs === undefined ? {} : { latencyMs: r.latencyMs }),
      ...(r.authRequired === undefined ? {} : { authRequired: r.authRequired }),
    };
  },
  async waitUntilBack(target, options) {
    const start = Date.now();
    await sleep(options.graceMs, options.signal);
    while (Date.now() - start < options.timeoutMs) {
      const r = await probe(target, { ...options, timeoutMs: options.probeTimeoutMs });
      if (r.online && r.esphome) return Date.now() - start;
      await sleep(Math.min(500, options.probeTimeoutMs), options.signal);
    }
    return undefined;
  },
  begin(options, target) {
    const fresh = (): EsphomeObservation => ({
      protocol: 'esphome',
      host: target.host,
      port: target.port ?? DEFAULT_PORT.esp32,
      stage: 'connect',
      bytesSent: 0,
      bytesAcked: 0,
    });
    return basicJournal<EsphomeObservation>(ESPHOME_ID, fresh(), options.onEvent, fresh);
  },
  async upload({ options, address, image, journal, target, signal }) {
    const obs = journal.observation;
    obs.address = address.address;
    if (options.filesystem)
      throw new AirflashError(
        'BAD_ARGUMENT',
        'ESPHome native OTA updates the application only, not a filesystem (-s).',
        {
          hint: 'Leave out -s / filesystem for an ESPHome device.',
        },
      );
    if (image.compressed)
      throw new AirflashError(
        'BAD_ARGUMENT',
        'Compressed uploads to ESPHome devices are not supported yet.',
        {
          hint: 'Leave out --compress for esphome:// targets.',
        },
      );
    const started = Date.now();
    // Loaded when an ESPHome upload runs: an ArduinoOTA upload does not load this family's host.
    const { runAttempt } = await import('./host/attempt.ts');
    await runAttempt({
      transport: nodeTransport,
      address: address.address,
      port: obs.port,
      image,
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(options.esphomeKey === undefined ? {} : { key: options.esphomeKey }),
      timeScale: options.timeScale ?? 1,
      journal,
      ...(signal ? { signal } : {}),
    });
    journal.setPhase('done');
    return {
      ok: true,
      protocol: ESPHOME_ID,
      host: target.host,
      address: address.address,
      port: obs.port,
      bytes: image.size,
      md5: image.md5,
      durationMs: Date.now() - started,
      warnings: [],
      observation: obs,
    };
  },
};

export type { EsphomeProbe } from './host/probe.ts';
export {
  ESPHOME_TIMEOUTS,
  ESPHOME_WINDOW_BLOCKS,
  type EsphomeObservation,
  type EsphomeOptions,
} from './model/options.ts';
