/** What ArduinoOTA's cause rules produce; src/diagnosis ranks them into the one `Diagnosis`. */

/** A cause under construction: a numeric score (0…1) that the diagnosis turns into a likelihood. */
export interface Scored {
  /** Stable identifier, e.g. WRONG_PORT, HOST_FIREWALL, AUTH_WRONG_PASSWORD (docs/diagnosis.md). */
  id: string;
  score: number;
  /** One line: what is probably wrong. */
  title: string;
  /** What was sent, what came back and when (times are seconds since the upload started). */
  evidence: string[];
  /** Concrete next steps and commands. */
  next: string[];
}
