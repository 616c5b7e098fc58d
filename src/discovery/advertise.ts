import { isIPv4, isIPv6 } from 'node:net';
import { debuglog } from 'node:util';
import { abortError } from '../core/abort.ts';
import { AirflashError } from '../core/errors.ts';
import {
  canonicalName,
  type DnsMessage,
  type DnsRecord,
  decodeMessage,
  encodeMessage,
  encodeTxt,
  FLAG_AUTHORITATIVE,
  FLAG_RESPONSE,
  isResponse,
} from './dns-packet.ts';
import { createMdnsTransport } from './transport.ts';
import { ARDUINO_SERVICE, type MdnsEndpoint, type MdnsTransport, SERVICES_ENUMERATION } from './types.ts';

const debug = debuglog('airflash');

export interface AdvertiseOptions {
  /** Service instance name; ArduinoOTA uses the hostname. */
  name: string;
  /** Host name, with or without `.local` (lower-cased, like the ESP32 core does). */
  hostname: string;
  /** The OTA port (SRV). */
  port: number;
  /** The service type (default `_arduino._tcp.local`; an ESPHome device: `_esphomelib._tcp.local`). */
  service?: string;
  /** IPv4 and/or IPv6 addresses for the A / AAAA records. */
  addresses: string[];
  /** TXT entries in the order the device sends them (see arduinoTxt). */
  txt: ReadonlyArray<readonly [string, string]>;
  /** TTL of every record, seconds. Default 120. Tests use 1–2 s to see expiry quickly. */
  ttl?: number;
  /**
   * Where to advertise. Default: a transport of our own pinned to the interface of the first IPv4
   * address (`interface`, `mdnsPort` tune it); it is closed by `close()`. A transport passed in is
   * left open.
   */
  transport?: MdnsTransport;
  /** Interface name or address for the transport we open. Default: the first IPv4 address. */
  interface?: string;
  /** Group port for the transport we open. Default 5353. */
  mdnsPort?: number;
  /** Send two unsolicited announcements (now and after 1 s). Default true. */
  announce?: boolean;
  /** Aborting closes the advertisement (with goodbye packets). */
  signal?: AbortSignal;
}

export interface Advertisement {
  /** Full instance name, e.g. `esp32-aabbcc._arduino._tcp.local`. */
  readonly instance: string;
  /** Full host name, e.g. `esp32-aabbcc.local`. */
  readonly host: string;
  /**
   * Stop answering. By default sends "goodbye" records (TTL 0) so browsers drop the device at
   * once; `{ goodbye: false }` models a device that lost power (browsers notice at TTL expiry).
   */
  close(options?: { goodbye?: boolean }): Promise<void>;
}

function withLocal(name: string): string {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  return /\.local$/i.test(bare) ? bare : `${bare}.local`;
}

function sameRecord(a: DnsRecord, b: DnsRecord): boolean {
  if (a.type !== b.type || canonicalName(a.name) !== canonicalName(b.name)) return false;
  switch (a.type) {
    case 'A':
    case 'AAAA':
      return b.type === a.type && a.data.toLowerCase() === b.data.toLowerCase();
    case 'PTR':
      return b.type === 'PTR' && canonicalName(a.data) === canonicalName(b.data);
    case 'SRV':
      return (
        b.type === 'SRV' &&
        a.data.port === b.data.port &&
        canonicalName(a.data.target) === canonicalName(b.data.target)
      );
    case 'TXT':
      return (
        b.type === 'TXT' &&
        a.data.length === b.data.length &&
        a.data.every((entry, i) => Buffer.compare(entry, b.data[i] as Uint8Array) === 0)
      );
    case 'OTHER':
      return false;
  }
}

/**
 * Advertise one ArduinoOTA service the way the cores do (protocol.md §6): PTR
 * `_arduino._tcp.local` → instance, SRV → host:port, TXT in the given order, A/AAAA for the host;
 * answers queries (multicast, QU-unicast and legacy unicast), suppresses known answers, announces
 * on start and says goodbye on close. No probing or conflict resolution: it is meant for the
 * emulator and tests, on loopback or a lab network.
 */
