/**
 * The emulated Tasmota web updater (protocols-next.md §2.5, arendst/Tasmota
 * `xdrv_01_9_webserver.ino`): `Server: Tasmota/<version> (ESP32)` on every reply (the shell adds
 * it), the Referer check of HttpCheckPriviledgedAccess on `/up` and `/u2`, Basic auth as admin,
 * `GET /up` setting the upload type, `POST /u2?fsz=` with the magic-byte and size checks.
 */
import type { IncomingMessage } from 'node:http';
import type { Reply, ShellApi } from './shell-api.ts';
import * as T from './texts.ts';

function refererOk(api: ShellApi, req: IncomingMessage): boolean {
  const ref = req.headers['referer'] ?? '';
  // HttpCheckPriviledgedAccess: the Referer must start with http:// + the device's host name or IP.
  return ref.startsWith(`http://${api.host.address}`) || ref.startsWith(`http://${api.host.hostname}`);
}

export function tasmotaGet(api: ShellApi, path: string, req: IncomingMessage): Reply {
  if (path === '/') {
    if (!api.authorized(req, 'GET')) return api.unauthorized();
    return {
      status: 200,
      body: `<!DOCTYPE html><html><head><title>Tasmota</title></head><body>${api.host.hostname}</body></html>`,
    };
  }
  if (path === '/up') {
    if (!refererOk(api, req)) return { status: 403, type: 'text/plain', body: '403 Forbidden' };
    if (!api.authorized(req, 'GET')) return api.unauthorized();
    api.state.uploadTypeFirmware = true;
    return {
      status: 200,
      body: '<!DOCTYPE html><html><body><form method=post action=u2 enctype=multipart/form-data><input type=file name=u2></form></body></html>',
    };
  }
  return { status: 404, type: 'text/plain', body: 'Not Found' };
}

export async function tasmotaUpload(
  api: ShellApi,
  url: URL,
  req: IncomingMessage,
  signal: AbortSignal,
): Promise<Reply | undefined> {
  if (!refererOk(api, req)) {
    await api.drain(req);
    return { status: 403, type: 'text/plain', body: '403 Forbidden' };
  }
  if (!api.authorized(req, 'POST')) {
    await api.drain(req);
    return api.unauthorized();
  }
  const fsz = Number(url.searchParams.get('fsz') ?? '0');
  const typeOk = api.state.uploadTypeFirmware;
  const r = await api.receive(
    req,
    signal,
    () => (typeOk ? { command: 0 } : { refuse: T.TASMOTA_ERRORS[8] as string }),
    (head) => {
      if (head[0] !== 0xe9 && head[0] !== 0x1f) return { errno: 3, text: T.TASMOTA_ERRORS[3] as string };
      const slot = api.board.updateTarget(0, 'newest').region;
      if (slot !== undefined && fsz > slot.size) return { errno: 4, text: T.TASMOTA_ERRORS[4] as string };
      return undefined;
    },
  );
  if (r.kind === 'cut') return undefined;
  if (r.kind === 'bad-request') return { status: r.status, type: 'text/plain', body: r.text };
  if (r.kind !== 'ok') {
    const text =
      r.kind === 'failed' && r.errno === 4 && /Space/i.test(r.text)
        ? (T.TASMOTA_ERRORS[2] as string)
        : r.text;
    api.failed(text);
    return { status: 200, body: T.tasmotaFailed(text) };
  }
  api.succeeded(r, 2000);
  return { status: 200, body: T.TASMOTA_SUCCESS };
}
