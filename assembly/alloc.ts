// Zones, watermarks and the buddy allocator (mm/page_alloc.c).
//
// One node with the x86-64 zone layout: ZONE_DMA below 16 MiB, ZONE_DMA32 below 4 GiB,
// ZONE_NORMAL above, and ZONE_MOVABLE at the top of memory when the scenario sets movablecore=
// (find_zone_movable_pfns_for_nodes: carved out of the highest zone; empty otherwise). User
// pages are GFP_HIGHUSER_MOVABLE (highest zone index MOVABLE, so they may use it and
// lowmem_reserve[MOVABLE] protects the lower zones) — except while a task is in a FOLL_LONGTERM
// pin (PF_MEMALLOC_PIN: current_gfp_context drops __GFP_MOVABLE); page tables are GFP_KERNEL
// (highest zone NORMAL), so they never come from ZONE_MOVABLE. No per-CPU page lists and no
// migrate types: without mobility fallbacks there is nothing to boost watermarks for, so
// watermark_boost stays 0.
import { NR_ORDERS as LAYOUT_NR_ORDERS, MAX_NR_ZONES as LAYOUT_MAX_NR_ZONES } from './generated/abi';
import { nrPages, flags, setFlags, PG_buddy, ORDER_SHIFT, listInit, listAdd, listDel, listEmpty, next,
  refcount, setRefcount, setMapcount, setMapping, setPageIndex, setPagePrivate, PG_lru, mapcount, PG_head, pageOrder, clearCompoundTails } from './page';
import { cfg } from './config';
import { G_MIN_FREE_KBYTES, G_WATERMARK_SCALE_FACTOR, G_LOWMEM_RESERVE_DMA, G_LOWMEM_RESERVE_DMA32,
  G_LOWMEM_RESERVE_NORMAL, G_KERNELCORE_PAGES, C_NR_FREE_PAGES, C_PGFREE, C_PGALLOC_DMA,
  C_MMSIM_ALLOC_FAILURES, C_PGSCAN_DIRECT_THROTTLE,
  DK_ALLOC_FAILED, FN_ALLOC_PAGES_SLOWPATH, DK_FREE_PAGE_IN_USE, FN_FREE_PAGES, ZI_STRIDE, ZI_START, ZI_SPANNED,
  ZI_MANAGED, ZI_MIN, ZI_LOW, ZI_HIGH, ZI_RESERVE_DMA, ZI_FREE, ZI_MIN_FREE_KBYTES } from './generated/abi';
import { countEvent, countAdd } from './vmstat';
import { lruvecDelFolio } from './lru';
import { wakeupKswapd, tryToFreePagesStart, tryToFreePagesStep, allowDirectReclaim, reclaimAbandon, STEP_DONE,
  STEP_SLEEP, STEP_MORE } from './vmscan';
import { curClock, currentTask } from './sched';
import { ScanControl, taskScanControl } from './scan_control';
import { sleepOn, finishWait, abandonWait, mustYield, yieldAt, WQ_PFMEMALLOC } from './wait';
import { mmKilled } from './mm';
import { regionAlloc } from './mem';
import { outOfMemory } from './oom';
import { recordBug } from './invariants';
import { nrSwapFree } from './swap';

export const NR_ORDERS: i32 = LAYOUT_NR_ORDERS;
export const MAX_ORDER: i32 = NR_ORDERS - 1;    // orders 0..10 (MAX_PAGE_ORDER)
export const ZONE_DMA: i32 = 0;
export const ZONE_DMA32: i32 = 1;
export const ZONE_NORMAL: i32 = 2;
export const ZONE_MOVABLE: i32 = 3;
export const MAX_NR_ZONES: i32 = LAYOUT_MAX_NR_ZONES;
export const WMARK_MIN: i32 = 0;
export const WMARK_LOW: i32 = 1;
export const WMARK_HIGH: i32 = 2;
export const NO_PAGE: u32 = 0xFFFF_FFFF;
export const MAX_RECLAIM_RETRIES: i32 = 16;
export const PAGE_ALLOC_COSTLY_ORDER: i32 = 3;
const DMA_END: u32 = 4096;                   // 16 MiB
const DMA32_END: u32 = 1 << 20;              // 4 GiB
/** MAX_ORDER_NR_PAGES: ZONE_MOVABLE starts on a boundary of the largest buddy block. */
const MAX_ORDER_NR_PAGES: u32 = 1 << 10;
/** zone_movable_pfn: the first pfn of ZONE_MOVABLE (nrPages when it is empty). */
export let movableStart: u32 = 0xFFFF_FFFF;

