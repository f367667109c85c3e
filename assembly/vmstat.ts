// vmstat: the counters (one u64 per item, names and order from src/abi/counters.ts through
// generated/abi.ts) and the sampled time series the host reads back as typed-array views.
import { regionAlloc } from './mem';
import { NR_COUNTERS } from './generated/abi';

export let countersBase: usize = 0;
export let seriesBase: usize = 0;
export let seriesRows: i32 = 0;
export let seriesCap: i32 = 0;

export function vmstatInit(maxSamples: i32): bool {
  countersBase = regionAlloc(<u64>NR_COUNTERS * 8);
  seriesCap = maxSamples;
  // Row = time (ns) then every counter, all f64.
  seriesBase = regionAlloc(<u64>maxSamples * <u64>(NR_COUNTERS + 1) * 8);
  seriesRows = 0;
  return countersBase != 0 && seriesBase != 0;
}

@inline export function count(c: i32): u64 { return load<u64>(countersBase + ((<usize>c) << 3)); }
@inline export function countEvent(c: i32): void {
  const a = countersBase + ((<usize>c) << 3);
  store<u64>(a, load<u64>(a) + 1);
}
@inline export function countAdd(c: i32, n: i64): void {
  const a = countersBase + ((<usize>c) << 3);
  store<u64>(a, load<u64>(a) + <u64>n);
}
@inline export function countSet(c: i32, v: u64): void { store<u64>(countersBase + ((<usize>c) << 3), v); }

/** Append one row of the time series; silently stops when the preallocated rows are used up. */
export function seriesSample(nowNs: i64): void {
  if (seriesRows >= seriesCap) return;
  let a = seriesBase + <usize>seriesRows * <usize>(NR_COUNTERS + 1) * 8;
  store<f64>(a, <f64>nowNs);
  for (let c = 0; c < NR_COUNTERS; c++) {
    a += 8;
    store<f64>(a, <f64>count(c));
  }
  seriesRows++;
}
