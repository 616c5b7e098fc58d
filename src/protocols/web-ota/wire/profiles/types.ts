/**
 * What a web-OTA firmware profile is: its upload endpoint and field names, the requests it needs
 * before the upload, the headers it checks, and how its reply reads (success, a failure text, or
 * neither). Pure data and pure functions: the host (host/attempt.ts) runs the requests.
 */
import type { MultipartField } from '../multipart.ts';

export const PROFILE_IDS = [
  'arduino-esp8266',
  'arduino-esp32',
  'elegantota-v2',
  'elegantota-v3',
  'esphome',
  'tasmota',
  'wled',
] as const;

export type ProfileId = (typeof PROFILE_IDS)[number];

export function isProfileId(value: string): value is ProfileId {
  return (PROFILE_IDS as readonly string[]).includes(value);
}

export type WebImageKind = 'app' | 'filesystem';

/** A reply as the host read it (the body bounded, as text). */
export interface HttpReply {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

/** How a reply reads: success, the device's failure text, or neither (never taken for success). */
export type ReplyReading =
  | { readonly kind: 'ok' }
  | { readonly kind: 'failed'; readonly text: string }
  | { readonly kind: 'unknown' };

export interface UploadInput {
  readonly kind: WebImageKind;
  readonly md5: string;
  readonly size: number;
  readonly filename: string;
}

/** A request without a body the profile needs before its upload (`GET /up`, `/ota/start`). */
export interface PreRequest {
  readonly path: string;
  /** Why it is sent (for the debug log and messages). */
  readonly why: string;
}

export interface UploadPlan {
  readonly before: readonly PreRequest[];
  readonly path: string;
  readonly fields: readonly MultipartField[];
  readonly field: string;
  readonly filename: string;
}

export interface WebProfile {
  readonly id: ProfileId;
  readonly title: string;
  readonly writes: readonly WebImageKind[];
  /** A read-only GET that a protected device answers with 401 (the Digest challenge), if any. */
  readonly authProbe?: string;
  /** The user name when the firmware has a fixed one (Tasmota: `admin`). */
  readonly defaultUser?: string;
  /** Send `Origin: http://HOST` (arduino-esp32's CSRF rule). */
  readonly origin: boolean;
  /** Send `Referer: http://HOST/` (Tasmota's access check). */
  readonly referer: boolean;
  plan(input: UploadInput): UploadPlan;
  /** How a reply to a pre-request reads. */
  readBefore(reply: HttpReply): ReplyReading;
  /** How the upload's reply reads. */
  readUpload(reply: HttpReply): ReplyReading;
}

/** The text of an HTML body without tags and with collapsed white space (for messages). */
export function plainText(body: string): string {
  return body
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}
