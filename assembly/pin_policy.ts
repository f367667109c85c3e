// The two policy axes of the 2018 PG_dma_pinned debate (seed 002), each a unit behind named
// hooks chosen once at init: `pins.track`, how a pin is recorded and recognised (the grab, the
// put, folio_maybe_dma_pinned), and `pins.action`, what the kernel does where it meets a page it
// believes pinned (reclaim before add_to_swap, try_to_unmap, after the unmap, writeback's page
// selection). Kara: the action "is the same regardless how we identify a page that is pinned".
// A third unit, `pins.dirtyAccounting`, says whether a dirty page believed pinned counts for
// dirty throttling (Hubbard's "ignore this region"; the accounting is writeback.ts's).
// The simulator also knows the truth — how many device references a frame has now — which the
// kernel does not: it only serves to count false positives and needless skips.
import { cfg } from './config';
import { G_PINS_TRACK, G_PINS_ACTION, TRACK_NONE, TRACK_STICKY_FLAG, TRACK_FLAG_CLEAR_ON_PUT, TRACK_OFF_LRU_COUNT,
  TRACK_BIAS, ACTION_NONE, ACTION_UNMAP, ACTION_UNMAP_MKCLEAN, ACTION_PER_CALLER, ACTION_REFCOUNT_WAIT, ACTION_MAINLINE,
  ACTION_BOUNCE, G_PINS_DIRTY_ACCOUNTING, DIRTY_ACCT_EXCLUDE, C_NR_FOLL_PIN_ACQUIRED, C_NR_FOLL_PIN_RELEASED, C_MMSIM_PIN_FALSE_POSITIVES, C_MMSIM_PIN_NEEDLESS_SKIPS,
  C_MMSIM_PIN_LRU_RACES, C_MMSIM_NR_PINNED, C_MMSIM_UNMAP_PIN_WAITS, C_MMSIM_UNMAP_PIN_WAIT_NS, C_MMSIM_PIN_FLAG_LOST } from './generated/abi';
import { refcount, setRefcount, testFlag, setFlag, clearFlag, flags, setFlags, mapcount, PG_lru, PG_active, PG_referenced,
  PG_swapbacked, PG_swapcache, PG_private, PG_dma_pinned, PG_anon_exclusive, PG_pin_unevictable, PG_unevictable,
  compoundHead, folioTestLarge, folioPincount, setFolioPincount } from './page';
import { regionAlloc } from './mem';
import { countEvent, countAdd } from './vmstat';
import { lruvecDelFolio, lruAdd, inLocalBatch, lruAddDrain } from './lru';
import { folioPut } from './alloc';
import { folioWaitqueue } from './filemap';
import { sleepOnKey, wakeUpKey } from './wait';
import { curClock } from './sched';
import { userptrReclaimSkipsPinned } from './userptr';
import { pinLongtermGrab, pinLongtermPut, pinTruncateUnpinned } from './pin_truncate';
import { dirtyExclusionUpdate } from './writeback';

/** GUP_PIN_COUNTING_BIAS (include/linux/mm.h) */
export const GUP_PIN_COUNTING_BIAS: i32 = 1024;

export let pinTrack: i32 = TRACK_NONE;
export let pinAction: i32 = ACTION_NONE;
/** Per frame, u16 each: the devices' references now (the truth), and off-lru-count's pin count. */
let truth: usize = 0;
let offLru: usize = 0;
/** off-lru-count is on: LRU adds must look for a pin count in the lru words they overwrite. */
export let offLruTracking: bool = false;

@inline function truthOf(p: u32): u32 { return truth == 0 ? 0 : <u32>load<u16>(truth + (<usize>p << 1)); }
@inline function offLruCount(p: u32): u32 { return <u32>load<u16>(offLru + (<usize>p << 1)); }
@inline function setOffLruCount(p: u32, v: u32): void { store<u16>(offLru + (<usize>p << 1), <u16>v); }

// --- pins.track: try_grab_folio / gup_put_folio / folio_maybe_dma_pinned --------------------

