// Processes' address spaces (mm_struct, vm_area_struct) and the page-fault handler
// (mm/memory.c: handle_mm_fault, do_anonymous_page, do_swap_page, do_read_fault,
// do_shared_fault, do_cow_fault, do_wp_page; mm/filemap.c: filemap_fault), the zap of a range
// (unmap_page_range, zap_page_range_single, unmap_mapping_range for truncation), plus exit_mmap.
import { regionAlloc } from './mem';
import { cfg, procCfg, vmaCfg } from './config';
import { G_N_PROCS, G_N_VMAS, G_N_FILES, PROC_FIRST_VMA, PROC_N_VMAS, VMA_KIND, VMA_SIZE_PAGES, VMA_FILE,
  VMA_PGOFF, VMA_SHARED, VMA_MLOCKED, VMA_EXEC, VMA_POPULATE, VMA_HUGEPAGE, VMA_KIND_ANON,
  C_PGFAULT, C_PGMAJFAULT, C_NR_ANON_PAGES, C_NR_MAPPED, C_PSWPIN, C_MMSIM_ZERO_FILL_FAULTS, C_PGREUSE,
  C_MMSIM_IO_WAIT_NS, C_SWAP_RA, C_SWAP_RA_HIT, G_PAGE_CLUSTER, G_COST_MINOR_FAULT, G_COST_ZERO_FILL, G_COST_RMAP_WALK, DK_BAD_PTE, FN_HANDLE_MM_FAULT, FN_ZAP_HUGE_PMD, C_MMSIM_DEVICE_PRIVATE_FAULTS } from './generated/abi';
import { flags, setFlag, testFlag, refcount, setRefcount, mapcount, setMapcount, setMapping, setPageIndex,
  PG_swapbacked, PG_anon_exclusive, PG_locked, PG_readio, PG_readahead, PG_uptodate, testClearFlag, PG_swapcache, PG_mlocked, PG_writeback, MAPPING_ANON, clearFlag } from './page';
import { allocPages, allocPagesNowait, folioPut, NO_PAGE, gfpHighuserMovableZone } from './alloc';
import { pteAlloc, entryAddr, entryPfn, mkPte, isSwapPte, isMigrationPte, isDevicePrivatePte, tableAlloc, freePgtables, _PAGE_PRESENT, _PAGE_RW,
  _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_SPECIAL, ZERO_PTE, isHugePmd } from './pgtable';
import { thpEligible, hugePmdFault, zapHugePmd, FAULT_FALLBACK } from './huge_memory';
import { folioAddLruVma, folioAddLru, lruAddDrain, mlockFolio } from './lru';
import { countEvent, countAdd } from './vmstat';
import { swapCacheLookup, swapCacheShadow, addToSwapCache, swapFree, folioFreeSwap, vmSwapFull, swapDevice,
  deleteFromSwapCache, swapCount, folioSwapSlot, swapinNrPages, swapReadaheadHit, totalSwapPages } from './swap';
import { blkSubmit, blkAddPage, BLK_READ } from './blkdev';
import { workingsetRefault } from './workingset';
import { filemapGetUptodate, filemapLookup, fileSize, folioWaitLocked } from './filemap';
import { folioMarkDirty, balanceDirtyPagesRatelimited } from './writeback';
import { folioCreateBuffers } from './buffer';
import { curClock, chargeNs, currentTask, taskEntity } from './sched';
import { mmHasNotifiers, mmuNotifierRangeStart, mmuNotifierRangeEnd, rangeSleeping, MMU_NOTIFY_CLEAR, MMU_NOTIFY_MIGRATE, RANGE_BLOCKABLE, NOTIFIER_SLEEP } from './mmu_notifier';
import { devicePrivateOwner, devicePrivateFree } from './migrate_device';
import { stopNow } from './wait';
import { tf, setTf, T_IO_RETRY } from './workload';
import { recordBug } from './invariants';

// vm_flags
export const VM_SHARED: u32 = 1;
export const VM_LOCKED: u32 = 2;
export const VM_EXEC: u32 = 4;
export const VM_POPULATE: u32 = 8;   // MAP_POPULATE (simulator: fault in at start)
/** VM_WRITE: stores are allowed (every VMA starts PROT_READ|PROT_WRITE; mprotect changes it). */
export const VM_WRITE: u32 = 16;
/** VM_HUGEPAGE: madvise(MADV_HUGEPAGE) — THP-eligible under transparent_hugepage/enabled madvise. */
export const VM_HUGEPAGE: u32 = 32;


// Fault results (vm_fault_t, reduced).
export const FAULT_OK: i32 = 0;
export const FAULT_RETRY: i32 = 1;   // the PTE changed under us: retry the access
export const FAULT_OOM: i32 = 2;     // VM_FAULT_OOM: no memory even after reclaim and OOM kill
export const FAULT_KILLED: i32 = 3;  // the task was OOM-killed while faulting
export const FAULT_SIGBUS: i32 = 4;  // VM_FAULT_SIGBUS: a file page at or past i_size

// mm table (i64 fields)
const M_PGD = 0; const M_ANON = 1; const M_FILE = 2; const M_SWAPENTS = 3; const M_FIRST_VMA = 4;
const M_NVMAS = 5; const M_DEAD = 6; const M_PGTABLES = 7; const M_FLAGS = 8; const M_STRIDE = 9;
// vma table (i64 fields); V_DETACHED: munmap took it out of the mm (vma_mark_detached) and i_mmap
const V_MM = 0; const V_START = 1; const V_END = 2; const V_PGOFF = 3; const V_FILE = 4; const V_FLAGS = 5;
const V_DETACHED = 6; const V_STRIDE = 7;

