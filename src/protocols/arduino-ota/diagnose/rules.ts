/**
 * ArduinoOTA's diagnosis rules: which causes fit a failed (or successful) upload, each scored, from
 * the observation, the error and the follow-up. src/diagnosis ranks them and builds the envelope.
 */

import type { FollowUpResult } from '../host/probe-types.ts';
import { observationOf } from '../model/observation-of.ts';
import type { UploadObservation } from '../model/options.ts';
import { authFailedCauses, authRequiredCauses, authUnsupportedCauses } from './auth.ts';
import { noConnectCauses } from './connect.ts';
import { deviceTextCauses } from './device-text.ts';
import { quote } from './evidence.ts';
import { deriveFacts, type Facts } from './facts.ts';
import { badReplyCauses, lateAnswerCause, loopEstimate, noAnswerCauses } from './invitation.ts';
import { lossyLinkCauses } from './lossy.ts';
import { sameOffsetCauses, stallCauses } from './transfer.ts';
import type { Scored } from './types.ts';

function otherErrorCauses(f: Facts): Scored[] {
  const msg = f.e.message ?? f.o?.outcome?.message ?? 'The upload failed.';
  const hint = f.e.hint;
  const code = f.code ?? 'INTERNAL';
  if (code === 'HOST_NOT_FOUND')
    return [
      {
        id: 'NAME_NOT_RESOLVED',
        score: 0.9,
        title: `The name ${f.host} could not be resolved`,
        evidence: [msg],
        next: f.host.endsWith('.local')
          ? [
              'Use the device IP address instead of the .local name.',
              'Make mDNS work: Bonjour on Windows, avahi-daemon + nss-mdns on Linux; guest networks and some routers filter it.',
              'airflash discover',
            ]
          : ['Check the spelling, or use the device IP address (its serial log or your router shows it).'],
      },
    ];
  if (code === 'NETWORK_ERROR')
    return [
      {
        id: 'LOCAL_NETWORK',
        score: 0.85,
        title: 'This computer could not send to the device or listen for it',
        evidence: [msg],
        next: [hint ?? 'Check that this computer is on the device network, and -I / -P if given.'],
      },
    ];
  if (code === 'INTERRUPTED')
    return [
      {
        id: 'INTERRUPTED',
        score: 0.95,
        title: 'The upload was interrupted on this computer',
        evidence: [msg],
        next: ['The device keeps its old firmware. Run the upload again.'],
      },
    ];
  if (code.startsWith('PREFLIGHT_'))
    return [
      {
        id: 'PREFLIGHT_REFUSED',
        score: 0.95,
        title: `The image was refused before sending (${code}): ${msg}`,
        evidence: [msg, ...(f.o?.preflight?.warnings.map((w) => `${w.code}: ${w.message}`) ?? [])],
        next: [
          ...(hint ? [hint] : []),
          'airflash image FILE   (what the file is)',
          'If you are sure, skip the check with --force.',
        ],
      },
    ];
  if (code === 'BAD_ARGUMENT' || code === 'FILE_NOT_FOUND')
    return [
      {
        id: 'USAGE',
        score: 0.95,
        title: msg,
        evidence: [msg],
        next: [hint ?? 'airflash upload --help'],
      },
    ];
  return [
    {
      id: 'UNKNOWN',
      score: 0.5,
      title: msg,
      evidence: [msg, ...(f.deviceText ? [`the device said ${quote(f.deviceText)}`] : [])],
      next: [hint ?? 'Run the upload again with -d to see every step.'],
    },
  ];
}

