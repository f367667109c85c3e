// A GPU driver's userptr objects (drivers/gpu/drm/i915/gem/i915_gem_userptr.c, as argued over
// in seed 000, June 2020): a gpu-userptr dma phase builds an object of its VMA's pages by
// pin_user_pages, one page at a time (each pin may fault, allocate and enter direct reclaim),
// then uses it by DMA until the phase ends. The driver's MMU notifier is the phase's
// subscriber; how the driver builds and how its notifier answers is `userptr.policy`:
//   blocking-lock  the object lock is held across the pin loop; the notifier takes it, then
//                  drops the object's pages (the build starts again) — reclaim of the object's
//                  own pages by the builder waits for itself: a wait-for cycle;
//   interval       a rule-following interval notifier: no lock across the pins; an
//                  invalidation sets the seq and the device lets the invalidated pages go; the
//                  build checks mmu_interval_read_retry at the end and starts again;
//   mayfail        the notifier returns -EAGAIN under MMU_NOTIFIER_RANGE_MAYFAIL and keeps
//                  its pages, which the core takes for success (the range's end then comes
//                  after a failed start);
//   skip-pinned    the blocking-lock driver, with reclaim skipping maybe-pinned pages before it
//                  calls any notifier (Wilson: "slip a page_maybe_dma_pinned() in");
//   unevictable    the blocking-lock driver, its pinned pages taken off the evictable LRU
//                  (Gunthorpe: decide "at the front"; mlock-like).
import { cfg, phaseCfg, subCfg } from './config';
import { G_USERPTR_POLICY, USERPTR_BLOCKING_LOCK, USERPTR_INTERVAL, USERPTR_MAYFAIL, USERPTR_SKIP_PINNED, USERPTR_UNEVICTABLE,
  PH_TARGET, PH_SUBSCRIBER, SUB_USERPTR_TASK, SUB_MM, C_MMSIM_USERPTR_BUILDS, C_MMSIM_USERPTR_RESTARTS, C_MMSIM_USERPTR_CANCELS,
  C_MMSIM_USERPTR_PINS, C_MMSIM_INTERVAL_READ_BEGIN_WAITS, FN_I915_GEM_USERPTR_GET_PAGES } from './generated/abi';
import { countEvent } from './vmstat';
import { lockAcquire, lockRelease, lockHeldBy } from './locking';
import { sleepOn } from './wait';
import { vmaStart, vmaEnd } from './mm';
import { tf, T_BASE } from './workload';
import { curClock, refreshHorizon, horizonId } from './sched';
import { intervalInsert, intervalReadBegin, intervalReadRetry, itreeQueue } from './mmu_interval';
import { subscriberLock } from './mmu_notifier';
import { pinMakeUnevictable } from './pin_policy';
import { DmaState, stateOf, gupEntry, releaseEntries, dmaTransfer, phaseOver, before, entryAddr, DS_PIN, DS_DMA, NO_ENTRY, ZERO_ENTRY,
  GUP_BLOCKED, GUP_DEAD, GUP_EFAULT, DMA_YIELD, DMA_BLOCKED, DMA_DEAD, DMA_OVER } from './gup';

export let userptrPolicy: i32 = USERPTR_BLOCKING_LOCK;

export function userptrInit(): void { userptrPolicy = <i32>cfg(G_USERPTR_POLICY); }

/** Does reclaim check folio_maybe_dma_pinned before it calls the notifiers (skip-pinned)? */
@inline export function userptrReclaimSkipsPinned(): bool { return userptrPolicy == USERPTR_SKIP_PINNED; }

/** Is subscription `s` a gpu-userptr driver's notifier (a phase builds objects behind it)? */
@inline export function isUserptrSub(s: i32): bool { return <i32>subCfg(s, SUB_USERPTR_TASK) >= 0; }

/** Its callbacks return -EAGAIN under MMU_NOTIFIER_RANGE_MAYFAIL instead of waiting (mayfail). */
@inline export function userptrMayfail(s: i32): bool { return userptrPolicy == USERPTR_MAYFAIL && isUserptrSub(s); }

/** A gpu-userptr driver under userptr.policy interval: its notifier is an interval notifier (mmu_interval_notifier_insert). */
@inline export function userptrInterval(s: i32): bool { return userptrPolicy == USERPTR_INTERVAL && isUserptrSub(s); }

/** The driver holds its object lock across the pin loop (all but interval and mayfail). */
@inline function locksAcrossBuild(): bool { return userptrPolicy != USERPTR_INTERVAL && userptrPolicy != USERPTR_MAYFAIL; }

/** A build's pages go back: unpinned (dirtied: the device may have written them), the object empty. */
function dropObject(s: DmaState): void {
  releaseEntries(s, 0, s.n, true);
  for (let i = 0; i < s.n; i++) store<u32>(entryAddr(s, i), NO_ENTRY);
  s.pinned = 0;
  s.stage = DS_PIN;
}

/**
 * The driver's invalidate_range_start for `s`, once its callback holds the object lock
 * (blocking-lock, skip-pinned, unevictable): an invalidation over the object's pages drops
 * them (i915's cancel_userptr: unbind, put the pages); the object is built again when next used.
 */
