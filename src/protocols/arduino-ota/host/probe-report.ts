/** The one-line summary of a probe (the headline of `airflash probe`). */
import type { ProbeResult } from './probe-types.ts';

export function probeSummary(r: Omit<ProbeResult, 'summary'>): string {
  const target = `${r.address}:${r.port}`;
  if (r.reply === 'other')
    return `Something answered on ${target}, but not ArduinoOTA: ${JSON.stringify(r.replyText ?? '')}.`;
  const elsewhere = r.ports.find(
    (p) => p.port === r.port && p.outcome === 'answered' && p.reply !== undefined && p.reply !== 'other',
  );
  if (!r.answered && elsewhere !== undefined && elsewhere.source !== 'given') {
    const asked = r.ports.find((p) => p.source === 'given');
    const there = asked?.outcome === 'refused' ? 'is closed (ICMP port unreachable)' : 'did not answer';
    return `ArduinoOTA answers on ${target}, not on the port asked: UDP ${asked?.port ?? '?'} ${there}; upload with -p ${r.port}.`;
  }
  if (!r.answered) {
    const refused = r.ports.filter((p) => p.outcome === 'refused').map((p) => p.port);
    const silent = r.ports.filter((p) => p.outcome === 'silent').map((p) => p.port);
    return `No ArduinoOTA service answered at ${r.address}${refused.length ? `; UDP ${refused.join(', ')} closed (ICMP port unreachable: the host is there)` : ''}${silent.length ? `; no answer on ${silent.join(', ')}` : ''}.`;
  }
  const parts = [`ArduinoOTA answers on ${target}`];
  parts.push(
    r.authRequired
      ? `wants a password (${r.authScheme === 'sha256' ? 'SHA-256/PBKDF2' : 'MD5'} challenge)`
      : 'no password',
  );
  parts.push(r.core.range);
  if (r.loop.kind === 'measured' && r.loop.periodMs !== undefined)
    parts.push(`loop() calls handle() about every ${(r.loop.periodMs / 1000).toFixed(1)} s`);
  else if (r.loop.kind === 'fast') parts.push('handle() is called often');
  else if (r.loop.kind === 'not-visible') parts.push('loop period not visible');
  return `${parts.join('; ')}.`;
}
