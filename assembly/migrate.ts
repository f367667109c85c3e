// Page migration (mm/migrate.c, as of ≈ v6.7: read at torvalds/linux 0003e2a4) for order-0 LRU
// folios — anonymous, swap cache and page cache — as the FOLL_LONGTERM pin path calls it
// (gup.ts: check_and_migrate_movable_pages → migrate_pages(..., alloc_migration_target,
// MIGRATE_SYNC, MR_LONGTERM_PIN)). THP, hugetlb, movable_ops pages and memcg charges are not
// modelled (every user folio here is order 0, and there are no memcgs).
//
// migrate_pages in MIGRATE_SYNC mode is migrate_pages_sync: first the whole list in
// MIGRATE_ASYNC batches (NR_MAX_MIGRATE_ASYNC_RETRY passes: every folio unmapped, then every
// unmapped one moved), then each folio that failed, one at a time, in MIGRATE_SYNC
// (NR_MAX_MIGRATE_SYNC_RETRY passes) — NR_MAX_MIGRATE_PAGES_RETRY = 10 tries in all. A folio
// is: its target allocated (alloc_migration_target, outside ZONE_MOVABLE under
// PF_MEMALLOC_PIN), locked, its writeback waited for, unmapped into migration entries
// (try_to_migrate), moved — folio_migrate_mapping's refcount freeze, which an extra reference
// such as a pin makes -EAGAIN, the page-cache or swap-cache slot, buffers
// (buffer_migrate_folio), flags (folio_migrate_flags) and the data — then its PTEs point at the
// new frame (remove_migration_ptes) and the old one is freed.
//
// The kernel sleeps here (MIGRATE_SYNC's folio_lock and folio_wait_writeback, the target's
// allocation in direct reclaim, a blockable notifier callback in try_to_migrate_one), and so
// does this: where a step sleeps, the caller unwinds (MIGRATE_SLEEPS, stopNow) and calls
// migratePagesRun again when the task runs; the call's state is in the task's MigrateControl
// (the kernel's stack frame), so the next call goes on from the same folio and step. MIGRATE_ASYNC
// trylocks and does not wait for writeback, as the kernel's does. Between folios the call yields
// to earlier events (cond_resched).
import { regionAlloc } from './mem';
import { cfg } from './config';
import { G_COST_ZERO_FILL, C_PGMIGRATE_SUCCESS, C_PGMIGRATE_FAIL, C_NR_ISOLATED_ANON, C_NR_ISOLATED_FILE, C_MMSIM_MIGRATE_SLEEPS } from './generated/abi';
import { flags, setFlags, testFlag, setFlag, clearFlag, refcount, setRefcount, mapping, setMapping, pageIndex, setPageIndex,
  pagePrivate, setPagePrivate, MAPPING_ANON, PG_locked, PG_writeback, PG_private, PG_swapbacked, PG_swapcache, PG_dirty,
  PG_active, PG_unevictable, PG_referenced, PG_uptodate, PG_workingset, PG_readahead, PG_mlocked, PG_anon_exclusive, PG_idle, PG_young,
  PG_mmsim_cleaned, PAGECACHE_TAG_TOWRITE } from './page';
import { allocPages, folioPut, NO_PAGE, ZONE_NORMAL } from './alloc';
import { folioAddLru, lruAddDrain } from './lru';
import { folioIsolateLru, folioPutbackLru } from './vmscan';
import { tryToMigrate, removeMigrationPtes, folioMapped, rmapWalkAbandon, rmapWalkSleeping } from './rmap';
import { folioWaitLock, folioWaitWriteback, folioUnlock, filemapReplaceFolio } from './filemap';
import { swapCacheReplace } from './swap';
import { tryToFreeBuffers } from './buffer';
import { folioHeldAcrossSleep, folioLockReleased } from './locking';
import { mmuNotifierAbandon } from './mmu_notifier';
import { countAdd, countEvent } from './vmstat';
import { stopNow, mustYield, yieldAt } from './wait';
import { curClock, chargeNs } from './sched';

/** enum migrate_mode (MIGRATE_SYNC_LIGHT is not used by this caller) */
export const MIGRATE_ASYNC: i32 = 0;
export const MIGRATE_SYNC: i32 = 2;
/** NR_MAX_BATCHED_MIGRATION (HPAGE_PMD_NR): migrate_pages takes the list in batches of this many. */
export const MIGRATE_BATCH: i32 = 512;
const NR_MAX_MIGRATE_PAGES_RETRY: i32 = 10;
const NR_MAX_MIGRATE_ASYNC_RETRY: i32 = 3;
const NR_MAX_MIGRATE_SYNC_RETRY: i32 = NR_MAX_MIGRATE_PAGES_RETRY - NR_MAX_MIGRATE_ASYNC_RETRY;

