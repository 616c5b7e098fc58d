/**
 * Arduino's HTTPUpdateServer, both cores (protocols-next.md §2.1, §2.2): `POST /update`, file field
 * `firmware` or `filesystem` (the part name picks the target); HTTP 200 for success and failure
 * alike: `Update Success! Rebooting...` or `Update error: <Update error text>`. arduino-esp32
 * (PR #11530) also wants `Origin: http://<Host>`. `GET /update` is the read-only upload page,
 * answering 401 when credentials are set.
 */
import type { HttpReply, ReplyReading, UploadInput, UploadPlan, WebProfile } from './types.ts';

function plan(input: UploadInput): UploadPlan {
  return {
    before: [],
    path: '/update',
    fields: [],
    field: input.kind === 'filesystem' ? 'filesystem' : 'firmware',
    filename: input.filename,
  };
}

function readUpload(reply: HttpReply): ReplyReading {
  if (reply.status !== 200) return { kind: 'unknown' };
  if (reply.body.includes('Update Success!')) return { kind: 'ok' };
  const m = /Update error:\s*([^\r\n]*)/.exec(reply.body);
  return m ? { kind: 'failed', text: (m[1] as string).trim() } : { kind: 'unknown' };
}

const readBefore = (): ReplyReading => ({ kind: 'ok' });

export const arduinoEsp8266: WebProfile = {
  id: 'arduino-esp8266',
  title: 'ESP8266HTTPUpdateServer',
  writes: ['app', 'filesystem'],
  authProbe: '/update',
  origin: false,
  referer: false,
  plan,
  readBefore,
  readUpload,
};

export const arduinoEsp32: WebProfile = {
  id: 'arduino-esp32',
  title: 'arduino-esp32 HTTPUpdateServer',
  writes: ['app', 'filesystem'],
  authProbe: '/update',
  origin: true,
  referer: false,
  plan,
  readBefore,
  readUpload,
};
