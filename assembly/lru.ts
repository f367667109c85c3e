// The node's lruvec (mm/swap.c, include/linux/mm_inline.h): four evictable lists and the
// unevictable one, intrusive through the frame table's prev/next, with node and per-zone
// sizes kept as the kernel keeps NR_LRU_BASE + lru and NR_ZONE_LRU_BASE + lru.
import { NR_LRU_SENTINELS as LAYOUT_LRU_SENTINELS, LRU_SENTINELS_PER_RECLAIMER } from './generated/abi';
import { flags, setFlags, testFlag, setFlag, clearFlag, listAdd, listAddTail, listDel, listInit,
  PG_locked, PG_dirty, PG_lru, PG_active, PG_referenced, PG_unevictable, PG_mlocked, PG_swapbacked, PG_workingset, PG_pin_unevictable, PG_idle, folioNrPages, folioTestLarge } from './page';
import { pageZone, zoneLruAdd } from './alloc';
import { countAdd, countEvent, count } from './vmstat';
import { C_NR_INACTIVE_ANON, C_PGACTIVATE, C_UNEVICTABLE_PGS_CULLED, C_UNEVICTABLE_PGS_RESCUED,
  C_UNEVICTABLE_PGS_MLOCKED, C_NR_MLOCK, C_NR_ACTIVE_ANON, C_NR_INACTIVE_FILE, C_NR_ACTIVE_FILE } from './generated/abi';
import { workingsetActivation } from './workingset';
import { regionAlloc } from './mem';
import { refcount, setRefcount } from './page';
import { folioPut } from './alloc';
import { currentTask } from './sched';
import { offLruTracking, pinLruReadded } from './pin_policy';

export const LRU_INACTIVE_ANON: i32 = 0;
export const LRU_ACTIVE_ANON: i32 = 1;
export const LRU_INACTIVE_FILE: i32 = 2;
export const LRU_ACTIVE_FILE: i32 = 3;
export const LRU_UNEVICTABLE: i32 = 4;
export const NR_LRU_LISTS: i32 = 5;
/**
 * Scratch lists a reclaim step sorts folios onto and empties before it ends (l_active,
 * l_inactive, the kept list, skipped); each reclaimer's l_hold is its own (scan_control.ts).
 */
export const L_ACTIVE: i32 = 5;
export const L_INACTIVE: i32 = 6;
export const L_RET: i32 = 7;
export const L_SKIPPED: i32 = 8;
export const NR_LRU_SENTINELS: u32 = <u32>LAYOUT_LRU_SENTINELS;

let lruBase: u32 = 0;
/** lruvec->anon_cost / file_cost (lru_note_cost). */
export let anonCost: u64 = 0;
export let fileCost: u64 = 0;

/** The LRU and scratch lists, then an isolation and a kept-folio list per reclaimer. */
export function lruSentinels(reclaimers: i32): u32 { return NR_LRU_SENTINELS + <u32>LRU_SENTINELS_PER_RECLAIMER * <u32>reclaimers; }

export function lruInit(sentinelBase: u32, reclaimers: i32): void {
  lruBase = sentinelBase;
  for (let l = 0; l < <i32>lruSentinels(reclaimers); l++) listInit(lruHead(l));
  anonCost = 0; fileCost = 0;
}

@inline export function lruHead(lru: i32): u32 { return lruBase + <u32>lru; }
@inline export function lruSize(lru: i32): u64 { return count(C_NR_INACTIVE_ANON + lru); }

/** folio_lru_list: which list a folio belongs on, from its flags. */
@inline export function folioLruList(p: u32): i32 {
  const f = flags(p);
  if ((f & PG_unevictable) != 0) return LRU_UNEVICTABLE;
  let lru = (f & PG_swapbacked) != 0 ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE;
  if ((f & PG_active) != 0) lru += 1;
  return lru;
}


/** update_lru_size by folio `p`'s pages (`d` folios: +1 or -1). */
@inline function updateLruSize(p: u32, lru: i32, d: i64): void {
  const n = d * <i64>folioNrPages(p);
  countAdd(C_NR_INACTIVE_ANON + lru, n);
  zoneLruAdd(pageZone(p), lru, n);
}

/** lruvec_add_folio: to the head of its list. */
export function lruvecAddFolio(p: u32): void {
  if (offLruTracking) pinLruReadded(p);
  const lru = folioLruList(p);
  updateLruSize(p, lru, 1);
  listAdd(p, lruHead(lru));
}

