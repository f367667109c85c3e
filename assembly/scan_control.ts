// struct scan_control, one record per reclaimer (kswapd, and each task that may enter direct
// reclaim), so that several reclaimers can be inside reclaim at once and each can sleep in the
// middle of a pass and resume there. Besides the kernel's fields it keeps where the pass stands
// (the kernel keeps that on the reclaimer's stack): the priority loop, the shrink_node stage,
// shrink_lruvec's nr[] and targets[], and the batch isolated onto the reclaimer's own list.
import { regionAlloc } from './mem';

@unmanaged export class ScanControl {
  nr_to_reclaim: u64;
  nr_reclaimed: u64;
  nr_scanned: u64;
  // sc->nr: tallies of one shrink_node
  nr_dirty: u64;
  nr_unqueued_dirty: u64;
  nr_congested: u64;
  nr_writeback: u64;
  nr_immediate: u64;
  nr_taken: u64;
  nr_file_taken: u64;
  // struct reclaim_stat of the last shrink_folio_list
  stat_dirty: u64;
  stat_unqueued_dirty: u64;
  stat_congested: u64;
  stat_writeback: u64;
  stat_immediate: u64;
  stat_pageout: u64;
  stat_activate: u64;
  // shrink_lruvec: nr[] and targets[] per evictable list
  nr0: u64; nr1: u64; nr2: u64; nr3: u64;
  tg0: u64; tg1: u64; tg2: u64; tg3: u64;
  /** sc.nr_reclaimed when shrink_lruvec began (its local nr_reclaimed is the difference). */
  lruvec_reclaimed0: u64;
  /** sc.nr_reclaimed when shrink_node began (for `reclaimable`). */
  node_reclaimed0: u64;
  /** The batch isolated onto `hold` and not yet through shrink_folio_list. */
  batch_taken: u64;
  batch_scanned: u64;
  /** When this reclaim call began (direct reclaim's latency). */
  t0: i64;
  /** When the reclaimer went to sleep in reclaim_throttle. */
  t_throttle: i64;
  priority: i32;
  reclaim_idx: i32;
  order: i32;
  /** The allocation's highest zone (allocstall_* counts by it; reclaim_idx stops at NORMAL). */
  alloc_zoneidx: i32;
  /** do_try_to_free_pages: the pass (0, the memcg full-walk retry 1, forced deactivation 2). */
  pass: i32;
  /** Where the pass stands: DR_* for direct reclaim. */
  stage: i32;
  /** Where shrink_node stands: SN_*. */
  node_stage: i32;
  /** The next list of shrink_lruvec's current round. */
  lru: i32;
  /** BATCH_*: an inactive-list batch waiting to be isolated or decided. */
  batch: i32;
  batch_lru: i32;
  batch_n: i32;
  /** The event-queue entity that reclaims with this record. */
  entity: i32;
  /** This reclaimer's private isolation list (a sentinel of the frame table). */
  hold: u32;
  /** VM_LOCKED / VM_EXEC of the mappings the last folio_referenced saw (its `*vm_flags`). */
  vm_flags: u32;
  /** The kept folios of the batch in shrink_folio_list (ret_folios), another sentinel. */
  ret: u32;
  /** The reclaimer's blk_plug: swap writes not yet submitted (PLUG_CAP pfns at `plug`). */
  plug: usize;
  plug_n: u32;
  /** Pages shrink_folio_list freed of the batch being decided. */
  batch_reclaimed: u64;
  /** The folio whose try_to_unmap sleeps in a notifier callback (locked; NO_FOLIO: none). */
  pending: u32;
  /** Its folio_check_references verdict, for the rest of its decisions. */
  pending_refs: i32;
  may_writepage: bool;
  may_unmap: bool;
  may_swap: bool;
  is_kswapd: bool;
  may_deactivate_anon: bool;
  may_deactivate_file: bool;
  force_deactivate: bool;
  skipped_deactivate: bool;
  cache_trim_mode: bool;
  file_is_tiny: bool;
  proportional: bool;
  reclaimable: bool;
  /** too_many_isolated already made this batch wait once (shrink_inactive_list's `stalled`). */
  stalled: bool;
  /** do_try_to_free_pages is asleep in reclaim_throttle(NOPROGRESS). */
  throttled: bool;
}

/** shrink_lruvec's nr[lru] / targets[lru] live side by side in the record. */
@inline export function scNr(sc: ScanControl, lru: i32): u64 {
  return load<u64>(changetype<usize>(sc) + offsetof<ScanControl>('nr0') + (<usize>lru << 3));
}
@inline export function scSetNr(sc: ScanControl, lru: i32, v: u64): void {
  store<u64>(changetype<usize>(sc) + offsetof<ScanControl>('nr0') + (<usize>lru << 3), v);
}
@inline export function scTarget(sc: ScanControl, lru: i32): u64 {
  return load<u64>(changetype<usize>(sc) + offsetof<ScanControl>('tg0') + (<usize>lru << 3));
}
@inline export function scSetTarget(sc: ScanControl, lru: i32, v: u64): void {
  store<u64>(changetype<usize>(sc) + offsetof<ScanControl>('tg0') + (<usize>lru << 3), v);
}

/** No folio (alloc.ts NO_PAGE). */
export const NO_FOLIO: u32 = 0xFFFF_FFFF;

// Reclaimer 0 is kswapd; reclaimer 1 + t is task t.
let records: usize = 0;
let nRecords: i32 = 0;
const RECORD_BYTES: usize = (offsetof<ScanControl>() + 63) & ~(<usize>63);

/**
 * One record per reclaimer, each with its own isolation and kept-folio list sentinels from
 * `listBase` (2 per reclaimer) and a plug of `plugCap` pfns.
 */
export function scanControlsInit(reclaimers: i32, listBase: u32, plugCap: u32): bool {
  nRecords = reclaimers;
  records = regionAlloc(<u64>reclaimers * <u64>RECORD_BYTES);
  const plugs = regionAlloc(<u64>reclaimers * <u64>plugCap * 4);
  if (records == 0 || plugs == 0) return false;
  for (let r = 0; r < reclaimers; r++) {
    const sc = changetype<ScanControl>(records + <usize>r * RECORD_BYTES);
    sc.hold = listBase + <u32>(2 * r);
    sc.ret = listBase + <u32>(2 * r + 1);
    sc.plug = plugs + <usize>r * <usize>plugCap * 4;
    sc.pending = NO_FOLIO;
  }
  return true;
}

@inline export function scanControlOf(reclaimer: i32): ScanControl {
  return changetype<ScanControl>(records + <usize>reclaimer * RECORD_BYTES);
}
export function nrReclaimers(): i32 { return nRecords; }
@inline export function kswapdScanControl(): ScanControl { return scanControlOf(0); }
@inline export function taskScanControl(t: i32): ScanControl { return scanControlOf(1 + t); }
