/**
 * What `mmsim compare` reports: the figures of a point (every detector counter and the key
 * figures of the OOM killer, the reaper and reclaim), their mean and 95% interval across seeds
 * per column (an axis combination), and the three forms of that table — the terminal text, a
 * JSON object and a CSV. Everything here is a pure function of the points' outcomes, so equal
 * inputs give equal bytes whatever the worker count.
 */
import { COUNTERS } from '../abi/counters.js';
import type { PointOutcome } from './records.js';
import { summaryFigures } from './records.js';
import { estimate } from './stats.js';
import { formatNumber } from './summary.js';

/** A row of the table: how to read it off one point, and how to show it. */
export interface FigureDef {
  /** The counter name, or a derived figure's name (CSV and JSON). */
  id: string;
  /** The row's title in the terminal table. */
  title: string;
  section: 'asked' | 'detectors' | 'oom' | 'pins' | 'thp' | 'dirty' | 'reclaim';
  /** Raw unit of the value in JSON and CSV: a count of events or pages, nanoseconds, or a ratio of two counts. */
  unit: 'count' | 'ns' | 'ratio';
  /** Terminal display: value × scale, then the suffix. */
  scale: number;
  suffix: string;
  /** Decimals for the terminal (default: formatNumber's choice). */
  decimals?: number;
  /** A point's value; null when the figure does not apply (no kill, or the victim's memory never freed). */
  value: (outcome: PointOutcome) => number | null;
  /** Shown for a column where no seed has a value (default '-'). */
  missing?: string;
}

/**
 * Counters that are detectors: a hit of each is listed under `detectors` in results.json,
 * which counters.ts says in the counter's doc ("listed under detectors"), the one place a
 * counter is described.
 */
export const DETECTOR_COUNTERS: readonly string[] = COUNTERS.filter((c) => /\blisted under detectors\b/.test(c.doc)).map((c) => c.name);

const counter = (name: string) => (o: PointOutcome): number => o.counters?.[name] ?? 0;
const summary = (name: keyof ReturnType<typeof summaryFigures>) => (o: PointOutcome): number => {
  const v = summaryFigures(o.counters ?? {})[name];
  return v ?? 0;
};

/**
 * The first kill's time until its victim's memory was freed, by the OOM reaper or the victim's
 * own exit_mmap, whichever came first (seed-scenarios §4 "time from kill to memory freed").
 */
export function killToFreedNs(outcome: PointOutcome): number | null {
  const kill = outcome.oomKills?.[0];
  if (kill === undefined) return null;
  const freed = [kill.reapedAtNs, kill.exitAtNs].filter((t): t is number => t !== null);
  return freed.length === 0 ? null : Math.min(...freed) - kill.timeNs;
}

const short = (name: string): string => name.replace(/^mmsim_/, '');

