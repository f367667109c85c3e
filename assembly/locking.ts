// Sleeping locks (kernel/locking/mutex.c, rwsem.c) with owners and FIFO waiters, and the
// wait-for graph over them, in the role of lockdep and the hung-task detector
// (kernel/hung_task.c): a task that would wait on a lock whose owners wait, transitively, for
// it closes a cycle — a deadlock, recorded with every member (the task, the lock it waits for,
// that lock's owner, the kernel function it waits in). The members stay asleep, as hung
// kernel tasks do, and the rest of the machine runs on. A task asleep on a lock for longer than
// kernel.hung_task_timeout_secs, outside any cycle, is a hung task.
//
// A lock handed to a waiter at unlock (FIFO: a mutex or a writer takes it alone, a run of
// readers at the head shares it) is marked granted; the waiter, when it runs again, calls
// lockAcquire once more and finds it held.
import { regionAlloc } from './mem';
import { cancel, scheduleNoLater } from './events';
import { recordDetector, recordBug } from './invariants';
import { countEvent, countAdd } from './vmstat';
import { setStop, fifoAppend, fifoUnlink } from './wait';
import { C_MMSIM_DEADLOCK, C_MMSIM_HUNG_TASK, C_MMSIM_LOCK_WAIT_NS, DK_DEADLOCK, DK_HUNG_TASK,
  DK_UNLOCK_NOT_HELD, FN_MUTEX_UNLOCK } from './generated/abi';
import { mmapLockMm, vmaReadersLockMm, holdsVmaRead, vmaEndWriteAll } from './mmap_lock';

export const LOCK_MUTEX: i32 = 0;
export const LOCK_RWSEM: i32 = 1;
const MAX_HELD: i32 = 8;            // locks one entity holds at once

// per lock (i32): kind, writer/mutex owner (-1), readers, first and last waiter
const L_KIND = 0; const L_OWNER = 1; const L_READERS = 2; const L_HEAD = 3; const L_TAIL = 4; const L_STRIDE = 5;
let locks: usize = 0;
export let nLocks: i32 = 0;
let nEntities: i32 = 0;
// per entity
let waitingFor: usize = 0;   // i32: the lock it sleeps on, or -1
let waitWrite: usize = 0;    // u8: it waits to take the lock exclusively
let waitFunc: usize = 0;     // i32: the kernel function it waits in (FN_*)
let waitSince: usize = 0;    // i64: since when
let nextWaiter: usize = 0;   // i32
let granted: usize = 0;      // i32: a lock handed over while it slept, or -1
let held: usize = 0;         // i32[MAX_HELD]: the locks it holds (-1 = free slot)
let stuck: usize = 0;        // u8: 1 = in a deadlock cycle, 2 = reported hung
// the cycle found by the last search
let pathEntity: usize = 0; let pathLock: usize = 0; let pathOwner: usize = 0;
let visited: usize = 0;
let cycleLen: i32 = 0;
/** Entity → task index for detector records (-1 for kernel threads), set by the scheduler. */
let firstTaskEntity: i32 = 0;

@inline function lf(l: i32, f: i32): i32 { return load<i32>(locks + (<usize>(l * L_STRIDE + f) << 2)); }
@inline function setLf(l: i32, f: i32, v: i32): void { store<i32>(locks + (<usize>(l * L_STRIDE + f) << 2), v); }
@inline function lockCell(l: i32, f: i32): usize { return locks + (<usize>(l * L_STRIDE + f) << 2); }
@inline function ei(base: usize, e: i32): i32 { return load<i32>(base + (<usize>e << 2)); }
@inline function setEi(base: usize, e: i32, v: i32): void { store<i32>(base + (<usize>e << 2), v); }
@inline function heldAt(e: i32, k: i32): i32 { return load<i32>(held + (<usize>(e * MAX_HELD + k) << 2)); }
@inline function setHeldAt(e: i32, k: i32, v: i32): void { store<i32>(held + (<usize>(e * MAX_HELD + k) << 2), v); }

// Pseudo-locks after the real ones, one per entity: "the folio entity h holds locked across a
// sleep" (folio_lock held while a reclaimer's notifier callback or the flusher's sleeps). A task
// that sleeps on that folio waits for h in the wait-for graph, so a cycle through a folio lock
// is a deadlock like any other.
let folioLockBase: i32 = 0;
let heldFolio: usize = 0;    // u32 per entity: the folio it holds locked across a sleep, or NONE
const NO_FOLIO_HELD: u32 = 0xFFFF_FFFF;

