import type { ErrorCode } from '../../../core/errors.ts';
import type {
  PreflightOutcome,
  PreparedImageInfo,
  UploadEnvelope,
  UploadEvent,
  UploadPhase,
} from '../../types.ts';
import type { AuthScheme, PasswordHashKind } from '../wire/index.ts';
import type { UploadTimeouts } from './timeouts.ts';

export type { PreflightOutcome, PreparedImageInfo, UploadEvent, UploadPhase };

/** What the upload knows of the device before sending: recorded in the observation and used to
 * refuse an image for another chip family (chip-family.ts; `force` skips that). */
export interface UploadContext {
  chip?: string;
  partitions?: string;
  slotSize?: number;
  core?: string;
  /** The mDNS TXT `board` of the record the target came from (discovery). */
  board?: string;
  force?: boolean;
}

export interface UploadOptions {
  /** Device IPv4 / IPv6 literal, host name or `.local` name (espota `-i`), or
   * `scheme://host[:port]` for a registered protocol (`arduino-ota://host:3232`). */
  host: string;
  /** Device UDP OTA port. Default 3232 (espota `-p`); 8266 for ESP8266 devices. */
  port?: number;
  /** The OTA port the device advertises over mDNS, when known: tried first if nothing listens on `port`. */
  advertisedPort?: number;
  /** Image file path (espota `-f`). Exactly one of `file` and `data`. */
  file?: string;
  /** Image bytes, instead of `file`. */
  data?: Uint8Array;
  /** Filesystem image (command 100, espota `-s`) instead of application firmware (command 0). */
  filesystem?: boolean;
  /** Password (espota `-a`). Empty string = no password. */
  password?: string;
  /** ESPHome native OTA: the Noise encryption key (`--key`, base64 of 32 bytes); never printed. */
  esphomeKey?: string;
  /** Hash the password with MD5 for 64-hex nonces instead of trying SHA-256 first (espota `-m`). */
  md5Target?: boolean;
  /** Local address to bind the UDP socket and the TCP listener to (espota `-I`). Default: the
   * address that routes to the device. */
  hostIp?: string;
  /** Local TCP port the device connects back to (espota `-P`). Default 0 = chosen by the OS. */
  hostPort?: number;
  /** gzip the image before sending (ESP8266 Updater accepts gzip). */
  compress?: boolean;
  /** Use `FILE.signed` when it exists (ESP8266 espota does). Default 'auto': only for port 8266 or
   * `chip: 'esp8266'`. */
  signed?: boolean | 'auto';
  /** Wait per invitation attempt, ms (espota `-t`, seconds there). Default 10 000. */
  attemptTimeoutMs?: number;
  /** Invitation attempts. Default 10 (10 × 10 s = espota's 100 s budget, counted correctly). */
  inviteAttempts?: number;
  /** Wait for the answer to the auth line, ms. Default 45 000 (adapts: at least 2 × answer
   * latency + 10 s). A wrong password is answered at once, so this is only waited out when the
   * device stays silent. */
  authTimeoutMs?: number;
  /** Wait for the device to connect back after `OK`, ms. Default 10 000; adapts to the latency
   * seen and is extended while the device stays busy (see docs/upload.md). */
  connectTimeoutMs?: number;
  /** Longest total wait for the connect-back when the device stays silent. Default 100 000. */
  connectMaxMs?: number;
  /** Longest silence from the device while it still has bytes to confirm, ms. Default 10 000. */
  stallTimeoutMs?: number;
  /** Longest wait for `OK` once the device confirmed every byte, ms. Default 30 000. */
  resultTimeoutMs?: number;
  /** Named per-phase waits in ms (`{ invitation, auth, accept, stall, result, … }`); each left out
   * keeps its default. The flat options above win when both are given. */
  timeouts?: UploadTimeouts;
  /** Repeat a failed upload this many times (not for auth, usage or pre-flight errors). Default 0. */
  retries?: number;
  /** Multiplies every default timeout and pause (for emulated devices with a time scale). Default 1. */
  timeScale?: number;
  /** Resolve a host name to addresses (default: the OS resolver). The CLI passes one that also
   * asks mDNS for `.local` names. */
  resolve?: (host: string, options: { signal?: AbortSignal }) => Promise<string[]>;
  /** Pre-flight check run after hashing and before the invitation; throw to refuse. Default: the
   * formats pre-flight without a target (`createPreflight()`: an application image, intact; a
   * filesystem upload is not a firmware image). `false` sends the file unchecked. */
  preflight?:
    | ((image: PreparedImageInfo) => Promise<PreflightOutcome | undefined> | PreflightOutcome | undefined)
    | false;
  /** What is known of the device (recorded for the diagnosis; a chip family that contradicts the
   * image refuses it before anything is sent, unless `force`). */
  context?: UploadContext;
  onEvent?: (event: UploadEvent) => void;
  /** Emit `debug` events (every datagram and reply chunk as it happens). Default false. */
  debug?: boolean;
  /** A directory for the marks of confirmed updates, so that the next process's upload knows the
   * device is rebooting (`rebootMarkDir(env)`; the CLI passes it). Default: none (nothing is
   * written; only this process's updates are known). docs/upload.md "Right after an update". */
  rebootMarks?: string;
  signal?: AbortSignal;
}

