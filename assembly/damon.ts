// DAMON, the data access monitor (mm/damon/core.c, vaddr.c, ops-common.c; as v6.1 has it,
// without DAMOS schemes): a kdamond kthread that samples each monitoring region's access at one
// random page per sample interval — damon_va_prepare_access_checks mkolds it (its PTE's young
// bit and, through mmu_notifier_clear_young, the secondary MMUs'; PG_young keeps the reference
// for reclaim, PG_idle marks it), damon_va_check_accesses then asks whether it was used since
// (pte_young, !PG_idle, or mmu_notifier_test_young) — and at each aggregation interval merges
// adjacent regions of similar access counts, resets the counts and splits regions at random
// points, so that the regions adapt to the access pattern between min_nr_regions and
// max_nr_regions. The vaddr target's regions are the three that cover its mappings around the
// two biggest gaps (updated each update interval); a target with a VMA named is monitored
// over that VMA alone (fvaddr). Regions are in pages (DAMON_MIN_REGION = PAGE_SIZE).
//
// What the kernel hands to the user at each aggregation (the after_aggregation callback:
// damo's records) is kept as the last snapshot and as two gauges: the regions, and the pages of
// regions accessed in that aggregation (a working-set size).
import { cfg, procCfg } from './config';
import { G_DAMON_ON, G_DAMON_SAMPLE_NS, G_DAMON_AGGR_NS, G_DAMON_UPDATE_NS, G_DAMON_MIN_NR_REGIONS, G_DAMON_MAX_NR_REGIONS,
  G_DAMON_START_NS, G_N_PROCS, G_SEED, G_COST_SCAN_PAGE, PROC_DAMON_TARGET, C_MMSIM_DAMON_CHECKS, C_MMSIM_DAMON_CHECKS_YOUNG,
  C_MMSIM_DAMON_AGGREGATIONS, C_MMSIM_DAMON_NR_REGIONS, C_MMSIM_DAMON_WSS_PAGES } from './generated/abi';
import { regionAlloc } from './mem';
import { testFlag, setFlag, PG_lru, PG_idle, PG_young } from './page';
import { pteOffset, entryPfn, _PAGE_PRESENT, _PAGE_SPECIAL, _PAGE_ACCESSED } from './pgtable';
import { vmaStart, vmaEnd, vmaDetached, mmPgd, mmDead, mmFirstVma, mmNrVmas } from './mm';
import { mmuNotifierClearYoung, mmuNotifierTestYoung } from './mmu_notifier';
import { nextBelow, randomSeed } from './random';
import { countEvent, countSet } from './vmstat';
import { schedule } from './events';

// a region: i64 fields
const R_START = 0; const R_END = 1; const R_NR = 2; const R_LAST = 3; const R_AGE = 4; const R_SAMPLE = 5;
const R_FIELDS = 6;
const R_BYTES: usize = R_FIELDS * 8;
// a snapshot record: target, start, end, nr_accesses, age (f64 each, for the host)
export const SNAP_FIELDS: i32 = 5;

let on: bool = false;
let nTargets: i32 = 0;
/** per target (i32): its mm (a process), and the VMA of an fvaddr target (-1: vaddr) */
let targetMm: usize = 0;
let targetVma: usize = 0;
/** per target: its regions (cap records each) and how many */
let regions: usize = 0;
let nRegions: usize = 0;
let scratch: usize = 0;
let cap: i32 = 0;
let snapshot: usize = 0;
let snapLen: i32 = 0;
let sampleNs: i64 = 0; let aggrNs: i64 = 0; let updateNs: i64 = 0;
let minNr: i64 = 0; let maxNr: i64 = 0;
let lastAggregation: i64 = 0; let lastOpsUpdate: i64 = 0;
let szLimit: i64 = 1;
/** kdamond_split_regions' static last_nr_regions */
let lastNrRegions: i64 = 0;
/** __damon_va_check_access's statics: the last page checked and its answer */
let lastAddr: i64 = -1; let lastAccessed: bool = false;
let stream: i32 = 0;
/** before the first sample: ops.init has not run */
let started: bool = false;
export let kdamondEntity: i32 = -1;

@inline function rAddr(t: i32, i: i32): usize { return regions + (<usize>(t * cap + i)) * R_BYTES; }
@inline function rf(a: usize, f: i32): i64 { return load<i64>(a + (<usize>f << 3)); }
@inline function setRf(a: usize, f: i32, v: i64): void { store<i64>(a + (<usize>f << 3), v); }
@inline function nrOf(t: i32): i32 { return load<i32>(nRegions + (<usize>t << 2)); }
@inline function setNrOf(t: i32, n: i32): void { store<i32>(nRegions + (<usize>t << 2), n); }
@inline function mmOf(t: i32): i32 { return load<i32>(targetMm + (<usize>t << 2)); }
@inline function vmaOf(t: i32): i32 { return load<i32>(targetVma + (<usize>t << 2)); }