/** Every row, in table order: the detectors, the OOM killer and reaper, DMA pins, dirty throttling, then reclaim. */
export const FIGURES: readonly FigureDef[] = [
  ...DETECTOR_COUNTERS.map((name): FigureDef => ({
    id: name, title: short(name), section: 'detectors', unit: 'count', scale: 1, suffix: '', value: counter(name),
  })),
  { id: 'oom_kill', title: 'oom_kill', section: 'oom', unit: 'count', scale: 1, suffix: '', value: counter('oom_kill') },
  {
    id: 'oom_extra_kills', title: 'extra kills (after the 1st)', section: 'oom', unit: 'count', scale: 1, suffix: '',
    value: (o) => Math.max(0, (o.counters?.oom_kill ?? 0) - 1),
  },
  {
    id: 'oom_first_kill_ns', title: '1st kill at', section: 'oom', unit: 'ns', scale: 1e-9, suffix: 's', decimals: 2,
    value: (o) => o.oomKills?.[0]?.timeNs ?? null, missing: 'never',
  },
  {
    id: 'oom_kill_to_freed_ns', title: '1st kill → memory freed', section: 'oom', unit: 'ns', scale: 1e-9, suffix: 's', decimals: 2,
    value: killToFreedNs, missing: 'never',
  },
  ...['mmsim_oom_pages_freed', 'mmsim_oom_reaper_attempts', 'mmsim_oom_reaper_vmas_skipped', 'mmsim_oom_reaper_unable', 'mmsim_nonblock_disabled']
    .map((name): FigureDef => ({ id: name, title: short(name), section: 'oom', unit: 'count', scale: 1, suffix: '', value: counter(name) })),
  // seed 002: what each pin policy did, and what it cost writeback and sync
  ...['mmsim_pin_refused', 'mmsim_gup_pages', 'mmsim_unmap_pinned_pages', 'mmsim_unmap_skipped_pinned', 'mmsim_reclaim_pinned_skipped', 'mmsim_reclaim_pinned_kept',
    'mmsim_writeback_skipped_pinned', 'mmsim_writeback_pin_waits', 'mmsim_bounce_pages', 'mmsim_pin_needless_skips', 'mmsim_pin_flag_lost', 'mmsim_pin_lru_races',
    'mmsim_userptr_builds', 'mmsim_userptr_restarts', 'mmsim_userptr_cancels', 'mmsim_userptr_pins', 'mmsim_notifier_mayfail_eagain']
    .map((name): FigureDef => ({ id: name, title: short(name), section: 'pins', unit: 'count', scale: 1, suffix: '', value: counter(name) })),
  {
    id: 'mmsim_unmap_pin_wait_ns', title: 'try_to_unmap waits for pins', section: 'pins', unit: 'ns', scale: 1e-6, suffix: 'ms',
    value: counter('mmsim_unmap_pin_wait_ns'),
  },
  // seed 002 §2: truncation against pins
  ...['mmsim_truncate_removed_pinned', 'mmsim_truncate_failed', 'mmsim_truncate_pin_waits', 'mmsim_pin_revoke_requests', 'mmsim_pin_revocations',
    'mmsim_pin_revocations_sync', 'mmsim_pin_revoke_unanswered']
    .map((name): FigureDef => ({ id: name, title: short(name), section: 'pins', unit: 'count', scale: 1, suffix: '', value: counter(name) })),
  {
    id: 'mmsim_truncate_pin_wait_ns', title: 'truncation waits for pins', section: 'pins', unit: 'ns', scale: 1e-6, suffix: 'ms',
    value: counter('mmsim_truncate_pin_wait_ns'),
  },
  {
    id: 'mmsim_pin_revoke_ns', title: 'revocation request → release', section: 'pins', unit: 'ns', scale: 1e-6, suffix: 'ms',
    value: counter('mmsim_pin_revoke_ns'),
  },
  {
    id: 'mmsim_truncate_blocked_forever', title: 'truncations blocked at the end', section: 'pins', unit: 'count', scale: 1, suffix: '',
    value: counter('mmsim_truncate_blocked_forever'),
  },
  { id: 'mmsim_sync_ns', title: 'sync stall (completed)', section: 'pins', unit: 'ns', scale: 1e-6, suffix: 'ms', value: counter('mmsim_sync_ns') },
  {
    id: 'syncs_unfinished', title: 'syncs unfinished at the end', section: 'pins', unit: 'count', scale: 1, suffix: '',
    value: (o) => (o.counters?.mmsim_sync_calls ?? 0) - (o.counters?.mmsim_syncs_completed ?? 0),
  },
  // transparent huge pages: what faults got, what reclaim split, what a GUP reference kept whole
  ...['thp_fault_alloc', 'thp_fault_fallback', 'thp_split_page', 'thp_split_page_failed', 'mmsim_thp_cannot_split', 'thp_swpout_fallback', 'nr_anon_transparent_hugepages']
    .map((name): FigureDef => ({ id: name, title: name === 'nr_anon_transparent_hugepages' ? 'THPs mapped at the end' : short(name), section: 'thp', unit: 'count', scale: 1, suffix: '', value: counter(name) })),
  // seed 002 (§3): pinned dirty pages against the dirty limits — who was throttled, whether the
  // flusher got anywhere, whether the writers still progress
  {
    id: 'mmsim_dirty_throttle_ns', title: 'dirtiers throttled (balance_dirty_pages)', section: 'dirty', unit: 'ns', scale: 1e-6, suffix: 'ms',
    value: counter('mmsim_dirty_throttle_ns'),
  },
  ...['mmsim_writeback_passes_no_progress', 'mmsim_write_pages', 'mmsim_peak_dirty']
    .map((name): FigureDef => ({ id: name, title: short(name), section: 'dirty', unit: 'count', scale: 1, suffix: '', value: counter(name) })),
  {
    id: 'mmsim_last_write_ns', title: 'last write() page at', section: 'dirty', unit: 'ns', scale: 1e-9, suffix: 's', decimals: 2,
    value: (o) => ((o.counters?.mmsim_write_pages ?? 0) > 0 ? o.counters?.mmsim_last_write_ns ?? null : null), missing: '-',
  },
  { id: 'pgscan', title: 'pgscan (kswapd+direct)', section: 'reclaim', unit: 'count', scale: 1, suffix: '', value: summary('pgscan') },
  { id: 'pgsteal', title: 'pgsteal (kswapd+direct)', section: 'reclaim', unit: 'count', scale: 1, suffix: '', value: summary('pgsteal') },
  {
    id: 'scanned_per_reclaimed', title: 'scanned per reclaimed', section: 'reclaim', unit: 'ratio', scale: 1, suffix: '', decimals: 2,
    value: (o) => { const f = summaryFigures(o.counters ?? {}); return (f.pgsteal ?? 0) > 0 ? (f.pgscan ?? 0) / f.pgsteal! : null; }, missing: '-',
  },
  { id: 'pswpout', title: 'pswpout', section: 'reclaim', unit: 'count', scale: 1, suffix: '', value: summary('pswpout') },
  { id: 'allocstall', title: 'allocstall', section: 'reclaim', unit: 'count', scale: 1, suffix: '', value: summary('allocstall') },
  {
    id: 'mmsim_direct_reclaim_ns', title: 'direct reclaim time', section: 'reclaim', unit: 'ns', scale: 1e-6, suffix: 'ms',
    value: summary('mmsim_direct_reclaim_ns'),
  },
];

