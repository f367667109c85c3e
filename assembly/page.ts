// The frame table (struct page / struct folio): struct-of-arrays indexed by pfn. Sentinel indices above the last pfn serve as list heads for the LRU and buddy lists,
// so list operations never branch on "empty".
import { regionAlloc } from './mem';

// Page flags (include/linux/page-flags.h names). Bits 24..27 hold the compound/buddy order.
export const PG_locked: u32 = 1 << 0;
export const PG_referenced: u32 = 1 << 1;
export const PG_uptodate: u32 = 1 << 2;
export const PG_dirty: u32 = 1 << 3;
export const PG_lru: u32 = 1 << 4;
export const PG_active: u32 = 1 << 5;
export const PG_workingset: u32 = 1 << 6;
export const PG_private: u32 = 1 << 7;
export const PG_writeback: u32 = 1 << 8;
export const PG_head: u32 = 1 << 9;
export const PG_reclaim: u32 = 1 << 10;
export const PG_swapbacked: u32 = 1 << 11;
export const PG_unevictable: u32 = 1 << 12;
export const PG_mlocked: u32 = 1 << 13;
export const PG_swapcache: u32 = 1 << 14;
/** PageBuddy: the frame heads a free block in the buddy allocator. */
export const PG_buddy: u32 = 1 << 15;
/** PageTable: the frame holds a user page table. */
export const PG_table: u32 = 1 << 16;
export const PG_anon_exclusive: u32 = 1 << 17;
/** Simulator: read IO in flight (the kernel keeps PG_locked and !PG_uptodate). */
export const PG_readio: u32 = 1 << 18;
/** PG_readahead (the kernel aliases it with PG_reclaim; kept apart here for clarity). */
export const PG_readahead: u32 = 1 << 19;
/** PG_waiters: a task sleeps on this folio in the hashed folio_wait_table */
export const PG_waiters: u32 = 1 << 20;
/** PG_dma_pinned: the flag of the 2018 proposal (pins.track sticky-flag, flag-clear-on-put); no mainline kernel has it. */
export const PG_dma_pinned: u32 = 1 << 21;
/**
 * Simulator: folio_clear_dirty_for_io cleaned this page while a device held it, and nothing
 * dirtied it since — a DMA write now is data writeback does not know of (mmsim_dma_write_after_clean).
 */
export const PG_mmsim_cleaned: u32 = 1 << 22;
/** Simulator: unevictable because a device pinned it (userptr.policy unevictable: "decide at the front", mlock-like) */
export const PG_pin_unevictable: u32 = 1 << 23;
/** Simulator: pins.dirtyAccounting exclude leaves this dirty page out of the throttling figures (believed pinned) */
export const PG_mmsim_dirty_excluded: u32 = 1 << 31;
/**
 * PAGECACHE_TAG_TOWRITE: the page-cache xarray mark tag_pages_for_writeback sets on the dirty
 * pages a data-integrity (WB_SYNC_ALL) writeback must write, and __folio_start_writeback
 * clears; kept with the frame's flags (above the order bits), since the simulator's
 * page-cache slots carry no marks.
 */
export const PAGECACHE_TAG_TOWRITE: u32 = 1 << 28;
/**
 * PG_idle and PG_young (64-bit kernels keep them in page->flags; page_ext otherwise): idle page
 * tracking (mm/page_idle.c) marks a page idle, and any access since clears it; a walk that
 * clears a young PTE for it sets PG_young so that reclaim's folio_referenced still counts it.
 */
export const PG_idle: u32 = 1 << 29;
export const PG_young: u32 = 1 << 30;
export const ORDER_SHIFT: u32 = 24;
export const ORDER_MASK: u32 = 0xF << ORDER_SHIFT;

/** `mapping` high bit: the page is anonymous and the rest is its anon_vma id (PAGE_MAPPING_ANON). */
export const MAPPING_ANON: u32 = 0x8000_0000;

export let nrPages: u32 = 0;      // frames of simulated RAM
export let nrSlots: u32 = 0;      // frames + sentinels