export function userptrInvalidate(s: i32, start: i64, end: i64): void {
  const t = <i32>subCfg(s, SUB_USERPTR_TASK);
  const d = stateOf(t);
  if (d.phase < 0 || d.pinned == 0 || userptrPolicy == USERPTR_MAYFAIL) return;
  const v = <i32>phaseCfg(d.phase, PH_TARGET);
  if (end <= vmaStart(v) || start >= vmaEnd(v)) return;
  countEvent(C_MMSIM_USERPTR_CANCELS);
  if (userptrPolicy == USERPTR_INTERVAL) {
    // a rule-following interval driver stops the device using the invalidated pages and lets
    // them go (its seq is set: the build starts again at its mmu_interval_read_retry)
    const base = tf(t, T_BASE);
    const from = max<i64>(0, start - base); const to = min<i64>(<i64>d.pinned, end - base);
    for (let i = from; i < to; i++) releaseEntries(d, <i32>i, 1, true);
    return;
  }
  if (d.stage == DS_PIN) countEvent(C_MMSIM_USERPTR_RESTARTS);
  dropObject(d);
}

/**
 * i915_gem_userptr_get_pages, then the object's use, for task `t`'s gpu-userptr phase `g`:
 * the build (lock or read_begin, the pin loop, read_retry), then DMA until the phase ends,
 * then the pages go. Answers as dmaRun.
 */
export function userptrRun(t: i32, g: i32, s: DmaState, hTime: i64, hId: i32, limit: i64, me: i32): i32 {
  const sub = <i32>phaseCfg(g, PH_SUBSCRIBER);
  const l = subscriberLock(sub);
  const v = <i32>phaseCfg(g, PH_TARGET);
  const base = tf(t, T_BASE);
  while (true) {
    while (s.stage == DS_PIN) {
      if (s.building == 0) {
        if (locksAcrossBuild() && l >= 0 && !lockHeldBy(l, me)) {
          if (!lockAcquire(l, me, true, FN_I915_GEM_USERPTR_GET_PAGES, curClock)) return DMA_BLOCKED;
        }
        if (userptrPolicy == USERPTR_INTERVAL) {
          intervalInsert(sub, <i32>subCfg(sub, SUB_MM), vmaStart(v), vmaEnd(v));
          const seq = intervalReadBegin(sub, <i32>subCfg(sub, SUB_MM));
          if (seq < 0) {
            // an invalidation covering the interval runs: wait_event on subscriptions->wq
            countEvent(C_MMSIM_INTERVAL_READ_BEGIN_WAITS);
            sleepOn(itreeQueue(<i32>subCfg(sub, SUB_MM)), me, curClock, -1);
            return DMA_BLOCKED;
          }
          s.seq = seq;
        }
        s.building = 1;
      }
      while (s.pinned < s.n) {
        if (!before(curClock, hTime, hId, me)) return DMA_YIELD;
        const r = gupEntry(t, s, v, base + s.pinned, s.pinned);
        if (r == GUP_BLOCKED) return DMA_BLOCKED;
        if (r == GUP_DEAD) return DMA_DEAD;
        if (r == GUP_EFAULT) {
          // the allocation failed: the object is not built, its pages go back
          dropObject(s);
          s.building = 0;
          if (l >= 0 && lockHeldBy(l, me)) lockRelease(l, me, curClock);
          return phaseOver(s);
        }
        const p = load<u32>(entryAddr(s, s.pinned));
        if (userptrPolicy == USERPTR_UNEVICTABLE && p != ZERO_ENTRY) pinMakeUnevictable(p);
        countEvent(C_MMSIM_USERPTR_PINS);
        s.pinned++;
        hTime = refreshHorizon(limit); hId = horizonId;
      }
      if (userptrPolicy == USERPTR_INTERVAL) {
        // the driver lock, then mmu_interval_read_retry: invalidated since read_begin — again
        if (l >= 0 && !lockAcquire(l, me, false, FN_I915_GEM_USERPTR_GET_PAGES, curClock)) return DMA_BLOCKED;
        const retry = intervalReadRetry(sub, s.seq);
        if (l >= 0) lockRelease(l, me, curClock);
        if (retry) {
          countEvent(C_MMSIM_USERPTR_RESTARTS);
          dropObject(s);
          s.building = 0;
          continue;
        }
      }
      if (l >= 0 && lockHeldBy(l, me)) lockRelease(l, me, curClock);
      s.building = 0;
      s.stage = DS_DMA;
      countEvent(C_MMSIM_USERPTR_BUILDS);
    }
    // the object in use: DMA until the phase ends (an invalidation may drop it meanwhile)
    // (an invalidation that dropped the object meanwhile sends the loop back to the build)
    if (!dmaTransfer(t, g, s, hTime, hId, me)) return DMA_YIELD;
    if (s.stage == DS_PIN) continue;
    releaseEntries(s, 0, s.n, true);
    return phaseOver(s);
  }
  return DMA_OVER;
}

/** The builder exits: its lock is let go by locksAbandon; its pages go back here. */
export function userptrAbandon(s: DmaState, g: i32): void {
  releaseEntries(s, 0, s.stage == DS_PIN ? s.pinned : s.n, true);
  s.pinned = 0;
  s.building = 0;
}
