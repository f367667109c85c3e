// Truncation and hole punching of files (mm/truncate.c): ftruncate(2) — truncate_setsize, then
// truncate_pagecache — and fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) —
// truncate_pagecache_range — as a task's calls. Each unmaps the range from every process that
// maps the file (unmap_mapping_range, mm.ts: one MMU_NOTIFY_CLEAR range per VMA around its
// zap), then truncate_inode_pages_range takes the pages out of the page cache in two passes: the
// first skips what it cannot take at once (locked, under writeback), the second waits for it.
// Dirty pages are cancelled, never written (folio_cancel_dirty); a page goes back to the
// allocator when its last reference does.
//
// The call sleeps where the kernel does — on a folio's lock (folio_lock), on its writeback
// (folio_wait_writeback), in a blockable notifier callback — and yields between batches of
// PAGEVEC_SIZE folios (cond_resched). Where it stands is in its TruncateControl, one per task,
// so that the next call for the same task goes on from there. The per-folio step is
// truncateInodeFolio: a policy for DMA-pinned folios belongs there.
import { regionAlloc } from './mem';
import { cfg } from './config';
import { G_COST_FREE_PAGE, C_MMSIM_TRUNCATE_CALLS, C_MMSIM_PUNCH_CALLS, C_MMSIM_TRUNCATED_PAGES,
  C_MMSIM_TRUNCATE_CANCELLED_DIRTY, C_MMSIM_TRUNCATE_WAITS, C_MMSIM_TRUNCATE_NS, C_MMSIM_TRUNCATE_FAILED,
  C_MMSIM_TRUNCATE_REMOVED_PINNED } from './generated/abi';
import { testFlag, setFlag, mapping, pageIndex, refcount, setRefcount, PG_locked, PG_writeback } from './page';
import { folioPut, NO_PAGE } from './alloc';
import { fileSize, fileSetSize, fileNrPages, fileFreeBlocks, pageCacheEntry, filemapRemoveFolio, filemapClearShadow,
  folioUnlock, folioWaitLock, folioWaitWriteback } from './filemap';
import { SHADOW_BIT } from './swap';
import { folioCancelDirty } from './writeback';
import { blockInvalidateFolio } from './buffer';
import { ZapDetails, zapDetailsOf, unmapMappingPages } from './mm';
import { folioMapped } from './rmap';
import { folioHeldAcrossSleep, folioLockReleased } from './locking';
import { countEvent, countAdd } from './vmstat';
import { mustYield, yieldAt } from './wait';
import { curClock, chargeNs, taskEntity } from './sched';
import { pinTruncateRangeBusy, pinTruncateFolio, pinTruncateWaitReset, pinTruncateWaiting, pinTruncateWaitAbandon, PT_SKIP, PT_WAIT } from './pin_truncate';
import { pinTruth } from './pin_policy';

/** A folio_batch: the passes look at this many entries between two cond_resched. */
const PAGEVEC_SIZE: i32 = 31;
/** pgoff_t -1: unmap_mapping_range's holelen 0, "to the end of the file". */
const LAST_INDEX: u32 = 0xFFFF_FFFF;

// where a call stands
const TC_IDLE: i32 = 0;           // no call in progress
const TC_UNMAP: i32 = 1;          // unmap_mapping_range before the page cache goes
const TC_PASS1: i32 = 2;          // truncate_inode_pages_range's first pass: what it can take at once
const TC_PASS2: i32 = 3;          // its second pass: waits for the rest, again until none is left
const TC_UNMAP_AGAIN: i32 = 4;    // truncate_pagecache's second unmap_mapping_range (private COWs)

/**
 * The frame of one truncate or punch call (the kernel keeps it on the task's stack): what it
 * truncates, where its passes stand, and the folio it works on across a sleep.
 */
@unmanaged export class TruncateControl {
  stage: i32;
  file: i32;
  /** hole punching: the size stays, the private COWed pages of the hole stay */
  punch: bool;
  /** the pages truncate_inode_pages_range takes out: [start, end) */
  start: u32;
  end: u32;
  /** the blocks the filesystem frees at the end, [freeFrom, freeTo): the pages become holes */
  freeFrom: u32;
  freeTo: u32;
  /** the pass's cursor: the page index it looks at next */
  index: u32;
  /** the second pass met a folio since it last started from `start` (then it starts again) */
  found: bool;
  /** entries taken since the last cond_resched */
  batch: i32;
  /** the folio truncateInodeFolio works on across a sleep, with a reference held; NO_PAGE */
  folio: u32;
  /** this call holds that folio's lock */
  locked: bool;
  /** and it has slept holding it (so others' waits for it are waits for this task) */
  heldAcross: bool;
  /** unmap_mapping_folio of that folio is under way (asleep in a notifier callback) */
  unmapping: bool;
  /** its wait for that folio is counted already (mmsim_truncate_waits: once a folio) */
  waited: bool;
  startedAt: i64;
}

