/**
 * The limit model (docs/benchmarks.md "The limit"): the ideal time of one ArduinoOTA upload through
 * the emulator, computed from the emulator's own timing model (src/emulator/board/timing.ts, nothing
 * duplicated here) and its link model (rtt/2 each way, a bandwidth cap, the device's receive window).
 *
 * Pure: no I/O, no clock. Times are milliseconds of real time, from the moment the client sends
 * its first invitation until it holds the device's `OK`. What the client does before the first
 * invitation (reading and hashing the file, starting a process) is not part of the limit.
 */
import { coreProfile, esp32EndMs, TIMING_MODEL } from '../src/emulator/index.ts';
import type { CoreKind } from '../src/protocols/arduino-ota/wire/index.ts';

export interface LinkProfile {
  /** Short name used in reports ('loopback', 'rtt20', …). */
  name: string;
  /** Round-trip time in ms; every datagram and TCP segment spends half of it each way. */
  rttMs: number;
  /** Host → device bytes per second; 0 = unlimited. */
  bandwidth: number;
  /** The device's TCP receive window in bytes. Default: the core's lwIP TCP_WND (coreProfile: ESP32 5744, ESP8266 2144). */
  window?: number;
  /** Probability (0…1) that a datagram is lost, each direction. TCP is not lossy in the emulator. */
  udpLoss?: number;
  /** The client's wait before it re-sends an unanswered invitation, ms (only used when udpLoss > 0). */
  inviteRetryMs?: number;
}

/** 'stream': send continuously, read counts concurrently. stopAndWait: send a chunk, wait for the reply. */
export type ClientKind = 'stream' | { stopAndWait: number };

export interface ModelOptions {
  /** Multiplies every device delay and flash cost (the emulator's timeScale). Link times are not scaled. */
  timeScale?: number;
  /** The device asks for a password: one more datagram round trip. */
  password?: boolean;
  /** Filesystem image (command 100): no header hold-back, no magic check. Default false. */
  filesystem?: boolean;
}

export interface UploadTimeEstimate {
  /** The ideal total, ms. */
  totalMs: number;
  /** Invitation (and auth) round trips, including the expected re-invitations on a lossy link. */
  handshakeMs: number;
  /** From the accepted `OK` until the device holds the first byte. */
  connectMs: number;
  /** Device flash work (erase + program), ms (scaled). */
  flashMs: number;
  /** Time the link needs to carry the image at its bandwidth or window limit, ms. */
  linkMs: number;
  /** The data phase: from the first byte at the device until its last count. */
  transferMs: number;
  /** Fixed device delays inside the upload (ESP8266: 100 ms before connecting, 1000 ms before OK). */
  fixedMs: number;
  /** What limits the data phase. */
  bound: 'flash' | 'link' | 'round-trips';
  /** stop-and-wait: number of chunks (one round trip each). */
  chunks?: number;
}

/** An image given by its bytes (blank 4 KiB buffers are then known) or only by its size. */
export type ImageSpec = Uint8Array | number;

const F = TIMING_MODEL.flash;