// return codes (the kernel's errnos, negative), and MIGRATEPAGE_*
const MIGRATEPAGE_SUCCESS: i32 = 0;
const MIGRATEPAGE_UNMAP: i32 = 1;
const EAGAIN: i32 = -11;
const ENOMEM: i32 = -12;
const EBUSY: i32 = -16;
/** migratePagesRun's answer while the call sleeps or yields (stopNow) */
export const MIGRATE_SLEEPS: i32 = 0x7FFF_FFFF;

// where a folio of the list is (the kernel's lists: from, unmap_folios, ret_folios)
const FS_FROM: u32 = 0;       // on `from`: to be tried
const FS_UNMAPPED: u32 = 1;   // on unmap_folios, its target on dst_folios: to be moved
const FS_RET: u32 = 2;        // put on ret_folios by the ASYNC batch: retried one by one in SYNC
const FS_DONE: u32 = 3;       // migrated (or freed under us): gone from the list
const FS_KEPT: u32 = 4;       // given up on: the caller puts it back (putback_movable_pages)

// the stages of migrate_pages (migrate_pages_sync)
const MS_IDLE: i32 = 0;
const MS_ASYNC_UNMAP: i32 = 1;   // migrate_pages_batch(ASYNC): the unmap loop
const MS_ASYNC_MOVE: i32 = 2;    // ... the move loop
const MS_SYNC_UNMAP: i32 = 3;    // migrate_pages_batch(SYNC) of one folio: the unmap loop
const MS_SYNC_MOVE: i32 = 4;     // ... the move loop
const MS_DONE: i32 = 5;

// where migrate_folio_unmap of the folio in progress stands (it may sleep at each)
const US_START: i32 = 0;      // the freed-under-us check and the target's allocation
const US_LOCK: i32 = 1;       // folio_trylock / folio_lock
const US_WRITEBACK: i32 = 2;  // folio_wait_writeback
const US_UNMAP: i32 = 3;      // try_to_migrate

/**
 * One task's migrate_pages call (the kernel keeps it on the stack: the lists, the passes'
 * counters, struct migrate_pages_stats, and migrate_folio_unmap's locals for the folio it
 * works on).
 */
@unmanaged export class MigrateControl {
  stage: i32;
  /** the folios: per entry, u32 src, u32 dst (its target once unmapped), u32 FS_* | page_was_mapped << 8 */
  list: usize;
  n: i32;
  /** the entity that migrates (the pinning task) */
  entity: i32;
  /** migrate_pages_batch's loop: its pass, the folio it is at, retry and nr_retry_pages of the pass */
  pass: i32;
  idx: i32;
  retry: i32;
  passRetry: i32;
  nrRetryPages: i32;
  passStarted: bool;
  /** the batch's nr_failed, rc_saved */
  nrFailed: i32;
  rcSaved: i32;
  /** the SYNC round: 0 = the folios the ASYNC batch left on `from`, 1 = those it put on ret_folios */
  syncRound: i32;
  /** migrate_pages' result so far (rc_gather) */
  rcGather: i32;
  /** struct migrate_pages_stats; astats (the ASYNC batch's): only its nr_failed_pages is kept apart */
  nrSucceeded: i32;
  nrFailedPages: i32;
  asyncFailedPages: i32;
  /** migrate_folio_unmap of the folio in progress: US_*, its target, src locked, page_was_mapped, try_to_migrate under way */
  step: i32;
  dst: u32;
  locked: bool;
  wasMapped: bool;
  unmapping: bool;
  /** it sleeps holding src's lock (folioHeldAcrossSleep told) */
  heldAcross: bool;
}

const MC_BYTES: usize = (offsetof<MigrateControl>() + 7) & ~(<usize>7);
const ENTRY_BYTES: usize = 12;
let controls: usize = 0;

@inline export function migrateControlOf(t: i32): MigrateControl { return changetype<MigrateControl>(controls + <usize>t * MC_BYTES); }
@inline function entryAt(mc: MigrateControl, i: i32): usize { return mc.list + <usize>i * ENTRY_BYTES; }
@inline function srcOf(mc: MigrateControl, i: i32): u32 { return load<u32>(entryAt(mc, i)); }
@inline function dstOf(mc: MigrateControl, i: i32): u32 { return load<u32>(entryAt(mc, i), 4); }
@inline function stateOf(mc: MigrateControl, i: i32): u32 { return load<u32>(entryAt(mc, i), 8) & 0xFF; }
@inline function wasMappedOf(mc: MigrateControl, i: i32): bool { return (load<u32>(entryAt(mc, i), 8) >> 8) != 0; }
@inline function setState(mc: MigrateControl, i: i32, st: u32): void { store<u32>(entryAt(mc, i), (load<u32>(entryAt(mc, i), 8) & ~0xFF) | st, 8); }