/** The result of an ArduinoOTA upload: the protocol-agnostic envelope (tagged `protocol`) plus
 * what ArduinoOTA reports. */
export interface UploadResult extends UploadEnvelope<UploadObservation> {
  command: 0 | 100;
  /** Estimated period of the device's loop() (how often it calls ArduinoOTA.handle()), when it is
   * long enough to matter (≥ 1 s): a blocked loop. The observation keeps shorter estimates. */
  loopPeriodMs?: number;
  /** `measured` (ESP32 pattern) or `at-least` (a lower bound: only a late answer was seen). */
  loopPeriodKind?: 'measured' | 'at-least';
  /** Auth scheme used, when the device asked for a password. */
  authScheme?: AuthScheme;
  /** Which password hash worked (sha256, or the md5 fallback). */
  passwordHash?: PasswordHashKind;
  /** Attempts made (1 + retries used). */
  attempts: number;
}

/** One datagram sent to the device. `at` values are ms since the upload started. */
export interface SentDatagram {
  at: number;
  kind: 'invitation' | 'auth' | 'reset';
  /** Invitation attempt number within its round (1-based). */
  attempt?: number;
  /** Why it was sent: first, retry (no answer yet), backlog (even out stale queued invitations),
   * stale (re-invite after a possibly stale `Authentication Failed`), fallback (MD5 password
   * hash), probe (no connect-back yet), after-timeout. */
  reason:
    | 'first'
    | 'retry'
    | 'backlog'
    | 'stale'
    | 'fallback'
    | 'probe'
    | 'after-timeout'
    | 'reboot'
    | 'answer'
    | 'idle';
  /** For auth lines: which password hash was used. */
  secret?: PasswordHashKind;
}

/** One datagram received on the invitation socket. */
export interface ReceivedDatagram {
  at: number;
  from: string;
  fromPort: number;
  /** Whether the source address is the device's. Others are recorded and ignored. */
  fromDevice: boolean;
  /** The text, verbatim (truncated to 256 characters). */
  text: string;
  kind: 'ok' | 'auth' | 'auth-failed' | 'refused' | 'bad-nonce' | 'unknown';
  /** How it was used: accepted, answered (an AUTH we replied to), counted (a stale AUTH we waited
   * for), stray (an extra answer to a queued invitation), ignored. */
  use: 'accepted' | 'answered' | 'counted' | 'stray' | 'ignored' | 'failed';
  nonceLength?: number;
}

/**
 * Everything the uploader saw, with times, so that a diagnosis can be computed from it alone.
 * Times are milliseconds since `startedAt` (epoch ms).
 */