const SECTION_TITLES: Record<FigureDef['section'], string> = {
  asked: 'asked for (--figure)', detectors: 'detectors', oom: 'OOM killer and reaper', pins: 'DMA pins and writeback', thp: 'transparent huge pages',
  dirty: 'dirty throttling and progress', reclaim: 'reclaim',
};

/** One column: an axis combination and its points, one per seed (undefined: not run). */
export interface CompareColumn {
  /** `policy=2018`, `policy=2018 reaper=trylock`. */
  label: string;
  /** Axis field → value, as written on the command line. */
  point: Record<string, string>;
  outcomes: readonly PointOutcome[];
}

/** A figure's values in one column across the seeds, and their statistics over the seeds that have one. */
export interface CellStats {
  /** Seeds with a value. */
  n: number;
  mean: number | null;
  /** Half-width of the 95% interval (Student's t); null with fewer than two values. */
  ci: number | null;
  min: number | null;
  max: number | null;
  /** One per seed, in seed order; null: the seed failed, or the figure does not apply. */
  values: (number | null)[];
}

export interface CompareRow {
  figure: FigureDef;
  cells: CellStats[];
  /** The columns' means are not all the same (one with no value counts as different). */
  differs: boolean;
  /** Every value in every column is 0 or absent: the terminal table leaves the row out. */
  zero: boolean;
}

export interface CompareTable {
  scenario: string;
  axes: readonly { field: string; values: readonly string[] }[];
  sets: readonly string[];
  seeds: readonly number[];
  columns: readonly CompareColumn[];
  rows: CompareRow[];
}

function cellStats(values: (number | null)[]): CellStats {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const e = estimate(present);
  return {
    n: present.length,
    mean: e?.mean ?? null,
    ci: e?.halfWidth ?? null,
    min: present.length > 0 ? Math.min(...present) : null,
    max: present.length > 0 ? Math.max(...present) : null,
    values,
  };
}

/**
 * The rows of a comparison: the counters asked for with --figure first (those not rows already),
 * then FIGURES. `pgscan_direct` is a row of its own: the `pgscan` figure sums kswapd and direct.
 */
export function figuresWith(asked: readonly string[]): FigureDef[] {
  const extra = asked.filter((name, i) => asked.indexOf(name) === i && !FIGURES.some((f) => f.id === name))
    .map((name): FigureDef => ({
      id: name, title: short(name), section: 'asked', unit: name.endsWith('_ns') ? 'ns' : 'count',
      scale: name.endsWith('_ns') ? 1e-6 : 1, suffix: name.endsWith('_ns') ? 'ms' : '', value: counter(name),
    }));
  return [...extra, ...FIGURES];
}

/** Builds the table: every figure of `figures` (FIGURES by default) for every column. */
export function compareTable(parts: Omit<CompareTable, 'rows'>, figures: readonly FigureDef[] = FIGURES): CompareTable {
  const rows = figures.map((figure): CompareRow => {
    const cells = parts.columns.map((column) => cellStats(column.outcomes.map((o) =>
      (o.status === 'ok' && o.counters ? figure.value(o) : null))));
    const means = cells.map((c) => c.mean);
    return {
      figure, cells,
      differs: means.some((m) => m !== means[0]),
      zero: cells.every((c) => c.values.every((v) => v === null || v === 0)),
    };
  });
  return { ...parts, rows };
}

