// Tasks and the main loop. Every actor is an entity of the event queue: the sampler, kswapd,
// the flusher, each block device and each task. A popped task runs its workload until its own
// clock passes the next pending event (or the slice's end), so every access starts before any
// event that could change what it sees; kernel paths charge their cost to the running actor's
// clock (`curClock`) and IO waits move it forward.
import { cfg, procCfg, phaseCfg } from './config';
import { G_N_PROCS, G_HZ, G_DURATION_NS, G_SERIES_INTERVAL_NS, G_COST_ACCESS, G_COST_SYSCALL_PAGE, G_COST_MINOR_FAULT, G_SEED, C_MMSIM_KVM_FAULT_RETRIES, C_MMSIM_GRU_FAULT_RETRIES, C_MMSIM_INTERVAL_READ_BEGIN_WAITS, C_MMSIM_INTERVAL_READ_RETRIES, FN_MMSIM_SECONDARY_ACCESS,
  G_NO_EARLY_END, PROC_START_NS, PH_OP, PH_TARGET, PH_PATTERN, PH_WRITE_FRACTION, PH_RATE_PER_SEC,
  PH_ACCESSES, PH_IO_PAGES, PH_THINK_NS, PH_LOCK_WRITE, PH_SUBSCRIBER, PH_SIZE_PAGES, PH_PROT_WRITE, PH_START_PAGE, PH_LENGTH_PAGES,
  OP_ACCESS, OP_GUEST, OP_DMA, OP_READ, OP_SLEEP, OP_SYNC, OP_FSYNC, OP_LOCK, OP_UNLOCK, OP_TRUNCATE, OP_PUNCH, OP_MUNMAP, OP_MPROTECT, OP_PAGE_IDLE, OP_MIGRATE, C_MMSIM_SIGBUS, C_MMSIM_DEVICE_PRIVATE_HITS,
  C_MMSIM_FSYNC_CALLS, C_MMSIM_FSYNC_NS, C_MMSIM_FSYNC_MAX_NS,
  FN_MUTEX_LOCK, FN_DOWN_WRITE, FN_DOWN_READ, FN_MMAP_WRITE_LOCK, FN_MMAP_READ_LOCK, FN_MM_POPULATE,
  FN_LOCK_MM_AND_FIND_VMA, FN_EXIT_MMAP, E_SAMPLER, E_KSWAPD0, E_FLUSHER, E_FIRST_DEVICE, E_AFTER_TASKS,
  E_AFTER_TASKS_MEMCG_STATS_FLUSHER, E_AFTER_TASKS_OOM_REAPER, E_AFTER_TASKS_KDAMOND, G_HUNG_TASK_TIMEOUT_NS, C_MMSIM_SYNC_CALLS,
  C_MMSIM_SYNC_NS, C_MMSIM_SYNCS_COMPLETED, C_MMSIM_ACCESSES, C_MMSIM_RESIDENT_HITS, C_MMSIM_TASKS_FINISHED, C_MMSIM_EVENTS,
  C_MMSIM_ALLOC_FAILURES, C_MMSIM_WRITE_PAGES, C_MMSIM_LAST_WRITE_NS, STATUS_TIME_LIMIT, STATUS_BUDGET, STATUS_FINISHED } from './generated/abi';
import { now, pop, peekTime, peekId, schedule, scheduleNoLater, cancel, setNow, EV_NONE } from './events';
import { countEvent, countAdd, count, countSet, seriesSample } from './vmstat';
import { mappedHugeEnd } from './huge_memory';
import { pteOffset, entryPfn, isDevicePrivatePte, _PAGE_PRESENT, _PAGE_RW, _PAGE_ACCESSED, _PAGE_DIRTY } from './pgtable';
import { mmPgd, mmDead, mmKilled, mmSetFlag, unmapVmas, exitMmapFreePgtables, MMF_OOM_SKIP, mmFirstVma, mmNrVmas, vmaStart, vmaEnd, vmaFlags, vmaIsAnon, handleMmFault,
  FAULT_OK, FAULT_RETRY, FAULT_KILLED, FAULT_SIGBUS, VM_LOCKED, VM_POPULATE, VM_SHARED } from './mm';
import { filemapGetUptodate, filemapGetForWrite, fileSize, fileSetSize } from './filemap';
import { truncateFile, punchHole, truncateInProgress, truncateInterrupt } from './truncate';
import { pageIdleStep, pageIdleInProgress } from './page_idle';
import { migrateVmaStep, migrateVmaInProgress, devicePrivateOwner } from './migrate_device';
import { munmapVma, munmapInProgress } from './vma';
import { mprotectVma, mprotectInProgress } from './mprotect';
import { folioMarkDirty, balanceDirtyPagesRatelimited, balanceDirtyPagesAgain, globalDirtyLimits,
  taskSeriesSample } from './writeback';
import { flusherRun, syncStart, syncDone, fsyncStart, fsyncResume, fsyncDone, fsyncAbandon, fsyncResumeAt, FSYNC_WRITING } from './flusher';
import { blkComplete, nDevices } from './blkdev';
import { kswapdRun } from './vmscan';
import { nextF64, randomSeed } from './random';
import { NO_PAGE, allocInProgress, allocSlowpathRun, allocAbandon } from './alloc';
import { taskScanControl } from './scan_control';
import { memcgFlushStats } from './memcontrol';
import { lockAcquire, lockRelease, lockKind, locksAbandon, checkHungTasks, lockWaiting, lockWaitFunc, LOCK_MUTEX } from './locking';
import { stopNow, clearStop, waitingQueue, isFolioQueue, abandonWait, sleepOn } from './wait';
import { faultLockBegin, faultLockEnd, faultLocksAbandon, mmapLockMm, mmapLockOf, vmaStartWriteAll, vmaWritePending } from './mmap_lock';
import { oomReaperRun, oomVictimExited } from './oom';
import { kdamondRun } from './damon';
import { secondaryFaultMustRetry, FAULT_GO, FAULT_RETRY_KVM, isIntervalSub, subscriberLock, mmuNotifierAbandon, mmuNotifierRelease, mmuNotifierRangeStart, mmuNotifierRangeEnd, MMU_NOTIFY_UNMAP, RANGE_BLOCKABLE } from './mmu_notifier';
import { lruAddDrainCpu } from './lru';
import { secondaryAccess, secondaryInstall } from './secondary_mmu';
import { intervalInsert, intervalReadBegin, intervalReadRetry, itreeQueue } from './mmu_interval';
import { T_CLOCK, T_STATE, T_PHASE, T_PHASE_END, T_DONE, T_NEXT_ISSUE, T_SYS_LEFT, T_SYS_POS, T_POP_VMA,
  T_POP_VPN, T_N, T_BASE, T_PEND, T_PEND_WRITE, T_SLICED, T_BDP_AGAIN, T_SYNC_TARGET,
  T_SYNC_START, T_IO_RETRY, LOOKAHEAD_MIN_PAGES, LA_WRITE, TS_WAITING, TS_POPULATE, TS_RUNNING, TS_DONE, TS_DEAD, TS_EXITING, T_EXIT_STAGE, T_GUEST_SEQ, tf,
  setTf, workloadInit, phaseIndex, enterNextPhase, nextPosition, nextAccessAhead, aheadPte, walkAhead } from './workload';