/** One record per task; the tasks that migrate get their list from migrateListAlloc. */
export function migrateInit(tasks: i32): bool {
  controls = regionAlloc(<u64>(tasks + 1) * <u64>MC_BYTES);
  if (controls == 0) return false;
  for (let t = 0; t < tasks; t++) { const mc = migrateControlOf(t); mc.stage = MS_IDLE; mc.n = 0; mc.list = 0; }
  return true;
}

/** Task `t` may migrate (it has a FOLL_LONGTERM dma phase and ZONE_MOVABLE has memory): its list of MIGRATE_BATCH folios. */
export function migrateListAlloc(t: i32): bool {
  const mc = migrateControlOf(t);
  if (mc.list == 0) mc.list = regionAlloc(<u64>MIGRATE_BATCH * <u64>ENTRY_BYTES);
  return mc.list != 0;
}

/** NR_ISOLATED_ANON + folio_is_file_lru(folio) */
@inline function isolatedCounter(p: u32): i32 { return testFlag(p, PG_swapbacked) ? C_NR_ISOLATED_ANON : C_NR_ISOLATED_FILE; }

/** An empty movable_page_list for task `t`. */
export function migrateListReset(t: i32): void { migrateControlOf(t).n = 0; }

/**
 * folio_isolate_lru + list_add_tail(movable_page_list) + node_stat_mod_folio(NR_ISOLATED_*):
 * `p` joins task `t`'s list. False if it is on no LRU list (or the list is full).
 */
export function migrateIsolate(t: i32, p: u32): bool {
  const mc = migrateControlOf(t);
  if (mc.n >= MIGRATE_BATCH || !folioIsolateLru(p)) return false;
  const a = entryAt(mc, mc.n);
  store<u32>(a, p); store<u32>(a, NO_PAGE, 4); store<u32>(a, FS_FROM, 8);
  mc.n++;
  countAdd(isolatedCounter(p), 1);
  return true;
}

/** Folios on task `t`'s list. */
export function migrateListLen(t: i32): i32 { return migrateControlOf(t).n; }

/** Is a migrate_pages call of task `t` under way (asleep, or yielded)? */
export function migrateInProgress(t: i32): bool { const st = migrateControlOf(t).stage; return st != MS_IDLE && st != MS_DONE; }

/** migrate_pages(list, alloc_migration_target, MIGRATE_SYNC, MR_LONGTERM_PIN) by task `t` as entity `e`: set up the call. */
export function migratePagesStart(t: i32, e: i32): void {
  const mc = migrateControlOf(t);
  mc.entity = e;
  mc.nrSucceeded = 0; mc.nrFailedPages = 0; mc.asyncFailedPages = 0; mc.rcGather = 0;
  mc.step = US_START; mc.locked = false; mc.wasMapped = false; mc.unmapping = false; mc.heldAcross = false; mc.dst = NO_PAGE;
  batchStart(mc, MS_ASYNC_UNMAP);
}

/** migrate_pages_batch's start: its loop from the first pass, nothing failed yet. */
function batchStart(mc: MigrateControl, stage: i32): void {
  mc.stage = stage;
  mc.pass = 0; mc.idx = 0; mc.retry = 1; mc.passStarted = false;
  mc.nrFailed = 0; mc.rcSaved = 0;
}

/** The move loop of the same batch: again from the first pass. */
function moveLoopStart(mc: MigrateControl, stage: i32): void {
  mc.stage = stage;
  mc.pass = 0; mc.idx = 0; mc.retry = 1; mc.passStarted = false;
}

// --- migrate_folio_unmap -----------------------------------------------------------------------

/** migrate_folio_done: the isolation's NR_ISOLATED_* and its reference go (the last: the folio is freed). */
function migrateFolioDone(p: u32): void {
  countAdd(isolatedCounter(p), -1);
  folioPut(p);
}

/** folio_unlock of the source, and the waits for it in the wait-for graph end. */
function unlockSrc(mc: MigrateControl, p: u32): void {
  folioUnlock(p, curClock);
  if (mc.heldAcross) { mc.heldAcross = false; folioLockReleased(mc.entity, curClock); }
  mc.locked = false;
}

/** It sleeps holding the source's lock: a task that waits for the folio waits for it. */
function sleepLocked(mc: MigrateControl, p: u32): void {
  if (mc.heldAcross) return;
  mc.heldAcross = true;
  folioHeldAcrossSleep(mc.entity, p);
}

/**
 * migrate_folio_unmap's `out`: migrate_folio_undo_src (the migration entries made so far point
 * at the source again, its lock goes) and migrate_folio_undo_dst (the target is freed).
 */
function unmapUndo(mc: MigrateControl, src: u32, rc: i32): i32 {
  if (mc.wasMapped) removeMigrationPtes(src, src);
  if (mc.locked) unlockSrc(mc, src);
  if (mc.dst != NO_PAGE) { folioPut(mc.dst); mc.dst = NO_PAGE; }
  mc.step = US_START; mc.wasMapped = false; mc.unmapping = false;
  return rc;
}

