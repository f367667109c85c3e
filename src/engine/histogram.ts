/**
 * Percentiles from the core's fixed-width histograms (bucket i holds values in
 * [i, i + 1) × width; the value reported for a bucket is its lower edge, as the kernel's
 * jiffy-granular pauses are whole buckets).
 */
import type { Distribution } from '../report/result.js';

/** The bucket holding the q-th quantile of `count` values in `hist`, or -1 if it is empty. */
function quantileBucket(hist: readonly number[], count: number, q: number): number {
  if (count === 0) return -1;
  const rank = Math.ceil(q * count);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= rank) return i;
  }
  return hist.length - 1;
}

export function distribution(hist: readonly number[], bucketMs: number): Distribution {
  const count = hist.reduce((a, b) => a + b, 0);
  const at = (q: number): number => Math.max(0, quantileBucket(hist, count, q)) * bucketMs;
  let max = 0;
  for (let i = hist.length - 1; i >= 0; i--) if (hist[i]! > 0) { max = i * bucketMs; break; }
  return { count, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: max };
}

/**
 * Percentiles from a power-of-two histogram (bucket b holds values of [2^b, 2^(b+1)) µs, bucket
 * 0 everything under 2 µs): each percentile is its bucket's upper edge, so it bounds the true
 * value from above within a factor of two; the maximum is the exact one the core kept.
 */
export function log2Distribution(hist: readonly number[], maxNs: number): Distribution {
  const count = hist.reduce((a, b) => a + b, 0);
  const maxMs = maxNs / 1e6;
  const at = (q: number): number => {
    const b = quantileBucket(hist, count, q);
    return b < 0 ? 0 : Math.min(2 ** (b + 1) / 1000, maxMs);
  };
  return { count, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs };
}
