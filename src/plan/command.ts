/**
 * `mmsim plan dirty [scenario]`: the grid, the runs, the table, the recommendation and the
 * files (plan.json, plan.csv, dirty-over-time.svg, objectives.svg), written atomically.
 * Loaded by the command's action only (commands.ts), with piscina, the engine and vega.
 */
import { estimate } from '../parallel/stats.js';
import { join } from 'node:path';
import { defaultCpus } from '../util/cpus.js';
import { Piscina } from 'piscina';
import { checkHostMemory, poolDemand } from '../engine/host-memory.js';
import { coreModule } from '../engine/wasm.js';
import type { Scenario } from '../scenario/types.js';
import type { RunResult } from '../report/result.js';
import { writeDirectoryAtomically } from '../util/atomic-dir.js';
import { UsageError } from '../util/errors.js';
import { checkOutputLocation } from '../util/out-path.js';
import type { PlanCommandFlags, PlanIo } from './commands.js';
import { planSettings, planObjectives, planFigures, evaluate, recommend, planScenario,
  type PlanPoint } from './dirty.js';
import { dirtyOverTimeSvg, objectiveSurfaceSvg } from './plots.js';

/** Every file a plan may write (dirty-over-time.svg only when a setting is recommended). */
const PLAN_OUT_CHECK = {
  flag: '--out', kind: 'directory', example: '--out out/my-plan',
  ours: ['plan.json', 'plan.csv', 'objectives.svg', 'dirty-over-time.svg'],
} as const;

export async function planDirty(name: string, flags: PlanCommandFlags, sets: readonly string[], io: PlanIo): Promise<number> {
  const settings = planSettings(flags);
  const objectives = planObjectives(flags);
  const seeds = Number(flags.seeds ?? '1');
  if (!Number.isInteger(seeds) || seeds < 1) throw new UsageError(`--seeds: ${JSON.stringify(flags.seeds)} is not a positive whole number; e.g. 3`);
  const extra = flags.duration ? [`duration=${flags.duration}`] : [];
  // validate every point before running any
  const scenarios = settings.map((s) => planScenario(name, [...sets, ...extra], s));
  const outDir = flags.out ?? join('out', `plan-${scenarios[0]!.name}`);
  const jobs = flags.jobs === undefined ? defaultCpus().cpus : Number(flags.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`-j: ${JSON.stringify(flags.jobs)} is not a positive whole number; e.g. 2`);
  // before the grid runs: a location that cannot take the outputs is bad input
  checkOutputLocation(outDir, PLAN_OUT_CHECK);
  const threads = Math.min(jobs, settings.length * seeds);
  if (!flags.ignoreHostMemory) {
    const refusal = checkHostMemory(poolDemand(`mmsim plan dirty ${scenarios[0]!.name} -j ${threads}`, scenarios, threads));
    if (refusal) throw new UsageError(refusal);
  }
  // one task per (setting, seed), run on worker threads; results are placed by index, so the
  // output does not depend on the number of workers or the order they finish in
  const tasks = settings.flatMap((_, i) => Array.from({ length: seeds }, (_unused, k) => ({ i, seed: k + 1 })));
  const pool = new Piscina<{ scenario: Scenario; seed: number }, RunResult>({
    filename: new URL('./worker.js', import.meta.url).href,
    minThreads: Math.min(jobs, tasks.length), maxThreads: Math.min(jobs, tasks.length),
    idleTimeout: 60_000, workerData: { module: coreModule() },
  });
  let done = 0;
  const runs = await Promise.all(tasks.map(async (t) => {
    const r = await pool.run({ scenario: scenarios[t.i]!, seed: t.seed });
    done++;
    if (!flags.quiet && io.stderrIsTTY) io.stderr(`\rmmsim plan dirty: ${done}/${tasks.length} runs`);
    return r;
  })).finally(() => pool.destroy());
  if (!flags.quiet && io.stderrIsTTY) io.stderr('\n');
  const points: PlanPoint[] = [];
  const results = new Map<string, RunResult>();
  tasks.forEach((t, k) => {
    const r = runs[k]!;
    const figures = planFigures(scenarios[t.i]!, r);
    points.push({
      setting: settings[t.i]!, seed: t.seed, status: r.status, ...(r.error ? { error: r.error.message } : {}),
      figures, meets: evaluate(figures, objectives),
    });
    if (t.seed === 1) results.set(settings[t.i]!.label, r);
  });
  const rec = recommend(points, objectives);
  const best = rec.setting ? results.get(rec.setting.label)! : undefined;
  const planJson = JSON.stringify({
    scenario: scenarios[0]!.name, objectives, seeds,
    recommendation: rec.setting ? { setting: rec.setting.label, overrides: rec.setting.overrides } : null,
    why: rec.why, points,
  }, null, 2) + '\n';
  const objectivesSvg = await objectiveSurfaceSvg(points, objectives);
  const dirtySvg = best ? await dirtyOverTimeSvg(best, `${scenarios[0]!.name}: ${rec.setting!.label}`) : undefined;
  await writeDirectoryAtomically(outDir, [
    { name: 'plan.json', content: planJson },
    { name: 'plan.csv', content: () => planCsv(points) },
    { name: 'objectives.svg', content: objectivesSvg },
    ...(dirtySvg ? [{ name: 'dirty-over-time.svg', content: dirtySvg }] : []),
  ], PLAN_OUT_CHECK);
  if (flags.format === 'json') io.stdout(planJson);
  else if (!flags.quiet) io.stdout(`${planTable(points)}\n${rec.why}\noutputs in ${outDir}\n`);
  return rec.setting ? 0 : 1;
}

