// Page reclaim (mm/vmscan.c, classic LRU): kswapd's balance_pgdat, direct reclaim's
// do_try_to_free_pages, and the shared shrink_node → shrink_lruvec → shrink_list →
// shrink_active_list / shrink_inactive_list → shrink_folio_list path, with get_scan_count's
// anon/file balance (swappiness and lru_note_cost costs, v5.9+) and the kernel's per-folio
// decisions.
//
// Reclaim takes simulated time and other actors run meanwhile, so a pass is a sequence of steps
// over its own scan_control record (scan_control.ts): one step is one SWAP_CLUSTER_MAX batch —
// an inactive batch is isolated in one step and put through shrink_folio_list in the next, so
// it stays isolated while others run — or one piece of bookkeeping. After each step the driver
// (kswapd's event, or the allocating task's slow path) yields if another event is due. Where
// the kernel sleeps (reclaim_throttle, too_many_isolated), the step puts the reclaimer on a
// wait queue and returns STEP_SLEEP; the same record resumes the pass when it runs again.
import { RECLAIM_HIST_BUCKETS } from './generated/abi';
import { flags, setFlags, testFlag, setFlag, clearFlag, testClearFlag, refcount, setRefcount, prev, next, folioNrPages,
  listDel, listAdd, listAddTail, listEmpty, PG_lru, PG_active, PG_referenced, PG_dirty, PG_writeback,
  PG_reclaim, PG_swapbacked, PG_swapcache, PG_locked, PG_mlocked, PG_workingset, PG_private, mapping } from './page';
import { pageZone, populatedZone, zoneLruSize, zoneLruAdd, wmark, zoneWatermarkOk, zoneFree, freePages, zoneReclaimablePages, freeFolioFrames,
  MAX_NR_ZONES, WMARK_HIGH, WMARK_MIN, ZONE_NORMAL, intSqrt, reclaimZoneidx, folioPut } from './alloc';
import { lruHead, lruSize, lruAdd, folioEvictable, lruNoteCost, anonCost, fileCost, lruvecDelFolio, folioAddLru,
  LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE, L_ACTIVE, L_INACTIVE,
  L_RET, L_SKIPPED, lruAddDrain } from './lru';
import { folioReferenced, tryToUnmap, folioMapped, rmapWalkAbandon, rmapPrefetchList, rmapWalkSleeping } from './rmap';
import { pinKeepBeforeSwap, pinTryToUnmap, pinActivateAfterUnmap, pinWaitForUnmap, UNMAP_REFUSED, UNMAP_WAIT, pinTruth } from './pin_policy';
import { mmuNotifierAbandon } from './mmu_notifier';
import { folioHeldAcrossSleep, folioLockReleased } from './locking';
import { VM_LOCKED, VM_EXEC } from './mm';
import { addToSwap, nrSwapFree, totalSwapPages, vmSwapFull, folioFreeSwap, deleteFromSwapCache, swapWritepage, swapPlugSubmit, swapQueueRoom } from './swap';
import { workingsetEviction, workingsetAgeNonresident } from './workingset';
import { filemapRemoveFolio, filemapReleaseFolio, folioUnlock } from './filemap';
import { folioClearDirtyForIo, CLEARED_FOR_IO } from './writeback';
import { wakeupFlusherThreads } from './flusher';
import { countEvent, countAdd, count, countSet } from './vmstat';
import { cfg } from './config';
import { C_MMSIM_RECLAIM_PINNED_SKIPPED, C_MMSIM_UNMAP_SKIPPED_PINNED, C_MMSIM_UNMAP_PINNED_PAGES, C_MMSIM_RECLAIM_PINNED_KEPT,
  C_MMSIM_THP_CANNOT_SPLIT, C_THP_SWPOUT_FALLBACK } from './generated/abi';
import { canSplitFolio, splitFolioToList } from './huge_memory';
import { G_SWAPPINESS, G_LAPTOP_MODE, G_COST_SCAN_PAGE, G_COST_FREE_PAGE,
  C_NR_ISOLATED_ANON, C_NR_ISOLATED_FILE, C_PGSCAN_KSWAPD, C_PGSCAN_DIRECT, C_PGSCAN_ANON, C_PGSCAN_FILE,
  C_PGSTEAL_KSWAPD, C_PGSTEAL_DIRECT, C_PGSTEAL_ANON, C_PGSTEAL_FILE, C_PGACTIVATE, C_PGDEACTIVATE, C_PGREFILL,
  C_NR_VMSCAN_IMMEDIATE_RECLAIM, C_MMSIM_SWAP_FULL_ACTIVATIONS,
  C_MMSIM_SHRINK_NODE_CALLS, C_PAGEOUTRUN, C_KSWAPD_LOW_WMARK_HIT_QUICKLY, C_KSWAPD_HIGH_WMARK_HIT_QUICKLY,
  C_MMSIM_KSWAPD_WAKEUPS, C_MMSIM_KSWAPD_FAILURES, C_MMSIM_KSWAPD_NS, C_MMSIM_DIRECT_RECLAIM_NS,
  C_MMSIM_KSWAPD_THROTTLED_NS, C_MMSIM_KSWAPD_THROTTLES, C_MMSIM_RECLAIM_THROTTLE_SKIPPED, C_NR_DIRTY, C_NR_WRITEBACK, C_ALLOCSTALL_DMA,
  C_NR_FREE_PAGES, C_NR_INACTIVE_ANON, C_NR_INACTIVE_FILE, C_WORKINGSET_ACTIVATE_ANON, C_WORKINGSET_ACTIVATE_FILE,
  C_MMSIM_RECLAIM_THROTTLE_CONGESTED, C_MMSIM_RECLAIM_THROTTLE_NOPROGRESS, C_MMSIM_RECLAIM_THROTTLE_ISOLATED,
  C_MMSIM_RECLAIM_THROTTLED_NS, C_MMSIM_DIRECT_RECLAIM_CALLS, C_MMSIM_DIRECT_RECLAIM_MAX_NS, C_MMSIM_PEAK_ISOLATED } from './generated/abi';
import { schedule } from './events';
import { KSWAPD_ENTITY, curClock, setCurClock, chargeNs, jiffyNs, hz, checkAfterReclaim } from './sched';
import { ScanControl, NO_FOLIO, scNr, scSetNr, scTarget, scSetTarget, kswapdScanControl } from './scan_control';
import { sleepOn, sleepUntil, finishWait, wakeUpAll, waitqueueActive, waitqueueLen, mustYield, yieldAt, clearStop,
  WQ_RECLAIM_WRITEBACK, WQ_RECLAIM_ISOLATED, WQ_RECLAIM_NOPROGRESS, WQ_RECLAIM_CONGESTED, WQ_PFMEMALLOC } from './wait';
import { regionAlloc } from './mem';
import { lruvecPageState } from './memcontrol';

export const DEF_PRIORITY: i32 = 12;
export const SWAP_CLUSTER_MAX: u64 = 32;
const MAX_RECLAIM_RETRIES: i32 = 16;

/** What a reclaim step did: work (the driver may yield), went to sleep, or finished. */
export const STEP_MORE: i32 = 0;
export const STEP_SLEEP: i32 = 1;
export const STEP_DONE: i32 = 2;

// shrink_node stages
const SN_IDLE: i32 = 0;
const SN_LRUVEC: i32 = 1;          // shrink_lruvec's rounds
const SN_END: i32 = 2;             // the congestion bookkeeping and throttles
const SN_KSWAPD_WOKEN: i32 = 3;    // kswapd back from reclaim_throttle(WRITEBACK)
const SN_DIRECT_WOKEN: i32 = 4;    // a direct reclaimer back from reclaim_throttle(CONGESTED)
// an inactive-list batch of shrink_lruvec
const BATCH_NONE: i32 = 0;
const BATCH_ISOLATE: i32 = 1;      // to isolate (again after too_many_isolated's sleep)
const BATCH_DECIDE: i32 = 2;       // isolated onto sc.hold, shrink_folio_list next
const BATCH_SUBMIT: i32 = 3;       // decided: its swap writes wait for a device tag
// do_try_to_free_pages stages
const DR_IDLE: i32 = 0;
const DR_PASS: i32 = 1;
const DR_PRIORITY: i32 = 2;
const DR_NODE: i32 = 3;
const DR_PRIORITY_END: i32 = 4;

