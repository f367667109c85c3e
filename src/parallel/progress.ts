/**
 * Sweep progress on stderr: on a terminal one line (points done of total, failures, rate, ETA)
 * redrawn at most 10 times a second; otherwise (CI logs, batch jobs) a plain line at every
 * further 10% of the points, and at least every 30 s while points keep finishing.
 */
import { formatEta } from '../util/format.js';
import type { ProgressSink } from '../util/progress.js';

export interface SweepProgressOptions {
  sink: ProgressSink;
  enabled: boolean;
  label: string;
  /** Points this run will execute (already finished ones are not counted). */
  total: number;
  now?: () => number;
  intervalMs?: number;
  plainEveryMs?: number;
}

export interface SweepProgress {
  update(done: number, failed: number): void;
  finish(): void;
}

const CLEAR_LINE = '\r\x1b[K';

export { formatEta };

export function createSweepProgress(options: SweepProgressOptions): SweepProgress {
  const now = options.now ?? (() => performance.now());
  const intervalMs = options.intervalMs ?? 100;
  const plainEveryMs = options.plainEveryMs ?? 30_000;
  const started = now();
  let lastDrawn = options.sink.isTTY ? -Infinity : started;
  let drawn = false;
  let nextStep = 1;
  const active = options.enabled && options.total > 0;

  const describe = (done: number, failed: number, t: number): string => {
    const elapsed = (t - started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const percent = (100 * done) / options.total;
    const eta = done > 0 && rate > 0 ? formatEta((options.total - done) / rate) : '?';
    return `${options.label} ${done}/${options.total} points (${percent.toFixed(0)}%)` +
      `${failed > 0 ? `, ${failed} failed` : ''}, ${rate >= 10 ? rate.toFixed(0) : rate.toFixed(2)} points/s, ETA ${eta}`;
  };

  return {
    update(done, failed) {
      if (!active) return;
      const t = now();
      if (options.sink.isTTY) {
        if (t - lastDrawn < intervalMs && done < options.total) return;
        lastDrawn = t;
        drawn = true;
        options.sink.write(`${CLEAR_LINE}${describe(done, failed, t)}`);
        return;
      }
      const step = Math.floor((10 * done) / options.total);
      if (step >= nextStep || t - lastDrawn >= plainEveryMs) {
        if (step >= nextStep) nextStep = step + 1;
        lastDrawn = t;
        options.sink.write(`${describe(done, failed, t)}\n`);
      }
    },
    finish() {
      if (drawn) options.sink.write(CLEAR_LINE);
      drawn = false;
    },
  };
}
