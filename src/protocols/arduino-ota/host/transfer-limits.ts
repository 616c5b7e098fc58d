/**
 * The bounds of the transfer phase (docs/upload.md "Timeouts of the transfer"): how far the host
 * writes ahead of what the device confirmed, how long a device may stay silent, the overall
 * deadline, and how many reply bytes a device may send. Pure arithmetic, no I/O.
 */

import type { Timeouts } from '../model/timeouts.ts';
import { DEVICE_READ_SIZE } from '../wire/index.ts';

/**
 * Bytes the host hands to the network beyond what the device confirmed. Without this bound the
 * host's socket buffers swallow megabytes that the device has not seen ("1250000 of 1250000 bytes
 * sent, 13 % confirmed"), and an ESP8266, which answers once per drain of everything available
 * (protocol.md §4.3), stays silent for most of the image.
 */
export const AHEAD_LIMIT_BYTES = 64 * 1024;

/** Slowest flash rate a device is expected to sustain, bytes/ms (flash encryption: 8 KiB in
 * 400 ms, field-notes §2.12a). */
export const SLOWEST_FLASH_BYTES_PER_MS = 16;

/**
 * The flash-pause allowance: extra silence allowed, on top of the stall timeout, while the device
 * holds unconfirmed bytes — the time to write a full write-ahead window at the slowest flash rate
 * (64 KiB / 16 bytes/ms ≈ 4.1 s, × timeScale). Fixed, so `--stall-timeout S` means S + this.
 */
export function flashPauseAllowanceMs(t: Timeouts): number {
  return Math.round((AHEAD_LIMIT_BYTES / SLOWEST_FLASH_BYTES_PER_MS) * t.timeScale);
}

/** Slowest average rate accepted over a whole transfer, bytes per second (a device trickling one
 * count a second is cut off by the deadline below). */
export const MIN_TRANSFER_BYTES_PER_S = 4096;

/**
 * Overall transfer deadline, ms from the connect-back: the image at the minimum rate plus the
 * fixed waits (one stall window with its allowance, and the wait for the final `OK`). Any byte
 * from the device resets the silence timer, never this one.
 */
export function transferDeadlineMs(size: number, t: Timeouts): number {
  const atMinRate = Math.ceil((size / MIN_TRANSFER_BYTES_PER_S) * 1000 * t.timeScale);
  return atMinRate + t.stallTimeoutMs + flashPauseAllowanceMs(t) + t.resultTimeoutMs;
}

/**
 * Most reply bytes a device may send on the data connection. A count of n bytes has at most n
 * digits, so the counts of a real device never exceed the image size; an ESP32 re-sends its last
 * count up to 3 times per silence, and an error text is at most a few hundred bytes.
 */
export function replyByteCap(size: number): number {
  return 2 * size + 4 * DEVICE_READ_SIZE + 4096;
}

/** Blocked on the write-ahead window with a silent device for as long as the flash-pause
 * allowance (a whole window flashed at the slowest rate), the host hands it one more device read:
 * the count split is a guess (protocol.md §4.3), and an underestimate must not deadlock an ESP8266,
 * which has no receive timeout. The grants add up (the window stays wider after each). */
export const AHEAD_NUDGE_BYTES = DEVICE_READ_SIZE;
