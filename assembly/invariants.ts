// Simulated BUG_ON/WARN_ON analogs and the invariant checker. A hit is a result, not a crash:
// it is counted (mmsim_bug) and recorded with the simulated time, pfn, task and the kernel
// function it models, for the host to list under `detectors`.
import { DETECTOR_CAP } from './generated/abi';
import { regionAlloc } from './mem';
import { nrPages, isTail, compoundHead, folioNrPages, PG_head, refcount, mapcount, setMapcount, setRefcount, flags, next, testFlag, mapping, PG_lru, PG_buddy, PG_swapcache,
  PG_private, PG_swapbacked, PG_dirty, PG_mmsim_dirty_excluded, MAPPING_ANON, ORDER_SHIFT } from './page';
import { freeHead, zoneNrFree, zoneFree, allocPagesNowait, MAX_NR_ZONES, NR_ORDERS, NO_PAGE, ZONE_NORMAL } from './alloc';
import { lruBatchCpus, lruBatchLen, lruBatchAt } from './lru';
import { scanControlOf, nrReclaimers } from './scan_control';
import { nMms, mmDead, mmPgd } from './mm';
import { entryAddr, entryPfn, isSwapPte, _PAGE_PRESENT, _PAGE_SPECIAL, _PAGE_PSE } from './pgtable';
import { swapCount, swapHasCache, swapCacheLookup, folioSwapSlot, swapDuplicate } from './swap';
import { countEvent, count } from './vmstat';
import { C_MMSIM_BUG, C_NR_INACTIVE_ANON, DET_STRIDE, DK_REFCOUNT_NEGATIVE, DK_MAPCOUNT_EXCEEDS_REFCOUNT,
  DK_LRU_COUNT_MISMATCH, FN_FOLIO_PUT, FN_CHECK_LRU_COUNTS, C_NR_FREE_PAGES, DK_FRAME_STATE, DK_FREE_LIST_MISMATCH,
  DK_MAPCOUNT_MISMATCH, DK_SWAP_COUNT_MISMATCH, FN_CHECK_FRAME_STATES, FN_CHECK_FREE_LISTS, FN_CHECK_MAPCOUNTS,
  FN_CHECK_SWAP_MAP, DK_BUFFER_STATE, FN_CHECK_BUFFERS, C_MMSIM_NR_BUFFER_PAGES, DK_DIRTY_ACCOUNTING, FN_CHECK_DIRTY_ACCOUNTING,
  C_NR_DIRTY, C_MMSIM_NR_DIRTY_PINNED_EXCLUDED } from './generated/abi';
import { lruHead, folioLruList, NR_LRU_LISTS } from './lru';
import { curClock, currentTask } from './sched';

export const INV_OFF: i32 = 0;
export const INV_AT_SAMPLES: i32 = 1;
export const INV_EVERY_RECLAIM: i32 = 2;
export let invariantMode: i32 = INV_OFF;
export function setInvariantMode(m: i32): void { invariantMode = m; }

export let detectorsBase: usize = 0;
export let detectorsLen: i32 = 0;
export let detectorsTotal: i64 = 0;

export function invariantsInit(): bool {
  detectorsBase = regionAlloc(<u64>DETECTOR_CAP * <u64>DET_STRIDE * 8);
  detectorsLen = 0; detectorsTotal = 0;
  return detectorsBase != 0;
}

/** Record one BUG_ON/WARN_ON analog hit (counted as mmsim_bug) of the running task. */
export function recordBug(kind: i32, pfn: u32, func: i32, value: f64): void {
  countEvent(C_MMSIM_BUG);
  recordDetector(kind, pfn, currentTask, func, value, -1, -1);
}

/**
 * Record one detector hit (the caller counts it under its own counter); the first
 * DETECTOR_CAP are kept in full, all are counted in detectorsTotal. `lock` and `owner` (an
 * entity) are for the lock detectors, -1 elsewhere.
 */
export function recordDetector(kind: i32, pfn: u32, task: i32, func: i32, value: f64, lock: i32, owner: i32): void {
  detectorsTotal++;
  if (detectorsLen >= DETECTOR_CAP) return;
  const a = detectorsBase + <usize>(detectorsLen * DET_STRIDE * 8);
  store<f64>(a, <f64>kind);
  store<f64>(a, <f64>curClock, 8);
  store<f64>(a, pfn == 0xFFFF_FFFF ? -1.0 : <f64>pfn, 16);
  store<f64>(a, <f64>task, 24);
  store<f64>(a, <f64>func, 32);
  store<f64>(a, value, 40);
  store<f64>(a, <f64>lock, 48);
  store<f64>(a, <f64>owner, 56);
  detectorsLen++;
}

