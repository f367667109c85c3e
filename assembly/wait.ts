// Sleeping inside kernel paths (kernel/sched/wait.c: prepare_to_wait, finish_wait, wake_up;
// kernel/time/timer.c: schedule_timeout). A sleeper is an entity of the event queue: while it
// waits it has no event, or one at its timeout; a wake-up moves that event to the waker's
// time. The event heap stays the only clock. The code that sleeps keeps its own resume point
// (a stage in its record); this file only queues, times and wakes.
//
// A kernel path that sleeps or yields sets `stopNow` and returns to its caller with "not yet";
// the caller unwinds to the scheduler without rescheduling the entity, which is already
// queued (at its timeout, its wake-up, or — for a yield — at its own clock).
import { regionAlloc } from './mem';
import { schedule, scheduleNoLater, cancel, peekTime, peekId, EV_NONE } from './events';

/** pgdat->reclaim_wait[VMSCAN_THROTTLE_*] */
export const WQ_RECLAIM_WRITEBACK: i32 = 0;
export const WQ_RECLAIM_ISOLATED: i32 = 1;
export const WQ_RECLAIM_NOPROGRESS: i32 = 2;
export const WQ_RECLAIM_CONGESTED: i32 = 3;
/** pgdat->pfmemalloc_wait: direct reclaimers throttled until kswapd restores free pages */
export const WQ_PFMEMALLOC: i32 = 4;
/** folio_wait_table (mm/filemap.c): PAGE_WAIT_TABLE_SIZE queues hashed by folio, keyed waits */
export const WQ_FOLIO_TABLE: i32 = 5;
export const PAGE_WAIT_TABLE_BITS: i32 = 8;
export const PAGE_WAIT_TABLE_SIZE: i32 = 1 << PAGE_WAIT_TABLE_BITS;
/** mm->vma_writer_wait of each mm, after the folio table: vma_start_write waits for readers */
export const WQ_VMA_WRITER: i32 = WQ_FOLIO_TABLE + PAGE_WAIT_TABLE_SIZE;

let waitingOn: usize = 0;   // i32 per entity: the queue it waits on, or -1
let nextWaiter: usize = 0;  // i32 per entity: the next waiter in its queue, or -1
let wokenFlag: usize = 0;   // u8 per entity: a wake-up (not the timeout) ended its last sleep
let waitKey: usize = 0;     // u32 per entity: what it waits for in a shared queue (a folio)
let sleptAt: usize = 0;     // i64 per entity: when its last sleep began
let qHead: usize = 0;
let qTail: usize = 0;
let qLen: usize = 0;
let nQueues: i32 = 0;

/** Set when the running actor's kernel path went to sleep or yielded: unwind, don't reschedule. */
export let stopNow: bool = false;
export function clearStop(): void { stopNow = false; }
export function setStop(): void { stopNow = true; }

@inline function ld(base: usize, i: i32): i32 { return load<i32>(base + (<usize>i << 2)); }
@inline function st(base: usize, i: i32, v: i32): void { store<i32>(base + (<usize>i << 2), v); }

/** The interval notifiers' subscriptions->wq of each mm, after the vma_writer_waits. */
export function itreeQueueBase(mms: i32): i32 { return WQ_VMA_WRITER + mms; }

/** The fixed queues, the folio table, one vma_writer_wait per mm and one interval-notifier wq per mm. */
export function waitInit(entities: i32, mms: i32): bool {
  nQueues = WQ_VMA_WRITER + 2 * mms;
  waitingOn = regionAlloc(<u64>entities * 4);
  nextWaiter = regionAlloc(<u64>entities * 4);
  wokenFlag = regionAlloc(<u64>entities);
  waitKey = regionAlloc(<u64>entities * 4);
  sleptAt = regionAlloc(<u64>entities * 8);
  qHead = regionAlloc(<u64>nQueues * 4);
  qTail = regionAlloc(<u64>nQueues * 4);
  qLen = regionAlloc(<u64>nQueues * 4);
  if (waitingOn == 0 || nextWaiter == 0 || wokenFlag == 0 || waitKey == 0 || sleptAt == 0 || qHead == 0 ||
    qTail == 0 || qLen == 0) return false;
  for (let e = 0; e < entities; e++) { st(waitingOn, e, -1); st(nextWaiter, e, -1); }
  for (let q = 0; q < nQueues; q++) { st(qHead, q, -1); st(qTail, q, -1); st(qLen, q, 0); }
  stopNow = false;
  return true;
}

/** waitqueue_active */
export function waitqueueActive(q: i32): bool { return ld(qLen, q) > 0; }
export function waitqueueLen(q: i32): i32 { return ld(qLen, q); }
export function waitingQueue(e: i32): i32 { return ld(waitingOn, e); }
/** Is `q` one of the folio_wait_table's queues? */
@inline export function isFolioQueue(q: i32): bool { return q >= WQ_FOLIO_TABLE && q < WQ_FOLIO_TABLE + PAGE_WAIT_TABLE_SIZE; }

/**
 * A FIFO of entities linked through `next` (i32 per entity), its first and last at the i32
 * cells `head` and `tail` (-1 when empty): the wait queues here and the locks' waiters.
 */
