/**
 * One web-OTA attempt: identify the firmware (read-only probes) unless the profile was named,
 * learn the auth challenge with a body-less GET, send the profile's pre-requests, stream the
 * multipart body (exact Content-Length, the image never held whole), read the verdict from status
 * and body, then wait for the board to come back and compare the version it reports.
 */
import { randomBytes } from 'node:crypto';
import { AirflashError } from '../../../core/errors.ts';
import type { AttemptJournal, FamilyCheck, PreparedImage } from '../../types.ts';
import type { HttpObservation, HttpOptions, HttpTimeouts } from '../model/options.ts';
import { deviceTextEntry } from '../wire/device-texts.ts';
import { boundaryFrom, multipartChunks, planMultipart } from '../wire/multipart.ts';
import { PROFILES, plainText, type WebProfile, wledProfile } from '../wire/profiles/index.ts';
import { replyError } from '../wire/verdict.ts';
import { Authorizer, authError, type Credentials } from './authorizer.ts';
import { confirmVersion, readVersion } from './back.ts';
import { type HttpResult, httpRequest } from './http.ts';
import { identifyDevice } from './identify.ts';

export interface AttemptInput {
  options: HttpOptions;
  host: string;
  address: string;
  port: number;
  image: PreparedImage;
  timeouts: HttpTimeouts;
  journal: AttemptJournal<HttpObservation>;
  /** The front's wrong-chip-family check, answered from what identification found. */
  familyCheck?: FamilyCheck;
  signal?: AbortSignal;
  /** The upload endpoint named in the target (`http://HOST/custom-update`); the profile's own otherwise. */
  path?: string;
}

function credentialsOf(options: HttpOptions, profile: WebProfile | undefined): Credentials | undefined {
  const password = options.password;
  if (password === undefined || password === '') return undefined;
  return { user: options.user ?? profile?.defaultUser ?? 'admin', password };
}

/** The `Host` header value: the name as given, the port when not 80, IPv6 in brackets. */
export function hostHeader(host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port === 80 ? h : `${h}:${port}`;
}