/**
 * Check every frame (refcount ≥ 0, 0 ≤ mapcount ≤ refcount) and every LRU list (its length
 * equals its counter and each member has PG_lru and belongs there); in the checking mode, at
 * samples (`structures`), also the structural invariants below. Returns the hits found.
 */
export function checkInvariants(structures: bool = true): i32 {
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
      n += <u64>folioNrPages(p);
      if (n > <u64>nrPages) break;
      p = next(p);
    }
    if (n != count(C_NR_INACTIVE_ANON + l)) recordBug(DK_LRU_COUNT_MISMATCH, 0xFFFF_FFFF, FN_CHECK_LRU_COUNTS, <f64>(<i64>n - <i64>count(C_NR_INACTIVE_ANON + l)));
  }
  if (structures && scratchFrames != 0) checkStructures();
  return <i32>(detectorsTotal - before);
}

// --- the structural invariants of the checking mode -----------------------------------------
// At every sample of a --check run: per zone and order the free pages are what the buddy lists
// hold; a frame's mapcount is the PTEs that map it; each swap slot's count is its swap PTEs,
// and SWAP_HAS_CACHE is set exactly while the swap cache holds a page for it; every frame is in
// exactly one state — free, on one LRU list, isolated by a reclaimer, in a per-CPU lru_add
// batch, a page table, or otherwise in use (then it has a reference); buffers (PG_private) are
// on page-cache pages only, whose refcount covers them and the cache's, and their count is
// mmsim_nr_buffer_pages.
const ST_NONE: u8 = 0;
const ST_FREE: u8 = 1;
const ST_LRU: u8 = 2;
const ST_ISOLATED: u8 = 3;
const ST_BATCH: u8 = 4;
let frameState: usize = 0;   // u8 per frame
let pteTally: usize = 0;     // u32 per frame: present PTEs mapping it
let swapTally: usize = 0;    // u32 per swap slot: swap PTEs pointing at it
let scratchFrames: u32 = 0;
let scratchSlots: u32 = 0;

/** The checking mode's scratch tables (5 B a frame, 4 B a swap slot). */
export function invariantsScratchInit(frames: u32, slots: u32): bool {
  scratchFrames = frames; scratchSlots = slots;
  frameState = regionAlloc(<u64>frames);
  pteTally = regionAlloc(<u64>frames * 4);
  swapTally = regionAlloc(<u64>slots * 4 + 4);
  return frameState != 0 && pteTally != 0 && swapTally != 0;
}

function markFrame(p: u32, st: u8): void {
  const a = frameState + <usize>p;
  const was = load<u8>(a);
  if (was != ST_NONE) recordBug(DK_FRAME_STATE, p, FN_CHECK_FRAME_STATES, <f64>(<i32>was * 16 + <i32>st));
  else store<u8>(a, st);
}

/** Mark the members of list `head` (at most nrPages of them) as `st`. */
function markList(head: u32, st: u8): void {
  let p = next(head);
  let n: u64 = 0;
  while (p != head && n <= <u64>nrPages) { markFrame(p, st); n++; p = next(p); }
}

function checkFreeLists(): void {
  let total: i64 = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    let pages: i64 = 0;
    for (let o = 0; o < NR_ORDERS; o++) {
      const head = freeHead(z, o);
      let n: i64 = 0;
      let p = next(head);
      while (p != head && n <= <i64>nrPages) {
        if (flags(p) != (PG_buddy | (<u32>o << ORDER_SHIFT)) || p + (1 << o) > nrPages) recordBug(DK_FREE_LIST_MISMATCH, p, FN_CHECK_FREE_LISTS, <f64>o);
        else for (let k: u32 = 0; k < (<u32>1 << o); k++) markFrame(p + k, ST_FREE);
        n++;
        p = next(p);
      }
      if (n != zoneNrFree(z, o)) recordBug(DK_FREE_LIST_MISMATCH, 0xFFFF_FFFF, FN_CHECK_FREE_LISTS, <f64>(n - zoneNrFree(z, o)));
      pages += n << o;
    }
    if (pages != zoneFree(z)) recordBug(DK_FREE_LIST_MISMATCH, 0xFFFF_FFFF, FN_CHECK_FREE_LISTS, <f64>(pages - zoneFree(z)));
    total += pages;
  }
  if (<u64>total != count(C_NR_FREE_PAGES)) recordBug(DK_FREE_LIST_MISMATCH, 0xFFFF_FFFF, FN_CHECK_FREE_LISTS, <f64>(total - <i64>count(C_NR_FREE_PAGES)));
}

