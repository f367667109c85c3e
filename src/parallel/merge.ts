/**
 * `mmsim merge OUT.jsonl PARTS...`: joins the JSONL files of a sweep's shards into one file in
 * grid order (written atomically), with its summary table and CSV. Refuses parts of different
 * scenarios or grids and points present twice; reports points that no part holds.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../util/errors.js';
import { checkOutputLocation, createMissingDirs } from '../util/out-path.js';
import { canonicalText, readRecords, summaryCsvPath, writeFileAtomically, type PointRecord, type ReadLine } from './records.js';
import { formatSummaryCsv, formatSummaryTable, summarize } from './summary.js';
import { describePoint, EXIT_FAILED_POINTS, EXIT_OK, formatFailures, type SweepIo } from './sweep.js';

export interface MergeFlags {
  force?: boolean;
  quiet?: boolean;
  /** The shard count of the parts (else MMSIM_SHARDS, else inferred), for naming the shards to run again. */
  shards?: string;
}

/**
 * The shard count the parts were written with: the one given (--shards, MMSIM_SHARDS), else the
 * smallest N ≥ the number of parts for which every part's points lie in one class of index % N
 * and no two parts share a class (a sweep's shards are round-robin). Undefined when no N fits
 * (the parts are not the shards of one sweep, e.g. pieces of resumed unsharded runs).
 */
export function inferShardCount(parts: readonly (readonly number[])[], total: number): number | undefined {
  const filled = parts.filter((p) => p.length > 0);
  for (let n = Math.max(1, parts.length); n <= total; n++) {
    const classes = new Set<number>();
    const fits = filled.every((indexes) => {
      const r = indexes[0]! % n;
      if (classes.has(r) || indexes.some((i) => i % n !== r)) return false;
      classes.add(r);
      return true;
    });
    if (fits) return n;
  }
  return undefined;
}

/**
 * The parameters and seed of a grid point no part holds, worked out from the points the parts
 * do hold (grid order: combinations with the last --param fastest, seeds innermost). Undefined
 * for a point whose combination or seed no line shows.
 */
export function pointDescriber(records: readonly PointRecord[], total: number): (index: number) => string | undefined {
  const none = (): undefined => undefined;
  const seedsN = new Set(records.map((r) => r.seed)).size;
  if (seedsN === 0 || total % seedsN !== 0) return none;
  const seeds = new Map<number, number>();
  const combos = new Map<number, Record<string, unknown>>();
  for (const r of records) {
    const position = r.index % seedsN;
    if ((seeds.get(position) ?? r.seed) !== r.seed) return none;
    seeds.set(position, r.seed);
    combos.set(Math.floor(r.index / seedsN), r.point);
  }
  // A combination no line shows: each parameter's values, in order, from the others (mixed radix).
  const keys = Object.keys(records[0]!.point);
  const valuesOf = keys.map((k) => new Map<number, unknown>());
  const sizes = keys.map((k) => new Set(records.map((r) => JSON.stringify(r.point[k]))).size);
  const combosN = total / seedsN;
  const radixOk = sizes.reduce((a, b) => a * b, 1) === combosN;
  const digits = (c: number): number[] => {
    const out: number[] = new Array<number>(keys.length);
    for (let j = keys.length - 1; j >= 0; j--) {
      out[j] = c % sizes[j]!;
      c = Math.floor(c / sizes[j]!);
    }
    return out;
  };
  let radix = radixOk;
  if (radix) {
    for (const [c, point] of combos) {
      const d = digits(c);
      keys.forEach((k, j) => {
        const seen = valuesOf[j]!.get(d[j]!);
        if (seen !== undefined && JSON.stringify(seen) !== JSON.stringify(point[k])) radix = false;
        valuesOf[j]!.set(d[j]!, point[k]);
      });
    }
  }
  return (index) => {
    const seed = seeds.get(index % seedsN);
    if (seed === undefined) return undefined;
    const c = Math.floor(index / seedsN);
    let point = combos.get(c);
    if (point === undefined && radix) {
      const d = digits(c);
      if (keys.every((k, j) => valuesOf[j]!.has(d[j]!))) point = Object.fromEntries(keys.map((k, j) => [k, valuesOf[j]!.get(d[j]!)]));
    }
    return point === undefined ? undefined : describePoint(point, seed);
  };
}

const SHOWN_SHARDS = 16;
const SHOWN_POINTS = 4;

/** The message for points no part holds: which shards to run again, and what those points are. */
function formatMissing(missing: readonly number[], total: number, shards: number | undefined, describe: (i: number) => string | undefined, out: string): string {
  const point = (i: number): string => `${i} (${describe(i) ?? 'parameters in no part'})`;
  const list = (indexes: readonly number[]): string =>
    indexes.slice(0, SHOWN_POINTS).map(point).join(', ') + (indexes.length > SHOWN_POINTS ? `, … ${indexes.length - SHOWN_POINTS} more` : '');
  const lines = [`mmsim: ${missing.length} of ${total} points are in none of the parts; nothing is written to ${out} ` +
    `(${existsSync(out) ? 'it is left as it was' : 'a merge is written only when complete'}):`];
  if (shards !== undefined && shards > 1) {
    const byShard = new Map<number, number[]>();
    for (const i of missing) byShard.set(i % shards, [...(byShard.get(i % shards) ?? []), i]);
    const entries = [...byShard].sort((a, b) => a[0] - b[0]);
    for (const [r, indexes] of entries.slice(0, SHOWN_SHARDS)) {
      const of = Math.ceil((total - r) / shards);
      lines.push(`  shard ${r + 1}/${shards} (array index ${r}): ${indexes.length} of its ${of} points missing: ${list(indexes)}`);
    }
    if (entries.length > SHOWN_SHARDS) lines.push(`  … and ${entries.length - SHOWN_SHARDS} more shards: array indexes ${entries.slice(SHOWN_SHARDS).map(([r]) => r).join(',')}`);
    const indexes = entries.map(([r]) => r).join(',');
    lines.push(`run those shards again (sbatch --array=${indexes} sweep.sbatch, or mmsim sweep … --shard ${entries[0]![0] + 1}/${shards} --resume ` +
      'with that shard\'s --out): each resumes where it stopped; then merge again');
  } else {
    lines.push(`  points ${list(missing)}`);
    lines.push('run the sweep that holds them (with --resume it finishes where it stopped) and merge again');
  }
  return lines.join('\n') + '\n';
}

