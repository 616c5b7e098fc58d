/**
 * ArduinoOTA (espota) as one protocol family: the protocol object the registry picks for a bare
 * `-i HOST`, `arduino-ota://HOST[:PORT]`, the `_arduino._tcp` service and ports 3232 / 8266. It
 * wraps the host side: the attempt journal (observation), the session (invite, auth, accept,
 * transfer) with the wrong-port fallback, and the fleet's short probe.
 */

import { AirflashError } from '../../core/errors.ts';
import { DEFAULT_PORT } from '../../devices/family.ts';
import { nodeTransport } from '../../transport/node.ts';
import type { OtaProtocol, Target } from '../types.ts';
import { uploadOnce } from './host/attempt.ts';
import { familyGate } from './host/family-probe.ts';
import { ArduinoOtaJournal, type InternalUploadOptions } from './host/journal.ts';
import { familyEvidence } from './host/probe-core.ts';
import { askFamily, probeDevice, waitUntilBack } from './host/probe-device.ts';
import { withPortFallback } from './host/wrong-port.ts';
import { ARDUINO_OTA_ID } from './model/observation-of.ts';
import type { UploadObservation } from './model/options.ts';
import { resolveTimeouts } from './model/timeouts.ts';

export const arduinoOta: OtaProtocol<InternalUploadOptions, UploadObservation> = {
  id: ARDUINO_OTA_ID,
  title: 'ArduinoOTA',
  writes: ['app', 'filesystem'],
  services: ['_arduino._tcp'],
  ports: [DEFAULT_PORT.esp32, DEFAULT_PORT.esp8266],
  // No answer to the invitation (or the system's port unreachable): other protocols may be asked.
  absentCodes: ['NO_INVITATION_REPLY'],

  async probe(target, options) {
    const r = await probeDevice({ ...options, host: target.host, port: target.port });
    // Nothing listened on the port asked but the device answered on another (a wrong port): online,
    // and the upload's own wrong-port fallback names the fix (WRONG_PORT).
    const other = r.online ? undefined : r.answersOn;
    // The family the device's own answer shows (the fleet refuses an image it contradicts).
    const answered = r.ports.find((c) => c.outcome === 'answered' && c.port === (other?.port ?? target.port));
    const family = answered === undefined ? undefined : familyEvidence(answered);
    return {
      online: r.online || other !== undefined,
      ...(family === undefined ? {} : { family }),
      ...(other === undefined ? {} : { answeredPort: other.port }),
      ...(r.answer === undefined ? {} : { authRequired: r.answer === 'auth' }),
      ...(r.latencyMs === undefined ? {} : { latencyMs: r.latencyMs }),
    };
  },

  waitUntilBack(target, options) {
    return waitUntilBack({
      ...options,
      host: target.host,
      port: target.port,
    });
  },

  begin(options: InternalUploadOptions, target: Target) {
    return new ArduinoOtaJournal(options, target, resolveTimeouts(options));
  },

  async upload(session) {
    const journal = session.journal;
    if (!(journal instanceof ArduinoOtaJournal))
      throw new AirflashError('INTERNAL', 'An ArduinoOTA attempt needs the journal ArduinoOTA began.');
    const { rec, timeouts } = journal;
    const { options, address, image, signal } = session;
    if (address.resolvedBy === 'none')
      throw new AirflashError('INTERNAL', 'An ArduinoOTA attempt needs a network address.');
    const gate = familyGate(rec, session.familyCheck, (port) =>
      askFamily({
        host: address.address,
        port,
        // As long as one invitation waits for its answer.
        timeoutMs: timeouts.attemptTimeoutMs,
        timeScale: timeouts.timeScale,
        ...(options.hostIp === undefined ? {} : { hostIp: options.hostIp }),
        ...(signal ? { signal } : {}),
      }),
    );
    return await withPortFallback(
      rec,
      image,
      options,
      () => uploadOnce(options, timeouts, rec, address, image, nodeTransport),
      gate,
    );
  },
};