/** Flash cost of each 4 KiB Update buffer, in image order, for one upload (device ms, unscaled). */
export function flashCosts(image: ImageSpec, core: CoreKind, filesystem = false): number[] {
  const size = typeof image === 'number' ? image : image.length;
  if (!Number.isSafeInteger(size) || size <= 0) throw new RangeError(`image size ${size} is not a size`);
  const costs: number[] = [];
  const sector = F.sectorSize;
  if (core === 'esp8266') {
    // Updater.cpp _writeBuffer: erase the sector when the write address starts one, program every
    // buffer (blank or not). The staging address is sector-aligned (FS_start − roundUp4K(size)).
    for (let o = 0; o < size; o += sector) {
      const len = Math.min(sector, size - o);
      costs.push(F.sectorEraseMs + len / F.writeBytesPerMs);
    }
    return costs;
  }
  // arduino-esp32 Updater: 64 KiB block erase on block boundaries while ≥ 64 KiB remain, 4 KiB
  // sector erase in the tail; all-0xFF buffers are not programmed; the first 16 bytes of an app
  // image are held back until end() (their program cost is not waited for). OTA slots and the
  // filesystem partitions are 64 KiB aligned.
  const tailStart = Math.floor(size / F.blockSize) * F.blockSize;
  for (let o = 0; o < size; o += sector) {
    const len = Math.min(sector, size - o);
    let cost = 0;
    if (size - o >= F.blockSize && o % F.blockSize === 0) cost += F.blockEraseMs;
    else if (o >= tailStart) cost += F.sectorEraseMs;
    const skip = o === 0 && !filesystem ? 16 : 0;
    const programmed = len - skip;
    if (programmed > 0 && !isBlank(image, o + skip, o + len)) cost += programmed / F.writeBytesPerMs;
    costs.push(cost);
  }
  return costs;
}

function isBlank(image: ImageSpec, from: number, to: number): boolean {
  if (typeof image === 'number') return false;
  for (let i = from; i < to; i++) if (image[i] !== 0xff) return false;
  return true;
}

/**
 * Time the link needs to carry `size` bytes: the bandwidth serialises every byte; the window (the
 * emulator's approximation: at most `window` bytes between the host's socket and the device's
 * reads, the ones on the wire for rtt/2 included, the sender resumed without delay) lets the first
 * window arrive at once and then one window per rtt/2.
 */
function linkTimeMs(profile: LinkProfile, size: number, core: CoreKind): number {
  const window = profile.window ?? coreProfile(core).tcpWnd;
  const serial = profile.bandwidth > 0 ? (size / profile.bandwidth) * 1000 : 0;
  const windowed = profile.rttMs > 0 ? (Math.max(0, size - window) / window) * (profile.rttMs / 2) : 0;
  return Math.max(serial, windowed);
}

/** Expected round trips of one request/answer exchange over datagrams lost with probability p each way. */
function expectedTries(p: number): number {
  const success = (1 - p) * (1 - p);
  return success > 0 ? 1 / success : Number.POSITIVE_INFINITY;
}

