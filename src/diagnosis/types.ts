/** The one diagnosis shape, the same in the CLI, the fleet and the dashboard (docs/diagnosis.md). */
export type Likelihood = 'high' | 'medium' | 'low';

/** One likely cause of a failed upload. */
export interface DiagnosisCause {
  /** Stable identifier, e.g. WRONG_PORT, HOST_FIREWALL, AUTH_WRONG_PASSWORD (docs/diagnosis.md). */
  id: string;
  likelihood: Likelihood;
  /** One line: what is probably wrong. */
  title: string;
  /** What was sent, what came back and when (times are seconds since the upload started). */
  evidence: string[];
  /** Concrete next steps and commands. */
  next: string[];
}

/** The diagnosis of one upload: causes ranked, most likely first. */
export interface Diagnosis {
  /** One or two sentences: what happened and the most likely cause. */
  summary: string;
  /** Error code of the failure (null when diagnosing a successful upload's advisories). */
  code: string | null;
  causes: DiagnosisCause[];
}

/** A cause as a protocol's rules produce it: a score (0…1) instead of a likelihood. */
export interface CauseCandidate extends Omit<DiagnosisCause, 'likelihood'> {
  score: number;
}

/**
 * What a protocol family gives the diagnosis: its cause rules, unranked. `src/diagnosis` picks
 * the rules by the observation's protocol, ranks the causes and builds the `Diagnosis`.
 */
export interface ProtocolRules<Observation, FollowUp> {
  failureCauses(
    observation: Observation | undefined,
    error: unknown,
    followUp: FollowUp | undefined,
  ): { causes: CauseCandidate[]; message: string; code: string | undefined };
  successCauses(
    observation: Observation | undefined,
    followUp: FollowUp | undefined,
  ): { causes: CauseCandidate[]; summary: string };
  needsFollowUp(observation: Observation | undefined, error?: unknown): boolean;
}
