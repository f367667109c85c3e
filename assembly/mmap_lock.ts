// mmap_lock and the per-VMA locks (include/linux/mmap_lock.h, mm/mmap_lock.c), and the lock
// a user page fault runs under (arch/x86/mm/fault.c, do_user_addr_fault): first the faulting
// VMA's read lock (lock_vma_under_rcu), which fails only while an mmap_lock writer has
// write-locked that VMA; otherwise, and for the retry after a VM_FAULT_RETRY, the mmap_lock
// for read (lock_mm_and_find_vma). A kernel path that already holds the mmap_lock faults
// under it (GUP, populate). The lock stays held while the fault sleeps in the allocator, and
// is released before it sleeps on a folio (release_fault_lock).
//
// Each mm's mmap_lock is an rwsem of locking.ts, numbered after the scenario's locks. The
// readers of an mm's VMAs are a second, never-acquired lock id, so that an mmap_lock writer
// waiting in vma_start_write for them is an edge of the wait-for graph.
import { regionAlloc } from './mem';
import { C_VMA_LOCK_SUCCESS, C_VMA_LOCK_ABORT, C_VMA_LOCK_RETRY, C_MMSIM_VMA_START_WRITE_WAITS,
  FN_VMA_START_WRITE } from './generated/abi';
import { countEvent } from './vmstat';
import { vmaMm, mmFirstVma, mmNrVmas } from './mm';
import { lockAcquire, lockRelease, lockHeldBy, lockWaitBegin, lockWaitEnd } from './locking';
import { sleepOn, wakeUpAll, abandonWait, WQ_VMA_WRITER } from './wait';

const FL_NONE: i32 = -1;    // the task's fault holds no lock
const FL_MMAP: i32 = -2;    // it holds the mmap_lock for read
const FL_HELD: i32 = -3;    // it runs under the mmap_lock its kernel path holds
const FL_WAIT: i32 = -4;    // it sleeps on the mmap_lock (lock_mm_and_find_vma)

let firstMmapLock: i32 = 0;
let nMm: i32 = 0;
let vmaReaders: usize = 0;      // i32 per VMA: faults inside it (vm_refcnt's readers)
let vmaWriteLocked: usize = 0;  // u8 per VMA: write-locked (vm_lock_seq == mm_lock_seq)
let faultLock: usize = 0;       // i32 per task: FL_* or the VMA whose read lock its fault holds
let faultMm: usize = 0;         // i32 per task: the mm of that fault
let faultTried: usize = 0;      // u8 per task: FAULT_FLAG_TRIED, the retry after VM_FAULT_RETRY
let vmaWriting: usize = 0;      // i32 per task: the mm whose VMAs its mmap_write_lock is locking, or -1

@inline function ld(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }
@inline function st(base: usize, i: i32, v: i32): void { store<i32>(base + (<usize>i << 2), v); }

/** Lock ids: the scenario's `nLockDefs` locks, then each mm's mmap_lock, then each mm's VMA readers. */
export function mmapLockLayout(nLockDefs: i32, mms: i32): i32 {
  firstMmapLock = nLockDefs; nMm = mms;
  return nLockDefs + 2 * mms;
}

export function mmapLockInit(vmas: i32, tasks: i32): bool {
  vmaReaders = regionAlloc(<u64>(vmas + 1) * 4);
  vmaWriteLocked = regionAlloc(<u64>(vmas + 1));
  faultLock = regionAlloc(<u64>(tasks + 1) * 4);
  faultMm = regionAlloc(<u64>(tasks + 1) * 4);
  faultTried = regionAlloc(<u64>(tasks + 1));
  vmaWriting = regionAlloc(<u64>(tasks + 1) * 4);
  if (vmaReaders == 0 || vmaWriteLocked == 0 || faultLock == 0 || faultMm == 0 || faultTried == 0 || vmaWriting == 0) return false;
  for (let t = 0; t < tasks; t++) { st(faultLock, t, FL_NONE); st(vmaWriting, t, -1); }
  return true;
}

@inline export function mmapLockOf(m: i32): i32 { return firstMmapLock + m; }
@inline function vmaReadersLockOf(m: i32): i32 { return firstMmapLock + nMm + m; }
/** The mm of an mmap_lock id, or -1. */
export function mmapLockMm(l: i32): i32 { return l >= firstMmapLock && l < firstMmapLock + nMm ? l - firstMmapLock : -1; }
/** The mm whose VMA readers the pseudo-lock `l` stands for, or -1. */
export function vmaReadersLockMm(l: i32): i32 {
  return l >= firstMmapLock + nMm && l < firstMmapLock + 2 * nMm ? l - firstMmapLock - nMm : -1;
}
/** Does task `t`'s fault hold a read lock of one of mm `m`'s VMAs? (an owner in the wait-for graph) */
export function holdsVmaRead(t: i32, m: i32): bool { const fl = ld(faultLock, t); return fl >= 0 && vmaMm(fl) == m; }

/** vma_start_read: fails while the VMA is write-locked. */
function vmaStartRead(v: i32): bool {
  if (load<u8>(vmaWriteLocked + <usize>v) != 0) return false;
  st(vmaReaders, v, ld(vmaReaders, v) + 1);
  return true;
}

/** vma_end_read: the last reader of a write-locked VMA wakes the writer in vma_start_write. */
function vmaEndRead(v: i32, now: i64): void {
  const n = ld(vmaReaders, v) - 1;
  st(vmaReaders, v, n);
  if (n == 0 && load<u8>(vmaWriteLocked + <usize>v) != 0) wakeUpAll(WQ_VMA_WRITER + vmaMm(v), now);
}

