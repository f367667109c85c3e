// MMU notifiers (mm/mmu_notifier.c, include/linux/mmu_notifier.h): the subscriptions on each
// mm, and invalidate_range_start / invalidate_range_end as the scenario's `notifiers.policy`
// walks them — the 2018 loop (v4.19-v5.11), the thread's two proposals, and mainline — with
// a ledger that pairs every successful start with its end (mmsim_notifier_unpaired_start,
// mmsim_notifier_unpaired_end). The clients are small state machines: kvm's in-progress count
// (mmu_invalidate_in_progress), gru's lock held from start to end, a mirror's or a generic
// driver's lock that a non-blocking start finds busy with probability `busy` (the reaper rule
// `notifiers.reaper` decides what a busy or blocking callback does in non-blocking context).
//
// Callbacks in blockable context succeed without sleeping here; sleeping callbacks (a driver's
// lock of locking.ts) are the next step of the notifier issue.
import { cfg, subCfg } from './config';
import { G_N_SUBSCRIBERS, G_NOTIFIER_POLICY, G_NOTIFIER_REAPER, G_SEED, SUB_MM, SUB_CLIENT, SUB_IMPLEMENTS_END,
  SUB_BUSY, CLIENT_KVM, CLIENT_GRU, CLIENT_MIRROR, NP_2018, NP_BAN_MULTIPLE, NP_SORTED_2020,
  REAP_ALWAYS_EAGAIN, REAP_TRYLOCK_BLOCKING_END, C_MMSIM_NOTIFIER_INVALIDATIONS, C_MMSIM_NOTIFIER_START_FAILED,
  C_MMSIM_NOTIFIER_UNPAIRED_START, C_MMSIM_NOTIFIER_UNPAIRED_END, C_MMSIM_NONBLOCK_DISABLED,
  C_MMSIM_END_BLOCKED_AFTER_NONBLOCKING_START, DK_NOTIFIER_UNPAIRED_START, DK_NOTIFIER_UNPAIRED_END,
  DK_END_BLOCKED_AFTER_NONBLOCKING_START, FN_MMU_NOTIFIER_INVALIDATE_RANGE_START,
  FN_MMU_NOTIFIER_INVALIDATE_RANGE_END } from './generated/abi';
import { regionAlloc } from './mem';
import { countEvent } from './vmstat';
import { recordDetector } from './invariants';
import { nextF64, randomSeed } from './random';

// enum mmu_notifier_event
export const MMU_NOTIFY_UNMAP: i32 = 0;
export const MMU_NOTIFY_CLEAR: i32 = 1;
export const MMU_NOTIFY_PROTECTION_VMA: i32 = 2;
export const MMU_NOTIFY_PROTECTION_PAGE: i32 = 3;
export const MMU_NOTIFY_RELEASE: i32 = 5;
/** MMU_NOTIFIER_RANGE_BLOCKABLE */
export const RANGE_BLOCKABLE: u32 = 1;
/** invalidate_range_start's -EAGAIN */
export const EAGAIN: i32 = -11;
/** Up to this many subscriptions per mm (a range's ledger is a bit mask). */
export const MAX_SUBSCRIBERS_PER_MM: i32 = 32;

/**
 * struct mmu_notifier_range, with the ledger of this invalidation: which subscribers' starts
 * succeeded (and so expect their end). The kernel keeps it on the caller's stack.
 */
@unmanaged export class MmuNotifierRange {
  mm: i32;
  event: i32;
  flags: u32;
  /** subscribers (bits by place in the mm's list) whose start succeeded */
  started: u32;
  start: i64;
  end: i64;
}

let ranges: usize = 0;
const RANGE_BYTES: usize = (offsetof<MmuNotifierRange>() + 7) & ~(<usize>7);
/** The range record of entity `e`'s invalidation in progress (its stack frame). */
@inline export function rangeOf(e: i32): MmuNotifierRange { return changetype<MmuNotifierRange>(ranges + <usize>e * RANGE_BYTES); }

let nSubs: i32 = 0;
let policy: i32 = 0;
let reaperRule: i32 = 0;
let subFirst: usize = 0;    // i32 per mm: first subscription index (subscriptions grouped by mm)
let subCount: usize = 0;    // i32 per mm
let order: usize = 0;       // i32 per subscription: the walk order within its mm (hlist order)
let kvmCount: usize = 0;    // i32 per subscription: kvm's mmu_invalidate_in_progress
let gruLocked: usize = 0;   // u8 per subscription: gru's lock, held from start to end
let stream: i32 = 0;        // the drivers' random stream (is the lock busy?)
let blockedEnd: bool = false;

@inline function ld(b: usize, i: i32): i32 { return load<i32>(b + (<usize>i << 2)); }
@inline function st(b: usize, i: i32, v: i32): void { store<i32>(b + (<usize>i << 2), v); }