// Zone table (struct zone), ZF_* fields of i64 per zone.
const ZF_START = 0; const ZF_END = 1; const ZF_MANAGED = 2; const ZF_FREE = 3;
const ZF_WMARK = 4;        // 3 values
const ZF_RESERVE = 7;      // lowmem_reserve[MAX_NR_ZONES]
const ZF_NR_FREE = 11;     // nr_free per order, NR_ORDERS values
const ZF_LRU = 22;         // per-zone LRU sizes (NR_ZONE_*), 5 values
const ZF_STRIDE = 27;
const zoneTable: usize = memory.data(MAX_NR_ZONES * ZF_STRIDE * 8);

/** Sentinel slot where the buddy free lists start (set by allocInit). */
let freeListBase: u32 = 0;
export let minFreeKbytes: i64 = 0;
export let totalreservePages: i64 = 0;

@inline function zf(z: i32, f: i32): i64 { return load<i64>(zoneTable + ((<usize>(z * ZF_STRIDE + f)) << 3)); }
@inline function setZf(z: i32, f: i32, v: i64): void { store<i64>(zoneTable + ((<usize>(z * ZF_STRIDE + f)) << 3), v); }
@inline function addZf(z: i32, f: i32, d: i64): void { setZf(z, f, zf(z, f) + d); }

export function zoneFree(z: i32): i64 { return zf(z, ZF_FREE); }
export function wmark(z: i32, w: i32): i64 { return zf(z, ZF_WMARK + w); }
/** Per-zone LRU list size (NR_ZONE_INACTIVE_ANON + lru). */
export function zoneLruSize(z: i32, lru: i32): i64 { return zf(z, ZF_LRU + lru); }
export function zoneLruAdd(z: i32, lru: i32, d: i64): void { addZf(z, ZF_LRU + lru, d); }
export function populatedZone(z: i32): bool { return zf(z, ZF_MANAGED) > 0; }

/** page_zonenum: the zone is a function of the pfn on this layout. */
@inline export function pageZone(pfn: u32): i32 {
  if (pfn >= movableStart) return ZONE_MOVABLE;
  return pfn < DMA_END ? ZONE_DMA : (pfn < DMA32_END ? ZONE_DMA32 : ZONE_NORMAL);
}

/**
 * The zone index reclaim and kswapd work up to for an allocation whose highest zone is `idx`
 * (sc.reclaim_idx = gfp_zone(gfp_mask), kswapd_highest_zoneidx): itself — but an empty
 * ZONE_MOVABLE counts as ZONE_NORMAL, which is where such an allocation is served, so that a
 * machine without movablecore reclaims as it always did.
 */
@inline export function reclaimZoneidx(idx: i32): i32 {
  return idx > ZONE_NORMAL && !populatedZone(ZONE_MOVABLE) ? ZONE_NORMAL : idx;
}

@inline export function freeHead(z: i32, order: i32): u32 { return freeListBase + <u32>(z * NR_ORDERS + order); }
/** zone->free_area[order].nr_free (for the invariant checks). */
export function zoneNrFree(z: i32, order: i32): i64 { return zf(z, ZF_NR_FREE + order); }
export function nrFreeListSentinels(): u32 { return <u32>(MAX_NR_ZONES * NR_ORDERS); }

/** int_sqrt as the kernel computes it (floor of the square root). */
export function intSqrt(x: u64): u64 {
  if (x < 2) return x;
  let r = <u64>Math.sqrt(<f64>x);
  while (r * r > x) r--;
  while ((r + 1) * (r + 1) <= x) r++;
  return r;
}

/**
 * calculate_min_free_kbytes (init_per_zone_wmark_min): 4 * sqrt(lowmem_kbytes), clamped to
 * [128, 262144]. All our zones are lowmem (64-bit: no highmem).
 */
