import { DEVICE_READ_SIZE } from './index.ts';

/**
 * Turns the device's undelimited decimal counts (`10241024…`) into an estimate of the bytes it
 * consumed. The split is ambiguous, so the estimate is a hint: a run that arrives alone in one
 * read is taken as one count when it fits the bytes outstanding (ESP8266 drains several KiB per
 * count); longer runs are split into counts of at most one device read (1460 bytes, no leading
 * zero), taking the split with the largest sum (`1001460` is 100 + 1460, not 1001 + 460).
 * The estimate never exceeds the bytes sent.
 */
export class CountTracker {
  confirmed = 0;
  chunks = 0;

  /** Feed the digit text seen in one read of the socket. */
  add(digits: string, sent: number): void {
    if (digits === '') return;
    this.chunks++;
    const outstanding = Math.max(0, sent - this.confirmed);
    const whole = digits.length <= 7 ? Number(digits) : Number.NaN;
    const cap = Math.max(1, Math.min(outstanding, DEVICE_READ_SIZE));
    const sum =
      !digits.startsWith('0') && whole > 0 && whole <= outstanding
        ? whole
        : (largestSplit(digits, cap) ?? greedySplit(digits, outstanding));
    this.confirmed = Math.min(sent, this.confirmed + sum);
  }
}

/** The largest sum of a split into counts of 1…cap without leading zeros; undefined when there is
 * none (a zero where no count can start). Linear in the run length. */
function largestSplit(digits: string, cap: number): number | undefined {
  const n = digits.length;
  const best = new Array<number>(n + 1).fill(-1);
  best[0] = 0;
  for (let i = 0; i < n; i++) {
    const here = best[i] as number;
    if (here < 0 || digits[i] === '0') continue;
    let v = 0;
    for (let len = 1; len <= 4 && i + len <= n; len++) {
      v = v * 10 + (digits.charCodeAt(i + len - 1) - 0x30);
      if (v > cap) break;
      if (here + v > (best[i + len] as number)) best[i + len] = here + v;
    }
  }
  const total = best[n] as number;
  return total < 0 ? undefined : total;
}

/** Fallback for runs with stray zeros: greedy counts of at most one device read. */
function greedySplit(digits: string, outstandingAtStart: number): number {
  let outstanding = outstandingAtStart;
  let sum = 0;
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
  return sum;
}