import { checkInvariants, invariantMode, INV_EVERY_RECLAIM, INV_AT_SAMPLES } from './invariants';
import { dmaRun, dmaAbandon, DMA_DEAD, DMA_BLOCKED, DMA_OVER } from './gup';

export const SAMPLER_ENTITY: i32 = E_SAMPLER;
export const KSWAPD_ENTITY: i32 = E_KSWAPD0;
export const FLUSHER_ENTITY: i32 = E_FLUSHER;
const FIRST_DEVICE: i32 = E_FIRST_DEVICE;
@inline export function deviceEntity(d: i32): i32 { return FIRST_DEVICE + d; }
@inline export function taskEntity(t: i32): i32 { return FIRST_DEVICE + nDevices + t; }
/** Entities (src/abi/config.ts ENTITY_*): the fixed ones, the devices, the tasks, the memcg stats flusher, the OOM reaper. */
export function nrEntities(nProcs: i32, nDevs: i32): i32 { return FIRST_DEVICE + nDevs + nProcs + E_AFTER_TASKS + (nDevs > 1 ? nDevs - 1 : 0); }
/**
 * The writeback worker of wb `w` (one wb per block device, each with its own work item on the
 * writeback workqueue, wb_workfn): the fixed flusher entity for the first, then one after the
 * kthreads that follow the tasks for each other device.
 */
export function flusherEntity(w: i32): i32 { return w == 0 ? FLUSHER_ENTITY : FIRST_DEVICE + nDevices + nTasks + E_AFTER_TASKS + (w - 1); }
/** The oom_reaper kthread's entity (set by schedInit). */
export let OOM_REAPER_ENTITY: i32 = 0;
export function memcgFlushEntity(nProcs: i32, nDevs: i32): i32 { return FIRST_DEVICE + nDevs + nProcs + E_AFTER_TASKS_MEMCG_STATS_FLUSHER; }
/** The entity of the first task (tasks follow in order). */
export function firstTaskEntity(nDevs: i32): i32 { return FIRST_DEVICE + nDevs; }

/** The clock of the actor running now (a task, kswapd or the flusher). */
export let curClock: i64 = 0;
export let hz: i64 = 1000;
export let jiffyNs: i64 = 1_000_000;
export function setCurClock(t: i64): void { curClock = t; }
/** The task running now, -1 for kernel threads (for detector records). */
export let currentTask: i32 = -1;
@inline export function chargeNs(ns: i64): void { curClock += ns; }
/** Sleep until `t` (an IO completion, a throttle): the running actor's clock jumps. */
@inline export function waitUntil(t: i64): void { if (t > curClock) curClock = t; }

export let nTasks: i32 = 0;
let durationNs: i64 = 0;
let hungTaskTimeoutNs: i64 = 0;
let intervalNs: i64 = 0;
let costAccess: i64 = 1;
let costSyscallPage: i64 = 1;
let finished = false;
let lastSampleAt: i64 = -1;
/** Tasks whose workload has not ended; the run ends early when none is left. */
let liveTasks: i32 = 0;
let lastTaskEnd: i64 = 0;

export function liveTaskCount(): i32 { return liveTasks; }

function taskEnded(clock: i64): void {
  liveTasks--;
  if (clock > lastTaskEnd) lastTaskEnd = clock;
}



export function schedInit(): bool {
  nTasks = <i32>cfg(G_N_PROCS);
  hz = <i64>cfg(G_HZ);
  if (hz < 1) hz = 1000;
  jiffyNs = 1_000_000_000 / hz;
  durationNs = <i64>cfg(G_DURATION_NS);
  hungTaskTimeoutNs = <i64>cfg(G_HUNG_TASK_TIMEOUT_NS);
  intervalNs = <i64>cfg(G_SERIES_INTERVAL_NS);
  costAccess = <i64>cfg(G_COST_ACCESS); if (costAccess < 1) costAccess = 1;
  costSyscallPage = <i64>cfg(G_COST_SYSCALL_PAGE); if (costSyscallPage < 1) costSyscallPage = 1;
  if (!workloadInit(nTasks)) return false;
  const seed = <u64>cfg(G_SEED);
  for (let t = 0; t < nTasks; t++) {
    randomSeed(t, seed);
    const start = <i64>procCfg(t, PROC_START_NS);
    setTf(t, T_CLOCK, start);
    setTf(t, T_STATE, TS_WAITING);
    setTf(t, T_PHASE, -1);
    setTf(t, T_POP_VMA, mmFirstVma(t));
    setTf(t, T_POP_VPN, -1);
    setTf(t, T_PEND, -1);
    taskScanControl(t).entity = taskEntity(t);
    schedule(taskEntity(t), start);
  }
  OOM_REAPER_ENTITY = FIRST_DEVICE + nDevices + nTasks + E_AFTER_TASKS_OOM_REAPER;
  schedule(SAMPLER_ENTITY, 0);
  finished = false; lastSampleAt = -1;
  liveTasks = nTasks; lastTaskEnd = 0;
  return true;
}

