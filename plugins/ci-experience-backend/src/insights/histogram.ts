/**
 * Mergeable histograms of durations: fixed log-scale buckets, stored as one
 * integer column each (`d0`..`d95`, `q0`..`q95`) in the daily aggregates, so
 * that merging days, branches and workflows is a SUM in SQL.
 *
 * Bucket 0 holds [0, 100 ms); bucket i (1..94) holds
 * [100 ms × 1.2^(i−1), 100 ms × 1.2^i); bucket 95 holds everything from
 * 100 ms × 1.2^94 (≈ 28 days) up. A percentile is read as the geometric
 * middle of its bucket, 100 ms × 1.2^(i−½): within a factor √1.2 of the
 * exact value, i.e. at most 9.6% off (relative), for values from 100 ms to
 * 28 days. Ranks are exact (nearest rank on the merged counts).
 */
export const HISTOGRAM_BUCKETS = 96;
const BASE_MS = 100;
const RATIO = 1.2;
const LOG_RATIO = Math.log(RATIO);

/** The bucket a duration in milliseconds falls in. */
export function bucketOf(ms: number): number {
  if (!(ms >= BASE_MS)) {
    return 0;
  }
  // A hair of tolerance so that exact boundaries land in the upper bucket.
  const i = Math.floor(Math.log(ms / BASE_MS) / LOG_RATIO + 1e-9) + 1;
  return Math.min(i, HISTOGRAM_BUCKETS - 1);
}

/** The value a bucket stands for: its geometric middle (bucket 0: 50 ms). */
export function bucketValue(bucket: number): number {
  if (bucket <= 0) {
    return BASE_MS / 2;
  }
  return BASE_MS * Math.pow(RATIO, bucket - 0.5);
}

/** Column names of a histogram with this prefix. */
export function bucketColumns(prefix: string): string[] {
  return Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `${prefix}${i}`);
}

/** An empty histogram. */
export function emptyHistogram(): number[] {
  return new Array(HISTOGRAM_BUCKETS).fill(0);
}

/** Adds `from` into `into`, in place. */
export function mergeInto(into: number[], from: readonly number[]): number[] {
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
    into[i] += from[i] ?? 0;
  }
  return into;
}

/**
 * The p-th percentile (0 < p ≤ 1) by nearest rank: the value of the
 * ⌈p·n⌉-th smallest sample, read as its bucket's middle; absent when empty.
 */
export function percentileOf(
  histogram: readonly number[],
  p: number,
): number | undefined {
  const n = histogram.reduce((a, b) => a + b, 0);
  if (n === 0) {
    return undefined;
  }
  const rank = Math.max(1, Math.ceil(p * n));
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i];
    if (seen >= rank) {
      return bucketValue(i);
    }
  }
  return bucketValue(histogram.length - 1);
}

/** The histogram read from a row's (summed) bucket columns. */
export function histogramOfRow(
  row: Record<string, unknown>,
  prefix: string,
): number[] {
  return bucketColumns(prefix).map(c => Number(row[c] ?? 0));
}
