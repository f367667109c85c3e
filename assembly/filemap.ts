// The page cache (mm/filemap.c, mm/readahead.c): one slot per file page holding the page
// (pfn + 1), a shadow entry left by reclaim (workingset), or nothing. Reads go through
// synchronous readahead of `read_ahead_kb`; read()/write() syscalls touch pages with
// folio_mark_accessed as filemap_read and generic_perform_write do.
//
// Each file has an i_size (in pages; a truncate changes it, a write past it extends it up to
// the file's configured size, which sizes its slots) and, if some phase truncates it or
// punches a hole in it, a bitmap of the pages that have no block on the device: a read of such
// a page is filled with zeros without IO, as the filesystem's read_folio does for a hole.
import { folioLockOf, lockWaitBegin } from './locking';
import { regionAlloc } from './mem';
import { cfg, fileCfg, phaseCfg } from './config';
import { FN_FOLIO_WAIT_BIT_COMMON, G_N_FILES, G_N_PHASES, G_READ_AHEAD_PAGES, FILE_SIZE_PAGES, FILE_DEVICE, C_NR_FILE_PAGES,
  C_MMSIM_PAGECACHE_HITS, C_MMSIM_PAGECACHE_MISSES, C_MMSIM_IO_WAIT_NS, C_MMSIM_HOLE_READS, PH_OP, PH_TARGET, OP_TRUNCATE, OP_PUNCH } from './generated/abi';
import { setFlag, clearFlag, testFlag, testClearFlag, refcount, setRefcount, setMapping, setPageIndex, mapping,
  pageIndex, PG_locked, PG_readio, PG_uptodate, PG_waiters, PG_private, PG_writeback } from './page';
import { folioCreateBuffers, tryToFreeBuffers } from './buffer';
import { allocPages, allocPagesNowait, folioPut, NO_PAGE, gfpHighuserMovableZone } from './alloc';
import { folioAddLru, folioMarkAccessed } from './lru';
import { countAdd, countEvent } from './vmstat';
import { blkSubmit, blkAddPage, BLK_READ } from './blkdev';
import { workingsetRefault } from './workingset';
import { SHADOW_BIT } from './swap';
import { curClock, currentTask } from './sched';
import { sleepOnKey, wakeUpKey, waitqueueActive, WQ_FOLIO_TABLE, PAGE_WAIT_TABLE_BITS } from './wait';
import { taskScanControl } from './scan_control';
import { setTf, T_IO_RETRY } from './workload';

// per file: slots address, nr pages (the configured size: the slots), device, i_size in pages,
// the hole bitmap's address (0: the file never loses blocks) — i64 each
let files: usize = 0;
const F_SLOTS = 0; const F_PAGES = 1; const F_DEV = 2; const F_ISIZE = 3; const F_HOLES = 4; const F_STRIDE = 5;
export let nFiles: i32 = 0;

@inline function ff(f: i32, k: i32): i64 { return load<i64>(files + (<usize>(f * F_STRIDE + k) << 3)); }
@inline function setFf(f: i32, k: i32, v: i64): void { store<i64>(files + (<usize>(f * F_STRIDE + k) << 3), v); }

/** Does some phase truncate file `f` or punch a hole in it (so that it needs a hole bitmap)? */
function fileLosesBlocks(f: i32): bool {
  const n = <i32>cfg(G_N_PHASES);
  for (let g = 0; g < n; g++) {
    const op = <i32>phaseCfg(g, PH_OP);
    if ((op == OP_TRUNCATE || op == OP_PUNCH) && <i32>phaseCfg(g, PH_TARGET) == f) return true;
  }
  return false;
}

export function filemapInit(): bool {
  nFiles = <i32>cfg(G_N_FILES);
  files = regionAlloc(<u64>(nFiles + 1) * F_STRIDE * 8);
  if (files == 0) return false;
  for (let f = 0; f < nFiles; f++) {
    const pages = <u64>fileCfg(f, FILE_SIZE_PAGES);
    const slots = regionAlloc(pages * 4);
    if (slots == 0) return false;
    setFf(f, F_SLOTS, <i64>slots);
    setFf(f, F_PAGES, <i64>pages);
    setFf(f, F_DEV, <i64>fileCfg(f, FILE_DEVICE));
    setFf(f, F_ISIZE, <i64>pages);
    let holes: usize = 0;
    if (fileLosesBlocks(f)) {
      holes = regionAlloc((pages + 7) >> 3);
      if (holes == 0) return false;
    }
    setFf(f, F_HOLES, <i64>holes);
  }
  return true;
}