let controls: usize = 0;
const TC_BYTES: usize = (offsetof<TruncateControl>() + 7) & ~(<usize>7);
@inline function tcOf(t: i32): TruncateControl { return changetype<TruncateControl>(controls + <usize>t * TC_BYTES); }

export function truncateInit(tasks: i32): bool {
  controls = regionAlloc(<u64>(tasks + 1) * <u64>TC_BYTES);
  if (controls == 0) return false;
  for (let t = 0; t < tasks; t++) { tcOf(t).stage = TC_IDLE; tcOf(t).folio = NO_PAGE; }
  return true;
}

/**
 * A fatal signal for task `t`: a call asleep on a folio's pins ends there (-EINTR), letting its
 * folio go; true if it did. Its other sleeps (a folio's lock, writeback) are uninterruptible.
 */
export function truncateInterrupt(t: i32): bool {
  const tc = tcOf(t);
  if (tc.stage == TC_IDLE || !pinTruncateWaiting(t)) return false;
  pinTruncateWaitAbandon(t);
  truncateRelease(tc);
  countAdd(C_MMSIM_TRUNCATE_NS, curClock - tc.startedAt);
  tc.stage = TC_IDLE;
  return true;
}

/** Is a truncate or punch call of task `t` under way (asleep, or yielded)? */
export function truncateInProgress(t: i32): bool { return tcOf(t).stage != TC_IDLE; }

/**
 * ftruncate(2) of file `f` to `pages` by task `t` (do_truncate → the filesystem's setattr →
 * truncate_setsize): i_size is written first, so that from here on a fault past it is SIGBUS;
 * then truncate_pagecache: unmap_mapping_range(newsize, to the end, even_cows),
 * truncate_inode_pages(newsize), and unmap_mapping_range once more for the private pages
 * COWed meanwhile. The blocks past the new size are freed last (ext4_truncate): grown back,
 * the file reads as zeros there. True when the call is done; false while it sleeps or yields
 * (stopNow): call again when `t` runs.
 */
export function truncateFile(t: i32, f: i32, pages: u32): bool {
  const tc = tcOf(t);
  if (tc.stage == TC_IDLE) {
    countEvent(C_MMSIM_TRUNCATE_CALLS);
    const old = fileSize(f);
    // pins.truncate fail: -EBUSY before i_size changes
    if (pages < old && pinTruncateRangeBusy(f, pages, fileNrPages(f))) { countEvent(C_MMSIM_TRUNCATE_FAILED); return true; }
    fileSetSize(f, pages);
    truncateBegin(t, tc, f, false, pages, fileNrPages(f), true, pages, LAST_INDEX);
    tc.freeFrom = pages; tc.freeTo = old > pages ? old : pages;
  }
  return truncateRun(t, tc);
}

/**
 * fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) of [start, start + length) of file `f`
 * by task `t` (`length` 0: to the end of the file), as ext4_punch_hole does it: clipped to
 * i_size (nothing to do past it), the hole's blocks freed, then truncate_pagecache_range —
 * unmap_mapping_range without even_cows (the private COWed pages stay), then
 * truncate_inode_pages_range. The size stays. The pages are holes from the start of the call:
 * a read of one already gone while the call runs sees zeros, as it would behind the
 * filesystem's invalidate_lock (not modelled) once the call is done. True when done.
 */
export function punchHole(t: i32, f: i32, start: u32, length: u32): bool {
  const tc = tcOf(t);
  if (tc.stage == TC_IDLE) {
    countEvent(C_MMSIM_PUNCH_CALLS);
    const size = fileSize(f);
    const end = length == 0 || <u64>start + <u64>length > <u64>size ? size : start + length;
    if (start >= end) return true;
    if (pinTruncateRangeBusy(f, start, end)) { countEvent(C_MMSIM_TRUNCATE_FAILED); return true; }
    fileFreeBlocks(f, start, end);
    truncateBegin(t, tc, f, true, start, end, false, start, end - 1);
    tc.freeFrom = start; tc.freeTo = end;
  }
  return truncateRun(t, tc);
}