export function calculateMinFreeKbytes(lowmemPages: u64): i64 {
  let v = <i64>intSqrt(lowmemPages * 4 * 16);
  if (v < 128) v = 128;
  if (v > 262144) v = 262144;
  return v;
}

/** __setup_per_zone_wmarks + setup_per_zone_lowmem_reserve + calculate_totalreserve_pages. */
function setupPerZoneWmarks(): void {
  const pagesMin = minFreeKbytes >> 2;                       // >> (PAGE_SHIFT - 10)
  let lowmemPages: i64 = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) if (z != ZONE_MOVABLE) lowmemPages += zf(z, ZF_MANAGED);
  const scale = <i64>cfg(G_WATERMARK_SCALE_FACTOR);
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    const managed = zf(z, ZF_MANAGED);
    // tmp = pages_min * managed / lowmem_pages (u64 arithmetic in the kernel)
    let tmp: i64 = lowmemPages > 0 ? pagesMin * managed / lowmemPages : 0;
    let min: i64 = tmp;
    if (z == ZONE_MOVABLE) {
      // highmem/movable zones get a small fixed minimum: clamp(managed/1024, 32, 128)
      min = managed / 1024;
      if (min < 32) min = 32;
      if (min > 128) min = 128;
    }
    // gap = max(tmp/4, managed * watermark_scale_factor / 10000)
    let gap = tmp >> 2;
    const scaled = managed * scale / 10000;
    if (scaled > gap) gap = scaled;
    setZf(z, ZF_WMARK + WMARK_MIN, min);
    setZf(z, ZF_WMARK + WMARK_LOW, min + gap);
    setZf(z, ZF_WMARK + WMARK_HIGH, min + 2 * gap);
  }
  // lowmem_reserve[j] of zone i = managed pages of zones i+1..j / lowmem_reserve_ratio[i]
  for (let i = 0; i < MAX_NR_ZONES; i++) {
    const ratio: i64 = i == ZONE_DMA ? <i64>cfg(G_LOWMEM_RESERVE_DMA)
      : (i == ZONE_DMA32 ? <i64>cfg(G_LOWMEM_RESERVE_DMA32) : (i == ZONE_NORMAL ? <i64>cfg(G_LOWMEM_RESERVE_NORMAL) : 0));
    let upper: i64 = 0;
    for (let j = 0; j < MAX_NR_ZONES; j++) {
      if (j <= i) { setZf(i, ZF_RESERVE + j, 0); continue; }
      upper += zf(j, ZF_MANAGED);
      setZf(i, ZF_RESERVE + j, ratio > 0 && zf(i, ZF_MANAGED) > 0 ? upper / ratio : 0);
    }
  }
  // totalreserve_pages = Σ min(managed, max_j(lowmem_reserve[j]) + high)
  totalreservePages = 0;
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    let maxRes: i64 = 0;
    for (let j = 0; j < MAX_NR_ZONES; j++) if (zf(z, ZF_RESERVE + j) > maxRes) maxRes = zf(z, ZF_RESERVE + j);
    let r = maxRes + zf(z, ZF_WMARK + WMARK_HIGH);
    if (r > zf(z, ZF_MANAGED)) r = zf(z, ZF_MANAGED);
    totalreservePages += r;
  }
}

function zoneBound(z: i32): u32 {
  return z == 0 ? 0 : (z == 1 ? DMA_END : (z == 2 ? DMA32_END : 0xFFFF_FFFF));
}

/**
 * find_zone_movable_pfns_for_nodes, for this node: the host has turned movablecore= into the
 * node's kernelcore (required_kernelcore / usable_nodes, in pages; 0 = no ZONE_MOVABLE).
 * ZONE_MOVABLE takes the top of the highest populated zone (movable_zone): the pages below that
 * zone count as kernelcore already (usable_startpfn), and its start is rounded up to
 * MAX_ORDER_NR_PAGES. Returns zone_movable_pfn, or `n` when the zone is empty.
 */
