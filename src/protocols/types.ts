/**
 * The protocol contract: what every OTA protocol family (ArduinoOTA today; ESPHome native OTA,
 * HTTP web-OTA and the serial ROM loader next) offers the upload front, and the
 * protocol-agnostic records that flow between them. Types only: this module sits below the
 * protocols, so the front, the fleet and the dashboard depend on it and not on one protocol.
 */

import type { ErrorCode } from '../core/errors.ts';
import type { ChipFamily } from '../devices/family.ts';
import type { ImageSource } from '../formats/image/source.ts';

/** The steps of one upload, in order. `invite`, `auth` and `connect` are a protocol's handshake
 * (a protocol without one skips them); `done` is emitted only on success. */
export type UploadPhase =
  | 'resolve'
  | 'prepare'
  | 'preflight'
  | 'invite'
  | 'auth'
  | 'connect'
  | 'transfer'
  | 'result'
  | 'done';

/** Events emitted through `UploadOptions.onEvent`. The library never prints; the CLI renders these. */
export type UploadEvent =
  | { type: 'phase'; phase: UploadPhase }
  /** `bytes`: bytes the device confirmed (its counts, bounded by the bytes sent); `total` only on
   * `OK`. `sent`: bytes handed to the network (the host's socket buffers are not the device).
   * `stage`: `sending` while the host still has image bytes to hand over; `flashing` once every
   * byte was handed over and the device is writing what it holds (then, after its MD5 check, `OK`). */
  | { type: 'progress'; bytes: number; total: number; sent: number; stage?: 'sending' | 'flashing' }
  /** Only with `debug: true`: one step as it happens (datagrams with their text, passwords
   * masked; each TCP reply chunk). `at`: ms since the upload started. Not stored. */
  | { type: 'debug'; at: number; text: string }
  | { type: 'warning'; code: string; message: string }
  /** Something worth telling a waiting user, e.g. "the device answered after 29.6 s: ...". */
  | { type: 'hint'; message: string }
  /** A failed attempt that will be repeated (`retries`). */
  | { type: 'retry'; attempt: number; of: number; code: ErrorCode; message: string };

/** What an image update writes on the device. */
export type ImageKind = 'app' | 'filesystem';

/** A device to update, as the user named it. */
export interface Target {
  /** Host name, `.local` name or IP literal (without scheme or port). */
  host: string;
  /** The port named with the target (`scheme://host:port`) or by option. */
  port?: number;
  /** The explicit scheme (`arduino-ota`, later `esphome`, `http`, `serial`), when one was written. */
  scheme?: string;
  /** The mDNS service type the target was discovered under (`_arduino._tcp`), when known. */
  service?: string;
  /**
   * The path of the URL (`http://HOST/update` → `/update`). For an `addressless` protocol's scheme
   * it is the device itself (`serial:///dev/ttyUSB0` → `/dev/ttyUSB0`, `serial://COM3` → `COM3`),
   * and `host` names the same device (for messages and the envelope).
   */
  path?: string;
}

/** The image as the front prepared it (hashed, maybe gzipped), shared by every attempt. */
export interface PreparedImage {
  /** The path given by the user (for the espota-style cnonce). */
  path?: string;
  /** The path actually read (`.signed` substitution). */
  sentPath?: string;
  size: number;
  md5: string;
  head: Uint8Array;
  compressed: boolean;
  signedSubstituted: boolean;
  /** The image as built (before gzip), whole in memory: prefer `openOriginal`. */
  readOriginal(): Promise<Uint8Array>;
  /** The image as built (before gzip) for bounded reads; the caller closes it. */
  openOriginal(): Promise<ImageSource & { close(): Promise<void> }>;
  /** A fresh stream of the bytes to send (each call starts at the beginning). */
  open(): (AsyncIterable<Uint8Array> | Iterable<Uint8Array>) & { destroy?: () => void };
}

/** What the pre-flight hook sees of the prepared image. */
export interface PreparedImageInfo {
  path?: string;
  size: number;
  md5: string;
  command: 0 | 100;
  /** The first bytes of the image (up to 64 KiB) for header checks. */
  head: Uint8Array;
  /** The whole image as built (before `compress`; the `.signed` file when substituted), in
   * memory: prefer `open`. */
  read(): Promise<Uint8Array>;
  /** The same bytes for bounded positional reads (a file handle); the caller closes it. */
  open?(): Promise<ImageSource & { close(): Promise<void> }>;
}

/** The pre-flight outcome: warnings to pass on, facts for the diagnosis (`maxSize`, `chip`). */
export interface PreflightOutcome {
  warnings?: Array<{ code: string; message: string }>;
  info?: Record<string, unknown>;
}

/** Where the device was found: the IP address the front resolved the target to. */
export interface NetworkAddress {
  address: string;
  family: 4 | 6;
  resolvedBy: 'literal' | 'resolver';
}

/**
 * Where the device is: an IP address, or for an `addressless` protocol (serial) the device path
 * as named, not resolved (`resolvedBy: 'none'`, no IP family).
 */
export type ResolvedAddress = NetworkAddress | { address: string; resolvedBy: 'none' };

/** The fields every successful upload reports, whatever the protocol. */
export interface UploadEnvelope<Observation> {
  ok: true;
  /** The protocol that carried the upload (`arduino-ota`, or a registered one). */
  protocol: string;
  host: string;
  address: string;
  port: number;
  /** Bytes streamed (size of the image as sent). */
  bytes: number;
  md5: string;
  /** Milliseconds from start to the device's confirmation. */
  durationMs: number;
  warnings: Array<{ code: string; message: string }>;
  observation: Observation;
}