function truncateBegin(t: i32, tc: TruncateControl, f: i32, punch: bool, start: u32, end: u32,
  evenCows: bool, unmapFirst: u32, unmapLast: u32): void {
  tc.file = f; tc.punch = punch; tc.start = start; tc.end = end;
  tc.index = start; tc.found = false; tc.batch = 0;
  tc.folio = NO_PAGE; tc.locked = false; tc.heldAcross = false; tc.unmapping = false; tc.waited = false;
  tc.startedAt = curClock;
  pinTruncateWaitReset(t);
  zapRange(zapDetailsOf(t), evenCows, unmapFirst, unmapLast);
  tc.stage = TC_UNMAP;
}

@inline function zapRange(zd: ZapDetails, evenCows: bool, first: u32, last: u32): void {
  zd.evenCows = evenCows; zd.first = first; zd.last = last; zd.pos = 0;
}

/** The call from where it stands to its end; false while it sleeps or yields. */
function truncateRun(t: i32, tc: TruncateControl): bool {
  const e = taskEntity(t);
  const zd = zapDetailsOf(t);
  if (tc.stage == TC_UNMAP) {
    if (!unmapMappingPages(zd, tc.file, e)) return false;
    tc.stage = TC_PASS1; tc.index = tc.start; tc.batch = 0;
  }
  if (tc.stage == TC_PASS1) {
    if (!truncatePass(t, tc, e, false)) return false;
    tc.stage = TC_PASS2; tc.index = tc.start; tc.found = false; tc.batch = 0;
  }
  if (tc.stage == TC_PASS2) {
    if (!truncatePass(t, tc, e, true)) return false;
    if (tc.punch) { truncateEnd(tc); return true; }
    zapRange(zd, true, tc.start, LAST_INDEX);
    tc.stage = TC_UNMAP_AGAIN;
  }
  if (!unmapMappingPages(zd, tc.file, e)) return false;
  truncateEnd(tc);
  return true;
}

function truncateEnd(tc: TruncateControl): void {
  // the filesystem frees the blocks of the range (ext4_truncate, ext4_ext_remove_space)
  fileFreeBlocks(tc.file, tc.freeFrom, tc.freeTo);
  countAdd(C_MMSIM_TRUNCATE_NS, curClock - tc.startedAt);
  tc.stage = TC_IDLE;
}

/**
 * One pass of truncate_inode_pages_range over [start, end): shadow entries go
 * (truncate_folio_batch_exceptionals), each folio goes through truncateInodeFolio. The first
 * pass (`wait` false, find_lock_entries) leaves what it cannot take at once; the second
 * (find_get_entries, folio_lock) waits for it, and starts again from `start` until a whole
 * pass finds nothing ("restart to make sure all gone"). False while it sleeps or yields.
 */
function truncatePass(t: i32, tc: TruncateControl, e: i32, wait: bool): bool {
  const f = tc.file;
  for (;;) {
    while (tc.index < tc.end) {
      const idx = tc.index;
      const entry = pageCacheEntry(f, idx);
      // the folio waited for (unlocked, a reference held) left the slot meanwhile: let it go
      if (tc.folio != NO_PAGE && entry != tc.folio + 1) { truncateRelease(tc); if (wait) tc.found = true; }
      if (entry == 0) { tc.index = idx + 1; continue; }
      if ((entry & SHADOW_BIT) != 0) filemapClearShadow(f, idx);
      else {
        if (truncateInodeFolio(t, tc, entry - 1, idx, e, wait) == FOLIO_SLEEPS) return false;
        if (wait) tc.found = true;
      }
      tc.index = idx + 1;
      if (++tc.batch >= PAGEVEC_SIZE) {
        tc.batch = 0;
        if (mustYield(e, curClock)) { yieldAt(e, curClock); return false; }    // cond_resched
      }
    }
    if (!wait || !tc.found) break;
    tc.found = false;
    tc.index = tc.start;
  }
  return true;
}

/** truncateInodeFolio's answers */
export const FOLIO_REMOVED: i32 = 0;
/** the first pass leaves it (locked by another, or under writeback) to the second */
export const FOLIO_SKIPPED: i32 = 1;
/** it left the file while the call waited for it (another truncation took it) */
export const FOLIO_GONE: i32 = 2;
/** asleep on its lock, its writeback or a notifier callback of its unmap: call again for it */
export const FOLIO_SLEEPS: i32 = 3;

/**
 * The per-folio step of truncate_inode_pages_range for folio `p` at page `idx` of the call's
 * file, by task `t` (entity `e`): take its lock — find_lock_entries' folio_trylock in the
 * first pass (`wait` false), folio_lock in the second, asleep while a read, a reclaimer or
 * the flusher holds it — wait for its writeback (folio_wait_writeback; the first pass skips a
 * folio under writeback), then truncate_inode_folio: truncate_cleanup_folio (unmap_mapping_folio
 * if it was mapped again since the range was unmapped; folio_cancel_dirty) and
 * filemap_remove_folio, then folio_unlock. The call holds a reference from the lock on
 * (find_get_entries'), so that reclaim cannot free the folio while it waits. A pin policy
 * decides here, with the folio locked and its writeback done, whether it is removed; a step
 * that leaves a folio in the file must end the call too, since the second pass starts again
 * until it finds the range empty.
 */
