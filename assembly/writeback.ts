// Dirty-page accounting and IO-less dirty throttling (mm/page-writeback.c).
//
// One writeback context (wb) per block device. Dirtying charges the page to its inode's wb;
// completions feed each wb's floating share of the global dirty threshold; balance_dirty_pages
// sleeps dirtiers so that their rate follows dirty_ratelimit × pos_ratio, the cubic control
// line around the setpoint between the freerun ceiling and the (smoothed) hard limit. The
// flushers that clean the pages live in flusher.ts (fs/fs-writeback.c).
import { FLUSH_BUCKETS, TASK_SERIES_FIELDS } from './generated/abi';
import { regionAlloc } from './mem';
import { flags, setFlags, testFlag, setFlag, clearFlag, testClearFlag, pagePrivate, setPagePrivate, pageIndex, PG_dirty, PG_writeback, PG_reclaim, PG_swapbacked, PG_mmsim_cleaned,
  PG_locked, PG_readio, PAGECACHE_TAG_TOWRITE, PG_mmsim_dirty_excluded } from './page';
import { pinTruth, pinDirtyExcluded, pinDirtyExcluding } from './pin_policy';
import { countAdd, countEvent, count, countSet } from './vmstat';
import { C_NR_DIRTY, C_NR_DIRTIED, C_NR_WRITEBACK, C_NR_WRITTEN, C_PGROTATED, C_NR_FREE_PAGES,
  C_NR_INACTIVE_FILE, C_NR_ACTIVE_FILE, C_NR_DIRTY_THRESHOLD, C_NR_DIRTY_BACKGROUND_THRESHOLD,
  C_MMSIM_DIRTY_THROTTLE_NS, C_MMSIM_BDP_CALLS, C_MMSIM_BDP_FREERUN, C_MMSIM_BDP_PAUSES,
  C_MMSIM_BDP_PAUSE_0_1MS, C_MMSIM_BDP_PAUSE_MAX_NS, C_MMSIM_DIRTY_FREERUN, C_MMSIM_DIRTY_SETPOINT,
  C_MMSIM_DIRTY_LIMIT, C_MMSIM_BDP_POS_RATIO, C_MMSIM_BDP_TASK_RATELIMIT, C_MMSIM_BDP_DIRTY_RATELIMIT,
  C_MMSIM_BDP_WRITE_BANDWIDTH, C_MMSIM_BDP_WB_THRESH, C_MMSIM_PEAK_DIRTY, C_MMSIM_PEAK_WRITEBACK,
  C_MMSIM_PEAK_DIRTY_WRITEBACK, C_MMSIM_NR_DIRTY_PINNED_EXCLUDED,
  G_DIRTY_RATIO, G_DIRTY_BACKGROUND_RATIO, G_DIRTY_BYTES, G_DIRTY_BACKGROUND_BYTES, G_LAPTOP_MODE,
  G_N_DEVICES, DEV_MIN_RATIO, DEV_MAX_RATIO, DEV_STRICT_LIMIT, WBI_STRIDE, WBI_DIRTIED, WBI_WRITTEN, WBI_DIRTY,
  WBI_WRITEBACK, WBI_WRITE_BANDWIDTH, WBI_DIRTY_RATELIMIT, WBI_WB_THRESH, WBI_COMPLETION_SHARE } from './generated/abi';
import { folioRotateReclaimable } from './lru';
import { folioMkclean } from './rmap';
import { totalreservePages } from './alloc';
import { folioFile, fileDevice, fileFillHole, folioWaitLock } from './filemap';
import { cfg, devCfg } from './config';
import { curClock, waitUntil, jiffyNs, hz, currentTask } from './sched';
import { inodeAccountDirtied, inodeAccountCleaned, inodeAccountWriteback, wbStartBackgroundWriteback, writebackInProgress } from './flusher';

const PAGE_SIZE: u64 = 4096;
const RATELIMIT_CALC_SHIFT: u64 = 10;
const DIRTY_POLL_THRESH: i64 = 32;        // 128 KiB in pages
const INIT_BW: i64 = 25600;               // 100 MB/s in pages
const BDI_RATIO_SCALE: u64 = 10000;

// --- per-wb state (struct bdi_writeback), i64 fields ------------------------------------------
const W_RECLAIMABLE = 0;     // WB_RECLAIMABLE: dirty pages of this wb
const W_WRITEBACK = 1;       // WB_WRITEBACK
const W_DIRTIED = 2;         // WB_DIRTIED (cumulative)
const W_WRITTEN = 3;         // WB_WRITTEN (cumulative)
const W_BW = 4;              // write_bandwidth (pages/s)
const W_AVG_BW = 5;          // avg_write_bandwidth
const W_DIRTY_RL = 6;        // dirty_ratelimit
const W_BAL_RL = 7;          // balanced_dirty_ratelimit
const W_BW_STAMP = 8;        // bw_time_stamp (jiffies)
const W_DIRTIED_STAMP = 9;
const W_WRITTEN_STAMP = 10;
const W_COMPL = 11;          // completions: fprop local events
const W_COMPL_PERIOD = 12;   // the global period the local count was last aged to
const W_DIRTY_EXCEEDED = 13;
const W_THRESH = 14;         // last wb_thresh computed (for reports)
const W_EXCLUDED = 15;       // pins.dirtyAccounting exclude: its WB_RECLAIMABLE pages left out of the throttling figures
const W_STRIDE = 16;
let wbs: usize = 0;
export let nWbs: i32 = 0;

@inline export function wbf(w: i32, f: i32): i64 { return load<i64>(wbs + (<usize>(w * W_STRIDE + f) << 3)); }
@inline function setWbf(w: i32, f: i32, v: i64): void { store<i64>(wbs + (<usize>(w * W_STRIDE + f) << 3), v); }
@inline function addWbf(w: i32, f: i32, d: i64): void { setWbf(w, f, wbf(w, f) + d); }

// --- the global wb_domain -----------------------------------------------------------------------
let domDirtyLimit: i64 = 0;          // dom->dirty_limit (smoothed thresh)
let domDirtyLimitStamp: i64 = 0;     // dom->dirty_limit_tstamp (jiffies)
let domCompl: i64 = 0;               // completions: fprop global events
let domPeriod: i64 = 0;              // fprop global period
let domPeriodTime: i64 = 0;          // next writeout_period timer (jiffies), 0 = stopped
let sumMinRatio: u64 = 0;            // Σ bdi min_ratio × BDI_RATIO_SCALE
let ratelimitPages: i64 = 32;

