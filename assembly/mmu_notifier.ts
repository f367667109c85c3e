// MMU notifiers (mm/mmu_notifier.c, include/linux/mmu_notifier.h): the subscriptions on each
// mm, and invalidate_range_start / invalidate_range_end as the scenario's `notifiers.policy`
// walks them — the 2018 loop (v4.19-v5.11), the thread's two proposals, and mainline — with
// a ledger that pairs every successful start with its end (mmsim_notifier_unpaired_start,
// mmsim_notifier_unpaired_end). The clients are small state machines: kvm's in-progress count
// (mmu_invalidate_in_progress), gru's range count (ms_range_active) held from start to end, a
// mirror's or a generic driver's lock that a non-blocking start finds busy with probability
// `busy` (the reaper rule `notifiers.reaper` decides what a busy or blocking callback does in
// non-blocking context).
//
// A mirror or generic subscriber may name a scenario lock that its callbacks take (the
// driver's object lock or notifier lock). In blockable context its start sleeps on it
// (locking.ts: FIFO, the wait-for graph, so a driver that reclaims while holding its own lock
// deadlocks); the range record keeps the walk's place, and the caller calls start again with
// the same range when it runs. In non-blocking context the callback trylocks and fails with
// -EAGAIN. `holdUntilEnd` keeps the lock from start to end (amdgpu's read lock of 2018).
import { cfg, subCfg } from './config';
import { G_N_SUBSCRIBERS, G_NOTIFIER_POLICY, G_NOTIFIER_REAPER, G_SEED, SUB_MM, SUB_CLIENT, SUB_IMPLEMENTS_END,
  SUB_BUSY, SUB_LOCK, SUB_HOLD_UNTIL_END, SUB_LATENCY_NS, SUB_RANGE_CHECK, CLIENT_KVM, CLIENT_GRU, CLIENT_MIRROR, CLIENT_IOMMU_SVA, NP_2018, NP_MAINLINE, NP_BAN_MULTIPLE, NP_SORTED_2020,
  REAP_ALWAYS_EAGAIN, REAP_TRYLOCK_BLOCKING_END, C_MMSIM_NOTIFIER_INVALIDATIONS, C_MMSIM_NOTIFIER_RANGES_UNMAP, C_MMSIM_NOTIFIER_START_FAILED,
  C_MMSIM_NOTIFIER_UNPAIRED_START, C_MMSIM_NOTIFIER_UNPAIRED_END, C_MMSIM_NONBLOCK_DISABLED,
  C_MMSIM_END_BLOCKED_AFTER_NONBLOCKING_START, C_MMSIM_NOTIFIER_SLEEPS, C_MMSIM_NOTIFIER_RELEASES, C_MMSIM_SECONDARY_YOUNG, C_MMSIM_NOTIFIER_MAYFAIL_EAGAIN,
  DK_NOTIFIER_UNPAIRED_START, DK_NOTIFIER_UNPAIRED_END, DK_NOTIFIER_FAILED_START_HAS_END, C_MMSIM_BUG,
  DK_END_BLOCKED_AFTER_NONBLOCKING_START, FN_MMU_NOTIFIER_INVALIDATE_RANGE_START,
  FN_MMU_NOTIFIER_INVALIDATE_RANGE_END, FN_MMU_NOTIFIER_RELEASE } from './generated/abi';
import { regionAlloc } from './mem';
import { countEvent } from './vmstat';
import { recordDetector } from './invariants';
import { nextF64, randomSeed } from './random';
import { lockAcquire, lockTryAcquire, lockRelease, lockWaiting } from './locking';
import { chargeNs } from './sched';
import { secondaryInvalidate, secondaryClearYoung, secondaryTestYoung, secondaryHasTable } from './secondary_mmu';
import { userptrMayfail, isUserptrSub, userptrInvalidate, userptrInterval } from './userptr';
import { intervalInit, intervalInsert, intervalInserted, intervalOverlaps, itreeInvStart, itreeInvEnd, intervalSetSeq, itreeSeqNow } from './mmu_interval';

