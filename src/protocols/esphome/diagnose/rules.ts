/**
 * The cause rules of ESPHome's native OTA (src/diagnosis ranks them): its known pains
 * (protocols-next.md §1.6): the SHA-256-only device (2026.1) and an MD5-only client, the legacy
 * MD5 device, encryption required without a key (0x94) or a wrong key, the password → encryption
 * migration order, the slow erase behind "Error receiving acknowledge binary size: timed out",
 * and the device that takes one client at a time. Pure: the error and the observation only.
 */
import type { CauseCandidate, ProtocolRules } from '../../../diagnosis/types.ts';
import type { EsphomeObservation } from '../model/options.ts';

interface Failure {
  code: string | undefined;
  message: string;
  deviceText: string | undefined;
}

function failureOf(error: unknown): Failure {
  const e = error as { code?: unknown; message?: unknown; deviceText?: unknown } | undefined;
  return {
    code: typeof e?.code === 'string' ? e.code : undefined,
    message: typeof e?.message === 'string' ? e.message : 'The upload failed.',
    deviceText: typeof e?.deviceText === 'string' ? e.deviceText : undefined,
  };
}

const target = (o: EsphomeObservation | undefined): string =>
  o === undefined ? 'esphome://HOST' : `esphome://${o.host}:${o.port}`;

function seen(o: EsphomeObservation | undefined, f: Failure): string[] {
  const lines: string[] = [];
  if (o?.otaVersion !== undefined)
    lines.push(
      `the device speaks OTA version ${o.otaVersion}${o.extended ? ', the extended protocol' : ', the legacy header (before ESPHome 2025.9)'}`,
    );
  if (o?.auth !== undefined && o.auth !== 'none')
    lines.push(
      `it asked for a password with the ${o.auth === 'sha256' ? 'SHA-256' : 'legacy MD5'} challenge`,
    );
  if (o?.noiseOffered) lines.push('it offers Noise encryption (server flag 04)');
  if (f.deviceText !== undefined) lines.push(`the device answered ${f.deviceText}`);
  if (o !== undefined)
    lines.push(`the upload stopped at the ${o.stage} step after ${o.bytesSent} bytes sent`);
  return lines;
}

function failureCauses(
  o: EsphomeObservation | undefined,
  error: unknown,
): { causes: CauseCandidate[]; message: string; code: string | undefined } {
  const f = failureOf(error);
  const evidence = seen(o, f);
  const causes: CauseCandidate[] = [];
  const add = (id: string, score: number, title: string, next: string[]): void => {
    causes.push({ id, score, title, evidence, next });
  };
  const t = target(o);
  switch (f.code) {
    case 'AUTH_FAILED':
      if (o?.auth === undefined || o.auth === 'none')
        add(
          'ESPHOME_SHA256_ONLY',
          0.85,
          'The device accepts only SHA-256 authentication (ESPHome 2026.1+) and refused the client before a challenge',
          [
            'A client that offers only the MD5 challenge (esphome before 2025.9, old scripts) cannot update it: use airflash or a current esphome.',
          ],
        );
      else {
        add('AUTH_WRONG_PASSWORD', 0.8, 'The OTA password is not the one of the device', [
          `airflash upload -i ${t} -a 'PASSWORD' -f firmware.bin   (the \`ota: password:\` of the config; or AIRFLASH_PASSWORD)`,
        ]);
        if (o.auth === 'md5')
          add('ESPHOME_LEGACY_MD5', 0.45, 'The device runs ESPHome before 2025.9 (MD5 challenge only)', [
            'Tools that dropped the MD5 challenge cannot update it; update it once with airflash or esphome, then it speaks SHA-256.',
          ]);
      }
      break;
    case 'AUTH_REQUIRED':
      add('AUTH_PASSWORD_MISSING', 0.9, 'The device wants its OTA password and none was given', [
        `airflash upload -i ${t} -a 'PASSWORD' -f firmware.bin`,
        'Moving to encryption: the firmware still running has the password; update once with -a, then use --key.',
      ]);
      break;
    case 'ENCRYPTION_REQUIRED':
      add(
        'ESPHOME_KEY_MISSING',
        0.95,
        'The device requires an encrypted OTA connection and no key was given',
        [
          `AIRFLASH_ESPHOME_KEY='BASE64KEY' airflash upload -i ${t} -f firmware.bin   (the \`encryption: key:\` of the config)`,
        ],
      );
      break;
    case 'HANDSHAKE_MAC_FAILURE':
      add(
        'ESPHOME_WRONG_KEY',
        0.95,
        'The encryption key is not the one of the device (Handshake MAC failure)',
        [
          'Use the `encryption: key:` of the config the running firmware was built from (secrets.yaml may hold a newer one).',
        ],
      );
      break;
    case 'ENCRYPTION_UNAVAILABLE':
      add(
        'ESPHOME_ENCRYPTION_MIGRATION',
        0.9,
        'The running firmware predates OTA encryption, so it cannot take the key yet',
        [
          `First update without --key (with -a PASSWORD, on a trusted network or over USB) to a build whose config has \`encryption:\`; then: airflash upload -i ${t} --key … -f firmware.bin`,
        ],
      );
      break;
    case 'TIMEOUT':
      if (o?.stage === 'prepare')
        add(
          'ESPHOME_SLOW_ERASE',
          0.85,
          'The device was still erasing flash for the image when the wait ended (a slow erase, not the network)',
          [
            'espota2.py reports this as "Error receiving acknowledge binary size: timed out". A large image takes long to erase: wait for the device to come back, then upload again (airflash waits up to 160 s, ESPHOME_TIMEOUTS.ackMs).',
          ],
        );
      else
        add('ESPHOME_SILENT', 0.6, 'The device stopped answering in the middle of the upload', [
          'Check its power and Wi-Fi signal; upload again (network failures are retried with --retries).',
        ]);
      break;
    case 'NETWORK_ERROR':
      if (o === undefined || o.stage === 'connect' || o.stage === 'magic')
        add(
          'ESPHOME_BUSY',
          0.6,
          'The device is busy with another client (it takes one OTA client at a time)',
          [
            'Wait for the other upload (another airflash, the ESPHome dashboard, Home Assistant) to finish, then upload again.',
          ],
        );
      add('NETWORK', 0.4, 'The connection failed or was cut', [
        'Check the address and the network; upload again (with --retries).',
      ]);
      break;
    default:
      break;
  }
  return { causes, message: f.message, code: f.code };
}

export const esphomeRules: ProtocolRules<EsphomeObservation, unknown> = {
  failureCauses,
  successCauses: () => ({ causes: [], summary: 'The upload succeeded.' }),
  needsFollowUp: () => false,
};
