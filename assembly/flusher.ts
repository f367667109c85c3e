// The flusher threads (fs/fs-writeback.c): one work item per wb that, in the kernel's order,
// writes everything when reclaim asked (WB_REASON_VMSCAN), writes inodes dirtied longer than
// dirty_expire_centisecs every dirty_writeback_centisecs (kupdate), and writes while the wb is
// over its background threshold. Each inode visit writes a chunk of about half a second of the
// device's bandwidth (writeback_chunk_size); runs of adjacent pages go out as one request, and
// the flusher waits when the device has no free tag, as it would block in the block layer.
import { regionAlloc } from './mem';
import { testFlag, setFlag, clearFlag, mapping, pageIndex, PG_dirty, PG_writeback, PG_locked, PG_private, PG_readio,
  PAGECACHE_TAG_TOWRITE } from './page';
import { cfg } from './config';
import { G_N_FILES, G_N_PROCS, G_DIRTY_EXPIRE_CENTISECS, G_DIRTY_WRITEBACK_CENTISECS, C_NR_DIRTY, C_MMSIM_WRITEBACK_PIN_WAITS, C_MMSIM_WRITEBACK_SKIPPED_PINNED, C_MMSIM_BOUNCE_PAGES,
  C_MMSIM_FLUSHER_RUNS, C_MMSIM_FLUSHER_PAGES_BACKGROUND, C_MMSIM_FLUSHER_BLOCKED, C_MMSIM_FSYNC_PAGES, C_MMSIM_WRITEBACK_PASSES_NO_PROGRESS,
  C_MMSIM_BUG_WRITEBACK_NO_BUFFERS, DK_BUG_WRITEBACK_NO_BUFFERS, FN_MPAGE_PREPARE_EXTENT_TO_MAP } from './generated/abi';
import { countEvent, countAdd, count } from './vmstat';
import { NO_PAGE } from './alloc';
import { fileNrPages, fileDevice, filemapLookup, folioUnlock, folioWaitLock } from './filemap';
import { folioHeldAcrossSleep, folioLockReleased } from './locking';
import { blkSubmit, blkAddPage, blkTagFreeAt, BLK_WRITE } from './blkdev';
import { schedule } from './events';
import { pinWriteback, WB_WAIT, WB_SKIP, WB_BOUNCE } from './pin_policy';
import { flusherEntity, jiffyNs, curClock } from './sched';
import { rmapWalkAbandon } from './rmap';
import { recordDetector } from './invariants';
import { nWbs, folioClearDirtyForIo, CLEARED_FOR_IO, NOT_DIRTY, MKCLEAN_SLEEPS, folioStartWriteback, folioCancelDirty, wbReclaimable, wbWritten, wbWriteback as wbPagesUnderWriteback, wbAvgWriteBandwidth, domainDirtyLimit,
  globalDirtyableMemory, domainDirtyLimits, lastBackgroundThresh, wbCalcThresh, wbUpdateBandwidth, wbUpdateBandwidthIfDue,
  wbBandwidthEstimateStart, globalFileDirty, cancelledDirtyPages, wbReclaimableCounted } from './writeback';

const MIN_WRITEBACK_PAGES: i64 = 1024;      // 4 MiB
const DIRTY_SCOPE: i64 = 8;
const MAX_REQUEST_PAGES: u32 = 256;         // 1 MiB: the largest request adjacent pages merge into
const LONG_MAX: i64 = 0x7FFF_FFFF_FFFF_FFFF;

// work kinds, in the order wb_do_writeback considers them (reasons index the page counters)
const WORK_NONE = -1;
const WORK_BACKGROUND = 0;
const WORK_KUPDATE = 1;
const WORK_VMSCAN = 2;
const WORK_SYNC = 3;

