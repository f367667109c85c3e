// Dirty pages and their writeback (mm/page-writeback.c, fs/fs-writeback.c), in the simple
// form the foundation needs: one flusher that writes dirty inodes oldest first when the dirty
// count is above the background threshold, when reclaim asks, and for inodes dirty longer than
// dirty_expire_centisecs every dirty_writeback_centisecs; writers above the dirty threshold
// sleep until the count falls. The IO-less control loop (pos_ratio, dirty_ratelimit, per-wb
// shares) replaces that wait in the writeback issue; `balance_dirty_pages` is its hook.
import { regionAlloc } from './mem';
import { testFlag, setFlag, clearFlag, testClearFlag, PG_dirty, PG_writeback, PG_reclaim, PG_swapbacked,
  PG_locked } from './page';
import { countAdd, countEvent, count, countSet } from './vmstat';
import { C_NR_DIRTY, C_NR_DIRTIED, C_NR_WRITEBACK, C_NR_WRITTEN, C_PGROTATED, C_NR_FREE_PAGES,
  C_NR_INACTIVE_FILE, C_NR_ACTIVE_FILE, C_NR_DIRTY_THRESHOLD, C_NR_DIRTY_BACKGROUND_THRESHOLD,
  C_MMSIM_DIRTY_THROTTLE_NS, C_MMSIM_FLUSHER_RUNS, C_PSWPOUT, C_NR_VMSCAN_WRITE } from './generated/abi';
import { folioRotateReclaimable } from './lru';
import { folioMkclean } from './rmap';
import { totalreservePages, NO_PAGE } from './alloc';
import { nFiles, fileNrPages, fileDevice, filemapLookup, folioFile } from './filemap';
import { blkSubmit, blkAddPage, blkRoom, blkBusyUntil, BLK_WRITE } from './blkdev';
import { schedule, scheduleNoLater, now } from './events';
import { FLUSHER_ENTITY, curClock, waitUntil, jiffyNs } from './sched';
import { swapDevice, folioSwapSlot } from './swap';

// Kernel defaults until the writeback issue brings the vm.dirty_* sysctls into the scenario.
const DIRTY_RATIO: u64 = 20;
const DIRTY_BACKGROUND_RATIO: u64 = 10;
const DIRTY_EXPIRE_CENTISECS: i64 = 3000;
const DIRTY_WRITEBACK_CENTISECS: i64 = 500;
const MIN_WRITEBACK_PAGES: u32 = 1024;

// Per-inode writeback state: nr dirty pages, dirtied_when (ns, -1 = clean), writeback_index.
const I_NRDIRTY = 0; const I_DIRTIED_WHEN = 1; const I_WB_INDEX = 2; const I_STRIDE = 3;
let inodes: usize = 0;
let vmscanWakeup: bool = false;
/** Background writeback in progress (writeback_in_progress): dirtiers need not kick the flusher. */
let flusherBusy: bool = false;

@inline function inf(f: i32, k: i32): i64 { return load<i64>(inodes + (<usize>(f * I_STRIDE + k) << 3)); }
@inline function setInf(f: i32, k: i32, v: i64): void { store<i64>(inodes + (<usize>(f * I_STRIDE + k) << 3), v); }

export function writebackInit(): bool {
  inodes = regionAlloc(<u64>(nFiles + 1) * I_STRIDE * 8);
  if (inodes == 0) return false;
  for (let f = 0; f < nFiles; f++) setInf(f, I_DIRTIED_WHEN, -1);
  domainDirtyLimits();
  flusherBusy = false; vmscanWakeup = false;
  if (nFiles > 0) schedule(FLUSHER_ENTITY, DIRTY_WRITEBACK_CENTISECS * 10_000_000);
  return true;
}

/**
 * folio_mark_dirty: page cache pages are accounted (NR_FILE_DIRTY, NR_DIRTIED) and their inode
 * is put on the dirty list; anonymous/swap-cache pages just get PG_dirty.
 */
export function folioMarkDirty(p: u32): void {
  if (testFlag(p, PG_dirty)) return;
  setFlag(p, PG_dirty);
  if (testFlag(p, PG_swapbacked)) return;
  countAdd(C_NR_DIRTY, 1);
  countEvent(C_NR_DIRTIED);
  const f = folioFile(p);
  if (f < 0) return;
  setInf(f, I_NRDIRTY, inf(f, I_NRDIRTY) + 1);
  if (inf(f, I_DIRTIED_WHEN) < 0) setInf(f, I_DIRTIED_WHEN, curClock);   // __mark_inode_dirty
}