/** lruvec_add_folio_tail. */
export function lruvecAddFolioTail(p: u32): void {
  if (offLruTracking) pinLruReadded(p);
  const lru = folioLruList(p);
  updateLruSize(p, lru, 1);
  listAddTail(p, lruHead(lru));
}

/** lruvec_del_folio: unlink and clear PG_lru (the caller owns the folio afterwards). */
export function lruvecDelFolio(p: u32): void {
  const lru = folioLruList(p);
  updateLruSize(p, lru, -1);
  listDel(p);
  clearFlag(p, PG_lru);
}

/** folio_evictable: not mlocked, nor kept unevictable for a pin (userptr.policy unevictable); unevictable mappings such as ramfs are not modelled. */
@inline export function folioEvictable(p: u32): bool { return (flags(p) & (PG_mlocked | PG_pin_unevictable)) == 0; }

/** lru_add: put a folio that is not on any list onto the right one. */
export function lruAdd(p: u32): void {
  if (folioEvictable(p)) {
    if (testFlag(p, PG_unevictable)) { clearFlag(p, PG_unevictable); countEvent(C_UNEVICTABLE_PGS_RESCUED); }
  } else {
    const was = testFlag(p, PG_unevictable);
    setFlags(p, (flags(p) & ~PG_active) | PG_unevictable);
    if (!was) countEvent(C_UNEVICTABLE_PGS_CULLED);
  }
  setFlag(p, PG_lru);
  lruvecAddFolio(p);
}

// --- per-CPU folio batches (cpu_fbatches.lru_add) ---------------------------------------------
// Each task runs on a CPU of its own; kernel threads share one more. A new folio waits in its
// CPU's batch, holding a reference and without PG_lru, invisible to reclaim, until the batch
// fills (FOLIO_BATCH_SIZE) or that CPU runs lru_add_drain().
export const FOLIO_BATCH_SIZE: i32 = 31;     // PAGEVEC_SIZE was 15 before ~v6.10
let batches: usize = 0;                      // per CPU: count, then FOLIO_BATCH_SIZE pfns (u32)
let nCpus: i32 = 0;

export function lruBatchesInit(cpus: i32): bool {
  nCpus = cpus;
  batches = regionAlloc(<u64>(cpus + 1) * <u64>(FOLIO_BATCH_SIZE + 1) * 4);
  return batches != 0;
}

/** CPUs with an lru_add batch (tasks' and the kernel threads' one), their lengths and folios. */
export function lruBatchCpus(): i32 { return nCpus + 1; }
export function lruBatchLen(cpu: i32): i32 { return load<i32>(batchAddr(cpu)); }
export function lruBatchAt(cpu: i32, i: i32): u32 { return load<u32>(batchAddr(cpu) + 4 + (<usize>i << 2)); }

@inline function batchAddr(cpu: i32): usize { return batches + <usize>(cpu * (FOLIO_BATCH_SIZE + 1)) * 4; }
@inline function thisCpu(): i32 { return currentTask >= 0 ? currentTask : nCpus; }

/** folio_batch_move_lru(lru_add): put every folio of the CPU's batch on its list, drop the batch's references. */
export function lruAddDrainCpu(cpu: i32): void {
  const b = batchAddr(cpu);
  const n = load<i32>(b);
  store<i32>(b, 0);
  for (let i = 0; i < n; i++) {
    const p = load<u32>(b + 4 + (<usize>i << 2));
    lruAdd(p);
    folioPut(p);      // folios_put: may free a folio whose other holders went away meanwhile
  }
}

/**
 * lru_add_drain_all: every CPU's batch (the kernel queues lru_add_drain_per_cpu on each CPU and
 * waits for them; here they drain at once).
 */
export function lruAddDrainAll(): void { for (let cpu = 0; cpu <= nCpus; cpu++) lruAddDrainCpu(cpu); }

/** lru_add_drain: the running CPU's batch. */
export function lruAddDrain(): void { lruAddDrainCpu(thisCpu()); }

