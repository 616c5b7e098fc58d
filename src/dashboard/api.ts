/** The JSON API under /api/v1 (documented in docs/dashboard.md). The page uses nothing else. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { AirflashError, isAirflashError } from '../core/errors.ts';
import { VERSION } from '../core/version.ts';
import { defaultPort } from '../devices/family.ts';
import { addImage, deleteImage, imageFit } from './api-images.ts';
import { type DeviceRegistry, deviceTarget } from './devices.ts';
import type { EventHub } from './events.ts';
import { readJson, sendJson } from './http.ts';
import { cleanName, type ImageStore } from './images.ts';
import type { JobRunner } from './jobs.ts';
import type { DashboardLibrary } from './lib.ts';
import type { DashboardStore } from './store.ts';

export interface ApiContext {
  store: DashboardStore;
  registry: DeviceRegistry;
  images: ImageStore;
  jobs: JobRunner;
  events: EventHub;
  lib: DashboardLibrary;
  maxImageBytes: number;
  defaultParallel: number;
}

export const ENDPOINTS = [
  'GET /api/v1/devices',
  'POST /api/v1/devices',
  'DELETE /api/v1/devices/:id',
  'POST /api/v1/devices/:id/password',
  'POST /api/v1/probe',
  'GET /api/v1/images',
  'POST /api/v1/images',
  'GET /api/v1/images/:id?devices=ID,ID',
  'DELETE /api/v1/images/:id',
  'POST /api/v1/updates',
  'GET /api/v1/updates',
  'GET /api/v1/updates/:id',
  'POST /api/v1/updates/:id/retry',
  'GET /api/v1/events',
  'GET /api/v1/history',
  'GET /api/v1/history/export',
];

/** One path segment, percent-decoded; a malformed escape (`%zz`, `%e9` alone) is a 400, not a 500. */
function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new AirflashError('BAD_PATH', 'The path has a malformed %-escape.', {
      hint: 'Encode names with encodeURIComponent().',
    });
  }
}

export async function handleApi(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, url: URL) {
  const method = req.method ?? 'GET';
  const parts = url.pathname.split('/').filter((p) => p !== '');
  if (parts[0] !== 'api' || parts[1] !== 'v1')
    throw new AirflashError('NOT_FOUND', `Nothing at ${url.pathname}.`);
  const [resource, id, action] = parts.slice(2).map(decodePathPart);
  const route = `${method} ${resource ?? ''}${id === undefined ? '' : '/:id'}${action === undefined ? '' : `/${action}`}`;

  switch (route) {
    case 'GET ':
      sendJson(res, 200, { name: 'airflash dashboard', version: VERSION, endpoints: ENDPOINTS });
      return;
    case 'GET devices':
      sendJson(res, 200, { devices: ctx.registry.list() });
      return;
    case 'POST devices':
      await addDevice(ctx, req, res);
      return;
    case 'DELETE devices/:id': {
      const deviceId = id as string;
      const device = ctx.registry.get(deviceId);
      if (device === undefined || !device.sources.includes('manual')) {
        throw new AirflashError('NOT_FOUND', `No device added by hand with id "${deviceId}".`);
      }
      await ctx.store.removeManualDevice(device.name);
      ctx.registry.remove(deviceId, 'manual');
      // Its saved password goes with it (a later device of that name must not inherit it).
      await ctx.store.setPassword(deviceId, null);
      sendJson(res, 200, { removed: deviceId });
      return;
    }
    case 'POST devices/:id/password': {
      const deviceId = id as string;
      const body = await readJson(req);
      if (ctx.registry.get(deviceId) === undefined)
        throw new AirflashError('NOT_FOUND', `No device "${deviceId}".`);
      const pw = body['password'];
      if (pw !== null && typeof pw !== 'string') {
        throw new AirflashError('BAD_ARGUMENT', '"password" must be a string, or null to forget it.');
      }
      await ctx.store.setPassword(deviceId, pw, ctx.registry.place(deviceId));
      ctx.registry.touch(deviceId);
      sendJson(res, 200, { device: ctx.registry.get(deviceId) });
      return;
    }
    case 'POST probe':
      await probe(ctx, req, res);
      return;
    case 'GET images':
      sendJson(res, 200, { images: ctx.images.list() });
      return;
    case 'POST images':
      await addImage(ctx, req, res, url);
      return;
    case 'GET images/:id':
      await imageFit(ctx, res, id as string, url);
      return;
    case 'DELETE images/:id':
      deleteImage(ctx, res, id as string);
      return;
    case 'POST updates':
      await startUpdate(ctx, req, res);
      return;
    case 'GET updates':
      sendJson(res, 200, { updates: ctx.jobs.list() });
      return;
    case 'GET updates/:id': {
      const job = ctx.jobs.get(id as string);
      if (job === undefined) throw new AirflashError('NOT_FOUND', `No update "${id}".`);
      sendJson(res, 200, { update: job });
      return;
    }
    case 'POST updates/:id/retry': {
      const body = await readJson(req);
      if (ctx.jobs.get(id as string) === undefined)
        throw new AirflashError('NOT_FOUND', `No update "${id}".`);
      const passwords = await takePasswords(ctx, body);
      const image = ctx.images.get(ctx.jobs.imageOf(id as string)?.id ?? '');
      if (image === undefined) {
        throw new AirflashError('NOT_FOUND', 'The image of that update is no longer kept; upload it again.');
      }
      const job = ctx.jobs.retry(id as string, await ctx.images.bytes(image), passwords);
      sendJson(res, 202, { update: job });
      return;
    }
    case 'GET events':
      ctx.events.attach(req, res);
      return;
    case 'GET history': {
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const all = ctx.store.history();
      sendJson(res, 200, {
        updates: all.slice(0, Number.isFinite(limit) && limit > 0 ? limit : 100),
        total: all.length,
      });
      return;
    }
    case 'GET history/:id': {
      if (id !== 'export') throw new AirflashError('NOT_FOUND', `Nothing at ${url.pathname}.`);
      const stamp = new Date().toISOString();
      sendJson(
        res,
        200,
        { exportedAt: stamp, airflash: VERSION, updates: ctx.store.history() },
        { 'Content-Disposition': `attachment; filename="airflash-history-${stamp.slice(0, 10)}.json"` },
      );
      return;
    }
    default: {
      const known = ENDPOINTS.some((e) => e.split(' ')[1]?.split('/')[3]?.split('?')[0] === resource);
      if (known)
        throw new AirflashError('METHOD_NOT_ALLOWED', `${method} is not supported on ${url.pathname}.`);
      throw new AirflashError('NOT_FOUND', `Nothing at ${url.pathname}.`);
    }
  }
}