// --- distributions for capacity planning --------------------------------------------------------
// balance_dirty_pages sleeps, one bucket per jiffy up to MAX_PAUSE; the age of dirty data when
// its writeback completes (from the moment the page became dirty), in 10 ms buckets to 120 s.
const FLUSH_BUCKET_NS: i64 = 10_000_000;
// FLUSH_BUCKETS (src/abi/layout.ts): the last one collects everything older
let pauseHist: usize = 0;
let pauseBuckets: i32 = 0;
let flushHist: usize = 0;

function recordPeaks(): void {
  const d = count(C_NR_DIRTY); const wbk = count(C_NR_WRITEBACK);
  if (d > count(C_MMSIM_PEAK_DIRTY)) countSet(C_MMSIM_PEAK_DIRTY, d);
  if (wbk > count(C_MMSIM_PEAK_WRITEBACK)) countSet(C_MMSIM_PEAK_WRITEBACK, wbk);
  if (d + wbk > count(C_MMSIM_PEAK_DIRTY_WRITEBACK)) countSet(C_MMSIM_PEAK_DIRTY_WRITEBACK, d + wbk);
}

export function pauseHistPtr(): usize { return pauseHist; }
export function pauseHistLen(): i32 { return pauseBuckets; }
export function flushHistPtr(): usize { return flushHist; }
export function flushHistLen(): i32 { return FLUSH_BUCKETS; }

// --- per-task state (task_struct) ---------------------------------------------------------------
const K_NR_DIRTIED = 0; const K_PAUSE = 1; const K_PAUSED_WHEN = 2; const K_BDP_RL = 3;
const K_DIRTIED_TOTAL = 4;   // pages this task dirtied in all (for its dirty rate)
const K_THROTTLE_NS = 5;     // its time asleep in balance_dirty_pages
const K_LAST_PAUSE_NS = 6;   // its last pause
const K_STRIDE = 7;
// Per-task series: at every sample, each task's dirtied pages, throttled ns and last pause.
export { TASK_SERIES_FIELDS };
let taskSeries: usize = 0;
let taskSeriesCap: i32 = 0;
let taskSeriesRows: i32 = 0;
let tasks: usize = 0;
let nCpus: i32 = 0;
@inline function tkf(t: i32, f: i32): i64 { return load<i64>(tasks + (<usize>(t * K_STRIDE + f) << 3)); }
@inline function setTkf(t: i32, f: i32, v: i64): void { store<i64>(tasks + (<usize>(t * K_STRIDE + f) << 3), v); }
@inline function thisTask(): i32 { return currentTask >= 0 ? currentTask : nCpus; }

@inline function jiffiesNow(): i64 { return curClock / jiffyNs; }
@inline function vmCompletionsPeriodLen(): i64 { return 3 * hz; }
@inline function bandwidthInterval(): i64 { const b = hz / 5; return b > 0 ? b : 1; }
@inline function maxPause(): i64 { const b = hz / 5; return b > 0 ? b : 1; }

function ilog2(x: u64): i64 { return x == 0 ? 0 : <i64>(63 - clz<u64>(x)); }
function roundupPowOfTwo(x: u64): u64 { return x <= 1 ? 1 : (<u64>1) << (64 - clz<u64>(x - 1)); }

export function writebackInit(tasksN: i32, maxSamples: i32): bool {
  taskSeriesCap = maxSamples; taskSeriesRows = 0;
  taskSeries = regionAlloc(<u64>maxSamples * <u64>(tasksN + 1) * <u64>TASK_SERIES_FIELDS * 8);
  if (taskSeries == 0) return false;
  nWbs = <i32>cfg(G_N_DEVICES);
  nCpus = tasksN;
  wbs = regionAlloc(<u64>(nWbs + 1) * W_STRIDE * 8);
  tasks = regionAlloc(<u64>(tasksN + 1) * K_STRIDE * 8);
  wbInfo = regionAlloc(<u64>(nWbs + 1) * <u64>WBINFO_STRIDE * 8);
  pauseBuckets = <i32>maxPause() + 1;
  pauseHist = regionAlloc(<u64>pauseBuckets * 8);
  flushHist = regionAlloc(<u64>FLUSH_BUCKETS * 8);
  if (wbs == 0 || tasks == 0 || wbInfo == 0 || pauseHist == 0 || flushHist == 0) return false;
  sumMinRatio = 0;
  for (let w = 0; w < nWbs; w++) {
    setWbf(w, W_BW, INIT_BW); setWbf(w, W_AVG_BW, INIT_BW);
    setWbf(w, W_DIRTY_RL, INIT_BW); setWbf(w, W_BAL_RL, INIT_BW);
    sumMinRatio += <u64>devCfg(w, DEV_MIN_RATIO) * BDI_RATIO_SCALE;
  }
  if (sumMinRatio > 100 * BDI_RATIO_SCALE) sumMinRatio = 100 * BDI_RATIO_SCALE;
  for (let t = 0; t <= tasksN; t++) setTkf(t, K_PAUSE, 128 >> 2);   // nr_dirtied_pause at fork
  domCompl = 0; domPeriod = 0; domPeriodTime = 0; domDirtyLimitStamp = 0;
  remoteDirty = 0; remoteFileDirty = 0; remoteDirtyable = 0; remoteCompl = 0;
  cancelledPages = 0;
  excludedPages = 0;
  // writeback_set_ratelimit: ratelimit_pages = max(thresh / (online CPUs * 32), 16)
  domainDirtyLimits(globalDirtyableMemory());
  domDirtyLimit = lastThresh;
  ratelimitPages = lastThresh / (<i64>(tasksN + 1) * 32);
  if (ratelimitPages < 16) ratelimitPages = 16;
  return true;
}

/** The wb (device) a page-cache page writes back to. */
@inline function folioWb(p: u32): i32 { return fileDevice(folioFile(p)); }
@inline function wbStrict(w: i32): bool { return devCfg(w, DEV_STRICT_LIMIT) != 0; }

// --- floating proportions of completions (lib/flex_proportions.c, writeout_period) ---------

/** writeout_period timer firings due by `nowJ`: each halves the global count (fprop_new_period). */
function domainAgePeriods(nowJ: i64): void {
  while (domPeriodTime != 0 && nowJ >= domPeriodTime) {
    if (domCompl <= 1) { domPeriodTime = 0; break; }         // aging zeroed everything: stop
    domCompl = domCompl >> 1;
    domPeriod++;
    domPeriodTime += vmCompletionsPeriodLen();
  }
}

