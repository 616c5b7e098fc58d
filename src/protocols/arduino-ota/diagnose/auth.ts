/** Causes for a refused or unanswered authentication. */
import { DEFAULT_PORT } from '../../../devices/family.ts';
import { at, quote, schemeText, secs } from './evidence.ts';
import type { Facts } from './facts.ts';
import type { Scored } from './types.ts';

function triesEvidence(f: Facts): string[] {
  const a = f.o?.auth;
  if (!a) return [];
  const lines = [`the device asked for a password with ${schemeText(a.nonceLength)}`];
  for (const t of a.tries) {
    const hash = t.secret === 'sha256' ? 'SHA-256' : 'MD5';
    const answer =
      t.outcome === 'failed'
        ? `"Authentication Failed" ${t.answeredAt === undefined ? '' : at(t.answeredAt)}`
        : t.outcome === 'ok'
          ? `OK ${t.answeredAt === undefined ? '' : at(t.answeredAt)}`
          : t.outcome === 'no-answer'
            ? 'no answer'
            : 'no answer yet';
    lines.push(`auth line with the ${hash} password hash sent ${at(t.sentAt)} → ${answer.trim()}`);
  }
  return lines;
}

function passwordNext(f: Facts): string[] {
  return [
    'Use the password the sketch gives ArduinoOTA.setPassword("…") (or the one whose hash it gives setPasswordHash("…")).',
    `airflash upload -i ${f.host} -p ${f.port} -a 'PASSWORD' -f FIRMWARE.bin   (or set AIRFLASH_PASSWORD)`,
  ];
}

export function authRequiredCauses(f: Facts): Scored[] {
  const nonce = f.fromDevice.find((r) => r.nonceLength !== undefined)?.nonceLength ?? f.o?.auth?.nonceLength;
  return [
    {
      id: 'AUTH_PASSWORD_MISSING',
      score: 0.97,
      title: 'The device wants a password and none was given',
      evidence: [
        ...f.fromDevice
          .filter((r) => r.kind === 'auth')
          .slice(0, 1)
          .map((r) => `the device answered ${quote(r.text, 45)} ${at(r.at)}: ${schemeText(nonce)}`),
      ],
      next: [...passwordNext(f), 'PlatformIO: upload_flags =\n    --auth=PASSWORD   (one flag per line)'],
    },
  ];
}

