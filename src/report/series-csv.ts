/**
 * series.csv: the sampled time series, one header line (columns[0] is time_s) and one line per
 * sample, for spreadsheets and plotting tools.
 */
import type { RunResult } from './result.js';

export function formatSeriesCsv(series: RunResult['series']): string {
  const lines = [series.columns.map(csvField).join(',')];
  for (const row of series.rows) lines.push(row.map(formatCell).join(','));
  return `${lines.join('\n')}\n`;
}

/** Quotes a header field only when CSV requires it (RFC 4180). */
function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Numbers as JavaScript prints them (shortest round-trip form); a missing value is empty. */
function formatCell(value: number): string {
  return Number.isFinite(value) ? String(value) : '';
}
