/** Causes for an invitation that got no answer, a late answer, or an answer that is not ArduinoOTA. */
import { DEFAULT_PORT } from '../../../devices/family.ts';
import { alternatePorts } from '../../../devices/ports.ts';
import { loopEstimate as estimateLoop, type LoopPeriod } from '../model/loop-period.ts';
import { at, followUpEvidence, invitationEvidence, quote, secs } from './evidence.ts';
import type { Facts } from './facts.ts';
import type { Scored } from './types.ts';

const HANDLE_SNIPPET =
  'in loop(), replace a long delay(N) by: for (uint32_t t0 = millis(); millis() - t0 < N;) { ArduinoOTA.handle(); delay(10); }';

function uploadCmd(f: Facts, port: number): string {
  return `airflash upload -i ${f.host} -p ${port} -f FIRMWARE.bin`;
}

/** The loop period from what the upload saw (the one estimate, loop-period.ts), when it shows a slow loop. */
export function loopEstimate(f: Facts): LoopPeriod | undefined {
  return f.o ? estimateLoop(f.o, f.lateMs) : undefined;
}

/** No datagram at all from the device to any invitation. */
export function noAnswerCauses(f: Facts): Scored[] {
  const causes: Scored[] = [];
  const base = invitationEvidence(f);
  const fu = followUpEvidence(f);
  // The uploader's own port check (ICMP port unreachable to the first invitation) counts as a refusal.
  const ports = [...(f.followUp?.ports ?? [])];
  for (const r of f.o?.portRefused ?? [])
    if (!ports.some((p) => p.port === r.port))
      ports.push({ port: r.port, source: 'upload', outcome: 'refused', sent: 1, waitedMs: 0 });
  const original = ports.find((p) => p.port === f.port);
  const others = ports.filter((p) => p.port !== f.port);
  const otherAnswered = others.find((p) => p.outcome === 'answered');
  const allRefused = ports.length > 0 && ports.every((p) => p.outcome === 'refused');
  const allSilent = ports.length > 0 && ports.every((p) => p.outcome === 'silent');
  const tcp = f.followUp?.tcp;
  const hostThere =
    tcp?.outcome === 'refused' || tcp?.outcome === 'open' || ports.some((p) => p.outcome !== 'silent');
  const mdnsPort = f.followUp?.mdns?.find((m) => m.port !== f.port)?.port;
  const waitedMs = f.o?.outcome?.at ?? 0;
  const ran = f.followUp !== undefined;

  // Wrong port.
  {
    let score = 0.5;
    let title = `Wrong port? Nothing answered on UDP ${f.port}; ESP32 listens on 3232, ESP8266 on 8266 (unless the sketch calls ArduinoOTA.setPort())`;
    const evidence = [...base];
    if (otherAnswered) {
      score = 0.97;
      title = `Wrong port: the OTA service answers on port ${otherAnswered.port}, not ${f.port}`;
    } else if (mdnsPort !== undefined) {
      score = 0.9;
      title = `Wrong port: the device advertises its OTA service on port ${mdnsPort} over mDNS, not ${f.port}`;
    } else if (f.core.firm && f.core.kind === 'esp8266' && f.port !== 8266) {
      score = 0.75;
      title = `Wrong port: an ESP8266 listens on 8266 by default, the invitation went to ${f.port}`;
      evidence.push(`the device is an ESP8266: ${f.core.why}`);
    } else if (f.core.firm && f.core.kind === 'esp32' && f.port === DEFAULT_PORT.esp8266) {
      score = 0.75;
      title = 'Wrong port: an ESP32 listens on 3232 by default, the invitation went to 8266';
      evidence.push(`the device is an ESP32: ${f.core.why}`);
    } else if (ran) score = others.length > 0 ? 0.12 : 0.3;
    const tryPorts = [
      alternatePorts(f.port, undefined, undefined)[0] ?? DEFAULT_PORT.esp32,
      ...(mdnsPort === undefined ? [] : [mdnsPort]),
    ];
    const good = otherAnswered?.port ?? mdnsPort;
    causes.push({
      id: 'WRONG_PORT',
      score,
      title,
      evidence: [
        ...evidence,
        ...fu.filter((l) => !l.includes(`UDP port ${f.port} `) || l.includes('answered')),
      ],
      next:
        good !== undefined
          ? [
              uploadCmd(f, good),
              `PlatformIO: put each flag on its own line:\nupload_flags =\n    --port=${good}`,
            ]
          : [
              ran
                ? `No other port answered either (tried ${ports.map((p) => p.port).join(', ')}).`
                : `Try the other default port: ${uploadCmd(f, tryPorts[0] as number)}`,
              `airflash probe ${f.host}   (asks 3232, 8266 and the port advertised over mDNS)`,
            ],
    });
  }

  // OTA service not running at that address.
  {
    let score = 0.45;
    const ev = [...base];
    if (original?.outcome === 'refused') {
      score = allRefused ? 0.9 : 0.8;
      ev.push(...fu);
    } else if (ran && allSilent) score = 0.35;
    else if (ran) ev.push(...fu);
    if (otherAnswered) score = 0.1;
    causes.push({
      id: 'OTA_NOT_RUNNING',
      score,
      title:
        original?.outcome === 'refused'
          ? `No ArduinoOTA service listens on ${f.target}: the host is there but its UDP port ${f.port} is closed (ArduinoOTA.begin() not called, the sketch crashed or restarted, or another device has this address)`
          : `The OTA service may not be running at ${f.address} (ArduinoOTA.begin() not called after Wi-Fi connected, the sketch crashed, or the device is off)`,
      evidence: ev,
      next: [
        'Check the serial log: the sketch should print its IP address after Wi-Fi connects, and call ArduinoOTA.begin() after that (in setup()).',
        'Make sure the running firmware is the one with ArduinoOTA (a sketch uploaded over serial without it has no OTA service).',
        `airflash discover   (lists the devices that advertise an OTA service)`,
      ],
    });
  }

  // Wrong IP.
  {
    let score = 0.4;
    const ev = [...base];
    if (tcp?.outcome === 'timeout' && allSilent) score = 0.6;
    if (tcp?.outcome === 'unreachable') score = 0.8;
    if (original?.outcome === 'refused') score = 0.45;
    if (otherAnswered) score = 0.05;
    if (f.o?.target.resolvedBy === 'resolver')
      ev.push(`${f.host} was resolved to ${f.address}: a stale DNS/mDNS answer points to the wrong device`);
    if (tcp) ev.push(...fu.filter((l) => l.includes('TCP connect')));
    const mdnsElsewhere = f.followUp?.mdns?.find((m) => !m.addresses.includes(f.address));
    if (mdnsElsewhere) {
      score = Math.max(score, 0.8);
      ev.push(`mDNS: ${mdnsElsewhere.name} is at ${mdnsElsewhere.addresses.join(', ')}, not ${f.address}`);
    }
    causes.push({
      id: 'WRONG_IP',
      score,
      title: `Wrong address? ${f.address} may not be the device (its IP may have changed: DHCP)`,
      evidence: ev,
      next: [
        'Read the IP the device prints on the serial monitor, or look it up in the router’s DHCP list; give the device a DHCP reservation.',
        `ping ${f.address}`,
        'airflash discover',
      ],
    });
  }

  // loop() does not call ArduinoOTA.handle() (often enough).
  {
    const late = original?.outcome === 'answered' ? original : undefined;
    // A short budget makes a slow loop() likelier (the default 100 s budget outlasts most loops).
    const short = waitedMs > 0 && waitedMs < 60_000 * f.scale;
    let score = short ? 0.42 : 0.3;
    const ev = [...base];
    let title = `loop() may not call ArduinoOTA.handle() often enough: an ESP32 reads invitations only inside handle() (an ESP8266 without a password answers only from handle() too); the upload waited ${secs(waitedMs)}`;
    if (late) {
      score = 0.92;
      title = `loop() calls ArduinoOTA.handle() too rarely: the device answered only ${secs(late.latencyMs ?? 0)} after a later invitation, after the upload had given up (${secs(waitedMs)})`;
      ev.push(...fu.filter((l) => l.includes(`UDP port ${f.port} `)));
    } else if (original?.outcome === 'refused') score = 0.05;
    else if (ran && original?.outcome === 'silent') {
      score = Math.max(score, hostThere ? (short ? 0.58 : 0.45) : 0.3);
      ev.push(...fu.filter((l) => l.includes(`UDP port ${f.port} `) || l.includes('TCP connect')));
    }
    if (otherAnswered) score = Math.min(score, 0.1);
    causes.push({
      id: 'LOOP_BLOCKED',
      score,
      title,
      evidence: ev,
      next: [
        HANDLE_SNIPPET,
        `Or give the device more time: airflash upload -i ${f.host} -p ${f.port} --invite-timeout 300 -f FIRMWARE.bin`,
        `airflash probe ${f.host} -p ${f.port}   (measures how often handle() runs)`,
      ],
    });
  }

  // UDP blocked between here and the device.
  {
    let score = 0.3;
    if (ran && allSilent && hostThere) score = 0.55;
    if (ports.some((p) => p.outcome !== 'silent')) score = 0.05;
    causes.push({
      id: 'UDP_BLOCKED',
      score,
      title:
        'UDP may be blocked between this computer and the device (guest Wi-Fi / client isolation, another VLAN or subnet, a router or host firewall)',
      evidence: [...base, ...fu.filter((l) => l.includes('TCP connect') || l.includes('no answer'))],
      next: [
        'Put this computer on the same Wi-Fi/LAN as the device (not a guest network); disable “AP/client isolation” on the access point.',
        'Across VLANs/subnets, allow UDP to the device’s OTA port and TCP back to this computer.',
        `Check with: nc -u ${f.address} ${f.port}   (type "0 1 0 d41d8cd98f00b204e9800998ecf8427e" and Enter: an ArduinoOTA device answers)`,
      ],
    });
  }

  // Something else answered (a datagram from another address).
  if (f.fromOthers.length > 0) {
    const r = f.fromOthers[0];
    causes.push({
      id: 'ANSWER_FROM_OTHER_ADDRESS',
      score: 0.6,
      title: `An answer came from ${r?.from} instead of ${f.address}: the device may have two addresses or sit behind NAT`,
      evidence: invitationEvidence(f),
      next: [`airflash upload -i ${r?.from} -p ${r?.fromPort} -f FIRMWARE.bin`],
    });
  }
  return causes;
}

