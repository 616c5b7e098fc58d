/** Causes for "the device said OK but never connected back". */
import { DEFAULT_PORT } from '../../../devices/family.ts';
import { at, bytes, isLoopbackAddress, sameSubnet24, secs } from './evidence.ts';
import type { Facts } from './facts.ts';
import type { Scored } from './types.ts';

/** The default 4 MB scheme's app slots (0x140000): the size most ESP32 sketches get. */
const DEFAULT_SLOT = 0x140000;

/** Commands that allow incoming TCP on `port` (the port the device connects back to). */
export function firewallCommands(port: number | undefined): string[] {
  const p = port === undefined ? 'PORT' : String(port);
  return [
    `Windows (PowerShell as administrator): New-NetFirewallRule -DisplayName "airflash OTA ${p}" -Direction Inbound -Protocol TCP -LocalPort ${p} -Action Allow -Profile Private,Domain`,
    `Windows (cmd as administrator): netsh advfirewall firewall add rule name="airflash OTA ${p}" dir=in action=allow protocol=TCP localport=${p}`,
    'Windows: also make sure the Wi-Fi/LAN profile is "Private" (Settings → Network → Properties); rules for Public networks block it.',
    'macOS (the firewall is per application): sudo /usr/libexec/ApplicationFirewall/socketfilterfw --add "$(command -v node)" && sudo /usr/libexec/ApplicationFirewall/socketfilterfw --unblockapp "$(command -v node)"',
    `Linux (ufw): sudo ufw allow ${p}/tcp`,
    `Linux (firewalld): sudo firewall-cmd --add-port=${p}/tcp   (add --permanent to keep it)`,
    `Linux (iptables): sudo iptables -I INPUT -p tcp --dport ${p} -j ACCEPT`,
  ];
}

function connectEvidence(f: Facts): string[] {
  const o = f.o;
  if (!o || o.okAt === undefined) return [];
  const c = o.connect;
  const tcp = o.local.tcpPort;
  const lines = [
    `the device said OK ${at(o.okAt)}${o.auth ? ' (after the auth line)' : ''}`,
    `nothing connected to ${f.local}:${tcp ?? '?'} (TCP) within ${secs(c?.waitMs ?? o.options.connectTimeoutMs)} after it`,
  ];
  if (c && c.probes > 0)
    lines.push(
      c.probeAnsweredAt !== undefined
        ? `it answered a new invitation ${at(c.probeAnsweredAt)}, ${secs(c.probeAnsweredAt - o.okAt)} after its OK: it was idle again, i.e. it had already given up on this update`
        : `it stayed silent to ${c.probes} new invitation(s): busy (a long loop(), or a connect attempt that hangs until it times out)`,
    );
  for (const r of c?.refused ?? [])
    lines.push(
      `a connection came from ${r.from} ${at(r.at)}, not from the device (${f.address}); it was refused`,
    );
  lines.push(
    `local address ${f.local} (${o.local.addressFrom === 'option' ? 'chosen with -I' : o.local.addressFrom === 'route' ? 'the one that routes to the device' : o.local.addressFrom === 'loopback' ? 'loopback' : 'any'}), TCP port ${tcp ?? '?'} ${o.options.hostPortFixed ? '(fixed with -P)' : '(chosen by the system; it changes every run)'}`,
  );
  return lines;
}

