// Reverse mapping (mm/rmap.c): from a page to the PTEs that map it, through its mapping and
// index — the anon_vma's VMAs for anonymous pages, the file's i_mmap for page cache — never
// through a per-page list of mappers. Each visit walks that VMA's page table to the address
// vma_address() gives and checks that the PTE maps this very page. try_to_unmap_one,
// try_to_migrate_one and page_vma_mkclean_one bracket each VMA's change in an MMU notifier
// range (MMU_NOTIFY_CLEAR, MMU_NOTIFY_CLEAR, MMU_NOTIFY_PROTECTION_PAGE — try_to_migrate_one's
// event as mm/rmap.c has it since the function was split out, v5.14, read at 8cdf3792), whose
// blockable callbacks may sleep: the walk stops there and resumes at the same VMA when its
// walker runs again. remove_migration_ptes walks the same way without a notifier: the entries
// it replaces were not present.
import { next, flags, mapping, pageIndex, mapcount, setMapcount, refcount, setRefcount, setFlag, testFlag, clearFlag,
  MAPPING_ANON, PG_swapbacked, PG_mlocked, PG_swapcache, PG_unevictable, PG_dirty, PG_idle, PG_young, PG_locked } from './page';
import { entryPfn, entryAddr, pmdEntryAddr, mkPte, pteOffset, _PAGE_PSE, _PAGE_SPECIAL, _PAGE_PRESENT, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_RW, _PAGE_SWP, _PAGE_MIGRATION,
  isSwapPte, isMigrationPte } from './pgtable';
import { pinRefusesMigrationUnmap } from './pin_policy';
import { vmaMm, vmaStart, vmaEnd, vmaPgoff, vmaFlags, vmaUnlinked, mmPgd, mmDead, immapFirst, immapEnd, immapAt,
  VM_LOCKED, VM_EXEC, VM_SHARED, mmAddRss } from './mm';
import { countEvent, countAdd } from './vmstat';
import { C_MMSIM_PTES_YOUNG_CLEARED, C_MMSIM_UNMAPPED_PTES, C_NR_ANON_PAGES, C_NR_MAPPED, C_NR_MLOCK,
  C_UNEVICTABLE_PGS_MLOCKED, G_COST_RMAP_WALK, G_NOTIFIER_MAYFAIL, DK_BAD_PTE, FN_FOLIO_REMOVE_RMAP_PTE } from './generated/abi';
import { swapDuplicate, folioSwapSlot } from './swap';
import { folioMarkDirty } from './writeback';
import { chargeNs, curClock } from './sched';
import { mmHasNotifiers, mmuNotifierClearFlushYoung, mmuNotifierClearYoung, mmuNotifierRangeStart, mmuNotifierRangeEnd, MMU_NOTIFY_CLEAR, MMU_NOTIFY_PROTECTION_PAGE,
  RANGE_BLOCKABLE, RANGE_MAYFAIL, NOTIFIER_SLEEP } from './mmu_notifier';
import { ScanControl } from './scan_control';
import { cfg } from './config';
import { regionAlloc } from './mem';
import { recordBug } from './invariants';

const RMAP_REFERENCED: i32 = 0;
const RMAP_UNMAP: i32 = 1;
const RMAP_MKCLEAN: i32 = 2;
const RMAP_MIGRATE: i32 = 3;
const RMAP_IDLE: i32 = 4;

/**
 * The walk in progress: rmap_walk_control with its arg (folio_referenced_arg, the mkclean
 * count). The kernel keeps it on the walking task's stack; here each entity has one, the
 * frame of the actor that walks (rmapWalkControlOf), so that a walk can sleep in a later
 * callback without another actor's walk overwriting it.
 */
@unmanaged export class RmapWalkControl {
  mode: i32;
  /** PTEs found young (folio_referenced) or dirty (folio_mkclean) */
  count: i32;
  /** VM_LOCKED / VM_EXEC of the mappings seen (folio_referenced_arg.vm_flags) */
  vm_flags: u32;
  /** where a walk whose notifier callback sleeps resumes: the VMA's place (-1: no walk asleep) */
  resume: i32;
  /** the folio of that walk */
  pfn: u32;
  /** rmap_one said stop (an mlocked mapping, a bad PTE) */
  abort: bool;
}

