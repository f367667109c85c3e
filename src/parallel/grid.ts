/**
 * The grid of a sweep: `--param` specs (lists and ranges), seeds, the cartesian product in a
 * fixed order, the fingerprint that identifies the grid in every output line, and the
 * deterministic shard subsets for clusters. Nothing here runs a simulation.
 */
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import { DURATION_UNITS, SIZE_UNITS } from '../scenario/units.js';
import { UsageError } from '../util/errors.js';

/** One swept field: its path and the values, as the text `--set` would receive. */
export interface ParamSpec {
  name: string;
  values: string[];
}

/** The --set overrides of one parameter's value (several for fields moved together). */
export function paramSets(p: ParamSpec, value: string): string[] {
  const fields = p.name.split(':');
  if (fields.length === 1) return [`${p.name}=${value}`];
  const parts = value.split(':');
  return fields.map((f, i) => `${f}=${parts[i]}`);
}

/** A parameter combination; `values[i]` belongs to `params[i]`. */
export interface Combo {
  index: number;
  values: string[];
}

/** Most points a sweep accepts (a typo such as 0..1000000:1 should not start a year of work). */
export const MAX_POINTS = 1_000_000;

const NUMBER = /^-?\d+(?:\.\d+)?$/;
const QUANTITY = /^(-?\d+(?:\.\d+)?)([A-Za-zµ/]*)$/;

/**
 * Parses `--param FIELD=SPEC`: SPEC is a list `a,b,c` or an inclusive range `lo..hi:step` of
 * numbers, optionally with a unit (`1GiB..4GiB:1GiB`, `512MiB..2GiB:512MiB`, `10ms..50ms:10ms`).
 * `flag` is the option that carried it, for messages (`mmsim compare` calls it `--axis`).
 * `F1:F2=a1:a2,b1:b2` moves several fields together: each point sets F1=a1 and F2=a2, and so on.
 */
export function parseParam(spec: string, flag = '--param'): ParamSpec {
  const fail = (message: string): never => {
    throw new UsageError(`bad ${flag} ${spec}: ${message}`);
  };
  const eq = spec.indexOf('=');
  if (eq <= 0) fail(`expected FIELD=VALUES, e.g. ${flag} vm.swappiness=0..200:50 or ${flag} vm.swappiness=10,60,100`);
  const name = spec.slice(0, eq);
  // FIELD:FIELD=a:b,c:d moves several fields together (a value of each per point)
  const fields = name.split(':');
  for (const field of fields) {
    if (field.split('.').some((segment) => segment === '' || /\s/.test(segment))) {
      fail(`"${field}" is not a field path; e.g. vm.swappiness or machine.memory`);
    }
    if (field === 'seed') fail(`seeds are swept with --seeds N or --seed-list 1,5,9, not ${flag}`);
    if (field === 'name') fail('the scenario name cannot be swept; it identifies the sweep');
  }
  if (new Set(fields).size !== fields.length) fail('a field appears twice in the list of fields moved together');
  const text = spec.slice(eq + 1);
  if (text === '') fail(`no values; e.g. ${flag} vm.swappiness=10,60,100`);
  if (fields.length > 1 && text.includes('..')) fail(`fields moved together take a list of tuples, not a range; e.g. ${flag} pins.track:pins.action=none:none,bias:mainline`);
  const values = text.includes('..') ? expandRange(text, fail) : text.split(',');
  if (values.some((v) => v === '')) fail('an empty value in the list; e.g. 10,60,100');
  for (const value of values) {
    if (fields.length > 1 && value.split(':').length !== fields.length) {
      fail(`${value} is not a value for each of the ${fields.length} fields ${fields.join(', ')}; e.g. ${flag} pins.track:pins.action=none:none,bias:mainline`);
    }
  }
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) fail(`value ${value} appears twice`);
    seen.add(value);
  }
  return { name, values };
}

/** `lo..hi:step` → the values lo, lo+step, … ≤ hi, each with the unit the range was written in. */
function expandRange(text: string, fail: (message: string) => never): string[] {
  const match = /^(.+?)\.\.(.+?):(.+)$/.exec(text);
  if (!match) fail(`"${text}" is not a range; write lo..hi:step, e.g. 0..200:50 or 1GiB..4GiB:1GiB`);
  const parts = [match![1]!, match![2]!, match![3]!].map((part) => {
    const q = QUANTITY.exec(part);
    if (!q) fail(`"${part}" is not a number with an optional unit (e.g. 50, 0.5, 1GiB, 10ms)`);
    return { text: part, amount: Number(q![1]), unit: q![2]! };
  });
  const [lo, hi, step] = parts as [Quantity, Quantity, Quantity];
  let unit = lo.unit;
  let numbers: [number, number, number];
  if (lo.unit === hi.unit && hi.unit === step.unit) {
    numbers = [lo.amount, hi.amount, step.amount];
  } else {
    // Different units of one kind: count in the smallest of them.
    const table = unitTable(parts, fail);
    const smallest = parts.map((p) => p.unit).reduce((a, b) => (table[a]! <= table[b]! ? a : b));
    unit = smallest;
    numbers = [lo, hi, step].map((p) => (p.amount * table[p.unit]!) / table[smallest]!) as [number, number, number];
  }
  const [a, b, s] = numbers;
  if (!(s > 0)) fail(`the step ${step.text} must be greater than 0`);
  if (a > b) fail(`the range starts above its end (${lo.text} > ${hi.text})`);
  const count = Math.floor((b - a) / s + 1e-9) + 1;
  if (count > MAX_POINTS) fail(`${count} values; a sweep takes at most ${MAX_POINTS} points`);
  const decimals = Math.min(12, Math.max(decimalsOf(a), decimalsOf(s)));
  const values: string[] = [];
  for (let i = 0; i < count; i++) {
    const v = Number((a + i * s).toFixed(decimals));
    values.push(`${v}${unit}`);
  }
  return values;
}