// --- pgdat state ---------------------------------------------------------------------------
let pgdatWriteback = false;   // PGDAT_WRITEBACK
let pgdatDirty = false;       // PGDAT_DIRTY
let lruvecCongested = false;  // LRUVEC_NODE_CONGESTED
export let kswapdFailures: i32 = 0;
let refaultsSnapAnon: u64 = 0;
let refaultsSnapFile: u64 = 0;
/** NR_THROTTLED_WRITTEN − pgdat->nr_reclaim_start: pages written since the first WRITEBACK sleeper. */
let throttledWritten: u64 = 0;

@inline function swappiness(): u64 { return <u64>cfg(G_SWAPPINESS); }
@inline function laptopMode(): bool { return cfg(G_LAPTOP_MODE) != 0; }

/** can_reclaim_anon_pages: swap has free slots. */
@inline function canReclaimAnon(): bool { return nrSwapFree() > 0; }
/** can_age_anon_pages: aging the anon LRU is worth it whenever swap exists, even when full. */
@inline function canAgeAnon(): bool { return totalSwapPages > 0; }

/** lruvec_lru_size for zones up to `idx`. */
function lruvecLruSize(lru: i32, idx: i32): u64 {
  let n: i64 = 0;
  for (let z = 0; z <= idx; z++) n += zoneLruSize(z, lru);
  return <u64>n;
}

/** inactive_is_low: is the inactive list short compared with the active one (ratio √(10·GiB))? */
export function inactiveIsLow(inactiveLru: i32): bool {
  const inactive = lruvecPageState(C_NR_INACTIVE_ANON + inactiveLru);
  const active = lruvecPageState(C_NR_INACTIVE_ANON + inactiveLru + 1);
  const gb = (inactive + active) >> (30 - 12);
  const ratio: u64 = gb > 0 ? intSqrt(10 * gb) : 1;
  return inactive * ratio < active;
}

// --- isolation ---------------------------------------------------------------------------

@inline function isolatedCounter(lru: i32): i32 {
  return lru == LRU_INACTIVE_FILE || lru == LRU_ACTIVE_FILE ? C_NR_ISOLATED_FILE : C_NR_ISOLATED_ANON;
}

/** isolate_lru_folios from the tail of `lru` onto `dst`; returns nr_taken, scanned in sc.batch_scanned. */
function isolateLruFolios(sc: ScanControl, nrToScan: u64, lru: i32, dst: u32): u64 {
  const head = lruHead(lru);
  let scanned: u64 = 0; let taken: u64 = 0;
  const skip = lruHead(L_SKIPPED);
  while (scanned < nrToScan && !listEmpty(head)) {
    const p = prev(head);
    if (pageZone(p) > sc.reclaim_idx) {
      listDel(p); listAddTail(p, skip);
      continue;
    }
    const nr = <u64>folioNrPages(p);
    scanned += nr;
    if (!sc.may_unmap && folioMapped(p)) { listDel(p); listAdd(p, head); continue; }
    // folio_try_get + folio_test_clear_lru; the list size follows
    countAdd(C_NR_INACTIVE_ANON + lru, -<i64>nr);
    zoneLruAdd(pageZone(p), lru, -<i64>nr);
    listDel(p);
    clearFlag(p, PG_lru);
    setRefcount(p, refcount(p) + 1);
    listAddTail(p, dst);
    taken += nr;
  }
  // put the skipped folios back on the head of the source list, in order
  while (!listEmpty(skip)) { const p = prev(skip); listDel(p); listAdd(p, head); }
  chargeNs(<i64>(scanned * <u64>cfg(G_COST_SCAN_PAGE)));
  countAdd(isolatedCounter(lru), <i64>taken);
  const isolated = count(C_NR_ISOLATED_ANON) + count(C_NR_ISOLATED_FILE);
  if (isolated > count(C_MMSIM_PEAK_ISOLATED)) countSet(C_MMSIM_PEAK_ISOLATED, isolated);
  sc.batch_scanned = scanned;
  return taken;
}

/**
 * folio_isolate_lru: take one folio off its LRU list for a caller outside reclaim (migration),
 * with a reference of its own; false if it is on none (isolated by a reclaimer, in a per-CPU
 * batch not drained yet). The caller accounts NR_ISOLATED_* (node_stat_mod_folio).
 */
export function folioIsolateLru(p: u32): bool {
  if (!testFlag(p, PG_lru)) return false;
  lruvecDelFolio(p);
  setRefcount(p, refcount(p) + 1);
  return true;
}

/** folio_putback_lru: back onto an LRU (through this CPU's batch), and the isolation's reference goes. */
export function folioPutbackLru(p: u32): void {
  folioAddLru(p);
  folioPut(p);
}

/**
 * move_folios_to_lru: give back isolated folios, dropping the isolation reference; a folio
 * whose last reference that was is freed; unevictable ones are culled. Returns folios moved.
 */
function moveFoliosToLru(head: u32): u64 {
  let moved: u64 = 0;
  while (!listEmpty(head)) {
    const p = next(head);
    listDel(p);
    const r = refcount(p) - 1;
    setRefcount(p, r);
    if (r == 0) {
      freeFolioFrames(p);
      continue;
    }
    const nr = <u64>folioNrPages(p);
    lruAdd(p);
    if (testFlag(p, PG_active)) workingsetAgeNonresident(nr);
    moved += nr;
  }
  return moved;
}

/**
 * too_many_isolated: a direct reclaimer waits while more pages of this type are isolated than
 * an eighth of the inactive list (GFP_HIGHUSER_MOVABLE has __GFP_IO and __GFP_FS); when not,
 * it wakes those waiting (wake_throttle_isolated). kswapd never waits here.
 */
function tooManyIsolated(sc: ScanControl, file: bool): bool {
  if (sc.is_kswapd) return false;
  const inactive = lruSize(file ? LRU_INACTIVE_FILE : LRU_INACTIVE_ANON) >> 3;
  const isolated = count(file ? C_NR_ISOLATED_FILE : C_NR_ISOLATED_ANON);
  const tooMany = isolated > inactive;
  if (!tooMany && waitqueueActive(WQ_RECLAIM_ISOLATED)) wakeUpAll(WQ_RECLAIM_ISOLATED, curClock);
  return tooMany;
}

// --- shrink_active_list ----------------------------------------------------------------------

function shrinkActiveList(sc: ScanControl, nrToScan: u64, lru: i32): void {
  const file = lru == LRU_ACTIVE_FILE;
  lruAddDrain();
  const hold = sc.hold;
  const taken = isolateLruFolios(sc, nrToScan, lru, hold);
  countAdd(C_PGREFILL, <i64>sc.batch_scanned);
  rmapPrefetchList(hold);
  let nrRotated: u64 = 0;
  let nrDeactivate: u64 = 0;
  while (!listEmpty(hold)) {
    const p = prev(hold);
    listDel(p);
    if (!folioEvictable(p)) { listAdd(p, lruHead(L_RET)); continue; }
    if (folioReferenced(p, sc) > 0) {
      // executable file pages get another trip on the active list
      if ((sc.vm_flags & VM_EXEC) != 0 && !testFlag(p, PG_swapbacked)) {
        nrRotated += <u64>folioNrPages(p);
        listAdd(p, lruHead(L_ACTIVE));
        continue;
      }
    }
    clearFlag(p, PG_active);
    setFlag(p, PG_workingset);
    listAdd(p, lruHead(L_INACTIVE));
    nrDeactivate += <u64>folioNrPages(p);
  }
  moveFoliosToLru(lruHead(L_ACTIVE));
  moveFoliosToLru(lruHead(L_INACTIVE));
  moveFoliosToLru(lruHead(L_RET));
  countAdd(isolatedCounter(lru), -<i64>taken);
  countAdd(C_PGDEACTIVATE, <i64>nrDeactivate);
  lruNoteCost(file, 0, nrRotated);
}

