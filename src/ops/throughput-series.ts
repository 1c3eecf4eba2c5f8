/**
 * Databases made ready per time bucket, and their time to link, over a sliding
 * window (60 buckets of 10 s: the last 10 minutes). A fixed ring: recording is
 * a few arithmetic operations, whatever the rate.
 */

export interface ThroughputBucket {
  /** Epoch ms at which the bucket starts. */
  start: number;
  /** Databases that became ready in it. */
  ready: number;
  /** Mean and longest time to link of those (ms); null when none. */
  meanTimeToLinkMs: number | null;
  maxTimeToLinkMs: number | null;
}

export class ThroughputSeries {
  private readonly starts: number[];
  private readonly counts: number[];
  private readonly sums: number[];
  private readonly maxima: number[];

  constructor(
    readonly bucketMs = 10_000,
    readonly bucketCount = 60,
  ) {
    this.starts = new Array<number>(bucketCount).fill(-1);
    this.counts = new Array<number>(bucketCount).fill(0);
    this.sums = new Array<number>(bucketCount).fill(0);
    this.maxima = new Array<number>(bucketCount).fill(0);
  }

  record(at: number, timeToLinkMs: number): void {
    const start = at - (at % this.bucketMs);
    const slot = (start / this.bucketMs) % this.bucketCount;
    // A slot last used a window ago is reused: its old counts are out of the window.
    if (this.starts[slot] !== start) {
      this.starts[slot] = start;
      this.counts[slot] = 0;
      this.sums[slot] = 0;
      this.maxima[slot] = 0;
    }
    this.counts[slot]! += 1;
    this.sums[slot]! += timeToLinkMs;
    this.maxima[slot] = Math.max(this.maxima[slot]!, timeToLinkMs);
  }

  /** Every bucket of the window that ends with the bucket holding `now`, oldest first (empty ones included). */
  buckets(now: number): ThroughputBucket[] {
    const current = now - (now % this.bucketMs);
    const out: ThroughputBucket[] = [];
    for (let i = this.bucketCount - 1; i >= 0; i--) {
      const start = current - i * this.bucketMs;
      const slot = (start / this.bucketMs) % this.bucketCount;
      const ready = this.starts[slot] === start ? this.counts[slot]! : 0;
      out.push({
        start,
        ready,
        meanTimeToLinkMs: ready > 0 ? Math.round(this.sums[slot]! / ready) : null,
        maxTimeToLinkMs: ready > 0 ? this.maxima[slot]! : null,
      });
    }
    return out;
  }
}