/** A reference a device takes on `p` (FOLL_GET, or FOLL_PIN as the track records it). */
let grabHook: (p: u32) => void = grabRef;
/** The device's reference dropped from the track's records: how many refcount units it held (folio_put drops them). */
let putHook: (p: u32) => i32 = putRef;
/** folio_maybe_dma_pinned as the track answers it. */
let maybeHook: (p: u32) => bool = neverPinned;

function grabRef(p: u32): void { setRefcount(p, refcount(p) + 1); }
function putRef(p: u32): i32 { return 1; }
function neverPinned(p: u32): bool { return false; }

// sticky-flag (the posted patch): PG_dma_pinned set by every GUP, cleared only when the page is
// freed (the allocator clears every flag); flag-clear-on-put: cleared by the first put.
function grabFlag(p: u32): void { setRefcount(p, refcount(p) + 1); setFlag(p, PG_dma_pinned); }
function putFlagClear(p: u32): i32 {
  // Hellwig's objection: with two pins live, the first put clears the flag for both
  if (testFlag(p, PG_dma_pinned) && truthOf(p) > 0) countEvent(C_MMSIM_PIN_FLAG_LOST);
  clearFlag(p, PG_dma_pinned);
  return 1;
}
function flagged(p: u32): bool { return testFlag(p, PG_dma_pinned); }

// off-lru-count (Wilcox): the first pin takes the page off the LRU and keeps the pin count where
// page->lru was (here beside the frame, so that reclaim's own lists stay intact); the last unpin
// puts it back with fresh aging (Kara: it loses its LRU position).
function grabOffLru(p: u32): void {
  setRefcount(p, refcount(p) + 1);
  const c = offLruCount(p);
  if (c > 0) { setOffLruCount(p, c + 1); return; }
  // a folio still in this CPU's lru_add batch is drained first; one in another CPU's batch (or
  // isolated by a reclaimer) cannot be taken off now: its later LRU add overwrites the count
  if (!testFlag(p, PG_lru) && inLocalBatch(p)) lruAddDrain();
  if (testFlag(p, PG_lru)) lruvecDelFolio(p);
  setOffLruCount(p, 1);
}
function putOffLru(p: u32): i32 {
  const c = offLruCount(p);
  if (c > 0) {
    setOffLruCount(p, c - 1);
    if (c == 1 && !testFlag(p, PG_lru)) {
      // putback with fresh aging: the inactive list, no reference history
      setFlags(p, flags(p) & ~(PG_active | PG_referenced));
      lruAdd(p);
    }
  }
  return 1;
}
function offLruPinned(p: u32): bool { return offLruCount(p) > 0; }

// bias (mainline FOLL_PIN, v5.7): GUP_PIN_COUNTING_BIAS per pin in the refcount of a small
// folio; a large folio takes one reference and one _pincount per pinned page instead
// (try_grab_folio, gup_put_folio: has_pincount is every large folio on 64-bit)
function grabBias(p: u32): void {
  if (folioTestLarge(p)) { setRefcount(p, refcount(p) + 1); setFolioPincount(p, folioPincount(p) + 1); }
  else setRefcount(p, refcount(p) + GUP_PIN_COUNTING_BIAS);
  countEvent(C_NR_FOLL_PIN_ACQUIRED);
}
function putBias(p: u32): i32 {
  countEvent(C_NR_FOLL_PIN_RELEASED);
  if (folioTestLarge(p)) { setFolioPincount(p, folioPincount(p) - 1); return 1; }
  return GUP_PIN_COUNTING_BIAS;
}
/** folio_maybe_dma_pinned: _pincount of a large folio (exact), the bias in a small one's refcount (false positives). */
function biasPinned(p: u32): bool {
  if (folioTestLarge(p)) return folioPincount(p) > 0;
  return <u32>refcount(p) >= <u32>GUP_PIN_COUNTING_BIAS;
}

// --- pins.dirtyAccounting: dirty pinned pages and the dirty throttling figures -----------------

/**
 * Does a dirty page-cache page stay out of the dirty figures balance_dirty_pages and the
 * background checks read? count (the kernel): never; exclude (Hubbard's "just ignore this
 * region until we're done with it"): while the track recognises it as pinned — with the track's
 * own errors (a sticky flag outlives the pin; bias's false positives).
 */