/** fprop_reflect_period_percpu: age a wb's local count to the global period. */
function wbReflectPeriod(w: i32): void {
  const behind = domPeriod - wbf(w, W_COMPL_PERIOD);
  if (behind == 0) return;
  setWbf(w, W_COMPL, behind < 64 ? wbf(w, W_COMPL) >> behind : 0);
  setWbf(w, W_COMPL_PERIOD, domPeriod);
}

/** wb_domain_writeout_add for one completed page. */
function wbDomainWriteoutAdd(w: i32): void {
  domainAgePeriods(jiffiesNow());
  wbReflectPeriod(w);
  addWbf(w, W_COMPL, 1);
  domCompl++;
  if (domPeriodTime == 0) domPeriodTime = jiffiesNow() + vmCompletionsPeriodLen();   // wp_next_time
}

// --- page state and its counters ----------------------------------------------------------------

/**
 * folio_mark_dirty. Page cache: folio_account_dirtied (NR_FILE_DIRTY, NR_DIRTIED, the wb's
 * WB_RECLAIMABLE and WB_DIRTIED, the dirtier's nr_dirtied, the CPU's bdp_ratelimits) and the
 * inode goes on its wb's dirty list. Anonymous and swap-cache pages only get PG_dirty.
 */
export function folioMarkDirty(p: u32): void {
  if (testFlag(p, PG_dirty)) return;
  setFlags(p, (flags(p) | PG_dirty) & ~PG_mmsim_cleaned);
  if (testFlag(p, PG_swapbacked)) return;
  const f = folioFile(p);
  if (f < 0) return;
  fileFillHole(f, pageIndex(p));
  const w = fileDevice(f);
  countAdd(C_NR_DIRTY, 1);
  countEvent(C_NR_DIRTIED);
  addWbf(w, W_RECLAIMABLE, 1);
  addWbf(w, W_DIRTIED, 1);
  const t = thisTask();
  setTkf(t, K_NR_DIRTIED, tkf(t, K_NR_DIRTIED) + 1);
  setTkf(t, K_DIRTIED_TOTAL, tkf(t, K_DIRTIED_TOTAL) + 1);
  setTkf(t, K_BDP_RL, tkf(t, K_BDP_RL) + 1);
  inodeAccountDirtied(f, curClock);
  // folio->private is free for page-cache pages here: it remembers when the page became dirty
  // (ms, +1 so that 0 means unknown), for the age of data at writeback completion
  setPagePrivate(p, <u32>(curClock / 1_000_000) + 1);
  dirtyExclusionUpdate(p);
  recordPeaks();
}

/**
 * set_page_dirty_lock for the GUP unpin path (unpin_user_pages_dirty_lock, after a device's
 * DMA into the page): folio_lock, folio_mark_dirty, folio_unlock. The mapping's dirty_folio is
 * ext4_dirty_folio → block_dirty_folio, which marks the buffers the page has dirty and attaches
 * none (ext4_dirty_folio's WARN_ON_ONCE(!folio_buffers) is all it says of a page without): a
 * page whose buffers reclaim dropped is dirty now without any, and the writeback that reaches
 * it is the kernel BUG of 2018 (mmsim_bug_writeback_no_buffers, flusher.ts). Anonymous and
 * swap-cache pages only get PG_dirty, a truncated page (no mapping) too, as folio_mark_dirty
 * does. False while the folio is locked (its read in flight, or kept locked by another
 * asleep): entity `e` sleeps on it (folio_lock) and calls again when it runs; with `e` < 0 the
 * caller cannot sleep and just calls again later.
 */
export function setPageDirtyLock(p: u32, e: i32): bool {
  if (testFlag(p, PG_locked) || testFlag(p, PG_readio)) {
    if (e >= 0) folioWaitLock(p, e, curClock);
    return false;
  }
  folioMarkDirty(p);
  return true;
}

/** folio_clear_dirty_for_io's answers: the folio was dirty (now clean, for IO), was not, or the caller sleeps. */
export const NOT_DIRTY: i32 = 0;
export const CLEARED_FOR_IO: i32 = 1;
export const MKCLEAN_SLEEPS: i32 = -1;

/**
 * folio_clear_dirty_for_io by entity `e`: write-protect the mappings (folio_mkclean), then clear
 * PG_dirty. MKCLEAN_SLEEPS: a notifier callback of folio_mkclean sleeps on its lock; call again
 * for the same folio when `e` runs.
 */
export function folioClearDirtyForIo(p: u32, e: i32): i32 {
  if (testFlag(p, PG_swapbacked)) return testClearFlag(p, PG_dirty) ? CLEARED_FOR_IO : NOT_DIRTY;
  const dirtyPtes = folioMkclean(p, e);
  if (dirtyPtes < 0) return MKCLEAN_SLEEPS;
  if (dirtyPtes > 0) folioMarkDirty(p);
  if (!testClearFlag(p, PG_dirty)) return NOT_DIRTY;
  // the device that holds the page may write it on: writeback would not know (detector)
  if (pinTruth(p) > 0) setFlag(p, PG_mmsim_cleaned);
  const f = folioFile(p);
  countAdd(C_NR_DIRTY, -1);
  addWbf(fileDevice(f), W_RECLAIMABLE, -1);
  dirtyExclusionUpdate(p);
  inodeAccountCleaned(f);
  return CLEARED_FOR_IO;
}

// --- pins.dirtyAccounting: dirty pinned pages left out of the throttling figures ------------------
// Hubbard's "ignore this region until we're done with it" (seed 002): a dirty page-cache page
// the track recognises as pinned is not counted in the dirty figures balance_dirty_pages and the
// background checks (wb_over_bg_thresh, its kick of the flusher) read — global NR_FILE_DIRTY
// and the wb's WB_RECLAIMABLE, less the excluded pages — while NR_FILE_DIRTY itself (nr_dirty)
// stays the count of dirty pages. Pinned pages under writeback still count: their IO completes.
// Decided (pin_policy.ts pinDirtyExcluded) wherever either side changes: the page dirtied or
// cleaned here, pinned or unpinned there; PG_mmsim_dirty_excluded says which pages are out.
let excludedPages: i64 = 0;

/** Dirty pages left out of the throttling figures now (this node). */
export function dirtyExcludedPages(): i64 { return excludedPages; }

/**
 * Re-decide whether page `p` is left out of the dirty throttling figures: a dirty page-cache
 * page that pins.dirtyAccounting excludes (believed pinned). Keeps mmsim_nr_dirty_pinned_excluded
 * and the wb's share in step with PG_mmsim_dirty_excluded.
 */
