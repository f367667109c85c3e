// Interval notifiers (mm/mmu_notifier.c, v5.5+): a subscription over an address range that has
// one invalidate callback and no end, and the sequence protocol its users follow instead of a
// lock held across their fault:
//   seq = mmu_interval_read_begin(sub)  — sleeps while an invalidation covering it runs;
//   fault the pages (hmm_range_fault, or get_user_pages);
//   take the driver lock; if mmu_interval_read_retry(sub, seq): start again; else program the
//   device and drop the lock.
// Per mm, subscriptions->invalidate_seq starts at 2 and is odd while an invalidation runs
// over some interval (mn_itree_inv_start_range); the invalidate callback copies that odd value
// into its subscription (mmu_interval_set_seq); the last of the concurrent ranges to end makes
// it even again and wakes the waiters (mn_itree_inv_end). An insert while ranges are active is
// deferred to that end.
//
// Here the `mirror` client under notifiers.policy mainline is an interval notifier (HMM's
// users became ones in v5.5); it is inserted when a guest phase first goes through it, over
// that phase's VMA.
import { regionAlloc } from './mem';
import { countEvent } from './vmstat';
import { wakeUpAll } from './wait';
import { C_MMSIM_INTERVAL_DEFERRED_INSERTS } from './generated/abi';

const NOT_INSERTED: u8 = 0;
const IN_TREE: u8 = 1;
const DEFERRED: u8 = 2;

let seqOf: usize = 0;       // i64 per mm: subscriptions->invalidate_seq
let activeOf: usize = 0;    // i32 per mm: active_invalidate_ranges
let ivSeq: usize = 0;       // i64 per subscription: interval_sub->invalidate_seq
let ivState: usize = 0;     // u8 per subscription
let ivRange: usize = 0;     // i64 pairs per subscription: [start, end) in pages
let queue0: i32 = 0;        // subscriptions->wq of mm 0; mm m's is queue0 + m

@inline function seq(m: i32): i64 { return load<i64>(seqOf + (<usize>m << 3)); }
@inline function setSeq(m: i32, v: i64): void { store<i64>(seqOf + (<usize>m << 3), v); }
@inline function active(m: i32): i32 { return load<i32>(activeOf + (<usize>m << 2)); }
@inline function setActive(m: i32, v: i32): void { store<i32>(activeOf + (<usize>m << 2), v); }
@inline function state(s: i32): u8 { return load<u8>(ivState + <usize>s); }

export function intervalInit(mms: i32, subs: i32, firstQueue: i32): bool {
  seqOf = regionAlloc(<u64>(mms + 1) * 8);
  activeOf = regionAlloc(<u64>(mms + 1) * 4);
  ivSeq = regionAlloc(<u64>(subs + 1) * 8);
  ivState = regionAlloc(<u64>(subs + 1));
  ivRange = regionAlloc(<u64>(subs + 1) * 16);
  if (seqOf == 0 || activeOf == 0 || ivSeq == 0 || ivState == 0 || ivRange == 0) return false;
  for (let m = 0; m < mms; m++) setSeq(m, 2);
  queue0 = firstQueue;
  return true;
}

/** subscriptions->wq of mm `m`: where mmu_interval_read_begin sleeps. */
@inline export function itreeQueue(m: i32): i32 { return queue0 + m; }

/** Is subscription `s` in mm `m`'s interval tree (or about to be, deferred)? */
@inline export function intervalInserted(s: i32): bool { return state(s) != NOT_INSERTED; }

/** Does `s`'s interval, in the tree, overlap [start, end)? */
export function intervalOverlaps(s: i32, start: i64, end: i64): bool {
  if (state(s) != IN_TREE) return false;
  const a = ivRange + (<usize>s << 4);
  return start < load<i64>(a, 8) && end > load<i64>(a);
}

/** mn_itree_inv_start_range: one more active range; odd if it covers an interval (`covers`). The current seq. */
export function itreeInvStart(m: i32, covers: bool): i64 {
  setActive(m, active(m) + 1);
  if (covers) setSeq(m, seq(m) | 1);
  return seq(m);
}

/** mn_itree_inv_end at `now`: the last active range makes the seq even, inserts the deferred, wakes the readers. */
export function itreeInvEnd(m: i32, first: i32, n: i32, now: i64): void {
  const left = active(m) - 1;
  setActive(m, left);
  if (left > 0 || (seq(m) & 1) == 0) return;
  setSeq(m, seq(m) + 1);
  for (let s = first; s < first + n; s++) if (state(s) == DEFERRED) store<u8>(ivState + <usize>s, IN_TREE);
  wakeUpAll(itreeQueue(m), now);
}

/** The mm's subscriptions->invalidate_seq (odd while an invalidation covers an interval). */
@inline export function itreeSeqNow(m: i32): i64 { return seq(m); }

/** mmu_interval_set_seq, from the invalidate callback: the subscription takes the (odd) seq of the invalidation. */
@inline export function intervalSetSeq(s: i32, v: i64): void { store<i64>(ivSeq + (<usize>s << 3), v); }

/**
 * mmu_interval_notifier_insert of `s` on mm `m` over [start, end) — a later call widens the
 * interval. While ranges are active it joins their invalidation: deferred to their end if one
 * covers an interval already (the seq is odd), else in the tree with the seq made odd; either
 * way it takes that odd seq, so that a read_begin waits for the end. Otherwise it takes
 * seq − 1, odd and unequal to the mm's.
 */
export function intervalInsert(s: i32, m: i32, start: i64, end: i64): void {
  const a = ivRange + (<usize>s << 4);
  if (state(s) != NOT_INSERTED) {
    if (start < load<i64>(a)) store<i64>(a, start);
    if (end > load<i64>(a, 8)) store<i64>(a, end, 8);
    return;
  }
  store<i64>(a, start); store<i64>(a, end, 8);
  if (active(m) > 0) {
    if ((seq(m) & 1) != 0) { store<u8>(ivState + <usize>s, DEFERRED); countEvent(C_MMSIM_INTERVAL_DEFERRED_INSERTS); }
    else { setSeq(m, seq(m) | 1); store<u8>(ivState + <usize>s, IN_TREE); }
    intervalSetSeq(s, seq(m));
  } else {
    store<u8>(ivState + <usize>s, IN_TREE);
    intervalSetSeq(s, seq(m) - 1);
  }
}

/**
 * mmu_interval_read_begin of `s` on mm `m`: its seq, or -1 while an invalidation covering it
 * runs (its seq is the mm's odd one) — the caller sleeps on itreeQueue(m) and calls again.
 */
export function intervalReadBegin(s: i32, m: i32): i64 {
  const v = load<i64>(ivSeq + (<usize>s << 3));
  return v == seq(m) ? -1 : v;
}

/** mmu_interval_read_retry: did an invalidation of `s` begin since read_begin returned `v`? */
@inline export function intervalReadRetry(s: i32, v: i64): bool { return load<i64>(ivSeq + (<usize>s << 3)) != v; }
