/**
 * `mmsim sweep`: a scenario run over a grid of parameters × seeds on a piscina pool.
 *
 * Every point is validated in the main thread before anything runs (an invalid combination is
 * recorded as a failed point, a bad option is exit 2); the WASM module is compiled once here
 * and handed to the workers. Lines are appended to the JSONL as points finish (a crash loses
 * only the points in flight), and at the end the file is rewritten in grid order through a
 * temporary file and a rename, so its bytes do not depend on the worker count. `--resume`
 * keeps the points already in the file and runs the rest.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { checkHostMemory, poolDemand } from '../engine/host-memory.js';
import { checkMemoryNeed } from '../engine/memory.js';
import { wasmPath } from '../engine/wasm.js';
import { displayPath, parseScenarioText, resolveScenario } from '../scenario/load.js';
import type { OverrideSpec } from '../scenario/overrides.js';
import type { Scenario } from '../scenario/types.js';
import { ScenarioError, UsageError, type ScenarioIssue } from '../util/errors.js';
import { defaultCpus, type CpuBudget } from '../util/cpus.js';
import { checkOutputLocation, createMissingDirs } from '../util/out-path.js';
import { packageVersion } from '../util/package.js';
import {
  checkParams, combos as gridCombos, gridFingerprint, inShard, parseParam, parseSeeds, pointObject,
  resolveShard, type ParamSpec, type Shard,
  paramSets,
} from './grid.js';
import { createSweepProgress } from './progress.js';
import {
  canonicalText, formatRecord, makeRecord, readRecords, summaryCsvPath, writeFileAtomically,
  type PointOutcome, type PointRecord,
} from './records.js';
import { formatSummaryCsv, formatSummaryTable, summarize } from './summary.js';
import { runOnPool } from './pool.js';
import type { PointTask, WorkerFaults } from './worker.js';

export const EXIT_OK = 0;
export const EXIT_FAILED_POINTS = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERRUPTED = 130;

export interface SweepFlags {
  params?: string[];
  sets?: string[];
  seeds?: string;
  seedList?: string;
  jobs?: string;
  out?: string;
  resume?: boolean;
  retryFailed?: boolean;
  force?: boolean;
  shard?: string;
  shards?: string;
  quiet?: boolean;
  ignoreHostMemory?: boolean;
}

export interface SweepIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stderrIsTTY: boolean;
  /** Where JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID and MMSIM_SHARDS are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Hooks for tests: injected faults, an interruption signal, a callback per recorded point. */
export interface SweepHooks {
  faults?: WorkerFaults;
  signal?: AbortSignal;
  onRecord?: (record: PointRecord, recorded: number) => void;
}

/** One parameter combination, validated: its scenario, or why it is invalid. */
export interface PlannedCombo {
  index: number;
  values: string[];
  point: Record<string, unknown>;
  scenario?: Scenario;
  error?: string;
  /** The validator's issues when the scenario is invalid (none when it does not fit one instance). */
  issues?: readonly ScenarioIssue[];
}

export interface SweepPlan {
  name: string;
  fingerprint: string;
  params: ParamSpec[];
  seeds: number[];
  combos: PlannedCombo[];
  /** Points in the grid (combinations × seeds). */
  total: number;
  shard?: Shard;
  /** Grid indexes this run is responsible for (all, or the shard's), ascending. */
  indexes: number[];
}