/**
 * migrate_folio_unmap for entry `i` in `mode`: MIGRATEPAGE_SUCCESS (the folio was freed from
 * under us), MIGRATEPAGE_UNMAP (locked and unmapped, its target recorded), -EAGAIN, -EBUSY
 * (writeback in ASYNC), -ENOMEM (no target), or MIGRATE_SLEEPS.
 */
function migrateFolioUnmap(mc: MigrateControl, i: i32, mode: i32): i32 {
  const rc = migrateFolioUnmapStep(mc, i, mode);
  if (rc == MIGRATE_SLEEPS) countEvent(C_MMSIM_MIGRATE_SLEEPS);
  return rc;
}

function migrateFolioUnmapStep(mc: MigrateControl, i: i32, mode: i32): i32 {
  const src = srcOf(mc, i);
  const e = mc.entity;
  if (mc.step == US_START) {
    if (refcount(src) == 1) {
      // the folio was freed from under us: we are done
      clearFlag(src, PG_active | PG_unevictable);
      migrateFolioDone(src);
      return MIGRATEPAGE_SUCCESS;
    }
    // get_new_folio = alloc_migration_target: GFP_USER | __GFP_NOWARN (| __GFP_HIGHMEM: the
    // source is in ZONE_MOVABLE), no __GFP_MOVABLE under PF_MEMALLOC_PIN — a page below
    // ZONE_MOVABLE, which may reclaim and sleep (called again, the retried allocation takes it)
    const dst = allocPages(0, ZONE_NORMAL);
    if (dst == NO_PAGE) return stopNow ? MIGRATE_SLEEPS : ENOMEM;
    mc.dst = dst; mc.locked = false; mc.wasMapped = false; mc.unmapping = false;
    mc.step = US_LOCK;
  }
  if (mc.step == US_LOCK) {
    if (testFlag(src, PG_locked)) {
      if (mode == MIGRATE_ASYNC) return unmapUndo(mc, src, EAGAIN);
      folioWaitLock(src, e, curClock);       // folio_lock
      return MIGRATE_SLEEPS;
    }
    setFlag(src, PG_locked);
    mc.locked = true;
    mc.step = US_WRITEBACK;
  }
  if (mc.step == US_WRITEBACK) {
    if (testFlag(src, PG_writeback)) {
      // only a full synchronous migration waits for writeback
      if (mode == MIGRATE_ASYNC) return unmapUndo(mc, src, EBUSY);
      sleepLocked(mc, src);
      folioWaitWriteback(src, e, curClock);
      return MIGRATE_SLEEPS;
    }
    mc.step = US_UNMAP;
    // (the target is freshly allocated: its folio_trylock cannot fail and is not modelled)
    if (mapping(src) == 0) {
      // an orphaned page (truncated meanwhile) with buffers: free them, so that it can be freed
      if (testFlag(src, PG_private)) { tryToFreeBuffers(src); return unmapUndo(mc, src, EAGAIN); }
    } else if (folioMapped(src)) {
      mc.wasMapped = true;
      mc.unmapping = true;
    }
  }
  if (mc.unmapping) {
    // try_to_migrate (TTU_BATCH_FLUSH in ASYNC: the TLB flush is not modelled)
    if (!tryToMigrate(src, e)) { sleepLocked(mc, src); return MIGRATE_SLEEPS; }
    mc.unmapping = false;
  }
  if (folioMapped(src)) return unmapUndo(mc, src, EAGAIN);
  // __migrate_folio_record: the target and page_was_mapped go with the folio to unmap_folios
  const a = entryAt(mc, i);
  store<u32>(a, mc.dst, 4);
  store<u32>(a, FS_UNMAPPED | (mc.wasMapped ? 1 << 8 : 0), 8);
  mc.dst = NO_PAGE; mc.step = US_START; mc.wasMapped = false;
  if (mc.heldAcross) { mc.heldAcross = false; folioLockReleased(e, curClock); }
  mc.locked = false;      // (the lock is the entry's now: PG_locked stays set until the move)
  return MIGRATEPAGE_UNMAP;
}

// --- migrate_folio_move ------------------------------------------------------------------------

/**
 * folio_migrate_flags: the page state that is not the mapping's (the active/unevictable list
 * choice, referenced, uptodate, workingset, readahead, a dirty bit folio_migrate_mapping did
 * not move) goes to the new folio; the old one loses its swap-cache flag and private data.
 * Simulator state that stands for state the kernel keeps elsewhere moves too: the
 * PAGECACHE_TAG_TOWRITE mark (the xarray slot's), PG_anon_exclusive (carried by the migration
 * entry: RMAP_EXCLUSIVE), PG_mlocked (whose count remove_migration_pte rebuilds for VM_LOCKED
 * mappings: here it simply stays counted) and the write-after-clean detector's bit.
 */