/**
 * Struct-of-arrays, indexed by pfn: one u32 array per field (flags, refcount, mapcount,
 * private, lru prev/next, mapping, index), 32 bytes per frame in all. A scan over one field
 * (flags, say) reads only that array; the allocator hands out neighbouring pfns, so a run of
 * faults walks each array in order.
 */
let fFlags: usize = 0;
let fRef: usize = 0;
let fMapcount: usize = 0;
let fPrivate: usize = 0;
let fPrev: usize = 0;
let fNext: usize = 0;
let fMapping: usize = 0;
let fIndex: usize = 0;

export const FRAME_BYTES: u64 = 32;

/**
 * One field's array, its start skewed by `i` eighths of 4 KiB: page-aligned arrays would put
 * every field of a frame at the same offset within 4 KiB, so all eight would share one L1 set
 * (of 64, 8-way) and the host's store-to-load checks would see false dependencies between them
 * (4K aliasing); skewed, each field of a frame falls in a set of its own.
 */
function frameArray(bytes: u64, i: u32): usize {
  const skew = <u64>i * 512;
  const a = regionAlloc(bytes + skew, 4096);
  return a == 0 ? 0 : a + <usize>skew;
}

/** Lay out the frame table for `pages` frames plus `sentinels` list heads. Returns false on no memory. */
export function pagesInit(pages: u32, sentinels: u32): bool {
  nrPages = pages;
  nrSlots = pages + sentinels;
  const bytes = <u64>nrSlots * 4;
  fFlags = frameArray(bytes, 0); fRef = frameArray(bytes, 1);
  fMapcount = frameArray(bytes, 2); fPrivate = frameArray(bytes, 3);
  fPrev = frameArray(bytes, 4); fNext = frameArray(bytes, 5);
  fMapping = frameArray(bytes, 6); fIndex = frameArray(bytes, 7);
  return fFlags != 0 && fRef != 0 && fMapcount != 0 && fPrivate != 0 && fPrev != 0 && fNext != 0 && fMapping != 0 && fIndex != 0;
}

@inline function fa(base: usize, p: u32): usize { return base + ((<usize>p) << 2); }

// @inline accessors: the frame table is the hottest data in the simulator.
@inline export function flags(p: u32): u32 { return load<u32>(fa(fFlags, p)); }
@inline export function setFlags(p: u32, v: u32): void { store<u32>(fa(fFlags, p), v); }
@inline export function testFlag(p: u32, f: u32): bool { return (flags(p) & f) != 0; }
@inline export function setFlag(p: u32, f: u32): void { setFlags(p, flags(p) | f); }
@inline export function clearFlag(p: u32, f: u32): void { setFlags(p, flags(p) & ~f); }
/** test-and-clear, as folio_test_clear_referenced and friends. */
@inline export function testClearFlag(p: u32, f: u32): bool {
  const v = flags(p);
  setFlags(p, v & ~f);
  return (v & f) != 0;
}
@inline export function pageOrder(p: u32): u32 { return (flags(p) & ORDER_MASK) >> ORDER_SHIFT; }
@inline export function setPageOrder(p: u32, o: u32): void { setFlags(p, (flags(p) & ~ORDER_MASK) | (o << ORDER_SHIFT)); }

@inline export function refcount(p: u32): i32 { return load<i32>(fa(fRef, p)); }
@inline export function setRefcount(p: u32, v: i32): void { store<i32>(fa(fRef, p), v); }
@inline export function mapcount(p: u32): i32 { return load<i32>(fa(fMapcount, p)); }
@inline export function setMapcount(p: u32, v: i32): void { store<i32>(fa(fMapcount, p), v); }
/**
 * folio->private: swap slot + 1 while in the swap cache; for page-cache pages, when the page
 * became dirty (writeback.ts). Their buffers are PG_private and the reference it holds (buffer.ts).
 */
