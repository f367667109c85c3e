// Page reclaim (mm/vmscan.c, classic LRU): kswapd's balance_pgdat, direct reclaim's
// do_try_to_free_pages, and the shared shrink_node → shrink_lruvec → shrink_list →
// shrink_active_list / shrink_inactive_list → shrink_folio_list path, with get_scan_count's
// anon/file balance (swappiness and lru_note_cost costs, v5.9+) and the kernel's per-folio
// decisions. The pass's parameters and tallies live in one scan_control record (sc_*):
// reclaim never nests in this single-threaded simulation.
import { flags, setFlags, testFlag, setFlag, clearFlag, testClearFlag, refcount, setRefcount, prev, next,
  listDel, listAdd, listAddTail, listEmpty, PG_lru, PG_active, PG_referenced, PG_dirty, PG_writeback,
  PG_reclaim, PG_swapbacked, PG_swapcache, PG_locked, PG_mlocked, PG_workingset, PG_private } from './page';
import { pageZone, populatedZone, zoneLruSize, zoneLruAdd, wmark, zoneWatermarkOk, zoneFree, freePages, zoneReclaimablePages,
  MAX_NR_ZONES, WMARK_HIGH, WMARK_MIN, ZONE_NORMAL } from './alloc';
import { lruHead, lruSize, lruAdd, folioEvictable, folioLruList, lruNoteCost, anonCost, fileCost,
  LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE, L_HOLD, L_ACTIVE, L_INACTIVE,
  L_RET, L_SKIPPED, lruAddDrain } from './lru';
import { folioReferenced, referencedVmFlags, tryToUnmap, folioMapped } from './rmap';
import { VM_LOCKED, VM_EXEC } from './mm';
import { addToSwap, nrSwapFree, totalSwapPages, vmSwapFull, folioFreeSwap, deleteFromSwapCache, swapWritepage, swapPlugFlush, swapQueueRoom } from './swap';
import { workingsetEviction, workingsetAgeNonresident } from './workingset';
import { filemapRemoveFolio } from './filemap';
import { folioClearDirtyForIo } from './writeback';
import { wakeupFlusherThreads } from './flusher';
import { countEvent, countAdd, count } from './vmstat';
import { cfg } from './config';
import { G_SWAPPINESS, G_LAPTOP_MODE, G_COST_SCAN_PAGE, G_COST_FREE_PAGE,
  C_NR_ISOLATED_ANON, C_NR_ISOLATED_FILE, C_PGSCAN_KSWAPD, C_PGSCAN_DIRECT, C_PGSCAN_ANON, C_PGSCAN_FILE,
  C_PGSTEAL_KSWAPD, C_PGSTEAL_DIRECT, C_PGSTEAL_ANON, C_PGSTEAL_FILE, C_PGACTIVATE, C_PGDEACTIVATE, C_PGREFILL,
  C_NR_VMSCAN_IMMEDIATE_RECLAIM, C_UNEVICTABLE_PGS_SCANNED, C_MMSIM_SWAP_FULL_ACTIVATIONS,
  C_MMSIM_SHRINK_NODE_CALLS, C_PAGEOUTRUN, C_KSWAPD_LOW_WMARK_HIT_QUICKLY, C_KSWAPD_HIGH_WMARK_HIT_QUICKLY,
  C_MMSIM_KSWAPD_WAKEUPS, C_MMSIM_KSWAPD_FAILURES, C_MMSIM_KSWAPD_NS, C_MMSIM_DIRECT_RECLAIM_NS,
  C_MMSIM_KSWAPD_THROTTLED_NS, C_MMSIM_KSWAPD_THROTTLES, C_MMSIM_RECLAIM_THROTTLE_SKIPPED, C_NR_DIRTY, C_NR_WRITEBACK, C_ALLOCSTALL_DMA,
  C_NR_FREE_PAGES, C_NR_INACTIVE_ANON, C_WORKINGSET_ACTIVATE_ANON, C_WORKINGSET_ACTIVATE_FILE } from './generated/abi';
import { schedule, scheduleNoLater, cancel } from './events';
import { KSWAPD_ENTITY, curClock, setCurClock, chargeNs, jiffyNs, hz, checkAfterReclaim } from './sched';
import { deliverIrqs } from './blkdev';

