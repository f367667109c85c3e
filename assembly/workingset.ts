// Workingset detection (mm/workingset.c): reclaim leaves a shadow entry carrying the lruvec's
// non-resident age at eviction; a refault whose distance fits in the workingset is activated
// at once, and its IO is charged to its LRU type as cost (lru_note_cost_refault).
import { testFlag, setFlag, PG_workingset, PG_swapbacked, PG_active } from './page';
import { countEvent } from './vmstat';
import { lruvecPageState } from './memcontrol';
import { C_WORKINGSET_REFAULT_ANON, C_WORKINGSET_REFAULT_FILE, C_WORKINGSET_ACTIVATE_ANON,
  C_WORKINGSET_ACTIVATE_FILE, C_WORKINGSET_RESTORE_ANON, C_WORKINGSET_RESTORE_FILE,
  C_NR_ACTIVE_FILE, C_NR_INACTIVE_FILE, C_NR_ACTIVE_ANON, C_NR_INACTIVE_ANON } from './generated/abi';
import { lruNoteCost } from './lru';
import { SHADOW_BIT, nrSwapFree } from './swap';

const WS_BIT: u32 = 1 << 30;
const AGE_MASK: u32 = WS_BIT - 1;
/** lruvec->nonresident_age */
export let nonresidentAge: u64 = 0;

/** workingset_age_nonresident */
@inline export function workingsetAgeNonresident(n: u64): void { nonresidentAge += n; }

/** workingset_eviction: the shadow entry to leave in the cache slot of an evicted page. */
export function workingsetEviction(p: u32): u32 {
  const eviction = <u32>nonresidentAge & AGE_MASK;
  workingsetAgeNonresident(1);
  return SHADOW_BIT | (testFlag(p, PG_workingset) ? WS_BIT : 0) | eviction;
}

/** workingset_refault: decide whether a page read back in was part of the workingset. */
export function workingsetRefault(p: u32, shadow: u32): void {
  const file = !testFlag(p, PG_swapbacked);
  countEvent(file ? C_WORKINGSET_REFAULT_FILE : C_WORKINGSET_REFAULT_ANON);
  const eviction = shadow & AGE_MASK;
  const distance = (<u32>nonresidentAge - eviction) & AGE_MASK;
  // workingset_test_recent: compare with the pages that could have been kept instead
  let size = lruvecPageState(C_NR_ACTIVE_FILE);
  if (!file) size += lruvecPageState(C_NR_INACTIVE_FILE);
  if (nrSwapFree() > 0) {
    size += lruvecPageState(C_NR_ACTIVE_ANON);
    if (file) size += lruvecPageState(C_NR_INACTIVE_ANON);
  }
  if (<u64>distance > size) return;
  setFlag(p, PG_active);
  workingsetAgeNonresident(1);
  countEvent(file ? C_WORKINGSET_ACTIVATE_FILE : C_WORKINGSET_ACTIVATE_ANON);
  if ((shadow & WS_BIT) != 0) {
    setFlag(p, PG_workingset);
    lruNoteCost(file, 1, 0);
    countEvent(file ? C_WORKINGSET_RESTORE_FILE : C_WORKINGSET_RESTORE_ANON);
  }
}

/** workingset_activation: a page was activated by an access. */
export function workingsetActivation(p: u32): void { workingsetAgeNonresident(1); }
