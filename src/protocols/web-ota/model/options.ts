/**
 * What the web-OTA family reads of the front's upload options, its observation of one attempt and
 * its named per-phase timeouts (connect, upload-idle, response, back-online, safeboot).
 */
import type { UploadEvent } from '../../types.ts';
import type { ProfileId } from '../wire/profiles/index.ts';

/** The fields of the upload options this family uses (the front passes its own object). */
export interface HttpOptions {
  /** The web password (`-a`). */
  password?: string;
  /** The web user (`--user`, `AIRFLASH_HTTP_USER`); default: the profile's (Tasmota `admin`), else `admin`. */
  user?: string;
  /** The firmware profile, when known; otherwise the read-only probes tell it before the upload. */
  httpProfile?: ProfileId;
  /** A filesystem image (profiles that write one: HTTPUpdateServer, ElegantOTA). */
  filesystem?: boolean;
  /** Multiplies the timeouts below (to match an emulated device's `--time-scale`). */
  timeScale?: number;
  /** Per-phase budgets in ms (before `timeScale`), each overriding the default below. */
  httpTimeouts?: Partial<HttpTimeouts>;
  /** `--force`: WLED's `skipValidation`, and no version check after the update. */
  context?: { force?: boolean };
  debug?: boolean;
  onEvent?: (event: UploadEvent) => void;
}

export interface HttpTimeouts {
  /** TCP connect of each request. */
  connectMs: number;
  /** Upload-idle: no image byte taken by the device for this long. */
  idleMs: number;
  /** From the last byte sent (or a body-less request) to the end of the reply (ESPHome CLI: 120 s). */
  responseMs: number;
  /** After success: the board answers again after its reboot. */
  backOnlineMs: number;
  /** Tasmota ESP32: the restart into safeboot until it answers `true`. */
  safebootMs: number;
  /** After success: how long to watch for the restart before a board that kept answering counts as back. */
  rebootMs: number;
}

export const HTTP_TIMEOUTS: Readonly<HttpTimeouts> = {
  connectMs: 10_000,
  idleMs: 30_000,
  responseMs: 120_000,
  backOnlineMs: 90_000,
  safebootMs: 60_000,
  rebootMs: 5_000,
};

export function resolveHttpTimeouts(options: HttpOptions): HttpTimeouts {
  const scale = options.timeScale ?? 1;
  const t = { ...HTTP_TIMEOUTS, ...options.httpTimeouts };
  return {
    connectMs: t.connectMs * scale,
    idleMs: t.idleMs * scale,
    responseMs: t.responseMs * scale,
    backOnlineMs: t.backOnlineMs * scale,
    safebootMs: t.safebootMs * scale,
    rebootMs: t.rebootMs * scale,
  };
}

/** After success: whether the board runs the new firmware, as far as it tells. */
export interface VersionCheck {
  /** `confirmed`: it reports the image's version; `changed`: another version than before (the
   * image names none); `mismatch`: it reports neither; `not-confirmed`: the firmware tells no version. */
  state: 'confirmed' | 'changed' | 'mismatch' | 'not-confirmed';
  before?: string;
  after?: string;
  /** The version in the image's app descriptor (ESP32 images). */
  expected?: string;
}

/** What one attempt saw (for messages, JSON and a later diagnosis). */
export interface HttpObservation {
  protocol: 'http';
  host: string;
  port: number;
  address?: string;
  profile?: ProfileId;
  stage: 'identify' | 'before' | 'auth' | 'upload' | 'response' | 'back' | 'done';
  /** The auth scheme the device asked for. */
  auth?: 'basic' | 'digest' | 'none';
  /** Body bytes handed to the socket. */
  bytesSent: number;
  /** Body bytes the socket flushed towards the device (its reads make room; progress counts these). */
  bytesAccepted: number;
  bodyLength?: number;
  status?: number;
  /** The device's reply text (tags removed, bounded). */
  deviceText?: string;
  backAfterMs?: number;
  version?: VersionCheck;
}