@inline export function pagePrivate(p: u32): u32 { return load<u32>(fa(fPrivate, p)); }
@inline export function setPagePrivate(p: u32, v: u32): void { store<u32>(fa(fPrivate, p), v); }
@inline export function prev(p: u32): u32 { return load<u32>(fa(fPrev, p)); }
@inline export function setPrev(p: u32, v: u32): void { store<u32>(fa(fPrev, p), v); }
@inline export function next(p: u32): u32 { return load<u32>(fa(fNext, p)); }
@inline export function setNext(p: u32, v: u32): void { store<u32>(fa(fNext, p), v); }
@inline export function mapping(p: u32): u32 { return load<u32>(fa(fMapping, p)); }
@inline export function setMapping(p: u32, v: u32): void { store<u32>(fa(fMapping, p), v); }
@inline export function pageIndex(p: u32): u32 { return load<u32>(fa(fIndex, p)); }
@inline export function setPageIndex(p: u32, v: u32): void { store<u32>(fa(fIndex, p), v); }

// Large folios (include/linux/mm.h, mm_types.h): a head frame with PG_head and its order in the
// order bits, then tail frames. A tail's `next` holds its head with TAIL_MARK set (the kernel's
// compound_head, bit 0 of the word where page->lru sits: tails are on no list), and its
// mapping and index are the folio's mapping and the index that page has, so that a split hands
// each page its own at once. The first tail record keeps _pincount in `private`, as the kernel
// keeps it in the folio's second page: the frame stays 32 bytes.
export const TAIL_MARK: u32 = 0x8000_0000;
@inline export function isTail(p: u32): bool { return (next(p) & TAIL_MARK) != 0; }
/** compound_head / page_folio: the head of the folio `p` belongs to (`p` itself for a small one). */
@inline export function compoundHead(p: u32): u32 { const n = next(p); return (n & TAIL_MARK) != 0 ? n & ~TAIL_MARK : p; }
@inline export function folioTestLarge(p: u32): bool { return (flags(p) & PG_head) != 0; }
/** folio_nr_pages of head `p`. */
@inline export function folioNrPages(p: u32): u32 { return (flags(p) & PG_head) != 0 ? <u32>1 << pageOrder(p) : 1; }
/** folio->_pincount of large folio `p` (its first tail's `private`). */
@inline export function folioPincount(p: u32): i32 { return <i32>pagePrivate(p + 1); }
@inline export function setFolioPincount(p: u32, v: i32): void { setPagePrivate(p + 1, <u32>v); }

/**
 * prep_compound_page + folio_prep_large_rmappable for the block of order `order` at `p` (the
 * allocator has reset the head): PG_head, the tails marked, _pincount 0.
 */
export function prepCompoundPage(p: u32, order: u32): void {
  setFlags(p, PG_head | (order << ORDER_SHIFT));
  const n: u32 = 1 << order;
  for (let k: u32 = 1; k < n; k++) {
    const q = p + k;
    setFlags(q, 0); setRefcount(q, 0); setMapcount(q, 0); setPagePrivate(q, 0);
    setNext(q, TAIL_MARK | p); setPrev(q, q);
  }
}

/** free_tail_page_prepare over the tails of large folio `p` before its block goes back: plain frames again. */
export function clearCompoundTails(p: u32): void {
  const n = folioNrPages(p);
  for (let k: u32 = 1; k < n; k++) {
    const q = p + k;
    setFlags(q, 0); setRefcount(q, 0); setMapcount(q, 0); setPagePrivate(q, 0);
    setMapping(q, 0); setPageIndex(q, 0);
    setNext(q, q); setPrev(q, q);
  }
}

// Intrusive circular doubly linked lists through prev/next. A list head is a sentinel slot.
@inline export function listInit(head: u32): void { setPrev(head, head); setNext(head, head); }
@inline export function listEmpty(head: u32): bool { return next(head) == head; }
/** list_add: insert right after head (the "head" end of an LRU list). */
@inline export function listAdd(p: u32, head: u32): void {
  const n = next(head);
  setNext(p, n); setPrev(p, head); setPrev(n, p); setNext(head, p);
}
/** list_add_tail: insert right before head (the "tail" end, where reclaim takes from). */
@inline export function listAddTail(p: u32, head: u32): void {
  const q = prev(head);
  setPrev(p, q); setNext(p, head); setNext(q, p); setPrev(head, p);
}
@inline export function listDel(p: u32): void {
  const a = prev(p); const b = next(p);
  setNext(a, b); setPrev(b, a);
  setPrev(p, p); setNext(p, p);
}