function folioMigrateFlags(dst: u32, src: u32): void {
  const f = flags(src);
  // (folio_migrate_flags also moves young and idle: idle page tracking's and DAMON's marks)
  let nf = flags(dst) | (f & (PG_referenced | PG_uptodate | PG_workingset | PG_readahead | PG_dirty | PG_mlocked |
    PG_anon_exclusive | PG_mmsim_cleaned | PAGECACHE_TAG_TOWRITE | PG_idle | PG_young));
  let sf = f & ~(PG_mlocked | PG_anon_exclusive | PG_mmsim_cleaned | PAGECACHE_TAG_TOWRITE | PG_swapcache | PG_private);
  if ((f & PG_active) != 0) { nf |= PG_active; sf &= ~PG_active; }
  else if ((f & PG_unevictable) != 0) { nf |= PG_unevictable; sf &= ~PG_unevictable; }
  setFlags(dst, nf);
  setFlags(src, sf);
  setPagePrivate(src, 0);
}

/** folio_migrate_copy: the data (copy_highpage costs about what clearing a page does), then the flags. */
function folioMigrateCopy(dst: u32, src: u32): void {
  chargeNs(<i64>cfg(G_COST_ZERO_FILL));
  folioMigrateFlags(dst, src);
}

/**
 * folio_migrate_mapping: with the folio's references frozen at exactly what is expected — ours,
 * plus the cache's and the buffers' for a folio with a mapping (folio_expected_refs) — the new
 * folio takes the index and mapping, the cache's reference and slot (page cache or swap cache,
 * with its swap entry), and the dirty bit; any other reference (a pin, a lookup in progress)
 * makes it -EAGAIN. Counters by zone (NR_FILE_PAGES, NR_FILE_DIRTY, ...) stay: one node.
 */
function folioMigrateMapping(dst: u32, src: u32, hasMapping: bool): i32 {
  const expected = hasMapping ? 2 + (testFlag(src, PG_private) ? 1 : 0) : 1;
  if (refcount(src) != expected) return EAGAIN;
  setPageIndex(dst, pageIndex(src));
  setMapping(dst, mapping(src));
  if (!hasMapping) {
    if (testFlag(src, PG_swapbacked)) setFlag(dst, PG_swapbacked);
    return MIGRATEPAGE_SUCCESS;
  }
  setRefcount(dst, refcount(dst) + 1);          // the cache's reference
  if (testFlag(src, PG_swapbacked)) {
    setFlag(dst, PG_swapbacked | PG_swapcache);
    setPagePrivate(dst, pagePrivate(src));      // newfolio->private = the swap entry
    swapCacheReplace(pagePrivate(src) - 1, dst);
  } else {
    // (a page-cache folio's private word is when it became dirty, writeback.ts: it goes along)
    setPagePrivate(dst, pagePrivate(src));
    filemapReplaceFolio(<i32>mapping(src) - 1, pageIndex(src), dst);
  }
  if (testFlag(src, PG_dirty)) { clearFlag(src, PG_dirty); setFlag(dst, PG_dirty); }
  setRefcount(src, expected - 1);               // folio_ref_unfreeze, without the cache's
  return MIGRATEPAGE_SUCCESS;
}

/** migrate_folio (also swap_aops.migrate_folio): the mapping, then the data and flags. */
function migrateFolio(dst: u32, src: u32, hasMapping: bool): i32 {
  const rc = folioMigrateMapping(dst, src, hasMapping);
  if (rc != MIGRATEPAGE_SUCCESS) return rc;
  folioMigrateCopy(dst, src);
  return MIGRATEPAGE_SUCCESS;
}

/**
 * buffer_migrate_folio (ext4's migrate_folio): a folio without buffers is migrate_folio; one
 * with buffers is checked for extra references first, its buffers locked (the folio is
 * locked and not under IO here, so they are free), its mapping moved, then its buffers
 * (folio_attach_private(dst, folio_detach_private(src)): PG_private and the reference they hold).
 */
function bufferMigrateFolio(dst: u32, src: u32): i32 {
  if (!testFlag(src, PG_private)) return migrateFolio(dst, src, true);
  if (refcount(src) != 3) return EAGAIN;
  const rc = folioMigrateMapping(dst, src, true);
  if (rc != MIGRATEPAGE_SUCCESS) return rc;
  clearFlag(src, PG_private); setRefcount(src, refcount(src) - 1);
  setFlag(dst, PG_private); setRefcount(dst, refcount(dst) + 1);
  folioMigrateCopy(dst, src);
  return MIGRATEPAGE_SUCCESS;
}

/**
 * move_to_new_folio: by the source's folio_mapping — none (anon not in the swap cache, or an
 * orphaned page): migrate_folio; the swap cache: swap_aops' migrate_folio; a file: ext4's
 * buffer_migrate_folio. A page-cache source loses its mapping on success.
 */
