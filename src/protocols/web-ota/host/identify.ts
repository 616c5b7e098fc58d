/**
 * Identification over the network: the read-only GETs of wire/identify.ts in their order, each
 * with its own short budget; a protected `/update` is asked again with the credentials (still a
 * GET) so a password-protected ElegantOTA or HTTPUpdateServer is told apart too.
 */
import { AirflashError } from '../../../core/errors.ts';
import { IDENTIFY_PATHS, type IdentifyPath, identify, type WebIdentity } from '../wire/identify.ts';
import type { HttpReply } from '../wire/profiles/index.ts';
import { Authorizer, type Credentials } from './authorizer.ts';
import { HttpExchangeError, httpRequest } from './http.ts';

export interface IdentifyOptions {
  address: string;
  port: number;
  host: string;
  timeoutMs: number;
  credentials?: Credentials;
  signal?: AbortSignal;
}

export interface IdentifyResult extends WebIdentity {
  latencyMs?: number;
  /** Requests made (all GET, all without side effects). */
  requests: number;
}

export async function identifyDevice(o: IdentifyOptions): Promise<IdentifyResult> {
  const replies: Partial<Record<IdentifyPath, HttpReply>> = {};
  let requests = 0;
  let latencyMs: number | undefined;
  const get = async (path: string, authorization?: string): Promise<HttpReply | undefined> => {
    requests++;
    const started = performance.now();
    try {
      const r = await httpRequest({
        address: o.address,
        port: o.port,
        host: o.host,
        method: 'GET',
        path,
        headers: { Referer: `http://${o.host}/`, ...(authorization ? { Authorization: authorization } : {}) },
        connectMs: o.timeoutMs,
        idleMs: o.timeoutMs,
        responseMs: o.timeoutMs,
        maxBody: 16 * 1024,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      latencyMs ??= Math.round(performance.now() - started);
      return r;
    } catch (error) {
      if (error instanceof HttpExchangeError && error.code === 'INTERRUPTED') throw error;
      if (error instanceof AirflashError && error.code === 'INTERRUPTED') throw error;
      return undefined;
    }
  };
  for (const path of IDENTIFY_PATHS) {
    const r = await get(path);
    if (r === undefined && path === '/') break; // nothing answers HTTP here
    if (r !== undefined) replies[path] = r;
    const partial = identify(replies);
    // Tasmota: its `Server` header is enough (and `GET /up` sets its upload type: not a probe).
    if (partial.profile === 'tasmota' && path === '/') break;
    if (partial.profile === 'wled' && path === '/json/info') {
      const page = await get('/update');
      if (page) replies['/update'] = page;
      break;
    }
    if (partial.profile === 'elegantota-v2') break;
  }
  let result = identify(replies);
  const page = replies['/update'];
  if (result.profile === undefined && page?.status === 401 && o.credentials) {
    const auth = new Authorizer(o.credentials);
    auth.learn(page.headers['www-authenticate']);
    const again = await get('/update', auth.header('GET', '/update'));
    if (again && again.status === 200) {
      const scheme = result.auth;
      result = identify({ ...replies, '/update': again });
      result = { ...result, needs: ['auth', ...result.needs], ...(scheme ? { auth: scheme } : {}) };
    }
  }
  return { ...result, requests, ...(latencyMs === undefined ? {} : { latencyMs }) };
}