// enum mmu_notifier_event
export const MMU_NOTIFY_UNMAP: i32 = 0;
export const MMU_NOTIFY_CLEAR: i32 = 1;
export const MMU_NOTIFY_PROTECTION_VMA: i32 = 2;
export const MMU_NOTIFY_PROTECTION_PAGE: i32 = 3;
/** migrate_vma_setup's range (mm/migrate_device.c), with the migrating device as its owner */
export const MMU_NOTIFY_MIGRATE: i32 = 4;
export const MMU_NOTIFY_RELEASE: i32 = 5;
/** MMU_NOTIFIER_RANGE_BLOCKABLE */
export const RANGE_BLOCKABLE: u32 = 1;
/** MMU_NOTIFIER_RANGE_MAYFAIL (the rejected 2020 patch): a blockable callback may return -EAGAIN, taken for success */
export const RANGE_MAYFAIL: u32 = 2;
/** invalidate_range_start's -EAGAIN */
export const EAGAIN: i32 = -11;
/** A blockable callback sleeps on its lock: the caller unwinds and calls start again (same range) when it runs. */
export const NOTIFIER_SLEEP: i32 = 1;
/** Up to this many subscriptions per mm (a range's ledger is a bit mask). */
export const MAX_SUBSCRIBERS_PER_MM: i32 = 32;

/**
 * struct mmu_notifier_range, with the ledger of this invalidation: which subscribers' starts
 * succeeded (and so expect their end), and where a start that sleeps resumes. The kernel
 * keeps it on the caller's stack; here each entity has one (rangeOf).
 */
@unmanaged export class MmuNotifierRange {
  mm: i32;
  event: i32;
  flags: u32;
  /** subscribers (bits by place in the mm's list) whose start succeeded */
  started: u32;
  /** subscribers that hold their lock until end (holdUntilEnd) */
  holding: u32;
  /** the place whose callback sleeps on its lock (-1: no start or release in progress) */
  next: i32;
  /** the walk's failure so far (0 or -EAGAIN) */
  ret: i32;
  /** the place in the interval tree whose invalidate sleeps on its lock (-1: none) */
  ivNext: i32;
  /** this range counts in the mm's active_invalidate_ranges (mn_itree_inv_start_range) */
  ivActive: bool;
  start: i64;
  end: i64;
  /** mmu_notifier_range_init_owner: the subscription of the device that migrates (-1: none) */
  owner: i32;
}

let ranges: usize = 0;
const RANGE_BYTES: usize = (offsetof<MmuNotifierRange>() + 7) & ~(<usize>7);
/** The range record of entity `e`'s invalidation in progress (its stack frame). */
@inline function rangeOf(e: i32): MmuNotifierRange { return changetype<MmuNotifierRange>(ranges + <usize>e * RANGE_BYTES); }

let nSubs: i32 = 0;
let policy: i32 = 0;
let reaperRule: i32 = 0;
let subFirst: usize = 0;    // i32 per mm: first subscription index (subscriptions grouped by mm)
let subCount: usize = 0;    // i32 per mm
let released: usize = 0;    // u8 per mm: mmu_notifier_release emptied its list
let order: usize = 0;       // i32 per subscription: the walk order within its mm (hlist order)
let kvmCount: usize = 0;    // i32 per subscription: kvm's mmu_invalidate_in_progress
let kvmRange: usize = 0;    // i64 pairs per subscription: mmu_invalidate_range_start / _end (pages)
let gruActive: usize = 0;   // i32 per subscription: gru's ms_range_active, raised from start to end
let stream: i32 = 0;        // the drivers' random stream (is the lock busy?)
let blockedEnd: bool = false;

@inline function ld(b: usize, i: i32): i32 { return load<i32>(b + (<usize>i << 2)); }
@inline function st(b: usize, i: i32, v: i32): void { store<i32>(b + (<usize>i << 2), v); }