// --- shrink_folio_list -----------------------------------------------------------------------

const FOLIOREF_RECLAIM: i32 = 0;
const FOLIOREF_RECLAIM_CLEAN: i32 = 1;
const FOLIOREF_KEEP: i32 = 2;
const FOLIOREF_ACTIVATE: i32 = 3;

/** folio_check_references */
function folioCheckReferences(sc: ScanControl, p: u32): i32 {
  const referencedPtes = folioReferenced(p, sc);
  const vmf = sc.vm_flags;
  if ((vmf & VM_LOCKED) != 0) return FOLIOREF_ACTIVATE;
  const referencedFolio = testClearFlag(p, PG_referenced);
  const file = !testFlag(p, PG_swapbacked);
  if (referencedPtes > 0) {
    setFlag(p, PG_referenced);
    if (referencedFolio || referencedPtes > 1) return FOLIOREF_ACTIVATE;
    if ((vmf & VM_EXEC) != 0 && file) return FOLIOREF_ACTIVATE;
    return FOLIOREF_KEEP;
  }
  if (referencedFolio && file) return FOLIOREF_RECLAIM_CLEAN;
  return FOLIOREF_RECLAIM;
}

const OUT_FREE: i32 = 0;
const OUT_KEEP: i32 = 1;
const OUT_ACTIVATE: i32 = 2;
/** try_to_unmap sleeps in a notifier callback: the folio stays locked, sc.pending */
const OUT_SLEEP: i32 = 3;

/** The decision sequence of shrink_folio_list for one isolated folio. */
function shrinkFolio(sc: ScanControl, p: u32, list: u32): i32 {
  if (testFlag(p, PG_locked)) return OUT_KEEP;                    // folio_trylock failed
  const nr = <u64>folioNrPages(p);
  sc.nr_scanned += nr;
  if (!folioEvictable(p)) return OUT_ACTIVATE;
  if (!sc.may_unmap && folioMapped(p)) return OUT_KEEP;
  const file = !testFlag(p, PG_swapbacked);
  // folio_check_dirty_writeback (file folios only)
  if (file) {
    const dirty = testFlag(p, PG_dirty); const wb = testFlag(p, PG_writeback);
    if (dirty || wb) sc.stat_dirty++;
    if (dirty && !wb) sc.stat_unqueued_dirty++;
    if (wb && testFlag(p, PG_reclaim)) sc.stat_congested++;
  }
  if (testFlag(p, PG_writeback)) {
    if (sc.is_kswapd && testFlag(p, PG_reclaim) && pgdatWriteback) { sc.stat_immediate++; return OUT_ACTIVATE; }
    setFlag(p, PG_reclaim);            // free it as soon as its IO completes
    sc.stat_writeback++;
    return OUT_ACTIVATE;
  }
  const references = folioCheckReferences(sc, p);
  if (references == FOLIOREF_ACTIVATE) return OUT_ACTIVATE;
  if (references == FOLIOREF_KEEP) return OUT_KEEP;
  // anonymous: give it a swap slot first (mainline keeps a maybe-pinned one out of the swap cache)
  if (!file && !testFlag(p, PG_swapcache)) {
    if (pinKeepBeforeSwap(p)) { countEvent(C_MMSIM_RECLAIM_PINNED_SKIPPED); return OUT_KEEP; }
    if (nr > 1) {
      // a THP: can_split_folio first (a GUP reference or pin keeps it whole, activated); then
      // folio_alloc_swap fails for it (whole-THP swap-out is not modelled): split it onto the
      // list and go on with its first page (THP_SWPOUT_FALLBACK), its others right after
      if (!canSplitFolio(p, 1)) { countEvent(C_MMSIM_THP_CANNOT_SPLIT); return OUT_ACTIVATE; }
      if (!splitFolioToList(p, list)) return OUT_ACTIVATE;
      countEvent(C_THP_SWPOUT_FALLBACK);
      sc.nr_scanned -= nr - 1;        // the tail pages are counted when their turn comes
    }
    if (!addToSwap(p)) { countEvent(C_MMSIM_SWAP_FULL_ACTIVATIONS); return OUT_ACTIVATE; }
  }
  return shrinkFolioUnmapped(sc, p, references, file, false);
}

/**
 * The rest of shrink_folio_list's decisions, from try_to_unmap on: where a reclaimer whose
 * notifier callback slept in try_to_unmap_one resumes (`resuming`: the walk goes on even if
 * the mappings have gone meanwhile, to end its range).
 */
function shrinkFolioUnmapped(sc: ScanControl, p: u32, references: i32, file: bool, resuming: bool): i32 {
  if (resuming || folioMapped(p)) {
    // the pin action's say before the walk (not when the walk itself slept and resumes)
    if (!rmapWalkSleeping(sc.entity, p)) {
      const pa = pinTryToUnmap(p);
      if (pa == UNMAP_REFUSED) { countEvent(C_MMSIM_UNMAP_SKIPPED_PINNED); return OUT_ACTIVATE; }
      if (pa == UNMAP_WAIT) { pinWaitForUnmap(sc.entity, p, curClock); sc.pending = p; sc.pending_refs = references; return OUT_SLEEP; }
    }
    if (!tryToUnmap(p, sc.entity)) { sc.pending = p; sc.pending_refs = references; return OUT_SLEEP; }
    if (folioMapped(p)) return OUT_ACTIVATE;
    if (pinTruth(p) > 0) countEvent(C_MMSIM_UNMAP_PINNED_PAGES);
  }
  // unmapped now, so it cannot be newly pinned: mainline keeps a pinned folio's data
  if (pinActivateAfterUnmap(p)) { countEvent(C_MMSIM_RECLAIM_PINNED_SKIPPED); return OUT_ACTIVATE; }
  if (testFlag(p, PG_dirty)) {
    if (file) {
      // only the flushers write page cache; mark it to be freed when they have
      countEvent(C_NR_VMSCAN_IMMEDIATE_RECLAIM);
      setFlag(p, PG_reclaim);
      return OUT_ACTIVATE;
    }
    if (references == FOLIOREF_RECLAIM_CLEAN) return OUT_KEEP;
    if (!sc.may_writepage) return OUT_KEEP;
    // pageout → swap_writepage. is_page_cache_freeable: isolation + swap cache references only
    const expected = 2 + (testFlag(p, PG_private) ? 1 : 0);
    if (refcount(p) != expected) { if (pinTruth(p) > 0) countEvent(C_MMSIM_RECLAIM_PINNED_KEPT); return OUT_KEEP; }
    if (swapQueueRoom(sc) == 0) return OUT_KEEP;
    if (folioClearDirtyForIo(p, sc.entity) == CLEARED_FOR_IO) {   // swap cache: no mkclean, no sleep
      setFlag(p, PG_reclaim);
      swapWritepage(sc, p);
      sc.stat_pageout++;
      return OUT_KEEP;                 // IO in flight: it will rotate to the tail when done
    }
  }
  // filemap_release_folio: a page with buffers drops them first — whatever its refcount, so a
  // page someone else holds (a get_user_pages reference) loses them and is then kept by the
  // failed freeze below. A page truncated meanwhile (no mapping) that held only its buffers
  // and the isolation reference is freed here. Dropping buffers has no cost of its own: the
  // free's is the one charged
  if (testFlag(p, PG_private)) {
    if (!filemapReleaseFolio(p)) return OUT_ACTIVATE;
    if (file && mapping(p) == 0 && refcount(p) == 1) return reclaimFreeFolio(sc, p);
  }
  // __remove_mapping: freeze the refcount from exactly isolation + cache (a page without a
  // mapping has no cache to leave: kept)
  if (file && mapping(p) == 0) return OUT_KEEP;
  if (refcount(p) != 2 || testFlag(p, PG_dirty)) {
    if (pinTruth(p) > 0) countEvent(C_MMSIM_RECLAIM_PINNED_KEPT);
    return OUT_KEEP;
  }
  const shadow = workingsetEviction(p);
  if (testFlag(p, PG_swapcache)) deleteFromSwapCache(p, shadow);
  else if (file) filemapRemoveFolio(p, shadow);
  else return OUT_KEEP;
  return reclaimFreeFolio(sc, p);
}