let mms: usize = 0;
let vmas: usize = 0;
let immap: usize = 0;       // i32 vma indices grouped per file
let immapStart: usize = 0;  // i32 per file + 1
export let nMms: i32 = 0;
export let nVmas: i32 = 0;

@inline function mf(m: i32, f: i32): i64 { return load<i64>(mms + (<usize>(m * M_STRIDE + f) << 3)); }
@inline function setMf(m: i32, f: i32, v: i64): void { store<i64>(mms + (<usize>(m * M_STRIDE + f) << 3), v); }
@inline function addMf(m: i32, f: i32, d: i64): void { setMf(m, f, mf(m, f) + d); }
@inline export function vf(v: i32, f: i32): i64 { return load<i64>(vmas + (<usize>(v * V_STRIDE + f) << 3)); }
@inline function setVf(v: i32, f: i32, val: i64): void { store<i64>(vmas + (<usize>(v * V_STRIDE + f) << 3), val); }

export function mmPgd(m: i32): u32 { return <u32>mf(m, M_PGD); }
export function mmDead(m: i32): bool { return mf(m, M_DEAD) != 0; }

// mm->flags (MMF_*) the OOM killer and reaper use
/** The process was sent SIGKILL by the OOM killer (mark_oom_victim: MMF_OOM_VICTIM). */
export const MMF_OOM_VICTIM: i64 = 1;
/** Hidden from the OOM killer and reaper: its memory is freed, or the reaper gave up. */
export const MMF_OOM_SKIP: i64 = 2;
/** The reaper has zapped it: its mappings can no longer be trusted (check_stable_address_space). */
export const MMF_UNSTABLE: i64 = 4;
/** Queued for the reaper (MMF_OOM_REAP_QUEUED). */
export const MMF_OOM_REAP_QUEUED: i64 = 8;
export function mmTestFlag(m: i32, f: i64): bool { return (mf(m, M_FLAGS) & f) != 0; }
export function mmSetFlag(m: i32, f: i64): void { setMf(m, M_FLAGS, mf(m, M_FLAGS) | f); }
/**
 * fatal_signal_pending for the process of `m`: killed (or already gone). A fault or an
 * allocation of a killed task gives up; the task then exits (exit_mm).
 */
export function mmKilled(m: i32): bool { return (mf(m, M_FLAGS) & MMF_OOM_VICTIM) != 0 || mf(m, M_DEAD) != 0; }
export function mmFirstVma(m: i32): i32 { return <i32>mf(m, M_FIRST_VMA); }
export function mmNrVmas(m: i32): i32 { return <i32>mf(m, M_NVMAS); }
/** get_mm_rss + swap entries + page tables: the inputs of oom_badness. */
export function mmRss(m: i32): i64 { return mf(m, M_ANON) + mf(m, M_FILE); }
export function mmSwapents(m: i32): i64 { return mf(m, M_SWAPENTS); }
export function mmPgtables(m: i32): i64 { return mf(m, M_PGTABLES); }
/** mm_inc_nr_ptes and its kin: a page table was added to (or freed from) `m`. */
export function mmAddPgtables(m: i32, d: i64): void { addMf(m, M_PGTABLES, d); }
export function vmaMm(v: i32): i32 { return <i32>vf(v, V_MM); }
export function vmaStart(v: i32): i64 { return vf(v, V_START); }
export function vmaEnd(v: i32): i64 { return vf(v, V_END); }
export function vmaPgoff(v: i32): i64 { return vf(v, V_PGOFF); }
export function vmaFile(v: i32): i32 { return <i32>vf(v, V_FILE); }
export function vmaFlags(v: i32): u32 { return <u32>vf(v, V_FLAGS); }
export function vmaIsAnon(v: i32): bool { return vf(v, V_FILE) < 0; }
/** munmap has taken it out of the mm's tree (vma_mark_detached): no fault or page-table walk of the mm finds it. */
@inline export function vmaDetached(v: i32): bool { return vf(v, V_DETACHED) != 0; }
/** munmap's free_pgtables has taken it out of the rmap too (unlink_anon_vmas, unlink_file_vma): no rmap walk finds it. */
@inline export function vmaUnlinked(v: i32): bool { return vf(v, V_DETACHED) > 1; }
/** vma_mark_detached (munmap, after vma_start_write). */
export function vmaMarkDetached(v: i32): void { setVf(v, V_DETACHED, 1); }
/** free_pgtables' unlink_anon_vmas / unlink_file_vma (munmap, after the zap). */
export function vmaMarkUnlinked(v: i32): void { setVf(v, V_DETACHED, 2); }
/** vm_flags_reset by mprotect_fixup: VM_WRITE on or off. */
export function vmaSetWrite(v: i32, write: bool): void {
  const fl = <u32>vf(v, V_FLAGS);
  setVf(v, V_FLAGS, write ? fl | VM_WRITE : fl & ~VM_WRITE);
}
/** The VMAs mapping file `f` (i_mmap), as a range of indices into immapAt. */
export function immapFirst(f: i32): i32 { return load<i32>(immapStart + (<usize>f << 2)); }
export function immapEnd(f: i32): i32 { return load<i32>(immapStart + (<usize>(f + 1) << 2)); }
export function immapAt(i: i32): i32 { return load<i32>(immap + (<usize>i << 2)); }