const HOSTNAME =
  /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const CORES = new Set(['esp32', 'esp32-legacy', 'esp8266']);
/** A protocol id as the registry names them (`arduino-ota`, `esphome`, ...). */
const PROTOCOL_ID = /^[a-z][a-z0-9-]{0,31}$/;

async function addDevice(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  const address = typeof body['address'] === 'string' ? body['address'].trim() : '';
  if (address === '' || (isIP(address) === 0 && !HOSTNAME.test(address))) {
    throw new AirflashError('BAD_ARGUMENT', '"address" must be an IP address or a host name.');
  }
  const core = body['core'];
  if (core !== undefined && (typeof core !== 'string' || !CORES.has(core))) {
    throw new AirflashError('BAD_ARGUMENT', '"core" must be esp32, esp32-legacy or esp8266.');
  }
  const port = body['port'] ?? defaultPort(core);
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new AirflashError('BAD_ARGUMENT', '"port" must be a whole number from 1 to 65535.');
  }
  const name =
    typeof body['name'] === 'string' && body['name'].trim() !== ''
      ? cleanName(body['name'])
      : `${address}:${port}`;
  const optional = (key: string): string | undefined => {
    const v = body[key];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string' || v.length > 200)
      throw new AirflashError('BAD_ARGUMENT', `"${key}" must be a short string.`);
    return v;
  };
  const chip = optional('chip');
  const partitions = optional('partitions');
  const protocol = optional('protocol');
  if (protocol !== undefined && !PROTOCOL_ID.test(protocol)) {
    throw new AirflashError('BAD_ARGUMENT', '"protocol" must be a protocol id such as arduino-ota.');
  }
  const device = {
    name,
    address,
    port,
    ...(core === undefined ? {} : { core: core as 'esp32' | 'esp32-legacy' | 'esp8266' }),
    ...(chip === undefined ? {} : { chip }),
    ...(partitions === undefined ? {} : { partitions }),
    ...(protocol === undefined ? {} : { protocol }),
  };
  await ctx.store.addManualDevice(device);
  const deviceId = ctx.registry.upsert('manual', device);
  const password = body['password'];
  if (typeof password === 'string' && password !== '') {
    await ctx.store.setPassword(deviceId, password, ctx.registry.place(deviceId));
    ctx.registry.touch(deviceId);
  }
  sendJson(res, 201, { device: ctx.registry.get(deviceId) });
}