export function dirtyExclusionUpdate(p: u32): void {
  if (!pinDirtyExcluding) return;
  const f = folioFile(p);
  const out = testFlag(p, PG_dirty) && !testFlag(p, PG_swapbacked) && f >= 0 && pinDirtyExcluded(p);
  if (out == testFlag(p, PG_mmsim_dirty_excluded)) return;
  const d: i64 = out ? 1 : -1;
  if (out) setFlag(p, PG_mmsim_dirty_excluded); else clearFlag(p, PG_mmsim_dirty_excluded);
  excludedPages += d;
  countAdd(C_MMSIM_NR_DIRTY_PINNED_EXCLUDED, d);
  addWbf(fileDevice(f), W_EXCLUDED, d);
}

/** Page-cache pages whose dirty state was cancelled so far (they will never be written: sync's count). */
let cancelledPages: i64 = 0;
export function cancelledDirtyPages(): i64 { return cancelledPages; }

/**
 * folio_cancel_dirty (truncation: the data is thrown away; a page writeback drops, flusher.ts):
 * clear PG_dirty without IO and, for a page-cache page, folio_account_cleaned — NR_FILE_DIRTY
 * and the wb's WB_RECLAIMABLE fall, the inode may become clean. Its TOWRITE mark goes with it.
 * True if it was dirty.
 */
export function folioCancelDirty(p: u32): bool {
  clearFlag(p, PAGECACHE_TAG_TOWRITE);
  if (!testClearFlag(p, PG_dirty)) return false;
  if (testFlag(p, PG_swapbacked)) return true;
  const f = folioFile(p);
  if (f < 0) return true;
  countAdd(C_NR_DIRTY, -1);
  addWbf(fileDevice(f), W_RECLAIMABLE, -1);
  dirtyExclusionUpdate(p);
  inodeAccountCleaned(f);
  setPagePrivate(p, 0);
  cancelledPages++;
  return true;
}

/** __folio_start_writeback */
export function folioStartWriteback(p: u32): void {
  setFlag(p, PG_writeback);
  clearFlag(p, PAGECACHE_TAG_TOWRITE);
  countAdd(C_NR_WRITEBACK, 1);
  if (!testFlag(p, PG_swapbacked)) {
    addWbf(folioWb(p), W_WRITEBACK, 1);
    inodeAccountWriteback(folioFile(p), 1);
  }
  recordPeaks();
}

/** folio_end_writeback: counters, completions for the wb's share; PG_reclaim pages rotate to the tail. */
export function endPageWriteback(p: u32): void {
  clearFlag(p, PG_writeback);
  countAdd(C_NR_WRITEBACK, -1);
  if (!testFlag(p, PG_swapbacked)) {
    const w = folioWb(p);
    countEvent(C_NR_WRITTEN);
    addWbf(w, W_WRITEBACK, -1);
    addWbf(w, W_WRITTEN, 1);
    inodeAccountWriteback(folioFile(p), -1);
    wbDomainWriteoutAdd(w);
    wbUpdateBandwidthIfDue(w);
    const since = pagePrivate(p);
    if (since != 0) {
      let b = (curClock - (<i64>(since - 1)) * 1_000_000) / FLUSH_BUCKET_NS;
      if (b < 0) b = 0;
      if (b >= <i64>FLUSH_BUCKETS) b = FLUSH_BUCKETS - 1;
      const a = flushHist + (<usize>b << 3);
      store<u64>(a, load<u64>(a) + 1);
      setPagePrivate(p, 0);
    }
  }
  if (testClearFlag(p, PG_reclaim)) {
    if (folioRotateReclaimable(p)) countEvent(C_PGROTATED);
  }
}

export function wbReclaimable(w: i32): i64 { return wbf(w, W_RECLAIMABLE); }
/** WB_RECLAIMABLE as the throttling figures count it (less the pages pins.dirtyAccounting leaves out). */
export function wbReclaimableCounted(w: i32): i64 { return wbf(w, W_RECLAIMABLE) - wbf(w, W_EXCLUDED); }
export function wbWritten(w: i32): i64 { return wbf(w, W_WRITTEN); }
export function wbWriteback(w: i32): i64 { return wbf(w, W_WRITEBACK); }
export function wbAvgWriteBandwidth(w: i32): i64 { return wbf(w, W_AVG_BW); }
export function domainDirtyLimit(): i64 { return domDirtyLimit; }

// --- limits ---------------------------------------------------------------------------------

/** global_dirtyable_memory: free pages less the reserves, plus the file LRU, plus one. */
export function globalDirtyableMemory(): i64 { return nodeDirtyableMemory() + remoteDirtyable + 1; }

/** This node's part of it (node_dirtyable_memory, with the reserves of global_dirtyable_memory). */
export function nodeDirtyableMemory(): i64 {
  let x = <i64>count(C_NR_FREE_PAGES);
  x -= x < totalreservePages ? x : totalreservePages;
  x += <i64>(count(C_NR_ACTIVE_FILE) + count(C_NR_INACTIVE_FILE));
  return x;
}

// --- the other NUMA nodes of a sharded machine ----------------------------------------------------
// The kernel's dirty limits are global. When a machine is simulated one node per instance, the
// host hands each node the other nodes' totals at every epoch boundary (as of that boundary):
// dirty + writeback pages, dirty pages, dirtyable memory and writeback completions.
let remoteDirty: i64 = 0;
let remoteFileDirty: i64 = 0;
let remoteDirtyable: i64 = 0;
let remoteCompl: i64 = 0;
export function setRemote(dirty: i64, fileDirty: i64, dirtyable: i64, compl: i64): void {
  remoteDirty = dirty; remoteFileDirty = fileDirty; remoteDirtyable = dirtyable; remoteCompl = compl;
}
/** NR_FILE_DIRTY of the whole machine, as the throttling figures count it (less the pages pins.dirtyAccounting leaves out). */
export function globalFileDirty(): i64 { return <i64>count(C_NR_DIRTY) - excludedPages + remoteFileDirty; }
/** This node's completion events (for the host's exchange). */
export function localCompletions(): i64 { domainAgePeriods(jiffiesNow()); return domCompl; }

let lastThresh: i64 = 0;
let lastBgThresh: i64 = 0;