/** folio_add_lru: into this CPU's batch; a full batch goes to the lists. */
export function folioAddLru(p: u32): void {
  setRefcount(p, refcount(p) + 1);
  const cpu = thisCpu();
  const b = batchAddr(cpu);
  const n = load<i32>(b);
  store<u32>(b + 4 + (<usize>n << 2), p);
  store<i32>(b, n + 1);
  // folio_batch_add_and_move: a large folio drains the batch at once
  if (n + 1 >= FOLIO_BATCH_SIZE || folioTestLarge(p)) lruAddDrainCpu(cpu);
}

/** Is `p` waiting in the running CPU's batch? (__lru_cache_activate_folio's search) */
export function inLocalBatch(p: u32): bool {
  const b = batchAddr(thisCpu());
  const n = load<i32>(b);
  for (let i = 0; i < n; i++) if (load<u32>(b + 4 + (<usize>i << 2)) == p) return true;
  return false;
}

/** folio_add_lru_vma: a page faulted into a VM_LOCKED vma goes straight to unevictable (mlock_new_folio). */
export function folioAddLruVma(p: u32, vmLocked: bool): void {
  if (vmLocked) {
    setFlags(p, (flags(p) & ~PG_active) | PG_mlocked | PG_unevictable | PG_lru);
    countAdd(C_UNEVICTABLE_PGS_MLOCKED, <i64>folioNrPages(p));
    countAdd(C_NR_MLOCK, <i64>folioNrPages(p));
    lruvecAddFolio(p);
    return;
  }
  folioAddLru(p);
}

/** folio_activate / lru_activate: move an inactive evictable LRU folio to its active list. */
export function folioActivate(p: u32): void {
  const f = flags(p);
  if ((f & PG_lru) == 0 || (f & (PG_active | PG_unevictable)) != 0) return;
  lruvecDelFolio(p);
  setFlag(p, PG_active | PG_lru);
  lruvecAddFolio(p);
  countEvent(C_PGACTIVATE);
}

/** folio_mark_accessed: the two-touch rule for software-visible accesses (read/write syscalls). */
export function folioMarkAccessed(p: u32): void {
  const f = flags(p);
  // an access ends a page's idle period (idle page tracking)
  if ((f & PG_idle) != 0) clearFlag(p, PG_idle);
  if ((f & PG_referenced) == 0) { setFlag(p, PG_referenced); return; }
  if ((f & PG_unevictable) != 0) return;
  if ((f & PG_active) == 0) {
    if ((f & PG_lru) != 0) folioActivate(p);
    else if (inLocalBatch(p)) setFlag(p, PG_active);   // activated when the batch drains
    clearFlag(p, PG_referenced);
    workingsetActivation(p);
  }
}

/**
 * folio_rotate_reclaimable → lru_move_tail: writeback finished on a PG_reclaim folio; unless it
 * was redirtied, locked or is unevictable, it goes to the tail of its inactive list (an active
 * one is deactivated on the way, as reclaim had activated it while it was under writeback).
 */
export function folioRotateReclaimable(p: u32): bool {
  const f = flags(p);
  if ((f & (PG_locked | PG_dirty | PG_unevictable)) != 0 || (f & PG_lru) == 0) return false;
  lruvecDelFolio(p);
  clearFlag(p, PG_active);
  setFlag(p, PG_lru);
  lruvecAddFolioTail(p);
  return true;
}

/** lru_note_cost: charge reclaim cost (IO weighted ×32, rotations ×1) to a type, with decay. */
export function lruNoteCost(file: bool, nrIo: u64, nrRotated: u64): void {
  const cost = nrIo * 32 + nrRotated;
  if (file) fileCost += cost; else anonCost += cost;
  const lrusize = count(C_NR_INACTIVE_ANON) + count(C_NR_ACTIVE_ANON) + count(C_NR_INACTIVE_FILE) + count(C_NR_ACTIVE_FILE);
  if (fileCost + anonCost > lrusize / 4) { fileCost /= 2; anonCost /= 2; }
}


/** mlock_vma_folio: a page mapped into a VM_LOCKED vma becomes mlocked and unevictable. */
export function mlockFolio(p: u32): void {
  if (testFlag(p, PG_mlocked)) return;
  setFlag(p, PG_mlocked);
  countAdd(C_NR_MLOCK, <i64>folioNrPages(p));
  countAdd(C_UNEVICTABLE_PGS_MLOCKED, <i64>folioNrPages(p));
  if (testFlag(p, PG_lru)) { lruvecDelFolio(p); lruAdd(p); }
}
