// The OOM killer and the OOM reaper (mm/oom_kill.c). out_of_memory picks the process with
// the highest oom_badness and sends it SIGKILL (mark_oom_victim); the victim frees its memory
// itself, through exit_mmap, when it next runs — which a victim asleep uninterruptibly in the
// kernel (on a lock) cannot do. For that the reaper kthread, OOM_REAPER_DELAY after the kill,
// tries up to MAX_OOM_REAP_RETRIES times, HZ/10 apart, to take the victim's mmap_lock for read
// and zap its anonymous and private mappings; then, or when the victim's exit_mmap has
// unmapped everything, the mm is MMF_OOM_SKIP. While a victim without MMF_OOM_SKIP exists,
// the killer kills nobody else: the allocation retries.
import { cfg, procCfg } from './config';
import { PROC_OOM_SCORE_ADJ, G_HZ, G_NOTIFIER_REAPER, C_OOM_KILL, C_MMSIM_OOM_PAGES_FREED, C_MMSIM_OOM_REAPER_ATTEMPTS,
  C_MMSIM_OOM_REAPER_UNABLE, C_MMSIM_OOM_REAPER_VMAS_SKIPPED, C_MMSIM_OOM_LIVELOCK, DK_OOM_NO_VICTIM, DK_OOM_KILL,
  DK_OOM_FREED, DK_OOM_LIVELOCK, FN_OUT_OF_MEMORY, FN_OOM_REAP_TASK_MM, FN_EXIT_MMAP, REAP_SKIP_MM,
  REAP_DOES_NOT_BLOCK } from './generated/abi';
import { mmuNotifierRangeStart, mmuNotifierRangeEnd, endBlocked, mmHasNotifiers,
  mmHasBlockableNotifiers, MMU_NOTIFY_UNMAP } from './mmu_notifier';
import { nMms, mmDead, mmRss, mmSwapents, mmPgtables, mmFirstVma, mmNrVmas, mmTestFlag, mmSetFlag, vmaFlags,
  vmaIsAnon, vmaDetached, vmaStart, vmaEnd, zapVma, VM_SHARED, MMF_OOM_VICTIM, MMF_OOM_SKIP, MMF_UNSTABLE, MMF_OOM_REAP_QUEUED } from './mm';
import { nrPages } from './page';
import { totalSwapPages } from './swap';
import { countEvent, countAdd } from './vmstat';
import { taskSigkill, OOM_REAPER_ENTITY } from './sched';
import { recordBug, recordDetector } from './invariants';
import { NO_PAGE } from './alloc';
import { schedule } from './events';
import { regionAlloc } from './mem';
import { mmapLockOf } from './mmap_lock';
import { lockTryAcquire, lockRelease } from './locking';

const OOM_SCORE_ADJ_MIN: i64 = -1000;
@inline function reaperRule(): i32 { return <i32>cfg(G_NOTIFIER_REAPER); }
const MAX_OOM_REAP_RETRIES: i32 = 10;

// the reaper's list (oom_reaper_list): victims in kill order, each due OOM_REAPER_DELAY after it
let reapList: usize = 0;     // i32 mm per entry
let reapDue: usize = 0;      // i64 per entry
let reapHead: i32 = 0;
let reapTail: i32 = 0;
let reapAttempts: i32 = 0;   // attempts on the head so far
let killTime: usize = 0;     // i64 per mm: when it was killed
let livelocked: usize = 0;   // u8 per mm: reported as a livelock
let jiffy: i64 = 1_000_000;
let hz: i64 = 1000;

export function oomInit(mms: i32): bool {
  reapList = regionAlloc(<u64>(mms + 1) * 4);
  reapDue = regionAlloc(<u64>(mms + 1) * 8);
  killTime = regionAlloc(<u64>(mms + 1) * 8);
  livelocked = regionAlloc(<u64>(mms + 1));
  if (killTime == 0 || livelocked == 0) return false;
  hz = <i64>cfg(G_HZ);
  if (hz < 1) hz = 1000;
  jiffy = 1_000_000_000 / hz;
  return reapList != 0 && reapDue != 0;
}

