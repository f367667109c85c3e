/**
 * A one-line progress indicator on stderr: simulated-time percentage and the wall-clock time
 * left (ETA), shown only on a terminal,
 * only once a run has lasted long enough for it to help (~1s), and redrawn at most 10 times a
 * second so that drawing never costs the simulation noticeable time.
 */
import { formatEta } from './format.js';

export interface ProgressSink {
  isTTY: boolean;
  write(text: string): void;
}

export interface ProgressOptions {
  sink: ProgressSink;
  /** false for --quiet; output also stays off when the sink is not a terminal. */
  enabled: boolean;
  label: string;
  /** Wall-clock milliseconds; injectable for tests. */
  now?: () => number;
  delayMs?: number;
  intervalMs?: number;
}

export interface Progress {
  update(simulatedNs: number, totalNs: number): void;
  /** Erases the line, if one was drawn, so the summary starts on a clean line. */
  finish(): void;
}

const CLEAR_LINE = '\r\x1b[K';

export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? (() => performance.now());
  const delayMs = options.delayMs ?? 1000;
  const intervalMs = options.intervalMs ?? 100;
  const active = options.enabled && options.sink.isTTY;
  const started = now();
  let lastDrawn = -Infinity;
  let drawn = false;
  return {
    update(simulatedNs, totalNs) {
      if (!active) return;
      const t = now();
      if (t - started < delayMs || t - lastDrawn < intervalMs) return;
      lastDrawn = t;
      drawn = true;
      const fraction = totalNs > 0 ? Math.min(1, simulatedNs / totalNs) : 0;
      // simulated time advances at a fairly steady wall-clock rate within a run, so the time
      // left is the time so far scaled by what remains (sweep's progress line does the same)
      const elapsedSeconds = (t - started) / 1000;
      const eta = fraction > 0 ? formatEta((elapsedSeconds * (1 - fraction)) / fraction) : '?';
      options.sink.write(`${CLEAR_LINE}${options.label} ${(100 * fraction).toFixed(1)}% of simulated time, ETA ${eta}`);
    },
    finish() {
      if (drawn) options.sink.write(CLEAR_LINE);
      drawn = false;
    },
  };
}
