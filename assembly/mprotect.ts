// mprotect of a whole VMA by its task (mm/mprotect.c do_mprotect_pkey → mprotect_fixup →
// change_protection): under the mmap_lock for write the VMA is write-locked, its VM_WRITE set
// or cleared, and change_protection walks its page tables. Each PGD entry's span gets one
// MMU_NOTIFY_PROTECTION_VMA range, from the first PUD entry that has tables to the span's end
// (change_pud_range, v6.9+; it was per PUD entry in change_pmd_range before), around the PTE
// changes: made read-only, every present PTE is write-protected; made writable again, only
// what the write fault would map writable at once gets the write bit back
// (MM_CP_TRY_CHANGE_WRITABLE, can_change_pte_writable: an exclusive anonymous page of a
// private mapping, a dirty page of a shared one); the rest takes its write fault later. The
// same protection again changes nothing (mprotect_fixup returns early: no range).
//
// Stores to a read-only VMA would be SIGSEGV; the scenario's validation refuses them instead,
// so no fault here meets a VMA without VM_WRITE on a store. The call sleeps on the mmap_lock,
// in vma_start_write and in a blockable notifier callback, and goes on from there.
import { regionAlloc } from './mem';
import { C_MMSIM_MPROTECT_CALLS, C_MMSIM_MPROTECT_PTES, FN_MMAP_WRITE_LOCK, DK_BAD_PTE, FN_CHANGE_HUGE_PMD } from './generated/abi';
import { changeHugePmd } from './huge_memory';
import { recordBug } from './invariants';
import { vmaMm, vmaStart, vmaEnd, vmaFlags, vmaDetached, vmaSetWrite, mmPgd, VM_WRITE, VM_SHARED } from './mm';
import { entryAddr, entryPfn, isMigrationPte, isHugePmd, _PAGE_PRESENT, _PAGE_RW, _PAGE_DIRTY, _PAGE_SPECIAL } from './pgtable';
import { testFlag, PG_swapbacked, PG_anon_exclusive } from './page';
import { lockAcquire, lockRelease, lockHeldForWrite } from './locking';
import { mmapLockOf, vmaStartWrite } from './mmap_lock';
import { mmHasNotifiers, mmuNotifierRangeStart, mmuNotifierRangeEnd, rangeSleeping, MMU_NOTIFY_PROTECTION_VMA,
  RANGE_BLOCKABLE, NOTIFIER_SLEEP } from './mmu_notifier';
import { countEvent, countAdd } from './vmstat';
import { curClock, taskEntity } from './sched';

const MP_IDLE: i32 = 0;      // no mprotect in progress
const MP_LOCK: i32 = 1;      // mmap_write_lock_killable
const MP_VMA: i32 = 2;       // vma_start_write
const MP_CHANGE: i32 = 3;    // change_protection, one PGD entry's span after the other
/** flag: the task's kernel path held the mmap_lock for write already (a lock phase): it keeps it */
const MP_HELD: i32 = 0x100;

/** A PGD entry's span and a PUD entry's span, in pages. */
const PGDIR_PAGES: i64 = 1 << 27;
const PUD_PAGES: i64 = 1 << 18;

// per task: the stage, and in MP_CHANGE the PGD span it works on (i64 pairs)
let calls: usize = 0;
@inline function stage(t: i32): i32 { return <i32>load<i64>(calls + (<usize>t << 4)); }
@inline function setStage(t: i32, s: i32): void { store<i64>(calls + (<usize>t << 4), <i64>s); }
@inline function span(t: i32): i64 { return load<i64>(calls + (<usize>t << 4), 8); }
@inline function setSpan(t: i32, s: i64): void { store<i64>(calls + (<usize>t << 4), s, 8); }

export function mprotectInit(tasks: i32): bool {
  calls = regionAlloc(<u64>(tasks + 1) * 16);
  return calls != 0;
}

/** Is an mprotect of task `t` under way (asleep)? */
export function mprotectInProgress(t: i32): bool { return stage(t) != MP_IDLE; }

/**
 * mprotect(PROT_READ, or PROT_READ | PROT_WRITE if `write`) of VMA `v` by its task `t`. True
 * when the call is done; false while it sleeps (stopNow): call again when `t` runs.
 */
