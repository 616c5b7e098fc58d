/**
 * Tasmota's upload page (protocols-next.md §2.5, arendst/Tasmota `xdrv_01_9_webserver.ino`):
 * `GET /up` first (it sets the server's upload type to firmware), then `POST /u2?fsz=<size>` with
 * file field `u2`; Basic auth as `admin` and `Referer: http://<device>/` on both. The reply is an
 * HTML page (200) with "Upload" + "Successful", or "Failed" + the error text. The ESP32 safeboot
 * switch (`/u4`) is the host's (host/tasmota-safeboot.ts), as it polls across a reboot.
 */
import type { HttpReply, ReplyReading, UploadInput, WebProfile } from './types.ts';
import { plainText } from './types.ts';

function readUpload(reply: HttpReply): ReplyReading {
  if (reply.status !== 200) return { kind: 'unknown' };
  const text = plainText(reply.body);
  if (/Upload\s+Successful/i.test(text)) return { kind: 'ok' };
  const m = /Upload\s+Failed\s*(.*)$/i.exec(text);
  return m ? { kind: 'failed', text: (m[1] as string) || 'Upload Failed' } : { kind: 'unknown' };
}

export const tasmota: WebProfile = {
  id: 'tasmota',
  title: 'Tasmota',
  writes: ['app'],
  authProbe: '/',
  defaultUser: 'admin',
  origin: false,
  referer: true,
  plan: (input: UploadInput) => ({
    before: [{ path: '/up', why: 'Tasmota sets its upload type to firmware on this page' }],
    path: `/u2?fsz=${input.size}`,
    fields: [],
    field: 'u2',
    filename: input.filename,
  }),
  readBefore: (reply) => (reply.status === 200 ? { kind: 'ok' } : { kind: 'unknown' }),
  readUpload,
};