/** Subscriptions from the config, `stream` a random stream of their own. */
export function mmuNotifierInit(mms: i32, entities: i32, randomStream: i32): bool {
  nSubs = <i32>cfg(G_N_SUBSCRIBERS);
  ranges = regionAlloc(<u64>entities * <u64>RANGE_BYTES);
  if (ranges == 0) return false;
  policy = <i32>cfg(G_NOTIFIER_POLICY);
  reaperRule = <i32>cfg(G_NOTIFIER_REAPER);
  subFirst = regionAlloc(<u64>(mms + 1) * 4);
  subCount = regionAlloc(<u64>(mms + 1) * 4);
  order = regionAlloc(<u64>(nSubs + 1) * 4);
  kvmCount = regionAlloc(<u64>(nSubs + 1) * 4);
  gruLocked = regionAlloc(<u64>(nSubs + 1));
  if (subFirst == 0 || subCount == 0 || order == 0 || kvmCount == 0 || gruLocked == 0) return false;
  for (let s = 0; s < nSubs; s++) {
    const m = <i32>subCfg(s, SUB_MM);
    if (ld(subCount, m) == 0) st(subFirst, m, s);
    st(subCount, m, ld(subCount, m) + 1);
  }
  for (let m = 0; m < mms; m++) buildOrder(m);
  stream = randomStream;
  randomSeed(stream, <u64>cfg(G_SEED) ^ 0x6D6D_755F_6E6F_7469);
  blockedEnd = false;
  return true;
}

@inline function implementsEnd(s: i32): bool { return subCfg(s, SUB_IMPLEMENTS_END) != 0; }
/** A subscriber that takes a lock it may find busy (mirror, generic): it may block. */
@inline function mayBlock(s: i32): bool { const c = <i32>subCfg(s, SUB_CLIENT); return c != CLIENT_KVM && c != CLIENT_GRU; }

/**
 * The walk order of `m`'s subscriptions: hlist_add_head (newest first) in the 2018 core and
 * mainline; sorted-2020 keeps the subscribers that need end last (in registration order
 * otherwise, as the proposal sorted them on insert); ban-multiple as 2018.
 */
function buildOrder(m: i32): void {
  const first = ld(subFirst, m); const n = ld(subCount, m);
  let k = 0;
  if (policy == NP_SORTED_2020) {
    for (let pass = 0; pass < 2; pass++) {
      for (let s = first; s < first + n; s++) if ((implementsEnd(s) ? 1 : 0) == pass) { st(order, first + k, s); k++; }
    }
  } else {
    for (let s = first + n - 1; s >= first; s--) { st(order, first + k, s); k++; }
  }
}

/** mm_has_notifiers */
@inline export function mmHasNotifiers(m: i32): bool { return nSubs > 0 && ld(subCount, m) > 0; }

/** mm_has_blockable_invalidate_notifiers (v4.15-v4.18): a subscriber without MMU_INVALIDATE_DOES_NOT_BLOCK. */
export function mmHasBlockableNotifiers(m: i32): bool {
  const first = ld(subFirst, m); const n = ld(subCount, m);
  for (let s = first; s < first + n; s++) if (mayBlock(s)) return true;
  return false;
}

export function rangeInit(r: MmuNotifierRange, event: i32, flags: u32, m: i32, start: i64, end: i64): void {
  r.mm = m; r.event = event; r.flags = flags; r.start = start; r.end = end; r.started = 0;
}

/** One subscriber's invalidate_range_start: 0, or -EAGAIN in non-blocking context. */
function subscriberStart(s: i32, blockable: bool): i32 {
  const client = <i32>subCfg(s, SUB_CLIENT);
  if (client == CLIENT_KVM) { st(kvmCount, s, ld(kvmCount, s) + 1); return 0; }
  if (client == CLIENT_GRU) { store<u8>(gruLocked + <usize>s, 1); return 0; }
  if (blockable) return 0;             // it would take its lock, sleeping if it must
  if (reaperRule == REAP_ALWAYS_EAGAIN) return EAGAIN;
  // trylock: busy with probability `busy`
  return nextF64(stream) < subCfg(s, SUB_BUSY) ? EAGAIN : 0;
}