/**
 * SIGKILL for task `t` (the OOM killer's): it exits (exit_mm, below) when it next runs. A
 * killable sleep — the allocator, a folio, the mmap_lock in a fault, a sleep phase — ends at
 * once; a task asleep uninterruptibly on a lock must get it first; the running task notices
 * on the way out of its kernel path.
 */
export function taskSigkill(t: i32): void {
  const st = <i32>tf(t, T_STATE);
  if (st == TS_DEAD || st == TS_EXITING) return;
  startExit(t, st == TS_DONE);
  if (t == currentTask) return;
  const e = taskEntity(t);
  if (lockWaiting(e) && lockWaitFunc(e) != FN_LOCK_MM_AND_FIND_VMA) return;
  allocAbandon(t);
  faultLocksAbandon(t, e, curClock);
  locksAbandon(e, curClock);
  // a sleep phase (nanosleep) ends at the signal, not at its planned end
  if (st == TS_RUNNING && tf(t, T_CLOCK) > curClock && <i32>phaseCfg(phaseIndex(t), PH_OP) == OP_SLEEP) setTf(t, T_CLOCK, curClock);
  scheduleNoLater(e, curClock);
}

/** do_exit from here on: `ended` if its workload was already counted as ended. */
function startExit(t: i32, ended: bool): void {
  setTf(t, T_STATE, TS_EXITING);
  setTf(t, T_EXIT_STAGE, ended ? EXIT_COUNTED : 0);
}

const EXIT_RELEASE: i64 = 0;    // leave every wait, lock and the allocator
const EXIT_UNMAP: i64 = 1;      // exit_mmap: unmap_vmas under mmap_read_lock
const EXIT_PGTABLES: i64 = 2;   // exit_mmap: free_pgtables under mmap_write_lock
const EXIT_COUNTED: i64 = 16;   // flag: the workload's end was counted already

/**
 * do_exit → exit_mm → exit_mmap for task `t` (entity `me`), in steps that may sleep on the
 * mmap_lock (held by a writer, or by the reaper). True when the process is gone.
 */
function exitStep(t: i32, me: i32): bool {
  const v = tf(t, T_EXIT_STAGE);
  const stage = v & 15; const counted = v & EXIT_COUNTED;
  const l = mmapLockOf(t);
  // a truncate, munmap or mprotect under way sleeps uninterruptibly (folio_lock,
  // folio_wait_writeback, a driver's lock): the signal is acted on once the call returns —
  // but truncation's wait for a folio's pins is killable (pins.truncate: the call ends there)
  if (stage == EXIT_RELEASE && syscallInProgress(t) && !truncateInterrupt(t)) {
    const g = phaseIndex(t);
    if (!syscallStep(t, g, <i32>phaseCfg(g, PH_OP))) return false;
  }
  if (stage == EXIT_RELEASE) {
    allocAbandon(t);
    faultLocksAbandon(t, me, curClock);
    mmuNotifierAbandon(me, curClock);
    fsyncAbandon(t, me, curClock);
    locksAbandon(me, curClock);
    abandonWait(me);
    lruAddDrainCpu(t);            // its CPU's batch goes to the lists (or is freed)
    dmaAbandon(t);                // a device's pages are let go (the driver's release)
    setTf(t, T_EXIT_STAGE, counted | EXIT_UNMAP);
  }
  if ((tf(t, T_EXIT_STAGE) & 15) == EXIT_UNMAP) {
    // mmu_notifier_release (each subscriber's release, which may sleep on its driver's lock;
    // then the list is empty), then unmap_vmas under the mmap_lock in one blockable
    // MMU_NOTIFY_UNMAP range, which so calls nobody
    if (!mmuNotifierRelease(me, t, curClock)) return false;
    if (!lockAcquire(l, me, false, FN_EXIT_MMAP, curClock)) return false;
    mmuNotifierRangeStart(me, MMU_NOTIFY_UNMAP, RANGE_BLOCKABLE, t, 0, 0x7FFF_FFFF_FFFF_FFFF, curClock);
    const freed = unmapVmas(t);
    mmuNotifierRangeEnd(me, curClock);
    lockRelease(l, me, curClock);
    oomVictimExited(t, freed);
    mmSetFlag(t, MMF_OOM_SKIP);    // its memory is freed: hidden from the killer and the reaper
    setTf(t, T_EXIT_STAGE, counted | EXIT_PGTABLES);
  }
  if (!lockAcquire(l, me, true, FN_EXIT_MMAP, curClock)) return false;
  exitMmapFreePgtables(t);
  lockRelease(l, me, curClock);
  setTf(t, T_STATE, TS_DEAD);
  if (counted == 0) taskEnded(curClock);
  return true;
}

export const ACC_DONE: i32 = 0;
export const ACC_DEAD: i32 = 1;
export const ACC_BLOCKED: i32 = 2;
/** get_user_pages' fault failed (no memory, or the mm it pins from is exiting): -EFAULT/-ENOMEM to the caller */
export const ACC_EFAULT: i32 = 3;
/** __mm_populate's fault got an error (a file page past the end): the rest of that VMA is skipped */
const ACC_SKIP_VMA: i32 = 4;

/** A truncate, punch, munmap or mprotect call of task `t` is under way (asleep, or yielded). */
function syscallInProgress(t: i32): bool { return truncateInProgress(t) || munmapInProgress(t) || mprotectInProgress(t) || pageIdleInProgress(t) || migrateVmaInProgress(t); }

/**
 * The call of a truncate, punch, munmap or mprotect phase `g` of task `t`, from where it
 * stands: true when it is done, false while it sleeps or yields (stopNow).
 */
