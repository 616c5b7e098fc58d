import { imageFamily } from '../../../devices/family.ts';
import { alternatePorts, portFamilyMismatch, uploadFlagsFix } from '../../../devices/ports.ts';
import type { PreparedImage } from '../../types.ts';
import type { UploadOptions } from '../model/options.ts';
import { PortRefusedError } from './handshake-errors.ts';
import type { Recorder } from './recorder.ts';

const FAMILY_NAME = { esp32: 'ESP32', esp8266: 'ESP8266' } as const;

/**
 * Run one upload attempt on the port given and, when the OS reports that nothing listens there
 * (ICMP port unreachable to the first invitation), on the port the device advertises and the
 * image family's default (ports.ts). A device that answers there is updated; the warning
 * WRONG_PORT names the right port and the upload_flags fix. Warns at once (PORT_FAMILY_MISMATCH)
 * when the port given is the other family's default. `before(port)` runs ahead of each port's
 * first invitation (the chip-family question: family-probe.ts); what it throws ends the upload.
 */
export async function withPortFallback<T>(
  rec: Recorder,
  image: PreparedImage,
  o: UploadOptions,
  once: () => Promise<T>,
  before?: (port: number) => Promise<void>,
): Promise<T> {
  const given = rec.obs.target.port;
  const family = imageFamily(image.head, rec.obs.image.command);
  const mismatch = portFamilyMismatch(given, family);
  if (mismatch && !rec.obs.warnings.some((w) => w.code === 'PORT_FAMILY_MISMATCH'))
    rec.warn('PORT_FAMILY_MISMATCH', mismatch);
  const candidates = alternatePorts(given, family, o.advertisedPort);
  const refused: number[] = [];
  for (;;) {
    try {
      await before?.(rec.obs.target.port);
      const result = await once();
      const used = rec.obs.target.port;
      if (used !== given) {
        const why = `nothing listens on UDP port ${given} (the system answered "port unreachable"); the device answered on ${used}`;
        rec.obs.portCorrection = { given, used, why };
        rec.warn(
          'WRONG_PORT',
          `Wrong port: ${why}. Use -p ${used}; in platformio.ini, one flag per line:\n${uploadFlagsFix(used, rec.obs.options.passwordGiven)}`,
        );
      }
      return result;
    } catch (error) {
      if (!(error instanceof PortRefusedError)) throw error;
      refused.push(rec.obs.target.port);
      const next = candidates.shift();
      if (next === undefined) {
        if (refused.length < 2) throw error;
        throw new PortRefusedError(
          refused,
          `Nothing listens on UDP ports ${refused.join(', ')} at ${rec.obs.target.address}: the system answered each invitation with "port unreachable".`,
          error.hint,
        );
      }
      const which =
        next === o.advertisedPort
          ? 'the port the device advertises over mDNS'
          : family === undefined
            ? 'the other default port'
            : `the ${FAMILY_NAME[family]} default`;
      rec.hint(
        `nothing listens on UDP port ${rec.obs.target.port} (port unreachable); trying ${next}, ${which}`,
      );
      rec.obs.target.port = next;
    }
  }
}
