/**
 * `mmsim compare SCENARIO --axis FIELD=v1,v2 [--axis …]`: every combination of the axes' values
 * (a column each) × seeds, run on the sweep's worker pool, reported as one table of detectors
 * and key figures (compare-report.ts). Each axis value is validated through the scenario schema
 * before anything runs, and so is each combination; any that is refused is bad input (exit 2):
 * a comparison with a missing column would mislead. The outputs are written only at the end,
 * all at once, and depend only on the inputs (never on -j or the finishing order).
 */
import { join } from 'node:path';
import { checkHostMemory, poolDemand } from '../engine/host-memory.js';
import { describeNode, rootNode } from '../scenario/introspect.js';
import type { FieldMeta } from '../scenario/fields.js';
import { defaultCpus } from '../util/cpus.js';
import { COUNTERS } from '../abi/counters.js';
import { formatIssue, UsageError, type ScenarioIssue } from '../util/errors.js';
import { checkOutputLocation, createMissingDirs } from '../util/out-path.js';
import { compareTable, figuresWith, formatCompareCsv, formatCompareJson, formatCompareText, type CompareColumn } from './compare-report.js';
import { checkParams, parseParam, parseSeeds, type ParamSpec } from './grid.js';
import { runOnPool } from './pool.js';
import { createSweepProgress } from './progress.js';
import { writeFileAtomically, type PointOutcome } from './records.js';
import { planCombos, type PlannedCombo, type SweepIo } from './sweep.js';
import type { WorkerFaults } from './worker.js';

export interface CompareFlags {
  axes?: string[];
  sets?: string[];
  seeds?: string;
  seedList?: string;
  jobs?: string;
  format?: 'text' | 'json';
  out?: string;
  quiet?: boolean;
  ignoreHostMemory?: boolean;
  /** --figure: counters to show as rows besides the detectors and key figures */
  figures?: string[];
}

/** The counters of --figure (comma lists, repeatable), each checked against the counter table. */
export function parseFigures(specs: readonly string[]): string[] {
  const names = specs.flatMap((spec) => spec.split(',')).map((n) => n.trim());
  const known = new Set(COUNTERS.map((c) => c.name));
  for (const n of names) {
    if (known.has(n)) continue;
    const close = COUNTERS.map((c) => c.name).filter((c) => n !== '' && (c.includes(n) || n.includes(c.replace(/^mmsim_/, '')))).slice(0, 3);
    const shown = n === '' ? 'an empty name' : JSON.stringify(n);
    throw new UsageError(`--figure ${specs.join(',')}: ${shown} is not a counter (the names of a run's vmstat.txt and results.json counters); ` +
      `e.g. --figure ${close.length > 0 ? close.join(',') : 'mmsim_kvm_fault_retries,pswpin'}`);
  }
  return names;
}

export const EXIT_OK = 0;
export const EXIT_FAILED_POINTS = 1;

const FLAG = '--axis';
const EXAMPLE = 'mmsim compare notifier-pairing --axis notifiers.policy=2018,ban-multiple,sorted-2020,mainline';

/** The schema's description of the leaf at `path` (map keys and list indexes taken as any), or undefined. */
function leafMeta(path: readonly string[]): FieldMeta | undefined {
  let node = rootNode();
  for (const segment of path) {
    switch (node.kind) {
      case 'leaf': return undefined;
      case 'section':
        if (!node.keys.includes(segment)) return undefined;
        node = describeNode(node.child(segment));
        break;
      case 'map': node = describeNode(node.value); break;
      case 'list': node = describeNode(node.element); break;
    }
  }
  return node.kind === 'leaf' ? node.meta : undefined;
}

/** `--axis notifiers.policy=2018,ban-multiple,sorted-2020,mainline` for a choice, `--axis vm.swappiness=60` otherwise. */
export function axisExample(field: string): string | undefined {
  const meta = leafMeta(field.split('.'));
  if (meta === undefined) return undefined;
  const choices = meta.kind.split('|');
  return `${FLAG} ${field}=${choices.length > 1 ? choices.join(',') : meta.example}`;
}