/** The device answered, but late: its loop() blocks handle(). A contributing cause. */
export function lateAnswerCause(f: Facts, weight: number): Scored | undefined {
  const o = f.o;
  if (!o) return undefined;
  const est = loopEstimate(f);
  const first = o.firstAnswerLatencyMs;
  if (est === undefined && (first === undefined || first < f.lateMs)) return undefined;
  const evidence: string[] = [];
  const firstAnswer = f.fromDevice[0];
  if (first !== undefined && firstAnswer)
    evidence.push(
      `first invitation ${at(o.sent[0]?.at ?? 0)}, first answer ${quote(firstAnswer.text, 40)} ${at(firstAnswer.at)} (${secs(first)} later${o.firstAnswerSinceLastInvitationMs !== undefined && o.firstAnswerSinceLastInvitationMs !== first ? `, ${secs(o.firstAnswerSinceLastInvitationMs)} after the invitation before it` : ''})`,
    );
  if (o.loopPeriodEvidence)
    evidence.push(...o.loopPeriodEvidence.map((l) => `gap between handle() calls: ${l}`));
  if (f.esp8266 && f.core.firm)
    evidence.push(
      'an ESP8266 answers invitations from its network callback even during delay(); only the OK after begin() and the connect wait for handle()',
    );
  const ms = est?.ms ?? first ?? 0;
  const title =
    est?.kind === 'measured'
      ? `loop() calls ArduinoOTA.handle() only about every ${secs(ms)}`
      : `loop() calls ArduinoOTA.handle() at most every ${secs(ms)} (the device answered that late)`;
  return {
    id: 'LOOP_BLOCKED',
    score: weight,
    title,
    evidence,
    next: [
      HANDLE_SNIPPET,
      `airflash upload adapts its waits to this; keep the defaults (or raise --invite-timeout / --connect-timeout if you lowered them)`,
    ],
  };
}

/** The device answered something that is not an ArduinoOTA reply. */
export function badReplyCauses(f: Facts): Scored[] {
  const text = f.deviceText ?? f.fromDevice.find((r) => r.kind === 'unknown')?.text ?? '';
  return [
    {
      id: 'NOT_ARDUINO_OTA',
      score: 0.85,
      title: `Something other than ArduinoOTA answered on ${f.target}`,
      evidence: [...invitationEvidence(f), `the answer: ${quote(text)} (not OK, AUTH <nonce> or ERR: …)`],
      next: [
        `Check the port: airflash probe ${f.host}`,
        'Another program on the device (or another host at this address) may use this UDP port.',
      ],
    },
    {
      id: 'WRONG_PORT',
      score: 0.45,
      title: 'Wrong port? The ArduinoOTA service may listen elsewhere (ESP32 3232, ESP8266 8266)',
      evidence: invitationEvidence(f),
      next: [`airflash probe ${f.host}`],
    },
  ];
}