/** The targets (processes with a damon target field ≥ -1), the region pools; `entity` is kdamond's. */
export function damonInit(entity: i32, randomStream: i32): bool {
  on = cfg(G_DAMON_ON) != 0;
  kdamondEntity = entity;
  if (!on) return true;
  const nProcs = <i32>cfg(G_N_PROCS);
  targetMm = regionAlloc(<u64>(nProcs + 1) * 4);
  targetVma = regionAlloc(<u64>(nProcs + 1) * 4);
  nRegions = regionAlloc(<u64>(nProcs + 1) * 4);
  if (targetMm == 0 || targetVma == 0 || nRegions == 0) return false;
  nTargets = 0;
  for (let p = 0; p < nProcs; p++) {
    const v = <i32>procCfg(p, PROC_DAMON_TARGET);
    if (v < -1) continue;
    store<i32>(targetMm + (<usize>nTargets << 2), p);
    store<i32>(targetVma + (<usize>nTargets << 2), v);
    nTargets++;
  }
  sampleNs = <i64>cfg(G_DAMON_SAMPLE_NS); aggrNs = <i64>cfg(G_DAMON_AGGR_NS); updateNs = <i64>cfg(G_DAMON_UPDATE_NS);
  minNr = <i64>cfg(G_DAMON_MIN_NR_REGIONS); maxNr = <i64>cfg(G_DAMON_MAX_NR_REGIONS);
  // a target's regions stay at most max_nr_regions after a split; set_regions adds a few
  cap = <i32>maxNr * 2 + 16;
  regions = regionAlloc(<u64>(nTargets + 1) * <u64>cap * R_BYTES);
  scratch = regionAlloc(<u64>cap * R_BYTES);
  snapshot = regionAlloc(<u64>(nTargets + 1) * <u64>cap * SNAP_FIELDS * 8);
  if (regions == 0 || scratch == 0 || snapshot == 0) return false;
  for (let t = 0; t < nTargets; t++) setNrOf(t, 0);
  stream = randomStream;
  randomSeed(stream, <u64>cfg(G_SEED) ^ 0x6461_6D6F_6E5F_7661);
  started = false; lastNrRegions = 0; lastAddr = -1; lastAccessed = false; snapLen = 0;
  schedule(entity, <i64>cfg(G_DAMON_START_NS));
  return true;
}

/** damon_rand(l, r): [l, r) */
@inline function damonRand(l: i64, r: i64): i64 { return r <= l ? l : l + <i64>nextBelow(stream, <u64>(r - l)); }

// --- the regions: ops.init, ops.update -----------------------------------------------------

/**
 * __damon_va_three_regions: the mappings of mm `m` cut at its two biggest gaps, into `out`
 * (three [start, end) pairs). False without two gaps (fewer than three VMAs).
 */
function threeRegions(m: i32, out: usize): bool {
  const first = mmFirstVma(m); const n = mmNrVmas(m);
  let start: i64 = -1; let prevEnd: i64 = -1;
  let g1s: i64 = 0; let g1e: i64 = 0; let g2s: i64 = 0; let g2e: i64 = 0;
  for (let v = first; v < first + n; v++) {
    if (vmaDetached(v)) continue;
    if (prevEnd < 0) { start = vmaStart(v); prevEnd = vmaEnd(v); continue; }
    const gap = vmaStart(v) - prevEnd;
    if (gap > g1e - g1s) { g2s = g1s; g2e = g1e; g1s = prevEnd; g1e = vmaStart(v); }
    else if (gap > g2e - g2s) { g2s = prevEnd; g2e = vmaStart(v); }
    prevEnd = vmaEnd(v);
  }
  if (g1e - g1s == 0 || g2e - g2s == 0) return false;
  if (g1s > g2s) { let x = g1s; g1s = g2s; g2s = x; x = g1e; g1e = g2e; g2e = x; }
  store<i64>(out, start); store<i64>(out, g1s, 8);
  store<i64>(out, g1e, 16); store<i64>(out, g2s, 24);
  store<i64>(out, g2e, 32); store<i64>(out, prevEnd, 40);
  return true;
}