/**
 * vma_start_write on each VMA of `m`, in order, by task `t` (entity `e`) holding its
 * mmap_lock for write (a syscall that changes the mappings): each is marked write-locked, so
 * new faults in it fall back to the mmap_lock, and the writer waits until the faults inside
 * it have left. False: `e` sleeps on mm->vma_writer_wait (stopNow) and calls again when woken.
 */
export function vmaStartWriteAll(t: i32, e: i32, m: i32, now: i64): bool {
  const first = mmFirstVma(m);
  return vmaStartWriteRange(t, e, m, first, first + mmNrVmas(m), now);
}

/**
 * vma_start_write on VMA `v` alone (munmap and mprotect lock the VMAs they change), by task `t`
 * (entity `e`) holding its mmap_lock for write; false while it waits for the faults inside.
 */
export function vmaStartWrite(t: i32, e: i32, v: i32, now: i64): bool { return vmaStartWriteRange(t, e, vmaMm(v), v, v + 1, now); }

function vmaStartWriteRange(t: i32, e: i32, m: i32, first: i32, end: i32, now: i64): bool {
  for (let v = first; v < end; v++) {
    store<u8>(vmaWriteLocked + <usize>v, 1);
    if (ld(vmaReaders, v) > 0) {
      if (ld(vmaWriting, t) < 0) countEvent(C_MMSIM_VMA_START_WRITE_WAITS);
      st(vmaWriting, t, m);
      lockWaitBegin(e, vmaReadersLockOf(m), FN_VMA_START_WRITE, now);
      sleepOn(WQ_VMA_WRITER + m, e, now, -1);
      return false;
    }
  }
  if (ld(vmaWriting, t) >= 0) { st(vmaWriting, t, -1); lockWaitEnd(e, now); }
  return true;
}

/** The mm whose VMAs task `t` is write-locking (asleep in vma_start_write), or -1. */
export function vmaWritePending(t: i32): i32 { return ld(vmaWriting, t); }

/** mmap_write_unlock → vma_end_write_all: every VMA of `m` is unlocked at once (mm_lock_seq moves on). */
export function vmaEndWriteAll(m: i32): void {
  const first = mmFirstVma(m);
  memory.fill(vmaWriteLocked + <usize>first, 0, <usize>mmNrVmas(m));
}

/**
 * do_user_addr_fault's locking before handle_mm_fault, for task `t` (entity `e`) faulting in
 * VMA `v`; `populate`: __mm_populate's faults, under mmap_read_lock. True: the fault may run
 * (a lock taken, or still held from before a sleep in the allocator); false: `e` sleeps on
 * the mmap_lock (stopNow) and calls again when it is granted.
 */
export function faultLockBegin(t: i32, e: i32, v: i32, populate: bool, func: i32, now: i64): bool {
  const fl = ld(faultLock, t);
  if (fl != FL_NONE && fl != FL_WAIT) return true;
  const m = vmaMm(v);
  const l = mmapLockOf(m);
  if (fl == FL_WAIT) return takeMmapLock(t, e, l, func, now);
  st(faultMm, t, m);
  if (lockHeldBy(l, e)) { st(faultLock, t, FL_HELD); return true; }
  if (!populate && load<u8>(faultTried + <usize>t) == 0) {
    // lock_vma_under_rcu
    if (vmaStartRead(v)) { st(faultLock, t, v); return true; }
    countEvent(C_VMA_LOCK_ABORT);
  }
  return takeMmapLock(t, e, l, func, now);
}

/** lock_mm_and_find_vma (or populate's mmap_read_lock): false while it sleeps for the lock. */
function takeMmapLock(t: i32, e: i32, l: i32, func: i32, now: i64): bool {
  if (!lockAcquire(l, e, false, func, now)) { st(faultLock, t, FL_WAIT); return false; }
  st(faultLock, t, FL_MMAP);
  return true;
}

/**
 * After handle_mm_fault: release the fault's lock. `retry`: it returned VM_FAULT_RETRY after
 * sleeping on a folio (the lock went before the sleep: release_fault_lock); the next attempt
 * is FAULT_FLAG_TRIED and takes the mmap_lock.
 */
export function faultLockEnd(t: i32, e: i32, retry: bool, now: i64): void {
  const fl = ld(faultLock, t);
  if (fl >= 0) countEvent(retry ? C_VMA_LOCK_RETRY : C_VMA_LOCK_SUCCESS);
  releaseFaultLock(t, e, now);
  store<u8>(faultTried + <usize>t, retry ? 1 : 0);
}

function releaseFaultLock(t: i32, e: i32, now: i64): void {
  const fl = ld(faultLock, t);
  if (fl >= 0) vmaEndRead(fl, now);     // (FL_WAIT: locksAbandon takes it off the lock's queue)
  else if (fl == FL_MMAP) lockRelease(mmapLockOf(ld(faultMm, t)), e, now);
  st(faultLock, t, FL_NONE);
}

/** A task that ends or is killed leaves its fault's lock and vma_start_write's wait. */
export function faultLocksAbandon(t: i32, e: i32, now: i64): void {
  releaseFaultLock(t, e, now);
  store<u8>(faultTried + <usize>t, 0);
  if (ld(vmaWriting, t) >= 0) { st(vmaWriting, t, -1); abandonWait(e); lockWaitEnd(e, now); }
}