/** `n` locks (the scenario's and the mmap_locks, mmap_lock.ts); tasks' entities start at `taskEntity0`. */
export function lockingInit(n: i32, entities: i32, taskEntity0: i32): bool {
  folioLockBase = n;
  n += entities;
  nLocks = n; nEntities = entities; firstTaskEntity = taskEntity0;
  heldFolio = regionAlloc(<u64>entities * 4);
  if (heldFolio == 0) return false;
  for (let e = 0; e < entities; e++) store<u32>(heldFolio + (<usize>e << 2), NO_FOLIO_HELD);
  locks = regionAlloc(<u64>(n + 1) * L_STRIDE * 4);   // the folio pseudo-locks included (never acquired)
  waitingFor = regionAlloc(<u64>entities * 4);
  waitWrite = regionAlloc(<u64>entities);
  waitFunc = regionAlloc(<u64>entities * 4);
  waitSince = regionAlloc(<u64>entities * 8);
  nextWaiter = regionAlloc(<u64>entities * 4);
  granted = regionAlloc(<u64>entities * 4);
  held = regionAlloc(<u64>entities * MAX_HELD * 4);
  stuck = regionAlloc(<u64>entities);
  pathEntity = regionAlloc(<u64>(entities + 1) * 4);
  pathLock = regionAlloc(<u64>(entities + 1) * 4);
  pathOwner = regionAlloc(<u64>(entities + 1) * 4);
  visited = regionAlloc(<u64>entities);
  if (locks == 0 || waitingFor == 0 || waitWrite == 0 || waitFunc == 0 || waitSince == 0 || nextWaiter == 0 ||
    granted == 0 || held == 0 || stuck == 0 || pathEntity == 0 || pathLock == 0 || pathOwner == 0 || visited == 0) return false;
  for (let l = 0; l < n; l++) {
    setLf(l, L_KIND, LOCK_MUTEX); setLf(l, L_OWNER, -1); setLf(l, L_READERS, 0); setLf(l, L_HEAD, -1); setLf(l, L_TAIL, -1);
  }
  for (let e = 0; e < entities; e++) {
    setEi(waitingFor, e, -1); setEi(nextWaiter, e, -1); setEi(granted, e, -1);
    for (let k = 0; k < MAX_HELD; k++) setHeldAt(e, k, -1);
  }
  return true;
}

export function setLockKind(l: i32, kind: i32): void { setLf(l, L_KIND, kind); }
export function lockKind(l: i32): i32 { return lf(l, L_KIND); }

@inline function taskOf(e: i32): i32 { return e >= firstTaskEntity ? e - firstTaskEntity : -1; }

/** Does `e` hold lock `l` (as its writer or one of its readers), not just handed to it while it slept? */
export function lockHeldBy(l: i32, e: i32): bool { return holds(e, l) && ei(granted, e) != l; }
/** Does `e` hold `l` exclusively (a mutex, or an rwsem as its writer)? */
export function lockHeldForWrite(l: i32, e: i32): bool { return lf(l, L_OWNER) == e && ei(granted, e) != l; }

/** The time `e` slept on its lock, from waitSince to `now`, is lock-wait time. */
@inline function countWait(e: i32, now: i64): void {
  countAdd(C_MMSIM_LOCK_WAIT_NS, now - load<i64>(waitSince + (<usize>e << 3)));
}

/**
 * A wait that is no acquisition (vma_start_write waiting for the VMA's readers to leave): `e`
 * waits for `l`'s owners from `now` (kept if it already did), in kernel function `func`; the
 * caller sleeps on its own queue. A new wait may close a cycle.
 */
export function lockWaitBegin(e: i32, l: i32, func: i32, now: i64): void {
  if (ei(waitingFor, e) == l) return;
  setEi(waitingFor, e, l); store<u8>(waitWrite + <usize>e, 1);
  setEi(waitFunc, e, func); store<i64>(waitSince + (<usize>e << 3), now);
  checkDeadlock(e, now);
}

/** The end of such a wait. */
export function lockWaitEnd(e: i32, now: i64): void {
  if (ei(waitingFor, e) < 0) return;
  countWait(e, now);
  setEi(waitingFor, e, -1);
  store<u8>(stuck + <usize>e, 0);
}

function holds(e: i32, l: i32): bool {
  for (let k = 0; k < MAX_HELD; k++) if (heldAt(e, k) == l) return true;
  return false;
}
function addHeld(e: i32, l: i32): void {
  for (let k = 0; k < MAX_HELD; k++) if (heldAt(e, k) < 0) { setHeldAt(e, k, l); return; }
}
function removeHeld(e: i32, l: i32): void {
  for (let k = 0; k < MAX_HELD; k++) if (heldAt(e, k) == l) { setHeldAt(e, k, -1); return; }
}

/**
 * mutex_lock / down_write (`write`) / down_read for entity `e` at `now`, waiting in kernel
 * function `func`. True if `e` holds the lock; false if it sleeps in the lock's queue (stopNow:
 * the caller unwinds and calls again when `e` runs).
 */