/** The file's configured size in pages: how many slots it has, and the most i_size may grow to. */
export function fileNrPages(f: i32): u32 { return <u32>ff(f, F_PAGES); }
/** i_size_read, in pages (DIV_ROUND_UP of the byte size: sizes here are whole pages). */
@inline export function fileSize(f: i32): u32 { return <u32>ff(f, F_ISIZE); }
/** i_size_write (truncate_setsize; generic_write_end past the end extends it). */
export function fileSetSize(f: i32, pages: u32): void { setFf(f, F_ISIZE, <i64>pages); }

/** Has page `index` of `f` no block on the device (a hole: it reads as zeros without IO)? */
@inline export function fileHole(f: i32, index: u32): bool {
  const h = <usize>ff(f, F_HOLES);
  return h != 0 && (load<u8>(h + <usize>(index >> 3)) & (<u8>1 << <u8>(index & 7))) != 0;
}

/**
 * The filesystem frees the blocks of [from, to) (ext4_punch_hole's ext4_ext_remove_space, or
 * ext4_truncate past the new i_size, after truncate_pagecache): those pages become holes.
 */
export function fileFreeBlocks(f: i32, from: u32, to: u32): void {
  const h = <usize>ff(f, F_HOLES);
  if (h == 0) return;
  for (let i = from; i < to; i++) store<u8>(h + <usize>(i >> 3), load<u8>(h + <usize>(i >> 3)) | (<u8>1 << <u8>(i & 7)));
}

/**
 * A page of a hole is dirtied: the filesystem gives it a block (ext4's delayed allocation
 * reserves it at write_begin or page_mkwrite and allocates it at writeback; a dirty page is
 * written before it can be dropped, so it is no hole to a later read either way).
 */
export function fileFillHole(f: i32, index: u32): void {
  const h = <usize>ff(f, F_HOLES);
  if (h != 0) store<u8>(h + <usize>(index >> 3), load<u8>(h + <usize>(index >> 3)) & ~(<u8>1 << <u8>(index & 7)));
}
export function fileDevice(f: i32): i32 { return <i32>ff(f, F_DEV); }
@inline function slotAddr(f: i32, index: u32): usize { return <usize>ff(f, F_SLOTS) + (<usize>index << 2); }
@inline export function pageCacheEntry(f: i32, index: u32): u32 { return load<u32>(slotAddr(f, index)); }

/** filemap_get_folio without side effects: the cached page or NO_PAGE. */
@inline export function filemapLookup(f: i32, index: u32): u32 {
  const e = pageCacheEntry(f, index);
  return (e == 0 || (e & SHADOW_BIT) != 0) ? NO_PAGE : e - 1;
}

/** The file a page-cache page belongs to (mapping = file + 1). */
@inline export function folioFile(p: u32): i32 { return <i32>mapping(p) - 1; }

/** __filemap_add_folio: the cache takes a reference. */
function addToPageCache(p: u32, f: i32, index: u32): void {
  store<u32>(slotAddr(f, index), p + 1);
  setMapping(p, <u32>(f + 1));
  setPageIndex(p, index);
  setRefcount(p, refcount(p) + 1);
  countAdd(C_NR_FILE_PAGES, 1);
}

/** __filemap_remove_folio: leave `shadow` (or nothing) in the slot. The caller drops the cache's reference. */
export function filemapRemoveFolio(p: u32, shadow: u32): void {
  store<u32>(slotAddr(folioFile(p), pageIndex(p)), shadow);
  setMapping(p, 0);
  countAdd(C_NR_FILE_PAGES, -1);
}

/** folio_migrate_mapping's xas_store: the page-cache slot of (f, index) holds `dst` now (it took the cache's reference). */
export function filemapReplaceFolio(f: i32, index: u32, dst: u32): void { store<u32>(slotAddr(f, index), dst + 1); }

/** truncate_folio_batch_exceptionals for one slot: a shadow entry left by reclaim goes. */
export function filemapClearShadow(f: i32, index: u32): void {
  const a = slotAddr(f, index);
  if ((load<u32>(a) & SHADOW_BIT) != 0) store<u32>(a, 0);
}


/**
 * page_cache_sync_ra (simplified to one window): read the missing pages of
 * [index, index + read_ahead) with one request. Returns when the read completes, or -1 if not
 * even the first page could be allocated.
 */
