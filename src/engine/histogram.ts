/**
 * Percentiles from the core's fixed-width histograms (bucket i holds values in
 * [i, i + 1) × width; the value reported for a bucket is its lower edge, as the kernel's
 * jiffy-granular pauses are whole buckets).
 */
import type { Distribution } from '../report/result.js';

export function distribution(hist: readonly number[], bucketMs: number): Distribution {
  const count = hist.reduce((a, b) => a + b, 0);
  const at = (q: number): number => {
    if (count === 0) return 0;
    const rank = Math.ceil(q * count);
    let seen = 0;
    for (let i = 0; i < hist.length; i++) {
      seen += hist[i]!;
      if (seen >= rank) return i * bucketMs;
    }
    return (hist.length - 1) * bucketMs;
  };
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
  const upperMs = (b: number): number => 2 ** (b + 1) / 1000;
  const at = (q: number): number => {
    if (count === 0) return 0;
    const rank = Math.ceil(q * count);
    let seen = 0;
    for (let b = 0; b < hist.length; b++) {
      seen += hist[b]!;
      if (seen >= rank) return Math.min(upperMs(b), maxNs / 1e6);
    }
    return maxNs / 1e6;
  };
  return { count, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: maxNs / 1e6 };
}
