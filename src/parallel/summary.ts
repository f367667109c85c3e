/**
 * The end of a sweep: one row per parameter combination with, for the key figures, the mean
 * and 95% confidence interval across its seeds — as a terminal table and as a CSV file.
 */
import { formatCount } from '../util/format.js';
import { SUMMARY_FIGURES, type PointRecord, type SummaryFigures } from './records.js';
import { estimate, type Estimate } from './stats.js';

export interface ComboSummary {
  point: Record<string, unknown>;
  ok: number;
  failed: number;
  figures: Partial<Record<keyof SummaryFigures, Estimate>>;
}

/** Groups records (any order) by parameter combination, in grid order. */
export function summarize(records: readonly PointRecord[]): ComboSummary[] {
  const sorted = [...records].sort((a, b) => a.index - b.index);
  const groups = new Map<string, { point: Record<string, unknown>; ok: PointRecord[]; failed: number }>();
  for (const r of sorted) {
    const key = JSON.stringify(r.point);
    let g = groups.get(key);
    if (!g) groups.set(key, g = { point: r.point, ok: [], failed: 0 });
    if (r.status === 'ok' && r.summary) g.ok.push(r);
    else g.failed++;
  }
  return [...groups.values()].map((g) => {
    const figures: ComboSummary['figures'] = {};
    for (const f of SUMMARY_FIGURES) {
      const e = estimate(g.ok.map((r) => r.summary![f] ?? NaN));
      if (e) figures[f] = e;
    }
    return { point: g.point, ok: g.ok.length, failed: g.failed, figures };
  });
}

/** The figures shown in the terminal table, with how each is displayed. */
const TABLE: { figure: keyof SummaryFigures; title: string; scale: number; unit: string }[] = [
  { figure: 'reclaim_efficiency', title: 'reclaim eff.', scale: 100, unit: '%' },
  { figure: 'pgmajfault', title: 'pgmajfault', scale: 1, unit: '' },
  { figure: 'pswpout', title: 'pswpout', scale: 1, unit: '' },
  { figure: 'allocstall', title: 'allocstall', scale: 1, unit: '' },
  { figure: 'mmsim_direct_reclaim_ns', title: 'direct reclaim', scale: 1e-6, unit: 'ms' },
];

/** A figure for a terminal table: whole numbers with thousands separators, else 3 significant digits or so. */
export function formatNumber(x: number): string {
  const a = Math.abs(x);
  if (a >= 100 || Number.isInteger(x)) return formatCount(x);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function formatEstimate(e: Estimate | undefined, scale: number, unit: string): string {
  if (!e) return '-';
  const mean = `${formatNumber(e.mean * scale)}${unit}`;
  return e.halfWidth === undefined ? mean : `${mean} ± ${formatNumber(e.halfWidth * scale)}`;
}

function paramNames(rows: readonly ComboSummary[]): string[] {
  return rows.length > 0 ? Object.keys(rows[0]!.point) : [];
}

function cellText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The terminal table: a column per swept parameter, seeds, then mean ± 95% CI half-width. */
export function formatSummaryTable(rows: readonly ComboSummary[]): string {
  const names = paramNames(rows);
  const header = [...names, 'seeds', ...TABLE.map((t) => t.title)];
  const body = rows.map((row) => [
    ...names.map((n) => cellText(row.point[n])),
    row.failed > 0 ? `${row.ok}/${row.ok + row.failed}` : String(row.ok),
    ...TABLE.map((t) => formatEstimate(row.figures[t.figure], t.scale, t.unit)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells
    .map((c, i) => (i < names.length ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
    .join('  ').trimEnd();
  return [line(header), ...body.map(line)].join('\n') + '\n';
}

function csvCell(value: unknown): string {
  const text = value === undefined ? '' : cellText(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The CSV: the swept parameters, seeds_ok, seeds_failed, then for every summary figure its
 * mean and 95% interval bounds (empty with fewer than two seeds, or no successful seed).
 */
export function formatSummaryCsv(rows: readonly ComboSummary[]): string {
  const names = paramNames(rows);
  const header = [...names, 'seeds_ok', 'seeds_failed',
    ...SUMMARY_FIGURES.flatMap((f) => [`${f}_mean`, `${f}_ci95_low`, `${f}_ci95_high`])];
  const lines = rows.map((row) => [
    ...names.map((n) => csvCell(row.point[n])),
    String(row.ok), String(row.failed),
    ...SUMMARY_FIGURES.flatMap((f) => {
      const e = row.figures[f];
      if (!e) return ['', '', ''];
      if (e.halfWidth === undefined) return [String(e.mean), '', ''];
      return [String(e.mean), String(e.mean - e.halfWidth), String(e.mean + e.halfWidth)];
    }),
  ].join(','));
  return [header.map(csvCell).join(','), ...lines].join('\n') + '\n';
}