/** shrink_folio_list's free_it: the folio's last reference goes, it goes to the free batch. */
function reclaimFreeFolio(sc: ScanControl, p: u32): i32 {
  sc.batch_reclaimed += <u64>folioNrPages(p);
  setRefcount(p, 0);
  freeFolioFrames(p);
  chargeNs(<i64>cfg(G_COST_FREE_PAGE));
  return OUT_FREE;
}

/**
 * shrink_folio_list's decisions over the isolated `head`: freed folios are counted in
 * sc.batch_reclaimed, kept ones go to sc.ret, swap writes into the reclaimer's plug (submitted
 * by the caller, which may sleep on a device tag to do it).
 */
function shrinkFolioList(sc: ScanControl, head: u32): bool {
  let p = sc.pending;
  if (p == NO_FOLIO) {
    rmapPrefetchList(head);
    sc.stat_dirty = 0; sc.stat_unqueued_dirty = 0; sc.stat_congested = 0; sc.stat_writeback = 0;
    sc.stat_immediate = 0; sc.stat_pageout = 0; sc.stat_activate = 0;
    sc.batch_reclaimed = 0;
  } else {
    // back from a notifier callback's sleep in try_to_unmap_one
    const out = shrinkFolioUnmapped(sc, p, sc.pending_refs, !testFlag(p, PG_swapbacked), true);
    if (out == OUT_SLEEP) return false;
    sc.pending = NO_FOLIO;
    folioUnlock(p, curClock);
    folioLockReleased(sc.entity, curClock);
    shrinkFolioOutcome(sc, p, out);
  }
  while (!listEmpty(head)) {
    p = next(head);
    listDel(p);
    const out = shrinkFolio(sc, p, head);
    // asleep in a notifier callback, the folio locked as shrink_folio_list holds it
    if (out == OUT_SLEEP) { setFlag(p, PG_locked); folioHeldAcrossSleep(sc.entity, p); return false; }
    shrinkFolioOutcome(sc, p, out);
  }
  countAdd(C_PGACTIVATE, <i64>sc.stat_activate);
  return true;
}

/** Where a decided folio goes: freed (counted), or kept / activated onto sc.ret. */
function shrinkFolioOutcome(sc: ScanControl, p: u32, out: i32): void {
  if (out == OUT_FREE) return;        // (counted by reclaimFreeFolio)
  if (out == OUT_ACTIVATE) {
    // activate_locked: don't keep swap slots for pages staying in memory when swap is short
    if (testFlag(p, PG_swapcache) && (vmSwapFull() || testFlag(p, PG_mlocked))) folioFreeSwap(p);
    if (!testFlag(p, PG_mlocked)) { setFlag(p, PG_active); sc.stat_activate += <u64>folioNrPages(p); }
  }
  listAddTail(p, sc.ret);
}

// --- shrink_inactive_list, in two steps ------------------------------------------------------

/**
 * The first half of shrink_inactive_list: wait while too many pages are isolated (once; a
 * batch that still finds too many is skipped, as `stalled` does), then isolate the batch onto
 * the reclaimer's own list. It stays there, isolated, until the next step decides on it.
 */
function shrinkInactiveIsolate(sc: ScanControl): i32 {
  const lru = sc.batch_lru;
  const file = lru == LRU_INACTIVE_FILE;
  if (sc.stalled) reclaimThrottleWoken(sc);    // back from the sleep below: check once more
  if (tooManyIsolated(sc, file)) {
    if (sc.stalled) { sc.batch = BATCH_NONE; return STEP_MORE; }
    sc.stalled = true;
    countEvent(C_MMSIM_RECLAIM_THROTTLE_ISOLATED);
    reclaimThrottleSleep(sc, WQ_RECLAIM_ISOLATED, jiffyNs * hz / 50);   // VMSCAN_THROTTLE_ISOLATED
    return STEP_SLEEP;
  }
  lruAddDrain();
  const taken = isolateLruFolios(sc, <u64>sc.batch_n, lru, sc.hold);
  const scanned = sc.batch_scanned;
  countAdd(sc.is_kswapd ? C_PGSCAN_KSWAPD : C_PGSCAN_DIRECT, <i64>scanned);
  countAdd(file ? C_PGSCAN_FILE : C_PGSCAN_ANON, <i64>scanned);
  if (taken == 0) { sc.batch = BATCH_NONE; return STEP_MORE; }
  sc.batch_taken = taken;
  sc.batch = BATCH_DECIDE;
  return STEP_MORE;
}

/**
 * The second half: shrink_folio_list over the isolated batch, then blk_finish_plug — which
 * sleeps while the swap device has no free tag (BATCH_SUBMIT, resumed by shrinkInactiveSubmit)
 * — then the bookkeeping. STEP_SLEEP while asleep on a tag.
 */
function shrinkInactiveDecide(sc: ScanControl): i32 {
  if (!shrinkFolioList(sc, sc.hold)) return STEP_SLEEP;   // asleep in a notifier callback
  sc.batch = BATCH_SUBMIT;
  return shrinkInactiveSubmit(sc);
}

function shrinkInactiveSubmit(sc: ScanControl): i32 {
  const free = swapPlugSubmit(sc, false);
  if (free > 0) { sleepUntil(sc.entity, free); return STEP_SLEEP; }
  shrinkInactiveFinish(sc);
  return STEP_MORE;
}

function shrinkInactiveFinish(sc: ScanControl): void {
  const lru = sc.batch_lru;
  const file = lru == LRU_INACTIVE_FILE;
  const taken = sc.batch_taken;
  const scanned = sc.batch_scanned;
  const reclaimed = sc.batch_reclaimed;
  moveFoliosToLru(sc.ret);
  countAdd(isolatedCounter(lru), -<i64>taken);
  countAdd(sc.is_kswapd ? C_PGSTEAL_KSWAPD : C_PGSTEAL_DIRECT, <i64>reclaimed);
  countAdd(file ? C_PGSTEAL_FILE : C_PGSTEAL_ANON, <i64>reclaimed);
  sc.nr_reclaimed += reclaimed;
  lruNoteCost(file, sc.stat_pageout, scanned - reclaimed);
  // every isolated page was dirty and not queued for IO: the flushers are behind
  if (sc.stat_unqueued_dirty == taken) wakeupFlusherThreads();
  sc.nr_dirty += sc.stat_dirty; sc.nr_congested += sc.stat_congested; sc.nr_unqueued_dirty += sc.stat_unqueued_dirty;
  sc.nr_writeback += sc.stat_writeback; sc.nr_immediate += sc.stat_immediate; sc.nr_taken += taken;
  if (file) sc.nr_file_taken += taken;
  sc.batch = BATCH_NONE;
  sc.batch_taken = 0;
}

/**
 * A reclaimer that is killed while it sleeps with a batch isolated gives the batch back (the
 * kernel's reclaimer would finish the batch first; the pages are the same either way).
 */