/** Count the PTEs of every live process: present ones per frame, swap ones per slot. */
function tallyPtes(): void {
  memory.fill(pteTally, 0, <usize>scratchFrames * 4);
  memory.fill(swapTally, 0, <usize>scratchSlots * 4);
  for (let m = 0; m < nMms; m++) {
    if (mmDead(m)) continue;
    const pgd = mmPgd(m);
    for (let i: u32 = 0; i < 512; i++) {
      const e3 = load<u64>(entryAddr(pgd, i));
      if (e3 == 0) continue;
      for (let j: u32 = 0; j < 512; j++) {
        const e2 = load<u64>(entryAddr(entryPfn(e3), j));
        if (e2 == 0) continue;
        for (let k: u32 = 0; k < 512; k++) {
          const e1 = load<u64>(entryAddr(entryPfn(e2), k));
          if (e1 == 0) continue;
          if ((e1 & _PAGE_PSE) != 0) {
            // a PMD-mapped THP: one mapping of its head (the huge zero page: none)
            if ((e1 & _PAGE_SPECIAL) == 0) {
              const pfn = entryPfn(e1);
              if (pfn < scratchFrames) { const a = pteTally + (<usize>pfn << 2); store<u32>(a, load<u32>(a) + 1); }
              else recordBug(DK_MAPCOUNT_MISMATCH, pfn, FN_CHECK_MAPCOUNTS, -1);
            }
            continue;
          }
          const pt = entryPfn(e1);
          for (let l: u32 = 0; l < 512; l++) {
            const e = load<u64>(entryAddr(pt, l));
            if (e == 0) continue;
            if (isSwapPte(e)) {
              const slot = entryPfn(e);
              if (slot < scratchSlots) { const a = swapTally + (<usize>slot << 2); store<u32>(a, load<u32>(a) + 1); }
            } else if ((e & _PAGE_PRESENT) != 0 && (e & _PAGE_SPECIAL) == 0) {
              const pfn = entryPfn(e);
              if (pfn < scratchFrames) { const a = pteTally + (<usize>pfn << 2); store<u32>(a, load<u32>(a) + 1); }
              else recordBug(DK_MAPCOUNT_MISMATCH, pfn, FN_CHECK_MAPCOUNTS, -1);
            }
          }
        }
      }
    }
  }
}

function checkSwapMap(): void {
  for (let s: u32 = 0; s < scratchSlots; s++) {
    const tally = load<u32>(swapTally + (<usize>s << 2));
    if (<u32>swapCount(s) != tally) recordBug(DK_SWAP_COUNT_MISMATCH, 0xFFFF_FFFF, FN_CHECK_SWAP_MAP, <f64>s);
    const p = swapCacheLookup(s);
    if (swapHasCache(s) != (p != NO_PAGE) ||
      (p != NO_PAGE && (!testFlag(p, PG_swapcache) || folioSwapSlot(p) != s))) recordBug(DK_SWAP_COUNT_MISMATCH, p, FN_CHECK_SWAP_MAP, <f64>s);
  }
}