let dirtyExcludedHook: (p: u32) => bool = neverPinned;
/** pins.dirtyAccounting is exclude: writeback.ts keeps the books (dirtyExclusionUpdate). */
export let pinDirtyExcluding: bool = false;
function excludeIfPinned(p: u32): bool { return maybeHook(p); }
/** pins.dirtyAccounting's answer for dirty page-cache page `p`. */
export function pinDirtyExcluded(p: u32): bool { return dirtyExcludedHook(p); }

/** Choose the hooks; `devices`: the scenario has dma phases (the truth tables are needed). */
export function pinPolicyInit(frames: u32, devices: bool): bool {
  pinTrack = <i32>cfg(G_PINS_TRACK);
  pinAction = <i32>cfg(G_PINS_ACTION);
  pinDirtyExcluding = <i32>cfg(G_PINS_DIRTY_ACCOUNTING) == DIRTY_ACCT_EXCLUDE;
  dirtyExcludedHook = pinDirtyExcluding ? excludeIfPinned : neverPinned;
  truth = 0; offLru = 0; offLruTracking = false;
  if (devices) {
    truth = regionAlloc(<u64>frames * 2);
    if (truth == 0) return false;
  }
  if (pinTrack == TRACK_STICKY_FLAG) { grabHook = grabFlag; putHook = putRef; maybeHook = flagged; }
  else if (pinTrack == TRACK_FLAG_CLEAR_ON_PUT) { grabHook = grabFlag; putHook = putFlagClear; maybeHook = flagged; }
  else if (pinTrack == TRACK_OFF_LRU_COUNT) {
    grabHook = grabOffLru; putHook = putOffLru; maybeHook = offLruPinned;
    offLru = regionAlloc(<u64>frames * 2);
    if (offLru == 0) return false;
    offLruTracking = true;
  } else if (pinTrack == TRACK_BIAS) { grabHook = grabBias; putHook = putBias; maybeHook = biasPinned; }
  else { grabHook = grabRef; putHook = putRef; maybeHook = neverPinned; }
  return true;
}

/** A device takes page `p` (try_grab_folio on its folio: the pin and its records are the folio's). */
export function pinGrab(page: u32, longterm: bool): void {
  const p = compoundHead(page);
  grabHook(p);
  if (longterm) pinLongtermGrab(p);
  store<u16>(truth + (<usize>p << 1), load<u16>(truth + (<usize>p << 1)) + 1);
  countAdd(C_MMSIM_NR_PINNED, 1);
  dirtyExclusionUpdate(p);
}

/** A device lets page `p` go (gup_put_folio on its folio): the last reference frees the folio (folio_put). */
export function pinPut(page: u32, longterm: bool): void {
  const p = compoundHead(page);
  if (longterm) pinLongtermPut(p);
  store<u16>(truth + (<usize>p << 1), load<u16>(truth + (<usize>p << 1)) - 1);
  countAdd(C_MMSIM_NR_PINNED, -1);
  const refs = putHook(p);
  setRefcount(p, refcount(p) - (refs - 1));
  dirtyExclusionUpdate(p);          // (the refcount as it is after the put: the last reference is the cache's)
  folioPut(p);
  // refcount-wait: a reclaimer asleep in try_to_unmap for this folio looks again
  if (pinAction == ACTION_REFCOUNT_WAIT) countAdd(C_MMSIM_UNMAP_PIN_WAIT_NS, wakeUpKey(folioWaitqueue(p), p ^ PIN_WAIT_KEY, curClock));
  // pins.truncate: a truncation asleep on this folio's pins looks again
  pinTruncateUnpinned(p);
}

/** The key of a wait for a folio's references (distinct from a wait for its lock in the same hashed queue). */
const PIN_WAIT_KEY: u32 = 0x8000_0000;

/**
 * refcount-wait: reclaimer `e` sleeps in try_to_unmap until the folio's extra references are
 * dropped; the folio stays locked and isolated meanwhile (shrink_folio_list resumes at it).
 */
