/**
 * The probe's result types: what a device's ports did with a size-0 invitation, its mDNS
 * advertisement, the follow-up after an unanswered upload, and the core that answered. They live
 * here, below the diagnosis, which reads them (docs/diagnosis.md).
 */

/** The kind of a device's first answer to a probe invitation. */
export type ReplyKind = 'ok' | 'auth' | 'error' | 'other';

/** What one UDP port of the device did with a probe invitation. */
export interface PortCheck {
  port: number;
  /** Why this port was tried. */
  source: 'given' | 'upload' | 'esp32-default' | 'esp8266-default' | 'mdns';
  /**
   * answered: a datagram came back; refused: ICMP port unreachable (the host is there, nothing
   * listens on that UDP port); silent: nothing within the wait.
   */
  outcome: 'answered' | 'refused' | 'silent';
  /** Kind of the first answer. */
  reply?: ReplyKind;
  /** The first answer, verbatim (at most 120 characters). */
  text?: string;
  /** ms from the (first) invitation to the answer or the refusal. */
  latencyMs?: number;
  /** Nonce length of an AUTH answer (32: MD5 exchange, 64: SHA-256/PBKDF2). */
  nonceLength?: number;
  /** Invitations sent to this port. */
  sent: number;
  /** How long we waited for this port, ms. */
  waitedMs: number;
}

/** Whether the device's address answers TCP at all (a closed port answers with a reset). */
export interface TcpCheck {
  port: number;
  outcome: 'refused' | 'open' | 'timeout' | 'unreachable' | 'error';
  latencyMs: number;
  /** Error code for 'unreachable' / 'error' (EHOSTUNREACH, ENETUNREACH, ...). */
  error?: string;
}

/** An `_arduino._tcp` advertisement that matches the device. */
export interface MdnsSeen {
  name: string;
  host: string;
  addresses: string[];
  port: number;
  /** TXT `board`. */
  board?: string;
  authUpload?: boolean;
  txt: Record<string, string>;
  /** The core the advertisement implies (discovery's inference from its TXT records). */
  core?: string;
}

/** One advertisement a browse returned (discovery's `DiscoveredDevice` has this shape). */
export type AdvertisedService = Readonly<Omit<MdnsSeen, 'addresses' | 'txt'>> & {
  readonly addresses: readonly string[];
  readonly txt: Readonly<Record<string, string>>;
};

/**
 * Browse mDNS for ArduinoOTA advertisements for `timeoutMs`. The probe imports no discovery: its
 * caller passes one (the CLI, fleet and dashboard pass discovery's `discoverAll`, bound to their
 * interface settings).
 */
export type MdnsBrowse = (options: {
  timeoutMs: number;
  signal?: AbortSignal;
}) => Promise<readonly AdvertisedService[]>;

/** mDNS: false = do not browse (the library default); true or options = browse with `browse`. */
export type MdnsChoice =
  | boolean
  | {
      /** Browse time, ms. Default 2500. */
      timeoutMs?: number;
    };

/** Resolve a host name to addresses (default: the OS resolver; the CLI adds mDNS for .local names). */
export type HostResolver = (host: string, options: { signal?: AbortSignal }) => Promise<string[]>;

/** The active check run after an unanswered invitation (see `followUp()`). */
export interface FollowUpResult {
  /** The device address that was asked. */
  address: string;
  ports: PortCheck[];
  tcp?: TcpCheck;
  /** undefined: mDNS was not asked; []: asked, nothing matched. */
  mdns?: MdnsSeen[];
  /** How long the mDNS browse ran, ms (when it ran). */
  mdnsWaitMs?: number;
  /** Total time of the follow-up, ms. */
  durationMs: number;
}

/** How often the device's loop() calls ArduinoOTA.handle(), as far as the probe could see. */
export interface ProbeLoop {
  /**
   * measured: periodMs is the time between two handle() calls; fast: answers come at once
   * (handle() runs continuously, or an ESP8266 answered from its network callback);
   * not-visible: the device answers outside loop() (ESP8266 with a password); skipped / none.
   */
  kind: 'measured' | 'fast' | 'not-visible' | 'skipped' | 'none';
  periodMs?: number;
  /** Gaps between consecutive answers, ms, and what one gap spans. */
  gapsMs: number[];
  handleCallsPerGap?: number;
  why: string;
}

/** The core family that answered, and how that is known (`detectCore()`). */
export type CoreDetection =
  | {
      core: 'esp32' | 'esp8266';
      /**
       * firm: the device's own answer or its mDNS advertisement says so; weak: only the port that
       * answered (3232 / 8266 are defaults, and a sketch may call ArduinoOTA.setPort()).
       */
      strength: 'firm' | 'weak';
      evidence: string[];
    }
  | { core: 'unknown'; evidence: string[] };

