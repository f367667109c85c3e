// pins.truncate (seed 002 §2, Williams / Hellwig / Hocko): what truncate and hole punching do
// with a page they believe pinned, one unit behind the hooks truncate.ts and gup.ts call —
// pinTruncateRangeBusy (before the call changes anything), pinTruncateFolio (truncate_inode_pages_range's
// per-folio step, the folio locked and its writeback done) and pinTruncateRefusesLongterm (GUP,
// before a long-term registration pins anything).
//
// The kernel (none): truncation takes the page out of the file; the device keeps its frame and
// writes into a page no file has (mmsim_dma_after_truncate). wait: truncation sleeps until the
// pin is let go — Hellwig: "block forever due to actions of other unprivileged users". fail:
// -EBUSY ("fallocate() and truncate() can randomly fail"). revoke (Hocko): a lease break to the
// file's long-term registrations, answered after the owner's revokeLatency; after
// pins.revokeTimeout the kernel revokes the revocable ones itself (the synchronous stage), and
// truncation waits meanwhile. block-longterm: FOLL_LONGTERM refused on file mappings, as
// get_user_pages_longterm refused fs-dax (v4.15), so truncation only meets transient pins, which
// it waits for. williams: wait for a transient pin, revoke a long-term revocable one, refuse a
// long-term pin nothing can revoke. Mainline pages do not record whether a pin is long-term:
// williams keeps a count of its own per frame (Hocko's "_count offset for these longterm pins").
import { cfg, phaseCfg } from './config';
import { G_PINS_TRUNCATE, G_PINS_REVOKE_TIMEOUT_NS, TRUNCATE_NONE, TRUNCATE_WAIT, TRUNCATE_FAIL, TRUNCATE_REVOKE,
  TRUNCATE_BLOCK_LONGTERM, TRUNCATE_WILLIAMS, PH_MODEL, PH_TARGET, PH_REVOKE_LATENCY_NS, PH_REVOCABLE, DMA_RDMA_MR, DMA_VFIO,
  C_MMSIM_TRUNCATE_PIN_WAITS, C_MMSIM_TRUNCATE_PIN_WAIT_NS, C_MMSIM_TRUNCATE_BLOCKED_FOREVER, C_MMSIM_PIN_REVOKE_REQUESTS,
  C_MMSIM_PIN_REVOKE_UNANSWERED } from './generated/abi';
import { regionAlloc } from './mem';
import { countEvent, countAdd } from './vmstat';
import { pageCacheEntry, folioWaitqueue } from './filemap';
import { SHADOW_BIT } from './swap';
import { vmaFile } from './mm';
import { sleepOnKey, wakeUpKey, finishWait } from './wait';
import { scheduleNoLater } from './events';
import { curClock, taskEntity } from './sched';
import { folioMaybeDmaPinned, pinSkipped } from './pin_policy';
import { DmaState, stateOf, entryAddr, gupTasks, DS_PIN, DS_DMA } from './gup';

export let truncatePolicy: i32 = TRUNCATE_NONE;
let revokeTimeout: i64 = 0;
/** williams: per frame, u16, the long-term pins it has now (the policy's own record) */
let longterm: usize = 0;
/** per task, the PinTruncateWait of its truncate or punch call */
let waits: usize = 0;

/** The key of truncation's wait for a folio's pins (beside the folio lock's and refcount-wait's on the same hashed queue). */
const TRUNCATE_PIN_KEY: u32 = 0x4000_0000;

export function pinTruncateInit(frames: u32, devices: bool, tasks: i32): bool {
  truncatePolicy = <i32>cfg(G_PINS_TRUNCATE);
  revokeTimeout = <i64>cfg(G_PINS_REVOKE_TIMEOUT_NS);
  longterm = 0;
  waits = regionAlloc(<u64>(tasks + 1) * WAIT_BYTES);
  if (waits == 0) return false;
  for (let t = 0; t < tasks; t++) pinTruncateWaitReset(t);
  if (devices && truncatePolicy == TRUNCATE_WILLIAMS) {
    longterm = regionAlloc(<u64>frames * 2);
    if (longterm == 0) return false;
  }
  return true;
}

/** Does truncation wait for pins (so that an unpin must wake it)? */
@inline export function truncateWaitsForPins(): bool { return truncatePolicy != TRUNCATE_NONE && truncatePolicy != TRUNCATE_FAIL; }

// --- the long-term record (williams) -------------------------------------------------------