function syscallStep(t: i32, g: i32, op: i32): bool {
  const target = <i32>phaseCfg(g, PH_TARGET);
  if (op == OP_TRUNCATE) return truncateFile(t, target, <u32>phaseCfg(g, PH_SIZE_PAGES));
  if (op == OP_PUNCH) return punchHole(t, target, <u32>phaseCfg(g, PH_START_PAGE), <u32>phaseCfg(g, PH_LENGTH_PAGES));
  if (op == OP_MUNMAP) return munmapVma(t, target);
  if (op == OP_PAGE_IDLE) return pageIdleStep(t, g);
  if (op == OP_MIGRATE) return migrateVmaStep(t, g);
  return mprotectVma(t, target, phaseCfg(g, PH_PROT_WRITE) != 0);
}

/**
 * One memory access through the page tables (do_user_addr_fault). ACC_BLOCKED: the fault's
 * kernel path sleeps (or yielded, stopNow) — on the mmap_lock, on a folio (the fault's lock is
 * released first and the retry takes the mmap_lock), or in the allocator (the lock stays
 * held); the access is retried when the task runs again. `populate`: __mm_populate's fault.
 * `gup`: get_user_pages' faultin_page for a device, whose failures are errors to its caller
 * (ACC_EFAULT), not signals — and the mm may be another process's.
 */
export function accessSlow(t: i32, v: i32, vpn: i64, write: bool, populate: bool = false, gup: bool = false, pteHint: usize = 0): i32 {
  const me = taskEntity(t);
  if (!faultLockBegin(t, me, v, populate, populate ? FN_MM_POPULATE : FN_LOCK_MM_AND_FIND_VMA, curClock)) return ACC_BLOCKED;
  for (let tries = 0; tries < 8; tries++) {
    // `pteHint` (the PTE of `vpn` as the caller's walk found it) serves the first try only
    const r = handleMmFault(v, vpn, write, tries == 0 ? pteHint : 0);
    if (r == FAULT_OK) { faultLockEnd(t, me, false, curClock); setTf(t, T_IO_RETRY, 0); return ACC_DONE; }
    if (r == FAULT_KILLED) { faultLockEnd(t, me, false, curClock); return gup && !mmKilled(t) ? ACC_EFAULT : ACC_DEAD; }
    if (r == FAULT_SIGBUS) {
      faultLockEnd(t, me, false, curClock);
      setTf(t, T_IO_RETRY, 0);
      // get_user_pages gets -EFAULT (no signal); __mm_populate ignores the error and goes on
      // with the next VMA; a user access (or a guest's, whose KVM_RUN fails with -EFAULT) is
      // killed by the signal's default action
      if (gup) return ACC_EFAULT;
      if (populate) return ACC_SKIP_VMA;
      countEvent(C_MMSIM_SIGBUS);
      startExit(t, false);
      return ACC_DEAD;
    }
    if (stopNow) {
      if (isFolioQueue(waitingQueue(me))) faultLockEnd(t, me, true, curClock);
      return ACC_BLOCKED;
    }
    if (r == FAULT_RETRY) continue;
    // VM_FAULT_OOM with nothing left to kill: the task gets SIGBUS and exits
    faultLockEnd(t, me, false, curClock);
    if (gup) return ACC_EFAULT;
    countEvent(C_MMSIM_ALLOC_FAILURES);
    startExit(t, false);
    return ACC_DEAD;
  }
  faultLockEnd(t, me, false, curClock);
  return ACC_DONE;
}

/** Fault in the VM_POPULATE / VM_LOCKED vmas (MAP_POPULATE, mlock) one page per step. */
function populateStep(t: i32): bool {
  const first = mmFirstVma(t); const end = first + mmNrVmas(t);
  let v = <i32>tf(t, T_POP_VMA);
  while (v < end && (vmaFlags(v) & (VM_POPULATE | VM_LOCKED)) == 0) v++;
  if (v >= end) { setTf(t, T_POP_VMA, v); return false; }
  let vpn = tf(t, T_POP_VPN);
  if (vpn < 0) vpn = vmaStart(v);
  // populate_vma_page_range: private writable mappings are populated for write (FOLL_WRITE:
  // a private file mapping gets its copies now), shared ones for read (VMAs here are writable)
  const write = (vmaFlags(v) & VM_SHARED) == 0;
  const r = accessSlow(t, v, vpn, write, true);
  if (r == ACC_DEAD) return true;
  if (r == ACC_BLOCKED) { setTf(t, T_POP_VMA, v); setTf(t, T_POP_VPN, vpn); return true; }
  // __get_user_pages' follow_page_mask: a huge PMD covers the rest of its 2 MiB at once
  vpn = mappedHugeEnd(t, vpn);
  if (vpn >= vmaEnd(v) || r == ACC_SKIP_VMA) { v++; vpn = -1; }
  setTf(t, T_POP_VMA, v); setTf(t, T_POP_VPN, vpn);
  return true;
}

/** An access phase's `rate`: the clock at which the next access may issue (not before T_NEXT_ISSUE). */
@inline function paceIssue(t: i32, clock: i64): i64 { const issue = tf(t, T_NEXT_ISSUE); return clock < issue ? issue : clock; }
/** An access issued at `clock`: the next one `interval` after it (or after its own slot, if later). */
@inline function issued(t: i32, clock: i64, interval: i64): void {
  const issue = tf(t, T_NEXT_ISSUE);
  setTf(t, T_NEXT_ISSUE, (issue > clock ? issue : clock) + interval);
}

/**
 * A guest phase of task `t` (a vCPU, or a device's thread) from `clock` until the horizon: each
 * access goes through its subscriber's secondary MMU. A miss is a guest fault
 * (kvm_mmu_page_fault): retried while kvm's invalidation in progress forbids it
 * (mmu_invalidate_retry_gfn; a count that never falls spins it forever), else the page comes
 * through the primary page tables — touched as get_user_pages touches it, or faulted in, which
 * may sleep — and its translation is installed. ACC_DONE at the horizon or the phase's end;
 * the clock is left in curClock.
 */
