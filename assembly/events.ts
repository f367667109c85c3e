// The simulated clock and the event queue: an indexed binary min-heap of entities (tasks,
// kswapd, the flusher, block devices, the sampler), each with at most one pending wake-up.
// Ties are broken by entity id, never by insertion order, so the order of events does not
// depend on how the host slices run() calls.
import { regionAlloc } from './mem';
import { recordBug } from './invariants';
import { DK_TIME_BACKWARDS, FN_SCHEDULE } from './generated/abi';

export const EV_NONE: i64 = -1;

export let now: i64 = 0;
export let lastEventId: i32 = -1;
let cap: i32 = 0;
let size: i32 = 0;
let heapIds: usize = 0;   // i32[cap]: entity ids in heap order
let pos: usize = 0;       // i32[cap]: position of entity in heap, -1 if not queued
let when: usize = 0;      // i64[cap]: wake time of entity

export function eventsInit(entities: i32): bool {
  cap = entities; size = 0; now = 0;
  heapIds = regionAlloc(<u64>cap * 4);
  pos = regionAlloc(<u64>cap * 4);
  when = regionAlloc(<u64>cap * 8);
  if (pos == 0 || when == 0 || heapIds == 0) return false;
  for (let i = 0; i < cap; i++) store<i32>(pos + (<usize>i << 2), -1);
  return true;
}

export function setNow(t: i64): void { now = t; }

@inline function idAt(i: i32): i32 { return load<i32>(heapIds + (<usize>i << 2)); }
@inline function timeOf(id: i32): i64 { return load<i64>(when + (<usize>id << 3)); }
@inline function less(a: i32, b: i32): bool {
  const ta = timeOf(a); const tb = timeOf(b);
  return ta < tb || (ta == tb && a < b);
}
@inline function place(i: i32, id: i32): void {
  store<i32>(heapIds + (<usize>i << 2), id);
  store<i32>(pos + (<usize>id << 2), i);
}
function siftUp(i: i32): void {
  const id = idAt(i);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const pid = idAt(parent);
    if (!less(id, pid)) break;
    place(i, pid);
    i = parent;
  }
  place(i, id);
}
function siftDown(i: i32): void {
  const id = idAt(i);
  for (;;) {
    let c = 2 * i + 1;
    if (c >= size) break;
    if (c + 1 < size && less(idAt(c + 1), idAt(c))) c++;
    if (!less(idAt(c), id)) break;
    place(i, idAt(c));
    i = c;
  }
  place(i, id);
}

/**
 * Schedule (or move) entity `id`'s wake-up to time `t`. Time is causal: nothing is scheduled
 * before the event being processed; a request to is a detector hit and runs at `now`.
 */
export function schedule(id: i32, t: i64): void {
  if (t < now) { recordBug(DK_TIME_BACKWARDS, 0xFFFF_FFFF, FN_SCHEDULE, <f64>(t - now)); t = now; }
  store<i64>(when + (<usize>id << 3), t);
  const p = load<i32>(pos + (<usize>id << 2));
  if (p < 0) {
    place(size, id);
    size++;
    siftUp(size - 1);
  } else {
    siftUp(p);
    siftDown(load<i32>(pos + (<usize>id << 2)));
  }
}

/** Schedule `id` at `t` unless it is already due earlier. */
export function scheduleNoLater(id: i32, t: i64): void {
  const p = load<i32>(pos + (<usize>id << 2));
  if (p >= 0 && timeOf(id) <= t) return;
  schedule(id, t);
}

export function cancel(id: i32): void {
  const p = load<i32>(pos + (<usize>id << 2));
  if (p < 0) return;
  store<i32>(pos + (<usize>id << 2), -1);
  size--;
  if (p == size) return;
  place(p, idAt(size));
  siftUp(p);
  siftDown(load<i32>(pos + (<usize>idAt(p) << 2)));
}

export function isScheduled(id: i32): bool { return load<i32>(pos + (<usize>id << 2)) >= 0; }
export function scheduledAt(id: i32): i64 { return timeOf(id); }
/** Time of the earliest pending event (EV_NONE if none). */
export function peekTime(): i64 { return size == 0 ? EV_NONE : timeOf(idAt(0)); }
export function peekId(): i32 { return size == 0 ? -1 : idAt(0); }
/** Remove and return the earliest entity; the clock moves to its time. */
export function pop(): i32 {
  const id = idAt(0);
  const t = timeOf(id);
  if (t < now) recordBug(DK_TIME_BACKWARDS, 0xFFFF_FFFF, FN_SCHEDULE, <f64>(t - now));
  now = t;
  cancel(id);
  lastEventId = id;
  return id;
}