interface Quantity { text: string; amount: number; unit: string }

function unitTable(parts: Quantity[], fail: (message: string) => never): Readonly<Record<string, number>> {
  const rate = Object.fromEntries(Object.entries(SIZE_UNITS).map(([k, v]) => [`${k}/s`, v]));
  for (const table of [SIZE_UNITS, DURATION_UNITS, rate]) {
    if (parts.every((p) => table[p.unit] !== undefined)) return table;
  }
  return fail(`the units of ${parts.map((p) => p.text).join(', ')} do not match; ` +
    'write all three in units of one kind, e.g. 512MiB..2GiB:512MiB');
}

function decimalsOf(x: number): number {
  const text = String(x);
  if (text.includes('e')) return 12;
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** Checks that no field is swept twice or both swept and fixed by --set (`flag` names the sweeping option). */
export function checkParams(params: readonly ParamSpec[], sets: readonly string[], flag = '--param'): void {
  const names = new Set<string>();
  for (const p of params) {
    for (const field of p.name.split(':')) {
      if (names.has(field)) throw new UsageError(`${flag} ${field} is given twice; list all its values in one ${flag}`);
      names.add(field);
    }
  }
  for (const set of sets) {
    const field = set.slice(0, Math.max(0, set.indexOf('=')));
    if (names.has(field)) throw new UsageError(`${field} is both swept (${flag}) and fixed (--set ${set}); drop one`);
    if (field === 'seed') throw new UsageError('--set seed is ignored by a sweep; use --seeds N or --seed-list 1,5,9');
  }
}

/** `--seeds N` → 1..N; `--seed-list 3,7` → [3, 7]; neither → [1]. */
export function parseSeeds(seeds: string | undefined, seedList: string | undefined): number[] {
  if (seeds !== undefined && seedList !== undefined) {
    throw new UsageError('give either --seeds N (seeds 1..N) or --seed-list a,b,c, not both');
  }
  const integer = (text: string, what: string, min: number): number => {
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < min) {
      throw new UsageError(`${what} ${JSON.stringify(text)} is not an integer ≥ ${min}; e.g. ${what} ${min === 0 ? '1,2,3' : '8'}`);
    }
    return Number(text);
  };
  if (seedList !== undefined) {
    const list = seedList.split(',').map((s) => integer(s, '--seed-list', 0));
    if (new Set(list).size !== list.length) throw new UsageError(`--seed-list ${seedList} repeats a seed`);
    return list;
  }
  const n = seeds === undefined ? 1 : integer(seeds, '--seeds', 1);
  if (n > MAX_POINTS) throw new UsageError(`--seeds ${n}: at most ${MAX_POINTS}`);
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** The cartesian product of the params, the last param varying fastest. */
export function combos(params: readonly ParamSpec[], seedCount: number): Combo[] {
  const total = params.reduce((n, p) => n * p.values.length, 1);
  if (total * seedCount > MAX_POINTS) {
    throw new UsageError(`the grid has ${total * seedCount} points (${total} parameter combinations × ${seedCount} seeds); ` +
      `a sweep takes at most ${MAX_POINTS}`);
  }
  const out: Combo[] = [];
  for (let index = 0; index < total; index++) {
    let rest = index;
    const values = new Array<string>(params.length);
    for (let p = params.length - 1; p >= 0; p--) {
      const n = params[p]!.values.length;
      values[p] = params[p]!.values[rest % n]!;
      rest = Math.floor(rest / n);
    }
    out.push({ index, values });
  }
  return out;
}

/** The value of a param as the scenario receives it (YAML: `100` a number, `4GiB` text), for the JSONL. */
export function paramValue(text: string): unknown {
  if (NUMBER.test(text)) return Number(text);
  try {
    return YAML.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The `point` object of a combination: field path → value, in --param order. */
export function pointObject(params: readonly ParamSpec[], values: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(params.map((p, i) => [p.name, paramValue(values[i]!)]));
}

/** The identity of a point within its grid, for --resume: its parameters and seed. */
export function pointKey(point: Record<string, unknown>, seed: number): string {
  return JSON.stringify([point, seed]);
}

/**
 * A short hash of everything that defines the grid and its results: the scenario text, the
 * --set overrides, the params with their values, the seeds, and the engine build. Lines of
 * different grids must never be mixed in one file.
 */
export function gridFingerprint(parts: {
  scenarioText: string; sets: readonly string[]; params: readonly ParamSpec[]; seeds: readonly number[]; engine: string;
}): string {
  const canonical = JSON.stringify({
    format: 1, scenario: parts.scenarioText, sets: parts.sets,
    params: parts.params.map((p) => [p.name, p.values]), seeds: parts.seeds, engine: parts.engine,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** A shard: `index` is 0-based, `count` the number of shards; `source` says where it came from. */
export interface Shard {
  index: number;
  count: number;
  source: string;
}

/** Whether a grid point belongs to a shard: round-robin, so shards are balanced across params. */
export function inShard(pointIndex: number, shard: Shard | undefined): boolean {
  return shard === undefined || pointIndex % shard.count === shard.index;
}

/**
 * The shard to run: `--shard k/N` (k from 1), else the 0-based index of a Kubernetes Indexed
 * Job (JOB_COMPLETION_INDEX) or a Slurm job array (SLURM_ARRAY_TASK_ID, --array=0-(N-1)), with
 * the count from `--shards N` or MMSIM_SHARDS — never from the array itself, so resubmitting one
 * index (sbatch --array=3) still runs shard 3 of N. None of these → undefined (the whole grid).
 */
export function resolveShard(flags: { shard?: string; shards?: string }, env: NodeJS.ProcessEnv): Shard | undefined {
  const count = (text: string, what: string): number => {
    if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
      throw new UsageError(`${what}=${JSON.stringify(text)} is not a shard count; it must be an integer ≥ 1, e.g. 4`);
    }
    return Number(text);
  };
  if (flags.shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(flags.shard);
    if (!m) throw new UsageError(`--shard ${flags.shard}: expected k/N with k counted from 1, e.g. --shard 1/4 … --shard 4/4`);
    const k = Number(m[1]);
    const n = Number(m[2]);
    if (n < 1 || k < 1 || k > n) {
      throw new UsageError(`--shard ${flags.shard}: k counts from 1 to N, so for N=${Math.max(n, 1)} use 1/${Math.max(n, 1)} … ${Math.max(n, 1)}/${Math.max(n, 1)}`);
    }
    if (flags.shards !== undefined && count(flags.shards, '--shards') !== n) {
      throw new UsageError(`--shard ${flags.shard} and --shards ${flags.shards} disagree on the number of shards`);
    }
    return { index: k - 1, count: n, source: `--shard ${flags.shard}` };
  }
  const explicitCount = flags.shards !== undefined ? count(flags.shards, '--shards')
    : env.MMSIM_SHARDS !== undefined && env.MMSIM_SHARDS !== '' ? count(env.MMSIM_SHARDS, 'MMSIM_SHARDS') : undefined;
  const envIndex = (name: string): number => {
    const text = env[name]!;
    if (!/^\d+$/.test(text)) throw new UsageError(`${name}=${JSON.stringify(text)} is not a shard index (an integer ≥ 0)`);
    return Number(text);
  };
  let index: number;
  const n: number | undefined = explicitCount;
  let source: string;
  if (env.JOB_COMPLETION_INDEX !== undefined && env.JOB_COMPLETION_INDEX !== '') {
    index = envIndex('JOB_COMPLETION_INDEX');
    source = `JOB_COMPLETION_INDEX=${env.JOB_COMPLETION_INDEX}`;
    if (n === undefined) {
      throw new UsageError(`JOB_COMPLETION_INDEX=${env.JOB_COMPLETION_INDEX} is set (a Kubernetes Indexed Job) but not the number of shards: ` +
        'pass --shards N (the Job\'s completions) or set MMSIM_SHARDS; or --shard 1/1 to run the whole grid here');
    }
  } else if (env.SLURM_ARRAY_TASK_ID !== undefined && env.SLURM_ARRAY_TASK_ID !== '') {
    index = envIndex('SLURM_ARRAY_TASK_ID');
    source = `SLURM_ARRAY_TASK_ID=${env.SLURM_ARRAY_TASK_ID}`;
    if (n === undefined) {
      throw new UsageError(`SLURM_ARRAY_TASK_ID=${env.SLURM_ARRAY_TASK_ID} is set (a Slurm job array) but not the number of shards: ` +
        'pass --shards N or set MMSIM_SHARDS; or --shard 1/1 to run the whole grid here');
    }
  } else {
    if (flags.shards !== undefined) {
      throw new UsageError(`--shards ${flags.shards} needs a shard index: --shard k/${flags.shards}, or JOB_COMPLETION_INDEX / SLURM_ARRAY_TASK_ID in the environment`);
    }
    return undefined;
  }
  if (index < 0 || index >= n) {
    throw new UsageError(`${source}: shard index ${index} is outside 0..${n - 1} for ${n} shards ` +
      `(indexes count from 0: a Slurm array of ${n} shards is --array=0-${n - 1})`);
  }
  return { index, count: n, source };
}
