import { DEVICE_READ_SIZE } from '../protocol/index.ts';

/**
 * Turns the device's undelimited decimal counts (`10241024…`) into an estimate of the bytes it
 * consumed. The split is ambiguous, so the estimate is a hint: a run that arrives alone in one
 * read is taken as one count when it fits the bytes outstanding (ESP8266 drains several KiB per
 * count); longer runs are split greedily into counts of at most one device read (1460 bytes).
 * The estimate never exceeds the bytes sent.
 */
export class CountTracker {
  confirmed = 0;
  chunks = 0;

  /** Feed the digit text seen in one read of the socket. */
  add(digits: string, sent: number): void {
    if (digits === '') return;
    this.chunks++;
    let outstanding = Math.max(0, sent - this.confirmed);
    let sum = 0;
    const whole = digits.length <= 7 ? Number(digits) : Number.NaN;
    if (!digits.startsWith('0') && whole > 0 && whole <= outstanding) sum = whole;
    else {
      let i = 0;
      while (i < digits.length) {
        const cap = Math.max(1, Math.min(outstanding, DEVICE_READ_SIZE));
        let take = 1;
        let value = Number(digits[i]);
        if (digits[i] !== '0') {
          for (let len = 2; i + len <= digits.length && len <= 4; len++) {
            const v = Number(digits.slice(i, i + len));
            if (v > cap) break;
            take = len;
            value = v;
          }
        }
        sum += value;
        outstanding = Math.max(0, outstanding - value);
        i += take;
      }
    }
    this.confirmed = Math.min(sent, this.confirmed + sum);
  }
}