/** Subscriptions from the config, `stream` a random stream of their own. */
export function mmuNotifierInit(mms: i32, entities: i32, randomStream: i32, itreeQueue0: i32): bool {
  nSubs = <i32>cfg(G_N_SUBSCRIBERS);
  if (!intervalInit(mms, nSubs, itreeQueue0)) return false;
  ranges = regionAlloc(<u64>entities * <u64>RANGE_BYTES);
  if (ranges == 0) return false;
  for (let e = 0; e < entities; e++) { rangeOf(e).next = -1; rangeOf(e).ivNext = -1; }
  policy = <i32>cfg(G_NOTIFIER_POLICY);
  reaperRule = <i32>cfg(G_NOTIFIER_REAPER);
  subFirst = regionAlloc(<u64>(mms + 1) * 4);
  subCount = regionAlloc(<u64>(mms + 1) * 4);
  released = regionAlloc(<u64>(mms + 1));
  order = regionAlloc(<u64>(nSubs + 1) * 4);
  kvmCount = regionAlloc(<u64>(nSubs + 1) * 4);
  gruActive = regionAlloc(<u64>(nSubs + 1) * 4);
  kvmRange = regionAlloc(<u64>(nSubs + 1) * 16);
  if (kvmRange == 0 || subFirst == 0 || subCount == 0 || released == 0 || order == 0 || kvmCount == 0 || gruActive == 0) return false;
  for (let s = 0; s < nSubs; s++) {
    const m = <i32>subCfg(s, SUB_MM);
    if (ld(subCount, m) == 0) st(subFirst, m, s);
    st(subCount, m, ld(subCount, m) + 1);
  }
  for (let m = 0; m < mms; m++) buildOrder(m);
  // a mirror that no guest phase goes through mirrors the whole address space from the start;
  // one that a guest phase uses inserts its VMA's interval at its first fault
  for (let s = 0; s < nSubs; s++) {
    if (isIntervalSub(s) && !secondaryHasTable(s)) intervalInsert(s, <i32>subCfg(s, SUB_MM), 0, 0x7FFF_FFFF_FFFF_FFFF);
  }
  stream = randomStream;
  randomSeed(stream, <u64>cfg(G_SEED) ^ 0x6D6D_755F_6E6F_7469);
  blockedEnd = false;
  return true;
}

@inline function implementsEnd(s: i32): bool { return subCfg(s, SUB_IMPLEMENTS_END) != 0; }
/** An interval notifier (mainline's mirror, as HMM's users are since v5.5) rather than one on the hlist. */
@inline export function isIntervalSub(s: i32): bool {
  return (policy == NP_MAINLINE && <i32>subCfg(s, SUB_CLIENT) == CLIENT_MIRROR) || userptrInterval(s);
}
/** A subscriber that takes a lock it may find busy (mirror, generic): it may block. */
@inline function mayBlock(s: i32): bool { const c = <i32>subCfg(s, SUB_CLIENT); return c != CLIENT_KVM && c != CLIENT_GRU && c != CLIENT_IOMMU_SVA; }
/** iommu-sva: no invalidate_range_start / _end; only arch_invalidate_secondary_tlbs, after the PTE change. */
@inline function isSva(s: i32): bool { return <i32>subCfg(s, SUB_CLIENT) == CLIENT_IOMMU_SVA; }
/** The scenario lock its callbacks take, or -1. */
@inline function subLock(s: i32): i32 { return <i32>subCfg(s, SUB_LOCK); }
/** The driver's lock of subscription `s` (its fault path takes it too), or -1. */
export function subscriberLock(s: i32): i32 { return subLock(s); }
@inline function holdsUntilEnd(s: i32): bool { return subCfg(s, SUB_HOLD_UNTIL_END) != 0; }
@inline function callbackCost(s: i32): void { const ns = <i64>subCfg(s, SUB_LATENCY_NS); if (ns > 0) chargeNs(ns); }

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

/** mm_has_notifiers: subscriptions, and mmu_notifier_release has not emptied the list. */
@inline export function mmHasNotifiers(m: i32): bool { return nSubs > 0 && ld(subCount, m) > 0 && load<u8>(released + <usize>m) == 0; }

/** mm_has_blockable_invalidate_notifiers (v4.15-v4.18): a subscriber without MMU_INVALIDATE_DOES_NOT_BLOCK. */
export function mmHasBlockableNotifiers(m: i32): bool {
  const first = ld(subFirst, m); const n = ld(subCount, m);
  for (let s = first; s < first + n; s++) if (mayBlock(s)) return true;
  return false;
}

/**
 * One subscriber's invalidate_range_start, entity `e` calling: 0, -EAGAIN in non-blocking
 * context, or NOTIFIER_SLEEP (asleep on the subscriber's lock; stopNow is set).
 */
