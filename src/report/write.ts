/**
 * The output directory of a run: vmstat.txt, results.json and series.csv, written together or
 * not at all.
 */
import { writeDirectoryAtomically } from '../util/atomic-dir.js';
import type { RunResult } from './result.js';
import { formatResultsJson } from './results-json.js';
import { formatSeriesCsv } from './series-csv.js';
import { formatVmstat } from './vmstat.js';

export const OUTPUT_FILES = ['vmstat.txt', 'results.json', 'series.csv'] as const;

/** How `run` names its output location in messages. */
export const RUN_OUT_CHECK = { flag: '--out', kind: 'directory', ours: OUTPUT_FILES, example: '--out out/run1' } as const;

/** Writes the run's output files into `dir` (created if needed) atomically. */
export async function writeRunOutputs(dir: string, result: RunResult): Promise<void> {
  await writeDirectoryAtomically(dir, [
    { name: 'vmstat.txt', content: () => formatVmstat(result) },
    { name: 'results.json', content: () => formatResultsJson(result) },
    { name: 'series.csv', content: () => formatSeriesCsv(result.series) },
  ], RUN_OUT_CHECK);
}
