// Swap space (mm/swapfile.c) and the swap cache (mm/swap_state.c).
// swap_map keeps, per slot, how many swap PTEs point at it plus SWAP_HAS_CACHE while a page
// for that slot is in the swap cache; the swap cache maps slot → page (or holds the shadow
// entry workingset_eviction left when the page was reclaimed).
import { PLUG_CAP as LAYOUT_PLUG_CAP } from './generated/abi';
import { regionAlloc } from './mem';
import { setFlag, clearFlag, testFlag, setPagePrivate, pagePrivate, refcount, setRefcount,
  PG_swapcache, PG_dirty, PG_writeback } from './page';
import { countAdd } from './vmstat';
import { C_NR_SWAPCACHED, C_NR_FILE_PAGES, C_NR_FREE_SWAP, C_NR_SWAP_PAGES_USED } from './generated/abi';
import { NO_PAGE } from './alloc';
import { blkSubmit, blkAddPage, blkRoom, blkTagFreeAt, BLK_WRITE } from './blkdev';
import { folioStartWriteback } from './writeback';
import { curClock } from './sched';
import { ScanControl } from './scan_control';
import { countEvent } from './vmstat';
import { C_PSWPOUT, C_NR_VMSCAN_WRITE } from './generated/abi';

export const SWAP_HAS_CACHE: u8 = 0x40;
const SWAP_COUNT_MASK: u8 = 0x3F;
export const SHADOW_BIT: u32 = 0x8000_0000;

let swapMap: usize = 0;     // u8 per slot
let swapCache: usize = 0;   // u32 per slot: pfn + 1, a shadow (SHADOW_BIT set), or 0
export let totalSwapPages: u32 = 0;
let freeSlots: u32 = 0;
let cursor: u32 = 0;
export let swapDevice: i32 = -1;

export function swapInit(pages: u32, device: i32): bool {
  totalSwapPages = pages;
  freeSlots = pages;
  cursor = 0;
  swapDevice = device;
  countAdd(C_NR_FREE_SWAP, pages);
  if (pages == 0) return true;
  swapMap = regionAlloc(<u64>pages);
  swapCache = regionAlloc(<u64>pages * 4);
  return swapMap != 0 && swapCache != 0;
}

@inline export function nrSwapFree(): u32 { return freeSlots; }
/** SWAP_HAS_CACHE of `slot`'s swap_map entry. */
export function swapHasCache(slot: u32): bool { return (mapAt(slot) & SWAP_HAS_CACHE) != 0; }
@inline function mapAt(slot: u32): u8 { return load<u8>(swapMap + <usize>slot); }
@inline function setMapAt(slot: u32, v: u8): void { store<u8>(swapMap + <usize>slot, v); }
@inline export function swapCacheEntry(slot: u32): u32 { return load<u32>(swapCache + (<usize>slot << 2)); }
/** Load `slot`'s swap cache entry and swap count, for a walk ahead of do_swap_page (loads only). */
@inline export function swapSlotTouch(slot: u32): u32 { return swapCacheEntry(slot) + <u32>mapAt(slot); }
@inline function setSwapCacheEntry(slot: u32, v: u32): void { store<u32>(swapCache + (<usize>slot << 2), v); }

/** vm_swap_full: more than half of swap is in use. */
export function vmSwapFull(): bool { return <u64>freeSlots * 2 < <u64>totalSwapPages; }

/** The page cached for `slot`, or NO_PAGE (swap_cache_get_folio). */
export function swapCacheLookup(slot: u32): u32 {
  const e = swapCacheEntry(slot);
  return (e == 0 || (e & SHADOW_BIT) != 0) ? NO_PAGE : e - 1;
}

/** The shadow entry stored for `slot`, or 0. */
export function swapCacheShadow(slot: u32): u32 {
  const e = swapCacheEntry(slot);
  return (e & SHADOW_BIT) != 0 ? e : 0;
}