function moveToNewFolio(dst: u32, src: u32): i32 {
  const mp = mapping(src);
  const anon = (mp & MAPPING_ANON) != 0;
  let rc: i32;
  if (mp == 0 || (anon && !testFlag(src, PG_swapcache))) rc = migrateFolio(dst, src, false);
  else if (anon) rc = migrateFolio(dst, src, true);
  else rc = bufferMigrateFolio(dst, src);
  if (rc == MIGRATEPAGE_SUCCESS && !anon) setMapping(src, 0);
  return rc;
}

/**
 * migrate_folio_move for entry `i` (locked, unmapped, its target recorded): on success the
 * target goes onto the LRU (folio_add_lru, drained at once if it was mapped, so that
 * remove_migration_ptes sees it there), its PTEs are restored from the migration entries, and
 * the source is unlocked and freed (migrate_folio_done). -EAGAIN leaves the entry unmapped for
 * the next pass; another error undoes it onto ret_folios.
 */
function migrateFolioMove(mc: MigrateControl, i: i32): i32 {
  const src = srcOf(mc, i); const dst = dstOf(mc, i);
  const mapped = wasMappedOf(mc, i);
  const rc = moveToNewFolio(dst, src);
  if (rc != MIGRATEPAGE_SUCCESS) {
    if (rc == EAGAIN) return rc;
    moveUndo(mc, i);
    return rc;
  }
  folioAddLru(dst);
  if (mapped) { lruAddDrain(); removeMigrationPtes(src, dst); }
  folioPut(dst);                                // the allocation's reference: the new owners hold it
  folioUnlock(src, curClock);
  migrateFolioDone(src);
  setState(mc, i, FS_DONE);
  return MIGRATEPAGE_SUCCESS;
}

/** migrate_folio_undo_src + migrate_folio_undo_dst for an unmapped entry: mapped again, unlocked, its target freed. */
function moveUndo(mc: MigrateControl, i: i32): void {
  const src = srcOf(mc, i); const dst = dstOf(mc, i);
  if (wasMappedOf(mc, i)) removeMigrationPtes(src, src);
  folioUnlock(src, curClock);
  folioPut(dst);
  store<u32>(entryAt(mc, i), NO_PAGE, 4);
  setState(mc, i, FS_RET);
}

// --- migrate_pages -----------------------------------------------------------------------------

/** cond_resched between folios: yield if another event is due first. */
@inline function condResched(mc: MigrateControl): bool {
  if (!mustYield(mc.entity, curClock)) return false;
  yieldAt(mc.entity, curClock);
  return true;
}

/** In the SYNC stage: the folio of round `round` from index `from` on, or -1. */
function nextSyncFolio(mc: MigrateControl, from: i32, round: i32): i32 {
  const want = round == 0 ? FS_FROM : FS_RET;
  for (let i = from; i < mc.n; i++) if (stateOf(mc, i) == want) return i;
  return -1;
}

/**
 * The ASYNC batch's unmap loop (migrate_pages_batch): NR_MAX_MIGRATE_ASYNC_RETRY passes over
 * the folios on `from`, each unmapped (or -EAGAIN: tried again next pass). MIGRATE_SLEEPS,
 * or 0 when the loop is over (the stage has moved on).
 */
function asyncUnmapStep(mc: MigrateControl): i32 {
  while (mc.pass < NR_MAX_MIGRATE_ASYNC_RETRY && mc.retry > 0) {
    if (!mc.passStarted) { mc.passStarted = true; mc.passRetry = 0; mc.nrRetryPages = 0; mc.idx = 0; }
    while (mc.idx < mc.n) {
      const i = mc.idx;
      if (stateOf(mc, i) != FS_FROM) { mc.idx++; continue; }
      const rc = migrateFolioUnmap(mc, i, MIGRATE_ASYNC);
      if (rc == MIGRATE_SLEEPS) return rc;
      mc.idx++;
      if (rc == ENOMEM) {
        // when memory is low, don't bother to try to migrate other folios: move the unmapped ones, then exit
        mc.nrFailed++;
        mc.asyncFailedPages += 1 + mc.nrRetryPages;
        mc.rcSaved = ENOMEM;
        moveLoopStart(mc, MS_ASYNC_MOVE);
        return 0;
      }
      if (rc == EAGAIN) { mc.passRetry++; mc.nrRetryPages++; }
      else if (rc == MIGRATEPAGE_SUCCESS) { mc.nrSucceeded++; setState(mc, i, FS_DONE); }
      else if (rc != MIGRATEPAGE_UNMAP) { mc.nrFailed++; mc.asyncFailedPages++; setState(mc, i, FS_RET); }
      if (condResched(mc)) return MIGRATE_SLEEPS;
    }
    mc.retry = mc.passRetry;
    mc.pass++;
    mc.passStarted = false;
  }
  mc.nrFailed += mc.retry;
  mc.asyncFailedPages += mc.nrRetryPages;
  moveLoopStart(mc, MS_ASYNC_MOVE);
  return 0;
}

