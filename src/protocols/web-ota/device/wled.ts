/**
 * The emulated WLED web updater (protocols-next.md §2.6, wled/WLED `wled00/wled_server.cpp`,
 * `ota_update.cpp`): `/json/info`, `/version`, the OTA lock / PIN / same-subnet refusals (401),
 * the release check (modelled on the app descriptor's project name, docs/emulator.md) that
 * `skipValidation=1` bypasses, 200 "Update successful!" or 500 "Update failed!" + the reason.
 */
import type { IncomingMessage } from 'node:http';
import type { Reply, ShellApi } from './shell-api.ts';
import * as T from './texts.ts';

/** The project name of an ESP32 app descriptor (offset 32 + 48, 32 bytes); the emulated WLED's "release". */
function projectName(head: Uint8Array): string | undefined {
  if (head.length < 112 || head[32] !== 0x32 || head[33] !== 0x54 || head[34] !== 0xcd || head[35] !== 0xab)
    return undefined;
  const field = head.subarray(80, 112);
  const end = field.indexOf(0);
  return new TextDecoder().decode(field.subarray(0, end === -1 ? 32 : end));
}

function wledRefusal(api: ShellApi, req: IncomingMessage): Reply | undefined {
  const w = api.config.wled;
  if (w.otaLock) return { status: 401, body: T.wledPage('Access Denied', T.WLED_OTA_LOCKED) };
  if (w.pin) return { status: 401, body: T.wledPage('Access Denied', T.WLED_PIN) };
  const from = req.socket.remoteAddress ?? '';
  const same = from.split('.').slice(0, 3).join('.') === api.host.address.split('.').slice(0, 3).join('.');
  if (w.sameSubnet && !same) return { status: 401, body: T.wledPage('Access Denied', T.WLED_SUBNET) };
  return undefined;
}

export function wledGet(api: ShellApi, path: string, req: IncomingMessage): Reply {
  if (path === '/json/info') {
    const info = {
      ver: api.host.version(),
      vid: 2508200,
      release: api.config.wled.release,
      repo: 'wled/WLED',
      arch: 'esp32',
      core: 'v3.3.6-16-gcc5440f6a2_4.4.7',
      brand: 'WLED',
      product: 'FOSS',
      name: api.host.hostname,
      mac: api.host.mac.replace(/:/g, ''),
    };
    return { status: 200, type: 'application/json', body: JSON.stringify(info) };
  }
  if (path === '/version') return { status: 200, type: 'text/plain', body: api.host.version() };
  if (path === '/update')
    return (
      wledRefusal(api, req) ?? {
        status: 200,
        body: T.wledPage(
          'WLED Software Update',
          '<form method=POST enctype=multipart/form-data><input type=file name=update></form>',
        ),
      }
    );
  if (path === '/') return { status: 200, body: T.wledPage('WLED', '') };
  return { status: 404, type: 'text/plain', body: 'Not Found' };
}

export async function wledUpload(
  api: ShellApi,
  req: IncomingMessage,
  signal: AbortSignal,
): Promise<Reply | undefined> {
  const refusal = wledRefusal(api, req);
  if (refusal) {
    await api.drain(req);
    return refusal;
  }
  let skip = false;
  const release = api.config.wled.release;
  const r = await api.receive(
    req,
    signal,
    (_n, _f, fields) => {
      skip = fields.get('skipValidation') === '1';
      return { command: 0 };
    },
    (head) => {
      if (skip) return undefined;
      const uploaded = projectName(head);
      if (uploaded === undefined)
        return { errno: 0, text: 'This firmware file is missing compatibility metadata.' };
      if (uploaded !== release)
        return {
          errno: 0,
          text: `Firmware release name mismatch: current='${release}', uploaded='${uploaded}'.`,
        };
      return undefined;
    },
  );
  if (r.kind === 'cut') return undefined;
  if (r.kind === 'bad-request') return { status: r.status, type: 'text/plain', body: r.text };
  if (r.kind !== 'ok') {
    api.failed(r.text);
    return { status: 500, body: T.wledPage(T.WLED_FAILED, r.text) };
  }
  api.succeeded(r, 1000);
  return { status: 200, body: T.wledPage(T.WLED_SUCCESS, T.WLED_REBOOTING) };
}