/** Identifies the engine build, so results of different builds are never mixed in one file. */
function engineIdentity(): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(wasmPath());
  } catch {
    throw new UsageError(`the WASM core ${wasmPath()} is missing; run \`npm run build\` (npm ci does it)`);
  }
  return `${packageVersion()} ${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Reads the scenario and validates every combination of `params` (with `sets` applied first),
 * in grid order: each gets its scenario, or the validator's message (and issues) when it is
 * invalid or does not fit one instance. `flag` names the option that gave the params, for
 * messages. Nothing is refused here: what an invalid combination means is the caller's.
 */
export function planCombos(scenarioArg: string, params: readonly ParamSpec[], sets: readonly string[], seedCount: number, flag = '--param'):
{ text: string; combos: PlannedCombo[] } {
  const path = resolveScenario(scenarioArg);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ScenarioError(code === 'ENOENT' ? `scenario file not found: ${displayPath(path)}`
      : `cannot read scenario file ${displayPath(path)}: ${(error as Error).message}`);
  }
  // Messages name the file by its base name, so a line's bytes do not depend on the directory.
  const shownPath = basename(path);
  const combos = gridCombos(params, seedCount).map((combo): PlannedCombo => {
    const overrides: OverrideSpec[] = [
      ...sets,
      ...params.flatMap((p, i) => paramSets(p, combo.values[i]!).map((set) => ({ set, label: `${flag} ${p.name}=${combo.values[i]}` }))),
    ];
    const point = pointObject(params, combo.values);
    try {
      const scenario = parseScenarioText(text, shownPath, overrides);
      const refusal = checkMemoryNeed(scenario);
      if (refusal) return { ...combo, point, error: refusal };
      return { ...combo, point, scenario };
    } catch (error) {
      if (error instanceof ScenarioError) return { ...combo, point, error: error.message, issues: error.issues };
      throw error;
    }
  });
  return { text, combos };
}

/** Parses the options, reads the scenario and validates every parameter combination. */
export function planSweep(scenarioArg: string, flags: SweepFlags, env: NodeJS.ProcessEnv): SweepPlan {
  const params = (flags.params ?? []).map((spec) => parseParam(spec));
  const sets = flags.sets ?? [];
  checkParams(params, sets);
  const seeds = parseSeeds(flags.seeds, flags.seedList);
  const shard = resolveShard({ shard: flags.shard, shards: flags.shards }, env);
  const { text, combos: planned } = planCombos(scenarioArg, params, sets, seeds.length);
  const valid = planned.find((c) => c.scenario !== undefined);
  if (valid === undefined) {
    const first = planned[0]!;
    const what = planned.length === 1 ? 'the scenario is invalid' : `all ${planned.length} parameter combinations are invalid; the first`;
    throw new ScenarioError(`nothing to sweep: ${what}: ${first.error}`);
  }
  const total = planned.length * seeds.length;
  const indexes: number[] = [];
  for (let i = 0; i < total; i++) if (inShard(i, shard)) indexes.push(i);
  const fingerprint = gridFingerprint({ scenarioText: text, sets, params, seeds, engine: engineIdentity() });
  return { name: valid.scenario!.name, fingerprint, params, seeds, combos: planned, total, ...(shard ? { shard } : {}), indexes };
}

/** `vm.swappiness=0 vm.min_free_kbytes=65536 seed 2` */
export function describePoint(point: Record<string, unknown>, seed: number): string {
  const params = Object.entries(point).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [...params, `seed ${seed}`].join(' ');
}

function defaultOut(plan: SweepPlan): string {
  const shard = plan.shard ? `.shard-${plan.shard.index + 1}-of-${plan.shard.count}` : '';
  return join('out', `${plan.name}.sweep${shard}.jsonl`);
}

function parseJobs(jobs: string | undefined, env: NodeJS.ProcessEnv): number | CpuBudget {
  if (jobs === undefined) return defaultCpus(env);
  if (!/^\d+$/.test(jobs) || Number(jobs) < 1 || Number(jobs) > 1024) {
    throw new UsageError(`-j ${jobs}: the number of worker threads must be an integer from 1 to 1024, e.g. -j 4`);
  }
  return Number(jobs);
}

interface Stored { record: PointRecord; text: string }

/** Points already in `out` that this run keeps (for --resume), checked against the plan. */
function readExisting(out: string, plan: SweepPlan, retryFailed: boolean, io: SweepIo): Map<number, Stored> {
  const kept = new Map<number, Stored>();
  const { lines, tornTail } = readRecords(out, { allowTornTail: true });
  const mine = new Set(plan.indexes);
  let dropped = 0;
  for (const { record, text, where } of lines) {
    if (record.grid !== plan.fingerprint) {
      throw new UsageError(`${where}: this line is from a different sweep (grid ${record.grid}; this sweep's grid is ${plan.fingerprint}: ` +
        'the scenario text, --set, --param, the seeds or the mmsim build differ); use another --out, or --force to start over');
    }
    if (!mine.has(record.index)) {
      throw new UsageError(`${where}: point ${record.index} is not in ${plan.shard ? `shard ${plan.shard.index + 1}/${plan.shard.count}` : 'this sweep'}; ` +
        'resume a shard with the same --shard as its first run');
    }
    const combo = plan.combos[Math.floor(record.index / plan.seeds.length)]!;
    const seed = plan.seeds[record.index % plan.seeds.length]!;
    if (record.seed !== seed || JSON.stringify(record.point) !== JSON.stringify(combo.point)) {
      throw new UsageError(`${where}: point ${record.index} should be ${describePoint(combo.point, seed)}, the line says ${describePoint(record.point, record.seed)}`);
    }
    if (kept.has(record.index)) throw new UsageError(`${where}: point ${record.index} (${describePoint(record.point, record.seed)}) is in the file twice`);
    if (retryFailed && record.status === 'error') {
      dropped++;
      continue;
    }
    kept.set(record.index, { record, text });
  }
  if (tornTail) io.stderr(`mmsim: ${out}: left out an incomplete last line (a write cut short); that point runs again\n`);
  if (dropped > 0) io.stderr(`mmsim: ${out}: running again ${dropped} failed point${dropped === 1 ? '' : 's'} (--retry-failed)\n`);
  return kept;
}

