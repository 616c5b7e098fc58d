/** Causes for a transfer that stalled, was cut, or never got its final OK. */
import { at, secs } from './evidence.ts';
import type { Facts } from './facts.ts';
import type { Scored } from './types.ts';

function progressEvidence(f: Facts): string[] {
  const o = f.o;
  const t = o?.transfer;
  if (!o || !t) return [];
  const size = o.image.size ?? 0;
  const pct = size > 0 ? Math.floor((100 * t.bytesConfirmed) / size) : 0;
  const lines = [
    `the device connected ${at(o.connect?.connectedAt ?? t.startedAt)} and confirmed about ${t.bytesConfirmed} of ${size} bytes (${pct} %) in ${t.countChunks} count(s); ${t.bytesSent} were handed to the network (the host's socket buffers are not the device)`,
  ];
  const same = o.sameOffset;
  if (same)
    lines.push(
      `all ${same.attempts} attempts failed at about the same offset (${same.offsets.join(', ')} bytes confirmed): a weak link fails at random points, so this points at the image or the device's flash there`,
    );
  if (t.lastDeviceDataAt !== undefined)
    lines.push(
      `its last reply came ${at(t.lastDeviceDataAt)}${t.endedAt === undefined ? '' : `; the transfer ended ${at(t.endedAt)} (${secs(t.endedAt - t.lastDeviceDataAt)} later)`}`,
    );
  else lines.push('the device never sent a count');
  return lines;
}

/** "no reply for 9.1 s (stall timeout 5.0 s + 4.1 s flash-pause allowance)": the wait in force. */
function silenceText(o: Facts['o']): string {
  const t = o?.transfer;
  const stall = o?.options.stallTimeoutMs ?? 0;
  const limit = t?.silenceLimitMs ?? stall;
  const allowance = limit - stall;
  return allowance > 0
    ? `no reply for ${secs(limit)} (stall timeout ${secs(stall)} + ${secs(allowance)} flash-pause allowance for the bytes the device may still be writing to flash)`
    : `no reply for ${secs(limit)} (stall timeout)`;
}

const RETRY = (f: Facts): string =>
  `airflash upload -i ${f.host} -p ${f.port} --retries 3 -f FIRMWARE.bin   (the device keeps its old firmware after a failed transfer)`;

const LINK = [
  'Improve the link: move the device or the access point closer, check WiFi.RSSI() on the device (better than -70 dBm), avoid VPNs and mesh hops.',
  'In the sketch, ArduinoOTA.setTimeout(5000) raises the ESP32’s 1 s receive timeout (arduino-esp32 #8642).',
];