function subscriberStart(r: MmuNotifierRange, s: i32, bit: u32, e: i32, now: i64): i32 {
  // a device's own migration: its callback returns at once (test_hmm's dmirror, nouveau, amdgpu)
  if (r.event == MMU_NOTIFY_MIGRATE && r.owner == s) return 0;
  const client = <i32>subCfg(s, SUB_CLIENT);
  const blockable = (r.flags & RANGE_BLOCKABLE) != 0;
  if (client == CLIENT_KVM) { kvmInvalidateBegin(s, r); callbackCost(s); return 0; }
  if (client == CLIENT_GRU) { st(gruActive, s, ld(gruActive, s) + 1); secondaryInvalidate(s, r.mm, r.start, r.end); callbackCost(s); return 0; }
  if (client == CLIENT_IOMMU_SVA) return 0;   // it has no invalidate_range_start
  const l = subLock(s);
  if (blockable) {
    // a gpu-userptr driver under MAYFAIL: -EAGAIN, keeping its pages and device mappings
    if ((r.flags & RANGE_MAYFAIL) != 0 && userptrMayfail(s)) { countEvent(C_MMSIM_NOTIFIER_MAYFAIL_EAGAIN); callbackCost(s); return EAGAIN; }
    if (l >= 0) {
      // it takes its lock, sleeping while another holds it (mutex_lock / down_read)
      const waited = lockWaiting(e);
      if (!lockAcquire(l, e, false, FN_MMU_NOTIFIER_INVALIDATE_RANGE_START, now)) {
        if (!waited) countEvent(C_MMSIM_NOTIFIER_SLEEPS);
        return NOTIFIER_SLEEP;
      }
      if (isUserptrSub(s)) userptrInvalidate(s, r.start, r.end);   // under its object lock
      if (holdsUntilEnd(s)) r.holding |= bit; else lockRelease(l, e, now);
    }
    secondaryInvalidate(s, r.mm, r.start, r.end);
    callbackCost(s);
    return 0;
  }
  if (reaperRule == REAP_ALWAYS_EAGAIN) return EAGAIN;
  // trylock: an unmodelled holder with probability `busy`, then the named lock
  if (nextF64(stream) < subCfg(s, SUB_BUSY)) return EAGAIN;
  if (l >= 0) {
    if (!lockTryAcquire(l, e, false)) return EAGAIN;
    if (holdsUntilEnd(s)) r.holding |= bit; else lockRelease(l, e, now);
  }
  secondaryInvalidate(s, r.mm, r.start, r.end);
  callbackCost(s);
  return 0;
}

/**
 * kvm_mmu_notifier_invalidate_range_start: kvm_mmu_invalidate_begin raises the in-progress
 * count and widens the range in progress (the first sets it), then the range's SPTEs go.
 */
function kvmInvalidateBegin(s: i32, r: MmuNotifierRange): void {
  const c = ld(kvmCount, s) + 1;
  st(kvmCount, s, c);
  const a = kvmRange + (<usize>s << 4);
  if (c == 1 || r.start < load<i64>(a)) store<i64>(a, r.start);
  if (c == 1 || r.end > load<i64>(a, 8)) store<i64>(a, r.end, 8);
  secondaryInvalidate(s, r.mm, r.start, r.end);
}

/** What a guest or device fault through subscription `s` must do first: go on, or retry. */
export const FAULT_GO: i32 = 0;
export const FAULT_RETRY_KVM: i32 = 1;
export const FAULT_RETRY_GRU: i32 = 2;

/**
 * Must a fault of `vpn` through `s` retry? kvm: mmu_invalidate_retry_gfn — while an
 * invalidation in progress covers it (v5.13+), or, `rangeCheck` off as before v5.13
 * (mmu_notifier_retry), while any is in progress. gru: gru_try_dropin's failactive — while any
 * range is active (ms_range_active), so a start whose end never comes leaves it failing
 * forever.
 */
export function secondaryFaultMustRetry(s: i32, vpn: i64): i32 {
  if (s < 0) return FAULT_GO;
  const client = <i32>subCfg(s, SUB_CLIENT);
  if (client == CLIENT_GRU) return ld(gruActive, s) > 0 ? FAULT_RETRY_GRU : FAULT_GO;
  if (client != CLIENT_KVM || ld(kvmCount, s) <= 0) return FAULT_GO;
  if (subCfg(s, SUB_RANGE_CHECK) == 0) return FAULT_RETRY_KVM;
  const a = kvmRange + (<usize>s << 4);
  return vpn >= load<i64>(a) && vpn < load<i64>(a, 8) ? FAULT_RETRY_KVM : FAULT_GO;
}