/** What `detectCore()` reads: a ProbeResult and a ProbeOutcome both have these fields. */
export interface CoreClues {
  /** The first ArduinoOTA answer's kind (undefined: nothing answered). */
  reply?: ReplyKind | undefined;
  /** Nonce length of an AUTH answer. */
  nonceLength?: number | undefined;
  /** The port that answered. */
  port?: number | undefined;
  /** The device's mDNS advertisements, when discovery gave them. */
  mdns?: readonly Pick<MdnsSeen, 'board' | 'core' | 'port'>[] | undefined;
}

export interface ProbeOptions {
  /** Device address or name (when probe() is called with one options object). */
  host?: string;
  /** UDP OTA port to ask. Default: 3232, 8266 and the port advertised over mDNS. */
  port?: number;
  /** With `port`: also ask 3232 / 8266 / the mDNS port when `port` is silent. Default false. */
  alternatives?: boolean;
  /** How long to wait for a first answer, ms (a device whose loop() blocks answers late). Default 35 000. */
  timeoutMs?: number;
  /** Measure the loop period (a few more invitations). Default true. */
  loop?: boolean;
  /** Loop-period samples (gaps between answers). Default 2 (1 when a gap is ≥ 10 s). */
  samples?: number;
  /** Ask mDNS for the device's advertisement (through `browse`). Default false. */
  mdns?: MdnsChoice;
  /** How to browse mDNS (needed when `mdns` is on; the CLI passes discovery's). */
  browse?: MdnsBrowse;
  /** Local address to send from (espota -I). Default: the one that routes to the device. */
  hostIp?: string;
  /** Multiplies the default waits and pauses (emulated devices). Default 1. */
  timeScale?: number;
  /** Resolve a host name (default: the OS resolver; the CLI adds mDNS for .local names). */
  resolve?: HostResolver;
  /** Progress for people ("port 3232 answered …"); the library never prints. */
  onNote?: (message: string) => void;
  signal?: AbortSignal;
}

export interface ProbeResult {
  host: string;
  address: string;
  /** An ArduinoOTA service answered (on `port`). */
  answered: boolean;
  /** The port that answered, else the port asked first. */
  port: number;
  /** Every port asked, and what it did. */
  ports: PortCheck[];
  /** What the device answered first: OK (no password), AUTH (password), ERR (ESP8266 begin error). */
  reply?: ReplyKind;
  replyText?: string;
  /** ms from the first invitation to the first answer (depends on the phase of its loop). */
  latencyMs?: number;
  /** The device wants a password (undefined when it did not answer). */
  authRequired?: boolean;
  /** md5 (32-hex nonce) or sha256 (64-hex nonce, PBKDF2). */
  authScheme?: 'md5' | 'sha256';
  nonceLength?: number;
  /** The core family and version range the answers point to. */
  core: { family?: 'esp32' | 'esp8266'; range: string; why: string[] };
  loop: ProbeLoop;
  /** `handle()` period in ms when measured (same as loop.periodMs). */
  loopPeriodMs?: number;
  /** ESP8266 `ERR:` text (e.g. "ERROR[11]: Invalid bootstrapping state …"). */
  deviceError?: string;
  /** mDNS advertisements of this device (when asked). */
  mdns?: MdnsSeen[];
  /** Findings worth acting on ("reset the ESP8266 once", "answers on 3232, not 8266"). */
  notes: string[];
  /** What the probe did to the device (for the record). */
  sideEffects: string[];
  summary: string;
  durationMs: number;
}

export interface ProbeDeviceOptions {
  host: string;
  port: number;
  /** How long to wait for any answer (the invitation is sent up to 3 times within it). */
  timeoutMs: number;
  /**
   * When nothing listens on `port` (ICMP port unreachable), ask these ports too. Default: 3232
   * and 8266 (and the port the device advertises, when the caller adds it); false: only `port`.
   */
  alternatives?: readonly number[] | false;
  /** Multiplies the settle pauses. Default 1. */
  timeScale?: number;
  /** Local address to bind to (default: the one that routes to the device). */
  hostIp?: string;
  resolve?: HostResolver;
  signal?: AbortSignal;
}

/** The short "is it there?" answer (fleet, dashboard, `waitUntilBack()`), from the one probe. */
export interface ProbeOutcome {
  /** An ArduinoOTA service (or something) answered on the port asked. */
  online: boolean;
  /** What the port asked answered first. */
  answer?: ReplyKind;
  /** The first answer, verbatim (at most 80 characters). */
  text?: string;
  /** ms from the first invitation to the first answer. */
  latencyMs?: number;
  /** Invitations sent to the port asked. */
  sent: number;
  /** The resolved address. */
  address?: string;
  /** Nothing listens on the port asked: the system answered "port unreachable" (ICMP). */
  refused?: boolean;
  /**
   * The port asked is closed, but ArduinoOTA answers on this one (a wrong port, not an offline
   * device: upload with this port and warn WRONG_PORT).
   */
  answersOn?: { port: number; answer: ReplyKind; text: string; latencyMs: number };
  /** Every port asked and what it did. */
  ports: PortCheck[];
  /** Which core answered, from its reply and the port (see detectCore). */
  core: CoreDetection;
}