let walkRecords: usize = 0;
/** rmapPrefetchList's scratch: the batch's PMD entry addresses, then its vpns. */
const PREFETCH_CAP: i32 = 64;
let prefetchPmd: usize = 0;
let prefetchVpn: usize = 0;
let prefetchSink: u64 = 0;
let prefetchOn: bool = true;

/** The batch prefetch on (the default) or off, for the tests and the bench's side by side: results must not change. */
export function setRmapPrefetch(on: bool): void { prefetchOn = on; }
const WALK_BYTES: usize = (offsetof<RmapWalkControl>() + 7) & ~(<usize>7);

/** notifiers.mayfail */
let notifierMayfail: bool = false;

export function rmapInit(entities: i32): bool {
  notifierMayfail = cfg(G_NOTIFIER_MAYFAIL) != 0;
  walkRecords = regionAlloc(<u64>entities * <u64>WALK_BYTES);
  prefetchPmd = regionAlloc(<u64>PREFETCH_CAP * 8);
  prefetchVpn = regionAlloc(<u64>PREFETCH_CAP * 8);
  if (walkRecords == 0 || prefetchPmd == 0 || prefetchVpn == 0) return false;
  prefetchOn = true;
  for (let e = 0; e < entities; e++) rmapWalkControlOf(e).resume = -1;
  return true;
}

/** The walk record of entity `e` (a task, kswapd, the flusher). */
@inline export function rmapWalkControlOf(e: i32): RmapWalkControl {
  return changetype<RmapWalkControl>(walkRecords + <usize>e * WALK_BYTES);
}

/** vma_address: the page number at which VMA `v` would map file/anon index `index`, or -1. */
@inline function vmaAddress(v: i32, index: u32): i64 {
  const pgoff = vmaPgoff(v);
  if (<i64>index < pgoff) return -1;
  const vpn = vmaStart(v) + (<i64>index - pgoff);
  return vpn < vmaEnd(v) ? vpn : -1;
}

/** page_vma_mapped_walk: does `v` map page `p` at `vpn`? Returns the PTE address or 0. */
@inline function vmaPte(v: i32, p: u32, vpn: i64): usize {
  const pte = pteOffset(mmPgd(vmaMm(v)), vpn);
  if (pte == 0) return 0;
  const e = load<u64>(pte);
  if ((e & _PAGE_PRESENT) == 0 || (e & _PAGE_SPECIAL) != 0 || entryPfn(e) != p) return 0;
  return pte;
}