export function reclaimAbandon(sc: ScanControl): void {
  if (sc.pending != NO_FOLIO) {
    // it slept in try_to_unmap_one: the notifiers' range ends, the folio goes back unlocked
    const p = sc.pending;
    sc.pending = NO_FOLIO;
    mmuNotifierAbandon(sc.entity, curClock);
    rmapWalkAbandon(sc.entity);
    folioUnlock(p, curClock);
    folioLockReleased(sc.entity, curClock);
    listAddTail(p, sc.ret);
    // the undecided rest goes back with the decided ones; the writes started go to the device
    moveFoliosToLru(sc.hold);
    countAdd(C_PGACTIVATE, <i64>sc.stat_activate);
    swapPlugSubmit(sc, true);
    shrinkInactiveFinish(sc);
  } else if (sc.batch == BATCH_DECIDE) {
    moveFoliosToLru(sc.hold);
    countAdd(isolatedCounter(sc.batch_lru), -<i64>sc.batch_taken);
  } else if (sc.batch == BATCH_SUBMIT) {
    // the writes it started go to the device all the same
    swapPlugSubmit(sc, true);
    shrinkInactiveFinish(sc);
  }
  sc.batch = BATCH_NONE; sc.batch_taken = 0;
  sc.node_stage = SN_IDLE; sc.stage = DR_IDLE;
}

// --- get_scan_count / shrink_lruvec / shrink_node --------------------------------------------

const SCAN_EQUAL: i32 = 0; const SCAN_FRACT: i32 = 1; const SCAN_ANON: i32 = 2; const SCAN_FILE: i32 = 3;

/** get_scan_count: how many pages of each evictable list this priority scans, into sc's nr[]. */
function getScanCount(sc: ScanControl): void {
  const swp = swappiness();
  let balance = SCAN_FRACT;
  let ap: u64 = 0; let fp: u64 = 0;
  if (!sc.may_swap || !canReclaimAnon()) balance = SCAN_FILE;
  else if (sc.priority == 0 && swp != 0) balance = SCAN_EQUAL;
  else if (sc.file_is_tiny) balance = SCAN_ANON;
  else if (sc.cache_trim_mode) balance = SCAN_FILE;
  else {
    // calculate_pressure_balance
    let total = anonCost + fileCost;
    const ac = total + anonCost;
    const fc = total + fileCost;
    total = ac + fc;
    ap = swp * (total + 1) / (ac + 1);
    fp = (200 - swp) * (total + 1) / (fc + 1);
  }
  const denominator = ap + fp;
  for (let lru = 0; lru < 4; lru++) {
    const file = lru >= LRU_INACTIVE_FILE;
    const size = lruvecLruSize(lru, sc.reclaim_idx);
    let scan = size >> <u64>sc.priority;
    if (balance == SCAN_FRACT) scan = denominator > 0 ? scan * (file ? fp : ap) / denominator : 0;
    else if (balance == SCAN_FILE) { if (!file) scan = 0; }
    else if (balance == SCAN_ANON) { if (file) scan = 0; }
    scSetNr(sc, lru, scan);
  }
}

/**
 * One step of shrink_lruvec: the next batch of the current round over the lists (nr[lru] less
 * up to SWAP_CLUSTER_MAX each), or, after a round, the proportional scaling once enough was
 * reclaimed. STEP_DONE when no list has anything left to scan.
 */
function shrinkLruvecStep(sc: ScanControl): i32 {
  if (sc.batch == BATCH_ISOLATE) return shrinkInactiveIsolate(sc);
  if (sc.batch == BATCH_DECIDE) return shrinkInactiveDecide(sc);
  if (sc.batch == BATCH_SUBMIT) return shrinkInactiveSubmit(sc);
  // while (nr[LRU_INACTIVE_ANON] || nr[LRU_ACTIVE_FILE] || nr[LRU_INACTIVE_FILE])
  if (sc.lru == 0 && scNr(sc, LRU_INACTIVE_ANON) == 0 && scNr(sc, LRU_ACTIVE_FILE) == 0 && scNr(sc, LRU_INACTIVE_FILE) == 0) return STEP_DONE;
  while (sc.lru < 4) {
    const lru = sc.lru;
    sc.lru = lru + 1;
    const left = scNr(sc, lru);
    if (left == 0) continue;
    const n = left < SWAP_CLUSTER_MAX ? left : SWAP_CLUSTER_MAX;
    scSetNr(sc, lru, left - n);
    if (lru == LRU_ACTIVE_ANON || lru == LRU_ACTIVE_FILE) {
      // shrink_list on an active list
      const may = lru == LRU_ACTIVE_FILE ? sc.may_deactivate_file : sc.may_deactivate_anon;
      if (may) shrinkActiveList(sc, n, lru);
      else sc.skipped_deactivate = true;
      return STEP_MORE;
    }
    sc.batch = BATCH_ISOLATE; sc.batch_lru = lru; sc.batch_n = <i32>n; sc.stalled = false;
    return shrinkInactiveIsolate(sc);
  }
  // the round is over
  sc.lru = 0;
  const reclaimed = sc.nr_reclaimed - sc.lruvec_reclaimed0;
  if (reclaimed < sc.nr_to_reclaim || sc.proportional) return STEP_MORE;
  // Enough: stop the smaller type and scale the other to the same share of its target.
  const nrFile = scNr(sc, LRU_INACTIVE_FILE) + scNr(sc, LRU_ACTIVE_FILE);
  const nrAnon = scNr(sc, LRU_INACTIVE_ANON) + scNr(sc, LRU_ACTIVE_ANON);
  if (nrFile == 0 || nrAnon == 0) return STEP_DONE;
  let stop: i32; let other: i32; let percentage: u64;
  if (nrFile > nrAnon) {
    const t = scTarget(sc, LRU_INACTIVE_ANON) + scTarget(sc, LRU_ACTIVE_ANON) + 1;
    stop = LRU_INACTIVE_ANON; other = LRU_INACTIVE_FILE; percentage = nrAnon * 100 / t;
  } else {
    const t = scTarget(sc, LRU_INACTIVE_FILE) + scTarget(sc, LRU_ACTIVE_FILE) + 1;
    stop = LRU_INACTIVE_FILE; other = LRU_INACTIVE_ANON; percentage = nrFile * 100 / t;
  }
  scSetNr(sc, stop, 0); scSetNr(sc, stop + 1, 0);
  for (let k = 0; k < 2; k++) {
    const l = other + k;
    const done = scTarget(sc, l) - scNr(sc, l);
    let v = scTarget(sc, l) * (100 - percentage) / 100;
    v -= v < done ? v : done;
    scSetNr(sc, l, v);
  }
  return STEP_MORE;
}

/** prepare_scan_control (classic LRU, global reclaim) */
function prepareScanControl(sc: ScanControl): void {
  const refaultsAnon = lruvecPageState(C_WORKINGSET_ACTIVATE_ANON);
  const refaultsFile = lruvecPageState(C_WORKINGSET_ACTIVATE_FILE);
  if (sc.force_deactivate) { sc.may_deactivate_anon = true; sc.may_deactivate_file = true; }
  else {
    sc.may_deactivate_anon = refaultsAnon != refaultsSnapAnon || inactiveIsLow(LRU_INACTIVE_ANON);
    sc.may_deactivate_file = refaultsFile != refaultsSnapFile || inactiveIsLow(LRU_INACTIVE_FILE);
  }
  sc.cache_trim_mode = (lruvecPageState(C_NR_INACTIVE_FILE) >> <u64>sc.priority) != 0 && !sc.may_deactivate_file &&
    !(sc.is_kswapd && bpNoCacheTrimMode);
  const free = count(C_NR_FREE_PAGES);
  const file = lruSize(LRU_ACTIVE_FILE) + lruSize(LRU_INACTIVE_FILE);
  let totalHigh: u64 = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) if (populatedZone(z)) totalHigh += <u64>wmark(z, WMARK_HIGH);
  const anon = lruSize(LRU_INACTIVE_ANON);
  sc.file_is_tiny = file + free <= totalHigh && !sc.may_deactivate_anon && (anon >> <u64>sc.priority) != 0;
}

/** snapshot_refaults: the refault counters the next prepare_scan_control compares with. */
function snapshotRefaults(): void {
  refaultsSnapAnon = lruvecPageState(C_WORKINGSET_ACTIVATE_ANON);
  refaultsSnapFile = lruvecPageState(C_WORKINGSET_ACTIVATE_FILE);
}

