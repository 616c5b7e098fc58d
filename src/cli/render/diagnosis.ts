import type { AirflashError } from '../../errors.ts';
import type { UploadObservation } from '../../uploader/index.ts';

/** What the CLI shows (and puts in the JSON `result.diagnosis`) for a failed upload. */
export interface DiagnosisView {
  summary: string;
  causes: Array<{ cause: string; evidence: string[]; next: string }>;
}

/**
 * The one call site for a failure's diagnosis. Until the diagnosis module exists this derives a
 * minimal one from the error (its hint) and the upload observation; swap the body for
 * `diagnose(observation)` then.
 */
export function diagnosisFor(error: AirflashError): DiagnosisView | null {
  const observation = error.data['observation'] as UploadObservation | undefined;
  const evidence = observation ? evidenceOf(observation) : [];
  if (error.deviceText !== undefined) evidence.unshift(`the device said ${JSON.stringify(error.deviceText)}`);
  return {
    summary: error.message,
    causes: [
      { cause: error.code, evidence, next: error.hint ?? 'Run the upload again with -d to see every step.' },
    ],
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function evidenceOf(o: UploadObservation): string[] {
  const e: string[] = [];
  const target = `${o.target.address ?? o.target.host}:${o.target.port}`;
  const fromDevice = o.received.filter((r) => r.fromDevice);
  e.push(
    `${o.invitationsSent} invitation(s) sent to ${target}; ${fromDevice.length} answer(s) from the device`,
  );
  if (o.firstAnswerLatencyMs !== undefined) e.push(`first answer after ${seconds(o.firstAnswerLatencyMs)}`);
  if (o.auth)
    e.push(
      `the device asked for a password (${o.auth.scheme === 'sha256' ? 'SHA-256/PBKDF2' : 'MD5'} exchange); tries: ${o.auth.tries.map((t) => `${t.secret} → ${t.outcome}`).join(', ') || 'none'}`,
    );
  if (o.okAt !== undefined && o.connect?.connectedAt === undefined)
    e.push(
      `OK at ${seconds(o.okAt)}, no connection to ${o.local.address}:${o.local.tcpPort} within ${seconds(o.connect?.waitMs ?? 0)}${o.connect?.probeAnsweredAt !== undefined ? '; the device answered again while we waited' : ''}`,
    );
  if (o.connect && o.connect.refused.length > 0)
    e.push(`refused connections from ${o.connect.refused.map((r) => r.from).join(', ')} (not the device)`);
  if (o.transfer)
    e.push(
      `${o.transfer.bytesSent} of ${o.image.size ?? '?'} bytes sent, about ${o.transfer.bytesConfirmed} confirmed by the device; transfer ended: ${o.transfer.end ?? 'open'}`,
    );
  if (o.loopPeriodMs !== undefined)
    e.push(
      `the device's loop() calls handle() ${o.loopPeriodKind === 'at-least' ? 'at most every' : 'about every'} ${seconds(o.loopPeriodMs)}`,
    );
  return e;
}