/** Page-table pages this layout may need at most (for the memory estimate). */
export function mmLayout(): bool {
  nMms = <i32>cfg(G_N_PROCS);
  nVmas = <i32>cfg(G_N_VMAS);
  const nFiles = <i32>cfg(G_N_FILES);
  mms = regionAlloc(<u64>(nMms + 1) * M_STRIDE * 8);
  vmas = regionAlloc(<u64>(nVmas + 1) * V_STRIDE * 8);
  immap = regionAlloc(<u64>(nVmas + 1) * 4);
  immapStart = regionAlloc(<u64>(nFiles + 2) * 4);
  if (mms == 0 || vmas == 0 || immap == 0 || immapStart == 0) return false;
  for (let m = 0; m < nMms; m++) {
    const first = <i32>procCfg(m, PROC_FIRST_VMA);
    const n = <i32>procCfg(m, PROC_N_VMAS);
    setMf(m, M_FIRST_VMA, first); setMf(m, M_NVMAS, n);
    // VMAs start on 1 GiB boundaries with a 1 GiB gap, from 1 GiB up (mmap_base is not modelled).
    let start: i64 = 1 << 18;
    for (let v = first; v < first + n; v++) {
      const size = <i64>vmaCfg(v, VMA_SIZE_PAGES);
      setVf(v, V_MM, m);
      setVf(v, V_START, start);
      setVf(v, V_END, start + size);
      const anon = <i32>vmaCfg(v, VMA_KIND) == VMA_KIND_ANON;
      setVf(v, V_FILE, anon ? -1 : <i64>vmaCfg(v, VMA_FILE));
      setVf(v, V_PGOFF, anon ? 0 : <i64>vmaCfg(v, VMA_PGOFF));
      let fl: u32 = VM_WRITE;
      if (vmaCfg(v, VMA_SHARED) != 0) fl |= VM_SHARED;
      if (vmaCfg(v, VMA_MLOCKED) != 0) fl |= VM_LOCKED;
      if (vmaCfg(v, VMA_EXEC) != 0) fl |= VM_EXEC;
      if (vmaCfg(v, VMA_POPULATE) != 0) fl |= VM_POPULATE;
      if (vmaCfg(v, VMA_HUGEPAGE) != 0) fl |= VM_HUGEPAGE;
      setVf(v, V_FLAGS, fl);
      start = ((start + size + (1 << 18) + (1 << 18) - 1) >> 18) << 18;
    }
  }
  // i_mmap: VMAs of each file, in VMA order.
  let k = 0;
  for (let f = 0; f < nFiles; f++) {
    store<i32>(immapStart + (<usize>f << 2), k);
    for (let v = 0; v < nVmas; v++) if (vf(v, V_FILE) == f) { store<i32>(immap + (<usize>k << 2), v); k++; }
  }
  store<i32>(immapStart + (<usize>nFiles << 2), k);
  return true;
}

/** mm_alloc + pgd_alloc for every process. False if the PGDs could not be allocated. */
export function mmInit(): bool {
  zapDetails = regionAlloc(<u64>(nMms + 1) * <u64>ZAP_BYTES);
  if (zapDetails == 0) return false;
  for (let m = 0; m < nMms; m++) {
    const pgd = tableAlloc();
    if (pgd == 0) return false;
    setMf(m, M_PGD, pgd);
    setMf(m, M_PGTABLES, 1);
  }
  return true;
}

/** linear_page_index: the page's index in the file (or anon_vma) for an address in the vma. */
@inline export function linearPageIndex(v: i32, vpn: i64): u32 { return <u32>(vpn - vf(v, V_START) + vf(v, V_PGOFF)); }

function mapNewAnonPage(m: i32, v: i32, vpn: i64, pte: usize, p: u32, write: bool): void {
  setFlag(p, PG_swapbacked | PG_anon_exclusive);
  setMapping(p, MAPPING_ANON | <u32>v);
  setPageIndex(p, linearPageIndex(v, vpn));
  setMapcount(p, 1);                       // folio_add_new_anon_rmap; the alloc reference is the map's
  countAdd(C_NR_ANON_PAGES, 1);
  addMf(m, M_ANON, 1);
  store<u64>(pte, mkPte(p, _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0)));
  folioAddLruVma(p, (vmaFlags(v) & VM_LOCKED) != 0);
}

/**
 * do_swap_page on a device-private entry: the device's migrate_to_ram (dmirror_devmem_fault,
 * nouveau_dmem_migrate_to_ram) — a system page, an MMU_NOTIFY_MIGRATE range over the page with
 * the device as its owner (its own callback returns at once), the copy back, the device page
 * freed.
 */
function doDevicePrivatePage(m: i32, v: i32, vpn: i64, pte: usize, e: u64): i32 {
  const p = allocUserPage();
  if (mmKilled(m)) { if (p != NO_PAGE) folioPut(p); return FAULT_KILLED; }
  if (p == NO_PAGE) return FAULT_OOM;
  const owner = devicePrivateOwner(entryPfn(e));
  const me = taskEntity(currentTask);
  const notify = mmHasNotifiers(m);
  if (notify && mmuNotifierRangeStart(me, MMU_NOTIFY_MIGRATE, RANGE_BLOCKABLE, m, vpn, vpn + 1, curClock, owner) == NOTIFIER_SLEEP) { folioPut(p); return FAULT_RETRY; }
  if (load<u64>(pte) != e) { if (notify) mmuNotifierRangeEnd(me, curClock); folioPut(p); return FAULT_RETRY; }
  deviceMapBack(m, v, vpn, pte, e, p);
  if (notify) mmuNotifierRangeEnd(me, curClock);
  countEvent(C_MMSIM_DEVICE_PRIVATE_FAULTS);
  return FAULT_OK;
}

/** The copy back of device-private entry `e` into system page `p`, mapped at `vpn` (dirty: its only copy), the device page freed. */
function deviceMapBack(m: i32, v: i32, vpn: i64, pte: usize, e: u64, p: u32): void {
  chargeNs(<i64>cfg(G_COST_ZERO_FILL));
  devicePrivateFree(entryPfn(e));
  addMf(m, M_ANON, -1);                      // (mapNewAnonPage counts it again)
  store<u64>(pte, 0);
  mapNewAnonPage(m, v, vpn, pte, p, true);
  if ((e & _PAGE_RW) == 0 || (vmaFlags(v) & VM_WRITE) == 0) store<u64>(pte, load<u64>(pte) & ~_PAGE_RW);
}

