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