const COLUMNS: [string, (p: PlanPoint) => string][] = [
  ['setting', (p) => p.setting.label],
  ['seed', (p) => String(p.seed)],
  ['MB/s', (p) => p.figures.writerMBps.toFixed(1)],
  ['throttled s', (p) => p.figures.throttledSeconds.toFixed(2)],
  ['pause p50/p99/max ms', (p) => `${p.figures.pauseP50Ms}/${p.figures.pauseP99Ms}/${p.figures.pauseMaxMs}`],
  ['peak dirty MB', (p) => p.figures.peakDirtyMB.toFixed(0)],
  ['peak wb MB', (p) => p.figures.peakWritebackMB.toFixed(0)],
  ['at risk s', (p) => p.figures.riskSeconds.toFixed(2)],
  ['age p99 s', (p) => p.figures.flushAgeP99s.toFixed(1)],
  ['cache hit', (p) => `${(p.figures.cacheHitRatio * 100).toFixed(1)}%`],
  ['direct reclaim s', (p) => p.figures.directReclaimSeconds.toFixed(2)],
  ['meets', (p) => p.status !== 'ok' ? 'error' : (p.meets.all ? 'yes' : 'no')],
];

/** With several seeds: one row per setting, each figure as the mean ± the 95% interval's half-width. */
const SEED_COLUMNS: [string, (ps: readonly PlanPoint[]) => string][] = [
  ['setting', (ps) => ps[0]!.setting.label],
  ['seeds', (ps) => String(ps.length)],
  ['MB/s', (ps) => meanCi(ps, (p) => p.figures.writerMBps, 1)],
  ['throttled s', (ps) => meanCi(ps, (p) => p.figures.throttledSeconds, 2)],
  ['pause p99 ms', (ps) => meanCi(ps, (p) => p.figures.pauseP99Ms, 0)],
  ['peak dirty MB', (ps) => meanCi(ps, (p) => p.figures.peakDirtyMB, 0)],
  ['at risk s', (ps) => meanCi(ps, (p) => p.figures.riskSeconds, 2)],
  ['cache hit', (ps) => `${meanCi(ps, (p) => p.figures.cacheHitRatio * 100, 1)}%`],
  ['direct reclaim s', (ps) => meanCi(ps, (p) => p.figures.directReclaimSeconds, 2)],
  ['meets', (ps) => { const k = ps.filter((p) => p.status === 'ok' && p.meets.all).length; return k === ps.length ? 'yes' : `no (${k}/${ps.length})`; }],
];

function meanCi(ps: readonly PlanPoint[], pick: (p: PlanPoint) => number, digits: number): string {
  const e = estimate(ps.map(pick));
  if (!e) return '-';
  return e.halfWidth === undefined ? e.mean.toFixed(digits) : `${e.mean.toFixed(digits)} ± ${e.halfWidth.toFixed(digits)}`;
}

function planTable(points: readonly PlanPoint[]): string {
  const bySetting = new Map<string, PlanPoint[]>();
  for (const p of points) bySetting.set(p.setting.label, [...(bySetting.get(p.setting.label) ?? []), p]);
  const several = [...bySetting.values()].some((ps) => ps.length > 1);
  const cells = several
    ? [SEED_COLUMNS.map((c) => c[0]), ...[...bySetting.values()].map((ps) => SEED_COLUMNS.map((c) => c[1](ps)))]
    : [COLUMNS.map((c) => c[0]), ...points.map((p) => COLUMNS.map((c) => c[1](p)))];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

function planCsv(points: readonly PlanPoint[]): string {
  const keys = Object.keys(points[0]?.figures ?? {}) as (keyof PlanPoint['figures'])[];
  const head = ['setting', 'seed', 'status', ...keys, 'meets_pause', 'meets_risk', 'meets_cache', 'meets_all'];
  const rows = points.map((p) => [
    JSON.stringify(p.setting.label), p.seed, p.status, ...keys.map((k) => p.figures[k]),
    p.meets.pause, p.meets.risk, p.meets.cache, p.meets.all,
  ].join(','));
  return [head.join(','), ...rows].join('\n') + '\n';
}