/**
 * The driver's eviction of device-private entry at `pte` back to RAM (inside its own migrate
 * range): a system page — which may sleep in reclaim (stopNow) — and the copy back. The page,
 * or -1.
 */
export function deviceFaultIn(m: i32, v: i32, vpn: i64, pte: usize): i64 {
  const e = load<u64>(pte);
  const p = allocUserPage();
  if (p == NO_PAGE) return -1;
  if (mmKilled(m) || load<u64>(pte) != e) { folioPut(p); return -1; }
  deviceMapBack(m, v, vpn, pte, e, p);
  return <i64>p;
}

/** Allocate a user page (GFP_HIGHUSER_MOVABLE); on return the caller must re-check its PTE. */
@inline function allocUserPage(): u32 { return allocPages(0, gfpHighuserMovableZone()); }

/** do_anonymous_page: read faults map the zero page; write faults get a new zeroed page. */
function doAnonymousPage(m: i32, v: i32, vpn: i64, pte: usize, write: bool): i32 {
  if (!write) { store<u64>(pte, ZERO_PTE); return FAULT_OK; }
  const p = allocUserPage();
  if (mmKilled(m)) { if (p != NO_PAGE) folioPut(p); return FAULT_KILLED; }
  if (p == NO_PAGE) return FAULT_OOM;
  if (load<u64>(pte) != 0) { folioPut(p); return FAULT_RETRY; }
  chargeNs(<i64>cfg(G_COST_ZERO_FILL));
  countEvent(C_MMSIM_ZERO_FILL_FAULTS);
  mapNewAnonPage(m, v, vpn, pte, p, true);
  return FAULT_OK;
}

const raPages: usize = memory.data(1024 * 4);

/**
 * swapin_readahead → swap_cluster_readahead: allocate and add to the swap cache, in slot order,
 * the in-use slots of the aligned window around `slot` that are not cached yet, the faulting
 * one included (the others marked PG_readahead); drain this CPU's LRU batch when the window is
 * wider than one page ("push any new pages onto the LRU now"); read them all as one request.
 * The faulting slot's page is allocated first, before anything else is done, since its
 * allocation may sleep (the fault is then retried from the start); the others are allocated
 * without direct reclaim and skipped if none is free. Returns the faulting slot's page, or
 * NO_PAGE if its allocation failed or sleeps (stopNow), or the process died meanwhile.
 */
function swapinReadahead(m: i32, v: i32, slot: u32): u32 {
  const tp = allocUserPage();
  if (tp == NO_PAGE) return NO_PAGE;
  if (mmKilled(m)) { folioPut(tp); return NO_PAGE; }
  const window = swapinNrPages(slot, <u32>cfg(G_PAGE_CLUSTER));
  const mask = window - 1;
  const start = slot & ~mask;
  let end = slot | mask;
  if (end >= totalSwapPages) end = totalSwapPages - 1;
  let n: u32 = 0;
  let target: u32 = NO_PAGE;
  for (let off = start; off <= end; off++) {
    const isTarget = off == slot;
    if (!isTarget && (swapCount(off) == 0 || swapCacheLookup(off) != NO_PAGE)) continue;
    const p = isTarget ? tp : allocPagesNowait(0, gfpHighuserMovableZone());
    if (p == NO_PAGE) continue;           // __read_swap_cache_async failed: the next slot
    setFlag(p, PG_swapbacked | PG_locked | PG_readio | (isTarget ? 0 : PG_readahead));
    const shadow = swapCacheShadow(off);
    addToSwapCache(p, off);
    // the new folio goes on the LRU before the read (workingset decides which list)
    if (shadow != 0) workingsetRefault(p, shadow);
    if (isTarget) folioAddLruVma(p, (vmaFlags(v) & VM_LOCKED) != 0);
    else folioAddLru(p);
    folioPut(p);                          // the allocation reference: the swap cache holds it now
    store<u32>(raPages + (<usize>n << 2), p);
    n++;
    if (isTarget) target = p;
  }
  if (mask != 0) lruAddDrain();
  if (n > 0) {
    const done = blkSubmit(swapDevice, BLK_READ, n, curClock);
    for (let i: u32 = 0; i < n; i++) blkAddPage(swapDevice, BLK_READ, load<u32>(raPages + (<usize>i << 2)), done);
  }
  countAdd(C_PSWPIN, <i64>n);
  countAdd(C_SWAP_RA, <i64>(target != NO_PAGE ? n - 1 : n));
  return target;
}