/** domain_dirty_limits for the global domain (ratios kept per PAGE_SIZE as the kernel does). */
export function domainDirtyLimits(avail: i64): void {
  const bytes = <u64>cfg(G_DIRTY_BYTES);
  const bgBytes = <u64>cfg(G_DIRTY_BACKGROUND_BYTES);
  const ratio = <u64>cfg(G_DIRTY_RATIO) * PAGE_SIZE / 100;
  const bgRatio = <u64>cfg(G_DIRTY_BACKGROUND_RATIO) * PAGE_SIZE / 100;
  let thresh: u64 = bytes != 0 ? (bytes + PAGE_SIZE - 1) / PAGE_SIZE : ratio * <u64>avail / PAGE_SIZE;
  let bg: u64 = bgBytes != 0 ? (bgBytes + PAGE_SIZE - 1) / PAGE_SIZE : bgRatio * <u64>avail / PAGE_SIZE;
  if (bg >= thresh) bg = thresh / 2;
  lastThresh = <i64>thresh;
  lastBgThresh = <i64>bg;
  countSet(C_NR_DIRTY_THRESHOLD, thresh);
  countSet(C_NR_DIRTY_BACKGROUND_THRESHOLD, bg);
}

/** global_dirty_limits: (thresh, bg_thresh) of now; the second is left in lastBgThresh. */
export function globalDirtyLimits(): i64 {
  domainDirtyLimits(globalDirtyableMemory());
  return lastThresh;
}
export function lastBackgroundThresh(): i64 { return lastBgThresh; }

@inline function dirtyFreerunCeiling(thresh: i64, bg: i64): i64 { return (thresh + bg) / 2; }
@inline function hardDirtyLimit(thresh: i64): i64 { return thresh > domDirtyLimit ? thresh : domDirtyLimit; }

/** __wb_calc_thresh (v6.14+): the wb's share of `thresh` by its recent completions, floored for idle devices. */
export function wbCalcThresh(w: i32, thresh: i64, dirty: i64): i64 {
  domainAgePeriods(jiffiesNow());
  wbReflectPeriod(w);
  // fprop_fraction_percpu: num/den ≤ 1, den > 0
  let num = wbf(w, W_COMPL); let den = domCompl + remoteCompl;
  if (den <= num) den = num > 0 ? num : 1;
  let wbThresh: u64 = <u64>thresh * (100 * BDI_RATIO_SCALE - sumMinRatio) / (100 * BDI_RATIO_SCALE);
  wbThresh = wbThresh * <u64>num / <u64>den;
  const minR = <u64>devCfg(w, DEV_MIN_RATIO) * BDI_RATIO_SCALE;
  const maxR = <u64>devCfg(w, DEV_MAX_RATIO) * BDI_RATIO_SCALE;
  wbThresh += <u64>thresh * minR / (100 * BDI_RATIO_SCALE);
  if (thresh > dirty) {
    const floor = <u64>(thresh - dirty) / (wbStrict(w) ? 100 : 8);
    if (wbThresh < floor) wbThresh = floor;
  }
  const maxThresh = <u64>thresh * maxR / (100 * BDI_RATIO_SCALE);
  if (wbThresh > maxThresh) wbThresh = maxThresh;
  return <i64>wbThresh;
}

/** pos_ratio_polynom: 1 + ((setpoint − dirty) / (limit − setpoint))³ in 1/1024, clamped to [0, 2]. */
function posRatioPolynom(setpoint: i64, dirty: i64, limit: i64): i64 {
  const x: i64 = ((setpoint - dirty) << RATELIMIT_CALC_SHIFT) / ((limit - setpoint) | 1);
  let pos: i64 = x;
  pos = (pos * x) >> RATELIMIT_CALC_SHIFT;
  pos = (pos * x) >> RATELIMIT_CALC_SHIFT;
  pos += 1 << RATELIMIT_CALC_SHIFT;
  if (pos < 0) pos = 0;
  if (pos > (2 << RATELIMIT_CALC_SHIFT)) pos = 2 << RATELIMIT_CALC_SHIFT;
  return pos;
}

/**
 * struct dirty_throttle_control of the global domain (the kernel's gdtc on balance_dirty_pages'
 * stack): filled by balance_dirty_pages and passed down to the functions that read it.
 */
@unmanaged class DirtyThrottleControl {
  avail: i64;
  dirty: i64;
  thresh: i64;
  bg_thresh: i64;
  wb_dirty: i64;
  wb_thresh: i64;
  wb_bg_thresh: i64;
  pos_ratio: i64;
  /** wb_min_pause's *nr_dirtied_pause */
  nr_dirtied_pause: i64;
}
const gdtcStorage: usize = memory.data(offsetof<DirtyThrottleControl>());

/** wb_dirty_limits */
function wbDirtyLimits(dtc: DirtyThrottleControl, w: i32): void {
  dtc.wb_thresh = wbCalcThresh(w, dtc.thresh, dtc.dirty);
  setWbf(w, W_THRESH, dtc.wb_thresh);
  dtc.wb_bg_thresh = dtc.thresh != 0 ? <i64>(<u64>dtc.bg_thresh * <u64>dtc.wb_thresh / <u64>dtc.thresh) : 0;
  dtc.wb_dirty = wbReclaimableCounted(w) + wbf(w, W_WRITEBACK);
}

/** wb_position_ratio: the global cubic, then the wb's linear line (or its own cubic when strict). */
function wbPositionRatio(dtc: DirtyThrottleControl, w: i32): void {
  const freerun = dirtyFreerunCeiling(dtc.thresh, dtc.bg_thresh);
  const limit = hardDirtyLimit(dtc.thresh);
  const setpoint = (freerun + limit) / 2;
  dtc.pos_ratio = 0;
  if (dtc.dirty >= limit) return;
  let posRatio = posRatioPolynom(setpoint, dtc.dirty, limit);
  if (wbStrict(w)) {
    if (dtc.wb_dirty >= dtc.wb_thresh) return;
    const wbSetpoint = dirtyFreerunCeiling(dtc.wb_thresh, dtc.wb_bg_thresh);
    if (wbSetpoint == 0 || wbSetpoint == dtc.wb_thresh) return;
    const wbPos = posRatioPolynom(wbSetpoint, dtc.wb_dirty, dtc.wb_thresh);
    dtc.pos_ratio = posRatio < wbPos ? posRatio : wbPos;
    return;
  }
  let wbThresh = dtc.wb_thresh;
  if (wbThresh > dtc.thresh) wbThresh = dtc.thresh;
  const writeBw = wbf(w, W_AVG_BW);
  const x: u64 = (<u64>wbThresh << 16) / (<u64>dtc.thresh | 1);
  const wbSetpoint = <i64>((<u64>setpoint * x) >> 16);
  const span = <i64>((<u64>(dtc.thresh - wbThresh + 8 * writeBw) * x) >> 16);
  let xIntercept = wbSetpoint + span;
  if (dtc.wb_dirty < xIntercept - span / 4) {
    posRatio = <i64>(<u64>posRatio * <u64>(xIntercept - dtc.wb_dirty) / (<u64>(xIntercept - wbSetpoint) | 1));
  } else {
    posRatio /= 4;
  }
  // the wb's reserve area: never let its dirty pool run dry
  xIntercept = wbThresh / 2;
  if (dtc.wb_dirty < xIntercept) {
    if (dtc.wb_dirty > xIntercept / 8) posRatio = <i64>(<u64>posRatio * <u64>xIntercept / <u64>dtc.wb_dirty);
    else posRatio *= 8;
  }
  dtc.pos_ratio = posRatio;
}