/**
 * mmu_notifier_clear_flush_young for one page (ptep_clear_flush_young_notify in
 * folio_referenced_one): did a kvm subscriber's translation of `vpn` see use since the last
 * look? Its young bit is cleared, and the host page counts as referenced.
 */
export function mmuNotifierClearFlushYoung(m: i32, vpn: i64): bool { return clearYoung(m, vpn); }

/**
 * mmu_notifier_clear_young for one page (ptep_clear_young_notify: idle page tracking, DAMON):
 * as clear_flush_young without the secondary TLB flush — the same here, where only kvm ages
 * its translations (kvm_mmu_notifier_clear_young) and a TLB flush costs nothing.
 */
export function mmuNotifierClearYoung(m: i32, vpn: i64): bool { return clearYoung(m, vpn); }

/** The subscribers' clear_young (kvm's): was a translation of `vpn` young? Each is aged. */
function clearYoung(m: i32, vpn: i64): bool {
  if (!mmHasNotifiers(m)) return false;
  const first = ld(subFirst, m); const n = ld(subCount, m);
  let young = false;
  for (let s = first; s < first + n; s++) {
    if (<i32>subCfg(s, SUB_CLIENT) == CLIENT_KVM && secondaryClearYoung(s, m, vpn)) young = true;
  }
  if (young) countEvent(C_MMSIM_SECONDARY_YOUNG);
  return young;
}

/**
 * mmu_notifier_test_young for one page (DAMON's damon_va_young, khugepaged): does a kvm
 * subscriber's translation of `vpn` say it was used since it was last aged? Nothing is cleared.
 */
export function mmuNotifierTestYoung(m: i32, vpn: i64): bool {
  if (!mmHasNotifiers(m)) return false;
  const first = ld(subFirst, m); const n = ld(subCount, m);
  for (let s = first; s < first + n; s++) {
    if (<i32>subCfg(s, SUB_CLIENT) == CLIENT_KVM && secondaryTestYoung(s, m, vpn)) return true;
  }
  return false;
}