export const DEF_PRIORITY: i32 = 12;
export const SWAP_CLUSTER_MAX: u64 = 32;
const MAX_RECLAIM_RETRIES: i32 = 16;

// --- struct scan_control -------------------------------------------------------------------
let sc_nr_to_reclaim: u64 = 0;
let sc_nr_reclaimed: u64 = 0;
let sc_nr_scanned: u64 = 0;
let sc_priority: i32 = DEF_PRIORITY;
let sc_may_writepage: bool = true;
let sc_may_unmap: bool = true;
let sc_may_swap: bool = true;
let sc_reclaim_idx: i32 = 0;
let sc_order: i32 = 0;
let sc_is_kswapd: bool = false;
let sc_may_deactivate_anon: bool = false;
let sc_may_deactivate_file: bool = false;
let sc_force_deactivate: bool = false;
let sc_skipped_deactivate: bool = false;
let sc_cache_trim_mode: bool = false;
let sc_file_is_tiny: bool = false;
// sc->nr, reset every shrink_node
let nr_dirty: u64 = 0; let nr_unqueued_dirty: u64 = 0; let nr_congested: u64 = 0;
let nr_writeback: u64 = 0; let nr_immediate: u64 = 0; let nr_taken: u64 = 0; let nr_file_taken: u64 = 0;
// struct reclaim_stat of one shrink_folio_list call
let st_dirty: u64 = 0; let st_unqueued_dirty: u64 = 0; let st_congested: u64 = 0; let st_writeback: u64 = 0;
let st_immediate: u64 = 0; let st_pageout: u64 = 0; let st_activate: u64 = 0;

// --- pgdat state ---------------------------------------------------------------------------
let pgdatWriteback = false;   // PGDAT_WRITEBACK
let pgdatDirty = false;       // PGDAT_DIRTY
let lruvecCongested = false;  // LRUVEC_NODE_CONGESTED
export let kswapdFailures: i32 = 0;
let refaultsSnapAnon: u64 = 0;
let refaultsSnapFile: u64 = 0;

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
  const inactive = lruSize(inactiveLru);
  const active = lruSize(inactiveLru + 1);
  const gb = (inactive + active) >> (30 - 12);
  const ratio: u64 = gb > 0 ? intSqrt64(10 * gb) : 1;
  return inactive * ratio < active;
}

function intSqrt64(x: u64): u64 {
  let r = <u64>Math.sqrt(<f64>x);
  while (r * r > x) r--;
  while ((r + 1) * (r + 1) <= x) r++;
  return r;
}

// --- isolation ---------------------------------------------------------------------------

/** isolate_lru_folios from the tail of `lru` onto `dst`; returns nr_taken, scanned in isoScanned. */
let isoScanned: u64 = 0;
function isolateLruFolios(nrToScan: u64, lru: i32, dst: i32): u64 {
  const head = lruHead(lru);
  let scanned: u64 = 0; let taken: u64 = 0;
  let skipped: i64 = 0;
  const skip = lruHead(L_SKIPPED);
  while (scanned < nrToScan && !listEmpty(head)) {
    const p = prev(head);
    if (pageZone(p) > sc_reclaim_idx) {
      listDel(p); listAddTail(p, skip); skipped++;
      continue;
    }
    scanned++;
    if (!sc_may_unmap && folioMapped(p)) { listDel(p); listAdd(p, head); continue; }
    // folio_try_get + folio_test_clear_lru; the list size follows
    countAdd(C_NR_INACTIVE_ANON + lru, -1);
    zoneLruAdd(pageZone(p), lru, -1);
    listDel(p);
    clearFlag(p, PG_lru);
    setRefcount(p, refcount(p) + 1);
    listAddTail(p, lruHead(dst));
    taken++;
  }
  // put the skipped folios back on the head of the source list, in order
  while (!listEmpty(skip)) { const p = prev(skip); listDel(p); listAdd(p, head); }
  chargeNs(<i64>(scanned * <u64>cfg(G_COST_SCAN_PAGE)));
  countAdd(lru == LRU_INACTIVE_FILE || lru == LRU_ACTIVE_FILE ? C_NR_ISOLATED_FILE : C_NR_ISOLATED_ANON, <i64>taken);
  isoScanned = scanned;
  return taken;
}