/** do_swap_page: bring the page back from the swap cache or the swap device. */
function doSwapPage(m: i32, v: i32, vpn: i64, pte: usize, entry: u64, write: bool): i32 {
  const slot = entryPfn(entry);
  let p = swapCacheLookup(slot);
  if (p == NO_PAGE) {
    p = swapinReadahead(m, v, slot);
    if (mmKilled(m)) return FAULT_KILLED;
    if (p == NO_PAGE) return FAULT_OOM;
    countEvent(C_PGMAJFAULT);
    // folio_lock_or_retry: the read is in flight; the fault sleeps until it completes and is
    // retried (VM_FAULT_RETRY), finding the page in the swap cache
    return faultWaitIo(p);
  } else if (testClearFlag(p, PG_readahead)) {
    swapReadaheadHit();
    countEvent(C_SWAP_RA_HIT);
  }
  // folio_lock_or_retry: under read, or kept locked by a reclaimer asleep in a notifier callback
  if (testFlag(p, PG_readio) || testFlag(p, PG_locked)) return faultWaitIo(p);
  // map it: folio_add_anon_rmap sets its anon_vma and index, the PTE holds a reference
  setMapping(p, MAPPING_ANON | <u32>v);
  setPageIndex(p, linearPageIndex(v, vpn));
  setRefcount(p, refcount(p) + 1);
  const mc = mapcount(p);
  setMapcount(p, mc + 1);
  if (mc == 0) countAdd(C_NR_ANON_PAGES, 1);
  addMf(m, M_ANON, 1); addMf(m, M_SWAPENTS, -1);
  setFlag(p, PG_anon_exclusive);
  // the exclusive page is mapped writable even on a read fault (v6.11), where the VMA allows it
  const rw = (vmaFlags(v) & VM_WRITE) != 0 ? _PAGE_RW : 0;
  store<u64>(pte, mkPte(p, _PAGE_PRESENT | rw | _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0)));
  swapFree(slot);
  if (shouldTryToFreeSwap(p, v, write)) folioFreeSwap(p);
  return FAULT_OK;
}

/**
 * should_try_to_free_swap: drop the swap copy when swap runs short or the page is mlocked, or
 * on a write by the only user: no reference but the swap cache's and this mapping's (a folio
 * still in an LRU batch has one more, so it keeps its slot).
 */
function shouldTryToFreeSwap(p: u32, v: i32, write: bool): bool {
  if (!testFlag(p, PG_swapcache)) return false;
  if (vmSwapFull() || (vmaFlags(v) & VM_LOCKED) != 0 || testFlag(p, PG_mlocked)) return true;
  return write && refcount(p) == 2;
}

/**
 * __folio_lock_or_retry: a fault that finds its page locked for read I/O (its own read, or
 * another task's) releases its fault lock (release_fault_lock, in the caller), sleeps until
 * the folio is unlocked and returns VM_FAULT_RETRY: the task unwinds (stopNow) and faults
 * again when it wakes, with the page uptodate.
 */
function faultWaitIo(p: u32): i32 {
  folioWaitLocked(p);
  return FAULT_RETRY;
}

/** Map an uptodate page-cache page at `pte` (finish_fault / set_pte_range for file pages). */
function mapFilePage(m: i32, v: i32, pte: usize, p: u32, write: bool): void {
  setRefcount(p, refcount(p) + 1);
  const mc = mapcount(p);
  setMapcount(p, mc + 1);
  if (mc == 0) countAdd(C_NR_MAPPED, 1);
  addMf(m, M_FILE, 1);
  let bits = _PAGE_PRESENT | _PAGE_ACCESSED;
  // Shared mappings are mapped read-only until written (dirty tracking via page_mkwrite).
  // do_shared_fault's do_page_mkwrite → ext4_page_mkwrite → block_page_mkwrite: the page gets
  // buffers (__block_write_begin) before it is dirtied
  if (write) { bits |= _PAGE_RW | _PAGE_DIRTY; folioCreateBuffers(p); folioMarkDirty(p); }
  store<u64>(pte, mkPte(p, bits));
  // fault_dirty_shared_page: a write fault on a shared mapping is throttled like write()
  if (write) balanceDirtyPagesRatelimited(vmaFile(v));
  if ((vmaFlags(v) & VM_LOCKED) != 0) mlockFolio(p);
}

/** filemap_fault's lookup: the uptodate page for `index`, reading it (and readahead) if needed. */
function faultInFilePage(m: i32, v: i32, index: u32): u32 {
  const f = vmaFile(v);
  // a major fault only when the page cache had no page at all; waiting on another task's read
  // of a cached page is a minor fault
  const miss = filemapLookup(f, index) == NO_PAGE;
  // the retry after the fault slept on this page's read is no new page-cache lookup
  const retried = tf(currentTask, T_IO_RETRY) != 0;
  const p = filemapGetUptodate(f, index, true, !retried);
  if (p != NO_PAGE) {
    if (testFlag(p, PG_readio) || testFlag(p, PG_locked)) {
      // filemap_fault's lock_folio_maybe_drop_mmap: the read is in flight (do_sync_mmap_readahead,
      // or another task's), or another keeps the folio locked (a reclaimer or the flusher
      // asleep in a notifier callback): sleep until it is unlocked and retry the fault
      if (miss) countEvent(C_PGMAJFAULT);
      faultWaitIo(p);
      return NO_PAGE;
    }
    // a page of a hole came uptodate at once: still a page-cache miss, VM_FAULT_MAJOR
    if (miss) countEvent(C_PGMAJFAULT);
    setTf(currentTask, T_IO_RETRY, 0);
  } else if (miss && !stopNow) countEvent(C_PGMAJFAULT);
  return p;
}

/** do_cow_fault: a write to a private file mapping gets a private anonymous copy. */
function doCowFault(m: i32, v: i32, vpn: i64, pte: usize): i32 {
  const fp = faultInFilePage(m, v, linearPageIndex(v, vpn));
  if (mmKilled(m)) return FAULT_KILLED;
  if (fp == NO_PAGE) return FAULT_OOM;
  const p = allocUserPage();
  if (mmKilled(m)) { if (p != NO_PAGE) folioPut(p); return FAULT_KILLED; }
  if (p == NO_PAGE) return FAULT_OOM;
  if (load<u64>(pte) != 0) { folioPut(p); return FAULT_RETRY; }
  mapNewAnonPage(m, v, vpn, pte, p, true);
  return FAULT_OK;
}