/** One attempt; resolves with the warnings of a successful one (not back, version mismatch). */
export async function runAttempt(input: AttemptInput): Promise<Array<{ code: string; message: string }>> {
  const { options, image, journal, timeouts, signal } = input;
  const obs = journal.observation;
  const hostName = hostHeader(input.host, input.port);
  const kind = options.filesystem ? 'filesystem' : 'app';
  const debug = (text: string): void => {
    if (options.debug) journal.emit({ type: 'debug', at: 0, text });
  };

  // 1. Which firmware: named, or told by read-only probes.
  journal.setPhase('connect');
  let profile: WebProfile;
  let before: string | undefined;
  if (options.httpProfile !== undefined) profile = PROFILES[options.httpProfile];
  else {
    obs.stage = 'identify';
    const id = await identifyDevice({
      address: input.address,
      port: input.port,
      host: hostName,
      timeoutMs: timeouts.connectMs,
      ...(credentialsOf(options, undefined)
        ? { credentials: credentialsOf(options, undefined) as Credentials }
        : {}),
      ...(signal ? { signal } : {}),
    });
    if (id.profile === undefined)
      throw new AirflashError(
        id.http ? 'PROTOCOL_MISMATCH' : 'NETWORK_ERROR',
        id.http
          ? `${hostName} answers HTTP but no known web updater was recognised.`
          : `Nothing answers HTTP at ${hostName}.`,
        {
          hint: id.http
            ? 'Name the firmware with --profile (arduino-esp8266, arduino-esp32, elegantota-v2, elegantota-v3, esphome, tasmota, wled); `airflash probe http://HOST` shows what answered.'
            : 'Check the address and port (http://HOST:PORT) and that the web server runs.',
        },
      );
    profile = PROFILES[id.profile];
    before = id.version;
    if (id.chip !== undefined && input.familyCheck) {
      const refusal = input.familyCheck.verdict({
        family: id.chip,
        how: `its web updater (${profile.title}) reports ${id.chip === 'esp32' ? 'an ESP32' : 'an ESP8266'}`,
      });
      if (refusal) {
        journal.setPhase('preflight');
        throw refusal;
      }
    }
    debug(`identified ${profile.title}${id.version ? ` ${id.version}` : ''}`);
  }
  if (profile.id === 'wled' && options.context?.force === true) profile = wledProfile(true);
  obs.profile = profile.id;
  if (!profile.writes.includes(kind))
    throw new AirflashError(
      'BAD_ARGUMENT',
      `${profile.title} takes application updates only, not a filesystem (-s).`,
      {
        hint: 'Leave out -s / filesystem for this device.',
      },
    );
  before ??= await readVersion(profile, { ...input, host: hostName, timeoutMs: timeouts.connectMs });

  const credentials = credentialsOf(options, profile);
  const auth = new Authorizer(credentials);
  const baseHeaders = (): Record<string, string> => ({
    ...(profile.origin ? { Origin: `http://${hostName}` } : {}),
    ...(profile.referer ? { Referer: `http://${hostName}/` } : {}),
  });
  const get = (path: string): Promise<HttpResult> => {
    const authorization = auth.header('GET', path);
    return httpRequest({
      address: input.address,
      port: input.port,
      host: hostName,
      method: 'GET',
      path,
      headers: { ...baseHeaders(), ...(authorization ? { Authorization: authorization } : {}) },
      connectMs: timeouts.connectMs,
      idleMs: timeouts.idleMs,
      responseMs: timeouts.responseMs,
      ...(signal ? { signal } : {}),
    });
  };
  const unauthorized = (reply: HttpResult): AirflashError => {
    const text = plainText(reply.body);
    const entry = text === '' ? undefined : deviceTextEntry(text);
    if (entry && ['PIN_REQUIRED', 'OTA_LOCKED', 'SUBNET_REFUSED', 'ORIGIN_REFUSED'].includes(entry.code))
      return new AirflashError(entry.code, `${profile.title} refused the update: ${text}`, {
        phase: 'auth',
        hint: entry.advice,
        deviceText: text,
      });
    const e = authError(credentials !== undefined, profile.title, obs.auth === 'none' ? undefined : obs.auth);
    if (profile.origin && credentials !== undefined)
      return new AirflashError(e.code, e.message, {
        phase: 'auth',
        hint: `${e.hint} Newer arduino-esp32 also answers 401 when Origin does not match Host (CSRF rule): name the device as it knows itself.`,
      });
    return e;
  };

  // 2. Auth: a body-less GET of a read-only page takes the challenge (Digest's nonce) first.
  if (profile.authProbe !== undefined) {
    obs.stage = 'auth';
    journal.setPhase('auth');
    const probe = await get(profile.authProbe);
    if (probe.status === 401) {
      const header = probe.headers['www-authenticate'];
      if (credentials === undefined || !auth.learn(header)) throw unauthorized(probe);
      obs.auth = auth.scheme;
      debug(`auth: ${auth.scheme}`);
      const again = await get(profile.authProbe);
      if (again.status === 401) throw unauthorized(again);
    } else obs.auth = credentials === undefined ? 'none' : 'basic';
  } else obs.auth = credentials === undefined ? 'none' : 'basic';

  // 3. The profile's pre-requests (Tasmota `GET /up`, ElegantOTA v3 `/ota/start`).
  const plan = profile.plan({ kind, md5: image.md5, size: image.size, filename: filenameOf(image) });
  // A path in the target names the endpoint (a sketch that serves its updater elsewhere).
  const uploadPath = input.path !== undefined && input.path !== '/' ? input.path : plan.path;
  obs.stage = 'before';
  for (const pre of plan.before) {
    debug(`GET ${pre.path} (${pre.why})`);
    const reply = await get(pre.path);
    if (reply.status === 401) throw unauthorized(reply);
    const e = replyError(profile, reply, 'before');
    if (e) throw e;
  }

  // 4. The upload.
  journal.setPhase('transfer');
  obs.stage = 'upload';
  const body = planMultipart(boundaryFrom(randomBytes(16)), plan.fields, {
    field: plan.field,
    filename: plan.filename,
    size: image.size,
  });
  obs.bodyLength = body.length;
  const fileBytes = (n: number): number => Math.max(0, Math.min(image.size, n - body.head.length));
  const source = image.open();
  let reply: HttpResult;
  try {
    const authorization = auth.header('POST', uploadPath);
    reply = await httpRequest({
      address: input.address,
      port: input.port,
      host: hostName,
      method: 'POST',
      path: uploadPath,
      headers: {
        ...baseHeaders(),
        'Content-Type': body.contentType,
        ...(authorization ? { Authorization: authorization } : {}),
      },
      body: { length: body.length, chunks: multipartChunks(body, source) },
      connectMs: timeouts.connectMs,
      idleMs: timeouts.idleMs,
      responseMs: timeouts.responseMs,
      onSent: (n) => {
        obs.bytesSent = n;
      },
      onAccepted: (n) => {
        obs.bytesAccepted = n;
        const bytes = fileBytes(n);
        journal.emit({
          type: 'progress',
          bytes,
          total: image.size,
          sent: fileBytes(obs.bytesSent),
          stage: bytes < image.size ? 'sending' : 'flashing',
        });
      },
      ...(signal ? { signal } : {}),
    });
  } finally {
    source.destroy?.();
  }
  obs.stage = 'response';
  journal.setPhase('result');
  obs.status = reply.status;
  obs.deviceText = plainText(reply.body);
  if (reply.status === 401) throw unauthorized(reply);
  const error = replyError(profile, reply, 'upload');
  if (error) throw error;
  if (reply.early || reply.accepted < body.length)
    throw new AirflashError(
      'BAD_REPLY',
      `${profile.title} answered success before the whole image was sent (${fileBytes(reply.accepted)} of ${image.size} bytes); not taken for success.`,
      { phase: 'result', hint: 'Check what the device runs before uploading again.' },
    );

  // 5. Back online, and the version it reports.
  obs.stage = 'back';
  const warnings: Array<{ code: string; message: string }> = [];
  await confirmVersion(profile, {
    ...input,
    warnings,
    host: hostName,
    before,
    force: options.context?.force === true,
    headers: baseHeaders(),
  });
  obs.stage = 'done';
  return warnings;
}

function filenameOf(image: PreparedImage): string {
  const path = image.sentPath ?? image.path ?? 'firmware.bin';
  const name = path.split(/[\\/]/).pop() ?? 'firmware.bin';
  return /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,100}$/.test(name) ? name : 'firmware.bin';
}