/**
 * skip_throttle_noprogress: no CONGESTED/NOPROGRESS sleep when kswapd is hopeless (the system
 * is likely near OOM), or when write-pending pages (NR_ZONE_WRITE_PENDING: dirty + writeback)
 * are at most half the reclaimable ones: reclaim then throttles on writeback instead, when
 * those pages reach the LRU tail still under IO.
 */
function skipThrottleNoprogress(): bool {
  if (kswapdFailures >= MAX_RECLAIM_RETRIES) return true;
  let reclaimable: i64 = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) if (populatedZone(z)) reclaimable += zoneReclaimablePages(z);
  const writePending = <i64>(count(C_NR_DIRTY) + count(C_NR_WRITEBACK));
  return 2 * writePending <= reclaimable;
}

/** reclaim_throttle's sleep: prepare_to_wait on the reason's queue + schedule_timeout. */
function reclaimThrottleSleep(sc: ScanControl, q: i32, timeoutNs: i64): void {
  sc.t_throttle = curClock;
  sleepOn(q, sc.entity, curClock, timeoutNs);
}

/** Back from reclaim_throttle: how long it slept goes to the counters. */
function reclaimThrottleWoken(sc: ScanControl): void {
  finishWait(sc.entity);
  countAdd(C_MMSIM_RECLAIM_THROTTLED_NS, curClock - sc.t_throttle);
}

/**
 * __acct_reclaim_writeback, from folio_end_writeback at `now`: while reclaimers sleep in
 * reclaim_throttle(WRITEBACK), more than SWAP_CLUSTER_MAX written pages per sleeper wake them.
 */
export function acctReclaimWriteback(now: i64): void {
  const sleepers = waitqueueLen(WQ_RECLAIM_WRITEBACK);
  if (sleepers == 0) return;
  throttledWritten++;
  if (throttledWritten > SWAP_CLUSTER_MAX * <u64>sleepers) wakeUpAll(WQ_RECLAIM_WRITEBACK, now);
}

/** shrink_node's start: a fresh sc.nr, prepare_scan_control, and shrink_lruvec's nr[]/targets[]. */
function shrinkNodeStart(sc: ScanControl): void {
  countEvent(C_MMSIM_SHRINK_NODE_CALLS);
  // a pass costs at least one batch's worth of scanning, even when every list is empty or
  // every page is busy: otherwise a kswapd that cannot progress would spin in zero time
  chargeNs(<i64>(SWAP_CLUSTER_MAX * <u64>cfg(G_COST_SCAN_PAGE)));
  sc.nr_dirty = 0; sc.nr_unqueued_dirty = 0; sc.nr_congested = 0; sc.nr_writeback = 0; sc.nr_immediate = 0;
  sc.nr_taken = 0; sc.nr_file_taken = 0;
  sc.node_reclaimed0 = sc.nr_reclaimed;
  prepareScanControl(sc);
  getScanCount(sc);
  for (let l = 0; l < 4; l++) scSetTarget(sc, l, scNr(sc, l));
  // global direct reclaim at the first priority just scans what was asked
  sc.proportional = !sc.is_kswapd && sc.priority == DEF_PRIORITY;
  sc.lruvec_reclaimed0 = sc.nr_reclaimed;
  sc.lru = 0; sc.batch = BATCH_NONE;
  sc.node_stage = SN_LRUVEC;
}

/** One step of shrink_node (see STEP_*). */
function shrinkNodeStep(sc: ScanControl): i32 {
  const stage = sc.node_stage;
  if (stage == SN_LRUVEC) {
    const r = shrinkLruvecStep(sc);
    if (r != STEP_DONE) return r;
    // keep aging anon even when only file was reclaimed
    if (canAgeAnon() && inactiveIsLow(LRU_INACTIVE_ANON)) shrinkActiveList(sc, SWAP_CLUSTER_MAX, LRU_ACTIVE_ANON);
    sc.node_stage = SN_END;
    return STEP_MORE;
  }
  if (stage == SN_END) {
    sc.reclaimable = sc.nr_reclaimed > sc.node_reclaimed0;
    if (sc.is_kswapd) {
      if (sc.nr_writeback != 0 && sc.nr_writeback == sc.nr_taken) pgdatWriteback = true;
      if (sc.nr_unqueued_dirty == sc.nr_file_taken) pgdatDirty = true;
      if (sc.nr_immediate != 0) {
        // reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK): HZ/10, woken early by completions
        if (waitqueueLen(WQ_RECLAIM_WRITEBACK) == 0) throttledWritten = 0;
        countEvent(C_MMSIM_KSWAPD_THROTTLES);
        reclaimThrottleSleep(sc, WQ_RECLAIM_WRITEBACK, jiffyNs * hz / 10);
        sc.node_stage = SN_KSWAPD_WOKEN;
        return STEP_SLEEP;
      }
    }
    return shrinkNodeCongestion(sc);
  }
  if (stage == SN_KSWAPD_WOKEN) {
    const t0 = sc.t_throttle;
    reclaimThrottleWoken(sc);
    countAdd(C_MMSIM_KSWAPD_THROTTLED_NS, curClock - t0);
    return shrinkNodeCongestion(sc);
  }
  // SN_DIRECT_WOKEN
  reclaimThrottleWoken(sc);
  return shrinkNodeFinish(sc);
}

/** shrink_node's congestion flags and the direct reclaimer's CONGESTED throttle. */
function shrinkNodeCongestion(sc: ScanControl): i32 {
  if (sc.nr_dirty != 0 && sc.nr_dirty == sc.nr_congested && sc.is_kswapd) lruvecCongested = true;
  if (!sc.is_kswapd && lruvecCongested) {
    // reclaim_throttle(VMSCAN_THROTTLE_CONGESTED): a jiffy, unless skip_throttle_noprogress
    if (skipThrottleNoprogress()) countEvent(C_MMSIM_RECLAIM_THROTTLE_SKIPPED);
    else {
      countEvent(C_MMSIM_RECLAIM_THROTTLE_CONGESTED);
      reclaimThrottleSleep(sc, WQ_RECLAIM_CONGESTED, jiffyNs);
      sc.node_stage = SN_DIRECT_WOKEN;
      return STEP_SLEEP;
    }
  }
  return shrinkNodeFinish(sc);
}

function shrinkNodeFinish(sc: ScanControl): i32 {
  if (sc.reclaimable) kswapdFailures = 0;
  else if (sc.cache_trim_mode && sc.is_kswapd) bpCacheTrimModeFailed = true;
  checkAfterReclaim();
  sc.node_stage = SN_IDLE;
  return STEP_DONE;
}

// --- direct reclaim ---------------------------------------------------------------------------

/**
 * Latencies of whole direct reclaim calls (try_to_free_pages, sleeps included): bucket b counts
 * calls of [2^b, 2^(b+1)) µs, bucket 0 everything under 2 µs, the last everything longer.
 */
export { RECLAIM_HIST_BUCKETS };
let reclaimHist: usize = 0;
export function reclaimHistPtr(): usize { return reclaimHist; }
function reclaimLatencyRecord(ns: i64): void {
  let us = <u64>(ns / 1000);
  let b = 0;
  while (us >= 2 && b < RECLAIM_HIST_BUCKETS - 1) { us >>= 1; b++; }
  const a = reclaimHist + (<usize>b << 3);
  store<u64>(a, load<u64>(a) + 1);
}

/**
 * allow_direct_reclaim: free pages of the zones up to NORMAL (with reclaimable pages) above half
 * their min watermarks, or kswapd hopeless. While not, kswapd is woken for ZONE_NORMAL.
 */
export function allowDirectReclaim(): bool {
  if (kswapdFailures >= MAX_RECLAIM_RETRIES) return true;
  let reserve: i64 = 0; let free: i64 = 0;
  for (let z = 0; z <= ZONE_NORMAL; z++) {
    if (!populatedZone(z) || zoneReclaimablePages(z) == 0) continue;
    reserve += wmark(z, WMARK_MIN);
    free += zoneFree(z);
  }
  if (reserve == 0) return true;
  const ok = free > reserve / 2;
  if (!ok && kswapdState != KSWAPD_RUNNING) wakeupKswapd(0, ZONE_NORMAL);
  return ok;
}