function slotFree(slot: u32): void {
  setMapAt(slot, 0);
  setSwapCacheEntry(slot, 0);   // clear_shadow_from_swap_cache
  freeSlots++;
  countAdd(C_NR_FREE_SWAP, 1); countAdd(C_NR_SWAP_PAGES_USED, -1);
}

/** folio_alloc_swap's slot search: next-fit over swap_map (the cluster allocator is not modelled). */
function getSwapSlot(): u32 {
  if (freeSlots == 0) return NO_PAGE;
  for (let i: u32 = 0; i < totalSwapPages; i++) {
    const s = cursor;
    cursor++;
    if (cursor >= totalSwapPages) cursor = 0;
    if (mapAt(s) == 0) {
      freeSlots--;
      countAdd(C_NR_FREE_SWAP, -1); countAdd(C_NR_SWAP_PAGES_USED, 1);
      return s;
    }
  }
  return NO_PAGE;
}

/** Insert `p` into the swap cache at `slot` (__add_to_swap_cache): +1 reference, counted as file pages. */
export function addToSwapCache(p: u32, slot: u32): void {
  setSwapCacheEntry(slot, p + 1);
  setMapAt(slot, mapAt(slot) | SWAP_HAS_CACHE);
  setFlag(p, PG_swapcache);
  setPagePrivate(p, slot + 1);
  setRefcount(p, refcount(p) + 1);
  countAdd(C_NR_SWAPCACHED, 1); countAdd(C_NR_FILE_PAGES, 1);
}

/** add_to_swap: give an anon folio a slot and put it in the swap cache, dirty. */
export function addToSwap(p: u32): bool {
  const slot = getSwapSlot();
  if (slot == NO_PAGE) return false;
  addToSwapCache(p, slot);
  setFlag(p, PG_dirty);    // it must be written before it can be freed
  return true;
}

@inline export function folioSwapSlot(p: u32): u32 { return pagePrivate(p) - 1; }

/**
 * __delete_from_swap_cache + put_swap_folio: leave `shadow` (or nothing) in the slot and drop
 * the cache's hold on it. The caller accounts for the cache's page reference.
 */
export function deleteFromSwapCache(p: u32, shadow: u32): void {
  const slot = folioSwapSlot(p);
  clearFlag(p, PG_swapcache);
  setPagePrivate(p, 0);
  countAdd(C_NR_SWAPCACHED, -1); countAdd(C_NR_FILE_PAGES, -1);
  const m = mapAt(slot) & ~SWAP_HAS_CACHE;
  if ((m & SWAP_COUNT_MASK) == 0) { slotFree(slot); return; }
  setMapAt(slot, m);
  setSwapCacheEntry(slot, shadow);
}

/** folio_migrate_mapping's xas_store in the swap cache: the slot of `src` holds `dst` now (it took the cache's reference). */
export function swapCacheReplace(slot: u32, dst: u32): void { setSwapCacheEntry(slot, dst + 1); }

/** swap_duplicate: one more swap PTE points at `slot`. */
export function swapDuplicate(slot: u32): void { setMapAt(slot, mapAt(slot) + 1); }

/** swap_free: a swap PTE pointing at `slot` went away. */
export function swapFree(slot: u32): void {
  const m = mapAt(slot) - 1;
  if (m == 0) { slotFree(slot); return; }
  setMapAt(slot, m);
}

/** Swap PTEs still pointing at the folio's slot (__swap_count). */
export function swapCount(slot: u32): u32 { return mapAt(slot) & SWAP_COUNT_MASK; }

/**
 * folio_free_swap: drop the swap copy of a folio that no swap PTE refers to any more (after
 * swap-in, when swap is getting full or the page is written). The page is then dirty again.
 */
export function folioFreeSwap(p: u32): bool {
  if (!testFlag(p, PG_swapcache) || testFlag(p, PG_writeback)) return false;
  if (swapCount(folioSwapSlot(p)) != 0) return false;
  deleteFromSwapCache(p, 0);
  setRefcount(p, refcount(p) - 1);
  setFlag(p, PG_dirty);
  return true;
}