/** One subscriber's invalidate_range_end for range `r` (whose ledger says whether its start succeeded). */
function subscriberEnd(r: MmuNotifierRange, s: i32, bit: u32, e: i32, now: i64): void {
  const client = <i32>subCfg(s, SUB_CLIENT);
  if ((r.started & bit) == 0) {
    countEvent(C_MMSIM_NOTIFIER_UNPAIRED_END);
    recordDetector(DK_NOTIFIER_UNPAIRED_END, 0xFFFF_FFFF, r.mm, FN_MMU_NOTIFIER_INVALIDATE_RANGE_END, <f64>r.start, -1, s);
  }
  r.started &= ~bit;
  if (client == CLIENT_KVM) st(kvmCount, s, ld(kvmCount, s) - 1);
  else if (client == CLIENT_GRU) st(gruActive, s, ld(gruActive, s) - 1);
  else {
    if ((r.holding & bit) != 0) { r.holding &= ~bit; lockRelease(subLock(s), e, now); }
    if ((r.flags & RANGE_BLOCKABLE) == 0 && reaperRule == REAP_TRYLOCK_BLOCKING_END) {
      // its end takes the lock unconditionally: a sleep where nothing may sleep
      countEvent(C_MMSIM_END_BLOCKED_AFTER_NONBLOCKING_START);
      recordDetector(DK_END_BLOCKED_AFTER_NONBLOCKING_START, 0xFFFF_FFFF, r.mm, FN_MMU_NOTIFIER_INVALIDATE_RANGE_END, <f64>r.start, -1, s);
      blockedEnd = true;
    }
  }
  callbackCost(s);
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
 * A start of `e` that slept and whose caller now asks for another range (or gives up): the
 * callback that slept gets its lock (granted while `e` slept) and finishes, and every start
 * that succeeded gets its end, as a caller that finds nothing to change under its range does.
 */
function rangeAbandon(e: i32, now: i64): void {
  const r = rangeOf(e);
  if (r.ivNext >= 0) {
    // asleep in an interval notifier's invalidate: it gets its lock and finishes; the
    // intervals after it and the hlist are not called; the range ends
    const first = ld(subFirst, r.mm); const n = ld(subCount, r.mm);
    const s = ld(order, first + r.ivNext);
    const l = subLock(s);
    r.ivNext = -1;
    if (l >= 0 && !lockWaiting(e) && lockAcquire(l, e, false, FN_MMU_NOTIFIER_INVALIDATE_RANGE_START, now)) lockRelease(l, e, now);
    if (r.ivActive) { r.ivActive = false; itreeInvEnd(r.mm, first, n, now); }
    return;
  }
  const k = r.next;
  if (k < 0) return;
  r.next = -1;
  const first = ld(subFirst, r.mm); const n = ld(subCount, r.mm);
  const s = ld(order, first + k);
  const l = subLock(s);
  const release = r.event == MMU_NOTIFY_RELEASE;
  // the lock was handed over while `e` slept (a wait still queued is left to locksAbandon)
  if (l >= 0 && !lockWaiting(e) && lockAcquire(l, e, false, release ? FN_MMU_NOTIFIER_RELEASE : FN_MMU_NOTIFIER_INVALIDATE_RANGE_START, now)) {
    if (!release && holdsUntilEnd(s)) r.holding |= <u32>1 << <u32>k; else lockRelease(l, e, now);
  }
  if (release) {
    if (r.ivActive) { r.ivActive = false; itreeInvEnd(r.mm, first, n, now); }
    return;
  }
  r.started |= <u32>1 << <u32>k;
  for (let j = 0; j < n; j++) {
    const sj = ld(order, first + j);
    const bit = <u32>1 << <u32>j;
    if ((r.started & bit) != 0 && implementsEnd(sj)) subscriberEnd(r, sj, bit, e, now);
  }
  r.started = 0;
  if (r.ivActive) { r.ivActive = false; itreeInvEnd(r.mm, first, n, now); }
}

/** Is `e` inside a start (or release) whose callback sleeps? */
export function rangeSleeping(e: i32): bool { return rangeOf(e).next >= 0 || rangeOf(e).ivNext >= 0; }

/** A caller that gives up the operation it slept in (it exits): finish what its range started. */
export function mmuNotifierAbandon(e: i32, now: i64): void { rangeAbandon(e, now); }

/**
 * mn_itree_invalidate for range `r` of entity `e`, from place `from` (where a callback slept):
 * each interval notifier whose interval the range overlaps gets its invalidate — which takes
 * the driver's lock like any start (sleeping, or failing without blocking) and copies the odd
 * seq in (mmu_interval_set_seq). A failure ends the tree's part of the range at once
 * (mn_itree_inv_end) and the whole start fails: the hlist is not called.
 */
function itreeInvalidate(r: MmuNotifierRange, e: i32, from: i32, now: i64): i32 {
  const m = r.mm;
  const first = ld(subFirst, m); const n = ld(subCount, m);
  let any = false; let covers = false;
  for (let s = first; s < first + n; s++) {
    if (!isIntervalSub(s) || !intervalInserted(s)) continue;
    any = true;
    if (intervalOverlaps(s, r.start, r.end)) covers = true;
  }
  if (!any && !r.ivActive) return 0;
  if (!r.ivActive) { itreeInvStart(m, covers); r.ivActive = true; }
  for (let k = from; k < n; k++) {
    const s = ld(order, first + k);
    if (!isIntervalSub(s) || !intervalOverlaps(s, r.start, r.end)) continue;
    // the owner's interval invalidate returns before mmu_interval_set_seq (dmirror_interval_invalidate)
    if (r.event == MMU_NOTIFY_MIGRATE && r.owner == s) continue;
    const rc = subscriberStart(r, s, <u32>1 << <u32>k, e, now);
    if (rc == NOTIFIER_SLEEP) { r.ivNext = k; return NOTIFIER_SLEEP; }
    if (rc != 0) {
      r.ivActive = false;
      itreeInvEnd(m, first, n, now);
      countEvent(C_MMSIM_NOTIFIER_START_FAILED);
      return rc;
    }
    intervalSetSeq(s, itreeSeqNow(m));
  }
  return 0;
}

/**
 * mmu_notifier_range_init + mmu_notifier_invalidate_range_start (or its _nonblock form,
 * without RANGE_BLOCKABLE) by entity `e`: 0; -EAGAIN — after which the caller calls no end,
 * and the core has unwound as its policy does; or NOTIFIER_SLEEP — a blockable callback sleeps
 * on its lock, and the caller calls again with the same range when `e` runs, to go on where
 * the walk stopped.
 */
export function mmuNotifierRangeStart(e: i32, event: i32, flags: u32, m: i32, start: i64, end: i64, now: i64, owner: i32 = -1): i32 {
  const r = rangeOf(e);
  let k0 = 0;
  let ivFrom = 0;
  let fresh = true;
  if (r.next >= 0 || r.ivNext >= 0) {
    if (r.mm == m && r.event == event && r.start == start && r.end == end && r.flags == flags) {
      fresh = false;
      ivFrom = r.ivNext;                       // -1: the interval tree is done
      if (r.next >= 0) k0 = r.next;
    } else rangeAbandon(e, now);
  }
  if (fresh) {
    r.mm = m; r.event = event; r.flags = flags; r.start = start; r.end = end; r.owner = owner;
    r.started = 0; r.holding = 0; r.ret = 0; r.ivActive = false;
    if (!mmHasNotifiers(m)) return 0;
    countEvent(C_MMSIM_NOTIFIER_INVALIDATIONS);
    // the counters by event follow enum mmu_notifier_event from MMU_NOTIFY_UNMAP on
    if (event <= MMU_NOTIFY_MIGRATE) countEvent(C_MMSIM_NOTIFIER_RANGES_UNMAP + event);
  }
  r.next = -1; r.ivNext = -1;
  // __mmu_notifier_invalidate_range_start: the interval tree first, then the hlist
  if (ivFrom >= 0) {
    const rc = itreeInvalidate(r, e, ivFrom, now);
    if (rc != 0) return rc;
  }
  const blockable = (flags & RANGE_BLOCKABLE) != 0;
  const first = ld(subFirst, m); const n = ld(subCount, m);
  if (!blockable) {
    if (policy == NP_BAN_MULTIPLE && n > 1) { countEvent(C_MMSIM_NOTIFIER_START_FAILED); return EAGAIN; }
    if (policy == NP_SORTED_2020) {
      let needers = 0;
      for (let s = first; s < first + n; s++) if (implementsEnd(s)) needers++;
      if (needers > 1) { countEvent(C_MMSIM_NONBLOCK_DISABLED); countEvent(C_MMSIM_NOTIFIER_START_FAILED); return EAGAIN; }
    }
  }
  for (let k = k0; k < n; k++) {
    const s = ld(order, first + k);
    if (isIntervalSub(s)) continue;
    const bit = <u32>1 << <u32>k;
    const rc = subscriberStart(r, s, bit, e, now);
    if (rc == NOTIFIER_SLEEP) { r.next = k; return NOTIFIER_SLEEP; }
    if (rc == 0) { r.started |= bit; continue; }
    // MAYFAIL: the core takes a blockable -EAGAIN for success (and calls its end all the same)
    if (blockable && (flags & RANGE_MAYFAIL) != 0) continue;
    r.ret = rc;
    if (policy == NP_MAINLINE && implementsEnd(s)) {
      // "a start that does EAGAIN can't also do end": WARN_ON(ops->invalidate_range_end)
      countEvent(C_MMSIM_BUG);
      recordDetector(DK_NOTIFIER_FAILED_START_HAS_END, 0xFFFF_FFFF, r.mm, FN_MMU_NOTIFIER_INVALIDATE_RANGE_START, <f64>r.start, -1, s);
    }
    if (policy == NP_SORTED_2020) break;       // the walk stops at the first failure
  }
  const ret = r.ret;
  if (ret == 0) return 0;
  countEvent(C_MMSIM_NOTIFIER_START_FAILED);
  if (policy == NP_2018 || policy == NP_BAN_MULTIPLE || policy == NP_SORTED_2020) {
    // the caller will call no end: the ledger keeps the starts that expected one; a lock held
    // until end stays held (GRU's leak)
    unpairedStarts(r);
  } else {
    // mainline: end on every subscriber that implements it ("any that succeeded start are
    // expecting their end"; one that failed must not implement end: WARN, and its end is
    // an unpaired one)
    for (let k = 0; k < n; k++) {
      const s = ld(order, first + k);
      if (implementsEnd(s)) subscriberEnd(r, s, <u32>1 << <u32>k, e, now);
    }
    r.started = 0;
  }
  return ret;
}

/** mmu_notifier_invalidate_range_end by `e` after a successful start. */
export function mmuNotifierRangeEnd(e: i32, now: i64): void {
  const r = rangeOf(e);
  const m = r.mm;
  const first = ld(subFirst, m); const n = ld(subCount, m);
  if (r.ivActive) { r.ivActive = false; itreeInvEnd(m, first, n, now); }
  if (!mmHasNotifiers(m)) return;
  // the page tables changed under the range and the CPU TLB was flushed: so is the device's
  // (mmu_notifier_arch_invalidate_secondary_tlbs, from the arch's flush)
  for (let s = first; s < first + n; s++) if (isSva(s)) { secondaryInvalidate(s, m, r.start, r.end); callbackCost(s); }
  for (let k = 0; k < n; k++) {
    const s = ld(order, first + k);
    if (implementsEnd(s)) subscriberEnd(r, s, <u32>1 << <u32>k, e, now);
  }
  r.started = 0;
}

/**
 * mmu_notifier_release (exit_mmap, before it takes the mmap_lock): each subscriber's release
 * (a driver's takes its lock, and may sleep on it: false, call again), then the list is
 * emptied (hlist_del_init_rcu), so that the exit's unmap and every later range call nobody.
 */
export function mmuNotifierRelease(e: i32, m: i32, now: i64): bool {
  if (!mmHasNotifiers(m)) return true;
  const r = rangeOf(e);
  let k0 = 0;
  if (r.next >= 0 && r.event == MMU_NOTIFY_RELEASE && r.mm == m) k0 = r.next;
  else {
    rangeAbandon(e, now);
    r.mm = m; r.event = MMU_NOTIFY_RELEASE; r.flags = RANGE_BLOCKABLE; r.start = 0; r.end = 0x7FFF_FFFF_FFFF_FFFF; r.owner = -1;
    r.started = 0; r.holding = 0; r.ret = 0; r.ivActive = false;
    countEvent(C_MMSIM_NOTIFIER_RELEASES);
    // mn_itree_release: the intervals are invalidated over everything, in one active range
    const f0 = ld(subFirst, m); const n0 = ld(subCount, m);
    let covers = false;
    for (let s = f0; s < f0 + n0; s++) if (isIntervalSub(s) && intervalInserted(s)) covers = true;
    if (covers) { itreeInvStart(m, true); r.ivActive = true; }
  }
  r.next = -1;
  const first = ld(subFirst, m); const n = ld(subCount, m);
  for (let k = k0; k < n; k++) {
    const s = ld(order, first + k);
    const l = subLock(s);
    if (l >= 0) {
      const waited = lockWaiting(e);
      if (!lockAcquire(l, e, false, FN_MMU_NOTIFIER_RELEASE, now)) {
        if (!waited) countEvent(C_MMSIM_NOTIFIER_SLEEPS);
        r.next = k;
        return false;
      }
      lockRelease(l, e, now);
    }
    secondaryInvalidate(s, m, 0, 0x7FFF_FFFF_FFFF_FFFF);
    if (isIntervalSub(s) && intervalInserted(s)) intervalSetSeq(s, itreeSeqNow(m));
    callbackCost(s);
  }
  if (r.ivActive) { r.ivActive = false; itreeInvEnd(m, first, n, now); }
  store<u8>(released + <usize>m, 1);
  return true;
}

/** Did a non-blocking end block (trylock-blocking-end)? The caller is stuck in it. */
export function endBlocked(): bool { return blockedEnd; }

/** kvm's mmu_invalidate_in_progress summed over the subscriptions (raised and never lowered: stuck guest faults). */
export function kvmInvalidatesInProgress(): i64 {
  let total: i64 = 0;
  for (let s = 0; s < nSubs; s++) total += <i64>ld(kvmCount, s);
  return total;
}
