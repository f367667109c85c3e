/**
 * `mmsim plan dirty [scenario]`: the grid, the runs, the table, the recommendation and the
 * files (plan.json, plan.csv, dirty-over-time.svg, objectives.svg), written atomically.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { coreModule } from '../engine/wasm.js';
import type { Scenario } from '../scenario/types.js';
import type { RunResult } from '../report/result.js';
import { writeDirectoryAtomically } from '../util/atomic-dir.js';
import { UsageError } from '../util/errors.js';
import { planSettings, planObjectives, planFigures, evaluate, recommend, planScenario,
  type PlanFlags, type PlanPoint } from './dirty.js';
import { dirtyOverTimeSvg, objectiveSurfaceSvg } from './plots.js';
import { defaultCpus } from '../util/cpus.js';

export interface PlanIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stderrIsTTY: boolean;
}

interface PlanCommandFlags extends PlanFlags {
  seeds?: string; out?: string; format?: string; duration?: string; quiet?: boolean; jobs?: string;
}

export function addPlanCommand(program: Command, io: PlanIo, setStatus: (code: number) => void): void {
  const sets: string[] = [];
  const plan = program.command('plan').description('capacity planning');
  plan.command('dirty')
    .description('sweep vm.dirty_* settings for a scenario and recommend one that meets throttling and data-at-risk objectives')
    .argument('[scenario]', 'built-in name or path', 'storage-server')
    .option('--ratio <list>', 'vm.dirty_ratio values in percent, a list or lo..hi:step', '5,10,20,30,40')
    .option('--background <list>', 'vm.dirty_background_ratio values (default: half of each ratio)')
    .option('--bytes <list>', 'vm.dirty_bytes values instead of ratios, e.g. 256MiB,1GiB')
    .option('--background-bytes <list>', 'vm.dirty_background_bytes values (default: half of each dirty_bytes)')
    .option('--expire <list>', 'vm.dirty_expire_centisecs values (default: the scenario\'s)')
    .option('--max-pause <time>', 'objective: writers\' p99 balance_dirty_pages pause at most this', '10ms')
    .option('--max-risk <time>', 'objective: peak dirty + writeback at most this many seconds of the devices\' write bandwidth', '5s')
    .option('--min-cache <ratio>', 'objective: page-cache hit ratio at least this (0.9 or 90%)')
    .option('--seeds <n>', 'runs per setting with seeds 1..n', '1')
    .option('-j, --jobs <n>', 'worker threads (default: SLURM_CPUS_PER_TASK in a Slurm job, else the cgroup CPU quota, else the available cores)')
    .option('--duration <time>', 'simulated time per run (default: the scenario\'s)')
    .option('--set <field=value>', 'change a scenario field for every run, repeatable', (v: string) => { sets.push(v); return sets; })
    .option('--out <dir>', 'output directory (default: out/plan-<scenario>)')
    .option('--format <format>', 'text or json on stdout', 'text')
    .option('--quiet', 'no progress and no table')
    .addHelpText('after', `
Examples:
  mmsim plan dirty                                     the storage-server example, ratios 5..40%
  mmsim plan dirty laptop --ratio 5..40:5 --max-pause 20ms --max-risk 10s
  mmsim plan dirty storage-server --bytes 256MiB,1GiB,4GiB --expire 1500,3000
  mmsim plan dirty my.yaml --min-cache 95% --seeds 3 --out out/my-plan`)
    .action(async (name: string, flags: PlanCommandFlags) => {
      setStatus(await planDirty(name, flags, sets, io));
    });
}

async function planDirty(name: string, flags: PlanCommandFlags, sets: readonly string[], io: PlanIo): Promise<number> {
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
  ]);
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

function planTable(points: readonly PlanPoint[]): string {
  const cells = [COLUMNS.map((c) => c[0]), ...points.map((p) => COLUMNS.map((c) => c[1](p)))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
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