@inline function longtermOf(p: u32): u32 { return longterm == 0 ? 0 : <u32>load<u16>(longterm + (<usize>p << 1)); }
export function pinLongtermGrab(p: u32): void { if (longterm != 0) store<u16>(longterm + (<usize>p << 1), <u16>(longtermOf(p) + 1)); }
export function pinLongtermPut(p: u32): void { if (longterm != 0) store<u16>(longterm + (<usize>p << 1), <u16>(longtermOf(p) - 1)); }

/** An unpin of `p`: truncation asleep on its pins looks again. */
export function pinTruncateUnpinned(p: u32): void {
  if (truncateWaitsForPins()) wakeUpKey(folioWaitqueue(p), p ^ TRUNCATE_PIN_KEY, curClock);
}

// --- GUP --------------------------------------------------------------------------------------

/**
 * A FOLL_LONGTERM registration of a file mapping: block-longterm refuses it (-EOPNOTSUPP, as
 * get_user_pages_longterm's vma_is_fsdax check did), williams unless the kernel can revoke it.
 */
export function pinTruncateRefusesLongterm(fileMapping: bool, revocable: bool): bool {
  if (!fileMapping) return false;
  if (truncatePolicy == TRUNCATE_BLOCK_LONGTERM) return true;
  return truncatePolicy == TRUNCATE_WILLIAMS && !revocable;
}

// --- truncation ------------------------------------------------------------------------------

/**
 * fail: before the call changes anything (i_size, blocks), is a page of [start, end) of file
 * `f` believed pinned? Then the call fails with -EBUSY.
 */
export function pinTruncateRangeBusy(f: i32, start: u32, end: u32): bool {
  if (truncatePolicy != TRUNCATE_FAIL) return false;
  for (let i = start; i < end; i++) {
    const entry = pageCacheEntry(f, i);
    if (entry == 0 || (entry & SHADOW_BIT) != 0) continue;
    if (folioMaybeDmaPinned(entry - 1)) { pinSkipped(entry - 1); return true; }
  }
  return false;
}

/**
 * Where a truncate or punch call stands with the pins of the folio it works on (in its
 * TruncateControl): asleep since, the deadline of its revocation requests, and whether the
 * synchronous stage has run.
 */
@unmanaged class PinTruncateWait {
  /** asleep on the folio's pins since (-1: not asleep) */
  since: i64;
  /** the answer to the revocation requests is due by then (-1: none pending) */
  revokeBy: i64;
}
const WAIT_BYTES: usize = (offsetof<PinTruncateWait>() + 7) & ~(<usize>7);
@inline function waitOf(t: i32): PinTruncateWait { return changetype<PinTruncateWait>(waits + <usize>t * WAIT_BYTES); }

/** Is task `t`'s truncation asleep on a folio's pins? */
export function pinTruncateWaiting(t: i32): bool { return waitOf(t).since >= 0; }

/** A fatal signal ends task `t`'s wait on a folio's pins (the wait is killable, as ext4_break_layouts' is). */
export function pinTruncateWaitAbandon(t: i32): void {
  const w = waitOf(t);
  if (w.since < 0) return;
  countAdd(C_MMSIM_TRUNCATE_PIN_WAIT_NS, curClock - w.since);
  countAdd(C_MMSIM_TRUNCATE_BLOCKED_FOREVER, -1);
  w.since = -1; w.revokeBy = -1;
}

/** Task `t` begins a truncate or punch call. */
export function pinTruncateWaitReset(t: i32): void { const w = waitOf(t); w.since = -1; w.revokeBy = -1; }

export const PT_GO: i32 = 0;      // take it out of the file
export const PT_SKIP: i32 = 1;    // the first pass leaves it to the second
export const PT_WAIT: i32 = 2;    // asleep until its pins go (the caller unlocks it first)

/**
 * truncate_inode_pages_range meets folio `p` of file `f` (locked, writeback done) in its first
 * pass (`wait` false) or its second, by entity `e`: the policy's say. A folio the policy waits
 * for is left to the second pass, which sleeps on it with the folio unlocked — the unpin's
 * set_page_dirty_lock takes the folio lock, so a wait holding it would deadlock.
 */