/** do_wp_page: write to a present read-only PTE. */
function doWpPage(m: i32, v: i32, vpn: i64, pte: usize, e: u64): i32 {
  if ((e & _PAGE_SPECIAL) != 0) {
    // wp_page_copy from the zero page
    const p = allocUserPage();
    if (mmKilled(m)) { if (p != NO_PAGE) folioPut(p); return FAULT_KILLED; }
    if (p == NO_PAGE) return FAULT_OOM;
    if (!wpCopyRangeStart(m, vpn)) { folioPut(p); return FAULT_RETRY; }
    if (load<u64>(pte) != e) { wpCopyRangeEnd(m); folioPut(p); return FAULT_RETRY; }
    chargeNs(<i64>cfg(G_COST_ZERO_FILL));
    countEvent(C_MMSIM_ZERO_FILL_FAULTS);
    mapNewAnonPage(m, v, vpn, pte, p, true);
    wpCopyRangeEnd(m);
    return FAULT_OK;
  }
  const old = entryPfn(e);
  const fl = flags(old);
  if ((fl & PG_swapbacked) != 0) {
    // wp_can_reuse_anon_folio: an exclusive anon page is reused in place
    if ((fl & PG_swapcache) != 0) folioFreeSwap(old);
    store<u64>(pte, e | _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED);
    countEvent(C_PGREUSE);
    return FAULT_OK;
  }
  if ((vmaFlags(v) & VM_SHARED) != 0) {
    // wp_page_shared: page_mkwrite (block_page_mkwrite: buffers for a page that has none)
    // then dirty the folio
    folioCreateBuffers(old);
    folioMarkDirty(old);
    store<u64>(pte, e | _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED);
    balanceDirtyPagesRatelimited(vmaFile(v));
    return FAULT_OK;
  }
  // private file page: copy on write
  const p = allocUserPage();
  if (mmKilled(m)) { if (p != NO_PAGE) folioPut(p); return FAULT_KILLED; }
  if (p == NO_PAGE) return FAULT_OOM;
  if (!wpCopyRangeStart(m, vpn)) { folioPut(p); return FAULT_RETRY; }
  if (load<u64>(pte) != e) { wpCopyRangeEnd(m); folioPut(p); return FAULT_RETRY; }
  zapFilePte(m, old);
  store<u64>(pte, 0);
  mapNewAnonPage(m, v, vpn, pte, p, true);
  wpCopyRangeEnd(m);
  return FAULT_OK;
}

/**
 * wp_page_copy's MMU_NOTIFY_CLEAR range over the faulting page, started before the PTE is
 * checked again. False if a blockable callback sleeps on its lock (stopNow): the fault drops
 * its new page, keeps its fault lock (the kernel sleeps holding it) and is retried, and the
 * retry's start goes on where this one stopped.
 */
@inline function wpCopyRangeStart(m: i32, vpn: i64): bool {
  if (!mmHasNotifiers(m)) return true;        // mmu_notifier_invalidate_range_start's own test, inline
  return mmuNotifierRangeStart(taskEntity(currentTask), MMU_NOTIFY_CLEAR, RANGE_BLOCKABLE, m, vpn, vpn + 1, curClock) != NOTIFIER_SLEEP;
}
@inline function wpCopyRangeEnd(m: i32): void { if (mmHasNotifiers(m)) mmuNotifierRangeEnd(taskEntity(currentTask), curClock); }

/** Drop one file mapping of page `p` (zap_present_pte for a file page). */
function zapFilePte(m: i32, p: u32): void {
  const mc = mapcount(p) - 1;
  setMapcount(p, mc);
  if (mc == 0) countAdd(C_NR_MAPPED, -1);
  addMf(m, M_FILE, -1);
  folioPut(p);
}

/** fault_around_bytes (64 KiB, the kernel's default) in pages. */
const FAULT_AROUND_PAGES: i64 = 16;

/**
 * do_fault_around → filemap_map_pages: map the pages of the aligned fault-around window
 * (clamped to the VMA, its page table and the file) that are in the page cache, uptodate, not
 * locked and not readahead markers, where the PTE is empty. x86 maps them young. True if the
 * faulting page was among them (VM_FAULT_NOPAGE: no filemap_fault).
 */
function doFaultAround(m: i32, v: i32, vpn: i64, pte: usize): bool {
  const pteOff = vpn & 511;
  const vmaOff = vpn - vmaStart(v);
  const from = max<i64>(pteOff & ~(FAULT_AROUND_PAGES - 1), pteOff - min<i64>(pteOff, vmaOff));
  const to = min<i64>(min<i64>(from + FAULT_AROUND_PAGES, 512), pteOff + vmaEnd(v) - vpn) - 1;
  const f = vmaFile(v);
  const size = fileSize(f);           // filemap_map_pages stops at i_size
  let hit = false;
  for (let i = from; i <= to; i++) {
    const a = <usize>(<i64>pte + ((i - pteOff) << 3));
    if (load<u64>(a) != 0) continue;
    const idx = linearPageIndex(v, vpn + i - pteOff);
    if (idx >= size) break;
    const p = filemapLookup(f, idx);
    if (p == NO_PAGE) continue;
    const fl = flags(p);
    if ((fl & PG_uptodate) == 0 || (fl & (PG_locked | PG_readio | PG_readahead)) != 0) continue;
    mapFilePage(m, v, a, p, false);
    if (i == pteOff) hit = true;
  }
  return hit;
}

/**
 * handle_mm_fault for address `vpn` of vma `v`. Costs are charged to the current task's
 * clock; IO waits move it forward.
 */
