/** Types shared by diagnose() (pure) and the follow-up / probe (network). */

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

/** The diagnosis of one failed upload: causes ranked, most likely first. */
export interface Diagnosis {
  /** One or two sentences: what happened and the most likely cause. */
  summary: string;
  /** Error code of the failure (null when diagnosing a successful upload's advisories). */
  code: string | null;
  causes: DiagnosisCause[];
}

/** What one UDP port of the device did with a probe invitation. */
export interface PortCheck {
  port: number;
  /** Why this port was tried. */
  source: 'given' | 'upload' | 'esp32-default' | 'esp8266-default' | 'mdns';
  /**
   * answered: a datagram came back; refused: ICMP port unreachable (the host is there, nothing
   * listens on that UDP port); silent: nothing within the wait.
   */
  outcome: 'answered' | 'refused' | 'silent';
  /** Kind of the first answer. */
  reply?: 'ok' | 'auth' | 'error' | 'other';
  /** The first answer, verbatim (at most 120 characters). */
  text?: string;
  /** ms from the (first) invitation to the answer or the refusal. */
  latencyMs?: number;
  /** Nonce length of an AUTH answer (32: MD5 exchange, 64: SHA-256/PBKDF2). */
  nonceLength?: number;
  /** Invitations sent to this port. */
  sent: number;
  /** How long we waited for this port, ms. */
  waitedMs: number;
}

/** Whether the device's address answers TCP at all (a closed port answers with a reset). */
export interface TcpCheck {
  port: number;
  outcome: 'refused' | 'open' | 'timeout' | 'unreachable' | 'error';
  latencyMs: number;
  /** Error code for 'unreachable' / 'error' (EHOSTUNREACH, ENETUNREACH, ...). */
  error?: string;
}

/** An `_arduino._tcp` advertisement that matches the device. */
export interface MdnsSeen {
  name: string;
  host: string;
  addresses: string[];
  port: number;
  board?: string;
  authUpload?: boolean;
  txt: Record<string, string>;
  core?: string;
}

/** The active check run after an unanswered invitation (see `followUp()` in probe.ts). */
export interface FollowUpResult {
  /** The device address that was asked. */
  address: string;
  ports: PortCheck[];
  tcp?: TcpCheck;
  /** undefined: mDNS was not asked; []: asked, nothing matched. */
  mdns?: MdnsSeen[];
  /** How long the mDNS browse ran, ms (when it ran). */
  mdnsWaitMs?: number;
  /** Total time of the follow-up, ms. */
  durationMs: number;
}