/**
 * One attempt's record keeper, owned by the protocol: it builds the protocol's observation,
 * emits events, and turns a failure into an `UploadError` carrying that observation.
 */
export interface AttemptJournal<Observation> {
  readonly observation: Observation;
  readonly phase: UploadPhase;
  setPhase(phase: UploadPhase): void;
  log(what: string): void;
  warn(code: string, message: string): void;
  emit(event: UploadEvent): void;
  /** The target was resolved. */
  resolved(address: ResolvedAddress): void;
  /** The image was prepared (before the pre-flight). */
  prepared(image: PreparedImage): void;
  /** The pre-flight ran. */
  checked(outcome: PreflightOutcome | undefined): void;
  /** The failure of this attempt, with the observation and the phase attached. */
  fail(error: unknown): Error & { readonly code: ErrorCode };
  /** The journal of the next attempt after `error` (what carries over is the protocol's choice). */
  next(error: Error & { readonly code: ErrorCode }): AttemptJournal<Observation>;
}

/** Everything one attempt needs. */
export interface UploadSession<Options, Observation> {
  options: Options;
  target: Target;
  address: ResolvedAddress;
  image: PreparedImage;
  journal: AttemptJournal<Observation>;
  /** 1 for the first attempt. */
  attempt: number;
  /** The chip-family check the protocol still owes (set by the front, see `FamilyCheck`). */
  familyCheck?: FamilyCheck;
  signal?: AbortSignal;
}

/** What a device's own answer shows of its chip family, and how ("it answered OK at once …"). */
export interface FamilyEvidence {
  family: ChipFamily;
  how: string;
}

/**
 * The wrong-chip-family check (issue 11) the front hands a protocol when the image's family is
 * known, the device's is not (no `--chip`, mDNS TXT `board` or core) and neither `--force` nor
 * `preflight: false` skips it. Before its first image byte on a port that contradicts
 * `imageFamily` (the other family's default), the protocol asks the device (its probe) and throws
 * `verdict()` of the family the answer shows when that is an error (PREFLIGHT_WRONG_CHIP, in the
 * front's one wording).
 */
export interface FamilyCheck {
  imageFamily: ChipFamily;
  verdict(found: FamilyEvidence): Error | undefined;
}

/** What a short "is it there" probe of one protocol found. */
export interface ProtocolProbe {
  online: boolean;
  latencyMs?: number;
  /** The device wants a password (when the protocol can tell). */
  authRequired?: boolean;
  /** The port that answered, when not the one asked (a wrong port, self-corrected). */
  answeredPort?: number;
  /** The chip family the device's own answer shows (absent when the answer does not tell). */
  family?: FamilyEvidence;
}

export interface ProtocolProbeOptions {
  timeoutMs: number;
  timeScale?: number;
  hostIp?: string;
  resolve?: (host: string, options: { signal?: AbortSignal }) => Promise<string[]>;
  signal?: AbortSignal;
}

/**
 * One OTA protocol family. `Options` are the front's upload options (a protocol reads what it
 * knows); `Observation` is the protocol's own record of an attempt, for its diagnosis.
 */
export interface OtaProtocol<Options, Observation> {
  /** Stable id, also the URL scheme of an explicit target (`arduino-ota://host:port`). */
  readonly id: string;
  /** A short name for messages ("ArduinoOTA"). */
  readonly title: string;
  /** What it can write. */
  readonly writes: readonly ImageKind[];
  /** Further URL schemes that pick it (`esphome`, `http`, `serial`). */
  readonly schemes?: readonly string[];
  /** mDNS service types its devices advertise (`_arduino._tcp`). */
  readonly services?: readonly string[];
  /** The ports its devices listen on by default, most common first. */
  readonly ports?: readonly number[];
  /**
   * The target is not a network address (a serial device path): the front does not resolve it
   * (`ResolvedAddress.resolvedBy: 'none'`) and `parseTarget` reads `scheme://` + the device.
   */
  readonly addressless?: boolean;
  /**
   * Auto-detection of a bare target (registry.ts `detectionOrder`): the failure codes of this
   * protocol that mean "no device of mine at that address" (ArduinoOTA: NO_INVITATION_REPLY).
   */
  readonly absentCodes?: readonly string[];
  /** Asked (its `probe`) for a bare target where the picked protocol found nothing; lower first. */
  readonly detectOrder?: number;
  /**
   * Whether a failed attempt with this code may be retried (`--retries`); without it the front's
   * own rule (upload.ts `isRetryable`) applies.
   */
  isRetryable?(code: string): boolean;
  /** A short probe: does a device of this protocol answer at host:port? */
  probe?(target: Target & { port: number }, options: ProtocolProbeOptions): Promise<ProtocolProbe>;
  /** Waits `graceMs`, then probes (each probe up to `probeTimeoutMs`) until a just-updated device
   * answers again after its reboot, for at most `timeoutMs`: ms until it did, undefined = not back. */
  waitUntilBack?(
    target: Target & { port: number },
    options: ProtocolProbeOptions & { graceMs: number; probeTimeoutMs: number },
  ): Promise<number | undefined>;
  /** The journal of the first attempt. */
  begin(options: Options, target: Target): AttemptJournal<Observation>;
  /** One attempt; throws what `journal.fail` makes of a failure. */
  upload(session: UploadSession<Options, Observation>): Promise<UploadEnvelope<Observation>>;
}
