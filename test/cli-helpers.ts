/** Running the CLI in-process as a user runs it, and reading `mmsim compare --format json` tables. */
import assert from 'node:assert/strict';
import { main } from '../src/cli.js';

export interface Captured { code: number; stdout: string; stderr: string }

/** `mmsim ARGS…` in this process: its exit status and what it wrote. */
export async function cli(...args: string[]): Promise<Captured> {
  let stdout = ''; let stderr = '';
  const code = await main(['node', 'mmsim', ...args], { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, stderrIsTTY: false });
  return { code, stdout, stderr };
}

interface JsonCompare { columns: { label: string }[]; rows: { figure: string; columns: { values: (number | null)[] }[] }[] }

/**
 * `mmsim compare SCENARIO --axis AXIS=v1,v2,… [EXTRA…]` with one seed: figure → value → the
 * value of that column's run (NaN where the figure does not apply).
 */
export async function compareTable(scenario: string, axis: string, values: readonly string[], ...extra: string[]): Promise<Map<string, Map<string, number>>> {
  const r = await cli('compare', scenario, '--axis', `${axis}=${values.join(',')}`, '--format', 'json', '-j', '2', '--quiet', ...extra);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as JsonCompare;
  const table = new Map<string, Map<string, number>>();
  for (const row of json.rows) table.set(row.figure, new Map(values.map((v, i) => [v, row.columns[i]!.values[0] ?? NaN])));
  return table;
}

/** A reader of one compare table: value(figure, column). */
export function reader(table: Map<string, Map<string, number>>): (figure: string, column: string) => number {
  return (figure, column) => table.get(figure)?.get(column) ?? NaN;
}