/** Read `passwords` ({deviceId: password}); save them unless `remember` is false. */
async function takePasswords(
  ctx: ApiContext,
  body: Record<string, unknown>,
): Promise<Record<string, string>> {
  const raw = body['passwords'];
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AirflashError('BAD_ARGUMENT', '"passwords" must be an object {deviceId: password}.');
  }
  const out: Record<string, string> = {};
  for (const [deviceId, pw] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof pw !== 'string') throw new AirflashError('BAD_ARGUMENT', 'Every password must be a string.');
    if (pw === '') continue;
    out[deviceId] = pw;
  }
  if (body['remember'] !== false) {
    for (const [deviceId, pw] of Object.entries(out)) {
      const place = ctx.registry.place(deviceId);
      if (place === undefined) continue;
      await ctx.store.setPassword(deviceId, pw, place);
      ctx.registry.touch(deviceId);
    }
  }
  return out;
}

function intIn(
  body: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const v = body[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new AirflashError('BAD_ARGUMENT', `"${key}" must be a whole number from ${min} to ${max}.`);
  }
  return v;
}

async function startUpdate(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  const imageId = body['imageId'];
  if (typeof imageId !== 'string') throw new AirflashError('BAD_ARGUMENT', '"imageId" is required.');
  const image = ctx.images.get(imageId);
  if (image === undefined) throw new AirflashError('NOT_FOUND', `No image "${imageId}"; upload it again.`);
  const devices = body['devices'];
  if (!Array.isArray(devices) || devices.length === 0 || !devices.every((d) => typeof d === 'string')) {
    throw new AirflashError('BAD_ARGUMENT', '"devices" must be a non-empty array of device ids.');
  }
  const unique = [...new Set(devices as string[])];
  for (const deviceId of unique) {
    if (ctx.registry.get(deviceId) === undefined)
      throw new AirflashError('NOT_FOUND', `No device "${deviceId}".`);
  }
  const parallel = intIn(body, 'parallel', 1, 64, ctx.defaultParallel);
  const canary = intIn(body, 'canary', 0, unique.length, 0);
  const retries = intIn(body, 'retries', 0, 5, 1);
  const maxFailures =
    body['maxFailures'] === undefined ? undefined : intIn(body, 'maxFailures', 1, unique.length, 1);
  const passwords = await takePasswords(ctx, body);
  const job = ctx.jobs.start({
    image,
    bytes: await ctx.images.bytes(image),
    devices: unique,
    parallel,
    canary,
    retries,
    ...(maxFailures === undefined ? {} : { maxFailures }),
    passwords,
  });
  sendJson(res, 202, { update: job });
}

/** Ask devices whether they are there (an invitation they cannot begin; they stay idle). */
async function probe(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  const wanted = body['devices'] ?? ctx.registry.list().map((d) => d.id);
  if (!Array.isArray(wanted) || !wanted.every((d) => typeof d === 'string')) {
    throw new AirflashError('BAD_ARGUMENT', '"devices" must be an array of device ids.');
  }
  const timeoutMs = intIn(body, 'timeoutMs', 100, 30_000, 3000);
  const ids = [...new Set(wanted as string[])];
  for (const id of ids) {
    if (ctx.registry.get(id) === undefined) throw new AirflashError('NOT_FOUND', `No device "${id}".`);
  }
  const results: Array<Record<string, unknown>> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next] as string;
      next += 1;
      const device = ctx.registry.get(id);
      if (device === undefined) continue;
      // An invitation would disturb a device that is being updated (it resets a pending auth).
      if (device.busy !== null) {
        results.push({ device: id, skipped: 'busy' });
        continue;
      }
      try {
        const r = await ctx.lib.probe(
          deviceTarget(device.address, device.port, device.protocol),
          device.port,
          timeoutMs,
          AbortSignal.timeout(timeoutMs + 5000),
        );
        ctx.registry.observe(id, {
          online: r.online,
          ...(r.authRequired === undefined ? {} : { authRequired: r.authRequired }),
        });
        results.push({ device: id, ...r });
      } catch (error) {
        const e = isAirflashError(error) ? error : undefined;
        ctx.registry.observe(id, { online: false });
        results.push({
          device: id,
          online: false,
          error: { code: e?.code ?? 'INTERNAL', message: e?.message ?? String(error) },
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, ids.length) }, worker));
  results.sort((a, b) => ids.indexOf(String(a['device'])) - ids.indexOf(String(b['device'])));
  sendJson(res, 200, { results });
}
