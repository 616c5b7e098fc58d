/**
 * ESPHome's web_server OTA (protocols-next.md §2.4, esphome `components/web_server/ota/
 * ota_web_server.cpp`): `POST /update` only, any file field name (the ESPHome CLI uses `update`),
 * HTTP 200 for both outcomes with the body `Update Successful!` or `Update Failed!` (older:
 * `Update Failed: <text>`); 401 when web_server `auth` is set (Basic). No read-only request
 * answers 401 for the upload, so credentials are sent with the upload itself.
 */
import type { HttpReply, ReplyReading, UploadInput, WebProfile } from './types.ts';
import { plainText } from './types.ts';

function readUpload(reply: HttpReply): ReplyReading {
  if (reply.status !== 200) return { kind: 'unknown' };
  const text = plainText(reply.body);
  if (text.includes('Update Successful')) return { kind: 'ok' };
  const m = /Update Failed[!:]?\s*(.*)$/.exec(text);
  return m
    ? { kind: 'failed', text: (m[1] as string) === '' ? 'Update Failed!' : (m[1] as string) }
    : { kind: 'unknown' };
}

export const esphomeWeb: WebProfile = {
  id: 'esphome',
  title: 'ESPHome web_server OTA',
  writes: ['app'],
  origin: false,
  referer: false,
  plan: (input: UploadInput) => ({
    before: [],
    path: '/update',
    fields: [],
    field: 'update',
    filename: input.filename,
  }),
  readBefore: () => ({ kind: 'ok' }),
  readUpload,
};