export function handleMmFault(v: i32, vpn: i64, write: bool, pteHint: usize = 0): i32 {
  const m = vmaMm(v);
  countEvent(C_PGFAULT);
  chargeNs(<i64>cfg(G_COST_MINOR_FAULT));
  // create_huge_pmd / the PMD-level faults where the VMA may have huge pages
  const huge = thpEligible(v, vpn);
  if (huge) {
    const r = hugePmdFault(m, v, vpn, write);
    if (r != FAULT_FALLBACK) return r;
  }
  // a PTE address the caller's walk has just found (the walk-ahead's) saves walking again;
  // where huge mappings may be, the PMD level above may have changed what it pointed at
  const pte = pteHint != 0 && !huge ? pteHint : pteAlloc(mmPgd(m), vpn, m);
  if (mmKilled(m)) return FAULT_KILLED;
  if (pte == 0) return FAULT_OOM;
  const e = load<u64>(pte);
  if (e == 0) {
    if (vmaIsAnon(v)) return doAnonymousPage(m, v, vpn, pte, write);
    // filemap_fault: a page at or past the end of the file (a truncate cut it off) is SIGBUS
    if (linearPageIndex(v, vpn) >= fileSize(vmaFile(v))) return FAULT_SIGBUS;
    if (write && (vmaFlags(v) & VM_SHARED) == 0) return doCowFault(m, v, vpn, pte);
    // do_read_fault: map the cached pages around the address first
    if (!write && doFaultAround(m, v, vpn, pte)) return FAULT_OK;
    const p = faultInFilePage(m, v, linearPageIndex(v, vpn));
    if (mmKilled(m)) return FAULT_KILLED;
    if (p == NO_PAGE) return FAULT_OOM;
    if (load<u64>(pte) != 0) return FAULT_RETRY;
    mapFilePage(m, v, pte, p, write);
    return FAULT_OK;
  }
  if (isSwapPte(e)) return doSwapPage(m, v, vpn, pte, e, write);
  if (isDevicePrivatePte(e)) return doDevicePrivatePage(m, v, vpn, pte, e);
  // do_swap_page → migration_entry_wait: the folio is locked by its migrator until the entry
  // is replaced; sleep until it is unlocked, then the fault is retried
  if (isMigrationPte(e)) { folioWaitLocked(entryPfn(e)); return FAULT_RETRY; }
  if ((e & _PAGE_PRESENT) != 0) {
    if (write && (e & _PAGE_RW) == 0) return doWpPage(m, v, vpn, pte, e);
    // spurious fault (another path already fixed the PTE): just mark it young
    store<u64>(pte, e | _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0));
    return FAULT_OK;
  }
  recordBug(DK_BAD_PTE, NO_PAGE, FN_HANDLE_MM_FAULT, <f64>e);
  return FAULT_OOM;
}


/**
 * unmap_page_range / zap_pte_range over all of VMA `v` of `m` (unmap_vmas for exit, the OOM
 * reaper, munmap): every PTE cleared, swap entries dropped (free_swap_and_cache), dirty file
 * pages marked dirty, each mapping's reference put. Returns the pages this freed.
 */
export function zapVma(m: i32, v: i32): i64 { return unmapPageRange(m, v, vf(v, V_START), vf(v, V_END), true); }

/**
 * unmap_page_range → zap_pte_range over [from, end) of VMA `v` of `m`. `evenCows` (struct
 * zap_details' even_cows; no details at all zaps everything too): false leaves the private
 * anonymous copies of a file mapping, present or swapped out, as hole punching does
 * (should_zap_folio, should_zap_cows). Returns the pages this freed.
 */
export function unmapPageRange(m: i32, v: i32, from: i64, end: i64, evenCows: bool): i64 {
  let freed: i64 = 0;
  const pgd = mmPgd(m);
  let vpn = from;
  while (vpn < end) {
    // skip whole missing tables quickly
    const pud = load<u64>(entryAddr(pgd, <u32>((vpn >> 27) & 511)));
    if (pud == 0) { vpn = ((vpn >> 27) + 1) << 27; continue; }
    const pmd = load<u64>(entryAddr(entryPfn(pud), <u32>((vpn >> 18) & 511)));
    if (pmd == 0) { vpn = ((vpn >> 18) + 1) << 18; continue; }
    const pmdAddr = entryAddr(entryPfn(pmd), <u32>((vpn >> 9) & 511));
    const pt = load<u64>(pmdAddr);
    if (pt == 0) { vpn = ((vpn >> 9) + 1) << 9; continue; }
    if (isHugePmd(pt)) {
      // zap_huge_pmd: the THP-eligible ranges lie whole inside their VMA, and every zap of an
      // anonymous VMA here covers it all (exit, the OOM reaper, munmap of the whole VMA)
      if ((vpn & 511) != 0 || end - vpn < 512) recordBug(DK_BAD_PTE, entryPfn(pt), FN_ZAP_HUGE_PMD, <f64>vpn);
      else freed += zapHugePmd(m, pmdAddr, pt);
      vpn = ((vpn >> 9) + 1) << 9;
      continue;
    }
    const limit = min<i64>(end, ((vpn >> 9) + 1) << 9);
    for (; vpn < limit; vpn++) {
      const a = entryAddr(entryPfn(pt), <u32>(vpn & 511));
      const e = load<u64>(a);
      if (e == 0) continue;
      if (isMigrationPte(e)) {
        // zap_pte_range of a migration entry: it holds no reference and no rmap (the migrator
        // took them); the RSS it stood for goes. A private COW is left as the others are.
        const mp = entryPfn(e);
        if (!evenCows && testFlag(mp, PG_swapbacked)) continue;
        store<u64>(a, 0);
        addMf(m, testFlag(mp, PG_swapbacked) ? M_ANON : M_FILE, -1);
        continue;
      }
      if (isDevicePrivatePte(e)) {
        // zap_nonpresent_ptes: a device-private page, anonymous: its device page goes
        if (!evenCows) continue;
        store<u64>(a, 0);
        devicePrivateFree(entryPfn(e));
        addMf(m, M_ANON, -1);
        continue;
      }
      if (!evenCows && (isSwapPte(e) || ((e & _PAGE_SPECIAL) == 0 && testFlag(entryPfn(e), PG_swapbacked)))) continue;
      store<u64>(a, 0);
      if (isSwapPte(e)) { freeSwapAndCache(entryPfn(e)); addMf(m, M_SWAPENTS, -1); continue; }
      if ((e & _PAGE_SPECIAL) != 0) continue;
      const p = entryPfn(e);
      if ((e & _PAGE_DIRTY) != 0 && !testFlag(p, PG_swapbacked)) folioMarkDirty(p);
      const mc = mapcount(p) - 1;
      setMapcount(p, mc);
      if (testFlag(p, PG_swapbacked)) {
        if (mc == 0) countAdd(C_NR_ANON_PAGES, -1);
        addMf(m, M_ANON, -1);
        if (mc == 0 && testFlag(p, PG_swapcache) && !testFlag(p, PG_writeback)) {
          const slot = folioSwapSlot(p);
          if (swapCount(slot) == 0) { deleteFromSwapCache(p, 0); folioPut(p); }
        }
      } else {
        if (mc == 0) countAdd(C_NR_MAPPED, -1);
        addMf(m, M_FILE, -1);
      }
      if (refcount(p) == 1) freed++;
      folioPut(p);
    }
  }
  return freed;
}