/** Undo the dirty accounting of a page that stops being dirty (clear or truncate). */
function accountCleaned(p: u32): void {
  if (testFlag(p, PG_swapbacked)) return;
  countAdd(C_NR_DIRTY, -1);
  const f = folioFile(p);
  if (f < 0) return;
  const n = inf(f, I_NRDIRTY) - 1;
  setInf(f, I_NRDIRTY, n);
  if (n == 0) setInf(f, I_DIRTIED_WHEN, -1);
}

/** folio_clear_dirty_for_io: write-protect the mappings (folio_mkclean), then clear PG_dirty. */
export function folioClearDirtyForIo(p: u32): bool {
  if (!testFlag(p, PG_swapbacked) && folioMkclean(p) > 0) folioMarkDirty(p);
  if (!testClearFlag(p, PG_dirty)) return false;
  accountCleaned(p);
  return true;
}

/** folio_start_writeback */
function folioStartWriteback(p: u32): void {
  setFlag(p, PG_writeback);
  countAdd(C_NR_WRITEBACK, 1);
}

// The plug reclaim holds across one shrink_folio_list (blk_start_plug/blk_finish_plug): swap
// writes of adjacent slots merge into one request.
const PLUG_CAP: u32 = 64;
const plugged: usize = memory.data(64 * 4);
let nPlugged: u32 = 0;

/** swap_writepage for a page reclaim cleaned: it goes under writeback into the plug. */
export function swapWritepage(p: u32): void {
  folioStartWriteback(p);
  countEvent(C_PSWPOUT);
  countEvent(C_NR_VMSCAN_WRITE);
  if (nPlugged == PLUG_CAP) swapPlugFlush();
  store<u32>(plugged + (<usize>nPlugged << 2), p);
  nPlugged++;
}

/** blk_finish_plug: submit the plugged swap writes, one request per run of adjacent slots. */
export function swapPlugFlush(): void {
  let i: u32 = 0;
  while (i < nPlugged) {
    let j = i + 1;
    while (j < nPlugged && folioSwapSlot(load<u32>(plugged + (<usize>j << 2))) == folioSwapSlot(load<u32>(plugged + (<usize>(j - 1) << 2))) + 1) j++;
    const done = blkSubmit(swapDevice, BLK_WRITE, j - i, curClock);
    for (let k = i; k < j; k++) blkAddPage(swapDevice, BLK_WRITE, load<u32>(plugged + (<usize>k << 2)), done);
    i = j;
  }
  nPlugged = 0;
}

export function swapQueueRoom(): u32 { return blkRoom(swapDevice, BLK_WRITE) - nPlugged; }

/** folio_end_writeback: PG_reclaim pages rotate to the inactive tail to be freed next. */
export function endPageWriteback(p: u32): void {
  clearFlag(p, PG_writeback);
  countAdd(C_NR_WRITEBACK, -1);
  if (!testFlag(p, PG_swapbacked)) countEvent(C_NR_WRITTEN);
  if (testClearFlag(p, PG_reclaim)) {
    if (folioRotateReclaimable(p)) countEvent(C_PGROTATED);
  }
}

/** global_dirtyable_memory: free pages plus file LRU, less the reserves. */
export function globalDirtyableMemory(): u64 {
  let x = <i64>(count(C_NR_FREE_PAGES) + count(C_NR_INACTIVE_FILE) + count(C_NR_ACTIVE_FILE)) - totalreservePages;
  if (x < 1) x = 1;
  return <u64>x;
}

/** domain_dirty_limits for the global domain with the ratio sysctls: updates the vmstat gauges. */
export function domainDirtyLimits(): void {
  const available = globalDirtyableMemory();
  const thresh = DIRTY_RATIO * available / 100;
  let bg = DIRTY_BACKGROUND_RATIO * available / 100;
  if (bg >= thresh) bg = thresh / 2;
  countSet(C_NR_DIRTY_THRESHOLD, thresh);
  countSet(C_NR_DIRTY_BACKGROUND_THRESHOLD, bg);
}

/**
 * balance_dirty_pages (simplified): after dirtying, start background writeback above the
 * background threshold; above the hard threshold, sleep in 10 ms steps until under it.
 */
export function balanceDirtyPages(): void {
  domainDirtyLimits();
  const bg = count(C_NR_DIRTY_BACKGROUND_THRESHOLD);
  const thresh = count(C_NR_DIRTY_THRESHOLD);
  if (count(C_NR_DIRTY) > bg && !flusherBusy) {
    // wb_start_background_writeback
    flusherBusy = true;
    scheduleNoLater(FLUSHER_ENTITY, curClock > now ? curClock : now);
  }
  if (count(C_NR_DIRTY) + count(C_NR_WRITEBACK) > thresh) {
    const pause: i64 = 10_000_000;
    countAdd(C_MMSIM_DIRTY_THROTTLE_NS, pause);
    waitUntil(curClock + pause);
  }
}