/** One subscriber's invalidate_range_end for range `r` (whose ledger says whether its start succeeded). */
function subscriberEnd(r: MmuNotifierRange, s: i32, bit: u32, now: i64): void {
  const client = <i32>subCfg(s, SUB_CLIENT);
  if ((r.started & bit) == 0) {
    countEvent(C_MMSIM_NOTIFIER_UNPAIRED_END);
    recordDetector(DK_NOTIFIER_UNPAIRED_END, 0xFFFF_FFFF, r.mm, FN_MMU_NOTIFIER_INVALIDATE_RANGE_END, <f64>r.start, -1, s);
  }
  r.started &= ~bit;
  if (client == CLIENT_KVM) st(kvmCount, s, ld(kvmCount, s) - 1);
  else if (client == CLIENT_GRU) store<u8>(gruLocked + <usize>s, 0);
  else if ((r.flags & RANGE_BLOCKABLE) == 0 && reaperRule == REAP_TRYLOCK_BLOCKING_END) {
    // its end takes the lock unconditionally: a sleep where nothing may sleep
    countEvent(C_MMSIM_END_BLOCKED_AFTER_NONBLOCKING_START);
    recordDetector(DK_END_BLOCKED_AFTER_NONBLOCKING_START, 0xFFFF_FFFF, r.mm, FN_MMU_NOTIFIER_INVALIDATE_RANGE_END, <f64>r.start, -1, s);
    blockedEnd = true;
  }
}

/** The ledger's other half: starts that succeeded and whose end will never be called. */
function unpairedStarts(r: MmuNotifierRange): void {
  const first = ld(subFirst, r.mm); const n = ld(subCount, r.mm);
  for (let k = 0; k < n; k++) {
    const s = ld(order, first + k);
    const bit: u32 = 1 << <u32>k;
    if ((r.started & bit) == 0 || !implementsEnd(s)) continue;
    countEvent(C_MMSIM_NOTIFIER_UNPAIRED_START);
    recordDetector(DK_NOTIFIER_UNPAIRED_START, 0xFFFF_FFFF, r.mm, FN_MMU_NOTIFIER_INVALIDATE_RANGE_START, <f64>r.start, -1, s);
  }
  r.started = 0;
}

/**
 * mmu_notifier_invalidate_range_start (or its _nonblock form, without RANGE_BLOCKABLE):
 * 0, or -EAGAIN — after which the caller calls no end, and the core has unwound as its policy
 * does.
 */
export function invalidateRangeStart(r: MmuNotifierRange, now: i64): i32 {
  r.started = 0;
  const m = r.mm;
  if (!mmHasNotifiers(m)) return 0;
  countEvent(C_MMSIM_NOTIFIER_INVALIDATIONS);
  const blockable = (r.flags & RANGE_BLOCKABLE) != 0;
  const first = ld(subFirst, m); const n = ld(subCount, m);
  if (!blockable) {
    if (policy == NP_BAN_MULTIPLE && n > 1) { countEvent(C_MMSIM_NOTIFIER_START_FAILED); return EAGAIN; }
    if (policy == NP_SORTED_2020) {
      let needers = 0;
      for (let s = first; s < first + n; s++) if (implementsEnd(s)) needers++;
      if (needers > 1) { countEvent(C_MMSIM_NONBLOCK_DISABLED); countEvent(C_MMSIM_NOTIFIER_START_FAILED); return EAGAIN; }
    }
  }
  let ret = 0;
  for (let k = 0; k < n; k++) {
    const s = ld(order, first + k);
    const rc = subscriberStart(s, blockable);
    if (rc == 0) { r.started |= <u32>1 << <u32>k; continue; }
    ret = rc;
    if (policy == NP_SORTED_2020) break;       // the walk stops at the first failure
  }
  if (ret == 0) return 0;
  countEvent(C_MMSIM_NOTIFIER_START_FAILED);
  if (policy == NP_2018 || policy == NP_BAN_MULTIPLE || policy == NP_SORTED_2020) {
    unpairedStarts(r);                         // the caller will call no end
  } else {
    // mainline: end on every subscriber that implements it ("any that succeeded start are
    // expecting their end"; one that failed must not implement end: WARN, and its end is
    // an unpaired one)
    for (let k = 0; k < n; k++) {
      const s = ld(order, first + k);
      if (implementsEnd(s)) subscriberEnd(r, s, <u32>1 << <u32>k, now);
    }
    r.started = 0;
  }
  return ret;
}

/** mmu_notifier_invalidate_range_end after a successful start. */
export function invalidateRangeEnd(r: MmuNotifierRange, now: i64): void {
  const m = r.mm;
  if (!mmHasNotifiers(m)) return;
  const first = ld(subFirst, m); const n = ld(subCount, m);
  for (let k = 0; k < n; k++) {
    const s = ld(order, first + k);
    if (implementsEnd(s)) subscriberEnd(r, s, <u32>1 << <u32>k, now);
  }
  r.started = 0;
}

/** Did a non-blocking end block (trylock-blocking-end)? The caller is stuck in it. */
export function endBlocked(): bool { return blockedEnd; }

/** kvm's mmu_invalidate_in_progress summed over the subscriptions (raised and never lowered: stuck guest faults). */
export function kvmInvalidatesInProgress(): i64 {
  let total: i64 = 0;
  for (let s = 0; s < nSubs; s++) total += <i64>ld(kvmCount, s);
  return total;
}