function okSeeds(column: CompareColumn): number {
  return column.outcomes.filter((o) => o.status === 'ok').length;
}

/** `37.5 ± 19.1`; a value alone when every seed agrees (or there is one); `2.12s (1/2)` when some seeds have none. */
function cellText(figure: FigureDef, cell: CellStats, seedsOk: number): string {
  if (cell.mean === null) return seedsOk === 0 ? '-' : figure.missing ?? '-';
  const show = (x: number): string => (figure.decimals !== undefined ? (x * figure.scale).toFixed(figure.decimals) : formatNumber(x * figure.scale));
  let text = `${show(cell.mean)}${figure.suffix}`;
  if (cell.ci !== null && cell.min !== cell.max) text += ` ± ${show(cell.ci)}`;
  if (cell.n < seedsOk) text += ` (${cell.n}/${seedsOk})`;
  return text;
}

/**
 * Splits `policy=ban-multiple reaper=trylock` into header lines of at most `width`: a line per
 * pair, broken after `=` when `split` (every column's header is, once one has to be, so that
 * names and values line up across the table), then after `-` where a value is still too wide.
 */
function headerLines(label: string, width: number, split: boolean): string[] {
  const lines: string[] = [];
  for (const pair of label.split(' ')) {
    if (!split) { lines.push(pair); continue; }
    const eq = pair.indexOf('=');
    const pieces = eq >= 0 ? [pair.slice(0, eq + 1), pair.slice(eq + 1)] : [pair];
    for (const piece of pieces) {
      if (piece.length <= width) { lines.push(piece); continue; }
      let line = '';
      for (const part of piece.split(/(?<=-)/)) {
        if (line !== '' && line.length + part.length > width) { lines.push(line); line = ''; }
        line += part;
      }
      if (line !== '') lines.push(line);
    }
  }
  return lines;
}

/** Wraps words at `width` columns, each further line indented by `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) { lines.push(line); line = indent + word; }
    else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join('\n');
}

/** The width the terminal table aims for: a compare of 4 or 5 policies fits 100 columns. */
const TARGET_WIDTH = 100;

/**
 * The terminal table: a column per axis combination, a row per figure that is not zero
 * everywhere, grouped by section; a row whose columns differ is marked with `*`.
 */
export function formatCompareText(table: CompareTable): string {
  const shown = table.rows.filter((r) => !r.zero);
  const omitted = table.rows.filter((r) => r.zero);
  const seedsOk = table.columns.map(okSeeds);
  const seedCount = table.seeds.length;
  const seedsRow = table.columns.map((c, i) => (seedsOk[i] === seedCount ? String(seedCount) : `${seedsOk[i]} of ${seedCount}`));
  const cells = shown.map((r) => r.cells.map((cell, i) => cellText(r.figure, cell, seedsOk[i]!)));

  const labelWidth = Math.max('seeds'.length, ...shown.map((r) => Math.max(2 + r.figure.title.length, SECTION_TITLES[r.figure.section].length)));
  // A column is as wide as its cells, and as its header when the table still fits TARGET_WIDTH;
  // else the header wraps (after `=`, then after `-`), never inside a word.
  const share = Math.floor((TARGET_WIDTH - 2 - labelWidth) / Math.max(1, table.columns.length)) - 2;
  const widths = table.columns.map((column, i) => {
    const content = Math.max(seedsRow[i]!.length, ...cells.map((row) => row[i]!.length));
    const whole = Math.max(...column.label.split(' ').map((pair) => pair.length));
    const unbreakable = Math.max(...column.label.split(/ |(?<==)|(?<=-)/).map((piece) => piece.length));
    return Math.max(content, unbreakable, Math.min(whole, share));
  });
  const split = table.columns.some((c, i) => c.label.split(' ').some((pair) => pair.length > widths[i]!));
  const headers = table.columns.map((c, i) => headerLines(c.label, widths[i]!, split));
  const headerHeight = Math.max(...headers.map((h) => h.length));

  const line = (mark: string, label: string, values: readonly string[]): string =>
    `${mark} ${label.padEnd(labelWidth)}${values.map((v, i) => `  ${v.padStart(widths[i]!)}`).join('')}`.trimEnd();
  const out: string[] = [];
  const axes = table.axes.map((a) => a.field).join(' × ');
  const seedText = `${seedCount} seed${seedCount === 1 ? '' : 's'} (${describeSeeds(table.seeds)})`;
  out.push(wrap(`${table.scenario}: ${axes}, ${table.columns.length} column${table.columns.length === 1 ? '' : 's'} × ${seedText}` +
    `${table.sets.length > 0 ? `, with ${table.sets.map((s) => `--set ${s}`).join(' ')}` : ''}`, TARGET_WIDTH, '  '));
  out.push(seedCount > 1
    ? 'mean ± 95% confidence interval across seeds; a value alone is the same in every seed'
    : 'one seed: the values of that run (--seeds N for a mean and confidence interval)');
  out.push('');
  for (let h = 0; h < headerHeight; h++) {
    out.push(line(' ', '', headers.map((lines) => lines[h - (headerHeight - lines.length)] ?? '')));
  }
  out.push(line(' ', 'seeds', seedsRow));
  let section = '';
  shown.forEach((row, r) => {
    if (row.figure.section !== section) {
      section = row.figure.section;
      out.push(line(' ', SECTION_TITLES[row.figure.section], []));
    }
    out.push(line(row.differs ? '*' : ' ', `  ${row.figure.title}`, cells[r]!));
  });
  out.push('');
  const notes: string[] = [];
  if (shown.some((r) => r.differs)) notes.push('* marks a row whose columns differ.');
  if (omitted.length > 0) {
    notes.push(`${omitted.length} figure${omitted.length === 1 ? ' is' : 's are'} 0 in every column and left out: ` +
      `${omitted.map((r) => r.figure.title).join(', ')}.`);
  }
  if (notes.length > 0) out.push(wrap(notes.join(' '), TARGET_WIDTH, ''));
  return `${out.join('\n')}\n`;
}