function validate(profile: LinkProfile, timeScale: number): void {
  for (const [k, v] of [
    ['rttMs', profile.rttMs],
    ['bandwidth', profile.bandwidth],
    ['window', profile.window ?? 1],
    ['udpLoss', profile.udpLoss ?? 0],
    ['timeScale', timeScale],
  ] as const) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${k} must be a non-negative number, not ${v}`);
  }
  if ((profile.udpLoss ?? 0) >= 1) throw new RangeError('udpLoss must be below 1');
  if ((profile.window ?? 1) <= 0) throw new RangeError('window must be positive');
}

/**
 * The ideal time of an upload of `image` to an emulated `core` device over `profile` with a
 * streaming client (the limit) or a stop-and-wait client with the given chunk size (espota's
 * method, for calibration).
 *
 * Streaming, ESP32 (protocol.md §4.1, §4.3–§4.4): invitation → `OK` one rtt; the device connects
 * on its next handle() and the first byte reaches it rtt/2 after the host starts sending (1.5 rtt);
 * then the data phase is bounded by the flash work and by the link, whichever is longer (the first
 * buffer must arrive before the first flush, the last flush starts after the last byte); the final
 * count and `OK` travel back rtt/2. ESP8266 adds `delay(100)` before the connect and `delay(1000)`
 * before `OK`.
 *
 * Stop-and-wait with chunk c: one round trip, the chunk's serialisation and the chunk's flash cost
 * per chunk, strictly in sequence; ESP8266 also waits `drainIdleMs` after each chunk for more data
 * before it answers.
 */
export function idealUploadTime(
  profile: LinkProfile,
  image: ImageSpec,
  core: CoreKind,
  client: ClientKind,
  options: ModelOptions = {},
): UploadTimeEstimate {
  const timeScale = options.timeScale ?? 1;
  validate(profile, timeScale);
  const size = typeof image === 'number' ? image : image.length;
  const rtt = profile.rttMs;
  const costs = flashCosts(image, core, options.filesystem === true).map((c) => c * timeScale);
  const flashMs = costs.reduce((a, b) => a + b, 0);
  const linkMs = linkTimeMs(profile, size, core);
  const esp8266 = core === 'esp8266';
  const d8266 = TIMING_MODEL.esp8266;

  // Invitation (+ auth) round trips; on a lossy link an ideal client re-invites after inviteRetryMs.
  const exchanges = options.password ? 2 : 1;
  const loss = profile.udpLoss ?? 0;
  const retry = profile.inviteRetryMs ?? 2 * rtt + 1;
  const extraTries = loss > 0 ? expectedTries(loss) - 1 : 0;
  const handshakeMs = exchanges * (rtt + extraTries * retry);

  // ESP8266 connects after delay(100); either core: the SYN takes rtt/2, the first byte rtt/2 more
  // after the host accepted (the host sends as soon as it accepts).
  const beforeConnect = esp8266 ? d8266.beforeConnectMs * timeScale : 0;
  const connectMs = beforeConnect + rtt / 2;
  // ESP8266: delay(1000) before OK; ESP32: Update.end() validates the image before OK.
  const beforeOk =
    (esp8266 ? d8266.beforeOkMs : esp32EndMs(size, options.filesystem === true ? 100 : 0)) * timeScale;
  const fixedMs = beforeConnect + beforeOk;

  if (client === 'stream') {
    // The first flush waits for the first buffer's bytes to be serialised (the window holds more
    // than a buffer, so only the bandwidth matters here); the last flush starts after the last byte.
    const firstBuffer = Math.min(F.sectorSize, size);
    const flashPath = flashMs + (profile.bandwidth > 0 ? (firstBuffer / profile.bandwidth) * 1000 : 0);
    const linkPath = linkMs + (costs.at(-1) ?? 0);
    const transferMs = Math.max(flashPath, linkPath);
    const totalMs = handshakeMs + connectMs + transferMs + beforeOk + rtt / 2;
    return {
      totalMs,
      handshakeMs,
      connectMs,
      flashMs,
      linkMs,
      transferMs,
      fixedMs,
      bound: linkPath > flashPath ? 'link' : 'flash',
    };
  }

  const chunk = client.stopAndWait;
  if (!Number.isSafeInteger(chunk) || chunk <= 0) throw new RangeError(`chunk size ${chunk} is not a size`);
  const chunks = Math.ceil(size / chunk);
  // Each chunk: its link time (the serialisation at the bandwidth, or the window when the chunk is
  // larger than the core's window), rtt/2 there, the flash work for the buffers it completes, rtt/2 back.
  const last = size - (chunks - 1) * chunk;
  const serial = (chunks - 1) * linkTimeMs(profile, chunk, core) + linkTimeMs(profile, last, core);
  const drain = esp8266 ? chunks * d8266.drainIdleMs * timeScale : 0;
  // The last chunk completes the image: no drain wait (Update has nothing left to read).
  const drainMs = esp8266 ? drain - d8266.drainIdleMs * timeScale : 0;
  const transferMs = chunks * rtt + serial + flashMs + drainMs;
  // The host starts the first chunk when it accepts the connection (one rtt/2 before it reaches the
  // device), and the last reply already reaches it: the per-chunk rtt covers both.
  const totalMs = handshakeMs + beforeConnect + transferMs + beforeOk;
  return {
    totalMs,
    handshakeMs,
    connectMs,
    flashMs,
    linkMs: serial,
    transferMs,
    fixedMs,
    bound: chunks * rtt > flashMs ? 'round-trips' : 'flash',
    chunks,
  };
}

/** Throughput in bytes per second for `bytes` moved in `ms`. */
export function throughput(bytes: number, ms: number): number {
  return ms > 0 ? (bytes * 1000) / ms : 0;
}