/** The ranges of target `t` now into `out`: its three regions, or its VMA (fvaddr). How many (0: none). */
function targetRanges(t: i32, out: usize): i32 {
  const v = vmaOf(t);
  if (v >= 0) { store<i64>(out, vmaStart(v)); store<i64>(out, vmaEnd(v), 8); return 1; }
  return threeRegions(mmOf(t), out) ? 3 : 0;
}

let ranges: usize = 0;

/** __damon_va_init_regions: the ranges, each split evenly into pieces of total/min_nr_regions. */
function initRegions(t: i32): void {
  if (ranges == 0) ranges = regionAlloc(48);
  const nr = targetRanges(t, ranges);
  let total: i64 = 0;
  for (let i = 0; i < nr; i++) total += load<i64>(ranges + <usize>(i * 16) + 8) - load<i64>(ranges + <usize>(i * 16));
  let sz = minNr > 0 ? total / minNr : total;
  if (sz < 1) sz = 1;
  let n = 0;
  for (let i = 0; i < nr; i++) {
    const s = load<i64>(ranges + <usize>(i * 16)); const e = load<i64>(ranges + <usize>(i * 16) + 8);
    // damon_va_evenly_split_region: pieces of sz_piece, the last one takes the rest
    const pieces = (e - s) / sz;
    const piece = pieces > 0 ? (e - s) / pieces : e - s;
    let at = s;
    while (at < e && n < cap) {
      const end = at + piece * 2 > e ? e : at + piece;
      newRegion(rAddr(t, n), at, end);
      n++;
      at = end;
    }
  }
  setNrOf(t, n);
}

@inline function newRegion(a: usize, s: i64, e: i64): void {
  setRf(a, R_START, s); setRf(a, R_END, e); setRf(a, R_NR, 0); setRf(a, R_LAST, 0); setRf(a, R_AGE, 0); setRf(a, R_SAMPLE, s);
}

/**
 * damon_set_regions for target `t` (ops.update of vaddr): regions that meet none of the ranges
 * go; in each range the regions meeting it are stretched to its ends and the holes between
 * them filled; a range no region meets gets a new one.
 */
function setRegions(t: i32, nr: i32): void {
  let n = 0;
  const old = nrOf(t);
  for (let k = 0; k < nr; k++) {
    const s = load<i64>(ranges + <usize>(k * 16)); const e = load<i64>(ranges + <usize>(k * 16) + 8);
    const from = n;
    for (let i = 0; i < old; i++) {
      const a = rAddr(t, i);
      if (rf(a, R_END) <= s || rf(a, R_START) >= e) continue;
      const b = scratch + <usize>n * R_BYTES;
      memory.copy(b, a, R_BYTES);
      // damon_fill_regions_holes: the previous one reaches this one
      if (n > from) setRf(scratch + <usize>(n - 1) * R_BYTES, R_END, rf(b, R_START));
      n++;
    }
    if (n == from) { newRegion(scratch + <usize>n * R_BYTES, s, e); n++; }
    else {
      setRf(scratch + <usize>from * R_BYTES, R_START, s);
      setRf(scratch + <usize>(n - 1) * R_BYTES, R_END, e);
    }
  }
  memory.copy(rAddr(t, 0), scratch, <usize>n * R_BYTES);
  setNrOf(t, n);
}

/** damon_region_sz_limit: the regions' total size over min_nr_regions, at least a page. */
function regionSzLimit(): i64 {
  let sz: i64 = 0;
  for (let t = 0; t < nTargets; t++) for (let i = 0; i < nrOf(t); i++) sz += rf(rAddr(t, i), R_END) - rf(rAddr(t, i), R_START);
  if (minNr > 0) sz /= minNr;
  return sz < 1 ? 1 : sz;
}

// --- access checks -------------------------------------------------------------------------

/** damon_get_folio through mm `m`'s PTE for `vpn`: the pfn of an LRU folio mapped there, or -1 (the PTE's address in ptePtr). */
let ptePtr: usize = 0;
function lruFolioAt(m: i32, vpn: i64): i64 {
  const pte = pteOffset(mmPgd(m), <u64>vpn);
  ptePtr = pte;
  if (pte == 0) return -1;
  const e = load<u64>(pte);
  if ((e & _PAGE_PRESENT) == 0 || (e & _PAGE_SPECIAL) != 0) return -1;
  const p = entryPfn(e);
  return testFlag(p, PG_lru) ? <i64>p : -1;
}