function causesFor(f: Facts): Scored[] {
  const code = f.code;
  const text = f.deviceText;
  const late = (w: number): Scored[] => {
    const c = lateAnswerCause(f, w);
    return c ? [c] : [];
  };
  switch (code) {
    case 'NO_INVITATION_REPLY':
      return noAnswerCauses(f);
    case 'BAD_REPLY':
      return badReplyCauses(f);
    case 'DEVICE_REFUSED':
    case 'DEVICE_ERROR':
      return [...sameOffsetCauses(f), ...deviceTextCauses(f, text ?? f.e.message ?? ''), ...late(0.2)];
    case 'AUTH_REQUIRED':
      return authRequiredCauses(f);
    case 'AUTH_FAILED': {
      const unanswered = f.o?.auth?.tries.some((t) => t.outcome === 'no-answer') ?? false;
      return [...authFailedCauses(f), ...late(unanswered ? 0.6 : 0.2)];
    }
    case 'AUTH_UNSUPPORTED':
      return authUnsupportedCauses(f);
    case 'NO_CONNECT_BACK':
      return [...noConnectCauses(f), ...late(0.3)];
    case 'TRANSFER_STALLED':
    case 'INCOMPLETE':
      return [
        ...sameOffsetCauses(f),
        ...stallCauses(f),
        ...(text ? deviceTextCauses(f, text) : []),
        ...late(0.15),
      ];
    case 'TIMEOUT':
      if (f.fromDevice.length === 0 && f.o?.outcome?.phase === 'invite') return noAnswerCauses(f);
      return [...late(0.5), ...otherErrorCauses(f)];
    default:
      return otherErrorCauses(f);
  }
}

/** Advice worth giving even when it did not cause the failure (also for successful uploads). */
function advisories(f: Facts): Scored[] {
  const out: Scored[] = [];
  const o = f.o;
  if (!o) return out;
  if (o.warnings.some((w) => w.code === 'MD5_PASSWORD_HASH'))
    out.push({
      id: 'AUTH_MD5_STORED_HASH',
      score: f.code === undefined ? 0.5 : 0.2,
      title:
        'The device stores an MD5 hash of its password (setPasswordHash with 32 hex on arduino-esp32 ≥ 3.3.1): the SHA-256 hash was refused, the MD5 fallback worked',
      evidence: [
        `the device sent a ${o.auth?.nonceLength ?? 64}-hex nonce; tries: ${o.auth?.tries.map((t) => `${t.secret} → ${t.outcome}`).join(', ') ?? '?'}`,
      ],
      next: [
        'Pass -m to skip the SHA-256 try, or give the sketch setPassword("…") (stored as SHA-256) instead of an MD5 hash.',
      ],
    });
  if (f.code === undefined) {
    const c = lateAnswerCause(f, 0.5);
    if (c) out.push(c);
  }
  return out;
}

/** The causes of a failed upload, unranked: the error's own rules, a lossy link, the advisories. */
export function failureCauses(
  observation: UploadObservation | undefined,
  error: unknown,
  followUp: FollowUpResult | undefined,
): { causes: Scored[]; message: string; code: string | undefined } {
  const f = deriveFacts(observation, error, followUp);
  return {
    causes: [...causesFor(f), ...lossyLinkCauses(f), ...advisories(f)],
    message: f.e.message ?? f.o?.outcome?.message ?? 'The upload failed.',
    code: f.code,
  };
}

/** A successful upload: the advisories, and the summary line (with the loop period when seen). */
export function successCauses(
  observation: UploadObservation | undefined,
  followUp: FollowUpResult | undefined,
): { causes: Scored[]; summary: string } {
  const f = deriveFacts(observation, undefined, followUp);
  const loop = loopEstimate(f);
  return {
    causes: advisories({ ...f, code: undefined }),
    summary: `The upload succeeded${loop ? `; the device's loop() calls ArduinoOTA.handle() ${loop.kind === 'measured' ? 'about' : 'at most'} every ${(loop.ms / 1000).toFixed(1)} s` : ''}.`,
  };
}

/** Whether an active follow-up (other ports, ICMP, mDNS) can sharpen this diagnosis. */
export function needsFollowUp(observation: UploadObservation | undefined, error?: unknown): boolean {
  const obs = observation ?? observationOf(error);
  const code =
    (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
      ? (error as { code: string }).code
      : undefined) ?? obs?.outcome?.code;
  if (!obs || obs.target.address === undefined) return false;
  return code === 'NO_INVITATION_REPLY' && obs.received.every((r) => !r.fromDevice);
}
