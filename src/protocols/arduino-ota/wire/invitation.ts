import { COMMAND, type InvitationCommand } from './constants.ts';
import { asciiBytes } from './text.ts';

export interface Invitation {
  command: InvitationCommand;
  /** The host's TCP port the device connects back to. */
  port: number;
  /** Image size in bytes. */
  size: number;
  /** MD5 of the exact bytes that will be streamed, 32 lower-case hex. */
  md5: string;
}

/** The invitation datagram: `<cmd> <port> <size> <md5>\n` (protocol.md §2.1). */
export function formatInvitation(inv: Invitation): Uint8Array {
  return asciiBytes(`${inv.command} ${inv.port} ${inv.size} ${inv.md5}\n`);
}

/** The auth datagram: `200 <cnonce> <response>\n` (protocol.md §3). */
export function formatAuthLine(cnonce: string, response: string): Uint8Array {
  return asciiBytes(`${COMMAND.auth} ${cnonce} ${response}\n`);
}

/**
 * The device's hand-written scanner (ArduinoOTA.cpp `parseInt` / `readStringUntil`), copied so the
 * emulator accepts and rejects exactly what a real device does (protocol.md §2.2, §3.1).
 */
export class DeviceScanner {
  private pos = 0;
  private readonly data: Uint8Array;
  private readonly maxDigits: number;
  /** `maxDigits`: ESP32 `while (index < INT_BUFFER_SIZE - 1)` = 14; ESP8266 `index < sizeof(data)` = 15. */
  constructor(data: Uint8Array, maxDigits = 14) {
    this.data = data;
    this.maxDigits = maxDigits;
  }

  private peek(): number {
    return this.pos < this.data.length ? (this.data[this.pos] as number) : -1;
  }

  /**
   * ArduinoOTA's parseInt: skip spaces, then peek digits into a 16-byte buffer. The terminating
   * non-digit is NOT consumed. One digit more than `maxDigits` fills the buffer and the function
   * returns 0 (the rest of the digits stay unread). newlib `atoi` is `(int)strtol(…)`, which
   * clamps at LONG_MAX = 2147483647 (32-bit long) instead of wrapping.
   */
  parseInt(): number {
    while (this.peek() === 0x20) this.pos++;
    let digits = '';
    while (digits.length <= this.maxDigits) {
      const c = this.peek();
      if (c < 0x30 || c > 0x39) {
        return digits === '' ? 0 : Math.min(Number(digits), 2147483647);
      }
      digits += String.fromCharCode(c);
      this.pos++;
    }
    return 0;
  }

  /** Consume one character (the separator). */
  skip(): void {
    if (this.pos < this.data.length) this.pos++;
  }

  /** readStringUntil: characters up to `stop`, NUL or the end; the stop char is consumed. */
  readUntil(stop: number): string {
    let s = '';
    while (this.pos < this.data.length) {
      const c = this.data[this.pos] as number;
      this.pos++;
      if (c === 0 || c === stop) break;
      s += String.fromCharCode(c);
    }
    return s;
  }
}

/**
 * Parse an invitation the way a device does. Returns undefined where the device stays silent:
 * a command other than 0/100, or an MD5 field that is not exactly 32 characters after the trim.
 */
export function scanInvitation(data: Uint8Array, maxDigits = 14): Invitation | undefined {
  const sc = new DeviceScanner(data, maxDigits);
  const command = sc.parseInt();
  if (command !== COMMAND.flash && command !== COMMAND.filesystem) return undefined;
  const port = sc.parseInt();
  const size = sc.parseInt();
  sc.skip();
  const md5 = trimAscii(sc.readUntil(0x0a));
  if (md5.length !== 32) return undefined;
  return { command, port, size, md5 };
}

/**
 * Parse an auth datagram the way a device does: the first number must be 200, then cnonce up to a
 * space, then the response up to LF/end; both of the expected length, else silence.
 */
export function scanAuthLine(
  data: Uint8Array,
  fieldLength: 32 | 64,
  maxDigits = 14,
): { cnonce: string; response: string } | undefined {
  const sc = new DeviceScanner(data, maxDigits);
  const command = sc.parseInt();
  if (command !== COMMAND.auth) return undefined;
  sc.skip();
  const cnonce = sc.readUntil(0x20);
  const response = sc.readUntil(0x0a);
  if (cnonce.length !== fieldLength || response.length !== fieldLength) return undefined;
  return { cnonce, response };
}

/** Arduino String::trim(): strips the C isspace() set only. */
export function trimAscii(s: string): string {
  return s.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
}
