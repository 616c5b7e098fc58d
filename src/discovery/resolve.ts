import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, isIPv4 } from 'node:net';
import { debuglog } from 'node:util';
import { abortError } from '../core/abort.ts';
import { AirflashError } from '../core/errors.ts';
import { canonicalName, type DnsQuestion, decodeMessage, encodeMessage, isResponse } from './dns-packet.ts';
import { createMdnsTransport } from './transport.ts';
import type { DeviceRecord, MdnsTransport } from './types.ts';

const debug = debuglog('airflash');

export interface ResolveLocalOptions {
  /** Default 3000 ms. */
  timeoutMs?: number;
  /** Use this transport (left open) instead of opening one. */
  transport?: MdnsTransport;
  /** Interface name or IPv4 address for the transport we open. */
  interface?: string;
  /** Group port for the transport we open. Default 5353; tests use another one. */
  mdnsPort?: number;
  signal?: AbortSignal;
}

/** How long to keep listening after the first address, to collect the others (e.g. AAAA). */
const SETTLE_MS = 150;

function sortAddresses(addresses: Iterable<string>): string[] {
  const unique = [...new Set(addresses)];
  return [...unique.filter((a) => isIPv4(a)), ...unique.filter((a) => !isIPv4(a))];
}

const LOCAL_HINT =
  'Use the IP address (or add the device to airflash.devices.json). If names should resolve: ' +
  'Windows needs the Bonjour / mDNS service, Linux avahi-daemon with nss-mdns; routers with ' +
  'client isolation or multicast filtering block mDNS; check the device is on and on the same network.';

/**
 * Ask the mDNS group for the A / AAAA records of a `.local` name (a name without a dot gets
 * `.local` appended). Resolves with the addresses, IPv4 first; rejects with HOST_NOT_FOUND when
 * nobody answers in time.
 */
export async function resolveLocalName(name: string, options: ResolveLocalOptions = {}): Promise<string[]> {
  const signal = options.signal;
  if (signal?.aborted) throw abortError(signal);
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  const target = canonicalName(bare.includes('.') ? bare : `${bare}.local`);
  const timeoutMs = options.timeoutMs ?? 3000;
  const owned = options.transport === undefined;
  const transport =
    options.transport ??
    (await createMdnsTransport({
      ...(options.interface === undefined ? {} : { interface: options.interface }),
      ...(options.mdnsPort === undefined ? {} : { port: options.mdnsPort }),
      fallbackToEphemeral: true,
      ...(signal === undefined ? {} : { signal }),
    }));
  const found = new Set<string>();
  const timers: Array<ReturnType<typeof setTimeout>> = [];
  let unsubscribe: () => void = () => {};
  let removeAbort: () => void = () => {};
  try {
    return await new Promise<string[]>((resolve, reject) => {
      let settled = false;
      const done = (): void => {
        if (settled) return;
        settled = true;
        resolve(sortAddresses(found));
      };
      unsubscribe = transport.onMessage((bytes, from) => {
        let message: ReturnType<typeof decodeMessage>;
        try {
          message = decodeMessage(bytes);
        } catch (error) {
          debug('mdns: dropping a malformed datagram from %s: %s', from.address, String(error));
          return;
        }
        if (!isResponse(message)) return;
        const before = found.size;
        for (const record of [...message.answers, ...message.additionals]) {
          if ((record.type === 'A' || record.type === 'AAAA') && record.ttl > 0) {
            if (canonicalName(record.name) === target) found.add(record.data);
          }
        }
        if (before === 0 && found.size > 0) timers.push(setTimeout(done, SETTLE_MS));
      });
      const questions: DnsQuestion[] = [
        { name: target, type: 'A' },
        { name: target, type: 'AAAA' },
      ];
      const ask = (): void => {
        if (settled || found.size > 0) return;
        transport
          .send(encodeMessage({ questions }))
          .catch((error: unknown) => debug('mdns query failed: %s', String(error)));
      };
      ask();
      for (const at of [1000, 2000, 4000]) if (at < timeoutMs) timers.push(setTimeout(ask, at));
      timers.push(
        setTimeout(() => {
          if (found.size > 0) return done();
          settled = true;
          reject(
            new AirflashError(
              'HOST_NOT_FOUND',
              `No answer over mDNS for "${target}" within ${timeoutMs} ms.`,
              {
                hint: LOCAL_HINT,
              },
            ),
          );
        }, timeoutMs),
      );
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        reject(abortError(signal as AbortSignal));
      };
      if (signal !== undefined) {
        signal.addEventListener('abort', onAbort, { once: true });
        removeAbort = () => signal.removeEventListener('abort', onAbort);
      }
    });
  } finally {
    for (const timer of timers) clearTimeout(timer);
    unsubscribe();
    removeAbort();
    if (owned) await transport.close();
  }
}

export interface ResolveHostOptions extends ResolveLocalOptions {
  /** Devices from airflash.devices.json: a host equal to a record's name resolves to its address. */
  devices?: readonly DeviceRecord[];
  /** The OS resolver; replaceable for tests. Default: `dns.lookup` (all addresses). */
  lookup?: (host: string) => Promise<string[]>;
  /** Time allowed for the OS resolver. Default 5000 ms. */
  lookupTimeoutMs?: number;
}

async function osLookup(host: string): Promise<string[]> {
  const results = await dnsLookup(host, { all: true, verbatim: true });
  return results.map((r) => r.address);
}

function withTimeout<T>(promise: Promise<T>, ms: number, signal: AbortSignal | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    const onAbort = (): void => reject(abortError(signal as AbortSignal));
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Turn what the user typed into addresses: an IP literal (brackets allowed) is itself; a name in
 * the devices list is that device's address; otherwise the OS resolver, then for `.local` names
 * an mDNS query of our own (field-notes §2.8: many hosts cannot resolve `.local`). Fails with
 * HOST_NOT_FOUND and a hint.
 */
export async function resolveHost(host: string, options: ResolveHostOptions = {}): Promise<string[]> {
  const signal = options.signal;
  if (signal?.aborted) throw abortError(signal);
  const literal = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(literal.split('%')[0] ?? '') !== 0) return [literal];
  if (literal === '') throw new AirflashError('BAD_ARGUMENT', 'The device address is empty.');
  const wanted = canonicalName(literal);
  const record = options.devices?.find((d) => {
    const n = canonicalName(d.name);
    return n === wanted || `${n}.local` === wanted;
  });
  if (record !== undefined) {
    const { devices: _skip, ...rest } = options;
    return resolveHost(record.address, rest);
  }
  const lookup = options.lookup ?? osLookup;
  let osError: unknown;
  try {
    const addresses = await withTimeout(lookup(literal), options.lookupTimeoutMs ?? 5000, signal);
    if (addresses.length > 0) return sortAddresses(addresses);
  } catch (error) {
    if (error instanceof AirflashError && error.code === 'INTERRUPTED') throw error;
    osError = error;
    debug('resolve %s: OS resolver failed: %s', literal, String(error));
  }
  if (wanted.endsWith('.local')) {
    const { devices: _d, lookup: _l, lookupTimeoutMs: _t, ...local } = options;
    return resolveLocalName(wanted, local);
  }
  throw new AirflashError('HOST_NOT_FOUND', `Cannot resolve "${literal}".`, {
    hint: 'Check the spelling, or use the IP address (the serial monitor or your router shows it).',
    cause: osError,
    data: { host: literal },
  });
}