function movableZoneStart(n: u32, kernelcore: u64): u32 {
  if (kernelcore == 0) return n;
  const usable: u64 = n > DMA32_END ? DMA32_END : (n > DMA_END ? DMA_END : 0);
  let start = kernelcore > usable ? kernelcore : usable;
  start = (start + MAX_ORDER_NR_PAGES - 1) & ~(<u64>MAX_ORDER_NR_PAGES - 1);
  return start >= <u64>n ? n : <u32>start;
}

/** Build the zones, compute watermarks and free every frame into the buddy lists. */
export function allocInit(freeListSentinel: u32): void {
  freeListBase = freeListSentinel;
  const n = nrPages;
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    for (let f = 0; f < ZF_STRIDE; f++) setZf(z, f, 0);
    for (let o = 0; o < NR_ORDERS; o++) listInit(freeHead(z, o));
  }
  // adjust_zone_range_for_zone_movable: the zone ZONE_MOVABLE is carved from ends where it starts
  const mstart = movableZoneStart(n, <u64>cfg(G_KERNELCORE_PAGES));
  movableStart = mstart;
  for (let z = 0; z < ZONE_MOVABLE; z++) {
    const lo = zoneBound(z); const hi = zoneBound(z + 1);
    const s = lo < mstart ? lo : mstart;
    const e = hi < mstart ? hi : mstart;
    setZf(z, ZF_START, s); setZf(z, ZF_END, e); setZf(z, ZF_MANAGED, e - s);
  }
  setZf(ZONE_MOVABLE, ZF_START, mstart); setZf(ZONE_MOVABLE, ZF_END, n); setZf(ZONE_MOVABLE, ZF_MANAGED, n - mstart);
  // nr_free_buffer_pages: the zones GFP_USER can use, which ZONE_MOVABLE is not
  const userMin = <i64>cfg(G_MIN_FREE_KBYTES);
  minFreeKbytes = userMin > 0 ? userMin : calculateMinFreeKbytes(<u64>mstart);
  setupPerZoneWmarks();
  // memblock_free_all: hand every frame to the buddy allocator in the largest aligned blocks.
  for (let z = 0; z <= ZONE_MOVABLE; z++) {
    let p = <u32>zf(z, ZF_START);
    const e = <u32>zf(z, ZF_END);
    while (p < e) {
      let o = MAX_ORDER;
      while (o > 0 && (((p & ((1 << o) - 1)) != 0) || p + (1 << o) > e)) o--;
      freeOneBlock(p, o, z);
      p += 1 << o;
    }
  }
}

@inline function setBuddy(p: u32, order: i32): void { setFlags(p, PG_buddy | (<u32>order << ORDER_SHIFT)); }
@inline function isBuddyOfOrder(p: u32, order: i32): bool { return flags(p) == (PG_buddy | (<u32>order << ORDER_SHIFT)); }

function freeOneBlock(p: u32, order: i32, z: i32): void {
  setBuddy(p, order);
  listAdd(p, freeHead(z, order));
  addZf(z, ZF_NR_FREE + order, 1);
  addZf(z, ZF_FREE, 1 << order);
  countAdd(C_NR_FREE_PAGES, 1 << order);
}

/** __free_one_page: merge with free buddies of the same order, then put the block on its list. */
export function freePages(pfn: u32, order: i32): void {
  const z = pageZone(pfn);
  const zs = <u32>zf(z, ZF_START); const ze = <u32>zf(z, ZF_END);
  countAdd(C_PGFREE, 1 << order);
  let p = pfn;
  while (order < MAX_ORDER) {
    const buddy = p ^ (1 << order);
    if (buddy < zs || buddy >= ze || !isBuddyOfOrder(buddy, order)) break;
    listDel(buddy);
    setFlags(buddy, 0);
    addZf(z, ZF_NR_FREE + order, -1);
    addZf(z, ZF_FREE, -(1 << order));
    countAdd(C_NR_FREE_PAGES, -(1 << order));
    p = p & buddy;
    order++;
  }
  freeOneBlock(p, order, z);
}