/** try_to_free_pages: set up a direct reclaim pass of `sc` (do_try_to_free_pages follows in steps). */
export function tryToFreePagesStart(sc: ScanControl, order: i32, highestZoneidx: i32): void {
  sc.t0 = curClock;
  sc.nr_to_reclaim = SWAP_CLUSTER_MAX;
  sc.may_writepage = !laptopMode();
  sc.may_unmap = true; sc.may_swap = true;
  sc.reclaim_idx = reclaimZoneidx(highestZoneidx);
  sc.alloc_zoneidx = highestZoneidx;
  sc.order = order;
  sc.is_kswapd = false;
  sc.force_deactivate = false;
  sc.skipped_deactivate = false;
  sc.nr_reclaimed = 0;
  sc.pass = 0;
  sc.stage = DR_PASS;
  countEvent(C_MMSIM_DIRECT_RECLAIM_CALLS);
}

/**
 * One step of do_try_to_free_pages. Up to three passes: the first; one more as the memcg full
 * walk (a whole second sweep even without memcgs); a last one forcing deactivation if some
 * active list was skipped. STEP_DONE leaves the pages reclaimed in sc.nr_reclaimed.
 */
export function tryToFreePagesStep(sc: ScanControl): i32 {
  let stage = sc.stage;
  if (stage == DR_PASS) {
    countEvent(C_ALLOCSTALL_DMA + sc.alloc_zoneidx);     // retry: counted on every pass
    sc.nr_reclaimed = 0;
    sc.priority = DEF_PRIORITY;
    stage = DR_PRIORITY;
  }
  if (stage == DR_PRIORITY) {
    sc.nr_scanned = 0;
    shrinkNodeStart(sc);
    sc.stage = DR_NODE;
    return STEP_MORE;
  }
  if (stage == DR_NODE) {
    const r = shrinkNodeStep(sc);
    if (r != STEP_DONE) return r;
    // consider_reclaim_throttle: good efficiency wakes the NOPROGRESS sleepers; none at
    // priority 1 puts this one to sleep
    if (sc.nr_reclaimed > (sc.nr_scanned >> 3)) {
      if (waitqueueActive(WQ_RECLAIM_NOPROGRESS)) wakeUpAll(WQ_RECLAIM_NOPROGRESS, curClock);
    } else if (sc.priority == 1 && sc.nr_reclaimed == 0) {
      if (skipThrottleNoprogress()) countEvent(C_MMSIM_RECLAIM_THROTTLE_SKIPPED);
      else {
        countEvent(C_MMSIM_RECLAIM_THROTTLE_NOPROGRESS);
        reclaimThrottleSleep(sc, WQ_RECLAIM_NOPROGRESS, jiffyNs);
        sc.stage = DR_PRIORITY_END;
        sc.throttled = true;
        return STEP_SLEEP;
      }
    }
    stage = DR_PRIORITY_END;
  }
  // DR_PRIORITY_END
  if (sc.throttled) { sc.throttled = false; reclaimThrottleWoken(sc); }
  if (sc.nr_reclaimed < sc.nr_to_reclaim) {
    if (sc.priority < DEF_PRIORITY - 2) sc.may_writepage = true;
    sc.priority--;
    if (sc.priority >= 0) { sc.stage = DR_PRIORITY; return STEP_MORE; }
  }
  // the pass is over
  snapshotRefaults();
  if (sc.nr_reclaimed == 0) {
    if (sc.pass == 0) { sc.pass = 1; sc.stage = DR_PASS; return STEP_MORE; }   // !memcg_full_walk: walk again
    // nothing reclaimed with some active list skipped: retry forcing deactivation
    if (sc.pass == 1 && sc.skipped_deactivate) {
      sc.pass = 2; sc.force_deactivate = true; sc.skipped_deactivate = false;
      sc.stage = DR_PASS;
      return STEP_MORE;
    }
  }
  sc.force_deactivate = false;
  sc.stage = DR_IDLE;
  const ns = curClock - sc.t0;
  countAdd(C_MMSIM_DIRECT_RECLAIM_NS, ns);
  if (<u64>ns > count(C_MMSIM_DIRECT_RECLAIM_MAX_NS)) countAdd(C_MMSIM_DIRECT_RECLAIM_MAX_NS, <i64>(<u64>ns - count(C_MMSIM_DIRECT_RECLAIM_MAX_NS)));
  reclaimLatencyRecord(ns);
  return STEP_DONE;
}

// --- kswapd ----------------------------------------------------------------------------------

const KSWAPD_SLEEPING: i32 = 0;
const KSWAPD_NAPPING: i32 = 1;
const KSWAPD_RUNNING: i32 = 2;
let kswapdState: i32 = KSWAPD_SLEEPING;
let kswapdOrder: i32 = 0;
/** pgdat->kswapd_highest_zoneidx; -1 = unset (MAX_NR_ZONES in the kernel): reuse the last run's. */
let kswapdHighestZoneidx: i32 = -1;
let kswapdPrevZoneidx: i32 = 2;   // ZONE_NORMAL
let kswapdWokenDuringNap = false;
let bpPriority: i32 = DEF_PRIORITY;   // balance_pgdat in progress: its priority
let bpActive = false;
let bpReclaimed: u64 = 0;
// sc.cache_trim_mode_failed / sc.no_cache_trim_mode of the balance_pgdat in progress
let bpCacheTrimModeFailed = false;
let bpNoCacheTrimMode = false;

export function vmscanInit(kswapdEntity: i32): bool {
  reclaimHist = regionAlloc(<u64>RECLAIM_HIST_BUCKETS * 8);
  kswapdState = KSWAPD_SLEEPING; bpActive = false; kswapdFailures = 0;
  kswapdOrder = 0; kswapdHighestZoneidx = -1; kswapdPrevZoneidx = ZONE_NORMAL;
  pgdatWriteback = false; pgdatDirty = false; lruvecCongested = false;
  refaultsSnapAnon = 0; refaultsSnapFile = 0;
  bpCacheTrimModeFailed = false; bpNoCacheTrimMode = false;
  throttledWritten = 0;
  const sc = kswapdScanControl();
  sc.entity = kswapdEntity;
  sc.is_kswapd = true;
  return reclaimHist != 0;
}

/** pgdat_balanced: some eligible zone is above its high watermark for the order. */
function pgdatBalanced(order: i32, highestZoneidx: i32): bool {
  let any = false;
  for (let z = 0; z <= highestZoneidx && z < MAX_NR_ZONES; z++) {
    if (!populatedZone(z)) continue;
    any = true;
    if (zoneWatermarkOk(z, order, wmark(z, WMARK_HIGH), highestZoneidx, zoneFree(z))) return true;
  }
  return !any;
}

/** wakeup_kswapd: record the request; wake kswapd unless it is hopeless or the node is fine. */
export function wakeupKswapd(order: i32, highestZoneidx: i32): void {
  const idx = reclaimZoneidx(highestZoneidx);
  if (kswapdHighestZoneidx < 0 || kswapdHighestZoneidx < idx) kswapdHighestZoneidx = idx;
  if (order > kswapdOrder) kswapdOrder = order;
  if (kswapdState == KSWAPD_RUNNING) return;
  if (kswapdFailures >= MAX_RECLAIM_RETRIES || pgdatBalanced(order, idx)) return;
  if (kswapdState == KSWAPD_NAPPING) kswapdWokenDuringNap = true;
  kswapdState = KSWAPD_RUNNING;
  countEvent(C_MMSIM_KSWAPD_WAKEUPS);
  schedule(KSWAPD_ENTITY, curClock);
}