/**
 * move_folios_to_lru: give back isolated folios, dropping the isolation reference; a folio
 * whose last reference that was is freed; unevictable ones are culled. Returns folios moved.
 */
function moveFoliosToLru(list: i32): u64 {
  const head = lruHead(list);
  let moved: u64 = 0;
  while (!listEmpty(head)) {
    const p = next(head);
    listDel(p);
    const r = refcount(p) - 1;
    setRefcount(p, r);
    if (r == 0) {
      setFlags(p, 0);
      freePages(p, 0);
      continue;
    }
    lruAdd(p);
    if (testFlag(p, PG_active)) workingsetAgeNonresident(1);
    moved++;
  }
  return moved;
}

// --- shrink_active_list ----------------------------------------------------------------------

function shrinkActiveList(nrToScan: u64, lru: i32): void {
  const file = lru == LRU_ACTIVE_FILE;
  lruAddDrain();
  const taken = isolateLruFolios(nrToScan, lru, L_HOLD);
  countAdd(C_PGREFILL, <i64>isoScanned);
  let nrRotated: u64 = 0;
  let nrDeactivate: u64 = 0;
  const hold = lruHead(L_HOLD);
  while (!listEmpty(hold)) {
    const p = prev(hold);
    listDel(p);
    if (!folioEvictable(p)) { listAdd(p, lruHead(L_RET)); continue; }
    if (folioReferenced(p) > 0) {
      // executable file pages get another trip on the active list
      if ((referencedVmFlags & VM_EXEC) != 0 && !testFlag(p, PG_swapbacked)) {
        nrRotated++;
        listAdd(p, lruHead(L_ACTIVE));
        continue;
      }
    }
    clearFlag(p, PG_active);
    setFlag(p, PG_workingset);
    listAdd(p, lruHead(L_INACTIVE));
    nrDeactivate++;
  }
  moveFoliosToLru(L_ACTIVE);
  moveFoliosToLru(L_INACTIVE);
  moveFoliosToLru(L_RET);
  countAdd(file ? C_NR_ISOLATED_FILE : C_NR_ISOLATED_ANON, -<i64>taken);
  countAdd(C_PGDEACTIVATE, <i64>nrDeactivate);
  lruNoteCost(file, 0, nrRotated);
}

// --- shrink_folio_list -----------------------------------------------------------------------

const FOLIOREF_RECLAIM: i32 = 0;
const FOLIOREF_RECLAIM_CLEAN: i32 = 1;
const FOLIOREF_KEEP: i32 = 2;
const FOLIOREF_ACTIVATE: i32 = 3;