export function mprotectVma(t: i32, v: i32, write: bool): bool {
  const e = taskEntity(t);
  const m = vmaMm(v);
  const l = mmapLockOf(m);
  let st = stage(t) & ~MP_HELD;
  let held = (stage(t) & MP_HELD) != 0;
  if (st == MP_IDLE) {
    // under the mmap_lock its kernel path holds for write already (held for read, the write
    // lock would wait for the task itself: a deadlock)
    held = lockHeldForWrite(l, e);
    st = held ? MP_VMA : MP_LOCK;
  }
  const flag = held ? MP_HELD : 0;
  if (st == MP_LOCK) {
    if (!lockAcquire(l, e, true, FN_MMAP_WRITE_LOCK, curClock)) { setStage(t, MP_LOCK); return false; }
    st = MP_VMA;
  }
  if (st == MP_VMA) {
    if (!vmaStartWrite(t, e, v, curClock)) { setStage(t, MP_VMA | flag); return false; }
    // mprotect_fixup: nothing to do for the protection it has (or for a VMA that is gone: -ENOMEM)
    if (vmaDetached(v) || ((vmaFlags(v) & VM_WRITE) != 0) == write) {
      if (!held) lockRelease(l, e, curClock);
      setStage(t, MP_IDLE);
      return true;
    }
    countEvent(C_MMSIM_MPROTECT_CALLS);
    vmaSetWrite(v, write);
    setSpan(t, vmaStart(v) / PGDIR_PAGES);
    st = MP_CHANGE;
  }
  // change_protection_range → change_p4d_range (folded) → change_pud_range, per PGD entry
  const end = vmaEnd(v);
  const pgd = mmPgd(m);
  for (let k = span(t); k * PGDIR_PAGES < end; k++) {
    const from = max<i64>(vmaStart(v), k * PGDIR_PAGES);
    const to = min<i64>(end, (k + 1) * PGDIR_PAGES);
    const pgdE = load<u64>(entryAddr(pgd, <u32>(k & 511)));
    if (pgdE == 0) continue;
    const addr = firstPopulatedPud(entryPfn(pgdE), from, to);
    if (addr < 0) continue;
    // the range is started at the first PUD entry that is not none, and runs to the span's end
    const notify = mmHasNotifiers(m) || rangeSleeping(e);
    if (notify && mmuNotifierRangeStart(e, MMU_NOTIFY_PROTECTION_VMA, RANGE_BLOCKABLE, m, addr, to, curClock) == NOTIFIER_SLEEP) {
      setStage(t, MP_CHANGE | flag); setSpan(t, k);
      return false;
    }
    countAdd(C_MMSIM_MPROTECT_PTES, changePteRange(v, entryPfn(pgdE), addr, to, write));
    if (notify) mmuNotifierRangeEnd(e, curClock);
  }
  if (!held) lockRelease(l, e, curClock);   // mmap_write_unlock
  setStage(t, MP_IDLE);
  return true;
}

/** The address of the first PUD entry with tables under [from, to) of the PUD table `pud` (clipped to `from`), or -1. */
function firstPopulatedPud(pud: u32, from: i64, to: i64): i64 {
  for (let a = from; a < to; a = (a + PUD_PAGES) & ~(PUD_PAGES - 1)) {
    if (load<u64>(entryAddr(pud, <u32>((a >> 18) & 511))) != 0) return a;
  }
  return -1;
}

/**
 * change_pmd_range / change_pte_range over [from, to) under the PUD table `pud`: every present
 * PTE is rewritten — write-protected, or (`write`) given the write bit where
 * can_change_pte_writable allows it. Returns the PTEs rewritten (change_protection's pages).
 */
function changePteRange(v: i32, pud: u32, from: i64, to: i64, write: bool): i64 {
  const shared = (vmaFlags(v) & VM_SHARED) != 0;
  let pages: i64 = 0;
  let vpn = from;
  while (vpn < to) {
    const pmdE = load<u64>(entryAddr(pud, <u32>((vpn >> 18) & 511)));
    if (pmdE == 0) { vpn = ((vpn >> 18) + 1) << 18; continue; }
    const pmdAddr = entryAddr(entryPfn(pmdE), <u32>((vpn >> 9) & 511));
    const ptE = load<u64>(pmdAddr);
    if (ptE == 0) { vpn = ((vpn >> 9) + 1) << 9; continue; }
    if (isHugePmd(ptE)) {
      // change_huge_pmd: mprotect changes whole VMAs here, and a huge mapping lies inside its VMA
      if ((vpn & 511) != 0 || to - vpn < 512) recordBug(DK_BAD_PTE, entryPfn(ptE), FN_CHANGE_HUGE_PMD, <f64>vpn);
      else pages += changeHugePmd(pmdAddr, write);
      vpn = ((vpn >> 9) + 1) << 9;
      continue;
    }
    const limit = min<i64>(to, ((vpn >> 9) + 1) << 9);
    for (; vpn < limit; vpn++) {
      const a = entryAddr(entryPfn(ptE), <u32>(vpn & 511));
      const e = load<u64>(a);
      // change_pte_range: a writable migration entry becomes a readable one (never the reverse)
      if (isMigrationPte(e)) { if (!write && (e & _PAGE_RW) != 0) store<u64>(a, e & ~_PAGE_RW); continue; }
      if ((e & _PAGE_PRESENT) == 0) continue;     // none or a swap entry: nothing to change here
      pages++;
      if (!write) { if ((e & _PAGE_RW) != 0) store<u64>(a, e & ~_PAGE_RW); continue; }
      if ((e & _PAGE_RW) == 0 && canChangePteWritable(shared, e)) store<u64>(a, e | _PAGE_RW);
    }
  }
  return pages;
}

/**
 * can_change_pte_writable: may the PTE be made writable now, without the write fault? In a
 * private mapping only an exclusive anonymous page (the write fault would reuse it); in a
 * shared one only a dirty PTE (the filesystem has heard of the write already; a clean one
 * needs its page_mkwrite). Never the shared zero page.
 */
function canChangePteWritable(shared: bool, e: u64): bool {
  if ((e & _PAGE_SPECIAL) != 0) return false;
  if (shared) return (e & _PAGE_DIRTY) != 0;
  const p = entryPfn(e);
  return testFlag(p, PG_swapbacked) && testFlag(p, PG_anon_exclusive);
}
