// Simulated BUG_ON/WARN_ON analogs and the invariant checker. A hit is a result, not a crash:
// it is counted (mmsim_bug) and recorded with the simulated time, pfn, task and the kernel
// function it models, for the host to list under `detectors`.
import { regionAlloc } from './mem';
import { nrPages, refcount, mapcount, flags, next, PG_lru, PG_buddy } from './page';
import { countEvent, count } from './vmstat';
import { C_MMSIM_BUG, C_NR_INACTIVE_ANON, DET_STRIDE, DK_REFCOUNT_NEGATIVE, DK_MAPCOUNT_EXCEEDS_REFCOUNT,
  DK_LRU_COUNT_MISMATCH, FN_FOLIO_PUT, FN_CHECK_LRU_COUNTS } from './generated/abi';
import { lruHead, folioLruList, NR_LRU_LISTS } from './lru';
import { curClock, currentTask } from './sched';

export const INV_OFF: i32 = 0;
export const INV_AT_SAMPLES: i32 = 1;
export const INV_EVERY_RECLAIM: i32 = 2;
export let invariantMode: i32 = INV_OFF;
export function setInvariantMode(m: i32): void { invariantMode = m; }

const DETECTOR_CAP: i32 = 4096;
export let detectorsBase: usize = 0;
export let detectorsLen: i32 = 0;
export let detectorsTotal: i64 = 0;

export function invariantsInit(): bool {
  detectorsBase = regionAlloc(<u64>DETECTOR_CAP * <u64>DET_STRIDE * 8);
  detectorsLen = 0; detectorsTotal = 0;
  return detectorsBase != 0;
}

/** Record one hit; the first DETECTOR_CAP are kept in full, all are counted. */
export function recordBug(kind: i32, pfn: u32, func: i32, value: f64): void {
  countEvent(C_MMSIM_BUG);
  detectorsTotal++;
  if (detectorsLen >= DETECTOR_CAP) return;
  const a = detectorsBase + <usize>(detectorsLen * DET_STRIDE * 8);
  store<f64>(a, <f64>kind);
  store<f64>(a, <f64>curClock, 8);
  store<f64>(a, pfn == 0xFFFF_FFFF ? -1.0 : <f64>pfn, 16);
  store<f64>(a, <f64>currentTask, 24);
  store<f64>(a, <f64>func, 32);
  store<f64>(a, value, 40);
  detectorsLen++;
}

/**
 * Check every frame (refcount ≥ 0, 0 ≤ mapcount ≤ refcount) and every LRU list (its length
 * equals its counter and each member has PG_lru and belongs there). Returns the hits found.
 */
export function checkInvariants(): i32 {
  const before = detectorsTotal;
  for (let p: u32 = 0; p < nrPages; p++) {
    const f = flags(p);
    if ((f & PG_buddy) != 0) continue;
    const r = refcount(p); const m = mapcount(p);
    if (r < 0) recordBug(DK_REFCOUNT_NEGATIVE, p, FN_FOLIO_PUT, <f64>r);
    else if (m < 0 || m > r) recordBug(DK_MAPCOUNT_EXCEEDS_REFCOUNT, p, FN_FOLIO_PUT, <f64>m);
  }
  for (let l = 0; l < NR_LRU_LISTS; l++) {
    const head = lruHead(l);
    let n: u64 = 0;
    let p = next(head);
    while (p != head) {
      if ((flags(p) & PG_lru) == 0 || folioLruList(p) != l) recordBug(DK_LRU_COUNT_MISMATCH, p, FN_CHECK_LRU_COUNTS, <f64>l);
      n++;
      if (n > <u64>nrPages) break;
      p = next(p);
    }
    if (n != count(C_NR_INACTIVE_ANON + l)) recordBug(DK_LRU_COUNT_MISMATCH, 0xFFFF_FFFF, FN_CHECK_LRU_COUNTS, <f64>(<i64>n - <i64>count(C_NR_INACTIVE_ANON + l)));
  }
  return <i32>(detectorsTotal - before);
}