/** The issues of a refusal without its heading (`scenario x.yaml is invalid:`). */
function detail(message: string, issues: readonly ScenarioIssue[] | undefined, ownLabel: string): string {
  if (issues === undefined || issues.length === 0) {
    const lines = message.split('\n');
    return lines.length > 1 ? lines.slice(1).map((l) => l.trim()).join('; ') : message;
  }
  return issues.map((i) => `${i.source !== undefined && i.source !== ownLabel ? `${i.source}: ` : ''}${formatIssue(i)}`).join('; ');
}

/**
 * Validates every value of every axis on its own (with the --set options), so that a refusal
 * names the axis, the value and a good example. Throws a UsageError for the first refused.
 */
function checkAxisValues(scenarioArg: string, axes: readonly ParamSpec[], sets: readonly string[]): void {
  for (const axis of axes) {
    const { combos } = planCombos(scenarioArg, [axis], sets, 1, FLAG);
    const bad = combos.find((c) => c.scenario === undefined);
    if (bad === undefined) continue;
    const value = bad.values[0]!;
    const label = `${FLAG} ${axis.name}=${value}`;
    const example = axisExample(axis.name);
    const why = detail(bad.error!, bad.issues, label);
    const spec = `${FLAG} ${axis.name}=${axis.values.join(',')}`;
    if (bad.issues?.some((i) => i.source === label)) {
      // the schema refused the value itself; its message may carry an example already
      const eg = example !== undefined && !why.includes('e.g.') ? `; e.g. ${example}` : '';
      throw new UsageError(`${spec}: the value ${JSON.stringify(value)} is refused: ${why}${eg}`);
    }
    if (bad.error!.startsWith('bad option')) {
      // the path: an unknown field (the message lists the valid keys), a map entry the scenario does not have
      throw new UsageError(`${spec}: ${why}`);
    }
    // a value the schema takes that another rule refuses (a cross-field check, or too big for one instance)
    throw new UsageError(`${spec}: with ${axis.name}=${value}: ${why}`);
  }
}

/** Column labels: the last path component of each axis field when no two axes share it, else the whole path. */
export function columnLabels(axes: readonly ParamSpec[], combos: readonly { values: readonly string[] }[]): string[] {
  const last = axes.map((a) => a.name.split(':').map((f) => f.split('.').at(-1)!).join(':'));
  const names = axes.map((a, i) => (last.filter((l) => l === last[i]).length === 1 ? last[i]! : a.name));
  return combos.map((c) => c.values.map((v, i) => `${names[i]}=${v}`).join(' '));
}

function parseJobs(jobs: string | undefined): number {
  if (jobs === undefined) return defaultCpus().cpus;
  if (!/^\d+$/.test(jobs) || Number(jobs) < 1 || Number(jobs) > 1024) {
    throw new UsageError(`-j ${jobs}: the number of worker threads must be an integer from 1 to 1024, e.g. -j 4`);
  }
  return Number(jobs);
}

/** `--out x.csv` is that file; anything else is a directory that gets `<scenario>.compare.csv`. */
function csvPathOf(out: string, scenario: string): string {
  return out.toLowerCase().endsWith('.csv') ? out : join(out, `${scenario}.compare.csv`);
}

/**
 * Runs a comparison; returns the exit status (0 every point ran, 1 some points failed; bad input
 * throws). `hooks.faults` injects failing points (tests).
 */
