// munmap of a whole VMA by its task (mm/mmap.c __vm_munmap → mm/vma.c do_vmi_munmap,
// vms_gather_munmap_vmas, vms_complete_munmap_vmas, unmap_region): under the mmap_lock for
// write the VMA is write-locked (vma_start_write, waiting for the faults inside it) and
// detached, so no fault finds it any more; the lock is downgraded to read (munmap's `unlock`),
// and unmap_region zaps it in one MMU_NOTIFY_UNMAP range — anonymous pages freed or their swap
// slots released, file pages unmapped — then frees its page tables between its neighbours
// (free_pgtables), which also takes it out of the rmap (unlink_anon_vmas, unlink_file_vma).
//
// The call sleeps on the mmap_lock, in vma_start_write and in a blockable notifier callback of
// the range, and goes on from there: where it stands is one stage per task. VMAs do not split
// here, so a munmap takes a whole VMA; nothing maps it again (there is no mmap), and the
// scenario's validation refuses a later phase that would touch it.
import { regionAlloc } from './mem';
import { C_MMSIM_MUNMAP_CALLS, C_MMSIM_MUNMAP_PAGES_FREED, FN_MMAP_WRITE_LOCK } from './generated/abi';
import { vmaMm, vmaStart, vmaEnd, vmaDetached, vmaMarkDetached, vmaMarkUnlinked, mmPgd, mmFirstVma, mmNrVmas, zapVma } from './mm';
import { freePgdRange } from './pgtable';
import { lockAcquire, lockRelease, lockDowngrade, lockHeldForWrite } from './locking';
import { mmapLockOf, vmaStartWrite } from './mmap_lock';
import { mmHasNotifiers, mmuNotifierRangeStart, mmuNotifierRangeEnd, rangeSleeping, MMU_NOTIFY_UNMAP, RANGE_BLOCKABLE,
  NOTIFIER_SLEEP } from './mmu_notifier';
import { countEvent, countAdd } from './vmstat';
import { curClock, taskEntity } from './sched';

const MU_IDLE: i32 = 0;      // no munmap in progress
const MU_LOCK: i32 = 1;      // mmap_write_lock_killable
const MU_VMA: i32 = 2;       // vma_start_write
const MU_UNMAP: i32 = 3;     // unmap_region, under the read lock
/** flag: the task's kernel path held the mmap_lock for write already (a lock phase): do_vmi_munmap(unlock = false) */
const MU_HELD: i32 = 0x100;

let stages: usize = 0;       // i32 per task: MU_* | MU_HELD
@inline function stage(t: i32): i32 { return load<i32>(stages + (<usize>t << 2)); }
@inline function setStage(t: i32, s: i32): void { store<i32>(stages + (<usize>t << 2), s); }

export function munmapInit(tasks: i32): bool {
  stages = regionAlloc(<u64>(tasks + 1) * 4);
  return stages != 0;
}

/** Is a munmap of task `t` under way (asleep)? */
export function munmapInProgress(t: i32): bool { return stage(t) != MU_IDLE; }

/**
 * munmap of VMA `v` by its task `t`. True when the call is done (a VMA unmapped before is
 * nothing to do, as munmap of an empty range is); false while it sleeps (stopNow): call again
 * when `t` runs.
 */
export function munmapVma(t: i32, v: i32): bool {
  const e = taskEntity(t);
  const m = vmaMm(v);
  const l = mmapLockOf(m);
  let st = stage(t) & ~MU_HELD;
  let held = (stage(t) & MU_HELD) != 0;
  if (st == MU_IDLE) {
    // a kernel path of the task holding the mmap_lock for write already munmaps under it (and
    // keeps it); held for read, mmap_write_lock would wait for the task itself: a deadlock
    held = lockHeldForWrite(l, e);
    st = held ? MU_VMA : MU_LOCK;
    if (held && vmaDetached(v)) return true;
  }
  const flag = held ? MU_HELD : 0;
  if (st == MU_LOCK) {
    if (!lockAcquire(l, e, true, FN_MMAP_WRITE_LOCK, curClock)) { setStage(t, MU_LOCK); return false; }
    if (vmaDetached(v)) { lockRelease(l, e, curClock); setStage(t, MU_IDLE); return true; }
    st = MU_VMA;
  }
  if (st == MU_VMA) {
    if (!vmaStartWrite(t, e, v, curClock)) { setStage(t, MU_VMA | flag); return false; }
    vmaMarkDetached(v);
    countEvent(C_MMSIM_MUNMAP_CALLS);
    if (!held) lockDowngrade(l, e, curClock);   // vms_complete_munmap_vmas: mmap_write_downgrade
    st = MU_UNMAP;
  }
  // unmap_region → unmap_vmas: mmu_notifier_range_init(MMU_NOTIFY_UNMAP, 0, mm, start, end)
  const notify = mmHasNotifiers(m) || rangeSleeping(e);
  if (notify && mmuNotifierRangeStart(e, MMU_NOTIFY_UNMAP, RANGE_BLOCKABLE, m, vmaStart(v), vmaEnd(v), curClock) == NOTIFIER_SLEEP) {
    setStage(t, MU_UNMAP | flag);
    return false;
  }
  const freed = zapVma(m, v);
  if (notify) mmuNotifierRangeEnd(e, curClock);
  // free_pgtables(prev ? prev->vm_end : FIRST_USER_ADDRESS, next ? next->vm_start : USER_PGTABLES_CEILING)
  freePgdRange(m, mmPgd(m), vmaStart(v), vmaEnd(v), prevEnd(m, v), nextStart(m, v));
  vmaMarkUnlinked(v);
  countAdd(C_MMSIM_MUNMAP_PAGES_FREED, freed);
  if (!held) lockRelease(l, e, curClock);   // mmap_read_unlock
  setStage(t, MU_IDLE);
  return true;
}

/** The end of the mapped VMA below `v` in its mm (VMAs are laid out in address order), 0 if none. */
function prevEnd(m: i32, v: i32): i64 {
  for (let u = v - 1; u >= mmFirstVma(m); u--) if (!vmaDetached(u)) return vmaEnd(u);
  return 0;
}

/** The start of the mapped VMA above `v` in its mm, 0 (the top of the address space) if none. */
function nextStart(m: i32, v: i32): i64 {
  const end = mmFirstVma(m) + mmNrVmas(m);
  for (let u = v + 1; u < end; u++) if (!vmaDetached(u)) return vmaStart(u);
  return 0;
}