export async function runMerge(out: string, parts: readonly string[], flags: MergeFlags, io: SweepIo): Promise<number> {
  if (parts.length === 0) throw new UsageError('merge needs the shard files to join, e.g. mmsim merge all.jsonl out/*.shard-*.jsonl');
  const csvPath = summaryCsvPath(out);
  const location = checkOutputLocation(out, { flag: 'merge OUT', kind: 'file', example: 'mmsim merge out/sweep.jsonl PARTS...' });
  checkOutputLocation(csvPath, { flag: 'merge OUT', kind: 'file', example: 'mmsim merge out/sweep.jsonl PARTS...' });
  if (existsSync(out) && !flags.force && !parts.some((p) => resolve(p) === resolve(out))) {
    throw new UsageError(`${out} already exists; add --force to replace it`);
  }
  const seenParts = new Set<string>();
  for (const part of parts) {
    if (seenParts.has(resolve(part))) throw new UsageError(`${part} is given twice; each shard file once`);
    seenParts.add(resolve(part));
  }

  const lines: ReadLine[] = [];
  const firstOf = new Map<string, { value: string; where: string }>();
  const check = (key: 'scenario' | 'grid', line: ReadLine): void => {
    const value = line.record[key];
    const first = firstOf.get(key);
    if (!first) {
      firstOf.set(key, { value, where: line.where });
      return;
    }
    if (first.value === value) return;
    if (key === 'scenario') {
      throw new UsageError(`mixed scenarios: ${first.where} is from a sweep of "${first.value}", ${line.where} of "${value}"; merge the shards of one sweep only`);
    }
    throw new UsageError(`different grids: ${first.where} (grid ${first.value}) and ${line.where} (grid ${value}) come from sweeps with a different ` +
      'scenario text, --set, --param, seeds or mmsim build; merge the shards of one sweep only');
  };
  const partIndexes: number[][] = [];
  for (const part of parts) {
    const indexes: number[] = [];
    for (const line of readRecords(part, { allowTornTail: false }).lines) {
      check('scenario', line);
      check('grid', line);
      lines.push(line);
      indexes.push(line.record.index);
    }
    partIndexes.push(indexes);
  }
  if (lines.length === 0) throw new UsageError(`nothing to merge: ${parts.join(', ')} hold${parts.length === 1 ? 's' : ''} no points`);

  const byIndex = new Map<number, ReadLine>();
  for (const line of lines) {
    const other = byIndex.get(line.record.index);
    if (other) {
      throw new UsageError(`duplicate point ${line.record.index} (${describePoint(line.record.point, line.record.seed)}): ` +
        `in ${other.where} and ${line.where}; every point must come from one shard only`);
    }
    byIndex.set(line.record.index, line);
  }

  const total = lines[0]!.record.of;
  const records = lines.map((l) => l.record);
  const missing: number[] = [];
  for (let i = 0; i < total; i++) if (!byIndex.has(i)) missing.push(i);
  if (missing.length > 0) {
    // Never write an incomplete merge: it would replace (with --force) a complete one, and a
    // summary over part of the grid reads like the whole.
    const given = flags.shards ?? (io.env ?? process.env).MMSIM_SHARDS;
    let shards: number | undefined;
    if (given !== undefined) {
      if (!/^\d+$/.test(given) || Number(given) < 1) {
        throw new UsageError(`${flags.shards !== undefined ? '--shards' : 'MMSIM_SHARDS'}=${JSON.stringify(given)} is not a shard count; it must be an integer ≥ 1, e.g. 8`);
      }
      shards = Number(given);
    } else {
      shards = inferShardCount(partIndexes, total);
    }
    io.stderr(formatMissing(missing, total, shards, pointDescriber(records, total), out));
    return EXIT_FAILED_POINTS;
  }
  createMissingDirs(location.missing);
  writeFileAtomically(out, canonicalText(lines));
  const rows = summarize(records);
  writeFileAtomically(csvPath, formatSummaryCsv(rows));

  const failed = records.filter((r) => r.status !== 'ok').sort((a, b) => a.index - b.index);
  if (!flags.quiet) {
    io.stdout(`${records[0]!.scenario}: mean ± 95% confidence interval across seeds\n${formatSummaryTable(rows)}`);
    io.stdout(`${records.length} of ${total} points from ${parts.length} file${parts.length === 1 ? '' : 's'} in ${out}` +
      `${failed.length > 0 ? ` (${failed.length} failed)` : ''}; summary in ${csvPath}\n`);
  }
  let status = EXIT_OK;
  if (failed.length > 0) {
    io.stderr(formatFailures(failed, records.length));
    status = EXIT_FAILED_POINTS;
  }
  return status;
}