// per-inode: nr dirty pages, dirtied_when (ns, -1 = clean), writeback_index, pages under
// writeback, their completions so far (for fsync's wait), and the writeback pass that last
// redirty_tail'ed it (it is off b_io until the next queue_io)
const I_NRDIRTY = 0; const I_DIRTIED_WHEN = 1; const I_WB_INDEX = 2; const I_WRITEBACK = 3; const I_WRITTEN = 4;
const I_REDIRTIED_PASS = 5;
const I_STRIDE = 6;
let inodes: usize = 0;
let nInodes: i32 = 0;
// per-wb: next run (ns, -1 none), work kind, pages left, start_all requested, last_old_flush (ns), in progress
const F_NEXT = 0; const F_WORK = 1; const F_LEFT = 2; const F_START_ALL = 3; const F_LAST_OLD = 4; const F_BUSY = 5;
const F_SYNC = 6;           // a sync(2) asked for a WB_SYNC_ALL pass
const F_STRIDE = 7;
let wbw: usize = 0;

@inline function inf(f: i32, k: i32): i64 { return load<i64>(inodes + (<usize>(f * I_STRIDE + k) << 3)); }
@inline function setInf(f: i32, k: i32, v: i64): void { store<i64>(inodes + (<usize>(f * I_STRIDE + k) << 3), v); }
@inline function ff(w: i32, k: i32): i64 { return load<i64>(wbw + (<usize>(w * F_STRIDE + k) << 3)); }
@inline function setFf(w: i32, k: i32, v: i64): void { store<i64>(wbw + (<usize>(w * F_STRIDE + k) << 3), v); }

@inline function expireNs(): i64 { return <i64>cfg(G_DIRTY_EXPIRE_CENTISECS) * 10_000_000; }
@inline function intervalNs(): i64 { return <i64>cfg(G_DIRTY_WRITEBACK_CENTISECS) * 10_000_000; }

export function flusherInit(): bool {
  nInodes = <i32>cfg(G_N_FILES);
  inodes = regionAlloc(<u64>(nInodes + 1) * I_STRIDE * 8);
  wbw = regionAlloc(<u64>(nWbs + 1) * F_STRIDE * 8);
  const nTasks = <i32>cfg(G_N_PROCS);
  fsyncs = regionAlloc(<u64>(nTasks + 1) * S_STRIDE * 8);
  mkcleanPending = regionAlloc(<u64>(nWbs + 1) * 4);
  if (inodes == 0 || wbw == 0 || fsyncs == 0 || mkcleanPending == 0) return false;
  for (let w = 0; w < nWbs; w++) setPending(w, NO_PAGE);
  for (let f = 0; f < nInodes; f++) { setInf(f, I_DIRTIED_WHEN, -1); setInf(f, I_REDIRTIED_PASS, -1); }
  passSerial = 0;
  for (let w = 0; w < nWbs; w++) { setFf(w, F_NEXT, -1); setFf(w, F_WORK, WORK_NONE); }
  for (let t = 0; t < nTasks; t++) setSf(t, S_HELD, NO_PAGE);
  return true;
}

/** __mark_inode_dirty: the inode's first dirty page stamps dirtied_when and arms the wb's periodic work. */
export function inodeAccountDirtied(f: i32, t: i64): void {
  setInf(f, I_NRDIRTY, inf(f, I_NRDIRTY) + 1);
  if (inf(f, I_DIRTIED_WHEN) >= 0) return;
  setInf(f, I_DIRTIED_WHEN, t);
  // wb_wakeup_delayed: a wb that gains dirty IO gets its periodic wake-up
  const w = fileDevice(f);
  if (ff(w, F_NEXT) < 0 && intervalNs() > 0) wakeAt(w, t + intervalNs());
}

/** An inode page left the dirty state; an inode with none left is clean. */
export function inodeAccountCleaned(f: i32): void {
  const n = inf(f, I_NRDIRTY) - 1;
  setInf(f, I_NRDIRTY, n);
  if (n == 0) setInf(f, I_DIRTIED_WHEN, -1);
}

/** A page of inode `f` started (+1) or ended (-1) writeback (__folio_start_writeback, __folio_end_writeback). */
export function inodeAccountWriteback(f: i32, d: i64): void {
  if (f < 0) return;
  setInf(f, I_WRITEBACK, inf(f, I_WRITEBACK) + d);
  if (d < 0) setInf(f, I_WRITTEN, inf(f, I_WRITTEN) + 1);
}