/** folio_check_references */
function folioCheckReferences(p: u32): i32 {
  const referencedPtes = folioReferenced(p);
  const vmf = referencedVmFlags;
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

/** The decision sequence of shrink_folio_list for one isolated folio. */
function shrinkFolio(p: u32): i32 {
  if (testFlag(p, PG_locked)) return OUT_KEEP;                    // folio_trylock failed
  sc_nr_scanned++;
  if (!folioEvictable(p)) return OUT_ACTIVATE;
  if (!sc_may_unmap && folioMapped(p)) return OUT_KEEP;
  const file = !testFlag(p, PG_swapbacked);
  // folio_check_dirty_writeback (file folios only)
  if (file) {
    const dirty = testFlag(p, PG_dirty); const wb = testFlag(p, PG_writeback);
    if (dirty || wb) st_dirty++;
    if (dirty && !wb) st_unqueued_dirty++;
    if (wb && testFlag(p, PG_reclaim)) st_congested++;
  }
  if (testFlag(p, PG_writeback)) {
    if (sc_is_kswapd && testFlag(p, PG_reclaim) && pgdatWriteback) { st_immediate++; return OUT_ACTIVATE; }
    setFlag(p, PG_reclaim);            // free it as soon as its IO completes
    st_writeback++;
    return OUT_ACTIVATE;
  }
  const references = folioCheckReferences(p);
  if (references == FOLIOREF_ACTIVATE) return OUT_ACTIVATE;
  if (references == FOLIOREF_KEEP) return OUT_KEEP;
  // anonymous: give it a swap slot first
  if (!file && !testFlag(p, PG_swapcache)) {
    if (!addToSwap(p)) { countEvent(C_MMSIM_SWAP_FULL_ACTIVATIONS); return OUT_ACTIVATE; }
  }
  if (folioMapped(p)) {
    tryToUnmap(p);
    if (folioMapped(p)) return OUT_ACTIVATE;
  }
  if (testFlag(p, PG_dirty)) {
    if (file) {
      // only the flushers write page cache; mark it to be freed when they have
      countEvent(C_NR_VMSCAN_IMMEDIATE_RECLAIM);
      setFlag(p, PG_reclaim);
      return OUT_ACTIVATE;
    }
    if (references == FOLIOREF_RECLAIM_CLEAN) return OUT_KEEP;
    if (!sc_may_writepage) return OUT_KEEP;
    // pageout → swap_writepage. is_page_cache_freeable: isolation + swap cache references only
    const expected = 2 + (testFlag(p, PG_private) ? 1 : 0);
    if (refcount(p) != expected) return OUT_KEEP;
    if (swapQueueRoom() == 0) return OUT_KEEP;
    if (folioClearDirtyForIo(p)) {
      setFlag(p, PG_reclaim);
      swapWritepage(p);
      st_pageout++;
      return OUT_KEEP;                 // IO in flight: it will rotate to the tail when done
    }
  }
  // __remove_mapping: freeze the refcount from exactly isolation + cache
  if (refcount(p) != 2 || testFlag(p, PG_dirty)) return OUT_KEEP;
  const shadow = workingsetEviction(p);
  if (testFlag(p, PG_swapcache)) deleteFromSwapCache(p, shadow);
  else if (file) filemapRemoveFolio(p, shadow);
  else return OUT_KEEP;
  setRefcount(p, 0);
  setFlags(p, 0);
  freePages(p, 0);
  chargeNs(<i64>cfg(G_COST_FREE_PAGE));
  return OUT_FREE;
}

function shrinkFolioList(list: i32): u64 {
  st_dirty = 0; st_unqueued_dirty = 0; st_congested = 0; st_writeback = 0;
  st_immediate = 0; st_pageout = 0; st_activate = 0;
  let reclaimed: u64 = 0;
  const head = lruHead(list);
  const ret = lruHead(L_RET);
  while (!listEmpty(head)) {
    const p = next(head);
    listDel(p);
    const out = shrinkFolio(p);
    if (out == OUT_FREE) { reclaimed++; continue; }
    if (out == OUT_ACTIVATE) {
      // activate_locked: don't keep swap slots for pages staying in memory when swap is short
      if (testFlag(p, PG_swapcache) && (vmSwapFull() || testFlag(p, PG_mlocked))) folioFreeSwap(p);
      if (!testFlag(p, PG_mlocked)) { setFlag(p, PG_active); st_activate++; }
    }
    listAddTail(p, ret);
  }
  swapPlugFlush();
  countAdd(C_PGACTIVATE, <i64>st_activate);
  return reclaimed;
}

// --- shrink_inactive_list --------------------------------------------------------------------

function shrinkInactiveList(nrToScan: u64, lru: i32): u64 {
  const file = lru == LRU_INACTIVE_FILE;
  lruAddDrain();
  const taken = isolateLruFolios(nrToScan, lru, L_HOLD);
  const scanned = isoScanned;
  countAdd(sc_is_kswapd ? C_PGSCAN_KSWAPD : C_PGSCAN_DIRECT, <i64>scanned);
  countAdd(file ? C_PGSCAN_FILE : C_PGSCAN_ANON, <i64>scanned);
  if (taken == 0) return 0;
  const reclaimed = shrinkFolioList(L_HOLD);
  moveFoliosToLru(L_RET);
  countAdd(file ? C_NR_ISOLATED_FILE : C_NR_ISOLATED_ANON, -<i64>taken);
  countAdd(sc_is_kswapd ? C_PGSTEAL_KSWAPD : C_PGSTEAL_DIRECT, <i64>reclaimed);
  countAdd(file ? C_PGSTEAL_FILE : C_PGSTEAL_ANON, <i64>reclaimed);
  sc_nr_reclaimed += reclaimed;
  lruNoteCost(file, st_pageout, scanned - reclaimed);
  // every isolated page was dirty and not queued for IO: the flushers are behind
  if (st_unqueued_dirty == taken) wakeupFlusherThreads();
  nr_dirty += st_dirty; nr_congested += st_congested; nr_unqueued_dirty += st_unqueued_dirty;
  nr_writeback += st_writeback; nr_immediate += st_immediate; nr_taken += taken;
  if (file) nr_file_taken += taken;
  return reclaimed;
}

function shrinkList(lru: i32, n: u64): u64 {
  if (lru == LRU_ACTIVE_ANON || lru == LRU_ACTIVE_FILE) {
    const may = lru == LRU_ACTIVE_FILE ? sc_may_deactivate_file : sc_may_deactivate_anon;
    if (may) shrinkActiveList(n, lru);
    else sc_skipped_deactivate = true;
    return 0;
  }
  return shrinkInactiveList(n, lru);
}

// --- get_scan_count / shrink_lruvec / shrink_node --------------------------------------------

const nrScan: usize = memory.data(4 * 8);
const targets: usize = memory.data(4 * 8);
@inline function nrAt(a: usize, l: i32): u64 { return load<u64>(a + (<usize>l << 3)); }
@inline function setNrAt(a: usize, l: i32, v: u64): void { store<u64>(a + (<usize>l << 3), v); }

const SCAN_EQUAL: i32 = 0; const SCAN_FRACT: i32 = 1; const SCAN_ANON: i32 = 2; const SCAN_FILE: i32 = 3;

/** get_scan_count: how many pages of each evictable list this priority scans. */
function getScanCount(): void {
  const swp = swappiness();
  let balance = SCAN_FRACT;
  let ap: u64 = 0; let fp: u64 = 0;
  if (!sc_may_swap || !canReclaimAnon()) balance = SCAN_FILE;
  else if (sc_priority == 0 && swp != 0) balance = SCAN_EQUAL;
  else if (sc_file_is_tiny) balance = SCAN_ANON;
  else if (sc_cache_trim_mode) balance = SCAN_FILE;
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
    const size = lruvecLruSize(lru, sc_reclaim_idx);
    let scan = size >> <u64>sc_priority;
    if (balance == SCAN_FRACT) scan = denominator > 0 ? scan * (file ? fp : ap) / denominator : 0;
    else if (balance == SCAN_FILE) { if (!file) scan = 0; }
    else if (balance == SCAN_ANON) { if (file) scan = 0; }
    setNrAt(nrScan, lru, scan);
  }
}

