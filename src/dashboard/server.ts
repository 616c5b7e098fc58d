/**
 * `startDashboard()`: the HTTP server behind `airflash dashboard`. node:http only; the API lives
 * under /api/v1 (see api.ts), the page is static files from ./public. Every request passes the
 * guards here first: Host check (no DNS rebinding), token, same-origin for state changes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debuglog } from 'node:util';
import { AirflashError } from '../core/errors.ts';
import { type ApiContext, handleApi } from './api.ts';
import { DeviceRegistry } from './devices.ts';
import { EventHub, type EventHubOptions } from './events.ts';
import {
  hostAllowed,
  isWildcard,
  parseCookies,
  parseHost,
  SECURITY_HEADERS,
  sameSecret,
  sendError,
} from './http.ts';
import { ImageStore } from './images.ts';
import { JobRunner } from './jobs.ts';
import { type DashboardLibrary, defaultLibrary } from './lib.ts';
import { DashboardStore } from './store.ts';

const debug = debuglog('airflash');

export interface DashboardOptions {
  /** Address to bind (default 127.0.0.1). Anything else requires `token`. */
  host?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
  /** Secret every request must carry (Authorization: Bearer, or the cookie set from ?token=). */
  token?: string;
  /** Folder for passwords, manual devices and history (default ~/.airflash). */
  stateDir?: string;
  /** Largest firmware upload accepted, in bytes (default 32 MiB). */
  maxImageBytes?: number;
  /** How long a device may take to answer before it is called offline (default 10 s; a blocked loop answers late). */
  inviteTimeoutMs?: number;
  /** Default number of devices updated at once (default 4). */
  parallel?: number;
  /** Extra host names the Host header may carry (e.g. a name you use on your LAN). */
  allowedHosts?: string[];
  /** Environment for passwordEnv lookups (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Replace parts of the library (tests). */
  lib?: Partial<DashboardLibrary>;
  /** Limits of the live event streams (see EventHub). */
  events?: EventHubOptions;
  /** Connections the server accepts at once; more are closed at once (default 256). */
  maxConnections?: number;
  signal?: AbortSignal;
}

export interface Dashboard {
  /** The page's URL; with `?token=` when a token is set. */
  url: string;
  /** The page's URL without the token. */
  origin: string;
  host: string;
  port: number;
  token: string | null;
  store: DashboardStore;
  registry: DeviceRegistry;
  jobs: JobRunner;
  images: ImageStore;
  events: EventHub;
  lib: DashboardLibrary;
  /** Register something to close with the dashboard (a discovery loop, a demo fleet). */
  onClose(fn: () => Promise<void> | void): void;
  close(): Promise<void>;
}

const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
  '/table.css': 'table.css',
  '/favicon.svg': 'favicon.svg',
  '/why.js': 'why.js',
  '/page.js': 'page.js',
  '/device-table.js': 'device-table.js',
  '/panels.js': 'panels.js',
  '/phone.css': 'phone.css',
};

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The page's files: next to this module from source, or in src/ when running the built dist/. */
function publicDir(): string {
  const here = fileURLToPath(new URL('./public/', import.meta.url));
  if (existsSync(join(here, 'index.html'))) return here;
  return fileURLToPath(new URL('../../src/dashboard/public/', import.meta.url));
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['AIRFLASH_STATE_DIR'] ?? join(homedir(), '.airflash');
}

export function isDefaultBind(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost';
}