function guestRun(t: i32, g: i32, pattern: i32, n: i64, wf: f64, rate: f64, think: i64, clock: i64,
  hTime: i64, hId: i32, limit: i64, pgd: u32, me: i32): i32 {
  const v = <i32>phaseCfg(g, PH_TARGET);
  const s = <i32>phaseCfg(g, PH_SUBSCRIBER);
  const base = tf(t, T_BASE);
  const maxAcc = <i64>phaseCfg(g, PH_ACCESSES);
  const phaseEnd = tf(t, T_PHASE_END);
  const interval: i64 = rate > 0 ? <i64>(1e9 / rate) : 0;
  const step = costAccess + think;
  const faultCost = <i64>cfg(G_COST_MINOR_FAULT);
  let done = tf(t, T_DONE);
  let ret = ACC_DONE;
  while (clock < hTime || (clock == hTime && me < hId)) {
    let vpn: i64; let write: bool;
    const pend = tf(t, T_PEND);
    if (pend >= 0) {
      vpn = pend; write = tf(t, T_PEND_WRITE) != 0;
      setTf(t, T_PEND, -1);
    } else {
      if (maxAcc > 0 && done >= maxAcc) break;
      if (phaseEnd >= 0 && clock >= phaseEnd) break;
      if (interval > 0) {
        clock = paceIssue(t, clock);
        if (!(clock < hTime || (clock == hTime && me < hId))) break;
        issued(t, clock, interval);
      }
      const pos = nextPosition(t, g, pattern, n, 1);
      if (pos < 0) { setTf(t, T_PHASE_END, clock); break; }
      vpn = base + pos;
      write = wf > 0 && (wf >= 1 || nextF64(t) < wf);
      done++;
      countEvent(C_MMSIM_ACCESSES);
    }
    if (secondaryAccess(v, vpn, write)) { clock += step; continue; }
    // a guest fault: the exit and the fault handler
    clock += faultCost;
    const must = secondaryFaultMustRetry(s, vpn);
    if (must != FAULT_GO) {
      countEvent(must == FAULT_RETRY_KVM ? C_MMSIM_KVM_FAULT_RETRIES : C_MMSIM_GRU_FAULT_RETRIES);
      setTf(t, T_PEND, vpn); setTf(t, T_PEND_WRITE, write ? 1 : 0);
      continue;
    }
    // an interval notifier's user: mmu_interval_read_begin first (inserted at its first fault)
    const interval = isIntervalSub(s);
    let seq: i64 = 0;
    if (interval) {
      intervalInsert(s, t, vmaStart(v), vmaEnd(v));
      seq = tf(t, T_GUEST_SEQ);
      if (seq == 0) {
        seq = intervalReadBegin(s, t);
        if (seq < 0) {
          // an invalidation covering the interval runs: wait_event on subscriptions->wq
          countEvent(C_MMSIM_INTERVAL_READ_BEGIN_WAITS);
          setTf(t, T_PEND, vpn); setTf(t, T_PEND_WRITE, write ? 1 : 0);
          sleepOn(itreeQueue(t), me, clock, -1);
          ret = ACC_BLOCKED; break;
        }
        setTf(t, T_GUEST_SEQ, seq);
      }
    }
    // hva_to_pfn → get_user_pages (hmm_range_fault): a present PTE is touched (FOLL_TOUCH), a
    // missing one faulted in, which may sleep (an interval user keeps its seq across)
    let pte = pteOffset(pgd, vpn);
    const e = pte != 0 ? load<u64>(pte) : 0;
    // hmm_range_fault on a device-private entry of this very device: its own memory, no fault
    if (isDevicePrivatePte(e) && devicePrivateOwner(entryPfn(e)) == s) {
      countEvent(C_MMSIM_DEVICE_PRIVATE_HITS);
      if (interval) setTf(t, T_GUEST_SEQ, 0);
      clock += step;
      continue;
    }
    if ((e & _PAGE_PRESENT) != 0 && (!write || (e & _PAGE_RW) != 0)) {
      const want = e | _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0);
      if (want != e) store<u64>(pte, want);
    } else {
      curClock = clock;
      const r = accessSlow(t, v, vpn, write);
      clock = curClock;
      if (r == ACC_DEAD) { ret = ACC_DEAD; break; }
      if (r == ACC_BLOCKED) { setTf(t, T_PEND, vpn); setTf(t, T_PEND_WRITE, write ? 1 : 0); ret = ACC_BLOCKED; break; }
      pte = pteOffset(pgd, vpn);
      hTime = refreshHorizon(limit); hId = horizonId;
    }
    if (interval) {
      // the driver's lock, then mmu_interval_read_retry: an invalidation since read_begin
      // means the pages may be stale — start again
      const l = subscriberLock(s);
      if (l >= 0 && !lockAcquire(l, me, false, FN_MMSIM_SECONDARY_ACCESS, clock)) {
        setTf(t, T_PEND, vpn); setTf(t, T_PEND_WRITE, write ? 1 : 0);
        ret = ACC_BLOCKED; break;
      }
      setTf(t, T_GUEST_SEQ, 0);
      if (intervalReadRetry(s, seq)) {
        countEvent(C_MMSIM_INTERVAL_READ_RETRIES);
        if (l >= 0) lockRelease(l, me, clock);
        setTf(t, T_PEND, vpn); setTf(t, T_PEND_WRITE, write ? 1 : 0);
        continue;
      }
      secondaryInstall(v, vpn, pte);
      if (l >= 0) lockRelease(l, me, clock);
    } else secondaryInstall(v, vpn, pte);
    clock += step;
  }
  setTf(t, T_DONE, done);
  curClock = clock;
  return ret;
}

/**
 * Run task `t` from its clock until it passes (hTime, hId) — the next other event — or
 * `limit`. The resident-hit path is inlined; everything else goes through the kernel paths.
 */