export async function advertise(options: AdvertiseOptions): Promise<Advertisement> {
  if (options.signal?.aborted) throw abortError(options.signal);
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new AirflashError('BAD_ARGUMENT', `Port ${options.port} is not a valid TCP port.`);
  }
  if (options.name === '' || options.hostname === '') {
    throw new AirflashError('BAD_ARGUMENT', 'An mDNS advertisement needs a name and a hostname.');
  }
  const bad = options.addresses.find((a) => !isIPv4(a) && !isIPv6(a));
  if (bad !== undefined) throw new AirflashError('BAD_ARGUMENT', `"${bad}" is not an IP address.`);
  const ttl = options.ttl ?? 120;
  const service = options.service ?? ARDUINO_SERVICE;
  const instance = `${options.name}.${service}`;
  const host = withLocal(options.hostname).toLowerCase();
  const owned = options.transport === undefined;
  let transport: MdnsTransport;
  if (options.transport !== undefined) {
    transport = options.transport;
  } else {
    const pin = options.interface ?? options.addresses.find((a) => isIPv4(a));
    if (pin === undefined) {
      throw new AirflashError(
        'BAD_ARGUMENT',
        'Advertising needs an IPv4 address or an interface to advertise on.',
      );
    }
    transport = await createMdnsTransport({
      interface: pin,
      ...(options.mdnsPort === undefined ? {} : { port: options.mdnsPort }),
    });
  }

  const ptr: DnsRecord = { name: service, type: 'PTR', ttl, data: instance };
  const enumeration: DnsRecord = { name: SERVICES_ENUMERATION, type: 'PTR', ttl, data: service };
  const srv: DnsRecord = {
    name: instance,
    type: 'SRV',
    ttl,
    cacheFlush: true,
    data: { priority: 0, weight: 0, port: options.port, target: host },
  };
  const txt: DnsRecord = { name: instance, type: 'TXT', ttl, cacheFlush: true, data: encodeTxt(options.txt) };
  const addressRecords: DnsRecord[] = options.addresses.map((address) =>
    isIPv4(address)
      ? { name: host, type: 'A', ttl, cacheFlush: true, data: address }
      : { name: host, type: 'AAAA', ttl, cacheFlush: true, data: address },
  );
  const all = [ptr, srv, txt, ...addressRecords, enumeration];

  const lowerService = canonicalName(service);
  const lowerEnum = canonicalName(SERVICES_ENUMERATION);
  const lowerInstance = canonicalName(instance);

  const answer = (query: DnsMessage, from: MdnsEndpoint): void => {
    const answers: DnsRecord[] = [];
    const additionals: DnsRecord[] = [];
    let unicast = false;
    for (const q of query.questions) {
      const name = canonicalName(q.name);
      const wants = (type: DnsRecord['type']): boolean => q.type === 'ANY' || q.type === type;
      let matched = false;
      if (name === lowerService && wants('PTR')) {
        answers.push(ptr);
        additionals.push(srv, txt, ...addressRecords);
        matched = true;
      }
      if (name === lowerEnum && wants('PTR')) {
        answers.push(enumeration);
        matched = true;
      }
      if (name === lowerInstance) {
        if (wants('SRV')) {
          answers.push(srv);
          additionals.push(...addressRecords);
          matched = true;
        }
        if (wants('TXT')) {
          answers.push(txt);
          matched = true;
        }
      }
      if (name === host) {
        const v4 = addressRecords.filter((r) => r.type === 'A');
        const v6 = addressRecords.filter((r) => r.type === 'AAAA');
        if (wants('A')) answers.push(...v4);
        if (wants('AAAA')) answers.push(...v6);
        if (wants('A') && !wants('AAAA')) additionals.push(...v6);
        if (wants('AAAA') && !wants('A')) additionals.push(...v4);
        matched = matched || v4.length + v6.length > 0;
      }
      if (matched && q.unicastResponse) unicast = true;
    }
    // Known-answer suppression (RFC 6762 §7.1): skip what the querier already holds with at least
    // half our TTL left.
    const known = query.answers;
    const fresh = answers.filter(
      (r, i) => answers.indexOf(r) === i && !known.some((k) => sameRecord(k, r) && k.ttl >= r.ttl / 2),
    );
    if (fresh.length === 0) return;
    const extra = additionals.filter((r, i) => additionals.indexOf(r) === i && !fresh.includes(r));
    const legacy = from.port !== transport.port;
    let bytes: Uint8Array;
    if (legacy) {
      // RFC 6762 §6.7: a one-shot querier on another port gets a conventional unicast DNS answer:
      // its id and questions echoed, no cache-flush bits, TTL at most 10 s.
      const cap = (r: DnsRecord): DnsRecord => ({ ...r, cacheFlush: false, ttl: Math.min(r.ttl, 10) });
      bytes = encodeMessage({
        id: query.id,
        flags: FLAG_RESPONSE | FLAG_AUTHORITATIVE,
        questions: query.questions,
        answers: fresh.map(cap),
        additionals: extra.map(cap),
      });
    } else {
      bytes = encodeMessage({
        flags: FLAG_RESPONSE | FLAG_AUTHORITATIVE,
        answers: fresh,
        additionals: extra,
      });
    }
    const to = legacy || unicast ? from : undefined;
    transport.send(bytes, to).catch((error: unknown) => debug('mdns answer failed: %s', String(error)));
  };

  const unsubscribe = transport.onMessage((bytes, from) => {
    let message: DnsMessage;
    try {
      message = decodeMessage(bytes);
    } catch (error) {
      debug('mdns: dropping a malformed datagram from %s: %s', from.address, String(error));
      return;
    }
    if (isResponse(message) || message.questions.length === 0) return;
    answer(message, from);
  });

  const announcement = encodeMessage({ flags: FLAG_RESPONSE | FLAG_AUTHORITATIVE, answers: all });
  let announceTimer: ReturnType<typeof setTimeout> | undefined;
  const announce = (): void => {
    transport.send(announcement).catch((error: unknown) => debug('mdns announce failed: %s', String(error)));
  };
  if (options.announce !== false) {
    announce();
    announceTimer = setTimeout(announce, 1000);
  }

  let closed = false;
  const close = async (closeOptions: { goodbye?: boolean } = {}): Promise<void> => {
    if (closed) return;
    closed = true;
    options.signal?.removeEventListener('abort', onAbort);
    if (announceTimer !== undefined) clearTimeout(announceTimer);
    unsubscribe();
    if (closeOptions.goodbye !== false) {
      const goodbye = encodeMessage({
        flags: FLAG_RESPONSE | FLAG_AUTHORITATIVE,
        answers: all.map((r) => ({ ...r, ttl: 0 })),
      });
      await transport
        .send(goodbye)
        .catch((error: unknown) => debug('mdns goodbye failed: %s', String(error)));
    }
    if (owned) await transport.close();
  };
  const onAbort = (): void => {
    void close();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  return { instance, host, close };
}