/** damon_va_mkold → damon_ptep_mkold: the page at `vpn` made old, for the next check. */
function mkold(m: i32, vpn: i64): void {
  const p = lruFolioAt(m, vpn);
  if (p < 0) return;
  let young = false;
  const e = load<u64>(ptePtr);
  if ((e & _PAGE_ACCESSED) != 0) { store<u64>(ptePtr, e & ~_PAGE_ACCESSED); young = true; }
  if (mmuNotifierClearYoung(m, vpn)) young = true;
  if (young) setFlag(<u32>p, PG_young);
  setFlag(<u32>p, PG_idle);
}

/** damon_va_young: was the page at `vpn` used since its mkold? */
function pageYoung(m: i32, vpn: i64): bool {
  const p = lruFolioAt(m, vpn);
  if (p < 0) return false;
  return (load<u64>(ptePtr) & _PAGE_ACCESSED) != 0 || !testFlag(<u32>p, PG_idle) || mmuNotifierTestYoung(m, vpn);
}

/** damon_va_prepare_access_checks: a random page of each region, made old. */
function prepareAccessChecks(): void {
  for (let t = 0; t < nTargets; t++) {
    const m = mmOf(t);
    if (mmDead(m)) continue;
    for (let i = 0; i < nrOf(t); i++) {
      const a = rAddr(t, i);
      const vpn = damonRand(rf(a, R_START), rf(a, R_END));
      setRf(a, R_SAMPLE, vpn);
      mkold(m, vpn);
    }
  }
}

/** damon_va_check_accesses: each region's sampled page checked (the last page's answer reused); the highest count. */
function checkAccesses(): i64 {
  let max: i64 = 0;
  for (let t = 0; t < nTargets; t++) {
    const m = mmOf(t);
    const dead = mmDead(m);
    let sameTarget = false;
    for (let i = 0; i < nrOf(t); i++) {
      const a = rAddr(t, i);
      const vpn = rf(a, R_SAMPLE);
      let accessed = false;
      if (!dead) {
        if (sameTarget && vpn == lastAddr) accessed = lastAccessed;
        else { accessed = pageYoung(m, vpn); lastAddr = vpn; lastAccessed = accessed; }
        countEvent(C_MMSIM_DAMON_CHECKS);
        if (accessed) countEvent(C_MMSIM_DAMON_CHECKS_YOUNG);
      }
      if (accessed) setRf(a, R_NR, rf(a, R_NR) + 1);
      if (rf(a, R_NR) > max) max = rf(a, R_NR);
      sameTarget = true;
    }
  }
  return max;
}

// --- aggregation: merge, reset, split ----------------------------------------------------------

@inline function absDiff(a: i64, b: i64): i64 { return a > b ? a - b : b - a; }

/** damon_merge_regions_of + damon_merge_two_regions, in place. */
function mergeRegionsOf(t: i32, thres: i64, limit: i64): void {
  let n = 0;
  const old = nrOf(t);
  for (let i = 0; i < old; i++) {
    const r = rAddr(t, i);
    if (absDiff(rf(r, R_NR), rf(r, R_LAST)) > thres) setRf(r, R_AGE, 0); else setRf(r, R_AGE, rf(r, R_AGE) + 1);
    if (n > 0) {
      const l = rAddr(t, n - 1);
      const szL = rf(l, R_END) - rf(l, R_START); const szR = rf(r, R_END) - rf(r, R_START);
      if (rf(l, R_END) == rf(r, R_START) && absDiff(rf(l, R_NR), rf(r, R_NR)) <= thres && szL + szR <= limit) {
        setRf(l, R_NR, (rf(l, R_NR) * szL + rf(r, R_NR) * szR) / (szL + szR));
        setRf(l, R_AGE, (rf(l, R_AGE) * szL + rf(r, R_AGE) * szR) / (szL + szR));
        setRf(l, R_END, rf(r, R_END));
        continue;
      }
    }
    if (n != i) memory.copy(rAddr(t, n), r, R_BYTES);
    n++;
  }
  setNrOf(t, n);
}

/**
 * damon_split_regions_of: each region cut nr_subs - 1 times, each time at 10-90 % of its left
 * part (damon_split_region_at: the new region takes the right part and the region's age and
 * last count).
 */