export function stallCauses(f: Facts): Scored[] {
  const o = f.o;
  const t = o?.transfer;
  const ev = progressEvidence(f);
  const end = t?.end;
  const causes: Scored[] = [];
  if (end === 'stall' || f.code === 'TRANSFER_STALLED') {
    ev.push(
      end === 'deadline'
        ? `the device kept answering but the transfer passed its deadline of ${secs(t?.deadlineMs ?? 0)} (the image at the slowest accepted rate plus the fixed waits)`
        : `${silenceText(o)}; ${f.esp8266 ? 'an ESP8266 has no receive timeout: it waits as long as the connection stays open' : 'an ESP32 gives up after 1 s without data (then re-sends its last count 3 times, ~4 s)'}`,
    );
    causes.push({
      id: 'WEAK_LINK_STALL',
      score: 0.85,
      title: 'The transfer stalled: the link to the device is too weak or too slow',
      evidence: ev,
      next: [RETRY(f), ...LINK],
    });
    causes.push({
      id: 'DEVICE_RESET',
      score: 0.35,
      title: 'The device may have crashed or rebooted during the transfer (watchdog, power)',
      evidence: progressEvidence(f),
      next: [
        'Check the device log for a reset reason; a heavy onProgress callback or a weak power supply can cause it.',
      ],
    });
  } else if (end === 'eof') {
    const esp32 = !f.esp8266;
    // "Receive Failed" closes only after ~1 s without data; a close right after a count is not that.
    const quiet =
      t?.endedAt !== undefined && t.lastDeviceDataAt !== undefined
        ? t.endedAt - t.lastDeviceDataAt
        : undefined;
    const abrupt = quiet !== undefined && quiet < 800 * f.scale;
    causes.push({
      id: 'WEAK_LINK_STALL',
      score: abrupt ? 0.5 : esp32 ? 0.75 : 0.5,
      title:
        'The device closed the connection before the end: it waited too long for data (a weak link) or gave up',
      evidence: [
        ...ev,
        abrupt
          ? `it closed the connection ${secs(quiet)} after its last count, without OK or an error text — not after the 1 s of silence that makes an ESP32 give up ("Receive Failed")`
          : 'the device closed the connection without OK or an error text: an ESP32 does that after 1 s without data ("Receive Failed")',
      ],
      next: [RETRY(f), ...LINK],
    });
    causes.push({
      id: 'DEVICE_RESET',
      score: abrupt ? 0.72 : 0.45,
      title: 'The device may have rebooted, crashed or dropped the connection during the transfer',
      evidence: progressEvidence(f),
      next: [RETRY(f), 'Check the device log for a reset reason (watchdog, brown-out, exception).'],
    });
  } else if (end === 'reset') {
    causes.push({
      id: 'DEVICE_RESET',
      score: 0.75,
      title:
        'The connection broke: the device rebooted/crashed, lost power or dropped off Wi-Fi during the transfer',
      evidence: ev,
      next: [
        RETRY(f),
        'Check the device log for a reset reason (watchdog, brown-out, exception).',
        ...LINK.slice(0, 1),
      ],
    });
    causes.push({
      id: 'WEAK_LINK_STALL',
      score: 0.45,
      title: 'A weak link can also break the connection',
      evidence: progressEvidence(f),
      next: LINK,
    });
  } else if (end === 'result-timeout') {
    causes.push({
      id: 'NO_RESULT',
      score: 0.75,
      title: 'The device received every byte but did not confirm the update',
      evidence: [...ev, `waited ${secs(o?.options.resultTimeoutMs ?? 0)} for OK after the last count`],
      next: [
        'Check whether the device rebooted into the new firmware (airflash probe, its log or web page).',
        `Large images take time to verify: raise --result-timeout; upload again if it still runs the old firmware.`,
      ],
    });
  } else if (end === 'aborted') {
    causes.push({
      id: 'INTERRUPTED',
      score: 0.9,
      title: 'The upload was interrupted on this computer',
      evidence: ev,
      next: ['The device keeps its old firmware. Run the upload again.'],
    });
  } else {
    causes.push({
      id: 'WEAK_LINK_STALL',
      score: 0.6,
      title: 'The transfer did not complete',
      evidence: ev,
      next: [RETRY(f), ...LINK],
    });
  }
  return causes;
}

/** Every attempt (with --retries) failed at about the same offset: not the link (upload.ts notes it). */
export function sameOffsetCauses(f: Facts): Scored[] {
  const same = f.o?.sameOffset;
  if (!same) return [];
  const size = f.o?.image.size ?? 0;
  const pct = size > 0 ? Math.floor((100 * Math.min(...same.offsets)) / size) : 0;
  return [
    {
      id: 'SAME_OFFSET',
      score: 0.97,
      title: `Every attempt failed at the same point (about ${pct} %): the image or the device's flash there, not the link`,
      evidence: progressEvidence(f),
      next: [
        'Check the image: rebuild it, and run airflash image FIRMWARE.bin (a truncated or damaged file fails at the same place).',
        "If the image is good, the device's flash may be failing in that region: try another partition scheme (the other OTA slot), or flash once over serial.",
      ],
    },
  ];
}