function readahead(f: i32, index: u32): i64 {
  const size = fileSize(f);              // page_cache_ra_unbounded stops at i_size
  if (index >= size) return -1;          // (its callers stop at i_size first: SIGBUS, EOF)
  let n = <u32>cfg(G_READ_AHEAD_PAGES);
  if (n < 1) n = 1;
  if (index + n > size) n = size - index;
  const dev = fileDevice(f);
  const holes = ff(f, F_HOLES) != 0;
  // allocate the pages first, stopping at the first failure or hit: the page asked for may
  // reclaim (and sleep: the caller then unwinds, stopNow); the ones read ahead take only what
  // is free (the kernel's __GFP_NORETRY makes one reclaim attempt; a sleep there would strand
  // the pages already added to the cache)
  let got: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    if (filemapLookup(f, index + i) != NO_PAGE) { if (i == 0) return curClock; break; }
    const p = i == 0 ? allocPages(0, gfpHighuserMovableZone()) : allocPagesNowait(0, gfpHighuserMovableZone());
    if (p == NO_PAGE) break;
    // the page may have been brought in while we reclaimed
    if (filemapLookup(f, index + i) != NO_PAGE) { folioPut(p); break; }
    const shadow = pageCacheEntry(f, index + i);
    // a page of a hole is zeroed and uptodate at once (the filesystem's read_folio maps no
    // block for it: no bio); the others are read
    const hole = holes && fileHole(f, index + i);
    setFlag(p, hole ? PG_uptodate : PG_locked | PG_readio);
    addToPageCache(p, f, index + i);
    // the read goes through the page's buffers (block_read_full_folio's create_empty_buffers;
    // ext4's mpage_readahead attaches none to a page whose blocks are contiguous on disk, which
    // the simulator does not tell apart)
    folioCreateBuffers(p);
    if (shadow != 0) workingsetRefault(p, shadow);
    folioAddLru(p);
    folioPut(p);            // the allocation reference; the page cache holds the page now
    got++;
  }
  if (got == 0) return -1;
  if (!holes) {
    const done = blkSubmit(dev, BLK_READ, got, curClock);
    for (let i: u32 = 0; i < got; i++) blkAddPage(dev, BLK_READ, filemapLookup(f, index + i), done);
    countAdd(C_MMSIM_PAGECACHE_MISSES, got);
    return done;
  }
  let reads: u32 = 0;
  for (let i: u32 = 0; i < got; i++) if (!fileHole(f, index + i)) reads++;
  countAdd(C_MMSIM_HOLE_READS, <i64>(got - reads));
  if (reads == 0) return curClock;
  const done = blkSubmit(dev, BLK_READ, reads, curClock);
  for (let i: u32 = 0; i < got; i++) if (!fileHole(f, index + i)) blkAddPage(dev, BLK_READ, filemapLookup(f, index + i), done);
  countAdd(C_MMSIM_PAGECACHE_MISSES, reads);
  return done;
}

/** folio_waitqueue: the hashed queue of folio `p` (hash_ptr of the folio: a multiplicative hash). */
@inline export function folioWaitqueue(p: u32): i32 {
  return WQ_FOLIO_TABLE + <i32>((p * 0x9E37_79B1) >>> (32 - PAGE_WAIT_TABLE_BITS));
}

/**
 * folio_wait_locked (folio_wait_bit_common, shared): the running task sleeps until `p` is
 * unlocked — its read completes — then retries what it was doing with the page uptodate
 * (the fault's VM_FAULT_RETRY, filemap_update_page's AOP_TRUNCATED_PAGE): nothing of it
 * happens before the data is there. The retry is no new page-cache lookup (T_IO_RETRY).
 */
export function folioWaitLocked(p: u32): void {
  setTf(currentTask, T_IO_RETRY, 1);
  folioWaitLock(p, taskScanControl(currentTask).entity, curClock);
}

/**
 * folio_wait_bit_common(PG_locked) for entity `e` from `now`: asleep in the folio's hashed
 * queue until folio_unlock wakes it (stopNow).
 */
export function folioWaitLock(p: u32, e: i32, now: i64): void {
  setFlag(p, PG_waiters);
  sleepOnKey(folioWaitqueue(p), p, e, now);
  // a folio an entity keeps locked while it sleeps (in a notifier callback): a wait for that
  // entity in the wait-for graph (folio_wait_bit_common)
  const l = folioLockOf(p);
  if (l >= 0) lockWaitBegin(e, l, FN_FOLIO_WAIT_BIT_COMMON, now);
}

/** The key of a wait for a folio's writeback in its hashed queue (PG_writeback's, not PG_locked's). */
const WRITEBACK_KEY: u32 = 0x8000_0000;

/**
 * folio_wait_writeback (folio_wait_bit(PG_writeback)) for entity `e`: asleep in the folio's
 * hashed queue until its writeback ends (folioWakeWriteback), stopNow.
 */
export function folioWaitWriteback(p: u32, e: i32, now: i64): void {
  sleepOnKey(folioWaitqueue(p), p | WRITEBACK_KEY, e, now);
}

