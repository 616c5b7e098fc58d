/**
 * After a successful upload: wait for the board to reboot and answer again (`back-online`
 * budget), then read the version it reports (WLED `/json/info` `ver`, Tasmota's `Server` header)
 * and compare it with the image's app descriptor (ESP32 images) or the version before, so
 * "updated" means "runs the new firmware" where the firmware tells; otherwise "not confirmed".
 */
import { sleep } from '../../../core/abort.ts';
import { AirflashError } from '../../../core/errors.ts';
import type { AttemptJournal, PreparedImage } from '../../types.ts';
import type { HttpObservation, HttpTimeouts, VersionCheck } from '../model/options.ts';
import type { WebProfile } from '../wire/profiles/index.ts';
import { httpRequest } from './http.ts';

interface Where {
  address: string;
  port: number;
  /** The Host header value. */
  host: string;
  signal?: AbortSignal;
}

/** The read-only page each firmware answers when it runs (any HTTP answer counts as "up"). */
export function alivePath(profile: WebProfile): string {
  if (profile.id === 'wled') return '/json/info';
  if (profile.id === 'tasmota' || profile.id === 'esphome') return '/';
  return '/update';
}

async function get(where: Where, path: string, timeoutMs: number, headers: Record<string, string> = {}) {
  return httpRequest({
    address: where.address,
    port: where.port,
    host: where.host,
    method: 'GET',
    path,
    headers: { Referer: `http://${where.host}/`, ...headers },
    connectMs: timeoutMs,
    idleMs: timeoutMs,
    responseMs: timeoutMs,
    maxBody: 16 * 1024,
    ...(where.signal ? { signal: where.signal } : {}),
  });
}

/** The version the running firmware reports, undefined when it reports none (or did not answer). */
export async function readVersion(
  profile: WebProfile,
  where: Where & { timeoutMs: number },
): Promise<string | undefined> {
  try {
    if (profile.id === 'wled') {
      const r = await get(where, '/json/info', where.timeoutMs);
      const v: unknown = r.status === 200 ? JSON.parse(r.body) : undefined;
      const ver = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)['ver'] : undefined;
      return typeof ver === 'string' ? ver : undefined;
    }
    if (profile.id === 'tasmota') {
      const r = await get(where, '/', where.timeoutMs);
      return /^Tasmota\/(\S+?)\s*\(/.exec(r.headers['server'] ?? '')?.[1];
    }
  } catch (error) {
    if (error instanceof AirflashError && error.code === 'INTERRUPTED') throw error;
  }
  return undefined;
}

/** The `version` of an ESP32 app descriptor (esp_app_desc_t right after the first segment header). */
export function imageVersion(head: Uint8Array): string | undefined {
  if (head.length < 80 || head[0] !== 0xe9) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (view.getUint32(32, true) !== 0xabcd5432) return undefined;
  const field = head.subarray(48, 80);
  const end = field.indexOf(0);
  const text = new TextDecoder().decode(field.subarray(0, end === -1 ? field.length : end));
  return text === '' ? undefined : text;
}

export interface ConfirmInput extends Where {
  image: PreparedImage;
  timeouts: HttpTimeouts;
  journal: AttemptJournal<HttpObservation>;
  before: string | undefined;
  force: boolean;
  headers: Record<string, string>;
  warnings: Array<{ code: string; message: string }>;
}

/**
 * Polls until the board was seen down and answers again (or, when its reboot was too quick to
 * see, until it reports the expected version), within `backOnlineMs`. Never throws for a board
 * that is not back: the upload itself succeeded; the observation and a warning say so.
 */
export async function confirmVersion(profile: WebProfile, c: ConfirmInput): Promise<void> {
  const obs = c.journal.observation;
  const expected = imageVersion(c.image.head);
  const started = Date.now();
  const pollMs = Math.max(20, Math.min(1000, c.timeouts.rebootMs / 10));
  const probeMs = Math.max(250, Math.min(3000, c.timeouts.connectMs));
  let seenDown = false;
  let back = false;
  while (Date.now() - started < c.timeouts.backOnlineMs) {
    let up = false;
    try {
      await get(c, alivePath(profile), probeMs, c.headers);
      up = true;
    } catch (error) {
      if (error instanceof AirflashError && error.code === 'INTERRUPTED') throw error;
    }
    if (!up) seenDown = true;
    else if (seenDown) {
      back = true;
      break;
    } else {
      const now = await readVersion(profile, { ...c, timeoutMs: probeMs });
      // A restart too quick to see: the new version shows it; a firmware that reports none
      // counts as back once it kept answering for `rebootMs`.
      if (
        (expected !== undefined && now === expected) ||
        (now === undefined && Date.now() - started >= c.timeouts.rebootMs)
      ) {
        back = true;
        break;
      }
    }
    await sleep(pollMs, c.signal);
  }
  const version: VersionCheck = { state: 'not-confirmed' };
  if (c.before !== undefined) version.before = c.before;
  if (expected !== undefined) version.expected = expected;
  if (!back) {
    obs.version = version;
    warn(
      c,
      'not_back',
      `${profile.title} did not answer again within ${Math.round(c.timeouts.backOnlineMs / 1000)} s after the update: it is not confirmed that it runs the new firmware.`,
    );
    return;
  }
  obs.backAfterMs = Date.now() - started;
  const after = await readVersion(profile, { ...c, timeoutMs: probeMs });
  if (after !== undefined) version.after = after;
  if (after === undefined) version.state = 'not-confirmed';
  else if (expected !== undefined) version.state = after === expected ? 'confirmed' : 'mismatch';
  else version.state = c.before !== undefined && after !== c.before ? 'changed' : 'mismatch';
  obs.version = version;
  if (version.state === 'mismatch' && !c.force)
    warn(
      c,
      'version_mismatch',
      `${profile.title} is back but reports version ${after}${expected ? `, not the image's ${expected}` : ', the same as before'}: it may have rolled back or refused the image.`,
    );
  else if (version.state === 'not-confirmed')
    c.journal.emit({
      type: 'hint',
      message: `${profile.title} is back; it reports no version, so the new firmware is not confirmed.`,
    });
}

function warn(c: ConfirmInput, code: string, message: string): void {
  c.warnings.push({ code, message });
  c.journal.warn(code, message);
}