/** shrink_lruvec */
function shrinkLruvec(): void {
  getScanCount();
  for (let l = 0; l < 4; l++) setNrAt(targets, l, nrAt(nrScan, l));
  const proportional = !sc_is_kswapd && sc_priority == DEF_PRIORITY;
  let reclaimed: u64 = 0;
  const before = sc_nr_reclaimed;
  while (nrAt(nrScan, LRU_INACTIVE_ANON) != 0 || nrAt(nrScan, LRU_ACTIVE_FILE) != 0 || nrAt(nrScan, LRU_INACTIVE_FILE) != 0) {
    for (let lru = 0; lru < 4; lru++) {
      const left = nrAt(nrScan, lru);
      if (left == 0) continue;
      const n = left < SWAP_CLUSTER_MAX ? left : SWAP_CLUSTER_MAX;
      setNrAt(nrScan, lru, left - n);
      shrinkList(lru, n);
    }
    reclaimed = sc_nr_reclaimed - before;
    if (reclaimed < sc_nr_to_reclaim || proportional) continue;
    // Enough: stop the smaller type and scale the other to the same share of its target.
    const nrFile = nrAt(nrScan, LRU_INACTIVE_FILE) + nrAt(nrScan, LRU_ACTIVE_FILE);
    const nrAnon = nrAt(nrScan, LRU_INACTIVE_ANON) + nrAt(nrScan, LRU_ACTIVE_ANON);
    if (nrFile == 0 || nrAnon == 0) break;
    let stop: i32; let other: i32; let percentage: u64;
    if (nrFile > nrAnon) {
      const t = nrAt(targets, LRU_INACTIVE_ANON) + nrAt(targets, LRU_ACTIVE_ANON) + 1;
      stop = LRU_INACTIVE_ANON; other = LRU_INACTIVE_FILE; percentage = nrAnon * 100 / t;
    } else {
      const t = nrAt(targets, LRU_INACTIVE_FILE) + nrAt(targets, LRU_ACTIVE_FILE) + 1;
      stop = LRU_INACTIVE_FILE; other = LRU_INACTIVE_ANON; percentage = nrFile * 100 / t;
    }
    setNrAt(nrScan, stop, 0); setNrAt(nrScan, stop + 1, 0);
    for (let k = 0; k < 2; k++) {
      const l = other + k;
      const done = nrAt(targets, l) - nrAt(nrScan, l);
      let v = nrAt(targets, l) * (100 - percentage) / 100;
      v -= v < done ? v : done;
      setNrAt(nrScan, l, v);
    }
  }
  // keep aging anon even when only file was reclaimed
  if (canAgeAnon() && inactiveIsLow(LRU_INACTIVE_ANON)) shrinkActiveList(SWAP_CLUSTER_MAX, LRU_ACTIVE_ANON);
}