/**
 * The ASYNC batch's move loop over the unmapped folios (NR_MAX_MIGRATE_ASYNC_RETRY passes; none
 * of it sleeps, it may yield), then its `out`: what is still unmapped is restored onto
 * ret_folios, for the SYNC fallback.
 */
function asyncMoveStep(mc: MigrateControl): i32 {
  while (mc.pass < NR_MAX_MIGRATE_ASYNC_RETRY && mc.retry > 0) {
    if (!mc.passStarted) { mc.passStarted = true; mc.passRetry = 0; mc.nrRetryPages = 0; mc.idx = 0; }
    while (mc.idx < mc.n) {
      const i = mc.idx;
      mc.idx++;
      if (stateOf(mc, i) != FS_UNMAPPED) continue;
      const rc = migrateFolioMove(mc, i);
      if (rc == EAGAIN) { mc.passRetry++; mc.nrRetryPages++; }
      else if (rc == MIGRATEPAGE_SUCCESS) mc.nrSucceeded++;
      else { mc.nrFailed++; mc.asyncFailedPages++; }
      if (condResched(mc)) return MIGRATE_SLEEPS;
    }
    mc.retry = mc.passRetry;
    mc.pass++;
    mc.passStarted = false;
  }
  mc.nrFailed += mc.retry;
  mc.asyncFailedPages += mc.nrRetryPages;
  for (let i = 0; i < mc.n; i++) if (stateOf(mc, i) == FS_UNMAPPED) moveUndo(mc, i);
  return 0;
}

/**
 * The SYNC batch of one folio (migrate_pages_sync's fallback loop): its unmap loop of
 * NR_MAX_MIGRATE_SYNC_RETRY passes — folio_lock and folio_wait_writeback may sleep here — then
 * its move loop. A folio that fails for good stays with the caller (FS_KEPT).
 */
function syncUnmapStep(mc: MigrateControl): i32 {
  const i = mc.idx;
  while (mc.pass < NR_MAX_MIGRATE_SYNC_RETRY && mc.retry > 0) {
    if (!mc.passStarted) { mc.passStarted = true; mc.passRetry = 0; mc.nrRetryPages = 0; }
    const st = stateOf(mc, i);
    if (st == FS_FROM || st == FS_RET) {
      const rc = migrateFolioUnmap(mc, i, MIGRATE_SYNC);
      if (rc == MIGRATE_SLEEPS) return rc;
      if (rc == ENOMEM) {
        mc.nrFailed++;
        mc.nrFailedPages += 1 + mc.nrRetryPages;
        mc.rcSaved = ENOMEM;
        setState(mc, i, FS_KEPT);
        mc.stage = MS_DONE;
        return 0;
      }
      if (rc == EAGAIN) { mc.passRetry++; mc.nrRetryPages++; }
      else if (rc == MIGRATEPAGE_SUCCESS) { mc.nrSucceeded++; setState(mc, i, FS_DONE); }
      else if (rc != MIGRATEPAGE_UNMAP) { mc.nrFailed++; mc.nrFailedPages++; setState(mc, i, FS_KEPT); }
    }
    mc.retry = mc.passRetry;
    mc.pass++;
    mc.passStarted = false;
  }
  mc.nrFailed += mc.retry;
  mc.nrFailedPages += mc.nrRetryPages;
  const st = stateOf(mc, i);
  if (st == FS_FROM || st == FS_RET) setState(mc, i, FS_KEPT);    // retried to the end: given up
  const keepIdx = mc.idx;
  moveLoopStart(mc, MS_SYNC_MOVE);
  mc.idx = keepIdx;
  return 0;
}

/**
 * migrate_pages for task `t`, from where it stands: MIGRATE_SLEEPS while it sleeps or yields
 * (call again when `t` runs), else its result — 0 when every folio was migrated, the number
 * that were not, or -ENOMEM. pgmigrate_success and pgmigrate_fail are counted at the end.
 */
