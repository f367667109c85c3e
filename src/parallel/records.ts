/**
 * The sweep's JSONL: one line per point, written as the point finishes and, at the end,
 * rewritten in grid order (a temporary file renamed over the old one) so that the final file
 * is the same bytes whatever the worker count or the order points finished in. No wall-clock
 * figure is written: a line is a pure function of (grid, point, seed).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { OomKill } from '../report/result.js';
import { UsageError } from '../util/errors.js';

export type ErrorStage = 'scenario' | 'simulation' | 'worker';

export interface PointError {
  /** scenario: the point's parameters are invalid (or it cannot fit); simulation: a trap in the core; worker: the worker thread died. */
  stage: ErrorStage;
  message: string;
  simulatedNs?: number;
  lastEvent?: string;
}

/** The key figures of a point, also the columns of the summary table. */
export interface SummaryFigures {
  /** pgsteal / pgscan over kswapd and direct reclaim; null when nothing was scanned. */
  reclaim_efficiency: number | null;
  pgscan: number;
  pgsteal: number;
  pgmajfault: number;
  pswpin: number;
  pswpout: number;
  allocstall: number;
  mmsim_direct_reclaim_ns: number;
  oom_kill: number;
}

export const SUMMARY_FIGURES: readonly (keyof SummaryFigures)[] = [
  'reclaim_efficiency', 'pgscan', 'pgsteal', 'pgmajfault', 'pswpin', 'pswpout', 'allocstall',
  'mmsim_direct_reclaim_ns', 'oom_kill',
];

export interface PointRecord {
  /** The grid fingerprint (gridFingerprint): lines of different grids are never mixed. */
  grid: string;
  scenario: string;
  /** Position in the grid (parameter combinations in order, seeds innermost), and the grid's size. */
  index: number;
  of: number;
  point: Record<string, unknown>;
  seed: number;
  status: 'ok' | 'error';
  error?: PointError;
  simulatedSeconds?: number;
  summary?: SummaryFigures;
  detectorsTotal?: number;
  counters?: Record<string, number>;
}

/** What a worker reports for one point. */
export interface PointOutcome {
  status: 'ok' | 'error';
  error?: PointError;
  simulatedSeconds?: number;
  detectorsTotal?: number;
  counters?: Record<string, number>;
  /** The run's OOM kills, for `mmsim compare` (time from kill to freed); not in a sweep's JSONL. */
  oomKills?: OomKill[];
}

export function summaryFigures(counters: Readonly<Record<string, number>>): SummaryFigures {
  const c = (name: string): number => counters[name] ?? 0;
  const pgscan = c('pgscan_kswapd') + c('pgscan_direct');
  const pgsteal = c('pgsteal_kswapd') + c('pgsteal_direct');
  return {
    reclaim_efficiency: pgscan > 0 ? pgsteal / pgscan : null,
    pgscan,
    pgsteal,
    pgmajfault: c('pgmajfault'),
    pswpin: c('pswpin'),
    pswpout: c('pswpout'),
    allocstall: c('allocstall_dma') + c('allocstall_dma32') + c('allocstall_normal') + c('allocstall_movable'),
    mmsim_direct_reclaim_ns: c('mmsim_direct_reclaim_ns'),
    oom_kill: c('oom_kill'),
  };
}

/** Builds a record with its keys always in the same order (so equal records are equal bytes). */
export function makeRecord(head: Pick<PointRecord, 'grid' | 'scenario' | 'index' | 'of' | 'point' | 'seed'>, outcome: PointOutcome): PointRecord {
  const record: PointRecord = {
    grid: head.grid, scenario: head.scenario, index: head.index, of: head.of, point: head.point, seed: head.seed,
    status: outcome.status,
  };
  if (outcome.error) {
    const e = outcome.error;
    record.error = { stage: e.stage, message: e.message };
    if (e.simulatedNs !== undefined) record.error.simulatedNs = e.simulatedNs;
    if (e.lastEvent !== undefined) record.error.lastEvent = e.lastEvent;
  }
  if (outcome.counters) {
    record.simulatedSeconds = outcome.simulatedSeconds ?? 0;
    record.summary = summaryFigures(outcome.counters);
    record.detectorsTotal = outcome.detectorsTotal ?? 0;
    record.counters = outcome.counters;
  }
  return record;
}

export function formatRecord(record: PointRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** One line read back from a file, with where it came from for messages. */
export interface ReadLine {
  record: PointRecord;
  text: string;
  where: string;
}

export interface ReadFile {
  lines: ReadLine[];
  /** An incomplete last line (the writer was killed mid-write) that was left out. */
  tornTail: boolean;
}

/**
 * Reads a sweep JSONL file. A last line without its newline that does not parse is a write
 * cut short by a crash: left out (with `tornTail`) when `allowTornTail`, an error otherwise.
 * Any other line that is not a point record is an error naming the file and line.
 */
export function readRecords(path: string, options: { allowTornTail: boolean }): ReadFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${(error as Error).message}`);
  }
  const raw = text.split('\n');
  const complete = raw.pop() === '';
  const lines: ReadLine[] = [];
  let tornTail = false;
  const all = complete ? raw : [...raw, text.slice(text.lastIndexOf('\n') + 1)];
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!;
    const where = `${path}:${i + 1}`;
    const last = i === all.length - 1;
    if (last && !complete) {
      if (!options.allowTornTail) {
        throw new UsageError(`${where}: the last line is incomplete (was the sweep interrupted? rerun it with --resume)`);
      }
      tornTail = true;
      continue;
    }
    const record = parseRecord(line);
    if (record === undefined) {
      if (line === '') throw new UsageError(`${where}: an empty line; a sweep file has one point record per line`);
      throw new UsageError(`${where}: not a sweep point record (${line.slice(0, 60)}${line.length > 60 ? '…' : ''})`);
    }
    lines.push({ record, text: `${line}\n`, where });
  }
  return { lines, tornTail };
}

function parseRecord(line: string): PointRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Partial<PointRecord>;
  const isInt = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  if (typeof r.grid !== 'string' || typeof r.scenario !== 'string' || !isInt(r.index) || !isInt(r.of) ||
    r.index >= r.of || typeof r.point !== 'object' || r.point === null || !isInt(r.seed) ||
    (r.status !== 'ok' && r.status !== 'error')) {
    return undefined;
  }
  return r as PointRecord;
}

/** The final file: every line in grid order. */
export function canonicalText(lines: Iterable<{ record: PointRecord; text: string }>): string {
  return [...lines].sort((a, b) => a.record.index - b.record.index).map((l) => l.text).join('');
}

/** Replaces `path` with `content` all at once: a temporary file beside it, synced, then renamed. */
export function writeFileAtomically(path: string, content: string): void {
  const temp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(4).toString('hex')}`);
  try {
    const fd = openSync(temp, 'w');
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** `out/x.jsonl` → `out/x.summary.csv` (or FILE.summary.csv for another extension). */
export function summaryCsvPath(out: string): string {
  return out.endsWith('.jsonl') ? `${out.slice(0, -'.jsonl'.length)}.summary.csv` : `${out}.summary.csv`;
}