function wakeAt(w: i32, t: i64): void {
  const cur = ff(w, F_NEXT);
  if (cur >= 0 && cur <= t) return;
  setFf(w, F_NEXT, t);
  rearm(w);
}

/** The wb's worker runs at its next time (mod_delayed_work), unless it sleeps in a notifier callback. */
function rearm(w: i32): void {
  if (pendingOf(w) != NO_PAGE) return;
  const n = ff(w, F_NEXT);
  if (n >= 0) schedule(flusherEntity(w), n);
}

/** writeback_in_progress */
export function writebackInProgress(w: i32): bool { return ff(w, F_BUSY) != 0; }

/** wb_start_background_writeback: wake the wb's flusher now. */
export function wbStartBackgroundWriteback(w: i32): void {
  setFf(w, F_BUSY, 1);
  wakeAt(w, curClock);
}

/** wakeup_flusher_threads(WB_REASON_VMSCAN): every wb writes all its dirty pages. */
export function wakeupFlusherThreads(): void {
  for (let w = 0; w < nWbs; w++) {
    if (wbReclaimable(w) == 0) continue;
    setFf(w, F_START_ALL, 1);
    setFf(w, F_BUSY, 1);
    wakeAt(w, curClock);
  }
}

/** wb_over_bg_thresh: the system over dirty_background (NR_FILE_DIRTY only), or this wb over its share of it. */
function wbOverBgThresh(w: i32): bool {
  domainDirtyLimits(globalDirtyableMemory());
  const bg = lastBackgroundThresh();
  const fileDirty = globalFileDirty();
  if (fileDirty > bg) return true;
  return wbReclaimableCounted(w) > wbCalcThresh(w, bg, fileDirty);
}

/** writeback_chunk_size: about half a second of bandwidth, at most dirty_limit/8, in 4 MiB multiples. */
function writebackChunkSize(w: i32, kind: i64, left: i64): i64 {
  if (kind == WORK_SYNC) return LONG_MAX;
  let pages = wbAvgWriteBandwidth(w) / 2;
  const scope = domainDirtyLimit() / DIRTY_SCOPE;
  if (scope < pages) pages = scope;
  if (left < pages) pages = left;
  return (pages + MIN_WRITEBACK_PAGES) / MIN_WRITEBACK_PAGES * MIN_WRITEBACK_PAGES;
}

/**
 * The writeback passes so far: a pass is one turn of wb_writeback's loop — queue_io, then
 * writeback_sb_inodes over the inodes it moved to b_io — and an inode redirty_tail'ed in a pass
 * (stamped with its number) is back on b_dirty, not on b_io, until the next pass's queue_io.
 */
let passSerial: i64 = 0;

/**
 * The oldest dirty inode of wb `w` dirtied no later than `olderThan` (queue_io's
 * move_expired_inodes) and not redirty_tail'ed in this pass, or -1.
 */
function oldestDirtyInode(w: i32, olderThan: i64): i32 {
  let pick = -1;
  for (let f = 0; f < nInodes; f++) {
    const d = inf(f, I_DIRTIED_WHEN);
    if (d < 0 || d > olderThan || fileDevice(f) != w || inf(f, I_REDIRTIED_PASS) == passSerial) continue;
    if (pick < 0 || d < inf(pick, I_DIRTIED_WHEN)) pick = f;
  }
  return pick;
}

/** writeInode's answer for a page written from a bounce copy */
const BOUNCED: i32 = 2;

let blockedUntil: i64 = -1;
/**
 * Per wb (u32): the folio whose folio_mkclean sleeps in a notifier callback (locked, as
 * write_cache_pages holds it), or NO_PAGE. The wb's worker sleeps with it — the other wbs'
 * workers go on — and when it runs again it finishes that folio first.
 */
let mkcleanPending: usize = 0;
@inline function pendingOf(w: i32): u32 { return load<u32>(mkcleanPending + (<usize>w << 2)); }
@inline function setPending(w: i32, p: u32): void { store<u32>(mkcleanPending + (<usize>w << 2), p); }