function visit(rwc: RmapWalkControl, v: i32, p: u32, pte: usize, vpn: i64): void {
  const e = load<u64>(pte);
  const vmf = vmaFlags(v);
  const mode = rwc.mode;
  if (mode == RMAP_REFERENCED) {
    // folio_referenced_one
    if ((vmf & VM_LOCKED) != 0) { rwc.vm_flags |= VM_LOCKED; rwc.abort = true; return; }
    // ptep_clear_flush_young_notify: the PTE's accessed bit, or a secondary MMU's use of it
    let young = false;
    if ((e & _PAGE_ACCESSED) != 0) {
      store<u64>(pte, e & ~_PAGE_ACCESSED);
      countEvent(C_MMSIM_PTES_YOUNG_CLEARED);
      young = true;
    }
    const m = vmaMm(v);
    if (mmHasNotifiers(m) && mmuNotifierClearFlushYoung(m, vpn)) young = true;
    // idle page tracking's marks: a use ends the idle period; a young bit its walk cleared counts
    if (young) clearFlag(p, PG_idle);
    if (testFlag(p, PG_young)) { clearFlag(p, PG_young); young = true; }
    if (young) {
      rwc.count++;
      rwc.vm_flags |= vmf & VM_EXEC;
    }
    return;
  }
  if (mode == RMAP_IDLE) {
    // page_idle_clear_pte_refs_one: ptep_clear_young_notify — the PTE's accessed bit, and
    // mmu_notifier_clear_young (no TLB flush)
    let young = false;
    if ((e & _PAGE_ACCESSED) != 0) { store<u64>(pte, e & ~_PAGE_ACCESSED); young = true; }
    const m = vmaMm(v);
    if (mmHasNotifiers(m) && mmuNotifierClearYoung(m, vpn)) young = true;
    if (young) rwc.count++;
    return;
  }
  if (mode == RMAP_MKCLEAN) {
    // page_vma_mkclean_one: shared mappings only; private ones COW instead
    if ((vmf & VM_SHARED) == 0) return;
    if ((e & (_PAGE_DIRTY | _PAGE_RW)) == 0) return;
    store<u64>(pte, e & ~(_PAGE_DIRTY | _PAGE_RW));
    if ((e & _PAGE_DIRTY) != 0) rwc.count++;
    return;
  }
  // a huge PMD leaf is only ever aged here: reclaim splits a THP before it unmaps it, and
  // neither migration nor mkclean meets one (anonymous memory, no THP migration modelled)
  if ((e & _PAGE_PSE) != 0) { recordBug(DK_BAD_PTE, p, FN_FOLIO_REMOVE_RMAP_PTE, <f64>e); rwc.abort = true; return; }
  if (mode == RMAP_MIGRATE) { migrateOne(rwc, v, p, pte, e); return; }
  // try_to_unmap_one
  if ((vmf & VM_LOCKED) != 0) {
    // mlock_vma_folio: the page is culled to the unevictable list on putback
    if (!testFlag(p, PG_mlocked)) {
      setFlag(p, PG_mlocked);
      countAdd(C_NR_MLOCK, 1);
      countEvent(C_UNEVICTABLE_PGS_MLOCKED);
    }
    rwc.abort = true;
    return;
  }
  const m = vmaMm(v);
  if ((e & _PAGE_DIRTY) != 0) folioMarkDirty(p);     // propagate the hardware dirty bit
  if (testFlag(p, PG_swapbacked)) {
    if (!testFlag(p, PG_swapcache)) {
      // swapbacked but not in the swap cache: the kernel WARNs and aborts the walk
      recordBug(DK_BAD_PTE, p, FN_FOLIO_REMOVE_RMAP_PTE, <f64>e);
      rwc.abort = true;
      return;
    }
    const slot = folioSwapSlot(p);
    swapDuplicate(slot);
    store<u64>(pte, mkPte(slot, _PAGE_SWP));
    mmAddRss(m, true, -1, 1);
  } else {
    store<u64>(pte, 0);
    mmAddRss(m, false, -1, 0);
  }
  // folio_remove_rmap_pte + folio_put of the mapping's reference
  const mc = mapcount(p) - 1;
  setMapcount(p, mc);
  if (mc == 0) countAdd(testFlag(p, PG_swapbacked) ? C_NR_ANON_PAGES : C_NR_MAPPED, -1);
  const r = refcount(p) - 1;
  setRefcount(p, r);     // never the last reference: the caller holds one
  countEvent(C_MMSIM_UNMAPPED_PTES);
}

/**
 * try_to_migrate_one for the PTE at `pte` (= `e`) of VMA `v`: migration ignores mlock; under
 * mainline an exclusive anon page that may be pinned stays mapped and the walk stops
 * (folio_try_share_anon_rmap_pte's -EBUSY); otherwise the dirty bit goes to the folio, the PTE
 * becomes a migration entry keeping the write permission and the young and dirty bits, and the
 * mapping's rmap and reference go (folio_remove_rmap_pte, folio_put). The mm's RSS counters
 * stay: they count migration entries as the pages they stand for.
 */
