/** How the cause rules word what was seen: times, sizes, quotes and the evidence lines. */
import type { Facts } from './facts.ts';

/** "12 ms", "1.5 s", "29.6 s". */
export function secs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A point in time of the upload: "at 1.23 s". */
export function at(ms: number): string {
  return `at ${(ms / 1000).toFixed(ms < 10_000 ? 3 : 1)} s`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${n.toLocaleString('en-US')} bytes (${(n / 1024).toFixed(1)} KiB)`;
  return `${n.toLocaleString('en-US')} bytes (${(n / 1024 / 1024).toFixed(2)} MiB)`;
}

export function quote(text: string, max = 90): string {
  const t = text.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
  return JSON.stringify(t.length > max ? `${t.slice(0, max)}…` : t);
}

/** "the SHA-256/PBKDF2 exchange (arduino-esp32 ≥ 3.3.1)" from a nonce length. */
export function schemeText(nonceLength: number | undefined): string {
  if (nonceLength === 64) return 'the SHA-256/PBKDF2 challenge (64-hex nonce): arduino-esp32 core ≥ 3.3.1';
  if (nonceLength === 32)
    return 'the MD5 challenge (32-hex nonce): an ESP8266 core, or arduino-esp32 core ≤ 3.3.0';
  return `an unknown challenge (${nonceLength ?? '?'}-character nonce)`;
}

/** Same /24 (IPv4) — a rough "same network" test for evidence only. */
export function sameSubnet24(a: string, b: string): boolean | undefined {
  const pa = a.split('.');
  const pb = b.split('.');
  if (pa.length !== 4 || pb.length !== 4) return undefined;
  return pa.slice(0, 3).join('.') === pb.slice(0, 3).join('.');
}

export function isLoopbackAddress(a: string): boolean {
  return a.startsWith('127.') || a === '::1';
}

/** The invitations the uploader sent, as evidence. */
export function invitationEvidence(f: Facts): string[] {
  const o = f.o;
  if (!o) return [];
  const inv = o.sent.filter((s) => s.kind === 'invitation');
  if (inv.length === 0) return [];
  const first = inv[0]?.at ?? 0;
  const last = inv.at(-1)?.at ?? first;
  const from = o.local.udpPort === undefined ? f.local : `${f.local}:${o.local.udpPort}`;
  const gaveUp = o.outcome?.at;
  const lines = [
    `${o.invitationsSent} invitation(s) sent to ${f.target} from ${from}, ${inv.length === 1 ? at(first) : `between ${(first / 1000).toFixed(2)} s and ${(last / 1000).toFixed(2)} s`}`,
  ];
  if (f.fromDevice.length === 0)
    lines.push(
      `nothing came back from the device${gaveUp === undefined ? '' : ` (gave up ${at(gaveUp)}, ${secs(Math.max(0, gaveUp - last))} after the last invitation)`}`,
    );
  const refused = o.portRefused ?? [];
  if (refused.length > 0)
    lines.push(
      `UDP port${refused.length > 1 ? 's' : ''} ${refused.map((p) => p.port).join(' and ')} at ${f.address} answered the first invitation with ICMP "port unreachable" (within ${secs(Math.max(...refused.map((p) => p.at - first)))}, ${refused.map((p) => p.errno).join(', ')}): nothing listens there`,
    );
  for (const r of f.fromOthers.slice(0, 3))
    lines.push(`a datagram from ${r.from}:${r.fromPort} (not the device) ${at(r.at)}: ${quote(r.text)}`);
  return lines;
}

export function followUpEvidence(f: Facts): string[] {
  const fu = f.followUp;
  if (!fu) return [];
  const out: string[] = [];
  for (const p of fu.ports) {
    const why =
      p.source === 'mdns'
        ? ' (advertised over mDNS)'
        : p.source === 'esp8266-default'
          ? ' (ESP8266 default)'
          : p.source === 'esp32-default'
            ? ' (ESP32 default)'
            : '';
    if (p.outcome === 'answered')
      out.push(
        `follow-up: UDP port ${p.port}${why} answered ${quote(p.text ?? '', 50)} after ${secs(p.latencyMs ?? 0)}`,
      );
    else if (p.outcome === 'refused')
      out.push(
        `follow-up: UDP port ${p.port}${why} is closed (ICMP port unreachable after ${secs(p.latencyMs ?? 0)}): the host is there, nothing listens on that port`,
      );
    else out.push(`follow-up: UDP port ${p.port}${why}: no answer within ${secs(p.waitedMs)}`);
  }
  if (fu.tcp) {
    const t = fu.tcp;
    const what =
      t.outcome === 'refused'
        ? `refused (a host is at ${fu.address})`
        : t.outcome === 'open'
          ? 'accepted a TCP connection (a TCP service listens there — ESPHome’s own OTA uses TCP on these ports)'
          : t.outcome === 'timeout'
            ? `no answer within ${secs(t.latencyMs)} (nothing at that address, or packets are dropped)`
            : `failed: ${t.error ?? t.outcome}`;
    out.push(`follow-up: TCP connect to ${fu.address}:${t.port} ${what}`);
  }
  if (fu.mdns !== undefined) {
    if (fu.mdns.length === 0)
      out.push(
        `follow-up: no _arduino._tcp mDNS advertisement for this device within ${secs(fu.mdnsWaitMs ?? 0)}`,
      );
    for (const m of fu.mdns)
      out.push(
        `follow-up: mDNS: ${m.name} (${m.host}, ${m.addresses.join(', ')}) advertises the OTA port ${m.port}${m.authUpload === undefined ? '' : `, auth_upload=${m.authUpload ? 'yes' : 'no'}`}${m.board ? `, board=${m.board}` : ''}`,
      );
  }
  return out;
}
