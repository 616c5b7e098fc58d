/**
 * `diagnose()`: the likely causes of a failed upload, ranked, with the evidence for each (what was
 * sent, what came back and when) and the next steps. Pure: it reads only the UploadObservation the
 * uploader recorded, the error, and optionally the result of the active `followUp()` (probe.ts).
 */

import {
  authFailedCauses,
  authRequiredCauses,
  authUnsupportedCauses,
} from '../protocols/arduino-ota/diagnose/auth.ts';
import { noConnectCauses } from '../protocols/arduino-ota/diagnose/connect.ts';
import { deviceTextCauses } from '../protocols/arduino-ota/diagnose/device-text.ts';
import {
  deriveFacts,
  type Facts,
  likelihoodOf,
  observationOf,
  quote,
  type Scored,
} from '../protocols/arduino-ota/diagnose/facts.ts';
import {
  badReplyCauses,
  lateAnswerCause,
  loopEstimate,
  noAnswerCauses,
} from '../protocols/arduino-ota/diagnose/invitation.ts';
import { lossyLinkCauses } from '../protocols/arduino-ota/diagnose/lossy.ts';
import { sameOffsetCauses, stallCauses } from '../protocols/arduino-ota/diagnose/transfer.ts';
import type { Diagnosis, DiagnosisCause, FollowUpResult } from '../protocols/arduino-ota/diagnose/types.ts';
import type { UploadObservation } from '../upload/index.ts';

export { firewallCommands } from '../protocols/arduino-ota/diagnose/connect.ts';
export type {
  Diagnosis,
  DiagnosisCause,
  FollowUpResult,
  Likelihood,
  MdnsSeen,
  PortCheck,
  TcpCheck,
} from '../protocols/arduino-ota/diagnose/types.ts';

export interface DiagnoseOptions {
  /** What the active follow-up found (other ports, ICMP, mDNS); see `followUp()`. */
  followUp?: FollowUpResult;
}

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

/** Ranked, one per id; evidence lines that only repeat `said` (the error message, the title) are dropped. */
function rank(scored: Scored[], said: readonly string[] = []): DiagnosisCause[] {
  const best = new Map<string, Scored>();
  for (const c of scored) {
    const prev = best.get(c.id);
    if (!prev || c.score > prev.score) best.set(c.id, c);
  }
  return [...best.values()]
    .sort((a, b) => b.score - a.score)
    .map((c) => ({
      id: c.id,
      likelihood: likelihoodOf(c.score),
      title: c.title,
      evidence: [...new Set(c.evidence)].filter((e) => e !== c.title && !said.includes(e)),
      next: c.next,
    }));
}

function firstSentence(text: string): string {
  const m = /^(.*?[.!?])(\s|$)/.exec(text);
  return (m?.[1] ?? text).trim();
}

/**
 * Diagnose an upload from its observation and error. `observation` may be undefined when the
 * error carries it (`error.data.observation`). With an observation of a successful upload (no
 * error) the causes are advisories (a slow loop(), an MD5-stored password hash).
 */
export function diagnose(
  observation: UploadObservation | undefined,
  error?: unknown,
  options: DiagnoseOptions = {},
): Diagnosis {
  const obs = observation ?? observationOf(error);
  const ok = error === undefined && obs?.outcome?.ok === true;
  const f = deriveFacts(obs, error, options.followUp);
  if (ok) {
    const causes = rank(advisories({ ...f, code: undefined }));
    const loop = loopEstimate(f);
    return {
      summary: `The upload succeeded${loop ? `; the device's loop() calls ArduinoOTA.handle() ${loop.kind === 'measured' ? 'about' : 'at most'} every ${(loop.ms / 1000).toFixed(1)} s` : ''}.`,
      code: null,
      causes,
    };
  }
  const message = f.e.message ?? f.o?.outcome?.message ?? 'The upload failed.';
  const what = firstSentence(message);
  const causes = rank([...causesFor(f), ...lossyLinkCauses(f), ...advisories(f)], [message, what]);
  const top = causes[0];
  // The error message is shown beside the diagnosis (CLI, fleet, dashboard): not repeated here.
  return {
    summary: top ? `Most likely: ${top.title}.` : what,
    code: f.code ?? null,
    causes,
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

/** The diagnosis for people: numbered causes, each with what was seen and what to do. */
export function renderDiagnosis(d: Diagnosis, options: { maxCauses?: number } = {}): string {
  const max = options.maxCauses ?? 4;
  const shown = d.causes.filter((c, i) => i === 0 || c.likelihood !== 'low').slice(0, max);
  // Each fact once: with causes listed, the summary (the first cause's title) is not printed.
  const lines: string[] = [
    shown.length === 0 || d.code === null ? `Diagnosis: ${d.summary}` : 'Diagnosis (most likely first):',
  ];
  shown.forEach((c, i) => {
    lines.push(`  ${i + 1}. [${c.likelihood}] ${c.title} (${c.id})`);
    for (const e of c.evidence) lines.push(`       seen: ${e}`);
    for (const n of c.next) {
      const [first, ...rest] = n.split('\n');
      lines.push(`       next: ${first}`);
      for (const r of rest) lines.push(`             ${r}`);
    }
  });
  const hidden = d.causes.length - shown.length;
  if (hidden > 0) lines.push(`  (${hidden} less likely cause${hidden === 1 ? '' : 's'}: see --json)`);
  return `${lines.join('\n')}\n`;
}