// --- bandwidth and ratelimit estimation -----------------------------------------------------

/** wb_update_write_bandwidth */
function wbUpdateWriteBandwidth(w: i32, elapsed: i64, written: i64): void {
  const period = <i64>roundupPowOfTwo(<u64>(3 * hz));
  let avg = wbf(w, W_AVG_BW);
  const old = wbf(w, W_BW);
  let bw: i64 = (written - wbf(w, W_WRITTEN_STAMP)) * hz;
  if (elapsed > period) {
    bw = bw / elapsed;
    avg = bw;
  } else {
    bw = (bw + old * (period - elapsed)) >> ilog2(<u64>period);
    if (avg > old && old >= bw) avg -= (avg - old) >> 3;
    if (avg < old && old <= bw) avg += (old - avg) >> 3;
  }
  if (avg < 1) avg = 1;
  setWbf(w, W_BW, bw);
  setWbf(w, W_AVG_BW, avg);
}

/** update_dirty_limit via domain_update_dirty_limit (at most every BANDWIDTH_INTERVAL). */
function domainUpdateDirtyLimit(dtc: DirtyThrottleControl, nowJ: i64): void {
  if (nowJ <= domDirtyLimitStamp + bandwidthInterval()) return;
  let thresh = dtc.thresh;
  let limit = domDirtyLimit;
  if (limit < thresh) limit = thresh;
  else {
    if (thresh < dtc.dirty) thresh = dtc.dirty;
    if (limit > thresh) limit -= (limit - thresh) >> 5;
  }
  domDirtyLimit = limit;
  domDirtyLimitStamp = nowJ;
}

/** wb_update_dirty_ratelimit: move dirty_ratelimit toward the balanced rate, gently near it. */
function wbUpdateDirtyRatelimit(dtc: DirtyThrottleControl, w: i32, dirtied: i64, elapsed: i64): void {
  let dirty = dtc.dirty;
  const freerun = dirtyFreerunCeiling(dtc.thresh, dtc.bg_thresh);
  const limit = hardDirtyLimit(dtc.thresh);
  let setpoint = (freerun + limit) / 2;
  const writeBw = <u64>wbf(w, W_AVG_BW);
  let dirtyRatelimit = <u64>wbf(w, W_DIRTY_RL);
  const dirtyRate = <u64>((dirtied - wbf(w, W_DIRTIED_STAMP)) * hz / elapsed);
  let taskRatelimit = (dirtyRatelimit * <u64>dtc.pos_ratio) >> RATELIMIT_CALC_SHIFT;
  taskRatelimit++;
  let balanced = taskRatelimit * writeBw / (dirtyRate | 1);
  if (balanced > writeBw) balanced = writeBw;
  if (wbStrict(w)) { dirty = dtc.wb_dirty; setpoint = (dtc.wb_thresh + dtc.wb_bg_thresh) / 2; }
  const prevBalanced = <u64>wbf(w, W_BAL_RL);
  let step: u64 = 0;
  if (dirty < setpoint) {
    const x = min(min(prevBalanced, balanced), taskRatelimit);
    if (dirtyRatelimit < x) step = x - dirtyRatelimit;
  } else {
    const x = max(max(prevBalanced, balanced), taskRatelimit);
    if (dirtyRatelimit > x) step = dirtyRatelimit - x;
  }
  const shift = dirtyRatelimit / (2 * step + 1);
  step = shift < 64 ? ((step >> shift) + 7) / 8 : 0;
  if (dirtyRatelimit < balanced) dirtyRatelimit += step; else dirtyRatelimit -= step;
  setWbf(w, W_DIRTY_RL, dirtyRatelimit > 1 ? <i64>dirtyRatelimit : 1);
  setWbf(w, W_BAL_RL, <i64>balanced);
}

/** __wb_update_bandwidth: from balance_dirty_pages (with the ratelimit) or writeback (bandwidth only). */
function wbUpdateBandwidthFull(w: i32, dtc: DirtyThrottleControl | null): void {
  const nowJ = jiffiesNow();
  let elapsed = nowJ - wbf(w, W_BW_STAMP);
  if (elapsed < 1) elapsed = 1;
  const dirtied = wbf(w, W_DIRTIED);
  const written = wbf(w, W_WRITTEN);
  if (dtc != null) {
    domainUpdateDirtyLimit(dtc, nowJ);
    wbUpdateDirtyRatelimit(dtc, w, dirtied, elapsed);
  }
  wbUpdateWriteBandwidth(w, elapsed, written);
  setWbf(w, W_DIRTIED_STAMP, dirtied);
  setWbf(w, W_WRITTEN_STAMP, written);
  setWbf(w, W_BW_STAMP, nowJ);
}

/** wb_update_bandwidth: the writeback side's update (bandwidth only). */
export function wbUpdateBandwidth(w: i32): void { wbUpdateBandwidthFull(w, null); }

/** The same, when BANDWIDTH_INTERVAL has passed since the last (folio_end_writeback, do_writepages). */
export function wbUpdateBandwidthIfDue(w: i32): void {
  if (jiffiesNow() - wbf(w, W_BW_STAMP) >= bandwidthInterval()) wbUpdateBandwidth(w);
}

/**
 * wb_bandwidth_estimate_start: before the first IO of a busy period, an idle wb (over a second
 * without writeback) restarts its stamps so the idle time does not dilute the estimate.
 */