export function truncateInodeFolio(t: i32, tc: TruncateControl, p: u32, idx: u32, e: i32, wait: bool): i32 {
  const f = tc.file;
  if (!tc.locked) {
    if (testFlag(p, PG_locked)) {
      if (!wait) return FOLIO_SKIPPED;
      truncateHold(tc, p);
      truncateWaitCounted(tc);
      folioWaitLock(p, e, curClock);
      return FOLIO_SLEEPS;
    }
    if (!wait && testFlag(p, PG_writeback)) return FOLIO_SKIPPED;
    // locked now: still this file's page at idx? (another truncation may have taken it meanwhile)
    if (mapping(p) != <u32>(f + 1) || pageIndex(p) != idx) { truncateRelease(tc); return FOLIO_GONE; }
    truncateHold(tc, p);
    setFlag(p, PG_locked);
    tc.locked = true;
  }
  if (testFlag(p, PG_writeback)) {
    truncateWaitCounted(tc);
    truncateSleepLocked(tc, p, e);
    folioWaitWriteback(p, e, curClock);
    return FOLIO_SLEEPS;
  }
  // pins.truncate: a folio believed pinned is left to the second pass, which waits for its
  // pins with the folio unlocked (and a reference held)
  const pin = pinTruncateFolio(t, f, p, e, wait);
  if (pin == PT_SKIP || pin == PT_WAIT) {
    folioUnlock(p, curClock);
    if (tc.heldAcross) folioLockReleased(e, curClock);
    tc.locked = false; tc.heldAcross = false;
    if (pin == PT_WAIT) return FOLIO_SLEEPS;
    truncateRelease(tc);
    return FOLIO_SKIPPED;
  }
  // truncate_cleanup_folio: a page faulted in again since the range was unmapped (hole
  // punching leaves the range mappable) is unmapped on its own, private COWs left alone
  if (tc.unmapping || folioMapped(p)) {
    const zd = zapDetailsOf(t);
    if (!tc.unmapping) { zapRange(zd, false, idx, idx); tc.unmapping = true; }
    if (!unmapMappingPages(zd, f, e)) { truncateSleepLocked(tc, p, e); return FOLIO_SLEEPS; }
    tc.unmapping = false;
  }
  // folio_cancel_dirty, then folio_invalidate → block_invalidate_folio: the buffers go
  // (truncation waited for writeback above, so they are released)
  if (folioCancelDirty(p)) countEvent(C_MMSIM_TRUNCATE_CANCELLED_DIRTY);
  if (pinTruth(p) > 0) countEvent(C_MMSIM_TRUNCATE_REMOVED_PINNED);
  blockInvalidateFolio(p);
  filemapRemoveFolio(p, 0);
  folioPut(p);                        // filemap_free_folio: the page cache's reference
  chargeNs(<i64>cfg(G_COST_FREE_PAGE));
  countEvent(C_MMSIM_TRUNCATED_PAGES);
  folioUnlock(p, curClock);
  if (tc.heldAcross) folioLockReleased(e, curClock);
  truncateRelease(tc);                // folio_batch_release: the last reference frees it
  return FOLIO_REMOVED;
}

/** The call takes a reference on `p` (once) while it works on it. */
function truncateHold(tc: TruncateControl, p: u32): void {
  if (tc.folio == p) return;
  setRefcount(p, refcount(p) + 1);
  tc.folio = p;
}

/** The call is done with its folio: its reference goes (which may free it). */
function truncateRelease(tc: TruncateControl): void {
  const p = tc.folio;
  tc.folio = NO_PAGE; tc.locked = false; tc.heldAcross = false; tc.waited = false;
  if (p != NO_PAGE) folioPut(p);
}

@inline function truncateWaitCounted(tc: TruncateControl): void {
  if (tc.waited) return;
  tc.waited = true;
  countEvent(C_MMSIM_TRUNCATE_WAITS);
}

/** It sleeps holding the folio's lock: a task that waits for the folio waits for it (the wait-for graph). */
function truncateSleepLocked(tc: TruncateControl, p: u32, e: i32): void {
  if (tc.heldAcross) return;
  tc.heldAcross = true;
  folioHeldAcrossSleep(e, p);
}