function runTask(t: i32, limit: i64, now: i64): void {
  const me = taskEntity(t);
  let clock = tf(t, T_CLOCK);
  if (clock < now) clock = now;                  // woken from a sleep
  clearStop();
  let state = <i32>tf(t, T_STATE);
  if (state == TS_EXITING) {
    curClock = clock;
    exitStep(t, me);
    setTf(t, T_CLOCK, curClock);
    setTf(t, T_SLICED, 0);
    return;                       // asleep on the mmap_lock, or gone
  }
  if (state == TS_WAITING) { state = TS_POPULATE; setTf(t, T_STATE, state); }
  let blocked = false;
  if (allocInProgress(t)) {
    // back in the allocator's slow path where it slept or yielded; the access (or syscall page)
    // it was for is retried below and takes the result
    curClock = clock;
    blocked = !allocSlowpathRun(t);
    clock = curClock;
  }
  let hTime = peekTime(); let hId = peekId();
  if (hTime == EV_NONE || hTime > limit) { hTime = limit; hId = 0x7FFF_FFFF; }
  const pgd = mmPgd(t);
  while (!blocked && (clock < hTime || (clock == hTime && me < hId))) {
    if (state == TS_POPULATE) {
      curClock = clock;
      if (!populateStep(t)) {
        state = TS_RUNNING; setTf(t, T_STATE, state);
        if (!enterNextPhase(t, clock)) { state = TS_DONE; break; }
      }
      clock = curClock;
      if (mmKilled(t) || tf(t, T_STATE) == TS_EXITING) { state = TS_DEAD; break; }
      if (stopNow) { blocked = true; break; }
      hTime = refreshHorizon(limit); hId = horizonId;
      continue;
    }
    // --- workload phase ---
    const g = phaseIndex(t);
    const op = <i32>phaseCfg(g, PH_OP);
    if (op == OP_TRUNCATE || op == OP_PUNCH || op == OP_MUNMAP || op == OP_MPROTECT || op == OP_PAGE_IDLE || op == OP_MIGRATE) {
      // one system call, which may sleep and goes on where it slept when the task runs again
      curClock = clock;
      const done = syscallStep(t, g, op);
      clock = curClock;
      if (!done) { blocked = true; break; }
      clock += costAccess;
      if (!enterNextPhase(t, clock)) { state = TS_DONE; break; }
      hTime = refreshHorizon(limit); hId = horizonId;
      continue;
    }
    if (op == OP_DMA) {
      // a device's phase ends when it has let its pages go, not at its time (gup.ts)
      curClock = clock;
      const r = dmaRun(t, g, hTime, hId, limit, me);
      clock = curClock;
      if (r == DMA_DEAD) { state = TS_DEAD; break; }
      if (r == DMA_BLOCKED) { blocked = true; break; }
      if (r == DMA_OVER && !enterNextPhase(t, clock)) { state = TS_DONE; break; }
      hTime = refreshHorizon(limit); hId = horizonId;
      continue;
    }
    const phaseEnd = tf(t, T_PHASE_END);
    const maxAcc = <i64>phaseCfg(g, PH_ACCESSES);
    // an access whose fault slept is finished before the phase may end
    if (tf(t, T_PEND) < 0 && ((phaseEnd >= 0 && clock >= phaseEnd) || (maxAcc > 0 && tf(t, T_DONE) >= maxAcc))) {
      if (!enterNextPhase(t, clock)) { state = TS_DONE; break; }
      continue;
    }
    if (op == OP_SLEEP) { clock = phaseEnd; continue; }
    if (op == OP_SYNC || op == OP_FSYNC) {
      // sync(2): start data-integrity writeback everywhere, then wait (polling each jiffy) until
      // what was dirty or under writeback at the call has completed. fsync(2) of the target
      // file: the task writes the file's dirty pages itself (flusher.ts fsyncStart, in steps
      // where it waits or sleeps), then waits the same way for them and for the file's pages
      // already under writeback
      let target = tf(t, T_SYNC_TARGET);
      if (target < 0) {
        curClock = clock;
        if (op == OP_SYNC) {
          target = syncStart(clock);
          setTf(t, T_SYNC_TARGET, target); setTf(t, T_SYNC_START, clock);
          countEvent(C_MMSIM_SYNC_CALLS);
        } else {
          const f = <i32>phaseCfg(g, PH_TARGET);
          if (target == -1) {
            setTf(t, T_SYNC_START, clock);
            countEvent(C_MMSIM_FSYNC_CALLS);
            target = fsyncStart(t, f, me, clock);
          } else target = fsyncResume(t, f, me, clock);
          clock = curClock;
          setTf(t, T_SYNC_TARGET, target);
          if (stopNow) { blocked = true; break; }      // asleep on a folio, or in a notifier callback
          if (target == FSYNC_WRITING) {
            clock = fsyncResumeAt > clock ? fsyncResumeAt : clock + jiffyNs;
            hTime = refreshHorizon(limit); hId = horizonId;
            continue;
          }
        }
      }
      if (op == OP_SYNC ? syncDone(target) : fsyncDone(<i32>phaseCfg(g, PH_TARGET), target)) {
        const ns = clock - tf(t, T_SYNC_START);
        if (op == OP_SYNC) { countAdd(C_MMSIM_SYNC_NS, ns); countEvent(C_MMSIM_SYNCS_COMPLETED); }
        else {
          countAdd(C_MMSIM_FSYNC_NS, ns);
          if (<u64>ns > count(C_MMSIM_FSYNC_MAX_NS)) countSet(C_MMSIM_FSYNC_MAX_NS, <u64>ns);
        }
        if (!enterNextPhase(t, clock)) { state = TS_DONE; break; }
        continue;
      }
      clock += jiffyNs;
      hTime = refreshHorizon(limit); hId = horizonId;
      continue;
    }
    if (op == OP_LOCK || op == OP_UNLOCK) {
      // a driver's object lock (or an rwsem) taken or released in a kernel path of the task
      // (or a process's mmap_lock, as a syscall that reads or changes its mappings holds it)
      const l = <i32>phaseCfg(g, PH_TARGET);
      const write = phaseCfg(g, PH_LOCK_WRITE) != 0;
      const mm = mmapLockMm(l);
      if (op == OP_LOCK) {
        if (mm < 0 || vmaWritePending(t) != mm) {
          const func = mm >= 0 ? (write ? FN_MMAP_WRITE_LOCK : FN_MMAP_READ_LOCK)
            : lockKind(l) == LOCK_MUTEX ? FN_MUTEX_LOCK : (write ? FN_DOWN_WRITE : FN_DOWN_READ);
          if (!lockAcquire(l, me, write, func, clock)) { blocked = true; break; }
        }
        // a writer of the mappings write-locks the VMAs, waiting for the faults inside them
        if (mm >= 0 && write && !vmaStartWriteAll(t, me, mm, clock)) { blocked = true; break; }
      } else lockRelease(l, me, clock);
      clock += costAccess;
      if (!enterNextPhase(t, clock)) { state = TS_DONE; break; }
      hTime = refreshHorizon(limit); hId = horizonId;
      continue;
    }
    const n = tf(t, T_N);
    if (n <= 0) { if (!enterNextPhase(t, clock)) { state = TS_DONE; break; } continue; }
    const pattern = <i32>phaseCfg(g, PH_PATTERN);
    const wf = phaseCfg(g, PH_WRITE_FRACTION);
    const rate = phaseCfg(g, PH_RATE_PER_SEC);
    const think = <i64>phaseCfg(g, PH_THINK_NS);
    if (op == OP_GUEST) {
      const r = guestRun(t, g, pattern, n, wf, rate, think, clock, hTime, hId, limit, pgd, me);
      clock = curClock;
      if (r == ACC_DEAD) { state = TS_DEAD; break; }
      if (r == ACC_BLOCKED) { blocked = true; break; }
      hTime = refreshHorizon(limit); hId = horizonId;
      continue;
    }
    if (op == OP_ACCESS) {
      const v = <i32>phaseCfg(g, PH_TARGET);
      const base = tf(t, T_BASE);
      const interval: i64 = rate > 0 ? <i64>(1e9 / rate) : 0;
      let done = tf(t, T_DONE);
      const step = costAccess + think;
      // the hot loop: stays here while accesses hit present PTEs
      while (clock < hTime || (clock == hTime && me < hId)) {
        let vpn: i64; let write: bool;
        let pte: usize = 0;
        const pend = tf(t, T_PEND);
        if (pend >= 0) {
          // the access whose fault slept, retried: it was issued (and counted) already
          vpn = pend; write = tf(t, T_PEND_WRITE) != 0;
          setTf(t, T_PEND, -1);
        } else {
          if (maxAcc > 0 && done >= maxAcc) break;
          if (phaseEnd >= 0 && clock >= phaseEnd) break;
          if (interval > 0) {
            clock = paceIssue(t, clock);
            if (!(clock < hTime || (clock == hTime && me < hId))) break;
            issued(t, clock, interval);
          }
          if (n < LOOKAHEAD_MIN_PAGES || !walkAhead) {
            const pos = nextPosition(t, g, pattern, n, 1);
            if (pos < 0) { setTf(t, T_PHASE_END, clock); break; }
            vpn = base + pos;
            write = wf > 0 && (wf >= 1 || nextF64(t) < wf);
          } else {
            const a = nextAccessAhead(t, g, pattern, n, base, wf, maxAcc > 0 ? maxAcc - done : 0, pgd);
            if (a < 0) { setTf(t, T_PHASE_END, clock); break; }
            vpn = a & ~LA_WRITE;
            write = (a & LA_WRITE) != 0;
            pte = aheadPte(t);
          }
          done++;
          countEvent(C_MMSIM_ACCESSES);
        }
        if (pte == 0) pte = pteOffset(pgd, vpn);
        if (pte != 0) {
          const e = load<u64>(pte);
          if ((e & _PAGE_PRESENT) != 0 && (!write || (e & _PAGE_RW) != 0)) {
            const want = e | _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0);
            if (want != e) store<u64>(pte, want);
            countEvent(C_MMSIM_RESIDENT_HITS);
            clock += step;
            continue;
          }
        }
        curClock = clock;
        // the PTE address just found is the fault's own walk's answer (no table is freed in between)
        const r = accessSlow(t, v, vpn, write, false, false, pte);
        if (r == ACC_DEAD) { clock = curClock; state = TS_DEAD; break; }
        if (r == ACC_BLOCKED) {
          setTf(t, T_PEND, vpn); setTf(t, T_PEND_WRITE, write ? 1 : 0);
          clock = curClock; blocked = true;
          break;
        }
        clock = curClock + step;
        hTime = refreshHorizon(limit); hId = horizonId;
      }
      setTf(t, T_DONE, done);
      if (state == TS_DEAD) break;
      continue;
    }
    // read()/write() syscalls: one page per step so that IO waits end a step
    const f = <i32>phaseCfg(g, PH_TARGET);
    if (tf(t, T_SYS_LEFT) == 0) {
      let io = <i64>phaseCfg(g, PH_IO_PAGES);
      if (io < 1) io = 1;
      if (io > n) io = n;
      if (rate > 0) {
        const issue = tf(t, T_NEXT_ISSUE);
        if (clock < issue) { clock = issue; continue; }
        setTf(t, T_NEXT_ISSUE, (issue > clock ? issue : clock) + <i64>(1e9 / rate));
      }
      const pos = nextPosition(t, g, pattern, n, io);
      if (pos < 0) { setTf(t, T_PHASE_END, clock); continue; }
      setTf(t, T_SYS_LEFT, io);
      setTf(t, T_SYS_POS, tf(t, T_BASE) + pos);
      setTf(t, T_DONE, tf(t, T_DONE) + 1);
      clock += think;
    }
    const again = tf(t, T_BDP_AGAIN);
    if (again > 0) {
      // the hard limit: balance_dirty_pages loops after each sleep until the task may go on
      curClock = clock;
      if (!balanceDirtyPagesAgain(<i32>again - 1)) setTf(t, T_BDP_AGAIN, 0);
      clock = curClock;
      hTime = refreshHorizon(limit); hId = horizonId;
      continue;
    }
    const idx = <u32>tf(t, T_SYS_POS);
    curClock = clock;
    let p: u32;
    // filemap_read stops at i_size: a page at or past the end of a truncated file reads nothing
    const eof = op == OP_READ && idx >= fileSize(f);
    if (eof) p = NO_PAGE;
    else if (op == OP_READ) {
      p = filemapGetUptodate(f, idx, false, tf(t, T_IO_RETRY) == 0);
      if (p != NO_PAGE) setTf(t, T_IO_RETRY, 0);
    }
    else {
      p = filemapGetForWrite(f, idx, tf(t, T_IO_RETRY) == 0);
      if (p != NO_PAGE) {
        setTf(t, T_IO_RETRY, 0);
        folioMarkDirty(p);
        countEvent(C_MMSIM_WRITE_PAGES);
        countSet(C_MMSIM_LAST_WRITE_NS, <u64>curClock);
        // generic_write_end: a write past i_size extends the file (up to its configured size)
        if (idx >= fileSize(f)) fileSetSize(f, idx + 1);
        if (balanceDirtyPagesRatelimited(f)) setTf(t, T_BDP_AGAIN, f + 1);
      }
    }
    if (p == NO_PAGE && stopNow) {
      // asleep in the allocator or on the page's read: this page is retried when the task runs again
      clock = curClock; blocked = true;
      break;
    }
    clock = curClock + costSyscallPage;
    if (!eof) {
      countEvent(C_MMSIM_ACCESSES);
      if (p == NO_PAGE) countEvent(C_MMSIM_ALLOC_FAILURES);
    }
    setTf(t, T_SYS_LEFT, tf(t, T_SYS_LEFT) - 1);
    setTf(t, T_SYS_POS, idx + 1);
    hTime = refreshHorizon(limit); hId = horizonId;
  }
  setTf(t, T_CLOCK, clock);
  if (<i32>tf(t, T_STATE) == TS_EXITING || state == TS_DEAD) {
    // killed during this run (SIGKILL, or SIGBUS for a fault without memory): exit next
    if (<i32>tf(t, T_STATE) != TS_EXITING) startExit(t, false);
    setTf(t, T_SLICED, 0);
    schedule(me, clock);
    return;
  }
  setTf(t, T_STATE, state);
  // asleep or yielded inside a kernel path: the wait queue or the yield has scheduled it
  if (blocked) { setTf(t, T_SLICED, 0); return; }
  if (state == TS_DONE) {
    countEvent(C_MMSIM_TASKS_FINISHED);
    allocAbandon(t);             // a page its last, unretried allocation left behind
    faultLocksAbandon(t, me, clock);
    locksAbandon(me, clock);     // a task that ends gives back the locks it still holds
    lruAddDrainCpu(t);
    taskEnded(clock);
    return;
  }
  // a stop at the slice's end is not an event of the simulation (results must not depend on slicing)
  // (it is one when the task could have gone on but for the limit)
  const nt = peekTime(); const nid = peekId();
  const couldGoOn = nt == EV_NONE || clock < nt || (clock == nt && me < nid);
  setTf(t, T_SLICED, couldGoOn ? 1 : 0);
  schedule(me, clock);
}