/**
 * kswapd's event. RUNNING: one priority iteration of balance_pgdat (starting a run if none is
 * in progress), its kswapd_shrink_node in steps, yielding between them while others are due,
 * and sleeping where shrink_node throttles. NAPPING: the HZ/10 nap of kswapd_try_to_sleep ended.
 */
export function kswapdRun(t: i64): void {
  setCurClock(t);
  clearStop();
  const sc = kswapdScanControl();
  if (sc.node_stage != SN_IDLE) { kswapdShrinkNode(t); return; }
  if (kswapdState == KSWAPD_NAPPING) {
    // no wake-up during the nap: sleep for good if still balanced
    if (prepareKswapdSleep(kswapdPrevZoneidx)) { kswapdState = KSWAPD_SLEEPING; return; }
    countEvent(C_KSWAPD_HIGH_WMARK_HIT_QUICKLY);
    kswapdState = KSWAPD_RUNNING;
  }
  if (kswapdWokenDuringNap) { countEvent(C_KSWAPD_LOW_WMARK_HIT_QUICKLY); kswapdWokenDuringNap = false; }
  // kswapd_highest_zoneidx(): the request, or the previous run's zone when none is pending
  if (!bpActive && kswapdHighestZoneidx >= 0) kswapdPrevZoneidx = kswapdHighestZoneidx;
  const idx = kswapdPrevZoneidx;
  if (!bpActive) {
    kswapdHighestZoneidx = -1;
    bpActive = true; bpPriority = DEF_PRIORITY; bpReclaimed = 0;
    bpCacheTrimModeFailed = false; bpNoCacheTrimMode = false;
    countEvent(C_PAGEOUTRUN);
  }
  if (pgdatBalanced(kswapdOrder, idx)) {       // goto out
    countAdd(C_MMSIM_KSWAPD_NS, curClock - t);
    balanceStepDone(t, true, idx);
    return;
  }
  sc.priority = bpPriority;
  sc.reclaim_idx = idx;
  sc.order = kswapdOrder;
  sc.may_writepage = !laptopMode() || bpPriority < DEF_PRIORITY - 2;
  sc.may_unmap = true; sc.may_swap = true;
  sc.force_deactivate = false;
  // kswapd_age_node
  if (canAgeAnon() && inactiveIsLow(LRU_INACTIVE_ANON)) shrinkActiveList(sc, SWAP_CLUSTER_MAX, LRU_ACTIVE_ANON);
  // kswapd_shrink_node: reclaim to the high watermarks
  sc.nr_to_reclaim = 0;
  for (let z = 0; z <= idx; z++) if (populatedZone(z)) {
    const h = <u64>wmark(z, WMARK_HIGH);
    sc.nr_to_reclaim += h > SWAP_CLUSTER_MAX ? h : SWAP_CLUSTER_MAX;
  }
  sc.nr_scanned = 0;
  sc.nr_reclaimed = 0;
  shrinkNodeStart(sc);
  kswapdShrinkNode(t);
}

/** kswapd's shrink_node, step by step from event time `t`; then the rest of the iteration. */
function kswapdShrinkNode(t: i64): void {
  const sc = kswapdScanControl();
  for (;;) {
    const r = shrinkNodeStep(sc);
    if (r == STEP_DONE) break;
    if (r == STEP_SLEEP) { countAdd(C_MMSIM_KSWAPD_NS, curClock - t); return; }
    if (mustYield(KSWAPD_ENTITY, curClock)) {
      countAdd(C_MMSIM_KSWAPD_NS, curClock - t);
      yieldAt(KSWAPD_ENTITY, curClock);
      return;
    }
  }
  const idx = kswapdPrevZoneidx;
  let finished = false;
  const got = sc.nr_reclaimed;
  bpReclaimed += got;
  // no need to raise the priority if enough was scanned to meet the high watermark
  const raise = !(sc.nr_scanned >= sc.nr_to_reclaim);
  // processes throttled on pfmemalloc_wait may go on once the low watermark is met
  if (waitqueueActive(WQ_PFMEMALLOC) && allowDirectReclaim()) wakeUpAll(WQ_PFMEMALLOC, curClock);
  if (raise || got == 0) bpPriority--;
  if (bpPriority < 1) {
    // the priority loop ran all the way: restart once with cache_trim_mode off if it failed
    // in that mode, else count a failure
    if (bpReclaimed == 0 && !bpNoCacheTrimMode && bpCacheTrimModeFailed) { bpNoCacheTrimMode = true; bpPriority = DEF_PRIORITY; }
    else {
      finished = true;
      if (bpReclaimed == 0) { kswapdFailures++; countEvent(C_MMSIM_KSWAPD_FAILURES); }
    }
  }
  countAdd(C_MMSIM_KSWAPD_NS, curClock - t);
  balanceStepDone(t, finished, idx);
}

/** The end of one balance_pgdat step at `t`: the next step, or kswapd_try_to_sleep. */
function balanceStepDone(t: i64, finished: bool, idx: i32): void {
  if (!finished) { schedule(KSWAPD_ENTITY, curClock > t ? curClock : t + 1); return; }
  // balance_pgdat done
  snapshotRefaults();
  bpActive = false;
  kswapdOrder = 0;
  // kswapd_try_to_sleep
  if (prepareKswapdSleep(idx)) {
    kswapdState = KSWAPD_NAPPING;
    schedule(KSWAPD_ENTITY, curClock + <i64>hz / 10 * jiffyNs);
  } else {
    // no nap (remaining == 0) and still unbalanced: back to balance_pgdat at once
    countEvent(C_KSWAPD_HIGH_WMARK_HIT_QUICKLY);
    schedule(KSWAPD_ENTITY, curClock > t ? curClock : t + 1);
  }
}

/** prepare_kswapd_sleep */
function prepareKswapdSleep(idx: i32): bool {
  // no process may stay throttled on pfmemalloc_wait while kswapd sleeps
  if (waitqueueActive(WQ_PFMEMALLOC)) wakeUpAll(WQ_PFMEMALLOC, curClock);
  if (kswapdFailures >= MAX_RECLAIM_RETRIES) return true;
  if (pgdatBalanced(kswapdOrder, idx)) {
    pgdatWriteback = false; pgdatDirty = false; lruvecCongested = false;   // clear_pgdat_congested
    return true;
  }
  return false;
}

/**
 * For the bench's scanning figures only (exported by the test build, assembly/testing.ts):
 * `batches` SWAP_CLUSTER_MAX batches of shrink_inactive_list — or of shrink_active_list — on
 * the anonymous LRU with kswapd's record, on an instance whose run has ended (whatever kswapd
 * was doing is dropped). The host times the call; returns the pages scanned.
 */
export function shrinkAnonBatches(active: bool, batches: i32): u64 {
  const sc = kswapdScanControl();
  sc.batch = BATCH_NONE; sc.batch_taken = 0; sc.pending = NO_FOLIO; sc.plug_n = 0;
  sc.node_stage = SN_IDLE; sc.stage = DR_IDLE; sc.stalled = false;
  sc.is_kswapd = true; sc.may_writepage = true; sc.may_unmap = true; sc.may_swap = true;
  sc.priority = DEF_PRIORITY; sc.may_deactivate_anon = true;
  let scanned: u64 = 0;
  for (let i = 0; i < batches; i++) {
    if (active) {
      shrinkActiveList(sc, SWAP_CLUSTER_MAX, LRU_ACTIVE_ANON);
      scanned += sc.batch_scanned;
      continue;
    }
    sc.batch = BATCH_ISOLATE; sc.batch_lru = LRU_INACTIVE_ANON; sc.batch_n = <i32>SWAP_CLUSTER_MAX;
    shrinkInactiveIsolate(sc);
    scanned += sc.batch_scanned;
    if (sc.batch != BATCH_DECIDE) break;             // nothing left to isolate
    if (shrinkInactiveDecide(sc) == STEP_SLEEP) {    // no free tag: submit now and finish
      swapPlugSubmit(sc, true);
      shrinkInactiveFinish(sc);
    }
    clearStop();
  }
  return scanned;
}
