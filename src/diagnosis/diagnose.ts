/**
 * `diagnose()`: the likely causes of an upload's failure, ranked, with the evidence for each (what
 * was sent, what came back and when) and the next steps. Pure: it reads only the observation the
 * uploader recorded, the error, and optionally the result of the active `followUp()`. The cause
 * rules belong to the protocol family (src/protocols/<family>/diagnose/); this module picks them
 * by the observation's protocol, ranks what they find and builds the one `Diagnosis`.
 */

import {
  needsFollowUp as arduinoNeedsFollowUp,
  failureCauses,
  successCauses,
} from '../protocols/arduino-ota/diagnose/rules.ts';
import type { FollowUpResult } from '../protocols/arduino-ota/host/probe-types.ts';
import { observationOf } from '../protocols/arduino-ota/model/observation-of.ts';
import type { UploadObservation } from '../protocols/arduino-ota/model/options.ts';
import { esphomeRules } from '../protocols/esphome/diagnose/rules.ts';
import { isUploadError } from '../protocols/upload-error.ts';
import type { CauseCandidate, Diagnosis, DiagnosisCause, Likelihood, ProtocolRules } from './types.ts';

export interface DiagnoseOptions {
  /** What the active follow-up found (other ports, ICMP, mDNS); see `followUp()`. */
  followUp?: FollowUpResult;
}

/** The cause rules of each protocol family, by the observation's `protocol` tag. */
const RULES: Readonly<Record<string, ProtocolRules<UploadObservation, FollowUpResult>>> = {
  'arduino-ota': { failureCauses, successCauses, needsFollowUp: arduinoNeedsFollowUp },
  // Its rules read its own observation (the tag picks them; see observed()).
  esphome: esphomeRules as unknown as ProtocolRules<UploadObservation, FollowUpResult>,
};

/** The observation to diagnose: the one given, another family's from its UploadError, or ArduinoOTA's. */
function observed(observation: UploadObservation | undefined, error: unknown): UploadObservation | undefined {
  if (observation !== undefined) return observation;
  if (isUploadError(error) && error.protocol !== 'arduino-ota' && RULES[error.protocol] !== undefined)
    return error.observation as UploadObservation;
  return observationOf(error);
}

/** The protocol an observation belongs to (observations without a tag are ArduinoOTA's). */
function protocolOf(observation: UploadObservation | undefined): string {
  if (observation !== undefined && 'protocol' in observation && typeof observation.protocol === 'string')
    return observation.protocol;
  return 'arduino-ota';
}

function likelihoodOf(score: number): Likelihood {
  if (score >= 0.7) return 'high';
  if (score >= 0.4) return 'medium';
  return 'low';
}

/** Ranked, one per id; evidence lines that only repeat `said` (the error message, the title) are dropped. */
function rank(scored: readonly CauseCandidate[], said: readonly string[] = []): DiagnosisCause[] {
  const best = new Map<string, CauseCandidate>();
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
  const obs = observed(observation, error);
  const rules = RULES[protocolOf(obs)];
  const ok = error === undefined && obs?.outcome?.ok === true;
  if (rules === undefined) {
    const message = error instanceof Error ? error.message : 'The upload failed.';
    return { summary: ok ? 'The upload succeeded.' : firstSentence(message), code: null, causes: [] };
  }
  if (ok) {
    const success = rules.successCauses(obs, options.followUp);
    return { summary: success.summary, code: null, causes: rank(success.causes) };
  }
  const { causes: found, message, code } = rules.failureCauses(obs, error, options.followUp);
  const what = firstSentence(message);
  const causes = rank(found, [message, what]);
  const top = causes[0];
  // The error message is shown beside the diagnosis (CLI, fleet, dashboard): not repeated here.
  return {
    summary: top ? `Most likely: ${top.title}.` : what,
    code: code ?? null,
    causes,
  };
}

/** Whether an active follow-up (other ports, ICMP, mDNS) can sharpen this diagnosis. */
export function needsFollowUp(observation: UploadObservation | undefined, error?: unknown): boolean {
  const obs = observed(observation, error);
  return RULES[protocolOf(obs)]?.needsFollowUp(obs, error) ?? false;
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