/** rmqueue from the buddy lists: take the smallest block ≥ order and split it (expand). */
function rmqueue(z: i32, order: i32): u32 {
  for (let o = order; o < NR_ORDERS; o++) {
    const head = freeHead(z, o);
    if (listEmpty(head)) continue;
    const p = next(head);
    listDel(p);
    addZf(z, ZF_NR_FREE + o, -1);
    let size = o;
    while (size > order) {               // expand(): give back the upper halves
      size--;
      const half = p + (1 << size);
      setBuddy(half, size);
      listAdd(half, freeHead(z, size));
      addZf(z, ZF_NR_FREE + size, 1);
    }
    addZf(z, ZF_FREE, -(1 << order));
    countAdd(C_NR_FREE_PAGES, -(1 << order));
    setFlags(p, 0);
    setRefcount(p, 1);               // post_alloc_hook: set_page_refcounted
    setMapcount(p, 0);
    setMapping(p, 0); setPageIndex(p, 0); setPagePrivate(p, 0);
    countAdd(C_PGALLOC_DMA + z, 1 << order);
    return p;
  }
  return NO_PAGE;
}

/** __zone_watermark_ok without highatomic/CMA reserves (not modelled). */
export function zoneWatermarkOk(z: i32, order: i32, mark: i64, highestZoneidx: i32, free: i64): bool {
  free -= (1 << order) - 1;
  if (free <= mark + zf(z, ZF_RESERVE + highestZoneidx)) return false;
  if (order == 0) return true;
  for (let o = order; o < NR_ORDERS; o++) if (zf(z, ZF_NR_FREE + o) > 0) return true;
  return false;
}

/** get_page_from_freelist: first zone of the zonelist (highest first) that passes the watermark. */
function getPageFromFreelist(order: i32, wm: i32, highestZoneidx: i32): u32 {
  for (let z = highestZoneidx; z >= 0; z--) {
    if (!populatedZone(z)) continue;
    if (!zoneWatermarkOk(z, order, zf(z, ZF_WMARK + wm), highestZoneidx, zf(z, ZF_FREE))) continue;
    const p = rmqueue(z, order);
    if (p != NO_PAGE) return p;
  }
  return NO_PAGE;
}

/**
 * zone_reclaimable_pages: file LRU pages, plus anon LRU pages when swap has room; a zone with
 * none counts its free pages, so that it is not skipped where they could still help (v6.16).
 */
export function zoneReclaimablePages(z: i32): i64 {
  let n = zoneLruSize(z, 2) + zoneLruSize(z, 3);
  if (nrSwapFree() > 0) n += zoneLruSize(z, 0) + zoneLruSize(z, 1);
  if (n == 0) n = zf(z, ZF_FREE);
  return n;
}

/** should_reclaim_retry: could some zone pass the min watermark if all its LRU were freed? */
function shouldReclaimRetry(order: i32, highestZoneidx: i32, noProgressLoops: i32): bool {
  if (noProgressLoops > MAX_RECLAIM_RETRIES) return false;
  for (let z = highestZoneidx; z >= 0; z--) {
    if (!populatedZone(z)) continue;
    // would the allocation succeed if all reclaimable pages were reclaimed?
    const available = zoneReclaimablePages(z) + zf(z, ZF_FREE);
    if (zoneWatermarkOk(z, order, zf(z, ZF_WMARK + WMARK_MIN), highestZoneidx, available)) return true;
  }
  return false;
}

// The slow path of one task's allocation (__alloc_pages_slowpath), kept in a record so that it
// can sleep (throttled on pfmemalloc_wait, or inside direct reclaim) and resume where it was,
// while the rest of the machine runs. A fault or syscall whose allocation sleeps unwinds with
// "not yet" (stopNow) and retries when the task runs again; by then the slow path has ended
// and the retried path's first allocation of the same order and zone takes its result.
@unmanaged class AllocContext {
  result: u32;
  stage: i32;
  order: i32;
  highestZoneidx: i32;
  noProgressLoops: i32;
  iterations: i32;
  /** when the retry loop last ran (iterations counts the retries at that time) */
  retryAt: i64;
}
const SP_IDLE: i32 = 0;
const SP_RETRY: i32 = 1;        // the top of the retry loop
const SP_PFMEMALLOC: i32 = 2;   // asleep in throttle_direct_reclaim
const SP_RECLAIM: i32 = 3;      // in direct reclaim (__alloc_pages_direct_reclaim)
const SP_DONE: i32 = 4;         // ended: `result` waits for the retried path
const AC_BYTES: usize = (offsetof<AllocContext>() + 31) & ~(<usize>31);
let allocContexts: usize = 0;