/**
 * mpage_prepare_extent_to_map's look at dirty page `p` of file `f` (locked, not under
 * writeback) before ext4_writepages maps its blocks through its buffers and submits it: true if
 * it has buffers. A page without is the kernel BUG of 2018 (page_buffers()'
 * BUG_ON(!PagePrivate) here and in ext4_writepage): recorded as mmsim_bug_writeback_no_buffers
 * with the time, the pfn, the writer — task `task` or, -1, the kthread of entity `e` — and the
 * file (its device follows). The simulation goes on as ext4 does since v5.18 ("ext4: don't BUG
 * if someone dirty pages without asking ext4 first": ext4_warning_inode, folio_clear_dirty,
 * skip): the page is cleaned without being written — the data put into it is lost — and
 * accounted as cleaned (folio_cancel_dirty), where the kernel's bare flag clear leaves
 * NR_FILE_DIRTY and the wb's count behind.
 */
function mpageHasBuffers(p: u32, f: i32, task: i32, e: i32): bool {
  if (testFlag(p, PG_private)) return true;
  countEvent(C_MMSIM_BUG_WRITEBACK_NO_BUFFERS);
  recordDetector(DK_BUG_WRITEBACK_NO_BUFFERS, p, task, FN_MPAGE_PREPARE_EXTENT_TO_MAP, <f64>f, -1, e);
  folioCancelDirty(p);
  return false;
}

/**
 * write_cache_pages (WB_SYNC_NONE, range_cyclic) for one inode: up to `budget` dirty pages from
 * writeback_index on, each run of adjacent pages submitted as one request. A run starts only
 * when the device has a free tag; otherwise the pass stops and blockedUntil says when one frees.
 * Pages go through ext4_writepages' check for buffers (mpageHasBuffers).
 */