export function wbBandwidthEstimateStart(w: i32): void {
  const nowJ = jiffiesNow();
  if (wbf(w, W_WRITEBACK) == 0 && nowJ - wbf(w, W_BW_STAMP) > hz) {
    setWbf(w, W_DIRTIED_STAMP, wbf(w, W_DIRTIED));
    setWbf(w, W_WRITTEN_STAMP, wbf(w, W_WRITTEN));
    setWbf(w, W_BW_STAMP, nowJ);
  }
}

// --- balance_dirty_pages ----------------------------------------------------------------------

/** dirty_poll_interval: about the square root of the headroom. */
function dirtyPollInterval(dirty: i64, thresh: i64): i64 {
  if (thresh > dirty) return (<i64>1) << (ilog2(<u64>(thresh - dirty)) >> 1);
  return 1;
}

/** wb_max_pause: time to write about an eighth of the wb's dirty pages, at most MAX_PAUSE. */
function wbMaxPause(w: i32, wbDirty: i64): i64 {
  const bw = <u64>wbf(w, W_AVG_BW);
  let t = <i64>(<u64>wbDirty / (1 + bw / roundupPowOfTwo(<u64>(1 + hz / 8))));
  t++;
  return t < maxPause() ? t : maxPause();
}

/** wb_min_pause: the shortest sleep worth taking, and (dtc.nr_dirtied_pause) the pages until the next check. */
function wbMinPause(dtc: DirtyThrottleControl, w: i32, maxP: i64, taskRl: i64, dirtyRl: i64): i64 {
  const hi = ilog2(<u64>wbf(w, W_AVG_BW));
  const lo = ilog2(<u64>wbf(w, W_DIRTY_RL));
  let t: i64 = hz / 100 > 1 ? hz / 100 : 1;
  if (hi > lo) t += (hi - lo) * (10 * hz) / 1024;
  if (t > 1 + maxP / 2) t = 1 + maxP / 2;
  const hzPow = <i64>roundupPowOfTwo(<u64>hz);
  let pages = dirtyRl * t / hzPow;
  if (pages < DIRTY_POLL_THRESH) {
    t = maxP;
    pages = dirtyRl * t / hzPow;
    if (pages > DIRTY_POLL_THRESH) { pages = DIRTY_POLL_THRESH; t = hz * DIRTY_POLL_THRESH / dirtyRl; }
  }
  const pause = hz * pages / (taskRl + 1);
  if (pause > maxP) { t = maxP; pages = taskRl * t / hzPow; }
  dtc.nr_dirtied_pause = pages;
  return pages >= DIRTY_POLL_THRESH ? 1 + t / 2 : t;
}

function countPause(ns: i64): void {
  const j = ns / jiffyNs;
  const a = pauseHist + (<usize>(j < <i64>pauseBuckets ? j : <i64>pauseBuckets - 1) << 3);
  store<u64>(a, load<u64>(a) + 1);
  countEvent(C_MMSIM_BDP_PAUSES);
  countAdd(C_MMSIM_DIRTY_THROTTLE_NS, ns);
  const ms = ns / 1_000_000;
  const bucket = ns < 1_000_000 ? 0 : (ms < 10 ? 1 : (ms < 50 ? 2 : (ms < 200 ? 3 : 4)));
  countEvent(C_MMSIM_BDP_PAUSE_0_1MS + bucket);
  if (<u64>ns > count(C_MMSIM_BDP_PAUSE_MAX_NS)) countSet(C_MMSIM_BDP_PAUSE_MAX_NS, <u64>ns);
}

/**
 * balance_dirty_pages for the current task, which dirtied `pagesDirtied` pages of wb `w` since
 * its last check. Sleeping moves the task's clock; returns true when the hard limit was hit
 * (pos_ratio 0) and the kernel would loop: the caller checks again after the sleep.
 */
function balanceDirtyPages(w: i32, pagesDirtied: i64): bool {
  const dtc = changetype<DirtyThrottleControl>(gdtcStorage);
  const t = thisTask();
  countEvent(C_MMSIM_BDP_CALLS);
  let nowJ = jiffiesNow();
  dtc.avail = globalDirtyableMemory();
  dtc.dirty = <i64>(count(C_NR_DIRTY) + count(C_NR_WRITEBACK)) - excludedPages + remoteDirty;
  domainDirtyLimits(dtc.avail);
  dtc.thresh = lastThresh; dtc.bg_thresh = lastBgThresh;
  const strict = wbStrict(w);
  let dirty = dtc.dirty; let thresh = dtc.thresh; let bg = dtc.bg_thresh;
  if (strict) { wbDirtyLimits(dtc, w); dirty = dtc.wb_dirty; thresh = dtc.wb_thresh; bg = dtc.wb_bg_thresh; }
  const freerun = dirtyFreerunCeiling(thresh, bg);
  countSet(C_MMSIM_DIRTY_FREERUN, <u64>dirtyFreerunCeiling(dtc.thresh, dtc.bg_thresh));
  countSet(C_MMSIM_DIRTY_LIMIT, <u64>hardDirtyLimit(dtc.thresh));
  countSet(C_MMSIM_DIRTY_SETPOINT, <u64>((dirtyFreerunCeiling(dtc.thresh, dtc.bg_thresh) + hardDirtyLimit(dtc.thresh)) / 2));
  // kick the flusher above the background threshold (NR_FILE_DIRTY only)
  if (cfg(G_LAPTOP_MODE) == 0 && globalFileDirty() > dtc.bg_thresh && !writebackInProgress(w)) wbStartBackgroundWriteback(w);
  if (dirty <= freerun) {
    countEvent(C_MMSIM_BDP_FREERUN);
    setTkf(t, K_PAUSED_WHEN, nowJ);
    setTkf(t, K_NR_DIRTIED, 0);
    setTkf(t, K_PAUSE, dirtyPollInterval(dirty, thresh));
    return false;
  }
  if (!writebackInProgress(w)) wbStartBackgroundWriteback(w);
  if (!strict) wbDirtyLimits(dtc, w);
  const dirtyExceeded = dtc.wb_dirty > dtc.wb_thresh && (dtc.dirty > dtc.thresh || strict);
  wbPositionRatio(dtc, w);
  setWbf(w, W_DIRTY_EXCEEDED, dirtyExceeded ? 1 : 0);
  if (nowJ - wbf(w, W_BW_STAMP) >= bandwidthInterval()) wbUpdateBandwidthFull(w, dtc);
  const dirtyRatelimit = wbf(w, W_DIRTY_RL);
  const taskRatelimit = (dirtyRatelimit * dtc.pos_ratio) >> RATELIMIT_CALC_SHIFT;
  countSet(C_MMSIM_BDP_POS_RATIO, <u64>dtc.pos_ratio);
  countSet(C_MMSIM_BDP_TASK_RATELIMIT, <u64>taskRatelimit);
  countSet(C_MMSIM_BDP_DIRTY_RATELIMIT, <u64>dirtyRatelimit);
  countSet(C_MMSIM_BDP_WRITE_BANDWIDTH, <u64>wbf(w, W_AVG_BW));
  countSet(C_MMSIM_BDP_WB_THRESH, <u64>dtc.wb_thresh);
  const maxP = wbMaxPause(w, dtc.wb_dirty);
  const minP = wbMinPause(dtc, w, maxP, taskRatelimit, dirtyRatelimit);
  const nrDirtiedPause = dtc.nr_dirtied_pause;
  let pause: i64;
  if (taskRatelimit == 0) {
    pause = maxP;
  } else {
    const period = hz * pagesDirtied / taskRatelimit;
    pause = period;
    const pausedWhen = tkf(t, K_PAUSED_WHEN);
    if (pausedWhen != 0) pause -= nowJ - pausedWhen;    // credit the time since the last pause
    if (pause < minP) {
      // not worth a sleep: carry the debt forward
      if (pause < -hz) { setTkf(t, K_PAUSED_WHEN, nowJ); setTkf(t, K_NR_DIRTIED, 0); }
      else if (period != 0) { setTkf(t, K_PAUSED_WHEN, pausedWhen + period); setTkf(t, K_NR_DIRTIED, 0); }
      else if (tkf(t, K_PAUSE) <= pagesDirtied) setTkf(t, K_PAUSE, tkf(t, K_PAUSE) + pagesDirtied);
      return false;
    }
    if (pause > maxP) {
      nowJ += min(pause - maxP, maxP);                   // pretend we slept longer
      pause = maxP;
    }
  }
  // io_schedule_timeout(pause)
  const ns = pause * jiffyNs;
  waitUntil(curClock + ns);
  countPause(ns);
  setTkf(t, K_THROTTLE_NS, tkf(t, K_THROTTLE_NS) + ns);
  setTkf(t, K_LAST_PAUSE_NS, ns);
  setTkf(t, K_PAUSED_WHEN, nowJ + pause);
  setTkf(t, K_NR_DIRTIED, 0);
  setTkf(t, K_PAUSE, nrDirtiedPause);
  if (taskRatelimit != 0) return false;
  // hard limit: loop again, unless the device's pool is too small to wait on (wb_stat_error)
  return dtc.wb_dirty > wbStatError();
}