export function lockAcquire(l: i32, e: i32, write: bool, func: i32, now: i64): bool {
  if (ei(granted, e) == l) { setEi(granted, e, -1); return true; }
  if (ei(waitingFor, e) == l) { cancel(e); setStop(); return false; }
  const exclusive = write || lf(l, L_KIND) == LOCK_MUTEX;
  // FIFO: nobody takes the lock past a waiter
  if (lf(l, L_HEAD) < 0 && lf(l, L_OWNER) < 0 && (!exclusive || lf(l, L_READERS) == 0)) {
    if (exclusive) setLf(l, L_OWNER, e); else setLf(l, L_READERS, lf(l, L_READERS) + 1);
    addHeld(e, l);
    return true;
  }
  // __mutex_lock_common / rwsem_down_*_slowpath: queue and sleep
  setEi(waitingFor, e, l); store<u8>(waitWrite + <usize>e, exclusive ? 1 : 0);
  setEi(waitFunc, e, func); store<i64>(waitSince + (<usize>e << 3), now);
  fifoAppend(lockCell(l, L_HEAD), lockCell(l, L_TAIL), nextWaiter, e);
  cancel(e);
  setStop();
  checkDeadlock(e, now);
  return false;
}

/**
 * mutex_trylock / down_write_trylock / down_read_trylock: take the lock only if it is free
 * for this mode and nobody waits (a reader does not pass a queued writer).
 */
export function lockTryAcquire(l: i32, e: i32, write: bool): bool {
  const exclusive = write || lf(l, L_KIND) == LOCK_MUTEX;
  if (lf(l, L_HEAD) >= 0 || lf(l, L_OWNER) >= 0 || (exclusive && lf(l, L_READERS) > 0)) return false;
  if (exclusive) setLf(l, L_OWNER, e); else setLf(l, L_READERS, lf(l, L_READERS) + 1);
  addHeld(e, l);
  return true;
}

/** mutex_unlock / up_write / up_read by `e` at `now`: the lock passes to the waiters at the head. */
export function lockRelease(l: i32, e: i32, now: i64): void {
  if (lf(l, L_OWNER) == e) {
    setLf(l, L_OWNER, -1);
    const m = mmapLockMm(l);
    if (m >= 0) vmaEndWriteAll(m);       // mmap_write_unlock → vma_end_write_all
  }
  else if (lf(l, L_KIND) == LOCK_RWSEM && lf(l, L_READERS) > 0 && holds(e, l)) setLf(l, L_READERS, lf(l, L_READERS) - 1);
  else { recordBug(DK_UNLOCK_NOT_HELD, 0xFFFF_FFFF, FN_MUTEX_UNLOCK, <f64>l); return; }
  removeHeld(e, l);
  handOver(l, now);
}

/**
 * downgrade_write by `e`, the writer of rwsem `l` (mmap_write_downgrade: munmap zaps under the
 * read lock): it stays a reader, and the readers queued at the head take the lock with it.
 */
export function lockDowngrade(l: i32, e: i32, now: i64): void {
  if (lf(l, L_OWNER) != e) { recordBug(DK_UNLOCK_NOT_HELD, 0xFFFF_FFFF, FN_MUTEX_UNLOCK, <f64>l); return; }
  setLf(l, L_OWNER, -1);
  setLf(l, L_READERS, lf(l, L_READERS) + 1);
  const m = mmapLockMm(l);
  if (m >= 0) vmaEndWriteAll(m);         // mmap_write_downgrade → vma_end_write_all
  handOver(l, now);
}

/** The lock passes to the waiters at the head of its queue that it admits now (FIFO). */
function handOver(l: i32, now: i64): void {
  for (;;) {
    const w = lf(l, L_HEAD);
    if (w < 0) break;
    const exclusive = load<u8>(waitWrite + <usize>w) != 0;
    if (lf(l, L_OWNER) >= 0 || (exclusive && lf(l, L_READERS) > 0)) break;
    // hand it over
    const nx = ei(nextWaiter, w);
    setLf(l, L_HEAD, nx);
    if (nx < 0) setLf(l, L_TAIL, -1);
    setEi(nextWaiter, w, -1); setEi(waitingFor, w, -1);
    countWait(w, now);
    if (exclusive) setLf(l, L_OWNER, w); else setLf(l, L_READERS, lf(l, L_READERS) + 1);
    addHeld(w, l);
    setEi(granted, w, l);
    store<u8>(stuck + <usize>w, 0);
    scheduleNoLater(w, now);
    if (exclusive) break;
  }
}

/** Is `e` asleep on a lock (uninterruptibly: a SIGKILL does not end the wait)? */
export function lockWaiting(e: i32): bool { return ei(waitingFor, e) >= 0; }
/** The kernel function `e` waits in (FN_*). */
export function lockWaitFunc(e: i32): i32 { return ei(waitFunc, e); }