/** oom_badness: rss + swap entries + page tables, shifted by oom_score_adj per mille of memory. */
export function oomBadness(m: i32, totalpages: i64): i64 {
  const adj = <i64>procCfg(m, PROC_OOM_SCORE_ADJ);
  if (adj == OOM_SCORE_ADJ_MIN || mmDead(m)) return i64.MIN_VALUE;
  let points = mmRss(m) + mmSwapents(m) + mmPgtables(m);
  points += adj * (totalpages / 1000);
  return points;
}

/**
 * out_of_memory: select_bad_process, then oom_kill_process. True if a victim was killed or
 * one is still on its way out (oom_evaluate_task's abort: the caller retries); false when
 * nothing could be killed.
 */
export function outOfMemory(order: i32, now: i64): bool {
  const totalpages = <i64>nrPages + <i64>totalSwapPages;
  let chosen = -1;
  let chosenPoints: i64 = i64.MIN_VALUE;
  for (let m = 0; m < nMms; m++) {
    if (mmDead(m)) continue;
    if (mmTestFlag(m, MMF_OOM_VICTIM)) {
      if (mmTestFlag(m, MMF_OOM_SKIP)) continue;
      checkLivelock(m, now);
      return true;                       // a victim is still exiting: wait for it
    }
    const points = oomBadness(m, totalpages);
    if (points == i64.MIN_VALUE || points < chosenPoints) continue;
    chosen = m; chosenPoints = points;
  }
  if (chosen < 0) {
    // the kernel panics: "Out of memory and no killable processes..."
    recordBug(DK_OOM_NO_VICTIM, NO_PAGE, FN_OUT_OF_MEMORY, <f64>order);
    return false;
  }
  oomKillProcess(chosen, chosenPoints, now);
  return true;
}

/**
 * mmsim_oom_livelock: allocations still wait for a victim long after the reaper's last try
 * would have hidden it (OOM_REAPER_DELAY + MAX_OOM_REAP_RETRIES × HZ/10, and 1 s more), once
 * per victim.
 */
function checkLivelock(m: i32, now: i64): void {
  const killed = load<i64>(killTime + (<usize>m << 3));
  if (load<u8>(livelocked + <usize>m) != 0 || now - killed <= 2 * hz * jiffy + MAX_OOM_REAP_RETRIES * (hz / 10) * jiffy + hz * jiffy) return;
  store<u8>(livelocked + <usize>m, 1);
  countEvent(C_MMSIM_OOM_LIVELOCK);
  recordDetector(DK_OOM_LIVELOCK, 0xFFFF_FFFF, m, FN_OUT_OF_MEMORY, <f64>(now - killed), -1, -1);
}

/** __oom_kill_process: SIGKILL, mark_oom_victim, "Out of memory: Killed process", queue_oom_reaper. */
function oomKillProcess(m: i32, points: i64, now: i64): void {
  countEvent(C_OOM_KILL);
  mmSetFlag(m, MMF_OOM_VICTIM);
  store<i64>(killTime + (<usize>m << 3), now);
  recordDetector(DK_OOM_KILL, <u32>mmRss(m), m, FN_OUT_OF_MEMORY, <f64>points, -1, -1);
  queueOomReaper(m, now);
  taskSigkill(m);
}

/** queue_oom_reaper: the reaper takes the victim OOM_REAPER_DELAY (2 s) after the kill. */
function queueOomReaper(m: i32, now: i64): void {
  if (mmTestFlag(m, MMF_OOM_REAP_QUEUED)) return;
  mmSetFlag(m, MMF_OOM_REAP_QUEUED);
  store<i32>(reapList + (<usize>reapTail << 2), m);
  store<i64>(reapDue + (<usize>reapTail << 3), now + 2 * hz * jiffy);     // OOM_REAPER_DELAY
  reapTail++;
  if (reapTail - reapHead == 1) schedule(OOM_REAPER_ENTITY, load<i64>(reapDue + (<usize>reapHead << 3)));
}

/** The victim's own exit_mmap unmapped everything: MMF_OOM_SKIP, and the pages it freed reported. */
export function oomVictimExited(m: i32, freed: i64): void {
  if (!mmTestFlag(m, MMF_OOM_VICTIM)) return;
  countAdd(C_MMSIM_OOM_PAGES_FREED, freed);
  recordDetector(DK_OOM_FREED, <u32>freed, m, FN_EXIT_MMAP, 0, -1, -1);
}