export async function runCompare(scenarioArg: string, flags: CompareFlags, io: SweepIo, hooks: { faults?: WorkerFaults } = {}): Promise<number> {
  const axes = (flags.axes ?? []).map((spec) => parseParam(spec, FLAG));
  if (axes.length === 0) {
    // no axis, no combination: a compare of nothing is bad input, not an empty table
    throw new UsageError(`compare needs at least one ${FLAG} FIELD=v1,v2,… (its values are the columns); e.g. ${EXAMPLE}`);
  }
  const sets = flags.sets ?? [];
  checkParams(axes, sets, FLAG);
  const seeds = parseSeeds(flags.seeds, flags.seedList);
  const figures = figuresWith(parseFigures(flags.figures ?? []));
  const jobs = parseJobs(flags.jobs);
  checkAxisValues(scenarioArg, axes, sets);
  const { combos } = planCombos(scenarioArg, axes, sets, seeds.length, FLAG);
  const labels = columnLabels(axes, combos);
  const refused = combos.findIndex((c) => c.scenario === undefined);
  if (refused >= 0) {
    const c = combos[refused]!;
    throw new UsageError(`the column ${labels[refused]} is refused (each of its values is valid alone): ${detail(c.error!, c.issues, '')}`);
  }
  const planned = combos as (PlannedCombo & { scenario: NonNullable<PlannedCombo['scenario']> })[];
  const name = planned[0]!.scenario.name;

  // Before anything runs: the CSV must be writable where it is to go.
  const csvPath = flags.out === undefined ? undefined : csvPathOf(flags.out, name);
  const location = csvPath === undefined ? undefined
    : checkOutputLocation(csvPath, { flag: '--out', kind: 'file', example: `--out out/${name}.compare.csv` });
  const tasks = planned.flatMap((c) => seeds.map((seed) => ({ scenario: c.scenario, seed })));
  const threads = Math.max(1, Math.min(jobs, tasks.length));
  if (!flags.ignoreHostMemory) {
    const refusal = checkHostMemory(poolDemand(`mmsim compare ${name} -j ${threads}`, planned.map((c) => c.scenario), threads));
    if (refusal) throw new UsageError(refusal);
  }

  const outcomes = new Array<PointOutcome>(tasks.length);
  let done = 0;
  let failed = 0;
  const progress = createSweepProgress({
    sink: { isTTY: io.stderrIsTTY, write: io.stderr }, enabled: !flags.quiet, label: `mmsim compare ${name}:`, total: tasks.length,
  });
  try {
    const run = runOnPool(tasks, {
      threads,
      ...(hooks.faults ? { faults: hooks.faults } : {}),
      onOutcome: (position, outcome) => {
        outcomes[position] = outcome;
        done++;
        if (outcome.status !== 'ok') failed++;
        progress.update(done, failed);
      },
    });
    await run.done;
  } finally {
    progress.finish();
  }

  const columns: CompareColumn[] = planned.map((c, i) => ({
    label: labels[i]!,
    point: Object.fromEntries(axes.map((a, k) => [a.name, c.values[k]!])),
    outcomes: seeds.map((_, s) => outcomes[i * seeds.length + s]!),
  }));
  const table = compareTable({ scenario: name, axes: axes.map((a) => ({ field: a.name, values: a.values })), sets, seeds, columns }, figures);

  let status = EXIT_OK;
  if (csvPath !== undefined) {
    try {
      createMissingDirs(location!.missing);
      writeFileAtomically(csvPath, formatCompareCsv(table));
    } catch (error) {
      // Nothing half-written is left (a temporary file renamed into place, or removed).
      io.stderr(`mmsim: cannot write ${csvPath}: ${(error as Error).message}\n`);
      status = EXIT_FAILED_POINTS;
    }
  }
  if (flags.format === 'json') io.stdout(formatCompareJson(table));
  else io.stdout(`${formatCompareText(table)}${csvPath !== undefined && status === EXIT_OK ? `CSV (one line per figure × column): ${csvPath}\n` : ''}`);

  const failures = columns.flatMap((c) => c.outcomes.flatMap((o, s) => (o.status === 'ok' ? [] : [
    `  ${c.label} seed ${seeds[s]}: ${o.error?.stage ?? 'error'}: ${(o.error?.message ?? 'unknown error').split('\n')[0]}`,
  ])));
  if (failures.length > 0) {
    io.stderr([`mmsim: ${failures.length} of ${tasks.length} points failed (left out of their column's figures):`, ...failures.slice(0, 5),
      ...(failures.length > 5 ? [`  … and ${failures.length - 5} more`] : [])].join('\n') + '\n');
    status = EXIT_FAILED_POINTS;
  }
  return status;
}