export interface UploadObservation {
  version: 1;
  startedAt: number;
  target: {
    host: string;
    address?: string;
    family?: 4 | 6;
    port: number;
    resolvedBy?: 'literal' | 'resolver';
  };
  local: {
    /** Local address the UDP socket and TCP listener were bound to. */
    address?: string;
    /** How it was chosen: by the user (-I), by the route to the device, or loopback. */
    addressFrom?: 'option' | 'route' | 'loopback' | 'any';
    udpPort?: number;
    tcpPort?: number;
  };
  image: {
    path?: string;
    /** The file actually sent when `.signed` was substituted. */
    sentPath?: string;
    size?: number;
    md5?: string;
    command: 0 | 100;
    compressed: boolean;
    signedSubstituted: boolean;
    /** First byte of the image (0xE9 for an ESP app image, 0x1F for gzip). */
    firstByte?: number;
  };
  options: {
    passwordGiven: boolean;
    passwordSource?: 'option' | 'env';
    /** Length of the password (never the password), and whether it contains white space. */
    passwordLength?: number;
    passwordHasSpace?: boolean;
    /** White space followed by `-x` / `--x` in the password (options glued to it); never the text. */
    passwordLooksLikeOptions?: boolean;
    md5Target: boolean;
    attemptTimeoutMs: number;
    inviteAttempts: number;
    authTimeoutMs: number;
    connectTimeoutMs: number;
    connectMaxMs: number;
    stallTimeoutMs: number;
    resultTimeoutMs: number;
    hostPortFixed?: number;
    hostIpGiven?: string;
    timeScale: number;
  };
  context: UploadContext;
  preflight?: {
    ran: boolean;
    warnings: Array<{ code: string; message: string }>;
    info?: Record<string, unknown>;
  };
  sent: SentDatagram[];
  /** Datagrams the handshake read: every one from the device, the first few from others. */
  received: ReceivedDatagram[];
  /** Invitations before the first answer that were lost (the latest one was answered at once). */
  invitationsLost?: number;
  /** The device was rebooting after an update of this process: invitations were repeated until it was back. */
  rebootWait?: boolean;
  /** Ports where the OS reported ICMP "port unreachable" to the first invitation, in order. */
  portRefused?: Array<{ port: number; at: number; errno: string }>;
  /** Nothing listened on the port given; the device answered on `used` (warning WRONG_PORT). */
  portCorrection?: { given: number; used: number; why: string };
  /** Counts of the invitation socket (bounded queue; docs/upload.md "Bounds"). */
  udp?: {
    fromDevice: number;
    /** From other addresses: counted; only the first few are queued and recorded. */
    foreign: number;
    /** From the device but dropped because the queue was full. */
    dropped: number;
    /** Arrived after the handshake (counted, not read). */
    afterHandshake: number;
    queueLimit: number;
    /** Longest the queue got. */
    queueHighWater?: number;
    /** Read by the handshake but not recorded in `received` (over its bound). */
    unrecorded?: number;
  };
  /** Invitations sent in total (all rounds). */
  invitationsSent: number;
  /** Time from the first invitation to the first datagram from the device. */
  firstAnswerLatencyMs?: number;
  /** Time from the most recent invitation sent before it to the first datagram from the device. */
  firstAnswerSinceLastInvitationMs?: number;
  /** Stale invitations that were probably still queued in the device when it first answered. */
  backlogAtFirstAnswer?: number;
  auth?: {
    scheme: AuthScheme;
    nonceLength: number;
    tries: Array<{
      secret: PasswordHashKind;
      sentAt: number;
      outcome: 'ok' | 'failed' | 'no-answer' | 'pending';
      answeredAt?: number;
    }>;
  };
  /** When the accepted `OK` arrived (from the invitation or from the auth line). */
  okAt?: number;
  connect?: {
    /** Window the uploader waited for the connect-back (adapted). */
    waitMs: number;
    connectedAt?: number;
    from?: string;
    /** A connection from the device arrived although its `OK` was never seen. */
    withoutOk?: boolean;
    /** Connections from other addresses (refused) and extra ones from the device (closed). */
    refused: Array<{ at: number; from: string }>;
    extra: number;
    probes: number;
    /** The device answered a probe invitation while we waited (so it was idle, not busy). */
    probeAnsweredAt?: number;
  };
  transfer?: {
    startedAt: number;
    /** Bytes handed to the operating system (its socket buffers are not the device). */
    bytesSent: number;
    /** Bytes the device confirmed (sum of its counts; a hint, the counts have no separator). */
    bytesConfirmed: number;
    /** Number of reply chunks with counts. */
    countChunks: number;
    /** Bytes the device sent on the data connection (capped, docs/upload.md). */
    replyBytes?: number;
    /** Most bytes handed to the network beyond the device's counts. */
    aheadLimit?: number;
    /** Extra silence allowed while the device holds unconfirmed bytes (writes them to flash). */
    flashPauseAllowanceMs?: number;
    /** The silence limit in force when the transfer ended (stall timeout [+ allowance], or the
     * result timeout). */
    silenceLimitMs?: number;
    /** Overall deadline of the transfer (size at the minimum rate + the fixed waits). */
    deadlineMs?: number;
    lastDeviceDataAt?: number;
    endedAt?: number;
    /** early-ok: `OK` before the whole image was handed over (or before any count); reply-cap:
     * more reply bytes than a device sends; deadline: the overall deadline passed. */
    end?:
      | 'ok'
      | 'device-error'
      | 'eof'
      | 'reset'
      | 'stall'
      | 'result-timeout'
      | 'aborted'
      | 'early-ok'
      | 'reply-cap'
      | 'deadline';
    /** Bytes after `OK` (a real device sends none). */
    trailing?: number;
  };
  /** The device's own words (UDP `ERR:` text or TCP error text), verbatim. */
  deviceText?: string;
  /** Estimated loop period (time between two handle() calls), when seen. */
  loopPeriodMs?: number;
  /** `measured` (ESP32: the gap between two handle() calls) or `at-least` (only a late answer seen). */
  loopPeriodKind?: 'measured' | 'at-least';
  /** How the loop period was seen, e.g. "OK → connect 30.0 s". */
  loopPeriodEvidence?: string[];
  /** Time gaps that reflect the device's loop (ESP32: between handle() calls). */
  loopGapsMs: number[];
  warnings: Array<{ code: string; message: string }>;
  hints: string[];
  /** A readable log of everything above, in order. */
  timeline: Array<{ at: number; what: string }>;
  outcome?: { ok: boolean; code?: ErrorCode; phase?: UploadPhase; message: string; at: number };
  /** Previous failed attempts of the same upload (`retries`), oldest first, with the bytes the
   * device had confirmed when each failed (transfer failures). */
  previousAttempts?: Array<{ code: ErrorCode; message: string; bytesConfirmed?: number; bytesSent?: number }>;
  /** Set when every attempt (at least two) failed in the transfer at about the same offset. */
  sameOffset?: { attempts: number; offsets: number[]; code: ErrorCode };
}