function writeInode(f: i32, budget: i64, t: i64, syncAll: bool): i64 {
  const size = fileNrPages(f);
  const dev = fileDevice(f);
  const worker = flusherEntity(dev);
  let idx = <u32>inf(f, I_WB_INDEX);
  let written: i64 = 0;
  let scanned: u32 = 0;
  let runStart: u32 = 0; let runLen: u32 = 0;
  blockedUntil = -1;
  while (scanned < size && written < budget && inf(f, I_NRDIRTY) > 0) {
    const p = filemapLookup(f, idx);
    let took = false;
    if (p != NO_PAGE && testFlag(p, PG_dirty) && !testFlag(p, PG_writeback) && !testFlag(p, PG_locked) &&
      mpageHasBuffers(p, f, -1, worker)) {
      if (runLen > 0 && (idx != runStart + runLen || runLen == MAX_REQUEST_PAGES)) { submitRun(f, dev, runStart, runLen, t); runLen = 0; }
      if (runLen == 0) {
        const free = blkTagFreeAt(dev);
        if (free > t) { blockedUntil = free; break; }
      }
      // the pin action's say before folio_clear_dirty_for_io's folio_mkclean
      const pw = pinWriteback(p, syncAll);
      if (pw == WB_WAIT) {
        // data integrity waits for the unpin: the pass stops at this page and looks again
        if (runLen > 0) { submitRun(f, dev, runStart, runLen, t); runLen = 0; }
        countEvent(C_MMSIM_WRITEBACK_PIN_WAITS);
        blockedUntil = t + jiffyNs;
        break;
      }
      const rc = pw == WB_SKIP ? NOT_DIRTY : pw == WB_BOUNCE ? BOUNCED : folioClearDirtyForIo(p, worker);
      if (pw == WB_SKIP) countEvent(C_MMSIM_WRITEBACK_SKIPPED_PINNED);
      if (pw == WB_BOUNCE) countEvent(C_MMSIM_BOUNCE_PAGES);
      if (rc == MKCLEAN_SLEEPS) { setFlag(p, PG_locked); folioHeldAcrossSleep(worker, p); setPending(dev, p); break; }
      if (rc == CLEARED_FOR_IO || rc == BOUNCED) {
        // (a bounce copy is written; the page itself stays dirty)
        folioStartWriteback(p);
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

/**
 * requeue_inode for an inode whose visit wrote nothing with budget left (every dirty page it met
 * skipped: pinned, locked, under writeback): redirty_tail — back to b_dirty, out of this pass,
 * and, if a later-dirtied inode of the wb is there, dirtied_when = now (so kupdate will not find
 * it expired again for dirty_expire_centisecs) — "to avoid spinning on the CPU retrying
 * writeback of the dirty page/inode that cannot be performed immediately".
 */
function redirtyTail(w: i32, f: i32, t: i64): void {
  setInf(f, I_REDIRTIED_PASS, passSerial);
  const mine = inf(f, I_DIRTIED_WHEN);
  for (let g = 0; g < nInodes; g++) {
    if (g != f && fileDevice(g) == w && inf(g, I_DIRTIED_WHEN) > mine) { setInf(f, I_DIRTIED_WHEN, t); return; }
  }
}

/**
 * wb_writeback: work on the wb's current work item; false if it had to wait for the device.
 * Its loop makes passes (queue_io + writeback_sb_inodes over b_io): an inode visit writes a chunk,
 * and the oldest inode is visited again while it has dirty pages (the kernel's requeue_io to
 * b_more_io, taken at once here); an inode that wrote nothing is redirty_tail'ed out of the pass
 * and the pass goes on with the others. When b_io is exhausted, a pass that wrote something
 * starts another (queue_io again: the redirtied inodes come back); one that wrote nothing ends
 * the work, as the kernel's "if (progress) continue; if (list_empty(&wb->b_more_io)) break;"
 * does (nothing went to b_more_io for want of budget; fs/fs-writeback.c of a v6.x tree, and the
 * same loop in v4.2's) — no spinning in simulated time. It is
 * counted (mmsim_writeback_passes_no_progress) when the wb is still over the background
 * threshold: dirty data is there that writeback cannot clean. The flusher looks again at its
 * next wake-up (balance_dirty_pages' wb_start_background_writeback, the periodic one).
 */
function wbWriteback(w: i32, t: i64): bool {
  const kind = ff(w, F_WORK);
  let left = ff(w, F_LEFT);
  let progress: i64 = 0;
  let redirtied = 0;
  passSerial++;
  while (left > 0) {
    // background and periodic work yield to explicitly requested work
    if ((kind == WORK_BACKGROUND || kind == WORK_KUPDATE) && (ff(w, F_START_ALL) != 0 || ff(w, F_SYNC) != 0)) break;
    if (kind == WORK_BACKGROUND && !wbOverBgThresh(w)) break;
    const olderThan = kind == WORK_KUPDATE ? t - expireNs() : t;
    const f = oldestDirtyInode(w, olderThan);
    if (f < 0) {
      if (redirtied == 0) break;                       // b_io exhausted, nothing left behind
      if (progress > 0) { progress = 0; redirtied = 0; passSerial++; continue; }
      if (wbOverBgThresh(w)) countEvent(C_MMSIM_WRITEBACK_PASSES_NO_PROGRESS);
      break;
    }
    const chunk = writebackChunkSize(w, kind, left);
    const n = writeInode(f, chunk, t, kind == WORK_SYNC);
    countAdd(C_MMSIM_FLUSHER_PAGES_BACKGROUND + <i32>kind, n);
    left -= n;
    progress += n;
    setFf(w, F_LEFT, left);
    if (pendingOf(w) != NO_PAGE) return false;         // asleep in a notifier callback: F_NEXT stays -1
    if (blockedUntil >= 0) {
      countEvent(C_MMSIM_FLUSHER_BLOCKED);
      setFf(w, F_NEXT, blockedUntil);
      return false;
    }
    if (n == 0) { redirtyTail(w, f, t); redirtied++; }
  }
  wbUpdateBandwidth(w);
  setFf(w, F_WORK, WORK_NONE);
  return true;
}

/** wb_workfn → wb_do_writeback for one wb, then its re-arming. */
function wbWorkfn(w: i32, t: i64): void {
  setFf(w, F_NEXT, -1);
  setFf(w, F_BUSY, 1);
  // wb_do_writeback runs wb_check_background_flush once: a background work that ended (below the
  // threshold, or a pass without progress) is not started again until the next wake-up
  let bgDone = false;
  for (let step = 0; step < 6; step++) {
    const kind = ff(w, F_WORK);
    if (kind != WORK_NONE) {
      if (!wbWriteback(w, t)) return;            // waiting for the device: F_NEXT is set
      if (kind == WORK_BACKGROUND && ff(w, F_SYNC) == 0 && ff(w, F_START_ALL) == 0) bgDone = true;
      continue;
    }
    if (ff(w, F_SYNC) != 0) {                    // queued work first: sync's WB_SYNC_ALL pass
      setFf(w, F_SYNC, 0);
      startWork(w, WORK_SYNC, LONG_MAX);
      continue;
    }
    if (ff(w, F_START_ALL) != 0) {               // wb_check_start_all
      setFf(w, F_START_ALL, 0);
      startWork(w, WORK_VMSCAN, wbReclaimable(w) + dirtyInodes(w));
      continue;
    }
    const iv = intervalNs();
    if (iv > 0 && t >= ff(w, F_LAST_OLD) + iv) { // wb_check_old_data_flush
      setFf(w, F_LAST_OLD, t);
      const nr = wbReclaimable(w) + dirtyInodes(w);
      if (nr > 0) { startWork(w, WORK_KUPDATE, nr); continue; }
    }
    if (!bgDone && wbOverBgThresh(w)) {          // wb_check_background_flush
      startWork(w, WORK_BACKGROUND, LONG_MAX);
      continue;
    }
    break;
  }
  setFf(w, F_BUSY, 0);
  // still dirty: wake up again after dirty_writeback_interval
  if (wbReclaimable(w) > 0 && intervalNs() > 0) setFf(w, F_NEXT, t + intervalNs());
}

function startWork(w: i32, kind: i32, pages: i64): void {
  wbBandwidthEstimateStart(w);
  setFf(w, F_WORK, kind);
  setFf(w, F_LEFT, pages);
}

function dirtyInodes(w: i32): i64 {
  let n: i64 = 0;
  for (let f = 0; f < nInodes; f++) if (inf(f, I_DIRTIED_WHEN) >= 0 && fileDevice(f) == w) n++;
  return n;
}

/** wb `w`'s worker runs (its event): the folio it slept on first, then its work if its time has come. */
export function flusherRun(w: i32, t: i64): void {
  countEvent(C_MMSIM_FLUSHER_RUNS);
  if (pendingOf(w) != NO_PAGE && !mkcleanResume(w, t)) return;
  const n = ff(w, F_NEXT);
  if (n >= 0 && n <= t) wbWorkfn(w, t);
  rearm(w);                                          // (not while asleep on a lock: its release wakes it)
}

/**
 * Back from a notifier callback's sleep in folio_mkclean: finish that folio's
 * folio_clear_dirty_for_io (false: asleep again), write it as a request of its own, and let
 * its wb's work go on from the next page.
 */
function mkcleanResume(w: i32, t: i64): bool {
  const p = pendingOf(w);
  const rc = folioClearDirtyForIo(p, flusherEntity(w));
  if (rc == MKCLEAN_SLEEPS) return false;
  setPending(w, NO_PAGE);
  folioUnlock(p, t);
  folioLockReleased(flusherEntity(w), t);
  const f = <i32>mapping(p) - 1;
  const idx = pageIndex(p);
  if (rc == CLEARED_FOR_IO) {
    folioStartWriteback(p);
    submitRun(f, w, idx, 1, t);
    if (ff(w, F_WORK) != WORK_NONE) {
      countAdd(C_MMSIM_FLUSHER_PAGES_BACKGROUND + <i32>ff(w, F_WORK), 1);
      setFf(w, F_LEFT, ff(w, F_LEFT) - 1);
    }
  }
  setInf(f, I_WB_INDEX, <i64>idx + 1 < <i64>fileNrPages(f) ? <i64>idx + 1 : 0);
  setFf(w, F_NEXT, t);
  return true;
}

/**
 * sync(2): wakeup_flusher_threads(WB_REASON_SYNC) and sync_inodes_sb's WB_SYNC_ALL pass on
 * every wb. Returns the completion count (Σ WB_WRITTEN, plus the dirty pages a truncation
 * cancelled, which never reach the disk) at which everything dirty or under writeback now has
 * been dealt with; the caller waits for it (wait_sb_inodes).
 */
export function syncStart(t: i64): i64 {
  let target: i64 = cancelledDirtyPages();
  for (let w = 0; w < nWbs; w++) {
    target += wbWritten(w) + wbReclaimable(w) + wbPagesUnderWriteback(w);
    if (wbReclaimable(w) == 0) continue;
    setFf(w, F_SYNC, 1);
    setFf(w, F_BUSY, 1);
    wakeAt(w, t);
  }
  return target;
}

/** Has every wb written `target` pages in all (see syncStart)? */
export function syncDone(target: i64): bool {
  let written: i64 = cancelledDirtyPages();
  for (let w = 0; w < nWbs; w++) written += wbWritten(w);
  return written >= target;
}

// --- fsync(2) -----------------------------------------------------------------------------------
// file_write_and_wait_range(file, 0, LLONG_MAX) in the caller's context, as ext4_sync_file
// starts it (the journal commit that follows is not modelled): __filemap_fdatawrite_range with
// WB_SYNC_ALL — do_writepages → ext4_writepages over the pages tag_pages_for_writeback marked
// TOWRITE — then file_fdatawait_range. Per task: the next index of its write pass, and the
// folio it keeps locked while asleep in a notifier callback of folio_mkclean (NO_PAGE: none).
const S_POS = 0; const S_HELD = 1; const S_STRIDE = 2;
let fsyncs: usize = 0;
@inline function sf(t: i32, k: i32): i64 { return load<i64>(fsyncs + (<usize>(t * S_STRIDE + k) << 3)); }
@inline function setSf(t: i32, k: i32, v: i64): void { store<i64>(fsyncs + (<usize>(t * S_STRIDE + k) << 3), v); }

/** fsyncStart/fsyncResume while the write pass is not over (see fsyncResumeAt). */
export const FSYNC_WRITING: i64 = -2;
/**
 * After FSYNC_WRITING: when to call fsyncResume — a device tag's free time (the task blocks in
 * submit_bio), or -1 for the next jiffy (a page's writeback in flight, which WB_SYNC_ALL waits
 * for: polled, as sync(2)'s wait is) — unless the task sleeps (stopNow: on a folio another
 * keeps locked, or in a notifier callback) and calls again when it runs.
 */
export let fsyncResumeAt: i64 = -1;

/**
 * fsync(2) of file `f` by task `t` (entity `e`) at `now`: tag_pages_for_writeback marks every
 * dirty page TOWRITE (pages dirtied later are not its business: livelock avoidance), then the
 * write pass (fsyncResume). Returns the completion count to wait for (fsyncDone) or FSYNC_WRITING.
 */
export function fsyncStart(t: i32, f: i32, e: i32, now: i64): i64 {
  if (inf(f, I_NRDIRTY) > 0) {
    const size = fileNrPages(f);
    for (let i: u32 = 0; i < size; i++) {
      const p = filemapLookup(f, i);
      if (p != NO_PAGE && testFlag(p, PG_dirty)) setFlag(p, PAGECACHE_TAG_TOWRITE);
    }
  }
  setSf(t, S_POS, 0);
  setSf(t, S_HELD, NO_PAGE);
  wbBandwidthEstimateStart(fileDevice(f));        // do_writepages
  return fsyncResume(t, f, e, now);
}

/**
 * The write pass of task `t`'s fsync of `f` from where it stopped, in index order over the
 * TOWRITE pages, as write_cache_pages does for WB_SYNC_ALL: a page locked by another is waited
 * for (folio_lock), one under writeback too (folio_wait_writeback) and then written again, one
 * cleaned meanwhile is skipped; the others go through ext4's check for buffers, and runs of
 * adjacent pages are submitted as one request when the device has a free tag. At the end, the
 * count of the file's completions at which every page of it under writeback now — this pass's
 * and those written before, by anyone — has completed: the device completes writes in order.
 */
export function fsyncResume(t: i32, f: i32, e: i32, now: i64): i64 {
  const dev = fileDevice(f);
  fsyncResumeAt = -1;
  const held = <u32>sf(t, S_HELD);
  if (held != NO_PAGE) {
    // back from the notifier callback's sleep in folio_mkclean: finish that folio, as a request of its own
    const rc = folioClearDirtyForIo(held, e);
    if (rc == MKCLEAN_SLEEPS) return FSYNC_WRITING;
    setSf(t, S_HELD, NO_PAGE);
    folioUnlock(held, now);
    folioLockReleased(e, now);
    if (rc == CLEARED_FOR_IO) {
      folioStartWriteback(held);
      submitRun(f, dev, pageIndex(held), 1, now);
      countEvent(C_MMSIM_FSYNC_PAGES);
    } else clearFlag(held, PAGECACHE_TAG_TOWRITE);
  }
  const size = fileNrPages(f);
  let idx = <u32>sf(t, S_POS);
  let runStart: u32 = 0; let runLen: u32 = 0;
  let stopped = false;
  for (; idx < size; idx++) {
    const p = filemapLookup(f, idx);
    let took = false;
    if (p != NO_PAGE && testFlag(p, PAGECACHE_TAG_TOWRITE)) {
      if (testFlag(p, PG_locked) || testFlag(p, PG_readio)) { folioWaitLock(p, e, curClock); stopped = true; break; }
      if (!testFlag(p, PG_dirty)) clearFlag(p, PAGECACHE_TAG_TOWRITE);
      else if (testFlag(p, PG_writeback)) { stopped = true; break; }
      else if (mpageHasBuffers(p, f, t, e)) {
        if (runLen > 0 && (idx != runStart + runLen || runLen == MAX_REQUEST_PAGES)) { submitRun(f, dev, runStart, runLen, now); runLen = 0; }
        if (runLen == 0) {
          const free = blkTagFreeAt(dev);
          if (free > now) { fsyncResumeAt = free; stopped = true; break; }
        }
        const rc = folioClearDirtyForIo(p, e);
        if (rc == MKCLEAN_SLEEPS) {
          setFlag(p, PG_locked);
          folioHeldAcrossSleep(e, p);
          setSf(t, S_HELD, p);
          idx++; stopped = true;
          break;
        }
        if (rc == CLEARED_FOR_IO) {
          folioStartWriteback(p);
          if (runLen == 0) runStart = idx;
          runLen++;
          countEvent(C_MMSIM_FSYNC_PAGES);
          took = true;
        } else clearFlag(p, PAGECACHE_TAG_TOWRITE);
      }
    }
    if (!took && runLen > 0) { submitRun(f, dev, runStart, runLen, now); runLen = 0; }
  }
  if (runLen > 0) submitRun(f, dev, runStart, runLen, now);
  setSf(t, S_POS, idx);
  if (stopped) return FSYNC_WRITING;
  wbUpdateBandwidthIfDue(dev);                    // do_writepages
  return inf(f, I_WRITTEN) + inf(f, I_WRITEBACK);
}

/** file_fdatawait_range's end: has file `f` completed `target` writes (fsyncResume's answer)? */
export function fsyncDone(f: i32, target: i64): bool { return inf(f, I_WRITTEN) >= target; }

/**
 * A task that exits in the middle of its fsync (killed) lets go of the folio it kept locked
 * across a notifier callback's sleep; the pages still marked TOWRITE stay marked, as the
 * kernel's tags do, until their writeback starts.
 */
export function fsyncAbandon(t: i32, e: i32, now: i64): void {
  const held = <u32>sf(t, S_HELD);
  if (held == NO_PAGE) return;
  setSf(t, S_HELD, NO_PAGE);
  rmapWalkAbandon(e);
  folioUnlock(held, now);
  folioLockReleased(e, now);
}
