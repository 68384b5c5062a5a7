/** Latency percentiles and throughput from raw samples. Pure. */

export interface LatencySummary {
  readonly count: number;
  /** Milliseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * Nearest-rank percentile of ascending `sorted` (the smallest sample with at least p·n samples at or below
 * it): always a latency that was actually observed, never an interpolation between two.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Summarises durations given in nanoseconds; the summary is in milliseconds. */
export function summarize(durationsNs: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(durationsNs).sort();
  let sum = 0;
  for (const d of sorted) sum += d;
  const ms = (ns: number) => ns / 1e6;
  return {
    count: sorted.length,
    p50: ms(percentile(sorted, 0.5)),
    p99: ms(percentile(sorted, 0.99)),
    max: ms(sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!),
    mean: ms(sorted.length === 0 ? Number.NaN : sum / sorted.length),
  };
}

/** Completed operations per second over a window of `elapsedNs`. */
export function throughput(completed: number, elapsedNs: number): number {
  return elapsedNs <= 0 ? Number.NaN : completed / (elapsedNs / 1e9);
}

/** `a / b`, for "gateway vs raw" ratios; NaN when b is not positive. */
export function ratio(a: number, b: number): number {
  return b > 0 ? a / b : Number.NaN;
}