/** PF_MEMALLOC_PIN per task (u8): inside memalloc_pin_save / memalloc_pin_restore. */
let pinContexts: usize = 0;

export function allocContextsInit(tasks: i32): bool {
  allocContexts = regionAlloc(<u64>(tasks + 1) * <u64>AC_BYTES);
  pinContexts = regionAlloc(<u64>(tasks + 1));
  return allocContexts != 0 && pinContexts != 0;
}

/**
 * memalloc_pin_save: task `t` enters a FOLL_LONGTERM pin (__gup_longterm_locked); until
 * memalloc_pin_restore its allocations drop __GFP_MOVABLE (current_gfp_context), so the pages
 * its faults bring in, and the targets of its migrations, come from outside ZONE_MOVABLE. The
 * kernel does this whatever the zones (v5.13; CMA-only as memalloc_nocma_save since v5.1, not
 * modelled); here only where ZONE_MOVABLE has memory, since without it the only difference
 * would be which allocstall_* counter a stall is counted in.
 */
export function memallocPinSave(t: i32): void { if (populatedZone(ZONE_MOVABLE)) store<u8>(pinContexts + <usize>t, 1); }
/** memalloc_pin_restore */
export function memallocPinRestore(t: i32): void { store<u8>(pinContexts + <usize>t, 0); }

/**
 * gfp_zone(current_gfp_context(GFP_HIGHUSER_MOVABLE)): the highest zone of a user page's
 * allocation (an anon fault, the page cache, swap-in) by the running task — ZONE_MOVABLE, or
 * ZONE_NORMAL inside a FOLL_LONGTERM pin (PF_MEMALLOC_PIN).
 */
@inline export function gfpHighuserMovableZone(): i32 {
  const t = currentTask;
  return t >= 0 && load<u8>(pinContexts + <usize>t) != 0 ? ZONE_NORMAL : ZONE_MOVABLE;
}
@inline function allocContextOf(t: i32): AllocContext { return changetype<AllocContext>(allocContexts + <usize>t * AC_BYTES); }

/**
 * __alloc_pages: fast path at the low watermark; slow path wakes kswapd, tries the min
 * watermark, then direct reclaim (try_to_free_pages), retry per should_reclaim_retry, and the
 * OOM killer. Returns the pfn with refcount 1, or NO_PAGE: failed, or — with stopNow set — the
 * task sleeps in the slow path and the caller must unwind and retry.
 */
export function allocPages(order: i32, highestZoneidx: i32): u32 {
  const t = currentTask;
  if (t >= 0) {
    const ac = allocContextOf(t);
    if (ac.stage == SP_DONE) {
      ac.stage = SP_IDLE;
      const r = ac.result;
      if (ac.order == order && ac.highestZoneidx == highestZoneidx) return r;
      if (r != NO_PAGE) folioPut(r);        // the retried path went another way
    }
  }
  const p = getPageFromFreelist(order, WMARK_LOW, highestZoneidx);
  if (p != NO_PAGE) return p;
  if (t < 0) return allocPagesNowait(order, highestZoneidx);   // kernel threads never reclaim here
  const ac = allocContextOf(t);
  ac.stage = SP_RETRY; ac.order = order; ac.highestZoneidx = highestZoneidx;
  ac.noProgressLoops = 0; ac.iterations = 0; ac.retryAt = curClock; ac.result = NO_PAGE;
  if (!allocSlowpathRun(t)) return NO_PAGE;
  ac.stage = SP_IDLE;
  return ac.result;
}

/**
 * An allocation that does not enter direct reclaim (GFP_NOWAIT: wake kswapd, take what the min
 * watermark allows): readahead beyond the page a fault or read needs, and kernel threads.
 */