export function pinTruncateFolio(t: i32, f: i32, p: u32, e: i32, wait: bool): i32 {
  const w = waitOf(t);
  const now = curClock;
  if (w.since >= 0) {
    // back from the wait: a wake-up (an unpin) or the revocation deadline
    countAdd(C_MMSIM_TRUNCATE_PIN_WAIT_NS, now - w.since);
    countAdd(C_MMSIM_TRUNCATE_BLOCKED_FOREVER, -1);
    w.since = -1;
    if (!finishWait(e) && w.revokeBy >= 0 && now >= w.revokeBy) { revokeSync(f, now); w.revokeBy = -1; }
  }
  const a = truncatePolicy;
  if (a == TRUNCATE_NONE || a == TRUNCATE_FAIL || !folioMaybeDmaPinned(p)) return PT_GO;
  pinSkipped(p);
  // revocation: every long-term registration of the file (revoke: the kernel cannot tell a
  // transient pin from a long-term one), or those holding this page if it has a long-term pin
  // (williams); the requests go out as early as the first pass
  if (a == TRUNCATE_REVOKE || (a == TRUNCATE_WILLIAMS && longtermOf(p) > 0)) {
    const by = revokeRequest(f, a == TRUNCATE_REVOKE ? NO_PAGE : p, now);
    if (by >= 0 && (w.revokeBy < 0 || by < w.revokeBy)) w.revokeBy = by;
  }
  if (!wait) return PT_SKIP;
  if (w.revokeBy >= 0 && now >= w.revokeBy) { revokeSync(f, now); w.revokeBy = -1; }
  countEvent(C_MMSIM_TRUNCATE_PIN_WAITS);
  countAdd(C_MMSIM_TRUNCATE_BLOCKED_FOREVER, 1);
  w.since = now;
  sleepOnKey(folioWaitqueue(p), p ^ TRUNCATE_PIN_KEY, e, now, w.revokeBy >= 0 ? w.revokeBy - now : -1);
  return PT_WAIT;
}

const NO_PAGE: u32 = 0xFFFF_FFFF;

/** Is registration `s` (of a task) one a revocation can reach: a long-term pin, registered or registering? */
@inline function isRegistration(s: DmaState): bool {
  if (s.phase < 0 || (s.stage != DS_PIN && s.stage != DS_DMA)) return false;
  const m = <i32>phaseCfg(s.phase, PH_MODEL);
  return m == DMA_RDMA_MR || m == DMA_VFIO;
}

/** Does registration `s` hold page `p` (NO_PAGE: any page of file `f`: it maps the file)? */
function holds(s: DmaState, f: i32, p: u32): bool {
  if (p == NO_PAGE) return vmaFile(<i32>phaseCfg(s.phase, PH_TARGET)) == f;
  const n = s.stage == DS_PIN ? s.pinned : s.n;
  for (let i = 0; i < n; i++) if (load<u32>(entryAddr(s, i)) == p) return true;
  return false;
}

/**
 * The lease break (break_layout): each registration that holds `p`, or maps file `f`, and has
 * not been asked yet, is asked now; its owner answers after its revokeLatency (never, if 0).
 * Returns the deadline of the requests sent (-1: none sent).
 */
function revokeRequest(f: i32, p: u32, now: i64): i64 {
  let sent = false;
  for (let t = 0; t < gupTasks; t++) {
    const s = stateOf(t);
    if (!isRegistration(s) || s.revokeAskedAt >= 0 || !holds(s, f, p)) continue;
    s.revokeAskedAt = now;
    sent = true;
    countEvent(C_MMSIM_PIN_REVOKE_REQUESTS);
    const latency = <i64>phaseCfg(s.phase, PH_REVOKE_LATENCY_NS);
    if (<i32>phaseCfg(s.phase, PH_MODEL) == DMA_RDMA_MR && latency > 0) dueAt(t, s, now + latency, false);
  }
  return sent ? now + revokeTimeout : -1;
}

/**
 * The synchronous stage, after the timeout: the kernel revokes the registrations still holding
 * pages of file `f` that it can revoke (an ODP-like rdma-mr: its device faults its pages again);
 * the others it cannot touch (vfio, a plain rdma-mr), and truncation goes on waiting.
 */
function revokeSync(f: i32, now: i64): void {
  for (let t = 0; t < gupTasks; t++) {
    const s = stateOf(t);
    if (!isRegistration(s) || s.revokeAskedAt < 0 || s.revokeUnanswered) continue;
    if (s.revokeAt >= 0 && s.revokeAt <= now) continue;
    if (<i32>phaseCfg(s.phase, PH_REVOCABLE) != 0) dueAt(t, s, now, true);
    else { s.revokeUnanswered = true; countEvent(C_MMSIM_PIN_REVOKE_UNANSWERED); }
  }
}

/** Registration `s` of task `t` lets its pages go at `at` (the device side, gup.ts dmaRevoked). */
function dueAt(t: i32, s: DmaState, at: i64, sync: bool): void {
  if (s.revokeAt >= 0 && s.revokeAt <= at) return;
  s.revokeAt = at; s.revokeSync = sync;
  // a registration doing DMA runs at once then (one still pinning looks when its fault returns)
  if (s.stage == DS_DMA) scheduleNoLater(taskEntity(t), at);
}
