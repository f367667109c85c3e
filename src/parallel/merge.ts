/**
 * `mmsim merge OUT.jsonl PARTS...`: joins the JSONL files of a sweep's shards into one file in
 * grid order (written atomically), with its summary table and CSV. Refuses parts of different
 * scenarios or grids and points present twice; reports points that no part holds.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../util/errors.js';
import { checkOutputLocation, createMissingDirs } from '../util/out-path.js';
import { canonicalText, readRecords, summaryCsvPath, writeFileAtomically, type ReadLine } from './records.js';
import { formatSummaryCsv, formatSummaryTable, summarize } from './summary.js';
import { describePoint, EXIT_FAILED_POINTS, EXIT_OK, formatFailures, type SweepIo } from './sweep.js';

export interface MergeFlags {
  force?: boolean;
  quiet?: boolean;
}

/** Compact list of indexes: 3, 5-9, 12 (first `limit` runs). */
function ranges(indexes: readonly number[], limit = 8): string {
  const runs: string[] = [];
  for (let i = 0; i < indexes.length && runs.length < limit; i++) {
    let j = i;
    while (j + 1 < indexes.length && indexes[j + 1] === indexes[j]! + 1) j++;
    runs.push(i === j ? `${indexes[i]}` : `${indexes[i]}-${indexes[j]}`);
    i = j;
  }
  return runs.join(', ') + (runs.length === limit ? ', …' : '');
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
  for (const part of parts) {
    for (const line of readRecords(part, { allowTornTail: false }).lines) {
      check('scenario', line);
      check('grid', line);
      lines.push(line);
    }
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
  createMissingDirs(location.missing);
  writeFileAtomically(out, canonicalText(lines));
  const records = lines.map((l) => l.record);
  const rows = summarize(records);
  writeFileAtomically(csvPath, formatSummaryCsv(rows));

  const missing: number[] = [];
  for (let i = 0; i < total; i++) if (!byIndex.has(i)) missing.push(i);
  const failed = records.filter((r) => r.status !== 'ok').sort((a, b) => a.index - b.index);
  if (!flags.quiet) {
    io.stdout(`${records[0]!.scenario}: mean ± 95% confidence interval across seeds\n${formatSummaryTable(rows)}`);
    io.stdout(`${records.length} of ${total} points from ${parts.length} file${parts.length === 1 ? '' : 's'} in ${out}` +
      `${failed.length > 0 ? ` (${failed.length} failed)` : ''}; summary in ${csvPath}\n`);
  }
  let status = EXIT_OK;
  if (missing.length > 0) {
    io.stderr(`mmsim: ${missing.length} of ${total} points are in none of the parts (grid indexes ${ranges(missing)}); ` +
      'run the missing shards (or resume them with --resume) and merge again\n');
    status = EXIT_FAILED_POINTS;
  }
  if (failed.length > 0) {
    io.stderr(formatFailures(failed, records.length));
    status = EXIT_FAILED_POINTS;
  }
  return status;
}
