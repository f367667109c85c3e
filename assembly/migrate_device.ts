// Device-private memory and migrate_vma (mm/migrate_device.c, as lib/test_hmm.c's dmirror and
// nouveau use it): a mirror subscriber's device has devicePages of memory the CPU cannot reach
// (MEMORY_DEVICE_PRIVATE). An `op: migrate` call moves the anonymous pages of a range there
// (mode write: migrate_vma_setup with MIGRATE_VMA_SELECT_SYSTEM, migrate_vma_pages,
// migrate_vma_finalize) or back (mode read: the driver's eviction, SELECT_DEVICE_PRIVATE), in
// one MMU_NOTIFY_MIGRATE range whose owner is the device — its own callbacks return at once,
// the other subscribers invalidate. A page in device memory leaves RAM: its PTE becomes a
// device-private entry (pgtable.ts), its frame is freed, the mm's anon RSS still counts it. A
// CPU access (or get_user_pages, or another subscriber's fault) faults it back: do_swap_page →
// the device's migrate_to_ram (mm.ts doDevicePrivatePage).
import { cfg, phaseCfg, subCfg } from './config';
import { G_N_SUBSCRIBERS, G_COST_ZERO_FILL, PH_TARGET, PH_SUBSCRIBER, PH_PROT_WRITE,
  SUB_DEVICE_PAGES, C_MMSIM_MIGRATE_VMA_PAGES, C_MMSIM_MIGRATE_VMA_FAILED, C_MMSIM_MIGRATE_VMA_EVICTED,
  C_MMSIM_NR_DEVICE_PRIVATE, C_NR_ANON_PAGES } from './generated/abi';
import { regionAlloc } from './mem';
import { testFlag, flags, mapcount, setMapcount, refcount, PG_swapbacked, PG_swapcache, PG_lru,
  PG_locked, PG_writeback, PG_dma_pinned, PG_mlocked } from './page';
import { pteOffset, entryPfn, mkPte, isDevicePrivatePte, _PAGE_PRESENT, _PAGE_SPECIAL, _PAGE_RW, _PAGE_DEVICE_PRIVATE } from './pgtable';
import { vmaStart, vmaMm, mmPgd, vmaDetached, deviceFaultIn } from './mm';
import { inLocalBatch, lruAddDrain } from './lru';
import { folioPut } from './alloc';
import { secondaryInvalidate } from './secondary_mmu';
import { mmuNotifierRangeStart, mmuNotifierRangeEnd, MMU_NOTIFY_MIGRATE, RANGE_BLOCKABLE, NOTIFIER_SLEEP } from './mmu_notifier';
import { countEvent, countAdd } from './vmstat';
import { mustYield, yieldAt, stopNow } from './wait';
import { curClock, chargeNs, taskEntity } from './sched';
import { phaseRange, phaseRangeStart } from './workload';

/** Per slot of device memory (i32): the subscription whose memory it is, -1 free. */
let slotOwner: usize = 0;
/** The free slots (a stack) and, per subscription, its slots in use. */
let freeSlots: usize = 0;
let nFree: i32 = 0;
let used: usize = 0;
/** Per task: where its migrate call stands (-1: idle; else the next page), and whether its range has started. */
let cursors: usize = 0;

export function deviceMemoryInit(tasks: i32): bool {
  const nSubs = <i32>cfg(G_N_SUBSCRIBERS);
  let total: i64 = 0;
  for (let s = 0; s < nSubs; s++) total += <i64>subCfg(s, SUB_DEVICE_PAGES);
  slotOwner = regionAlloc(<u64>(total + 1) * 4);
  freeSlots = regionAlloc(<u64>(total + 1) * 4);
  used = regionAlloc(<u64>(nSubs + 1) * 4);
  cursors = regionAlloc(<u64>(tasks + 1) * 16);
  if (slotOwner == 0 || freeSlots == 0 || used == 0 || cursors == 0) return false;
  nFree = <i32>total;
  for (let i = 0; i < nFree; i++) { store<i32>(freeSlots + (<usize>i << 2), nFree - 1 - i); store<i32>(slotOwner + (<usize>i << 2), -1); }
  for (let t = 0; t < tasks; t++) store<i64>(cursors + (<usize>t << 4), -1);
  return true;
}

/** The device a device-private slot belongs to. */
export function devicePrivateOwner(slot: u32): i32 { return load<i32>(slotOwner + (<usize>slot << 2)); }

/** A device page of subscription `s` (the driver's page allocator, dmirror_devmem_alloc_page), or -1 when its memory is full. */
function deviceAlloc(s: i32): i32 {
  const u = load<i32>(used + (<usize>s << 2));
  if (nFree == 0 || <f64>u >= subCfg(s, SUB_DEVICE_PAGES)) return -1;
  nFree--;
  const slot = load<i32>(freeSlots + (<usize>nFree << 2));
  store<i32>(slotOwner + (<usize>slot << 2), s);
  store<i32>(used + (<usize>s << 2), u + 1);
  countAdd(C_MMSIM_NR_DEVICE_PRIVATE, 1);
  return slot;
}