/** An entity that ends (exit, OOM kill) leaves the queue it sleeps in and drops what it holds. */
export function locksAbandon(e: i32, now: i64): void {
  const l = ei(waitingFor, e);
  if (l >= 0) {
    fifoUnlink(lockCell(l, L_HEAD), lockCell(l, L_TAIL), nextWaiter, e);
    setEi(waitingFor, e, -1);
  }
  const g = ei(granted, e);
  if (g >= 0) { setEi(granted, e, -1); lockRelease(g, e, now); }
  for (let k = 0; k < MAX_HELD; k++) { const h = heldAt(e, k); if (h >= 0) lockRelease(h, e, now); }
}

/** Entity `e` keeps folio `p` locked while it sleeps (NO_FOLIO_HELD: it let go). */
export function folioHeldAcrossSleep(e: i32, p: u32): void { store<u32>(heldFolio + (<usize>e << 2), p); }

/** The pseudo-lock of the entity that holds folio `p` locked across a sleep, or -1. */
export function folioLockOf(p: u32): i32 {
  for (let e = 0; e < nEntities; e++) if (load<u32>(heldFolio + (<usize>e << 2)) == p) return folioLockBase + e;
  return -1;
}

/** Its holder lets folio `p` go (folio_unlock): the waits on it end at `now`. */
export function folioLockReleased(e: i32, now: i64): void {
  const l = folioLockBase + e;
  store<u32>(heldFolio + (<usize>e << 2), NO_FOLIO_HELD);
  for (let w = 0; w < nEntities; w++) if (ei(waitingFor, w) == l) lockWaitEnd(w, now);
}

/** Does `o` own lock `l` (as its writer or one of its readers)? */
function ownsLock(o: i32, l: i32): bool {
  if (l >= folioLockBase) return o == l - folioLockBase && load<u32>(heldFolio + (<usize>o << 2)) != NO_FOLIO_HELD;
  const m = vmaReadersLockMm(l);
  if (m >= 0) { const t = taskOf(o); return t >= 0 && holdsVmaRead(t, m); }
  return lf(l, L_OWNER) == o || (lf(l, L_READERS) > 0 && holds(o, l));
}

/** Depth-first search of the wait-for graph from `e` back to `start`; the path in path*. */
function cyclePath(e: i32, start: i32, depth: i32): bool {
  const l = ei(waitingFor, e);
  if (l < 0 || depth >= nEntities) return false;
  for (let o = 0; o < nEntities; o++) {
    if (!ownsLock(o, l)) continue;
    setEi(pathEntity, depth, e); setEi(pathLock, depth, l); setEi(pathOwner, depth, o);
    if (o == start) { cycleLen = depth + 1; return true; }
    if (load<u8>(visited + <usize>o) != 0) continue;
    store<u8>(visited + <usize>o, 1);
    if (cyclePath(o, start, depth + 1)) return true;
  }
  return false;
}

/** A new wait of `e`: does it close a cycle? Record it, one detector record per member. */
function checkDeadlock(e: i32, now: i64): void {
  memory.fill(visited, 0, <usize>nEntities);
  store<u8>(visited + <usize>e, 1);
  cycleLen = 0;
  if (!cyclePath(e, e, 0)) return;
  countEvent(C_MMSIM_DEADLOCK);
  for (let i = 0; i < cycleLen; i++) {
    const m = ei(pathEntity, i);
    store<u8>(stuck + <usize>m, 1);
    // the member entity rides in the pfn slot (kthreads have no task index)
    recordDetector(DK_DEADLOCK, <u32>m, taskOf(m), ei(waitFunc, m), <f64>i, ei(pathLock, i), ei(pathOwner, i));
  }
}

/**
 * check_hung_uninterruptible_tasks for the lock sleepers: each task asleep on a lock for more
 * than `timeoutNs` (0 = off), outside any deadlock cycle, is reported once.
 */
export function checkHungTasks(now: i64, timeoutNs: i64): void {
  if (timeoutNs <= 0) return;
  for (let e = 0; e < nEntities; e++) {
    const l = ei(waitingFor, e);
    if (l < 0 || load<u8>(stuck + <usize>e) != 0) continue;
    const since = load<i64>(waitSince + (<usize>e << 3));
    if (now - since <= timeoutNs) continue;
    store<u8>(stuck + <usize>e, 2);
    countEvent(C_MMSIM_HUNG_TASK);
    let owner = lf(l, L_OWNER);
    if (owner < 0) for (let o = 0; o < nEntities; o++) if (ownsLock(o, l)) { owner = o; break; }
    recordDetector(DK_HUNG_TASK, <u32>e, taskOf(e), ei(waitFunc, e), <f64>(now - since), l, owner);
  }
}
