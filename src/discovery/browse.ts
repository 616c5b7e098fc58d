import { debuglog } from 'node:util';
import { inferCore } from './core.ts';
import {
  canonicalName,
  type DnsQuestion,
  type DnsRecord,
  decodeMessage,
  decodeTxt,
  encodeMessage,
  isResponse,
} from './dns-packet.ts';
import { parseEsphomeTxt } from './esphome-txt.ts';
import { createMdnsTransport } from './transport.ts';
import {
  ARDUINO_SERVICE,
  BROWSED_SERVICES,
  type DiscoveredDevice,
  type DiscoveryEvent,
  ESPHOME_SERVICE,
  type MdnsEndpoint,
  type MdnsTransport,
} from './types.ts';

const debug = debuglog('airflash');

export interface DiscoverOptions {
  /**
   * How long to browse. Default 3000 ms; with `watch` the default is "until aborted", and a given
   * value bounds the watch.
   */
  timeoutMs?: number;
  /** Keep browsing, re-query as records age, and report `down` when a device's records expire. */
  watch?: boolean;
  /** Interface name or IPv4 address (see selectInterfaces). Ignored when `transport` is given. */
  interface?: string;
  /** Group port for the transport we open. Default 5353; tests use another one. */
  mdnsPort?: number;
  /** An mDNS transport to use instead of opening one; it is not closed at the end. */
  transport?: MdnsTransport;
  /** Aborting ends the iteration (without an error) after the events seen so far. */
  signal?: AbortSignal;
  /**
   * The services to browse, of BROWSED_SERVICES. Default `_arduino._tcp.local` only: a list that
   * updates its devices as ArduinoOTA (fleet, dashboard) never sees an ESPHome device's API port.
   */
  services?: readonly string[];
  /** Longest pause between browse queries. Default 30 000 ms (arduino mdns-discovery's cadence). */
  maxQueryIntervalMs?: number;
}

/** How long a device with SRV and addresses but no TXT yet waits before being reported anyway. */
const TXT_GRACE_MS = 1000;
const TICK_MS = 100;
const FOLLOW_UP_INTERVAL_MS = 1000;
const FOLLOW_UP_LIMIT = 4;
const SERVICES = BROWSED_SERVICES.map((x) => canonicalName(x));
/** The browsed service an instance name belongs to (`name.service`), if any. */
const serviceOf = (instance: string): string | undefined => SERVICES.find((x) => instance.endsWith(`.${x}`));

interface CacheEntry {
  record: DnsRecord;
  receivedAt: number;
  expiresAt: number;
  /** Refresh queries already sent for this record (RFC 6762 §5.2: at 80 % and 90 % of its TTL). */
  refreshes: number;
}

interface Tracked {
  firstSeen: number;
  emitted: DiscoveredDevice | undefined;
  signature: string;
  lastFollowUp: number;
  followUps: number;
}

function recordKey(record: DnsRecord): string {
  const name = canonicalName(record.name);
  switch (record.type) {
    case 'A':
    case 'AAAA':
      return `${name}|${record.type}|${record.data.toLowerCase()}`;
    case 'PTR':
      return `${name}|PTR|${canonicalName(record.data)}`;
    case 'SRV':
      return `${name}|SRV|${record.data.port}|${canonicalName(record.data.target)}`;
    case 'TXT':
      return `${name}|TXT`;
    case 'OTHER':
      return `${name}|${record.code}`;
  }
}

function instanceLabel(instance: string): string {
  const service = serviceOf(canonicalName(instance)) ?? '';
  return instance.slice(0, instance.length - service.length - 1);
}

/**
 * Browse `_arduino._tcp.local` and `_esphomelib._tcp.local` and report devices as they appear (`up`), change (`update`) and,
 * when their records expire or say goodbye, disappear (`down`). A device is reported once its
 * PTR, SRV and at least one address are known and its TXT too (or TXT did not come within 1 s);
 * missing records are asked for with follow-up queries.
 *
 * ```ts
 * for await (const event of discover({ timeoutMs: 3000 })) console.log(event.type, event.device.name);
 * ```
 */