export function authFailedCauses(f: Facts): Scored[] {
  const o = f.o;
  const causes: Scored[] = [];
  const tries = o?.auth?.tries ?? [];
  const scheme = o?.auth?.scheme;
  const evidence = triesEvidence(f);
  const refused = tries.filter((t) => t.outcome === 'failed');
  const unanswered = tries.filter((t) => t.outcome === 'no-answer' || t.outcome === 'pending');
  const shaRefused = tries.some((t) => t.secret === 'sha256' && t.outcome === 'failed');
  const md5Tried = tries.some((t) => t.secret === 'md5');
  const md5Refused = tries.some((t) => t.secret === 'md5' && t.outcome === 'failed');
  // Only what the password looks like is recorded, never any part of it.
  const extra = o?.options.passwordLooksLikeOptions === true;
  const hasSpace = o?.options.passwordHasSpace === true;

  // The password has other options glued to it (PlatformIO one-line upload_flags).
  if (extra || hasSpace) {
    const ev = [...evidence];
    ev.push(
      extra
        ? `the password given (${o?.options.passwordLength ?? '?'} characters) contains white space followed by "-", like another option`
        : `the password given (${o?.options.passwordLength ?? '?'} characters) contains white space`,
    );
    causes.push({
      id: 'AUTH_PASSWORD_HAS_EXTRA_TEXT',
      score: extra ? 0.96 : 0.6,
      title: extra
        ? 'The password includes what looks like more options: several options were passed as one argument'
        : 'The password contains a space: other options may have been passed as part of it',
      evidence: ev,
      next: [
        'PlatformIO: put each flag on its own line (a one-line upload_flags value is ONE argument):\nupload_flags =\n    --auth=PASSWORD\n    --port=8266',
        `airflash upload -i ${f.host} -p ${f.port} -a 'PASSWORD' -f FIRMWARE.bin`,
        `airflash doctor   (checks platformio.ini for this)`,
      ],
    });
  }

  if (refused.length > 0) {
    causes.push({
      id: 'AUTH_WRONG_PASSWORD',
      score: 0.8,
      title: `The device refused the password ("Authentication Failed"${tries.length > 1 ? ` to the ${tries.map((t) => (t.secret === 'sha256' ? 'SHA-256' : 'MD5')).join(' and the ')} password hash` : ''})`,
      evidence,
      next: [
        ...passwordNext(f),
        'A password changed in the sketch takes effect only after that firmware runs (one serial upload if you no longer know the old one).',
      ],
    });
  }

  // A device that stores an MD5 hash while speaking the SHA-256 exchange.
  if (scheme === 'sha256') {
    let score = 0.3;
    let title =
      'If the sketch uses ArduinoOTA.setPasswordHash(), the hash must be the lower-case MD5 or SHA-256 hex of this password';
    if (shaRefused && md5Tried && !md5Refused && unanswered.length > 0) {
      score = 0.85;
      title =
        'The device probably stores an MD5 password hash (setPasswordHash with 32 hex): the SHA-256 hash was refused and the MD5 fallback got no answer';
    } else if (shaRefused && !md5Tried) {
      score = 0.8;
      title =
        'The device may store an MD5 password hash (setPasswordHash with 32 hex): the SHA-256 hash was refused and the MD5 fallback was not tried';
    } else if (o?.options.md5Target && refused.length > 0 && !tries.some((t) => t.secret === 'sha256')) {
      score = 0.65;
      title =
        'You asked for the MD5 password hash (-m), and the device refused it: it probably stores the SHA-256 hash (setPassword on arduino-esp32 ≥ 3.3.1)';
    }
    causes.push({
      id: 'AUTH_MD5_STORED_HASH',
      score,
      title,
      evidence,
      next: [
        // With -m given (and refused), advising -m again would repeat the mistake: drop it.
        o?.options.md5Target
          ? `airflash upload -i ${f.host} -p ${f.port} -a 'PASSWORD' -f FIRMWARE.bin   (without -m: airflash tries the SHA-256 hash first)`
          : `airflash upload -i ${f.host} -p ${f.port} -a 'PASSWORD' -m -f FIRMWARE.bin   (-m: the device stores an MD5 hash)`,
        'In the sketch, prefer ArduinoOTA.setPassword("…") (stored as SHA-256 on arduino-esp32 ≥ 3.3.1); a hash given to setPasswordHash must be lower-case hex.',
      ],
    });
  }

  // Which generation the device speaks: version skew explains many refusals.
  if (o?.auth) {
    const legacy = o.auth.nonceLength === 32;
    causes.push({
      id: 'AUTH_OLD_CORE',
      score: legacy && f.port === DEFAULT_PORT.esp32 ? 0.25 : 0.15,
      title: legacy
        ? 'The device speaks the old MD5 challenge: it runs an ESP8266 core or arduino-esp32 ≤ 3.3.0'
        : 'The device speaks the SHA-256/PBKDF2 challenge of arduino-esp32 ≥ 3.3.1: tools older than espota 3.3.1 cannot authenticate to it',
      evidence: [
        `the device's nonce has ${o.auth.nonceLength} hex characters: ${schemeText(o.auth.nonceLength)}`,
      ],
      next: legacy
        ? [
            'After the device moves to arduino-esp32 ≥ 3.3.1 it stores a SHA-256 hash of its password and needs a 3.3.1+ espota or airflash (which speak both).',
            'setPasswordHash() on these cores takes the lower-case MD5 hex of the password.',
          ]
        : [
            'Use airflash (or espota from core ≥ 3.3.1); older espota versions fail with "No Answer to our Authentication".',
          ],
    });
  }

  // No answer to the auth line at all.
  if (unanswered.length > 0 && refused.length === 0) {
    const late = (f.o?.firstAnswerLatencyMs ?? 0) >= f.lateMs;
    causes.push({
      id: 'AUTH_NO_ANSWER',
      score: late ? 0.55 : 0.7,
      title: `The device did not answer the auth line (waited ${secs(f.o?.options.authTimeoutMs ?? 0)})`,
      evidence: [
        ...evidence,
        'a device waiting for auth takes the next datagram of any kind as its auth line: another upload or tool talking to it at the same time resets it silently',
      ],
      next: [
        'Make sure no other tool (IDE, another airflash, Home Assistant) talks to the device at the same time, then upload again.',
        `If loop() is slow: airflash upload -i ${f.host} -p ${f.port} --auth-timeout 120 -a 'PASSWORD' -f FIRMWARE.bin`,
      ],
    });
  }
  return causes;
}

export function authUnsupportedCauses(f: Facts): Scored[] {
  const r = f.fromDevice.find((d) => d.kind === 'bad-nonce' || d.kind === 'auth');
  return [
    {
      id: 'AUTH_UNKNOWN_SCHEME',
      score: 0.9,
      title: `The device asked for a password with a challenge airflash does not know (${r?.nonceLength ?? '?'}-character nonce)`,
      evidence: r ? [`the device answered ${quote(r.text)} ${at(r.at)}`] : [],
      next: [
        'Please report the device’s core version to airflash (32 hex = MD5, 64 hex = SHA-256 are known).',
      ],
    },
  ];
}