function migrateOne(rwc: RmapWalkControl, v: i32, p: u32, pte: usize, e: u64): void {
  if (pinRefusesMigrationUnmap(p)) { rwc.abort = true; return; }
  if ((e & _PAGE_DIRTY) != 0) folioMarkDirty(p);
  store<u64>(pte, mkPte(p, _PAGE_MIGRATION | (e & (_PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY))));
  const mc = mapcount(p) - 1;
  setMapcount(p, mc);
  if (mc == 0) countAdd(testFlag(p, PG_swapbacked) ? C_NR_ANON_PAGES : C_NR_MAPPED, -1);
  setRefcount(p, refcount(p) - 1);     // never the last reference: the migrator holds one
}

/**
 * rmap_one for VMA `v` by entity `e`: the VMA's notifier range around the PTE change for
 * unmap and mkclean (mkclean only visits shared VMAs: invalid_mkclean_vma). False if a
 * blockable callback sleeps: nothing of this VMA has changed yet.
 */
function rmapOne(rwc: RmapWalkControl, v: i32, p: u32, index: u32, e: i32): bool {
  const vpn = vmaAddress(v, index);
  if (vpn < 0 || vmaUnlinked(v)) return true;     // munmap took it out of the rmap
  const m = vmaMm(v);
  if (mmDead(m)) return true;
  const mode = rwc.mode;
  if (mode == RMAP_MKCLEAN && (vmaFlags(v) & VM_SHARED) == 0) return true;
  const notify = (mode == RMAP_UNMAP || mode == RMAP_MIGRATE || mode == RMAP_MKCLEAN) && mmHasNotifiers(m);
  if (notify) {
    const event = mode == RMAP_MKCLEAN ? MMU_NOTIFY_PROTECTION_PAGE : MMU_NOTIFY_CLEAR;
    // notifiers.mayfail: the 2020 patch marked try_to_unmap_one's ranges MAYFAIL
    const flags = mode == RMAP_UNMAP && notifierMayfail ? RANGE_BLOCKABLE | RANGE_MAYFAIL : RANGE_BLOCKABLE;
    if (mmuNotifierRangeStart(e, event, flags, m, vpn, vpn + 1, curClock) == NOTIFIER_SLEEP) return false;
  }
  const pte = vmaPte(v, p, vpn);
  if (pte != 0) visit(rwc, v, p, pte, vpn);
  if (notify) mmuNotifierRangeEnd(e, curClock);
  return true;
}

/**
 * rmap_walk by entity `e`: visit every PTE mapping `p`, in `mode`, with `rwc` as the walk's
 * record. False if it sleeps in a notifier callback; called again for the same folio, it
 * resumes at that VMA (the mappings may have gone meanwhile: the range still ends).
 */
function rmapWalk(rwc: RmapWalkControl, mode: i32, p: u32, e: i32): bool {
  const resuming = rwc.resume >= 0 && rwc.pfn == p && rwc.mode == mode;
  const from = resuming ? rwc.resume : 0;
  rwc.resume = -1;
  if (!resuming) {
    rwc.mode = mode; rwc.count = 0; rwc.vm_flags = 0; rwc.abort = false;
    if (mapcount(p) <= 0) return true;
    chargeNs(<i64>cfg(G_COST_RMAP_WALK));
  }
  const mp = mapping(p);
  const index = pageIndex(p);
  if ((mp & MAPPING_ANON) != 0) {
    // rmap_walk_anon: the anon_vma's VMAs (one per anon_vma without fork)
    if (!rmapOne(rwc, <i32>(mp & ~MAPPING_ANON), p, index, e)) { rwc.resume = 0; rwc.pfn = p; return false; }
    return true;
  }
  if (mp == 0) return true;
  // rmap_walk_file: i_mmap in VMA order
  const f = <i32>mp - 1;
  const first = immapFirst(f);
  const end = immapEnd(f);
  for (let i = first + from; i < end; i++) {
    if (!rmapOne(rwc, immapAt(i), p, index, e)) { rwc.resume = i - first; rwc.pfn = p; return false; }
    if (rwc.abort || mapcount(p) <= 0) break;
  }
  return true;
}

