/**
 * vmstat.txt: the counters in /proc/vmstat's format, one `name value` per line, so tools that
 * read /proc/vmstat (and people who know it) read this unchanged. Kernel counters come first in
 * the order of src/abi/counters.ts; simulator-only `mmsim_` counters follow.
 */
import { COUNTERS } from '../abi/counters.js';
import type { RunResult } from './result.js';

const SIMULATOR_PREFIX = 'mmsim_';

export function formatVmstat(result: RunResult): string {
  const kernel = COUNTERS.filter((c) => !c.name.startsWith(SIMULATOR_PREFIX));
  const simulator = COUNTERS.filter((c) => c.name.startsWith(SIMULATOR_PREFIX));
  return [...kernel, ...simulator]
    .map((c) => `${c.name} ${formatCounterValue(result.counters[c.name] ?? 0)}\n`)
    .join('');
}

/** Counters are whole numbers; print them without exponents or fractions as the kernel does. */
function formatCounterValue(value: number): string {
  return Number.isSafeInteger(value) ? String(value) : BigInt(Math.round(value)).toString();
}