export function pinWaitForUnmap(e: i32, p: u32, now: i64): void {
  countEvent(C_MMSIM_UNMAP_PIN_WAITS);
  sleepOnKey(folioWaitqueue(p), p ^ PIN_WAIT_KEY, e, now);
}

/** The devices' references to `p` now (the simulator's truth, not the kernel's). */
export function pinTruth(p: u32): u32 { return truthOf(p); }

/**
 * folio_maybe_dma_pinned, as the track answers it, at a place where an action consults it:
 * a yes for a page no device holds is counted (a false positive: ordinary references over the
 * bias, or a sticky flag after its unpin).
 */
export function folioMaybeDmaPinned(p: u32): bool {
  if (!maybeHook(p)) return false;
  if (truthOf(p) == 0) countEvent(C_MMSIM_PIN_FALSE_POSITIVES);
  return true;
}

/** An action passed over, kept or waited for `p` because it believed it pinned. */
@inline function skipped(p: u32): void { if (truthOf(p) == 0) countEvent(C_MMSIM_PIN_NEEDLESS_SKIPS); }
/** …the same, for a policy of another unit (pins.truncate). */
export function pinSkipped(p: u32): void { skipped(p); }

/**
 * An LRU add (lruvec_add_folio) of a folio off-lru-count keeps off the LRU: list_add writes
 * the lru words that hold its pin count — Kara's race with a per-CPU batch. The count is lost:
 * the folio is on the LRU again and looks unpinned.
 */
export function pinLruReadded(p: u32): void {
  if (offLruCount(p) == 0) return;
  setOffLruCount(p, 0);
  countEvent(C_MMSIM_PIN_LRU_RACES);
  dirtyExclusionUpdate(p);
}

// --- pins.action ------------------------------------------------------------------------------

/**
 * shrink_folio_list, an anon folio not yet in the swap cache: mainline (v5.11, feb889fb40fa)
 * keeps a maybe-pinned one rather than add it to swap. True: keep it.
 */
export function pinKeepBeforeSwap(p: u32): bool {
  if ((pinAction != ACTION_MAINLINE && !userptrReclaimSkipsPinned()) || !folioMaybeDmaPinned(p)) return false;
  skipped(p);
  return true;
}

export const UNMAP_GO: i32 = 0;
/** try_to_unmap fails: the folio stays mapped (and is activated) */
export const UNMAP_REFUSED: i32 = 1;
/** refcount-wait: sleep until the extra references are dropped */
export const UNMAP_WAIT: i32 = 2;

/**
 * Before try_to_unmap(folio) in shrink_folio_list, the action's say: the posted patch's
 * try_to_unmap_one returns early for a flagged page (unmap, unmap+mkclean), and so does
 * reclaim under Kara's per-caller rule (reclaim is a caller that may skip); mainline's
 * folio_try_share_anon_rmap_pte refuses an exclusive anon page that may be pinned (v5.19);
 * refcount-wait (Williams) waits while references beyond the mappings, the cache, buffers and
 * the isolation remain — which needs no pin tracking at all.
 */
export function pinTryToUnmap(p: u32): i32 {
  const a = pinAction;
  // userptr.policy skip-pinned: reclaim passes over maybe-pinned pages before any notifier
  if (userptrReclaimSkipsPinned() && folioMaybeDmaPinned(p)) { skipped(p); return UNMAP_REFUSED; }
  if (a == ACTION_NONE || a == ACTION_BOUNCE) return UNMAP_GO;
  if (a == ACTION_REFCOUNT_WAIT) return refcount(p) > expectedRefs(p) ? UNMAP_WAIT : UNMAP_GO;
  if (a == ACTION_MAINLINE) {
    if (!testFlag(p, PG_swapbacked) || !testFlag(p, PG_anon_exclusive) || !folioMaybeDmaPinned(p)) return UNMAP_GO;
  } else if (!folioMaybeDmaPinned(p)) return UNMAP_GO;
  skipped(p);
  return UNMAP_REFUSED;
}