export function migratePagesRun(t: i32): i32 {
  const mc = migrateControlOf(t);
  for (;;) {
    const stage = mc.stage;
    if (stage == MS_ASYNC_UNMAP) {
      if (asyncUnmapStep(mc) == MIGRATE_SLEEPS) return MIGRATE_SLEEPS;
      continue;
    }
    if (stage == MS_ASYNC_MOVE) {
      if (asyncMoveStep(mc) == MIGRATE_SLEEPS) return MIGRATE_SLEEPS;
      // migrate_pages_sync: an error of the ASYNC batch ends the call (its failed pages counted);
      // otherwise every folio it left is retried alone in SYNC mode, uncounted so far
      if (mc.rcSaved < 0) { mc.nrFailedPages += mc.asyncFailedPages; mc.rcGather = mc.rcSaved; mc.stage = MS_DONE; continue; }
      mc.syncRound = 0;
      mc.stage = MS_SYNC_UNMAP;
      mc.idx = -1;
      continue;
    }
    if (stage == MS_SYNC_UNMAP) {
      if (mc.idx < 0) {
        // the next folio of the fallback loop: list_move(from->next, &folios)
        let i = nextSyncFolio(mc, 0, mc.syncRound);
        if (i < 0 && mc.syncRound == 0) { mc.syncRound = 1; i = nextSyncFolio(mc, 0, 1); }
        if (i < 0) { mc.stage = MS_DONE; continue; }
        batchStart(mc, MS_SYNC_UNMAP);
        mc.idx = i;
      }
      if (syncUnmapStep(mc) == MIGRATE_SLEEPS) return MIGRATE_SLEEPS;
      if (mc.stage == MS_DONE) { mc.rcGather = mc.rcSaved; continue; }
      continue;
    }
    if (stage == MS_SYNC_MOVE) {
      // the move loop over the one folio (if it was unmapped)
      const i = mc.idx;
      while (mc.pass < NR_MAX_MIGRATE_SYNC_RETRY && mc.retry > 0) {
        mc.passRetry = 0;
        if (stateOf(mc, i) == FS_UNMAPPED) {
          const rc = migrateFolioMove(mc, i);
          if (rc == EAGAIN) mc.passRetry = 1;
          else if (rc == MIGRATEPAGE_SUCCESS) mc.nrSucceeded++;
          else { mc.nrFailed++; mc.nrFailedPages++; setState(mc, i, FS_KEPT); }
        }
        mc.retry = mc.passRetry;
        mc.pass++;
      }
      if (mc.retry > 0) { mc.nrFailed++; mc.nrFailedPages++; }
      if (stateOf(mc, i) == FS_UNMAPPED) { moveUndo(mc, i); setState(mc, i, FS_KEPT); }
      mc.rcGather += mc.nrFailed;
      mc.stage = MS_SYNC_UNMAP;
      mc.idx = -1;
      if (condResched(mc)) return MIGRATE_SLEEPS;
      continue;
    }
    // MS_DONE: return 0 when no folio is left on the list
    let left = false;
    for (let i = 0; i < mc.n; i++) if (stateOf(mc, i) != FS_DONE) { left = true; break; }
    if (!left) mc.rcGather = 0;
    countAdd(C_PGMIGRATE_SUCCESS, <i64>mc.nrSucceeded);
    countAdd(C_PGMIGRATE_FAIL, <i64>mc.nrFailedPages);
    mc.stage = MS_IDLE;
    return mc.rcGather;
  }
  return mc.rcGather;
}

/** Pages the last migrate_pages call of task `t` migrated (its ret_succeeded). */
export function migrateSucceeded(t: i32): i32 { return migrateControlOf(t).nrSucceeded; }

/**
 * putback_movable_pages: every folio left on the list goes back to the LRU (its isolation's
 * NR_ISOLATED_* and reference go); the list is empty afterwards.
 */
export function putbackMovablePages(t: i32): void {
  const mc = migrateControlOf(t);
  for (let i = 0; i < mc.n; i++) {
    if (stateOf(mc, i) == FS_DONE) continue;
    const p = srcOf(mc, i);
    countAdd(isolatedCounter(p), -1);
    folioPutbackLru(p);
  }
  mc.n = 0;
}

/**
 * The task exits (or is killed) in the middle of a migrate_pages call: what it holds is let go
 * as the call's failure paths would — the folio in progress undone (its notifier range ended,
 * its walk dropped), every unmapped one mapped again and unlocked, the targets freed — and the
 * list put back.
 */
export function migrateAbandon(t: i32): void {
  const mc = migrateControlOf(t);
  if (mc.stage != MS_IDLE && mc.stage != MS_DONE) {
    const e = mc.entity;
    if (mc.unmapping) {
      const i = mc.idx;
      if (i >= 0 && i < mc.n && rmapWalkSleeping(e, srcOf(mc, i))) { mmuNotifierAbandon(e, curClock); rmapWalkAbandon(e); }
    }
    if (mc.idx >= 0 && mc.idx < mc.n && mc.step != US_START) {
      const st = stateOf(mc, mc.idx);
      if (st == FS_FROM || st == FS_RET) unmapUndo(mc, srcOf(mc, mc.idx), EAGAIN);
    }
    if (mc.heldAcross) { mc.heldAcross = false; folioLockReleased(e, curClock); }
    for (let i = 0; i < mc.n; i++) if (stateOf(mc, i) == FS_UNMAPPED) moveUndo(mc, i);
    countAdd(C_PGMIGRATE_SUCCESS, <i64>mc.nrSucceeded);
  }
  mc.stage = MS_IDLE;
  putbackMovablePages(t);
}
