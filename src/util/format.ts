/** Number formatting for terminal output (never for result files, which keep raw numbers). */

/** 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A share as a percentage with one decimal, or "-" when there was nothing to divide. */
export function formatPercent(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';
}

/** Seconds with 3 significant decimals below 10s, fewer above: "0.123s", "12.3s". */
export function formatSeconds(seconds: number): string {
  if (seconds >= 100) return `${seconds.toFixed(0)}s`;
  if (seconds >= 10) return `${seconds.toFixed(1)}s`;
  return `${seconds.toFixed(3)}s`;
}

/** A large per-second figure in engineering units: 38.5M/s, 950k/s. */
export function formatPerSecond(perSecond: number): string {
  const steps: [number, string][] = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [scale, suffix] of steps) {
    if (perSecond >= scale) return `${(perSecond / scale).toFixed(1)}${suffix}/s`;
  }
  return `${perSecond.toFixed(0)}/s`;
}

/** A remaining time for a progress line: "42s", "3m07s", "1h05m"; "?" when unknown. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
