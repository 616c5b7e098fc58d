/**
 * What the ESPHome family reads of the front's upload options, its observation of one attempt and
 * its named timeouts (protocols-next.md §1.5: connect 20 s, each read of the data phase 160 s
 * after esphome PR #19041; espota2.py `sock.settimeout(20.0)`).
 */
import type { UploadEvent } from '../../types.ts';
import type { AuthKind, OtaVersion } from '../wire/index.ts';

/** The fields of the front's `UploadOptions` this family uses (a subset: the front passes its own). */
export interface EsphomeOptions {
  /** The OTA password (`-a`); ESPHome's `ota: password:`. */
  password?: string;
  /** The Noise key (`--key` / AIRFLASH_ESPHOME_KEY): base64 of 32 bytes, ESPHome's `encryption: key:`. */
  esphomeKey?: string;
  /** A filesystem image: ESPHome's native OTA writes the application only (refused). */
  filesystem?: boolean;
  /** Multiplies the timeouts below (to match an emulated device's `--time-scale`). */
  timeScale?: number;
  onEvent?: (event: UploadEvent) => void;
}

/** The budgets of one attempt, in ms, before `timeScale`. */
export const ESPHOME_TIMEOUTS = {
  /** TCP connect and each handshake read (espota2.py `settimeout(20.0)`). */
  connectMs: 20_000,
  /** Each read from the size on: prepare/erase, `43`, every `47`, `44`, `45` (esphome PR #19041). */
  ackMs: 160_000,
} as const;

/**
 * Version 2: blocks sent before their `47` came back. 2 keeps the device busy (it reads ≤ 1024
 * bytes per read and acks a block only after writing it, protocols-next.md §1.2 step 13a) while
 * the unacked bytes (16 KiB) stay under the 64 KiB send buffer espota2.py itself allows.
 */
export const ESPHOME_WINDOW_BLOCKS = 2;

/** What one attempt saw (for messages, JSON and a later diagnosis). */
export interface EsphomeObservation {
  protocol: 'esphome';
  host: string;
  port: number;
  address?: string;
  /** The step reached (protocols-next.md §1.2 numbering in words). */
  stage:
    | 'connect'
    | 'magic'
    | 'features'
    | 'encryption'
    | 'auth'
    | 'prepare'
    | 'md5'
    | 'data'
    | 'end'
    | 'done';
  otaVersion?: OtaVersion;
  /** The device answered the extended protocol (`48` + flags). */
  extended?: boolean;
  serverFlags?: number;
  /** The device offers Noise encryption (server flag `04`). */
  noiseOffered?: boolean;
  /** The session ran encrypted (Noise). */
  encrypted?: boolean;
  auth?: AuthKind | 'none';
  bytesSent: number;
  /** Bytes the device acked (version 2), or sent (version 1). */
  bytesAcked: number;
  /** The error byte the device answered, as `0x8B`. */
  response?: string;
  /** ESPHome's name of that byte (`MD5_MISMATCH`). */
  responseName?: string;
}
