/**
 * Runs points (a validated scenario and a seed each) on a piscina pool of sweep workers
 * (worker.ts): the one place that starts the pool, keeps at most two points per thread in
 * flight and turns a dead worker into a failed point. `mmsim sweep` and `mmsim compare` both
 * run their grids through it; what they do with an outcome is theirs.
 */
import { Piscina } from 'piscina';
import { coreModule } from '../engine/wasm.js';
import type { PointOutcome } from './records.js';
import type { PointTask, WorkerData, WorkerFaults } from './worker.js';

export interface PoolOptions {
  /** Worker threads (each runs one machine at a time). */
  threads: number;
  /** Faults injected by tests (worker.ts). */
  faults?: WorkerFaults;
  /**
   * Called as each point finishes, in finishing order, with the point's position in `tasks`.
   * A worker thread that died gives an outcome with status 'error' (stage 'worker'). If it
   * throws, no further point starts and the run ends with that error.
   */
  onOutcome: (position: number, outcome: PointOutcome) => void;
}

export interface PoolRun {
  /** Settles when every point has finished, or the run was stopped (the points in flight are abandoned). */
  done: Promise<{ stopped: boolean; error?: Error }>;
  /** Starts no more points, abandons those in flight (no outcome is reported for them) and ends the pool. */
  stop(): void;
}

/** Starts running `tasks` on a new pool; the pool is destroyed when the run ends. */
export function runOnPool(tasks: readonly PointTask[], options: PoolOptions): PoolRun {
  const threads = Math.max(1, Math.min(options.threads, tasks.length));
  let stopped = false;
  let error: Error | undefined;
  if (tasks.length === 0) return { done: Promise.resolve({ stopped }), stop: () => { stopped = true; } };
  const workerData: WorkerData = { module: coreModule(), ...(options.faults ? { faults: options.faults } : {}) };
  const pool = new Piscina<PointTask, PointOutcome>({
    filename: new URL('./worker.js', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000,
    workerData,
  });
  let finish: () => void = () => {};
  const all = new Promise<void>((resolve) => { finish = resolve; });
  let next = 0;
  let inFlight = 0;
  const limit = 2 * threads;
  const report = (position: number, outcome: PointOutcome): void => {
    if (stopped) return;
    try {
      options.onOutcome(position, outcome);
    } catch (e) {
      // The caller could not take the outcome (appending to its file failed…): stop there.
      error ??= e as Error;
      stopped = true;
    }
  };
  const pump = (): void => {
    while (!stopped && inFlight < limit && next < tasks.length) {
      const position = next++;
      inFlight++;
      pool.run(tasks[position]!).then(
        (outcome) => report(position, outcome),
        (e: Error) => report(position, {
          status: 'error', error: { stage: 'worker', message: `the worker thread running this point failed: ${e.message}` },
        }),
      ).finally(() => {
        inFlight--;
        if (inFlight === 0 && (stopped || next >= tasks.length)) finish();
        else pump();
      });
    }
    if (inFlight === 0) finish();
  };
  pump();
  const done = all.then(async () => {
    await pool.destroy();
    return error ? { stopped, error } : { stopped };
  });
  return {
    done,
    stop() {
      if (stopped) return;
      stopped = true;
      // In-flight points are abandoned; destroying the pool rejects them, which ends the run.
      void pool.destroy();
      finish();
    },
  };
}