export let horizonId: i32 = 0;
/** The next other event (time, and the entity id that breaks a tie), or `limit`. */
export function refreshHorizon(limit: i64): i64 {
  let h = peekTime();
  horizonId = peekId();
  if (h == EV_NONE || h > limit) { h = limit; horizonId = 0x7FFF_FFFF; }
  return h;
}

function sampleNow(t: i64): void {
  if (lastSampleAt == t) return;
  // /proc/vmstat computes nr_dirty_threshold and nr_dirty_background_threshold when read
  globalDirtyLimits();
  if (invariantMode >= INV_AT_SAMPLES) checkInvariants();
  checkHungTasks(t, hungTaskTimeoutNs);
  seriesSample(t);
  taskSeriesSample();
  lastSampleAt = t;
}

/** After each shrink_node in the strictest checking mode. */
export function checkAfterReclaim(): void { if (invariantMode >= INV_EVERY_RECLAIM) checkInvariants(false); }

/** run(): process events up to `until` (and the scenario's duration) or `maxEvents`. */
export function runEvents(until: i64, maxEvents: i32): i32 {
  if (finished) return STATUS_FINISHED;
  const limit = until < durationNs ? until : durationNs;
  let events = 0;
  while (events < maxEvents) {
    const t = peekTime();
    if (t == EV_NONE || t > limit) break;
    const id = pop();
    events++;
    const task = id - FIRST_DEVICE - nDevices;
    if (task < 0 || task >= nTasks || tf(task, T_SLICED) == 0) countEvent(C_MMSIM_EVENTS);
    curClock = t;
    currentTask = -1;
    if (id == SAMPLER_ENTITY) {
      sampleNow(t);
      if (intervalNs > 0 && t + intervalNs <= durationNs) schedule(SAMPLER_ENTITY, t + intervalNs);
    } else if (id == KSWAPD_ENTITY) kswapdRun(t);
    else if (id == FLUSHER_ENTITY) flusherRun(0, t);
    else if (id < FIRST_DEVICE + nDevices) blkComplete(id - FIRST_DEVICE, t);
    else if (task == nTasks + E_AFTER_TASKS_MEMCG_STATS_FLUSHER) memcgFlushStats(t);
    else if (task == nTasks + E_AFTER_TASKS_OOM_REAPER) oomReaperRun(t);
    else if (task == nTasks + E_AFTER_TASKS_KDAMOND) kdamondRun(t);
    else if (task >= nTasks + E_AFTER_TASKS) flusherRun(task - nTasks - E_AFTER_TASKS + 1, t);
    else { currentTask = id - FIRST_DEVICE - nDevices; runTask(currentTask, limit, t); currentTask = -1; }
    if (liveTasks <= 0 && nTasks > 0 && cfg(G_NO_EARLY_END) == 0) break;
  }
  if (liveTasks <= 0 && nTasks > 0 && cfg(G_NO_EARLY_END) == 0) {
    // every workload has ended: the run ends with them
    finished = true;
    setNow(lastTaskEnd);
    sampleNow(lastTaskEnd);
    return STATUS_FINISHED;
  }
  if (events >= maxEvents) return STATUS_BUDGET;
  if (limit >= durationNs) {
    finished = true;
    sampleNow(durationNs);
    return STATUS_FINISHED;
  }
  return STATUS_TIME_LIMIT;
}