/** The percpu counters' possible slack the kernel tolerates: nr_cpu_ids * 8 * (1 + ilog2(nr_cpu_ids)). */
function wbStatError(): i64 {
  const cpus = <u64>(nCpus + 1);
  return <i64>(cpus * 8 * (1 + <u64>ilog2(cpus)));
}

/**
 * balance_dirty_pages_ratelimited for a page of file `f` the current task just dirtied: check
 * only every nr_dirtied_pause pages (8 when the wb exceeded its share), or when this CPU has
 * dirtied ratelimit_pages since its last check. Returns true when the caller should call again
 * after its sleep (the hard limit).
 */
export function balanceDirtyPagesRatelimited(f: i32): bool {
  const w = fileDevice(f);
  const t = thisTask();
  let ratelimit = tkf(t, K_PAUSE);
  if (wbf(w, W_DIRTY_EXCEEDED) != 0 && ratelimit > 8) ratelimit = 8;
  const nrDirtied = tkf(t, K_NR_DIRTIED);
  if (nrDirtied >= ratelimit) setTkf(t, K_BDP_RL, 0);
  else if (tkf(t, K_BDP_RL) >= ratelimitPages) { setTkf(t, K_BDP_RL, 0); ratelimit = 0; }
  if (nrDirtied >= ratelimit) return balanceDirtyPages(w, nrDirtied);
  return false;
}

/** The hard-limit loop of balance_dirty_pages, resumed after the task's sleep. */
export function balanceDirtyPagesAgain(f: i32): bool {
  const t = thisTask();
  return balanceDirtyPages(fileDevice(f), tkf(t, K_NR_DIRTIED));
}

/** Per-wb figures for the host: WBINFO_FIELDS (src/abi/config.ts) per device. */
export const WBINFO_STRIDE: i32 = WBI_STRIDE;
let wbInfo: usize = 0;
@inline function wbi(a: usize, f: i32, v: f64): void { store<f64>(a + (<usize>f << 3), v); }
export function wbInfoFill(): usize {
  for (let w = 0; w < nWbs; w++) {
    const a = wbInfo + <usize>(w * WBINFO_STRIDE * 8);
    wbi(a, WBI_DIRTIED, <f64>wbf(w, W_DIRTIED));
    wbi(a, WBI_WRITTEN, <f64>wbf(w, W_WRITTEN));
    wbi(a, WBI_DIRTY, <f64>wbf(w, W_RECLAIMABLE));
    wbi(a, WBI_WRITEBACK, <f64>wbf(w, W_WRITEBACK));
    wbi(a, WBI_WRITE_BANDWIDTH, <f64>wbf(w, W_AVG_BW));
    wbi(a, WBI_DIRTY_RATELIMIT, <f64>wbf(w, W_DIRTY_RL));
    wbi(a, WBI_WB_THRESH, <f64>wbf(w, W_THRESH));
    domainAgePeriods(jiffiesNow());
    wbReflectPeriod(w);
    wbi(a, WBI_COMPLETION_SHARE, domCompl + remoteCompl > 0 ? <f64>wbf(w, W_COMPL) / <f64>(domCompl + remoteCompl) : 0.0);
  }
  return wbInfo;
}

/** Append one row of the per-task series (called with every vmstat sample). */
export function taskSeriesSample(): void {
  if (taskSeriesRows >= taskSeriesCap) return;
  let a = taskSeries + <usize>taskSeriesRows * <usize>(nCpus * TASK_SERIES_FIELDS) * 8;
  for (let t = 0; t < nCpus; t++) {
    store<f64>(a, <f64>tkf(t, K_DIRTIED_TOTAL));
    store<f64>(a, <f64>tkf(t, K_THROTTLE_NS), 8);
    store<f64>(a, <f64>tkf(t, K_LAST_PAUSE_NS), 16);
    a += <usize>TASK_SERIES_FIELDS * 8;
  }
  taskSeriesRows++;
}
export function taskSeriesPtr(): usize { return taskSeries; }
export function taskSeriesRowsN(): i32 { return taskSeriesRows; }