/** `1..4`, or the list when the seeds are not a run of integers. */
function describeSeeds(seeds: readonly number[]): string {
  const run = seeds.every((s, i) => i === 0 || s === seeds[i - 1]! + 1);
  return run && seeds.length > 2 ? `${seeds[0]}..${seeds.at(-1)}` : seeds.join(', ');
}

/**
 * The JSON form: the axes, the seeds, the columns (label, point, seeds that ran, failures) and
 * every row — zero ones too, flagged — with each column's n, mean, ci (the 95% half-width),
 * min, max and the per-seed values (in the order of `seeds`). Raw units: counts and ns.
 */
export function formatCompareJson(table: CompareTable): string {
  const object = {
    scenario: table.scenario,
    axes: table.axes.map((a) => ({ field: a.field, values: a.values })),
    sets: table.sets,
    seeds: table.seeds,
    columns: table.columns.map((c) => ({
      label: c.label,
      point: c.point,
      seedsOk: okSeeds(c),
      failed: c.outcomes.flatMap((o, i) => (o.status === 'ok' ? [] : [{
        seed: table.seeds[i]!, stage: o.error?.stage ?? 'worker', message: o.error?.message ?? 'unknown error',
      }])),
    })),
    rows: table.rows.map((r) => ({
      figure: r.figure.id,
      title: r.figure.title,
      section: r.figure.section,
      unit: r.figure.unit,
      differs: r.differs,
      zero: r.zero,
      columns: r.cells.map((c) => ({ n: c.n, mean: c.mean, ci: c.ci, min: c.min, max: c.max, values: c.values })),
    })),
  };
  return `${JSON.stringify(object, null, 2)}\n`;
}

function csvCell(value: string | number | null | boolean): string {
  const text = value === null ? '' : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The CSV, long form: one line per figure × column (every figure, zero ones too), with the
 * axis fields' values, n, mean, the 95% interval (half-width and bounds), min, max, whether
 * the columns differ on that figure, then the value of every seed (`seed_<s>`). Raw units.
 */
export function formatCompareCsv(table: CompareTable): string {
  const header = ['figure', 'unit', 'column', ...table.axes.map((a) => a.field), 'n', 'mean', 'ci95_half_width', 'ci95_low', 'ci95_high',
    'min', 'max', 'differs', ...table.seeds.map((s) => `seed_${s}`)];
  const lines = table.rows.flatMap((r) => r.cells.map((c, i) => {
    const column = table.columns[i]!;
    return [
      r.figure.id, r.figure.unit, column.label, ...table.axes.map((a) => column.point[a.field] ?? null),
      c.n, c.mean, c.ci, c.mean !== null && c.ci !== null ? c.mean - c.ci : null, c.mean !== null && c.ci !== null ? c.mean + c.ci : null,
      c.min, c.max, r.differs, ...c.values,
    ].map(csvCell).join(',');
  }));
  return [header.map(csvCell).join(','), ...lines].join('\n') + '\n';
}