/** wakeup_flusher_threads(WB_REASON_VMSCAN): reclaim met dirty pages it may not write. */
export function wakeupFlusherThreads(): void {
  vmscanWakeup = true;
  if (flusherBusy) return;
  flusherBusy = true;
  scheduleNoLater(FLUSHER_ENTITY, curClock > now ? curClock : now);
}

const MAX_REQUEST_PAGES: u32 = 256;          // 1 MiB: the largest request a run is merged into

/**
 * write_cache_pages for one inode: up to `budget` dirty pages from writeback_index on, each
 * run of consecutive pages submitted as one request.
 */
function writeInode(f: i32, budget: u32, t: i64): u32 {
  const size = fileNrPages(f);
  const dev = fileDevice(f);
  const room = blkRoom(dev, BLK_WRITE);
  if (budget > room) budget = room;
  let idx = <u32>inf(f, I_WB_INDEX);
  let written: u32 = 0;
  let scanned: u32 = 0;
  let runStart: u32 = 0; let runLen: u32 = 0;
  while (scanned < size && written < budget && inf(f, I_NRDIRTY) > 0) {
    const p = filemapLookup(f, idx);
    let took = false;
    if (p != NO_PAGE && testFlag(p, PG_dirty) && !testFlag(p, PG_writeback) && !testFlag(p, PG_locked)) {
      if (folioClearDirtyForIo(p)) {
        folioStartWriteback(p);
        if (runLen > 0 && (idx != runStart + runLen || runLen == MAX_REQUEST_PAGES)) { submitRun(f, dev, runStart, runLen, t); runLen = 0; }
        if (runLen == 0) runStart = idx;
        runLen++;
        written++;
        took = true;
      }
    }
    if (!took && runLen > 0) { submitRun(f, dev, runStart, runLen, t); runLen = 0; }
    idx++; scanned++;
    if (idx >= size) { if (runLen > 0) { submitRun(f, dev, runStart, runLen, t); runLen = 0; } idx = 0; }
  }
  if (runLen > 0) submitRun(f, dev, runStart, runLen, t);
  setInf(f, I_WB_INDEX, idx);
  return written;
}

function submitRun(f: i32, dev: i32, start: u32, n: u32, t: i64): void {
  const done = blkSubmit(dev, BLK_WRITE, n, t);
  for (let i: u32 = 0; i < n; i++) blkAddPage(dev, BLK_WRITE, filemapLookup(f, start + i), done);
}

/** The flusher's event (wb_workfn → wb_do_writeback): background, vmscan and periodic work. */
export function flusherRun(t: i64): void {
  countEvent(C_MMSIM_FLUSHER_RUNS);
  domainDirtyLimits();
  const bg = count(C_NR_DIRTY_BACKGROUND_THRESHOLD);
  const expireNs = DIRTY_EXPIRE_CENTISECS * 10_000_000;
  let wrote: u32 = 0;
  let busiest: i64 = t;
  for (let pass = 0; pass < nFiles; pass++) {
    const background = count(C_NR_DIRTY) > bg || vmscanWakeup;
    // oldest dirty inode first (b_dirty order); without background work, only expired ones
    let pick = -1;
    for (let f = 0; f < nFiles; f++) {
      const w = inf(f, I_DIRTIED_WHEN);
      if (w < 0) continue;
      if (!background && w + expireNs > t) continue;
      if (pick < 0 || w < inf(pick, I_DIRTIED_WHEN)) pick = f;
    }
    if (pick < 0) break;
    const n = writeInode(pick, MIN_WRITEBACK_PAGES, t);
    wrote += n;
    const b = blkBusyUntil(fileDevice(pick));
    if (b > busiest) busiest = b;
    if (n == 0) break;
    // requeue_inode: still dirty inodes keep their dirtied_when (redirty_tail for kupdate)
  }
  vmscanWakeup = false;
  // Keep about one chunk queued ahead of the device while work remains; otherwise sleep until
  // the next periodic wake-up.
  const stillBackground = count(C_NR_DIRTY) > bg;
  let next = t + DIRTY_WRITEBACK_CENTISECS * 10_000_000;
  flusherBusy = false;
  if (stillBackground && wrote > 0) {
    const soon = busiest - 1_000_000;
    next = soon > t ? soon : t + jiffyNs;
    flusherBusy = true;
  }
  schedule(FLUSHER_ENTITY, next);
}