/** Runs a sweep; returns the exit status (0 all points ok, 1 some failed, 2 bad input, 130 interrupted). */
export async function runSweep(scenarioArg: string, flags: SweepFlags, io: SweepIo, hooks: SweepHooks = {}): Promise<number> {
  const env = io.env ?? process.env;
  const budget = parseJobs(flags.jobs, env);
  const jobs = typeof budget === 'number' ? budget : budget.cpus;
  const jobsFrom = typeof budget === 'number' || budget.source === 'CPUs' ? '' : ` (-j from ${budget.source})`;
  if (flags.retryFailed && !flags.resume) throw new UsageError('--retry-failed goes with --resume');
  if (flags.resume && flags.force) throw new UsageError('--resume keeps the points in --out and --force discards them: give one');
  const plan = planSweep(scenarioArg, flags, env);
  const out = flags.out ?? defaultOut(plan);
  const csvPath = summaryCsvPath(out);
  if (csvPath === out) throw new UsageError(`--out ${out}: choose a file name that does not end in .summary.csv`);
  // Before anything runs: the JSONL and its summary must be writable where they are to go.
  const location = checkOutputLocation(out, { flag: '--out', kind: 'file', example: '--out out/sweep.jsonl' });
  checkOutputLocation(csvPath, { flag: '--out', kind: 'file', example: '--out out/sweep.jsonl' });

  const stored = new Map<number, Stored>();
  if (existsSync(out)) {
    if (flags.resume) {
      for (const [i, s] of readExisting(out, plan, flags.retryFailed === true, io)) stored.set(i, s);
    } else if (!flags.force) {
      throw new UsageError(`${out} already exists; add --resume to finish that sweep, or --force to start it over`);
    }
  }
  const previously = stored.size;
  if (!flags.ignoreHostMemory) {
    // Before the file is touched: every worker may run the largest point at once.
    const scenarios = plan.indexes.filter((i) => !stored.has(i))
      .map((i) => plan.combos[Math.floor(i / plan.seeds.length)]!.scenario)
      .filter((s): s is Scenario => s !== undefined);
    const threads = Math.max(1, Math.min(jobs, scenarios.length));
    const refusal = scenarios.length > 0 ? checkHostMemory(poolDemand(`mmsim sweep ${plan.name} -j ${threads}`, scenarios, threads)) : undefined;
    if (refusal) throw new UsageError(refusal);
  }
  createMissingDirs(location.missing);
  // one writer per output: a second sweep on the same --out (a resumed shard run twice) is refused
  const releaseLock = takeOutputLock(out);
  try {
    // Start from a clean file: the kept points in grid order, no torn line to append after.
    writeFileAtomically(out, canonicalText(stored.values()));
    const fd = openSync(out, 'a');

    const seedsN = plan.seeds.length;
    const head = (index: number) => {
      const combo = plan.combos[Math.floor(index / seedsN)]!;
      return { grid: plan.fingerprint, scenario: plan.name, index, of: plan.total, point: combo.point, seed: plan.seeds[index % seedsN]! };
    };
    let failedNow = 0;
    let doneNow = 0;
    const record = (index: number, outcome: PointOutcome): void => {
      const r = makeRecord(head(index), outcome);
      const text = formatRecord(r);
      writeSync(fd, text);
      stored.set(index, { record: r, text });
      doneNow++;
      if (r.status !== 'ok') failedNow++;
      hooks.onRecord?.(r, doneNow);
    };

    const todo = plan.indexes.filter((i) => !stored.has(i));
    const invalid = todo.filter((i) => plan.combos[Math.floor(i / seedsN)]!.scenario === undefined);
    const runnable = todo.filter((i) => plan.combos[Math.floor(i / seedsN)]!.scenario !== undefined);
    const threads = Math.max(1, Math.min(jobs, runnable.length));

    if (!flags.quiet) {
      const shape = plan.params.length > 0 ? `${plan.combos.length} parameter combinations × ${seedsN} seed${seedsN === 1 ? '' : 's'}` : `${seedsN} seed${seedsN === 1 ? '' : 's'}`;
      const parts = [`${shape} = ${plan.total} points`];
      if (plan.shard) parts.push(`shard ${plan.shard.index + 1}/${plan.shard.count} (${plan.shard.source}): ${plan.indexes.length} points`);
      if (previously > 0) parts.push(`${previously} already in ${out}`);
      if (invalid.length > 0) parts.push(`${invalid.length} with invalid parameters`);
      io.stderr(`mmsim sweep ${plan.name}: ${parts.join(', ')}; running ${runnable.length} on ${threads} worker thread${threads === 1 ? '' : 's'}${jobsFrom}\n`);
    }

    const progress = createSweepProgress({
      sink: { isTTY: io.stderrIsTTY, write: io.stderr }, enabled: !flags.quiet,
      label: `mmsim sweep ${plan.name}:`, total: todo.length,
    });

    let interrupted = false;
    let stop: () => void = () => { interrupted = true; };
    const onSignal = (): void => stop();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    hooks.signal?.addEventListener('abort', onSignal);
    if (hooks.signal?.aborted) interrupted = true;

    let writeError: Error | undefined;
    try {
      for (const index of invalid) {
        if (interrupted) break;
        record(index, { status: 'error', error: { stage: 'scenario', message: plan.combos[Math.floor(index / seedsN)]!.error! } });
        progress.update(doneNow, failedNow);
      }
      if (runnable.length > 0 && !interrupted) {
        const tasks: PointTask[] = runnable.map((index) => ({
          scenario: plan.combos[Math.floor(index / seedsN)]!.scenario!, seed: plan.seeds[index % seedsN]!,
        }));
        const run = runOnPool(tasks, {
          threads,
          ...(hooks.faults ? { faults: hooks.faults } : {}),
          onOutcome: (position, outcome) => {
            record(runnable[position]!, outcome);
            progress.update(doneNow, failedNow);
          },
        });
        // In-flight points are abandoned: they run again on --resume.
        stop = () => { interrupted = true; run.stop(); };
        try {
          const ended = await run.done;
          // Appending to the output failed (a full disk…): stopped, keeping what is written.
          if (ended.error) writeError = ended.error;
        } finally {
          stop = () => { interrupted = true; };
        }
      }
    } finally {
      progress.finish();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      hooks.signal?.removeEventListener('abort', onSignal);
      closeSync(fd);
    }

    if (writeError) {
      io.stderr(`mmsim: cannot write ${out}: ${writeError.message}; the points written so far are kept, finish with --resume\n`);
      return EXIT_FAILED_POINTS;
    }
    if (interrupted) {
      const mine = plan.indexes.length;
      io.stderr(`mmsim: interrupted; ${stored.size} of ${mine} points are in ${out}: run the same command with --resume to finish\n`);
      return EXIT_INTERRUPTED;
    }

    const all = [...stored.values()];
    writeFileAtomically(out, canonicalText(all));
    const rows = summarize(all.map((s) => s.record));
    writeFileAtomically(csvPath, formatSummaryCsv(rows));
    const failed = all.filter((s) => s.record.status !== 'ok').map((s) => s.record).sort((a, b) => a.index - b.index);
    if (!flags.quiet) {
      io.stdout(`${plan.name}: mean ± 95% confidence interval across seeds\n${formatSummaryTable(rows)}`);
      io.stdout(`${all.length} points in ${out}${failed.length > 0 ? ` (${failed.length} failed)` : ''}; summary in ${csvPath}\n`);
    }
    if (failed.length > 0) {
      io.stderr(formatFailures(failed, all.length));
      return EXIT_FAILED_POINTS;
    }
    return EXIT_OK;
  } finally {
    releaseLock();
  }
}

