/** Small statistics helpers for the benchmark. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** "1.23 s" / "456 ms". */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

/** "123.4 KiB/s". */
export function fmtRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '–';
  if (bytesPerSecond >= 1024 * 1024) return `${(bytesPerSecond / 1024 / 1024).toFixed(2)} MiB/s`;
  return `${(bytesPerSecond / 1024).toFixed(1)} KiB/s`;
}

export function fmtPct(fraction: number): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)} %` : '–';
}

export function fmtX(factor: number): string {
  return Number.isFinite(factor) ? `${factor.toFixed(2)}×` : '–';
}

export interface Spread {
  median: number;
  mean: number;
  /** The slowest run (for times: the largest value). */
  worst: number;
  best: number;
}

/** Median, mean, worst (largest) and best (smallest) of a set of run times. */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0)
    return { median: Number.NaN, mean: Number.NaN, worst: Number.NaN, best: Number.NaN };
  return {
    median: median(values),
    mean: mean(values),
    worst: Math.max(...values),
    best: Math.min(...values),
  };
}