export function noConnectCauses(f: Facts): Scored[] {
  const o = f.o;
  const causes: Scored[] = [];
  const ev = connectEvidence(f);
  const tcpPort = o?.local.tcpPort;
  const refusedOthers = o?.connect?.refused ?? [];
  const subnet = sameSubnet24(f.local, f.address);
  const loop = isLoopbackAddress(f.address);
  const idleAgain = o?.connect?.probeAnsweredAt !== undefined;

  // Image too big for the ESP32 slot: Update.begin() fails silently after the OK.
  const size = o?.image.size;
  const esp32Possible = !(f.esp8266 && f.core.firm);
  let tooBig = 0.05;
  const bigEv: string[] = [];
  if (esp32Possible && size !== undefined) {
    if (f.slot && f.slot.size > 0) {
      if (size > f.slot.size) {
        tooBig = f.esp32 || f.port === DEFAULT_PORT.esp32 ? 0.95 : 0.8;
        bigEv.push(
          `the image has ${bytes(size)}; ${f.slot.source} holds ${bytes(f.slot.size)}: it does not fit`,
        );
      } else {
        tooBig = 0.04;
        bigEv.push(`the image has ${bytes(size)} and fits ${f.slot.source} (${bytes(f.slot.size)})`);
      }
    } else if (f.slot && f.slot.size === 0) {
      tooBig = 0.85;
      bigEv.push(`${f.slot.source}: there is no slot to write the update to`);
    } else {
      // Bigger than the default scheme's slot, and the device was idle again right after its OK
      // (begin() failed at once): the likeliest reading, ahead of a firewall.
      tooBig = size > DEFAULT_SLOT ? (idleAgain ? 0.8 : 0.6) : 0.25;
      bigEv.push(
        `the image has ${bytes(size)}; the slot size is unknown (the default 4 MB scheme's app slots hold ${bytes(DEFAULT_SLOT)}${size > DEFAULT_SLOT ? ', which this image exceeds' : ''})`,
      );
    }
    bigEv.push(
      'an ESP32 says OK before Update.begin(); when begin() fails (image bigger than the slot) it sends nothing and never connects — exactly like a blocked connection',
    );
    if (idleAgain)
      bigEv.push(
        'it answered again soon after its OK: consistent with begin() failing at once (and with a connection rejected at once); a connection whose packets are dropped keeps an ESP32 busy for seconds',
      );
    causes.push({
      id: 'IMAGE_TOO_BIG_FOR_SLOT',
      score: tooBig,
      title:
        tooBig >= 0.7
          ? 'The image is too big for the OTA slot: the ESP32 said OK, then its Update.begin() failed silently'
          : 'On ESP32 an image too big for the OTA slot looks the same (OK, then no connection)',
      evidence: [...ev.slice(0, 2), ...bigEv],
      next: [
        `airflash partitions SCHEME --firmware FIRMWARE.bin   (or give --partitions SCHEME to the upload: its pre-flight check then compares the size with the slot)`,
        'Pick a partition scheme with bigger OTA slots (e.g. min_spiffs: 2 × 1.9 MB on 4 MB flash); changing the scheme needs one serial upload.',
        'The device log shows it: "Begin Failed" / "Bad Size Given" (too big) vs "Connect Failed" (network).',
      ],
    });
  }

  // Host firewall.
  {
    let score = 0.75;
    if (refusedOthers.length > 0) score = 0.3;
    if (tooBig >= 0.9) score = 0.4;
    else if (tooBig >= 0.75) score = 0.55;
    causes.push({
      id: 'HOST_FIREWALL',
      score,
      title: `The firewall of this computer probably blocks the device's connection to TCP port ${tcpPort ?? '?'}`,
      evidence: [
        ...ev,
        ...(bigEv.length > 0 && f.slot && f.slot.size > 0 && size !== undefined && size <= f.slot.size
          ? [
              `the image fits the slot (${bytes(size)} ≤ ${bytes(f.slot.size)}), so it is not a failed begin()`,
            ]
          : []),
      ],
      next: [
        ...firewallCommands(tcpPort),
        `Pin the port so that one rule keeps working: airflash upload -P ${tcpPort ?? 50000} … (espota -P), and allow that port.`,
      ],
    });
  }

  // Wrong local interface, VPN, NAT.
  {
    let score = 0.3;
    const ivEv = [...ev.filter((l) => l.startsWith('local address') || l.includes('connection came from'))];
    if (refusedOthers.length > 0) score = 0.85;
    else if (!loop && subnet === false) {
      score = 0.6;
      ivEv.push(
        `${f.local} and ${f.address} are not in the same /24 network: the traffic is routed (VPN, another subnet); the device connects back to the address it saw our datagram come from`,
      );
    } else if (o?.local.addressFrom === 'option') {
      score = 0.45;
      ivEv.push(
        `-I ${f.local} was given: the device connects back to the address it saw the invitation come from`,
      );
    }
    if (loop) score = Math.min(score, 0.1);
    causes.push({
      id: 'WRONG_INTERFACE',
      score,
      title:
        refusedOthers.length > 0
          ? 'The connection came from another address than the device: NAT or a second network path between you and the device'
          : 'The wrong local network interface or a VPN may be in the way (the device connects back to the address it saw)',
      evidence: ivEv,
      next: [
        'Disconnect the VPN (or allow LAN access in it), and make sure this computer is on the device’s network.',
        `Choose the interface on the device network: airflash upload -I YOUR_LAN_IP -i ${f.host} …`,
        `See which interface is used: ip route get ${f.address}  |  route get ${f.address} (macOS)  |  Find-NetRoute -RemoteIPAddress ${f.address} (Windows)`,
      ],
    });
  }

  // Busy the whole time: a loop that never came back to handle(), or a connect attempt stuck in timeouts.
  const c = o?.connect;
  if (c && c.probes > 0 && c.probeAnsweredAt === undefined)
    causes.push({
      id: 'DEVICE_BUSY',
      score: 0.5,
      title:
        'The device stayed busy after its OK: its loop() did not return to handle(), or its connection attempt hangs (packets dropped by a firewall)',
      evidence: ev,
      next: [
        `Check the device log for "Connect Failed" (network) or a crash; then allow TCP port ${tcpPort ?? '?'} (see HOST_FIREWALL).`,
        `airflash probe ${f.host} -p ${f.port}`,
      ],
    });
  return causes;
}