/**
 * An advisory lock on `out`: the file `out.lock` made exclusively, holding this process's pid.
 * Another live sweep's lock refuses this one (exit 2); a lock left by a process that is gone
 * (killed) is taken over. Returns its release.
 */
export function takeOutputLock(out: string): () => void {
  const path = `${out}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => { try { unlinkSync(path); } catch { /* already gone */ } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new UsageError(`--out ${out}: another sweep (pid ${pid}) is writing it; wait for it to end, or stop it — ` +
          `its lock is ${path}; e.g. --out ${out.replace(/\.jsonl$/, '')}-2.jsonl for a separate sweep`);
      }
      unlinkSync(path);          // stale: its process is gone
    }
  }
  throw new UsageError(`--out ${out}: could not take the lock ${path}; remove it if no sweep is running`);
}

function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** `mmsim: 2 of 24 points failed:` and the first few with the first line of their error. */
export function formatFailures(failed: readonly PointRecord[], total: number): string {
  const shown = failed.slice(0, 5).map((r) => {
    const firstLine = (r.error?.message ?? 'unknown error').split('\n').map((l) => l.trim()).filter((l) => l !== '').slice(0, 2).join(' ');
    return `  ${describePoint(r.point, r.seed)}: ${r.error?.stage ?? 'error'}: ${firstLine}`;
  });
  const more = failed.length > shown.length ? [`  … and ${failed.length - shown.length} more (status "error" in the JSONL)`] : [];
  return [`mmsim: ${failed.length} of ${total} points failed:`, ...shown, ...more].join('\n') + '\n';
}
