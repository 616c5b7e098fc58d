/**
 * The verdict on a web-OTA reply: success only when the profile reads success from the status AND
 * the body; a failure text goes through the device-text table (device-texts.ts) to its code; a
 * 401/403/404/405 is read by status (auth, refusal, no updater there); anything else is BAD_REPLY,
 * never success.
 */
import { AirflashError } from '../../../core/errors.ts';
import { deviceTextEntry } from './device-texts.ts';
import { type HttpReply, plainText, type WebProfile } from './profiles/index.ts';

export type Step = 'before' | 'upload';

function bodyText(reply: HttpReply): string {
  return plainText(reply.body);
}

/** The error of a reply, or undefined when it reads as success. 401 is left to the caller (auth). */
export function replyError(profile: WebProfile, reply: HttpReply, step: Step): AirflashError | undefined {
  const reading = step === 'upload' ? profile.readUpload(reply) : profile.readBefore(reply);
  if (reading.kind === 'ok') return undefined;
  const text = reading.kind === 'failed' ? reading.text : bodyText(reply);
  const entry = text === '' ? undefined : deviceTextEntry(text);
  const phase = step === 'upload' ? 'result' : 'connect';
  if (entry)
    return new AirflashError(entry.code, `${profile.title} refused the update: ${text}`, {
      phase,
      hint: entry.advice,
      deviceText: text,
      data: { status: reply.status },
    });
  if (reading.kind === 'failed')
    return new AirflashError('DEVICE_ERROR', `${profile.title} reported an error: ${text}`, {
      phase,
      hint: 'See the device log for the reason.',
      deviceText: text,
      data: { status: reply.status },
    });
  if (reply.status === 404 || reply.status === 405)
    return new AirflashError(
      'OTA_NOT_ENABLED',
      `${profile.title} has no update endpoint here (HTTP ${reply.status}).`,
      {
        phase,
        hint:
          profile.id === 'esphome'
            ? 'Enable OTA in the web server: `ota: - platform: web_server` (ESPHome 2025.7+; older: `web_server: ota: true`).'
            : 'Is the updater part of this firmware, and is the path right?',
        data: { status: reply.status },
        ...(text === '' ? {} : { deviceText: text }),
      },
    );
  if (reply.status === 403)
    return new AirflashError(
      profile.referer ? 'REFERER_REFUSED' : 'DEVICE_REFUSED',
      `${profile.title} refused the request (HTTP 403).`,
      {
        phase,
        hint: profile.referer
          ? 'Tasmota checks that Referer is http://<its host name or IP>/ (airflash sends it): name the device by its IP or its own host name, or set SetOption128 1.'
          : 'The device does not let this client update it.',
        ...(text === '' ? {} : { deviceText: text }),
        data: { status: reply.status },
      },
    );
  return new AirflashError(
    'BAD_REPLY',
    `${profile.title} answered HTTP ${reply.status} with a body that reports neither success nor a known error; not taken for success.`,
    {
      phase,
      hint: 'Check on the device whether it updated (its page or log) before uploading again.',
      ...(text === '' ? {} : { deviceText: text }),
      data: { status: reply.status },
    },
  );
}
