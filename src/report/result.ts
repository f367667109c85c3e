/**
 * What one simulation run produces; the engine (src/engine) builds it, the report modules turn
 * it into files and a terminal summary. Everything but `wall` is a pure function of
 * (scenario, seed).
 */

/** A simulated BUG_ON/WARN_ON analog that fired; `func` is the kernel function it models. */
export interface DetectorHit {
  kind: string;
  timeNs: number;
  pfn: number;
  task: number;
  func: string;
  value: number;
}

/** A zone's size and watermarks in pages, as /proc/zoneinfo shows them. */
export interface ZoneInfo {
  name: string;
  managed: number;
  min: number;
  low: number;
  high: number;
  lowmemReserve: number[];
}

export interface RunError {
  message: string;
  simulatedNs: number;
  lastEvent: string;
}

export interface RunResult {
  scenario: string;
  seed: number;
  simulatedSeconds: number;
  /** Every counter of src/abi/counters.ts, in that order. */
  counters: Record<string, number>;
  /** The first hits recorded; detectorsTotal counts all of them. */
  detectors: DetectorHit[];
  detectorsTotal: number;
  zones: ZoneInfo[];
  /** columns[0] is 'time_s'; one row per sample. */
  series: { columns: string[]; rows: number[][] };
  status: 'ok' | 'error';
  error?: RunError;
  /** Host wall-clock figures: shown in the summary, never written to results.json. */
  wall: { seconds: number; accesses: number };
}