function splitRegionsOf(t: i32, nrSubs: i32): void {
  let n = 0;
  const old = nrOf(t);
  for (let i = 0; i < old; i++) {
    const a = rAddr(t, i);
    const s = rf(a, R_START); const e = rf(a, R_END);
    // the cut points, each left of the one before
    let c0: i64 = 0; let c1: i64 = 0; let cuts = 0;
    let sz = e - s;
    for (let k = 0; k < nrSubs - 1 && sz > 2; k++) {
      const sub = damonRand(1, 10) * sz / 10;
      if (sub == 0 || sub >= sz) continue;
      if (cuts == 0) c0 = s + sub; else c1 = s + sub;
      cuts++;
      sz = sub;
    }
    if (n + cuts + 1 > cap) cuts = 0;
    // the pieces in address order: [s, c1), [c1, c0), [c0, e) as there are cuts
    let from = s;
    for (let k = cuts; k >= 0; k--) {
      const to = k == 0 ? e : (k == 2 ? c1 : c0);
      const b = scratch + <usize>n * R_BYTES;
      memory.copy(b, a, R_BYTES);
      setRf(b, R_START, from); setRf(b, R_END, to);
      from = to; n++;
    }
  }
  memory.copy(rAddr(t, 0), scratch, <usize>n * R_BYTES);
  setNrOf(t, n);
}

function totalRegions(): i64 { let n: i64 = 0; for (let t = 0; t < nTargets; t++) n += <i64>nrOf(t); return n; }

/** kdamond_split_regions: only while at most half of max_nr_regions; in three if nothing changed since last time. */
function splitRegions(): void {
  const nr = totalRegions();
  if (nr > maxNr / 2) return;
  let subs = 2;
  if (lastNrRegions == nr && nr < maxNr / 3) subs = 3;
  for (let t = 0; t < nTargets; t++) splitRegionsOf(t, subs);
  lastNrRegions = nr;
}

/** after_aggregation: the regions as the user reads them now, and the working set they show. */
function recordAggregation(): void {
  let k = 0; let wss: i64 = 0;
  for (let t = 0; t < nTargets; t++) {
    for (let i = 0; i < nrOf(t); i++) {
      const a = rAddr(t, i);
      const b = snapshot + <usize>k * SNAP_FIELDS * 8;
      store<f64>(b, <f64>mmOf(t)); store<f64>(b, <f64>rf(a, R_START), 8); store<f64>(b, <f64>rf(a, R_END), 16);
      store<f64>(b, <f64>rf(a, R_NR), 24); store<f64>(b, <f64>rf(a, R_AGE), 32);
      if (rf(a, R_NR) > 0) wss += rf(a, R_END) - rf(a, R_START);
      k++;
    }
  }
  snapLen = k;
  countSet(C_MMSIM_DAMON_WSS_PAGES, <u64>wss);
  countEvent(C_MMSIM_DAMON_AGGREGATIONS);
}

/** kdamond_reset_aggregated */
function resetAggregated(): void {
  for (let t = 0; t < nTargets; t++) for (let i = 0; i < nrOf(t); i++) { const a = rAddr(t, i); setRf(a, R_LAST, rf(a, R_NR)); setRf(a, R_NR, 0); }
}

/** kdamond_need_stop: every target's process is gone (damon_va_target_valid). */
function needStop(): bool {
  for (let t = 0; t < nTargets; t++) if (!mmDead(mmOf(t))) return false;
  return true;
}

/**
 * One wake-up of kdamond at `now` (kdamond_fn's loop): the checks of the sample that ends
 * now, an aggregation and an update when their intervals have passed, then the next sample's
 * mkolds and the sleep of a sample interval. Its CPU time: a page-table walk per region, twice.
 */
export function kdamondRun(now: i64): void {
  if (!on || nTargets == 0) return;
  const walk = <i64>cfg(G_COST_SCAN_PAGE);
  if (!started) {
    // ops.init (damon_va_init), then the loop's first prepare
    for (let t = 0; t < nTargets; t++) initRegions(t);
    szLimit = regionSzLimit();
    lastAggregation = now; lastOpsUpdate = now;
    started = true;
  } else {
    if (needStop()) return;
    const max = checkAccesses();
    if (now - lastAggregation >= aggrNs) {
      lastAggregation = now;
      for (let t = 0; t < nTargets; t++) mergeRegionsOf(t, max / 10, szLimit);
      recordAggregation();
      resetAggregated();
      splitRegions();
    }
    if (now - lastOpsUpdate >= updateNs) {
      lastOpsUpdate = now;
      for (let t = 0; t < nTargets; t++) {
        if (vmaOf(t) >= 0) continue;
        const nr = targetRanges(t, ranges);
        if (nr > 0) setRegions(t, nr);
      }
      szLimit = regionSzLimit();
    }
  }
  countSet(C_MMSIM_DAMON_NR_REGIONS, <u64>totalRegions());
  prepareAccessChecks();
  schedule(kdamondEntity, now + 2 * walk * totalRegions() + sampleNs);
}

/** The last aggregation's regions for the host: records of SNAP_FIELDS f64. */
export function damonSnapshotPtr(): usize { return snapshot; }
export function damonSnapshotLen(): i32 { return snapLen; }