/** exit_mmap's unmap_vmas: zap every VMA of `m` (under the mmap_lock for read). Returns the pages freed. */
export function unmapVmas(m: i32): i64 {
  let freed: i64 = 0;
  const first = mmFirstVma(m); const n = mmNrVmas(m);
  for (let v = first; v < first + n; v++) if (!vmaDetached(v)) freed += zapVma(m, v);
  return freed;
}

/**
 * struct zap_details of unmap_mapping_pages / unmap_mapping_folio, with the caller's place in
 * i_mmap (unmap_mapping_range_tree), so that a walk whose notifier callback sleeps goes on at
 * the VMA where it stopped. One per task (the syscall that walks keeps it across its sleeps).
 */
@unmanaged export class ZapDetails {
  /** zap the private anonymous copies too (truncation), not only the file pages (hole punching) */
  evenCows: bool;
  /** the file's page index range [first, last], inclusive */
  first: u32;
  last: u32;
  /** the place in the file's i_mmap the walk goes on from */
  pos: i32;
}
let zapDetails: usize = 0;
const ZAP_BYTES: usize = (offsetof<ZapDetails>() + 7) & ~(<usize>7);
@inline export function zapDetailsOf(t: i32): ZapDetails { return changetype<ZapDetails>(zapDetails + <usize>t * ZAP_BYTES); }

/**
 * unmap_mapping_pages(mapping, first, last - first + 1, evenCows) → unmap_mapping_range_tree,
 * as entity `e` (task `t`): every VMA of file `f`'s i_mmap that maps part of [first, last]
 * gets zap_page_range_single over that part — an MMU_NOTIFY_CLEAR range on its mm around the
 * zap, so that each process that maps the file has its secondary MMUs invalidated. False if
 * a blockable callback sleeps (stopNow): call again with the same details when `e` runs; the
 * walk resumes at that VMA. Munmapped VMAs have left i_mmap; exited mms have no page tables.
 */
export function unmapMappingPages(zd: ZapDetails, f: i32, e: i32): bool {
  const first = immapFirst(f); const end = immapEnd(f);
  for (let i = first + zd.pos; i < end; i++) {
    const v = immapAt(i);
    const m = vmaMm(v);
    if (vmaUnlinked(v) || mmDead(m)) continue;
    const vba = vf(v, V_PGOFF);
    const vea = vba + vf(v, V_END) - vf(v, V_START) - 1;
    const zba = max<i64>(<i64>zd.first, vba);
    const zea = min<i64>(<i64>zd.last, vea);
    if (zba > zea) continue;
    const start = vf(v, V_START) + (zba - vba);
    const stop = vf(v, V_START) + (zea - vba + 1);
    // zap_page_range_single: mmu_notifier_range_init(MMU_NOTIFY_CLEAR, 0, mm, start, end)
    const notify = mmHasNotifiers(m) || rangeSleeping(e);
    if (notify) {
      if (mmuNotifierRangeStart(e, MMU_NOTIFY_CLEAR, RANGE_BLOCKABLE, m, start, stop, curClock) == NOTIFIER_SLEEP) {
        zd.pos = i - first;
        return false;
      }
    }
    chargeNs(<i64>cfg(G_COST_RMAP_WALK));
    unmapPageRange(m, v, start, stop, zd.evenCows);
    if (notify) mmuNotifierRangeEnd(e, curClock);
  }
  zd.pos = 0;
  return true;
}

/** exit_mmap's free_pgtables (under the mmap_lock for write): the mm is gone. */
export function exitMmapFreePgtables(m: i32): void {
  freePgtables(mmPgd(m));
  setMf(m, M_DEAD, 1);
}

/** free_swap_and_cache: drop a swap PTE's reference; free a cached page nobody else maps. */
function freeSwapAndCache(slot: u32): void {
  swapFree(slot);
  const p = swapCacheLookup(slot);
  if (p == NO_PAGE) return;
  if (swapCount(slot) == 0 && mapcount(p) == 0 && !testFlag(p, PG_writeback) && !testFlag(p, PG_locked)) {
    deleteFromSwapCache(p, 0);
    folioPut(p);
  }
}


/** add_mm_counter for the rss counters rmap changes: anon or file pages, and swap entries. */
export function mmAddRss(m: i32, anon: bool, d: i64, swapents: i64): void {
  addMf(m, anon ? M_ANON : M_FILE, d);
  addMf(m, M_SWAPENTS, swapents);
}