/**
 * try_to_migrate_one's folio_try_share_anon_rmap_pte under mainline (v5.19): an exclusive anon
 * page that may be pinned is not turned into a (readable) migration entry — -EBUSY, the PTE is
 * put back and the walk stops, so the folio stays mapped and its migration is -EAGAIN. Other
 * actions leave it to folio_migrate_mapping's refcount freeze, which any pin fails too. True:
 * refused.
 */
export function pinRefusesMigrationUnmap(p: u32): bool {
  if (pinAction != ACTION_MAINLINE || !testFlag(p, PG_swapbacked) || !testFlag(p, PG_anon_exclusive)) return false;
  return folioMaybeDmaPinned(p);
}

/** The references an isolated folio has without any GUP: its mappings, the cache, buffers, the isolation. */
export function expectedRefs(p: u32): i32 {
  const f = flags(p);
  const cache = (f & PG_swapcache) != 0 || (f & PG_swapbacked) == 0 ? 1 : 0;
  return mapcount(p) + cache + ((f & PG_private) != 0 ? 1 : 0) + 1;
}

/**
 * After the unmap in shrink_folio_list: mainline (v6.4, d824ec2a1546, "do not reclaim private
 * data from pinned page") activates a folio still maybe pinned — no buffer release, no
 * writeout, no freeing. True: activate it.
 */
export function pinActivateAfterUnmap(p: u32): bool {
  if (pinAction != ACTION_MAINLINE || !folioMaybeDmaPinned(p)) return false;
  skipped(p);
  return true;
}

export const WB_GO: i32 = 0;
/** leave the page dirty and go on (WB_SYNC_NONE skips it) */
export const WB_SKIP: i32 = 1;
/** data integrity: the pass waits for the unpin */
export const WB_WAIT: i32 = 2;
/** write a bounce copy and leave the page dirty */
export const WB_BOUNCE: i32 = 3;

/**
 * write_cache_pages meets a dirty page, before folio_clear_dirty_for_io (whose folio_mkclean is
 * what the actions argue over): unmap+mkclean's folio_mkclean skips pinned pages, which so stay
 * dirty (a WB_SYNC_ALL pass cannot finish while they are pinned); Kara's per-caller rule skips
 * them for WB_SYNC_NONE and waits for the unpin for WB_SYNC_ALL; bounce writes a copy for
 * WB_SYNC_ALL. Mainline's folio_mkclean ignores pins.
 */
export function pinWriteback(p: u32, syncAll: bool): i32 {
  const a = pinAction;
  if (a != ACTION_UNMAP_MKCLEAN && a != ACTION_PER_CALLER && a != ACTION_BOUNCE) return WB_GO;
  if (a == ACTION_BOUNCE && !syncAll) return WB_GO;
  if (!folioMaybeDmaPinned(p)) return WB_GO;
  skipped(p);
  if (a == ACTION_BOUNCE) return WB_BOUNCE;
  return syncAll ? WB_WAIT : WB_SKIP;
}

/** userptr.policy unevictable: a page the driver pins goes to the unevictable list (as mlock_folio moves one). */
export function pinMakeUnevictable(p: u32): void {
  if (testFlag(p, PG_pin_unevictable)) return;
  setFlag(p, PG_pin_unevictable);
  if (testFlag(p, PG_lru)) { lruvecDelFolio(p); lruAdd(p); }
}

/** …and back to an evictable list when the driver lets it go (munlock_folio-like). */
export function pinMakeEvictable(p: u32): void {
  clearFlag(p, PG_pin_unevictable);
  if (testFlag(p, PG_lru) && testFlag(p, PG_unevictable)) { lruvecDelFolio(p); lruAdd(p); }
}

/** pins.action=mainline: a FOLL_LONGTERM read pin unshares the shared zero page of a private mapping (v6.0). */
export function pinUnsharesZeroPage(): bool { return pinAction == ACTION_MAINLINE; }

/** pins.action=mainline refuses FOLL_LONGTERM|FOLL_WRITE on file mappings that need dirty tracking (v6.5). */
export function pinRefusesLongtermFileWrite(): bool { return pinAction == ACTION_MAINLINE; }
