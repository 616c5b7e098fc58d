/**
 * Telling web updaters apart from the replies to read-only requests, in the safe order of
 * protocols-next.md §2.7: `GET /` (Tasmota's `Server: Tasmota/<version> (<hardware>)` header),
 * `GET /json/info` (WLED's JSON), `GET /update/identity` (ElegantOTA v2 / AsyncElegantOTA),
 * `GET /update` (401 = protected, and its scheme; ElegantOTA v3's page; HTTPUpdateServer's form
 * with `firmware` and `filesystem`; 404/405 with ESPHome's page at `/` = ESPHome web_server,
 * whose OTA answers POST only). Nothing here has a side effect on the device: the requests that
 * do (`/ota/start`, any POST, `/u4`, `/cm?cmnd=Upgrade`) are never part of identification.
 */
import { parseChallenges } from './auth.ts';
import type { HttpReply, ProfileId } from './profiles/index.ts';

/** The read-only requests of identification, in order. */
export const IDENTIFY_PATHS = ['/', '/json/info', '/update/identity', '/update'] as const;
export type IdentifyPath = (typeof IDENTIFY_PATHS)[number];

export type Need = 'auth' | 'origin' | 'referer' | 'pin' | 'ota-unlock' | 'same-subnet';

export interface WebIdentity {
  /** The firmware that answers, undefined when no web updater was recognised. */
  profile?: ProfileId;
  /** Something answered HTTP at all. */
  http: boolean;
  /** The firmware version it reports (Tasmota's Server header, WLED's `ver`). */
  version?: string;
  /** WLED's `release` (the release name its updates must match). */
  release?: string;
  /** The chip family it reports (`esp32`, `esp8266`). */
  chip?: 'esp32' | 'esp8266';
  /** The auth scheme `GET /update` (or `/up`) asked for. */
  auth?: 'basic' | 'digest';
  /** What an upload will need (auth, the Origin/Referer rule, WLED's PIN or OTA unlock). */
  needs: Need[];
  /** `Server` header, for the report. */
  server?: string;
}

function json(reply: HttpReply | undefined): Record<string, unknown> | undefined {
  if (reply === undefined || reply.status !== 200) return undefined;
  try {
    const v: unknown = JSON.parse(reply.body);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function chipOf(text: unknown): 'esp32' | 'esp8266' | undefined {
  if (typeof text !== 'string') return undefined;
  if (/esp8266/i.test(text)) return 'esp8266';
  if (/esp32/i.test(text)) return 'esp32';
  return undefined;
}

function authOf(reply: HttpReply | undefined): 'basic' | 'digest' | undefined {
  if (reply?.status !== 401) return undefined;
  const schemes = parseChallenges(reply.headers['www-authenticate'] ?? '').map((c) => c.scheme);
  if (schemes.includes('digest')) return 'digest';
  return 'basic';
}

/**
 * The identity from the replies (a missing reply: that request failed or was not made). The
 * first step that recognises a firmware decides.
 */
export function identify(replies: Partial<Record<IdentifyPath, HttpReply>>): WebIdentity {
  const root = replies['/'];
  const http = Object.values(replies).some((r) => r !== undefined);
  const server = root?.headers['server'];
  const base = { http, needs: [] as Need[], ...(server === undefined ? {} : { server }) };
  const tas = server === undefined ? null : /^Tasmota\/(\S+?)\s*\(([^)]*)\)/.exec(server);
  if (tas) {
    const chip = chipOf(tas[2]);
    const needs: Need[] = ['referer'];
    if (root?.status === 401) needs.push('auth');
    return {
      ...base,
      profile: 'tasmota',
      version: tas[1] as string,
      ...(chip ? { chip } : {}),
      needs,
      ...(needs.includes('auth') ? { auth: 'basic' } : {}),
    };
  }
  const info = json(replies['/json/info']);
  if (info && typeof info['ver'] === 'string' && ('brand' in info || 'vid' in info)) {
    const chip = chipOf(info['arch']);
    const needs: Need[] = [];
    const page = replies['/update'];
    if (page?.status === 401) {
      const text = page.body;
      if (/PIN/i.test(text)) needs.push('pin');
      else if (/subnet/i.test(text)) needs.push('same-subnet');
      else needs.push('ota-unlock');
    }
    return {
      ...base,
      profile: 'wled',
      version: info['ver'],
      ...(typeof info['release'] === 'string' ? { release: info['release'] } : {}),
      ...(chip ? { chip } : {}),
      needs,
    };
  }
  const ident = json(replies['/update/identity']);
  const page = replies['/update'];
  const auth = authOf(page);
  const authNeeds: Need[] = auth === undefined ? [] : ['auth'];
  if (ident && typeof ident['id'] === 'string' && typeof ident['hardware'] === 'string') {
    const chip = chipOf(ident['hardware']);
    return {
      ...base,
      profile: 'elegantota-v2',
      ...(chip ? { chip } : {}),
      needs: authNeeds,
      ...(auth ? { auth } : {}),
    };
  }
  if (page !== undefined && page.status === 200) {
    if (/<title>[^<]*ElegantOTA/i.test(page.body)) return { ...base, profile: 'elegantota-v3', needs: [] };
    if (/name=['"]?firmware/i.test(page.body) && /name=['"]?filesystem/i.test(page.body)) {
      // The arduino-esp32 page accepts `.image` for the filesystem (protocols-next.md §2.2).
      const esp32 = /\.image/.test(page.body);
      // No chip from this guess: the page is too alike on both cores to refuse an image by it.
      return esp32
        ? { ...base, profile: 'arduino-esp32', needs: ['origin'] }
        : { ...base, profile: 'arduino-esp8266', needs: [] };
    }
  }
  if (
    page !== undefined &&
    (page.status === 404 || page.status === 405) &&
    root?.status === 200 &&
    /esphome/i.test(root.body)
  )
    return { ...base, profile: 'esphome', needs: [] };
  if (auth !== undefined) return { ...base, needs: authNeeds, auth };
  return base;
}
