/**
 * ElegantOTA (protocols-next.md §2.3). v3: `GET /ota/start?mode=fr|fs&hash=<md5>` begins the
 * update (a side effect: sent in the upload only, never by the probe), then `POST /ota/upload`
 * with file field `file`; `200 OK` or 400 + the Update error text. v2 / AsyncElegantOTA: `POST
 * /update` with the form field `MD5` before the file part; `200 OK`, `500 FAIL` or 400 + text; the
 * part name (v2) or filename (Async) `filesystem` picks the filesystem.
 */
import type { HttpReply, ReplyReading, UploadInput, WebProfile } from './types.ts';
import { plainText } from './types.ts';

function okOrText(reply: HttpReply): ReplyReading {
  const text = plainText(reply.body);
  if (reply.status === 200 && text === 'OK') return { kind: 'ok' };
  if (reply.status === 400 || reply.status === 500)
    return { kind: 'failed', text: text === '' ? `HTTP ${reply.status}` : text };
  return { kind: 'unknown' };
}

export const elegantOtaV3: WebProfile = {
  id: 'elegantota-v3',
  title: 'ElegantOTA v3',
  writes: ['app', 'filesystem'],
  authProbe: '/update',
  origin: false,
  referer: false,
  plan: (input: UploadInput) => ({
    before: [
      {
        path: `/ota/start?mode=${input.kind === 'filesystem' ? 'fs' : 'fr'}&hash=${input.md5}`,
        why: 'ElegantOTA v3 begins the update and takes the MD5 here',
      },
    ],
    path: '/ota/upload',
    fields: [],
    field: 'file',
    filename: input.filename,
  }),
  readBefore: okOrText,
  readUpload: okOrText,
};

export const elegantOtaV2: WebProfile = {
  id: 'elegantota-v2',
  title: 'ElegantOTA v2 / AsyncElegantOTA',
  writes: ['app', 'filesystem'],
  authProbe: '/update',
  origin: false,
  referer: false,
  plan: (input: UploadInput) => ({
    before: [],
    path: '/update',
    fields: [{ name: 'MD5', value: input.md5 }],
    field: input.kind === 'filesystem' ? 'filesystem' : 'firmware',
    filename: input.kind === 'filesystem' ? 'filesystem' : input.filename,
  }),
  readBefore: okOrText,
  readUpload: (reply) => {
    const r = okOrText(reply);
    return r.kind === 'failed' && r.text === 'FAIL'
      ? { kind: 'failed', text: 'FAIL (Update.end failed)' }
      : r;
  },
};