export async function* discover(
  options: DiscoverOptions = {},
): AsyncGenerator<DiscoveryEvent, void, undefined> {
  const signal = options.signal;
  if (signal?.aborted) return;
  const watch = options.watch === true;
  const timeoutMs = options.timeoutMs ?? (watch ? Number.POSITIVE_INFINITY : 3000);
  const maxInterval = options.maxQueryIntervalMs ?? 30_000;
  const wanted = (options.services ?? [ARDUINO_SERVICE])
    .map((x) => canonicalName(x))
    .filter((x) => SERVICES.includes(x));
  const owned = options.transport === undefined;
  const transport =
    options.transport ??
    (await createMdnsTransport({
      ...(options.interface === undefined ? {} : { interface: options.interface }),
      ...(options.mdnsPort === undefined ? {} : { port: options.mdnsPort }),
      fallbackToEphemeral: true,
      ...(signal === undefined ? {} : { signal }),
    }));

  const cache = new Map<string, CacheEntry>();
  const tracked = new Map<string, Tracked>();
  const queue: DiscoveryEvent[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  const finish = (): void => {
    finished = true;
    wake?.();
  };
  const push = (event: DiscoveryEvent): void => {
    queue.push(event);
    wake?.();
  };

  const send = (questions: DnsQuestion[]): void => {
    if (questions.length === 0 || finished) return;
    const bytes = encodeMessage({ questions });
    transport.send(bytes).catch((error: unknown) => debug('mdns query failed: %s', String(error)));
  };

  const entriesFor = (name: string, type: DnsRecord['type']): CacheEntry[] => {
    const out: CacheEntry[] = [];
    for (const entry of cache.values()) {
      if (entry.record.type === type && canonicalName(entry.record.name) === name) out.push(entry);
    }
    return out;
  };

  const build = (instance: string, now: number): { device?: DiscoveredDevice; missing: DnsQuestion[] } => {
    const missing: DnsQuestion[] = [];
    const srvEntry = entriesFor(instance, 'SRV')[0];
    const txtEntry = entriesFor(instance, 'TXT')[0];
    if (srvEntry === undefined) missing.push({ name: instance, type: 'SRV' });
    if (txtEntry === undefined) missing.push({ name: instance, type: 'TXT' });
    if (srvEntry === undefined || srvEntry.record.type !== 'SRV') return { missing };
    const srv = srvEntry.record.data;
    const target = canonicalName(srv.target);
    const v4 = entriesFor(target, 'A');
    const v6 = entriesFor(target, 'AAAA');
    const addresses = [...v4, ...v6].map((e) =>
      e.record.type === 'A' || e.record.type === 'AAAA' ? e.record.data : '',
    );
    if (addresses.length === 0) missing.push({ name: target, type: 'A' }, { name: target, type: 'AAAA' });
    const state = tracked.get(instance);
    const waitedForTxt = state !== undefined && now - state.firstSeen >= TXT_GRACE_MS;
    if (addresses.length === 0 || (txtEntry === undefined && !waitedForTxt)) return { missing };
    const pairs =
      txtEntry !== undefined && txtEntry.record.type === 'TXT' ? decodeTxt(txtEntry.record.data) : [];
    const txt: Record<string, string> = {};
    for (const [k, v] of pairs) if (!(k in txt)) txt[k] = v;
    const lastSeen = Math.max(
      ...[srvEntry, txtEntry, ...v4, ...v6, ...entriesFor(serviceOf(instance) ?? '', 'PTR')]
        .filter((e): e is CacheEntry => e !== undefined)
        .map((e) => e.receivedAt),
    );
    const device: DiscoveredDevice = {
      name: instanceLabel(
        srvEntry.record.name.endsWith('.') ? srvEntry.record.name.slice(0, -1) : srvEntry.record.name,
      ),
      host: srv.target.endsWith('.') ? srv.target.slice(0, -1) : srv.target,
      addresses,
      port: srv.port,
      txt,
      lastSeen,
    };
    const board = pairs.find(([k]) => k.toLowerCase() === 'board')?.[1];
    if (board !== undefined) device.board = board;
    const auth = pairs.find(([k]) => k.toLowerCase() === 'auth_upload')?.[1];
    if (auth !== undefined) device.authUpload = auth.toLowerCase() === 'yes';
    const service = serviceOf(instance);
    if (service !== undefined) device.service = service.replace(/\.local$/, '');
    if (service === canonicalName(ESPHOME_SERVICE)) device.esphome = parseEsphomeTxt(pairs);
    else {
      const core = inferCore(pairs, srv.port);
      if (core !== undefined) device.core = core;
    }
    return { device, missing };
  };

  const evaluate = (now: number): void => {
    const instances = new Set<string>();
    for (const service of wanted)
      for (const entry of entriesFor(service, 'PTR')) {
        if (entry.record.type !== 'PTR') continue;
        const instance = canonicalName(entry.record.data);
        if (serviceOf(instance) === service) instances.add(instance);
      }
    const followUps: DnsQuestion[] = [];
    for (const instance of instances) {
      let state = tracked.get(instance);
      if (state === undefined) {
        state = { firstSeen: now, emitted: undefined, signature: '', lastFollowUp: 0, followUps: 0 };
        tracked.set(instance, state);
      }
      const { device, missing } = build(instance, now);
      if (device !== undefined) {
        const { lastSeen: _ignored, ...rest } = device;
        const signature = JSON.stringify(rest);
        if (state.emitted === undefined) push({ type: 'up', device: structuredClone(device) });
        else if (signature !== state.signature) push({ type: 'update', device: structuredClone(device) });
        state.emitted = device;
        state.signature = signature;
        state.followUps = 0;
      } else if (state.emitted !== undefined) {
        push({ type: 'down', device: structuredClone(state.emitted) });
        state.emitted = undefined;
        state.signature = '';
      }
      if (
        missing.length > 0 &&
        now - state.lastFollowUp >= FOLLOW_UP_INTERVAL_MS &&
        state.followUps < FOLLOW_UP_LIMIT
      ) {
        state.lastFollowUp = now;
        state.followUps += 1;
        followUps.push(...missing);
      }
    }
    for (const [instance, state] of tracked) {
      if (instances.has(instance)) continue;
      if (state.emitted !== undefined) push({ type: 'down', device: structuredClone(state.emitted) });
      tracked.delete(instance);
    }
    send(followUps);
  };

  const store = (record: DnsRecord, now: number): void => {
    if (record.type === 'OTHER') return;
    if (record.type === 'SRV' || record.type === 'TXT') {
      const service = serviceOf(canonicalName(record.name));
      if (service === undefined || !wanted.includes(service)) return;
    }
    if (record.type === 'PTR' && !wanted.includes(canonicalName(record.name))) return;
    const key = recordKey(record);
    if (record.ttl === 0) {
      cache.delete(key);
      return;
    }
    if (record.cacheFlush) {
      // RFC 6762 §10.2: a cache-flush record replaces the others of its name and type that are
      // older than one second.
      const name = canonicalName(record.name);
      for (const [k, entry] of cache) {
        if (
          k !== key &&
          entry.record.type === record.type &&
          canonicalName(entry.record.name) === name &&
          now - entry.receivedAt > 1000
        ) {
          cache.delete(k);
        }
      }
    }
    cache.set(key, { record, receivedAt: now, expiresAt: now + record.ttl * 1000, refreshes: 0 });
  };

  const onMessage = (bytes: Uint8Array, from: MdnsEndpoint): void => {
    let message: ReturnType<typeof decodeMessage>;
    try {
      message = decodeMessage(bytes);
    } catch (error) {
      debug('mdns: dropping a malformed datagram from %s: %s', from.address, String(error));
      return;
    }
    if (!isResponse(message)) return;
    const now = Date.now();
    for (const record of [...message.answers, ...message.additionals]) store(record, now);
    evaluate(now);
  };

  /** Expire old records; ask again for records of reported devices at 80 % and 90 % of their TTL. */
  const tick = (): void => {
    const now = Date.now();
    const refresh: DnsQuestion[] = [];
    const asked = new Set<string>();
    for (const [key, entry] of cache) {
      if (now >= entry.expiresAt) {
        cache.delete(key);
        continue;
      }
      const life = entry.expiresAt - entry.receivedAt;
      const due = entry.refreshes === 0 ? 0.8 : entry.refreshes === 1 ? 0.9 : Number.POSITIVE_INFINITY;
      if (now - entry.receivedAt >= life * due) {
        entry.refreshes += 1;
        const q: DnsQuestion = {
          name: entry.record.name,
          type: entry.record.type === 'OTHER' ? 'ANY' : entry.record.type,
        };
        const id = `${canonicalName(q.name)}|${String(q.type)}`;
        if (!asked.has(id) && isOfInterest(entry)) {
          asked.add(id);
          refresh.push(q);
        }
      }
    }
    send(refresh);
    evaluate(now);
  };

  /** Only records that belong to a device we track are worth a refresh query. */
  const isOfInterest = (entry: CacheEntry): boolean => {
    const name = canonicalName(entry.record.name);
    if (entry.record.type === 'PTR') return [...tracked.values()].some((t) => t.emitted !== undefined);
    if (entry.record.type === 'SRV' || entry.record.type === 'TXT')
      return tracked.get(name)?.emitted !== undefined;
    for (const state of tracked.values()) {
      if (state.emitted !== undefined && canonicalName(state.emitted.host) === name) return true;
    }
    return false;
  };

  const unsubscribe = transport.onMessage(onMessage);
  const onAbort = (): void => finish();
  signal?.addEventListener('abort', onAbort, { once: true });
  const timers: Array<ReturnType<typeof setTimeout>> = [];
  const ticker = setInterval(tick, TICK_MS);
  let interval = 1000;
  let queryTimer: ReturnType<typeof setTimeout> | undefined;
  const browse = (): void => {
    send(wanted.map((name) => ({ name, type: 'PTR' as const })));
    queryTimer = setTimeout(browse, interval);
    interval = Math.min(interval * 2, maxInterval);
  };
  try {
    if (Number.isFinite(timeoutMs)) timers.push(setTimeout(finish, Math.max(0, timeoutMs)));
    browse();
    for (;;) {
      while (queue.length > 0) {
        const event = queue.shift() as DiscoveryEvent;
        yield event;
      }
      if (finished) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    finished = true;
    clearInterval(ticker);
    if (queryTimer !== undefined) clearTimeout(queryTimer);
    for (const timer of timers) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    unsubscribe();
    if (owned) await transport.close();
  }
}

/** Browse once and return the devices found (the last state of each), sorted by name. */
export async function discoverAll(options: Omit<DiscoverOptions, 'watch'> = {}): Promise<DiscoveredDevice[]> {
  const devices = new Map<string, DiscoveredDevice>();
  for await (const event of discover(options)) {
    const key = event.device.name.toLowerCase();
    if (event.type === 'down') devices.delete(key);
    else devices.set(key, event.device);
  }
  return [...devices.values()].sort((a, b) => a.name.localeCompare(b.name));
}