/**
 * The oom_reaper kthread's event: oom_reap_task on the list's head — one attempt
 * (oom_reap_task_mm) per wake-up, HZ/10 apart, MAX_OOM_REAP_RETRIES at most; then
 * MMF_OOM_SKIP and the next victim.
 */
export function oomReaperRun(now: i64): void {
  // stuck in an invalidate_range_end that blocked (trylock-blocking-end): it never returns
  if (endBlocked()) return;
  while (reapHead < reapTail) {
    const m = load<i32>(reapList + (<usize>reapHead << 2));
    const due = load<i64>(reapDue + (<usize>reapHead << 3));
    if (due > now) { schedule(OOM_REAPER_ENTITY, due); return; }
    if (!mmDead(m) && !mmTestFlag(m, MMF_OOM_SKIP)) {
      reapAttempts++;
      countEvent(C_MMSIM_OOM_REAPER_ATTEMPTS);
      const ok = oomReapTaskMm(m, now);
      if (endBlocked()) return;          // the reaper sleeps in the end forever: no MMF_OOM_SKIP
      if (!ok) {
        if (reapAttempts < MAX_OOM_REAP_RETRIES) { schedule(OOM_REAPER_ENTITY, now + (hz / 10) * jiffy); return; }   // schedule_timeout_idle(HZ/10)
        countEvent(C_MMSIM_OOM_REAPER_UNABLE);        // "oom_reaper: unable to reap pid"
      }
    }
    // hide this mm from the OOM killer: reaped, or somebody can't release its mmap_lock
    mmSetFlag(m, MMF_OOM_SKIP);
    reapHead++;
    reapAttempts = 0;
  }
}

/** oom_reap_task_mm: false if the mmap_lock could not be taken for read (try again later). */
function oomReapTaskMm(m: i32, now: i64): bool {
  const l = mmapLockOf(m);
  if (!lockTryAcquire(l, OOM_REAPER_ENTITY, false)) return false;
  let ret = true;
  if (!mmTestFlag(m, MMF_OOM_SKIP)) ret = oomReapMm(m, now);
  if (endBlocked()) return false;      // asleep inside invalidate_range_end, the mmap_lock still held
  lockRelease(l, OOM_REAPER_ENTITY, now);
  return ret;
}

/**
 * __oom_reap_task_mm: zap the anonymous and private VMAs, each in an MMU_NOTIFY_UNMAP range
 * started without blocking; a VMA whose start fails is skipped and the attempt fails (false).
 * The kernel versions before the non-blocking notifiers skip an mm with notifiers instead
 * (`notifiers.reaper`: skip-mm, does-not-block).
 */
function oomReapMm(m: i32, now: i64): bool {
  if (mmHasNotifiers(m) && (reaperRule() == REAP_SKIP_MM || (reaperRule() == REAP_DOES_NOT_BLOCK && mmHasBlockableNotifiers(m)))) {
    return true;                // nothing reaped; MMF_OOM_SKIP follows
  }
  mmSetFlag(m, MMF_UNSTABLE);
  let freed: i64 = 0;
  let ret = true;
  const first = mmFirstVma(m); const end = first + mmNrVmas(m);
  for (let v = first; v < end; v++) {
    if (vmaDetached(v)) continue;       // munmapped: no longer in the mm
    // only anonymous pages have a good chance to be dropped without additional steps
    if (!vmaIsAnon(v) && (vmaFlags(v) & VM_SHARED) != 0) continue;
    // mmu_notifier_range_init(MMU_NOTIFY_UNMAP, 0) + mmu_notifier_invalidate_range_start_nonblock
    if (mmuNotifierRangeStart(OOM_REAPER_ENTITY, MMU_NOTIFY_UNMAP, 0, m, vmaStart(v), vmaEnd(v), now) != 0) { ret = false; countEvent(C_MMSIM_OOM_REAPER_VMAS_SKIPPED); continue; }
    freed += zapVma(m, v);
    mmuNotifierRangeEnd(OOM_REAPER_ENTITY, now);
    if (endBlocked()) break;
  }
  if (freed > 0 || ret) {
    countAdd(C_MMSIM_OOM_PAGES_FREED, freed);
    recordDetector(DK_OOM_FREED, <u32>freed, m, FN_OOM_REAP_TASK_MM, 0, -1, -1);
  }
  return ret;
}
