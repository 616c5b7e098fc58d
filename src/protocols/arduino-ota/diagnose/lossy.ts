/** The lossy-link cause: the device answers, but some datagrams (either way) do not arrive. */
import { secs } from './evidence.ts';
import type { Facts } from './facts.ts';
import type { Scored } from './types.ts';

/**
 * Evidence of loss: answers that arrive for some invitations and not for others (the latest
 * invitation answered at once after earlier ones got nothing), auth lines without an answer from
 * a device that answered its invitation within moments, several invitation rounds with answers.
 * A slow loop() looks different: every answer is late, none is missing.
 */
export function lossyLinkCauses(f: Facts): Scored[] {
  const o = f.o;
  if (!o || f.fromDevice.length === 0) return [];
  const evidence: string[] = [];
  const lost = o.invitationsLost ?? 0;
  const invitations = o.sent.filter((s) => s.kind === 'invitation').length;
  const prompt = (o.firstAnswerSinceLastInvitationMs ?? Number.POSITIVE_INFINITY) < f.lateMs;
  if (lost > 0)
    evidence.push(
      `the device answered an invitation ${secs(o.firstAnswerSinceLastInvitationMs ?? 0)} after it was sent, but not the ${lost} before it`,
    );
  // A device that refused one password hash and then stays silent to the fallback has answered
  // the exchange (e.g. an MD5 hash stored on a SHA-256 core): that silence is not loss.
  const tries = o.auth?.tries ?? [];
  const refused = tries.some((t) => t.outcome === 'failed');
  const silentAuth = refused ? 0 : tries.filter((t) => t.outcome === 'no-answer').length;
  if (silentAuth > 0 && prompt)
    evidence.push(
      `${silentAuth} auth line(s) got no answer although the device answered its invitation within ${secs(o.firstAnswerSinceLastInvitationMs ?? 0)}`,
    );
  const rounds = o.sent.filter((s) => s.kind === 'invitation' && s.attempt === 1).length;
  if (rounds > 1 && f.fromDevice.length > 0)
    evidence.push(
      `${invitations} invitations in ${rounds} rounds, ${f.fromDevice.length} datagram(s) from the device: some answers arrive, others do not`,
    );
  if (evidence.length === 0) return [];
  // An explicit "Authentication Failed" followed by silence is the MD5-stored-hash signature
  // (auth.ts), not loss, unless invitations went unanswered too.
  const failedByLoss =
    lost > 0 || f.code === 'TIMEOUT' || f.code === 'NO_INVITATION_REPLY' || (silentAuth > 0 && !refused);
  return [
    {
      id: 'LOSSY_LINK',
      score: failedByLoss ? 0.93 : 0.4,
      title:
        'The link between this computer and the device loses datagrams: some answers arrive, others do not (weak Wi-Fi signal, interference, a busy access point)',
      evidence,
      next: [
        'Bring the device and the access point closer, or check the signal (RSSI) the device reports; avoid a crowded 2.4 GHz channel.',
        `airflash upload -i ${f.host} -p ${f.port} --retries 3 -f FIRMWARE.bin   (each attempt starts over)`,
      ],
    },
  ];
}