/** prepare_scan_control (classic LRU, global reclaim) */
function prepareScanControl(): void {
  const refaultsAnon = count(C_WORKINGSET_ACTIVATE_ANON);
  const refaultsFile = count(C_WORKINGSET_ACTIVATE_FILE);
  if (sc_force_deactivate) { sc_may_deactivate_anon = true; sc_may_deactivate_file = true; }
  else {
    sc_may_deactivate_anon = refaultsAnon != refaultsSnapAnon || inactiveIsLow(LRU_INACTIVE_ANON);
    sc_may_deactivate_file = refaultsFile != refaultsSnapFile || inactiveIsLow(LRU_INACTIVE_FILE);
  }
  sc_cache_trim_mode = (lruSize(LRU_INACTIVE_FILE) >> <u64>sc_priority) != 0 && !sc_may_deactivate_file &&
    !(sc_is_kswapd && bpNoCacheTrimMode);
  const free = count(C_NR_FREE_PAGES);
  const file = lruSize(LRU_ACTIVE_FILE) + lruSize(LRU_INACTIVE_FILE);
  let totalHigh: u64 = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) if (populatedZone(z)) totalHigh += <u64>wmark(z, WMARK_HIGH);
  const anon = lruSize(LRU_INACTIVE_ANON);
  sc_file_is_tiny = file + free <= totalHigh && !sc_may_deactivate_anon && (anon >> <u64>sc_priority) != 0;
}

