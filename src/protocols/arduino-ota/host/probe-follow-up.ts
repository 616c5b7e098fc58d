/**
 * `followUp()`: the active check after an upload whose invitations got no answer: other ports,
 * ICMP "port unreachable", a TCP reachability test and mDNS; its result feeds `diagnose()`.
 * Same sockets and the same size-0 invitation as `probe()` (probe-socket.ts); leaves the device idle.
 */
import { throwIfAborted } from '../../../core/abort.ts';
import { AirflashError } from '../../../core/errors.ts';
import { DEFAULT_PORT } from '../../../devices/family.ts';
import { normaliseAddress } from '../../../transport/node.ts';
import { observationOf } from '../model/observation-of.ts';
import type { UploadObservation } from '../model/options.ts';
import { checkMdns, lookupMdns } from './probe-mdns.ts';
import { askPorts, openContext, sendIdle, settleAfter } from './probe-socket.ts';
import { tcpCheck } from './probe-tcp.ts';
import type { FollowUpResult, MdnsBrowse, MdnsChoice, PortCheck } from './probe-types.ts';

export interface FollowUpOptions {
  /** Wait for answers per port, ms. Default 10 000 × the upload's timeScale. */
  waitMs?: number;
  /** Extra ports to ask (besides the upload's, 3232, 8266 and the mDNS-advertised one). */
  ports?: number[];
  /** Ask mDNS for the device's advertised port (through `browse`). Default false. */
  mdns?: MdnsChoice;
  /** How to browse mDNS (needed when `mdns` is on; the caller passes discovery's). */
  browse?: MdnsBrowse;
  /** Try a TCP connection to the device (a reset proves a host is there). Default true. */
  tcp?: boolean;
  hostIp?: string;
  signal?: AbortSignal;
}

/**
 * The active check after an unanswered invitation: one probe invitation to the upload's port, to
 * 3232 and 8266 and to the port advertised over mDNS (each from its own connected socket, so an
 * ICMP "port unreachable" is seen), plus a TCP connect to the device. Leaves the device idle.
 * Pass the result to `diagnose(observation, error, { followUp })`.
 */
export async function followUp(
  observationOrError: UploadObservation | unknown,
  options: FollowUpOptions = {},
): Promise<FollowUpResult> {
  const o =
    typeof observationOrError === 'object' &&
    observationOrError !== null &&
    (observationOrError as { version?: unknown }).version === 1
      ? (observationOrError as UploadObservation)
      : observationOf(observationOrError);
  if (!o || o.target.address === undefined)
    throw new AirflashError(
      'BAD_ARGUMENT',
      'followUp() needs the observation of an upload that resolved its target.',
    );
  const { signal } = options;
  throwIfAborted(signal);
  checkMdns(options.mdns, options.browse);
  const scale = o.options.timeScale;
  const waitMs = options.waitMs ?? Math.round(10_000 * scale);
  const started = performance.now();
  const address = o.target.address;
  const mdnsPromise = lookupMdns(
    options.mdns,
    options.browse,
    o.target.host,
    normaliseAddress(address),
    signal,
  );
  const ctx = await openContext(address, {
    ...((options.hostIp ?? o.options.hostIpGiven)
      ? { hostIp: (options.hostIp ?? o.options.hostIpGiven) as string }
      : {}),
    ...(signal ? { signal } : {}),
  });
  try {
    const wanted: Array<{ port: number; source: PortCheck['source'] }> = [
      { port: o.target.port, source: 'upload' },
      { port: DEFAULT_PORT.esp32, source: 'esp32-default' },
      { port: DEFAULT_PORT.esp8266, source: 'esp8266-default' },
      ...(options.ports ?? []).map((port) => ({ port, source: 'given' as const })),
    ];
    const tcpPromise =
      options.tcp === false
        ? Promise.resolve(undefined)
        : tcpCheck(address, o.target.port, Math.min(waitMs, 3000), signal);
    const mdns = await mdnsPromise;
    for (const m of mdns?.seen ?? []) wanted.push({ port: m.port, source: 'mdns' });
    const unique = wanted.filter((w, i) => wanted.findIndex((x) => x.port === w.port) === i);
    // Every port gets the full wait: a late answer on the upload's port is the evidence of a slow loop().
    const states = await askPorts(ctx, unique, waitMs, waitMs, signal);
    await sendIdle(states);
    await settleAfter(states, scale, signal);
    const tcp = await tcpPromise;
    return {
      address,
      ports: states.map((s) => s.check),
      ...(tcp ? { tcp } : {}),
      ...(mdns ? { mdns: mdns.seen, mdnsWaitMs: mdns.waitedMs } : {}),
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await ctx.close();
  }
}