/**
 * Before a batch of isolated folios (the list at `head`) is decided on one by one: touch the
 * page-table entries that their rmap walks will read — all PMD entries first, then all PTEs —
 * so that the host's cache misses of the whole batch overlap instead of queueing one walk
 * behind the other, as the access path's walk-ahead does. Only loads: nothing the decisions
 * see changes. Anonymous folios only (one VMA each; a file folio's i_mmap may be long).
 */
export function rmapPrefetchList(head: u32): void {
  if (!prefetchOn) return;
  // first the frame fields the loop below reads, in a loop of nothing but their loads (the
  // list links are in the caches: isolation has just written them), so that their misses overlap
  let sink: u64 = 0;
  let q = next(head);
  for (let k = 0; q != head && k < PREFETCH_CAP; k++) {
    sink += <u64>mapping(q) + <u64>mapcount(q) + <u64>pageIndex(q);
    q = next(q);
  }
  let n = 0;
  let p = next(head);
  while (p != head && n < PREFETCH_CAP) {
    const mp = mapping(p);
    if ((mp & MAPPING_ANON) != 0 && mapcount(p) > 0) {
      const v = <i32>(mp & ~MAPPING_ANON);
      const vpn = vmaAddress(v, pageIndex(p));
      const m = vmaMm(v);
      if (vpn >= 0 && !mmDead(m)) {
        const a = pmdEntryAddr(mmPgd(m), <u64>vpn);
        if (a != 0) {
          store<u64>(prefetchPmd + (<usize>n << 3), <u64>a);
          store<i64>(prefetchVpn + (<usize>n << 3), vpn);
          n++;
        }
      }
    }
    p = next(p);
  }
  // level by level: the PMD entries, then the PTEs they point at
  for (let i = 0; i < n; i++) {
    const a = prefetchPmd + (<usize>i << 3);
    store<u64>(a, load<u64>(<usize>load<u64>(a)));
  }
  // the PTE addresses (a missing table or a huge leaf: the PMD entry's own slot), then a loop
  // of nothing but their loads, so that more of the misses are in flight
  for (let i = 0; i < n; i++) {
    const a = prefetchPmd + (<usize>i << 3);
    const e = load<u64>(a);
    const pte = entryAddr(entryPfn(e), <u32>(load<i64>(prefetchVpn + (<usize>i << 3)) & 511));
    store<u64>(a, <u64>select<usize>(pte, a, e != 0 && (e & _PAGE_PSE) == 0));
  }
  for (let i = 0; i < n; i++) sink += load<u64>(<usize>load<u64>(prefetchPmd + (<usize>i << 3)));
  prefetchSink += sink;
}

/**
 * folio_referenced by reclaimer `sc`: count and clear young PTEs mapping `p`; VM_LOCKED /
 * VM_EXEC of the mappings seen go to `sc` (the kernel's `*vm_flags`).
 */
export function folioReferenced(p: u32, sc: ScanControl): i32 {
  const rwc = rmapWalkControlOf(sc.entity);
  rmapWalk(rwc, RMAP_REFERENCED, p, sc.entity);
  sc.vm_flags = rwc.vm_flags;
  return rwc.count;
}

/**
 * try_to_unmap by entity `e`: remove every PTE mapping `p` (anon ones become swap entries).
 * False if a notifier callback sleeps (stopNow): call again for `p` when `e` runs.
 */
export function tryToUnmap(p: u32, e: i32): bool { return rmapWalk(rmapWalkControlOf(e), RMAP_UNMAP, p, e); }

/**
 * try_to_migrate by entity `e` (the folio locked by its migrator): every PTE mapping `p`
 * becomes a migration entry, unless a pin policy stops the walk (then `p` stays mapped). False
 * if a notifier callback sleeps (stopNow): call again for `p` when `e` runs.
 */
export function tryToMigrate(p: u32, e: i32): bool { return rmapWalk(rmapWalkControlOf(e), RMAP_MIGRATE, p, e); }