export function fifoAppend(head: usize, tail: usize, next: usize, e: i32): void {
  st(next, e, -1);
  const last = load<i32>(tail);
  if (last < 0) store<i32>(head, e); else st(next, last, e);
  store<i32>(tail, e);
}

/** Unlink `e` from such a FIFO; false if it was not there. */
export function fifoUnlink(head: usize, tail: usize, next: usize, e: i32): bool {
  let prev = -1; let cur = load<i32>(head);
  while (cur >= 0 && cur != e) { prev = cur; cur = ld(next, cur); }
  if (cur != e) return false;
  const nx = ld(next, e);
  if (prev < 0) store<i32>(head, nx); else st(next, prev, nx);
  if (load<i32>(tail) == e) store<i32>(tail, prev);
  st(next, e, -1);
  return true;
}

@inline function qCell(base: usize, q: i32): usize { return base + (<usize>q << 2); }

function enqueue(q: i32, e: i32): void {
  st(waitingOn, e, q);
  fifoAppend(qCell(qHead, q), qCell(qTail, q), nextWaiter, e);
  st(qLen, q, ld(qLen, q) + 1);
}

/** Unlink `e` from the queue it waits on (a no-op if none). */
function dequeue(e: i32): void {
  const q = ld(waitingOn, e);
  if (q < 0) return;
  if (fifoUnlink(qCell(qHead, q), qCell(qTail, q), nextWaiter, e)) st(qLen, q, ld(qLen, q) - 1);
  st(waitingOn, e, -1);
}

/**
 * prepare_to_wait + schedule_timeout: entity `e` sleeps on `q` from `now` until a wake-up or,
 * if `timeoutNs` ≥ 0, until `now + timeoutNs`. The caller returns "not yet" (stopNow).
 */
export function sleepOn(q: i32, e: i32, now: i64, timeoutNs: i64): void {
  if (ld(waitingOn, e) != q) { dequeue(e); enqueue(q, e); }
  store<u8>(wokenFlag + <usize>e, 0);
  store<i64>(sleptAt + (<usize>e << 3), now);
  if (timeoutNs >= 0) schedule(e, now + timeoutNs); else cancel(e);
  stopNow = true;
}

/** schedule_timeout without a queue (a wait for I/O whose completion time is known): sleep until `t`. */
export function sleepUntil(e: i32, t: i64): void {
  dequeue(e);
  store<u8>(wokenFlag + <usize>e, 0);
  schedule(e, t);
  stopNow = true;
}

/** finish_wait: leave the queue (after a timeout). True if a wake-up ended the sleep. */
export function finishWait(e: i32): bool {
  dequeue(e);
  return load<u8>(wokenFlag + <usize>e) != 0;
}

/** wake_up_all at time `t`: every waiter of `q` runs again at `t` (or earlier, if it was due). */
export function wakeUpAll(q: i32, t: i64): void {
  let e = ld(qHead, q);
  while (e >= 0) {
    const nx = ld(nextWaiter, e);
    st(waitingOn, e, -1); st(nextWaiter, e, -1);
    store<u8>(wokenFlag + <usize>e, 1);
    scheduleNoLater(e, t);
    e = nx;
  }
  st(qHead, q, -1); st(qTail, q, -1); st(qLen, q, 0);
}

/**
 * A wait for `key` on a shared queue (folio_wait_bit_common on a hashed folio queue): `e`
 * sleeps from `now` until wakeUpKey(q, key) or, if `timeoutNs` ≥ 0, until `now + timeoutNs`
 * (then finishWait says it was not woken).
 */
export function sleepOnKey(q: i32, key: u32, e: i32, now: i64, timeoutNs: i64 = -1): void {
  store<u32>(waitKey + (<usize>e << 2), key);
  sleepOn(q, e, now, timeoutNs);
}

/**
 * folio_wake_bit's walk: wake, at `t`, the waiters of `q` that wait for `key`; the others
 * stay. Returns the time the woken ones slept, summed.
 */
export function wakeUpKey(q: i32, key: u32, t: i64): i64 {
  let slept: i64 = 0;
  let prev = -1; let e = ld(qHead, q);
  while (e >= 0) {
    const nx = ld(nextWaiter, e);
    if (load<u32>(waitKey + (<usize>e << 2)) == key) {
      if (prev < 0) st(qHead, q, nx); else st(nextWaiter, prev, nx);
      if (ld(qTail, q) == e) st(qTail, q, prev);
      st(qLen, q, ld(qLen, q) - 1);
      st(waitingOn, e, -1); st(nextWaiter, e, -1);
      store<u8>(wokenFlag + <usize>e, 1);
      slept += t - load<i64>(sleptAt + (<usize>e << 3));
      scheduleNoLater(e, t);
    } else prev = e;
    e = nx;
  }
  return slept;
}

/** A killed or finished entity leaves whatever queue it was on. */
export function abandonWait(e: i32): void { dequeue(e); }

/**
 * cond_resched for a simulated kernel path: true when another entity's event is due before
 * (t, e) — the path must yield so that it runs first.
 */
@inline export function mustYield(e: i32, t: i64): bool {
  const h = peekTime();
  return h != EV_NONE && (h < t || (h == t && peekId() < e));
}

/** Yield: run again at `t`, after whatever is due before. */
export function yieldAt(e: i32, t: i64): void {
  schedule(e, t);
  stopNow = true;
}
