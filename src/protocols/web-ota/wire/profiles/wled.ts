/**
 * WLED (protocols-next.md §2.6, wled/WLED `wled00/wled_server.cpp`, `ota_update.cpp`): `POST
 * /update` with file field `update` (WLED's own `tools/multi-update.sh` does the same); an optional
 * `skipValidation=1` field before the file bypasses the release check (sent with --force only).
 * 200 "Update successful!", 500 "Update failed!" + reason, 401 with the lock / PIN / subnet text.
 */
import type { HttpReply, ReplyReading, UploadInput, WebProfile } from './types.ts';
import { plainText } from './types.ts';

function readUpload(reply: HttpReply): ReplyReading {
  const text = plainText(reply.body);
  if (reply.status === 200 && /Update successful/i.test(text)) return { kind: 'ok' };
  if (reply.status === 500 || reply.status === 401 || reply.status === 501)
    return { kind: 'failed', text: text.replace(/^Update failed!\s*/i, '') || `HTTP ${reply.status}` };
  return { kind: 'unknown' };
}

export function wledProfile(skipValidation: boolean): WebProfile {
  return {
    id: 'wled',
    title: 'WLED',
    writes: ['app'],
    authProbe: '/update',
    origin: false,
    referer: false,
    plan: (input: UploadInput) => ({
      before: [],
      path: '/update',
      fields: skipValidation ? [{ name: 'skipValidation', value: '1' }] : [],
      field: 'update',
      filename: input.filename,
    }),
    readBefore: () => ({ kind: 'ok' }),
    readUpload,
  };
}

export const wled: WebProfile = wledProfile(false);