/**
 * remove_migration_pte for VMA `v`: the migration entry of `src` at the address `dst`'s index
 * has there (if any is left: munmap or a zap may have cleared it meanwhile) becomes a present
 * PTE of `dst` — writable if the entry was, young and dirty as it was — and `dst` gains the
 * mapping's rmap and reference (folio_add_anon_rmap_pte / folio_add_file_rmap_pte, folio_get).
 */
function removeMigrationPte(v: i32, src: u32, dst: u32): void {
  if (vmaUnlinked(v)) return;
  const m = vmaMm(v);
  if (mmDead(m)) return;
  const vpn = vmaAddress(v, pageIndex(dst));
  if (vpn < 0) return;
  const pte = pteOffset(mmPgd(m), vpn);
  if (pte == 0) return;
  const e = load<u64>(pte);
  if (!isMigrationPte(e) || entryPfn(e) != src) return;
  let bits = _PAGE_PRESENT | (e & (_PAGE_RW | _PAGE_ACCESSED));
  if ((e & _PAGE_DIRTY) != 0 && testFlag(dst, PG_dirty)) bits |= _PAGE_DIRTY;
  store<u64>(pte, mkPte(dst, bits));
  const mc = mapcount(dst);
  setMapcount(dst, mc + 1);
  if (mc == 0) countAdd(testFlag(dst, PG_swapbacked) ? C_NR_ANON_PAGES : C_NR_MAPPED, 1);
  setRefcount(dst, refcount(dst) + 1);
}

/**
 * remove_migration_ptes(src, dst): the migration entries of `src` become mappings of `dst` —
 * the new folio after a move, or `src` itself when the migration is undone. `dst` has `src`'s
 * mapping and index by then, so its rmap finds the VMAs.
 */
export function removeMigrationPtes(src: u32, dst: u32): void {
  const mp = mapping(dst);
  if (mp == 0) return;
  chargeNs(<i64>cfg(G_COST_RMAP_WALK));
  if ((mp & MAPPING_ANON) != 0) { removeMigrationPte(<i32>(mp & ~MAPPING_ANON), src, dst); return; }
  const f = <i32>mp - 1;
  const end = immapEnd(f);
  for (let i = immapFirst(f); i < end; i++) removeMigrationPte(immapAt(i), src, dst);
}

/**
 * folio_mkclean by entity `e`: write-protect and clean the shared PTEs mapping `p`; returns how
 * many were dirty, or -1 if a notifier callback sleeps (call again for `p`: the count goes on).
 */
export function folioMkclean(p: u32, e: i32): i32 {
  const rwc = rmapWalkControlOf(e);
  if (!rmapWalk(rwc, RMAP_MKCLEAN, p, e)) return -1;
  return rwc.count;
}

/**
 * page_idle_clear_pte_refs by entity `e`: clear the young bits of every PTE mapping `p`, the
 * secondary MMUs' included; if one was young, the page is not idle (folio_clear_idle) and
 * PG_young keeps the reference for reclaim. A file folio is walked under its lock: skipped if
 * someone holds it (folio_trylock). True if a mapping was young.
 */
export function pageIdleClearPteRefs(p: u32, e: i32): bool {
  const mp = mapping(p);
  if (mapcount(p) <= 0 || mp == 0) return false;
  if ((mp & MAPPING_ANON) == 0 && testFlag(p, PG_locked)) return false;
  const rwc = rmapWalkControlOf(e);
  rmapWalk(rwc, RMAP_IDLE, p, e);     // no notifier ranges: it never sleeps
  if (rwc.count == 0) return false;
  clearFlag(p, PG_idle);
  setFlag(p, PG_young);
  return true;
}

/** A walker that gives up its walk asleep in a notifier callback (it exits). */
export function rmapWalkAbandon(e: i32): void { rmapWalkControlOf(e).resume = -1; }

/** Is `e`'s walk of `p` asleep in a notifier callback? */
export function rmapWalkSleeping(e: i32, p: u32): bool { const r = rmapWalkControlOf(e); return r.resume >= 0 && r.pfn == p; }

/** folio_mapped */
@inline export function folioMapped(p: u32): bool { return mapcount(p) > 0; }