export function allocPagesNowait(order: i32, highestZoneidx: i32): u32 {
  let p = getPageFromFreelist(order, WMARK_LOW, highestZoneidx);
  if (p != NO_PAGE) return p;
  wakeupKswapd(order, highestZoneidx);
  p = getPageFromFreelist(order, WMARK_MIN, highestZoneidx);
  return p;
}

/**
 * GFP_TRANSHUGE_LIGHT (a THP fault under defrag=never, the huge zero page here): no direct
 * reclaim, no compaction and no kswapd wake-up — the low watermark, then the slow path's
 * min watermark; NO_PAGE when no block of `order` is free.
 */
export function allocPagesLight(order: i32, highestZoneidx: i32): u32 {
  const p = getPageFromFreelist(order, WMARK_LOW, highestZoneidx);
  if (p != NO_PAGE) return p;
  return getPageFromFreelist(order, WMARK_MIN, highestZoneidx);
}

/** Is task `t` inside the slow path (asleep, or yielded in the middle of it)? */
export function allocInProgress(t: i32): bool {
  const st = allocContextOf(t).stage;
  return st == SP_RETRY || st == SP_PFMEMALLOC || st == SP_RECLAIM;
}

/**
 * Run task `t`'s slow path from where it stands until it ends (true: the result waits in its
 * record) or the task sleeps or yields to an earlier event (false, stopNow).
 */
export function allocSlowpathRun(t: i32): bool {
  const ac = allocContextOf(t);
  const sc = taskScanControl(t);
  for (;;) {
    const r = slowpathStep(t, ac, sc);
    if (r == STEP_DONE) return true;
    if (r == STEP_SLEEP) return false;
    if (mustYield(sc.entity, curClock)) { yieldAt(sc.entity, curClock); return false; }
  }
  return false;
}

/** The task was killed while asleep in the slow path: it leaves its queue and reclaim. */
export function allocAbandon(t: i32): void {
  const ac = allocContextOf(t);
  const sc = taskScanControl(t);
  abandonWait(sc.entity);
  reclaimAbandon(sc);
  if (ac.stage == SP_DONE && ac.result != NO_PAGE) folioPut(ac.result);
  ac.stage = SP_IDLE;
}

function slowpathEnd(ac: AllocContext, p: u32): i32 {
  ac.result = p;
  ac.stage = SP_DONE;
  return STEP_DONE;
}

function slowpathFail(ac: AllocContext): i32 {
  countEvent(C_MMSIM_ALLOC_FAILURES);
  recordBug(DK_ALLOC_FAILED, NO_PAGE, FN_ALLOC_PAGES_SLOWPATH, <f64>ac.order);
  return slowpathEnd(ac, NO_PAGE);
}

/** One step of __alloc_pages_slowpath for task `t` (STEP_MORE / STEP_SLEEP / STEP_DONE). */
function slowpathStep(t: i32, ac: AllocContext, sc: ScanControl): i32 {
  const order = ac.order; const idx = ac.highestZoneidx;
  if (ac.stage == SP_RETRY) {
    if (mmKilled(t)) return slowpathEnd(ac, NO_PAGE);     // killed meanwhile: the fault ends
    // a loop that makes no progress in time either is a livelock of the model: fail it
    if (curClock > ac.retryAt) { ac.retryAt = curClock; ac.iterations = 0; }
    if (++ac.iterations > 1000) return slowpathFail(ac);
    // retry: wake kswapd, then the free lists at the min watermark before reclaiming (after an
    // OOM kill, the victim's memory is already free)
    wakeupKswapd(order, idx);
    const p = getPageFromFreelist(order, WMARK_MIN, idx);
    if (p != NO_PAGE) return slowpathEnd(ac, p);
    // throttle_direct_reclaim: below half the min watermarks, direct reclaimers wait on
    // pfmemalloc_wait until kswapd has restored them
    if (!allowDirectReclaim()) {
      countEvent(C_PGSCAN_DIRECT_THROTTLE);
      sleepOn(WQ_PFMEMALLOC, sc.entity, curClock, -1);
      ac.stage = SP_PFMEMALLOC;
      return STEP_SLEEP;
    }
    tryToFreePagesStart(sc, order, idx);
    ac.stage = SP_RECLAIM;
    return STEP_MORE;
  }
  if (ac.stage == SP_PFMEMALLOC) {
    // wait_event_killable(pfmemalloc_wait, allow_direct_reclaim(pgdat))
    finishWait(sc.entity);
    if (mmKilled(t)) return slowpathEnd(ac, NO_PAGE);
    if (!allowDirectReclaim()) { sleepOn(WQ_PFMEMALLOC, sc.entity, curClock, -1); return STEP_SLEEP; }
    tryToFreePagesStart(sc, order, idx);
    ac.stage = SP_RECLAIM;
    return STEP_MORE;
  }
  // SP_RECLAIM
  const r = tryToFreePagesStep(sc);
  if (r != STEP_DONE) return r;
  const progress = sc.nr_reclaimed;      // counted allocstall_* per pass
  let p = getPageFromFreelist(order, WMARK_MIN, idx);
  if (p != NO_PAGE) return slowpathEnd(ac, p);
  if (order > PAGE_ALLOC_COSTLY_ORDER) return slowpathFail(ac);
  if (progress > 0) ac.noProgressLoops = 0; else ac.noProgressLoops++;
  if (shouldReclaimRetry(order, idx, ac.noProgressLoops)) { ac.stage = SP_RETRY; return STEP_MORE; }
  // __alloc_pages_may_oom: last try at the high watermark, then the OOM killer.
  p = getPageFromFreelist(order, WMARK_HIGH, idx);
  if (p != NO_PAGE) return slowpathEnd(ac, p);
  if (outOfMemory(order, curClock)) { ac.noProgressLoops = 0; ac.stage = SP_RETRY; return STEP_MORE; }
  return slowpathFail(ac);
}