/** Every frame's state, its mapcount against its PTEs, the swap map against the swap PTEs. */
function checkStructures(): void {
  memory.fill(frameState, 0, <usize>scratchFrames);
  checkFreeLists();
  for (let l = 0; l < NR_LRU_LISTS; l++) markList(lruHead(l), ST_LRU);
  for (let r = 0; r < nrReclaimers(); r++) { markList(scanControlOf(r).hold, ST_ISOLATED); markList(scanControlOf(r).ret, ST_ISOLATED); }
  for (let c = 0; c < lruBatchCpus(); c++) {
    const n = lruBatchLen(c);
    for (let i = 0; i < n; i++) markFrame(lruBatchAt(c, i), ST_BATCH);
  }
  tallyPtes();
  let buffered: u64 = 0;
  // NR_FILE_DIRTY counts the dirty page-cache pages; those pins.dirtyAccounting leaves out of the
  // throttling figures are dirty page-cache pages, as many as mmsim_nr_dirty_pinned_excluded says
  let dirty: u64 = 0; let excluded: u64 = 0;
  for (let p: u32 = 0; p < scratchFrames; p++) {
    const st = load<u8>(frameState + <usize>p);
    const f = flags(p);
    const tally = <i32>load<u32>(pteTally + (<usize>p << 2));
    if (st != ST_FREE && isTail(p)) {
      // a tail of a large folio: its head holds the references and the mappings
      if (refcount(p) != 0 || mapcount(p) != 0 || tally != 0 || (f & PG_lru) != 0 || (flags(compoundHead(p)) & PG_head) == 0) recordBug(DK_FRAME_STATE, p, FN_CHECK_FRAME_STATES, <f64>refcount(p));
      continue;
    }
    if (st == ST_FREE) {
      if (refcount(p) != 0 || mapcount(p) != 0 || tally != 0 || (f & PG_lru) != 0) recordBug(DK_FRAME_STATE, p, FN_CHECK_FRAME_STATES, <f64>refcount(p));
      if ((f & PG_private) != 0) recordBug(DK_BUFFER_STATE, p, FN_CHECK_BUFFERS, 0);
      if ((f & PG_mmsim_dirty_excluded) != 0) recordBug(DK_DIRTY_ACCOUNTING, p, FN_CHECK_DIRTY_ACCOUNTING, 0);
      continue;
    }
    if (mapcount(p) != tally) recordBug(DK_MAPCOUNT_MISMATCH, p, FN_CHECK_MAPCOUNTS, <f64>(mapcount(p) - tally));
    const cache = (f & PG_swapbacked) == 0 && mapping(p) != 0 && (mapping(p) & MAPPING_ANON) == 0;
    if (cache && (f & PG_dirty) != 0) dirty++;
    if ((f & PG_mmsim_dirty_excluded) != 0) {
      excluded++;
      if (!cache || (f & PG_dirty) == 0) recordBug(DK_DIRTY_ACCOUNTING, p, FN_CHECK_DIRTY_ACCOUNTING, 0);
    }
    if (((f & PG_lru) != 0) != (st == ST_LRU)) recordBug(DK_FRAME_STATE, p, FN_CHECK_FRAME_STATES, <f64>(<i32>st * 16 + 15));
    // in use otherwise (a page table, or held by the kernel): it has a reference
    if (st == ST_NONE && refcount(p) <= 0) recordBug(DK_FRAME_STATE, p, FN_CHECK_FRAME_STATES, <f64>refcount(p));
    if ((f & PG_private) != 0) {
      buffered++;
      const mp = mapping(p);
      if ((f & (PG_swapbacked | PG_swapcache | PG_buddy)) != 0 || mp == 0 || (mp & MAPPING_ANON) != 0 || refcount(p) < 2) {
        recordBug(DK_BUFFER_STATE, p, FN_CHECK_BUFFERS, <f64>refcount(p));
      }
    }
  }
  if (buffered != count(C_MMSIM_NR_BUFFER_PAGES)) recordBug(DK_BUFFER_STATE, 0xFFFF_FFFF, FN_CHECK_BUFFERS, <f64>(<i64>buffered - <i64>count(C_MMSIM_NR_BUFFER_PAGES)));
  if (dirty != count(C_NR_DIRTY)) recordBug(DK_DIRTY_ACCOUNTING, 0xFFFF_FFFF, FN_CHECK_DIRTY_ACCOUNTING, <f64>(<i64>dirty - <i64>count(C_NR_DIRTY)));
  if (excluded != count(C_MMSIM_NR_DIRTY_PINNED_EXCLUDED)) {
    recordBug(DK_DIRTY_ACCOUNTING, 0xFFFF_FFFF, FN_CHECK_DIRTY_ACCOUNTING, <f64>(<i64>excluded - <i64>count(C_MMSIM_NR_DIRTY_PINNED_EXCLUDED)));
  }
  checkSwapMap();
}

/**
 * For tests of the checker: break one invariant on purpose — 1: a mapped frame's mapcount,
 * 2: a used swap slot's count, 3: a frame allocated and then forgotten with no reference.
 * Returns the pfn or slot broken, or -1 if nothing suitable exists.
 */
export function breakInvariant(kind: i32): i32 {
  if (kind == 1) {
    for (let p: u32 = 0; p < nrPages; p++) if (mapcount(p) > 0 && (flags(p) & PG_buddy) == 0) { setMapcount(p, mapcount(p) + 1); setRefcount(p, refcount(p) + 1); return <i32>p; }
  } else if (kind == 2) {
    for (let s: u32 = 0; s < scratchSlots; s++) if (swapCount(s) > 0) { swapDuplicate(s); return <i32>s; }
  } else if (kind == 3) {
    const p = allocPagesNowait(0, ZONE_NORMAL);
    if (p != NO_PAGE) { setRefcount(p, 0); return <i32>p; }
  }
  return -1;
}