function snapshotRefaults(): void {
  refaultsSnapAnon = count(C_WORKINGSET_ACTIVATE_ANON);
  refaultsSnapFile = count(C_WORKINGSET_ACTIVATE_FILE);
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

/**
 * reclaim_throttle for VMSCAN_THROTTLE_CONGESTED and _NOPROGRESS (a jiffy) from direct reclaim.
 * A task in direct reclaim cannot sleep inside this synchronous call, so reclaim stops and asks
 * the caller to put the task to sleep for the jiffy and retry the allocation afterwards (see
 * allocPagesSlowpath). kswapd's own throttle is reclaimThrottleWriteback.
 */
export let directThrottleNs: i64 = 0;
function reclaimThrottleNoprogress(): void {
  if (skipThrottleNoprogress()) { countEvent(C_MMSIM_RECLAIM_THROTTLE_SKIPPED); return; }
  if (jiffyNs > directThrottleNs) directThrottleNs = jiffyNs;
}

// reclaim_throttle(VMSCAN_THROTTLE_WRITEBACK) of kswapd: it sleeps HZ/10, or until more than
// SWAP_CLUSTER_MAX pages have finished writeback since it started waiting (acctReclaimWriteback).
// Its balance_pgdat step resumes when it wakes (kswapdRun).
let kswapdWbThrottled = false;
let kswapdThrottleStart: i64 = 0;
let kswapdThrottleUntil: i64 = 0;
let throttledWritten: u64 = 0;     // NR_THROTTLED_WRITTEN since the sleep began
let throttledFinished = false;     // the balance_pgdat step's outcome, applied on waking
let throttledIdx: i32 = 0;
function reclaimThrottleWriteback(): void {
  if (kswapdWbThrottled) return;
  kswapdWbThrottled = true;
  countEvent(C_MMSIM_KSWAPD_THROTTLES);
  kswapdThrottleStart = curClock;
  kswapdThrottleUntil = curClock + jiffyNs * <i64>hz / 10;
  throttledWritten = 0;
}

/** __acct_reclaim_writeback, from folio_end_writeback at `now`: wake kswapd's throttle early. */
export function acctReclaimWriteback(now: i64): void {
  if (!kswapdWbThrottled) return;
  throttledWritten++;
  if (throttledWritten > SWAP_CLUSTER_MAX) scheduleNoLater(KSWAPD_ENTITY, now > kswapdThrottleStart ? now : kswapdThrottleStart);
}

/** shrink_node: one pass over the node's lruvec, then the congestion/writeback bookkeeping. */
function shrinkNode(): void {
  countEvent(C_MMSIM_SHRINK_NODE_CALLS);
  // a pass costs at least one batch's worth of scanning, even when every list is empty or
  // every page is busy: otherwise a kswapd that cannot progress would spin in zero time
  chargeNs(<i64>(SWAP_CLUSTER_MAX * <u64>cfg(G_COST_SCAN_PAGE)));
  nr_dirty = 0; nr_unqueued_dirty = 0; nr_congested = 0; nr_writeback = 0; nr_immediate = 0;
  nr_taken = 0; nr_file_taken = 0;
  const reclaimed0 = sc_nr_reclaimed;
  prepareScanControl();
  shrinkLruvec();
  const reclaimable = sc_nr_reclaimed > reclaimed0;
  if (sc_is_kswapd) {
    if (nr_writeback != 0 && nr_writeback == nr_taken) pgdatWriteback = true;
    if (nr_unqueued_dirty == nr_file_taken) pgdatDirty = true;
    if (nr_immediate != 0) reclaimThrottleWriteback();    // VMSCAN_THROTTLE_WRITEBACK
  }
  if (nr_dirty != 0 && nr_dirty == nr_congested && sc_is_kswapd) lruvecCongested = true;
  if (!sc_is_kswapd && lruvecCongested) reclaimThrottleNoprogress();     // VMSCAN_THROTTLE_CONGESTED
  if (reclaimable) kswapdFailures = 0;
  else if (sc_cache_trim_mode && sc_is_kswapd) bpCacheTrimModeFailed = true;
  checkAfterReclaim();
}

// --- direct reclaim ---------------------------------------------------------------------------

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

/** try_to_free_pages → do_try_to_free_pages for the current task. Returns pages reclaimed. */
export function tryToFreePages(order: i32, highestZoneidx: i32): u64 {
  const t0 = curClock;
  sc_nr_to_reclaim = SWAP_CLUSTER_MAX;
  sc_may_writepage = !laptopMode();
  sc_may_unmap = true; sc_may_swap = true;
  sc_reclaim_idx = highestZoneidx > ZONE_NORMAL ? ZONE_NORMAL : highestZoneidx;
  sc_order = order;
  sc_is_kswapd = false;
  sc_force_deactivate = false;
  let result: u64 = 0;
  directThrottleNs = 0;
  sc_skipped_deactivate = false;
  // up to three passes: the first; one more as the memcg full walk (a whole second sweep even
  // without memcgs); a last one forcing deactivation if some active list was skipped
  for (let pass = 0; pass < 3; pass++) {
    countEvent(C_ALLOCSTALL_DMA + highestZoneidx);     // counted on every pass (retry:)
    sc_nr_reclaimed = 0; sc_nr_scanned = 0;
    sc_priority = DEF_PRIORITY;
    do {
      shrinkNode();
      // IO completes while we scan: deliver the completions now due (interrupts)
      deliverIrqs(curClock);
      if (sc_nr_reclaimed >= sc_nr_to_reclaim) break;
      // consider_reclaim_throttle: no progress at high priority → VMSCAN_THROTTLE_NOPROGRESS
      if (sc_priority == 1 && sc_nr_reclaimed == 0) reclaimThrottleNoprogress();
      if (directThrottleNs > 0) break;
      if (sc_priority < DEF_PRIORITY - 2) sc_may_writepage = true;
      sc_priority--;
    } while (sc_priority >= 0);
    if (directThrottleNs > 0) { snapshotRefaults(); result = sc_nr_reclaimed; break; }
    snapshotRefaults();
    result = sc_nr_reclaimed;
    if (result != 0) break;
    if (pass == 0) continue;                    // !sc->memcg_full_walk: walk again
    // nothing reclaimed with some active list skipped: retry forcing deactivation
    if (pass == 2 || !sc_skipped_deactivate) break;
    sc_force_deactivate = true; sc_skipped_deactivate = false;
  }
  sc_force_deactivate = false;
  countAdd(C_MMSIM_DIRECT_RECLAIM_NS, curClock - t0);
  return result;
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
export let kswapdClock: i64 = 0;

export function vmscanInit(): void {
  kswapdState = KSWAPD_SLEEPING; bpActive = false; kswapdFailures = 0;
  kswapdOrder = 0; kswapdHighestZoneidx = -1; kswapdPrevZoneidx = ZONE_NORMAL;
  pgdatWriteback = false; pgdatDirty = false; lruvecCongested = false;
  refaultsSnapAnon = 0; refaultsSnapFile = 0;
  bpCacheTrimModeFailed = false; bpNoCacheTrimMode = false;
  kswapdWbThrottled = false; throttledWritten = 0;
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
  const idx = highestZoneidx > ZONE_NORMAL ? ZONE_NORMAL : highestZoneidx;
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
 * in progress). NAPPING: the HZ/10 nap of kswapd_try_to_sleep ended.
 */
export function kswapdRun(t: i64): void {
  setCurClock(t);
  if (kswapdWbThrottled) {
    // woken from reclaim_throttle(WRITEBACK): by the timeout, or early by writeback completions
    if (t < kswapdThrottleUntil && throttledWritten <= SWAP_CLUSTER_MAX) { schedule(KSWAPD_ENTITY, kswapdThrottleUntil); return; }
    kswapdWbThrottled = false;
    countAdd(C_MMSIM_KSWAPD_THROTTLED_NS, t - kswapdThrottleStart);
    balanceStepDone(t, throttledFinished, throttledIdx);
    return;
  }
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
  let finished = false;
  if (pgdatBalanced(kswapdOrder, idx)) finished = true;   // goto out
  else {
    sc_is_kswapd = true;
    sc_priority = bpPriority;
    sc_reclaim_idx = idx;
    sc_order = kswapdOrder;
    sc_may_writepage = !laptopMode() || bpPriority < DEF_PRIORITY - 2;
    sc_may_unmap = true; sc_may_swap = true;
    sc_force_deactivate = false;
    // kswapd_age_node
    if (canAgeAnon() && inactiveIsLow(LRU_INACTIVE_ANON)) shrinkActiveList(SWAP_CLUSTER_MAX, LRU_ACTIVE_ANON);
    // kswapd_shrink_node
    sc_nr_to_reclaim = 0;
    for (let z = 0; z <= idx; z++) if (populatedZone(z)) {
      const h = <u64>wmark(z, WMARK_HIGH);
      sc_nr_to_reclaim += h > SWAP_CLUSTER_MAX ? h : SWAP_CLUSTER_MAX;
    }
    sc_nr_scanned = 0;
    sc_nr_reclaimed = 0;
    shrinkNode();
    const got = sc_nr_reclaimed;
    bpReclaimed += got;
    let raise = !(sc_nr_scanned >= sc_nr_to_reclaim);
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
  }
  countAdd(C_MMSIM_KSWAPD_NS, curClock - t);
  if (kswapdWbThrottled) {
    // asleep in reclaim_throttle: the step ends when it wakes
    throttledFinished = finished; throttledIdx = idx;
    schedule(KSWAPD_ENTITY, kswapdThrottleUntil);
    return;
  }
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
  if (kswapdFailures >= MAX_RECLAIM_RETRIES) return true;
  if (pgdatBalanced(kswapdOrder, idx)) {
    pgdatWriteback = false; pgdatDirty = false; lruvecCongested = false;   // clear_pgdat_congested
    return true;
  }
  return false;
}