/** folio_put: drop a reference; the last one frees the page (__folio_put). */
export function folioPut(p: u32): void {
  const r = refcount(p) - 1;
  setRefcount(p, r);
  if (r > 0) return;
  if (r < 0 || mapcount(p) != 0) { recordBug(DK_FREE_PAGE_IN_USE, p, FN_FREE_PAGES, <f64>r); return; }
  if ((flags(p) & PG_lru) != 0) lruvecDelFolio(p);
  freeFolioFrames(p);
}

/**
 * The frames of folio `p`, whose last reference went, back to the buddy allocator
 * (free_unref_folios; a large folio's tails made plain first, free_tail_page_prepare).
 */
export function freeFolioFrames(p: u32): void {
  let order = 0;
  if ((flags(p) & PG_head) != 0) { order = <i32>pageOrder(p); clearCompoundTails(p); }
  setFlags(p, 0);
  setMapping(p, 0); setPageIndex(p, 0); setPagePrivate(p, 0);
  freePages(p, order);
}

/** Zone table for the host: ZONEINFO_FIELDS (src/abi/config.ts) per zone. */
export const ZONEINFO_STRIDE: i32 = ZI_STRIDE;
const zoneInfo: usize = memory.data(MAX_NR_ZONES * ZI_STRIDE * 8);
@inline function zi(a: usize, f: i32, v: f64): void { store<f64>(a + (<usize>f << 3), v); }
export function zoneInfoFill(): usize {
  for (let z = 0; z < MAX_NR_ZONES; z++) {
    const a = zoneInfo + <usize>(z * ZONEINFO_STRIDE * 8);
    zi(a, ZI_START, <f64>zf(z, ZF_START));
    zi(a, ZI_SPANNED, <f64>(zf(z, ZF_END) - zf(z, ZF_START)));
    zi(a, ZI_MANAGED, <f64>zf(z, ZF_MANAGED));
    zi(a, ZI_MIN, <f64>zf(z, ZF_WMARK));
    zi(a, ZI_LOW, <f64>zf(z, ZF_WMARK + 1));
    zi(a, ZI_HIGH, <f64>zf(z, ZF_WMARK + 2));
    for (let j = 0; j < MAX_NR_ZONES; j++) zi(a, ZI_RESERVE_DMA + j, <f64>zf(z, ZF_RESERVE + j));
    zi(a, ZI_FREE, <f64>zf(z, ZF_FREE));
    zi(a, ZI_MIN_FREE_KBYTES, <f64>minFreeKbytes);
  }
  return zoneInfo;
}
