/** Small statistics for benchmark samples. */

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of `samples` (ms), rounded to 0.1. */
export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => round1(sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? 0);
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round1(sorted.at(-1) ?? 0) };
}

/** Each percentile minus `ms` (e.g. the create latency, leaving our overhead). */
export function minus(p: Percentiles, ms: number): Percentiles {
  return {
    count: p.count,
    p50: round1(p.p50 - ms),
    p95: round1(p.p95 - ms),
    p99: round1(p.p99 - ms),
    max: round1(p.max - ms),
  };
}

/** The middle of `values` (the mean of the two middles for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

export const MB = 1024 * 1024;

export function toMb(bytes: number): number {
  return round1(bytes / MB);
}