/** The device page goes back to its driver (the page's last reference: dev_pagemap_ops.page_free). */
export function devicePrivateFree(slot: u32): void {
  const s = devicePrivateOwner(slot);
  if (s < 0) return;
  store<i32>(slotOwner + (<usize>slot << 2), -1);
  store<i32>(used + (<usize>s << 2), load<i32>(used + (<usize>s << 2)) - 1);
  store<i32>(freeSlots + (<usize>nFree << 2), <i32>slot);
  nFree++;
  countAdd(C_MMSIM_NR_DEVICE_PRIVATE, -1);
}

/** Is a migrate call of task `t` under way (yielded, or asleep)? */
export function migrateVmaInProgress(t: i32): bool { return load<i64>(cursors + (<usize>t << 4)) >= 0; }

/**
 * Task `t`'s migrate phase `g` from where it stands: the range's MMU_NOTIFY_MIGRATE start (may
 * sleep in another subscriber's callback), each page moved, the range's end. True when done.
 */
export function migrateVmaStep(t: i32, g: i32): bool {
  const v = <i32>phaseCfg(g, PH_TARGET);
  const s = <i32>phaseCfg(g, PH_SUBSCRIBER);
  const toDevice = phaseCfg(g, PH_PROT_WRITE) != 0;
  const ca = cursors + (<usize>t << 4);
  if (vmaDetached(v)) { store<i64>(ca, -1); return true; }
  const start = phaseRangeStart(g);
  const len = phaseRange(g);
  const lo = vmaStart(v) + start; const hi = lo + len;
  const m = vmaMm(v);
  const e = taskEntity(t);
  let i = load<i64>(ca);
  if (i < 0 || load<i64>(ca, 8) == 0) {
    // migrate_vma_collect: mmu_notifier_range_init_owner(MMU_NOTIFY_MIGRATE, the device)
    if (mmuNotifierRangeStart(e, MMU_NOTIFY_MIGRATE, RANGE_BLOCKABLE, m, lo, hi, curClock, s) == NOTIFIER_SLEEP) {
      store<i64>(ca, i < 0 ? 0 : i); store<i64>(ca, 0, 8);
      return false;
    }
    if (i < 0) i = 0;
    store<i64>(ca, 1, 8);
  }
  const pgd = mmPgd(m);
  while (i < len) {
    const vpn = lo + i;
    const pte = pteOffset(pgd, <u64>vpn);
    if (toDevice) migrateOneToDevice(m, s, vpn, pte);
    else if (pte != 0 && isDevicePrivatePte(load<u64>(pte)) && devicePrivateOwner(entryPfn(load<u64>(pte))) == s) {
      // the driver's eviction: a system page for it (may sleep in reclaim: the call goes on here)
      const r = deviceFaultIn(m, v, vpn, pte);
      if (r < 0) {
        if (stopNow) { store<i64>(ca, i); return false; }
        countEvent(C_MMSIM_MIGRATE_VMA_FAILED);
      } else countEvent(C_MMSIM_MIGRATE_VMA_EVICTED);
    }
    i++;
    if ((i & 63) == 0 && i < len && mustYield(e, curClock)) { store<i64>(ca, i); yieldAt(e, curClock); return false; }
  }
  mmuNotifierRangeEnd(e, curClock);
  store<i64>(ca, -1); store<i64>(ca, 0, 8);
  return true;
}

/**
 * One page of migrate_vma to device `s`: migrate_vma_collect_pmd takes a present anonymous
 * page that nothing else holds (migrate_vma_check_page: no extra reference — a pin, the swap
 * cache — not locked, not under writeback, not mlocked), migrate_vma_pages copies it to a
 * device page, migrate_vma_finalize leaves a device-private entry and frees the system page.
 * The device's own translation of it now points at its memory (the driver updates it).
 */
function migrateOneToDevice(m: i32, s: i32, vpn: i64, pte: usize): void {
  if (pte == 0) return;
  const e = load<u64>(pte);
  if ((e & _PAGE_PRESENT) == 0 || (e & _PAGE_SPECIAL) != 0) return;      // none, swapped, the zero page: not collected
  const p = entryPfn(e);
  const f = flags(p);
  if ((f & PG_swapbacked) == 0 || (f & (PG_swapcache | PG_locked | PG_writeback | PG_mlocked | PG_dma_pinned)) != 0 ||
    mapcount(p) != 1 || refcount(p) != 1) { countEvent(C_MMSIM_MIGRATE_VMA_FAILED); return; }
  if ((f & PG_lru) == 0 && inLocalBatch(p)) lruAddDrain();
  if (!testFlag(p, PG_lru)) { countEvent(C_MMSIM_MIGRATE_VMA_FAILED); return; }
  const slot = deviceAlloc(s);
  if (slot < 0) { countEvent(C_MMSIM_MIGRATE_VMA_FAILED); return; }
  chargeNs(<i64>cfg(G_COST_ZERO_FILL));        // the copy (the device's DMA)
  store<u64>(pte, mkPte(<u32>slot, _PAGE_DEVICE_PRIVATE | (e & _PAGE_RW)));
  secondaryInvalidate(s, m, vpn, vpn + 1);
  // the system page: unmapped and freed, off the LRU (its anon RSS now stands for the device page)
  setMapcount(p, 0);
  countAdd(C_NR_ANON_PAGES, -1);
  folioPut(p);
  countEvent(C_MMSIM_MIGRATE_VMA_PAGES);
}
