/**
 * What the suites share: the run mode, timing helpers, and a tinybench task that runs a
 * scenario per iteration and keeps each run's result. Rates are simulated accesses per wall
 * second of the same process, so a ratio of two rates cancels most of the machine's noise.
 */
import { join } from 'node:path';
import type { Bench } from 'tinybench';
import { runScenario } from '../src/engine/engine.js';
import type { RunResult } from '../src/report/result.js';
import type { Scenario } from '../src/scenario/types.js';
import { packageRoot } from '../src/util/package.js';

export interface BenchMode {
  /** `--quick` or BENCH_QUICK=1: fewer iterations, bench-reference at 5M accesses. */
  quick: boolean;
}

export function benchMode(argv: readonly string[] = process.argv.slice(2)): BenchMode {
  return { quick: argv.includes('--quick') || process.env['BENCH_QUICK'] === '1' };
}

/** A file under bench/ in the source tree (scenarios are not compiled into dist/). */
export function benchPath(...parts: string[]): string {
  return join(packageRoot(), 'bench', ...parts);
}

/** Options for a Bench whose iterations take seconds: exactly `iterations` timed runs after `warmup` untimed ones. */
export function slowBenchOptions(iterations: number, warmup = 1): ConstructorParameters<typeof Bench>[0] {
  return { time: 1, iterations, warmup: warmup > 0, warmupTime: 1, warmupIterations: warmup };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function secondsSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * Adds a task that runs `scenario` once per iteration; the returned array holds the timed runs'
 * results once the bench has run (warm-up runs are dropped). A run that fails throws.
 */
export function addScenarioTask(bench: Bench, name: string, scenario: Scenario): RunResult[] {
  const runs: RunResult[] = [];
  bench.add(name, () => {
    const r = runScenario(scenario);
    if (r.status !== 'ok') throw new Error(`${name}: run failed: ${r.error?.message ?? r.status}`);
    runs.push(r);
  }, { beforeAll() { runs.length = 0; } });
  return runs;
}

/** Median simulated accesses per wall second over runs (counters.mmsim_accesses / wall.seconds). */
export function accessRate(runs: readonly RunResult[]): number {
  return median(runs.map((r) => (r.counters['mmsim_accesses'] ?? 0) / r.wall.seconds));
}

export function medianWall(runs: readonly RunResult[]): number {
  return median(runs.map((r) => r.wall.seconds));
}

/** A row of the printed table. */
export interface Row { figure: string; value: string; note: string }

export const fmtRate = (perSecond: number): string => `${(perSecond / 1e6).toFixed(2)} M/s`;
export const fmtSeconds = (s: number): string => `${s.toFixed(3)} s`;
export const fmtBytes = (b: number): string =>
  b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${b.toFixed(1)} B`;