export async function startDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const host = options.host === undefined || options.host === 'localhost' ? '127.0.0.1' : options.host;
  const token = options.token === undefined || options.token === '' ? null : options.token;
  if (!isDefaultBind(host) && token === null) {
    throw new AirflashError(
      'BAD_ARGUMENT',
      `Binding to ${host} needs a token: other machines could reach it.`,
      {
        hint: 'Add --token with a long random secret (e.g. --token "$(openssl rand -hex 16)"), or keep the default --host 127.0.0.1.',
      },
    );
  }
  if (token !== null && token.length < 8) {
    throw new AirflashError('BAD_ARGUMENT', 'The token is too short (at least 8 characters).', {
      hint: 'Use a long random secret, e.g. --token "$(openssl rand -hex 16)".',
    });
  }
  const env = options.env ?? process.env;
  const store = new DashboardStore(options.stateDir ?? defaultStateDir(env));
  await store.open();
  const lib: DashboardLibrary = { ...defaultLibrary(), ...options.lib };
  const events = new EventHub(options.events);
  let lastFirmware = store.lastFirmware();
  const registry = new DeviceRegistry({
    hasPassword: (id, at) => store.hasPassword(id, at),
    lastFirmware: (id) => lastFirmware.get(id),
    env,
  });
  registry.on('change', (device) => events.publish('device', device));
  const images = new ImageStore({ dir: store.dir });
  await images.open();
  const jobs = new JobRunner({
    lib,
    registry,
    store,
    password: (id) => {
      const place = registry.place(id);
      const saved = place === undefined ? undefined : store.password(id, place);
      if (saved !== undefined) return saved;
      const name = registry.info(id)?.passwordEnv;
      const fromEnv = name === undefined ? undefined : env[name];
      return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
    },
    publish: (type, data) => {
      if (type === 'device-result') {
        lastFirmware = store.lastFirmware();
        const id = (data as { id?: unknown }).id;
        if (typeof id === 'string') registry.touch(id);
      }
      events.publish(type, data);
    },
    inviteTimeoutMs: options.inviteTimeoutMs ?? 10_000,
  });
  for (const device of store.manualDevices()) {
    registry.upsert('manual', device);
  }

  const closers: Array<() => Promise<void> | void> = [];
  let actualPort = 0;
  const cookieName = (): string => `airflash_token_${actualPort}`;

  const ctx: ApiContext = {
    store,
    registry,
    images,
    jobs,
    events,
    lib,
    maxImageBytes: options.maxImageBytes ?? 32 * 1024 * 1024,
    defaultParallel: options.parallel ?? 4,
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // The path only: a query may carry the token.
      const path = (req.url ?? '').split('?')[0];
      debug('dashboard: %s %s failed: %s', req.method, path, error instanceof Error ? error.message : error);
      if (!res.headersSent) sendError(res, error);
      else res.destroy();
    });
  });

  // A bound on descriptors whatever the requests: beyond it, new connections are closed at once.
  server.maxConnections = options.maxConnections ?? 256;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    } catch {
      throw new AirflashError('BAD_PATH', 'The request target is not a valid path.');
    }
    // 1. Host check: only the name we are bound to (or localhost) — defeats DNS rebinding.
    const hostHeader = parseHost(req.headers.host);
    if (
      hostHeader === null ||
      !hostAllowed(hostHeader.name, host, options.allowedHosts ?? []) ||
      (hostHeader.port ?? 80) !== actualPort
    ) {
      throw new AirflashError('BAD_HOST', 'This server only answers requests addressed to its own address.', {
        hint: `Open ${origin()} instead.`,
      });
    }
    // 2. Token.
    if (token !== null) {
      const queryToken = url.searchParams.get('token');
      if (req.method === 'GET' && queryToken !== null && STATIC[url.pathname] === 'index.html') {
        if (!sameSecret(queryToken, token)) throw new AirflashError('BAD_TOKEN', 'The token is wrong.');
        res.writeHead(303, {
          ...SECURITY_HEADERS,
          Location: '/',
          'Set-Cookie': `${cookieName()}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
          'Cache-Control': 'no-store',
        });
        res.end();
        return;
      }
      const auth = req.headers.authorization;
      const bearer = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
      const cookie = parseCookies(req.headers.cookie).get(cookieName());
      const given = bearer ?? cookie;
      if (given === undefined || !sameSecret(given, token)) {
        throw new AirflashError('TOKEN_REQUIRED', 'This dashboard needs its token.', {
          hint: 'Open the URL the dashboard printed (it carries ?token=), or send "Authorization: Bearer <token>".',
        });
      }
    }
    // 3. State changes: same origin only (CSRF).
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') checkSameOrigin(req, hostHeader.name, hostHeader.port);

    if (url.pathname.startsWith('/api/')) {
      await handleApi(ctx, req, res, url);
      return;
    }
    const file = STATIC[url.pathname];
    if (file === undefined || (method !== 'GET' && method !== 'HEAD')) {
      throw new AirflashError('NOT_FOUND', `Nothing at ${url.pathname}.`);
    }
    const body = await readFile(join(publicDir(), file));
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
      'Content-Length': body.length,
      'Cache-Control': 'no-cache',
    });
    res.end(method === 'HEAD' ? undefined : body);
  }

  function checkSameOrigin(req: IncomingMessage, hostName: string, hostPort: number | null): void {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let parsed: URL | null = null;
      try {
        parsed = new URL(origin);
      } catch {
        parsed = null;
      }
      const originHost = parsed === null ? null : parseHost(parsed.host);
      const originPort =
        parsed === null ? null : Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
      if (
        parsed === null ||
        originHost === null ||
        originHost.name !== hostName ||
        originPort !== (hostPort ?? 80) ||
        parsed.protocol !== 'http:'
      ) {
        throw new AirflashError('CROSS_ORIGIN', 'Cross-origin requests may not change anything here.');
      }
    } else if (origin === 'null') {
      throw new AirflashError('CROSS_ORIGIN', 'Cross-origin requests may not change anything here.');
    }
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      throw new AirflashError('CROSS_ORIGIN', 'Cross-site requests may not change anything here.');
    }
    // A form or a "simple" cross-site request cannot send JSON or a custom header without a
    // CORS pre-flight, which this server never grants.
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json' && req.headers['x-airflash'] === undefined) {
      throw new AirflashError(
        'CSRF',
        'State-changing requests must send JSON (Content-Type: application/json) or the X-Airflash header.',
      );
    }
  }

  const origin = (): string => {
    const h = isWildcard(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return `http://${h}:${actualPort}`;
  };

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      void images.close();
      reject(
        new AirflashError(
          'BAD_ARGUMENT',
          `Cannot listen on ${host}:${options.port ?? 8080}: ${error.message}`,
          {
            hint:
              error.code === 'EADDRINUSE'
                ? 'Another program uses that port; pick another with --port (0 picks a free one).'
                : 'Check --host: it must be an address of this machine.',
            cause: error,
          },
        ),
      );
    };
    server.once('error', onError);
    server.listen({ host, port: options.port ?? 8080 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  actualPort = (server.address() as AddressInfo).port;

  let closed = false;
  const dashboard: Dashboard = {
    url: token === null ? `${origin()}/` : `${origin()}/?token=${encodeURIComponent(token)}`,
    origin: origin(),
    host,
    port: actualPort,
    token,
    store,
    registry,
    jobs,
    images,
    events,
    lib,
    onClose(fn) {
      closers.push(fn);
    },
    async close() {
      if (closed) return;
      closed = true;
      await jobs.close();
      for (const fn of closers.reverse()) {
        try {
          await fn();
        } catch (error) {
          debug('dashboard: close failed: %s', error instanceof Error ? error.message : error);
        }
      }
      events.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await images.close();
      await store.flush();
    },
  };
  if (options.signal !== undefined) {
    if (options.signal.aborted) await dashboard.close();
    else options.signal.addEventListener('abort', () => void dashboard.close(), { once: true });
  }
  return dashboard;
}

/** A random token for `--token auto`. */
export function randomToken(): string {
  return randomBytes(18).toString('base64url');
}