// --- swap readahead window (swapin_nr_pages) --------------------------------------------------
let prevOffset: u32 = 0;
let readaheadHits: u32 = 0;
let lastReadaheadPages: u32 = 0;

/** A swap-in found its page read ahead (swap_cache_get_folio clearing PG_readahead). */
export function swapReadaheadHit(): void { readaheadHits++; }

/**
 * swapin_nr_pages / __swapin_nr_pages: the readahead window for a fault at `offset`, grown by
 * recent hits ("+ 2, it just happens to work well"), one page when neither hits nor adjacency
 * suggest a pattern, never shrinking by more than half at once, at most 2^page_cluster.
 */
export function swapinNrPages(offset: u32, pageCluster: u32): u32 {
  const maxPages: u32 = 1 << pageCluster;
  if (maxPages <= 1) return 1;
  const hits = readaheadHits;
  readaheadHits = 0;
  let pages = hits + 2;
  if (pages == 2) {
    if (offset != prevOffset + 1 && offset != prevOffset - 1) pages = 1;
  } else {
    let roundup: u32 = 4;
    while (roundup < pages) roundup <<= 1;
    pages = roundup;
  }
  if (pages > maxPages) pages = maxPages;
  const lastRa = lastReadaheadPages / 2;
  if (pages < lastRa) pages = lastRa;
  if (hits == 0) prevOffset = offset;
  lastReadaheadPages = pages;
  return pages;
}


// --- swap_writepage (mm/page_io.c) ------------------------------------------------------------
// Each reclaimer holds a plug across one shrink_folio_list (blk_start_plug/blk_finish_plug, its
// struct blk_plug in its scan_control): swap writes of adjacent slots merge into one request.
export const PLUG_CAP: u32 = <u32>LAYOUT_PLUG_CAP;

/** swap_writepage for a page reclaim cleaned: it goes under writeback into the reclaimer's plug. */
export function swapWritepage(sc: ScanControl, p: u32): void {
  folioStartWriteback(p);
  countEvent(C_PSWPOUT);
  countEvent(C_NR_VMSCAN_WRITE);
  if (sc.plug_n == PLUG_CAP) swapPlugSubmit(sc, true);
  store<u32>(sc.plug + (<usize>sc.plug_n << 2), p);
  sc.plug_n++;
}

/**
 * blk_finish_plug: submit the plugged swap writes, one request per run of adjacent slots, in
 * order. With every tag of the device taken the submitter sleeps until one frees
 * (blk_mq_get_tag), which is what paces reclaim to the swap device's speed: without `force`
 * this returns the time the next tag frees, the runs not yet submitted kept in the plug, and
 * the caller sleeps until then and calls again; 0 once everything is submitted. `force`
 * submits everything now (the requests then start when their tags free).
 */
export function swapPlugSubmit(sc: ScanControl, force: bool): i64 {
  const plugged = sc.plug;
  const n = sc.plug_n;
  let i: u32 = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && folioSwapSlot(load<u32>(plugged + (<usize>j << 2))) == folioSwapSlot(load<u32>(plugged + (<usize>(j - 1) << 2))) + 1) j++;
    const free = blkTagFreeAt(swapDevice);
    if (free > curClock && !force) {
      // keep the rest for after the sleep
      memory.copy(plugged, plugged + (<usize>i << 2), <usize>(n - i) << 2);
      sc.plug_n = n - i;
      return free;
    }
    const done = blkSubmit(swapDevice, BLK_WRITE, j - i, curClock);
    for (let k = i; k < j; k++) blkAddPage(swapDevice, BLK_WRITE, load<u32>(plugged + (<usize>k << 2)), done);
    i = j;
  }
  sc.plug_n = 0;
  return 0;
}

/** Room left in the swap device's write queue (the reclaimer's plug counts as queued). */
export function swapQueueRoom(sc: ScanControl): u32 { return blkRoom(swapDevice, BLK_WRITE) - sc.plug_n; }