/** folio_end_writeback's folio_wake_bit(PG_writeback) at `t`: the waiters for `p`'s writeback run. */
export function folioWakeWriteback(p: u32, t: i64): void {
  const q = folioWaitqueue(p);
  if (waitqueueActive(q)) wakeUpKey(q, p | WRITEBACK_KEY, t);
}

/**
 * filemap_release_folio for locked page `p` (shrink_folio_list, before __remove_mapping): true
 * if it has no private data (folio_needs_release) or its buffers could be freed; false under
 * writeback or while they are busy. ext4's release_folio is try_to_free_buffers here
 * (jbd2_journal_try_to_free_buffers with a journal: the simulator models none).
 */
export function filemapReleaseFolio(p: u32): bool {
  if (!testFlag(p, PG_private)) return true;
  if (testFlag(p, PG_writeback)) return false;
  return tryToFreeBuffers(p);
}

/**
 * folio_unlock at `t` (folio_end_read from the completion interrupt): clear PG_locked and,
 * if anyone waits (PG_waiters), wake this folio's waiters in its hashed queue (folio_wake_bit).
 */
export function folioUnlock(p: u32, t: i64): void {
  clearFlag(p, PG_locked);
  if (!testClearFlag(p, PG_waiters)) return;
  countAdd(C_MMSIM_IO_WAIT_NS, wakeUpKey(folioWaitqueue(p), p, t));
}

/**
 * The page for (f, index), reading it (and its readahead window) if needed. A read() that
 * finds the page under read I/O — its own readahead's or another task's — sleeps until the
 * read completes (filemap_read → filemap_update_page waits on the folio) and returns NO_PAGE
 * with stopNow, to be retried; when it gets the page, it marks it accessed. A fault
 * (`forFault`) gets the page even under read and sleeps on it itself (filemap_fault's
 * VM_FAULT_RETRY); accessed-bit tracking is the PTE's. `countHit` is false for a retry after
 * such a sleep, which is no new lookup. NO_PAGE also if memory could not be found.
 */
export function filemapGetUptodate(f: i32, index: u32, forFault: bool, countHit: bool = true): u32 {
  let p = filemapLookup(f, index);
  if (p == NO_PAGE) {
    if (readahead(f, index) < 0) return NO_PAGE;
    p = filemapLookup(f, index);
    if (p == NO_PAGE) return NO_PAGE;
    if (forFault) return p;
    // a page of a hole came uptodate without IO
    if (!testFlag(p, PG_locked)) { folioMarkAccessed(p); return p; }
    folioWaitLocked(p);
    return NO_PAGE;
  }
  if (countHit) countEvent(C_MMSIM_PAGECACHE_HITS);
  if (forFault) return p;
  if (testFlag(p, PG_readio)) { folioWaitLocked(p); return NO_PAGE; }
  folioMarkAccessed(p);
  return p;
}

/**
 * The page generic_perform_write writes (f, index) into: a cached page, or a new one added
 * to the cache (a full-page write needs no read). NO_PAGE if memory could not be found, or
 * (stopNow) while the task sleeps on the page's read in flight (write_begin locks the folio)
 * or in the allocator; `countHit` as for filemapGetUptodate.
 * Writes do not mark pages accessed: write_begin looks pages up with FGP_WRITEBEGIN, which has
 * no FGP_ACCESSED ("only do access activations on reads", v4.7).
 */
export function filemapGetForWrite(f: i32, index: u32, countHit: bool = true): u32 {
  let p = filemapLookup(f, index);
  if (p != NO_PAGE) {
    if (countHit) countEvent(C_MMSIM_PAGECACHE_HITS);
    // write_begin locks the folio: wait while it is under read or kept locked by another
    if (testFlag(p, PG_readio) || testFlag(p, PG_locked)) { folioWaitLocked(p); return NO_PAGE; }
    folioCreateBuffers(p);        // __block_write_begin: a page that lost its buffers gets new ones
    return p;
  }
  const np = allocPages(0, gfpHighuserMovableZone());
  if (np == NO_PAGE) return NO_PAGE;
  p = filemapLookup(f, index);
  if (p != NO_PAGE) { folioPut(np); folioCreateBuffers(p); return p; }
  const shadow = pageCacheEntry(f, index);
  setFlag(np, PG_uptodate);
  addToPageCache(np, f, index);
  folioCreateBuffers(np);         // __block_write_begin (ext4_da_write_begin)
  if (shadow != 0) workingsetRefault(np, shadow);
  folioAddLru(np);
  folioPut(np);
  return np;
}
