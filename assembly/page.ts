// The frame table (struct page / struct folio): struct-of-arrays indexed by pfn, 32 bytes per
// frame. Sentinel indices above the last pfn serve as list heads for the LRU and buddy lists,
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
export const ORDER_SHIFT: u32 = 24;
export const ORDER_MASK: u32 = 0xF << ORDER_SHIFT;

/** `mapping` high bit: the page is anonymous and the rest is its anon_vma id (PAGE_MAPPING_ANON). */
export const MAPPING_ANON: u32 = 0x8000_0000;

export let nrPages: u32 = 0;      // frames of simulated RAM
export let nrSlots: u32 = 0;      // frames + sentinels

let aFlags: usize = 0;
let aRef: usize = 0;
let aMapcount: usize = 0;
let aPrivate: usize = 0;
let aPrev: usize = 0;
let aNext: usize = 0;
let aMapping: usize = 0;
let aIndex: usize = 0;

export const FRAME_BYTES: u64 = 32;

/** Lay out the frame table for `pages` frames plus `sentinels` list heads. Returns false on no memory. */
export function pagesInit(pages: u32, sentinels: u32): bool {
  nrPages = pages;
  nrSlots = pages + sentinels;
  const n = <u64>nrSlots;
  aFlags = regionAlloc(n * 4); aRef = regionAlloc(n * 4); aMapcount = regionAlloc(n * 4);
  aPrivate = regionAlloc(n * 4); aPrev = regionAlloc(n * 4); aNext = regionAlloc(n * 4);
  aMapping = regionAlloc(n * 4); aIndex = regionAlloc(n * 4);
  return aIndex != 0 && aFlags != 0 && aRef != 0 && aMapcount != 0 && aPrivate != 0 && aPrev != 0 && aNext != 0 && aMapping != 0;
}

// @inline accessors: the frame table is the hottest data in the simulator.
@inline export function flags(p: u32): u32 { return load<u32>(aFlags + ((<usize>p) << 2)); }
@inline export function setFlags(p: u32, v: u32): void { store<u32>(aFlags + ((<usize>p) << 2), v); }
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

@inline export function refcount(p: u32): i32 { return load<i32>(aRef + ((<usize>p) << 2)); }
@inline export function setRefcount(p: u32, v: i32): void { store<i32>(aRef + ((<usize>p) << 2), v); }
@inline export function mapcount(p: u32): i32 { return load<i32>(aMapcount + ((<usize>p) << 2)); }
@inline export function setMapcount(p: u32, v: i32): void { store<i32>(aMapcount + ((<usize>p) << 2), v); }
/** folio->private: swap slot + 1 while in the swap cache; for file pages, buffer state. */
@inline export function pagePrivate(p: u32): u32 { return load<u32>(aPrivate + ((<usize>p) << 2)); }
@inline export function setPagePrivate(p: u32, v: u32): void { store<u32>(aPrivate + ((<usize>p) << 2), v); }
@inline export function prev(p: u32): u32 { return load<u32>(aPrev + ((<usize>p) << 2)); }
@inline export function setPrev(p: u32, v: u32): void { store<u32>(aPrev + ((<usize>p) << 2), v); }
@inline export function next(p: u32): u32 { return load<u32>(aNext + ((<usize>p) << 2)); }
@inline export function setNext(p: u32, v: u32): void { store<u32>(aNext + ((<usize>p) << 2), v); }
@inline export function mapping(p: u32): u32 { return load<u32>(aMapping + ((<usize>p) << 2)); }
@inline export function setMapping(p: u32, v: u32): void { store<u32>(aMapping + ((<usize>p) << 2), v); }
@inline export function pageIndex(p: u32): u32 { return load<u32>(aIndex + ((<usize>p) << 2)); }
@inline export function setPageIndex(p: u32, v: u32): void { store<u32>(aIndex + ((<usize>p) << 2), v); }

@inline export function pageAnon(p: u32): bool { return (mapping(p) & MAPPING_ANON) != 0; }

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
