// Reverse mapping (mm/rmap.c): from a page to the PTEs that map it, through its mapping and
// index — the anon_vma's VMAs for anonymous pages, the file's i_mmap for page cache — never
// through a per-page list of mappers. Each visit walks that VMA's page table to the address
// vma_address() gives and checks that the PTE maps this very page.
import { flags, mapping, pageIndex, mapcount, setMapcount, refcount, setRefcount, setFlag, testFlag,
  MAPPING_ANON, PG_swapbacked, PG_mlocked, PG_swapcache, PG_unevictable } from './page';
import { entryPfn, mkPte, pteOffset, _PAGE_SPECIAL, _PAGE_PRESENT, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_RW, _PAGE_SWP, isSwapPte } from './pgtable';
import { vmaMm, vmaStart, vmaEnd, vmaPgoff, vmaFlags, mmPgd, mmDead, immapFirst, immapEnd, immapAt,
  VM_LOCKED, VM_EXEC, VM_SHARED, mmAddRss } from './mm';
import { countEvent, countAdd } from './vmstat';
import { C_MMSIM_PTES_YOUNG_CLEARED, C_MMSIM_UNMAPPED_PTES, C_NR_ANON_PAGES, C_NR_MAPPED, C_NR_MLOCK,
  C_UNEVICTABLE_PGS_MLOCKED, G_COST_RMAP_WALK, DK_BAD_PTE, FN_FOLIO_REMOVE_RMAP_PTE } from './generated/abi';
import { swapDuplicate, folioSwapSlot } from './swap';
import { folioMarkDirty } from './writeback';
import { chargeNs } from './sched';
import { ScanControl } from './scan_control';
import { cfg } from './config';
import { recordBug } from './invariants';

const RMAP_REFERENCED: i32 = 0;
const RMAP_UNMAP: i32 = 1;
const RMAP_MKCLEAN: i32 = 2;

// the state of the walk in progress (rmap_walk_control and folio_referenced_arg in the kernel);
// a walk never sleeps, so one set serves every reclaimer
let referencedVmFlags: u32 = 0;
let walkAbort = false;
let walkCount: i32 = 0;

/** One visit: does VMA `v` map page `p`? Returns the PTE address or 0. */
@inline function vmaPte(v: i32, p: u32, index: u32): usize {
  const pgoff = vmaPgoff(v);
  if (<i64>index < pgoff) return 0;
  const vpn = vmaStart(v) + (<i64>index - pgoff);
  if (vpn >= vmaEnd(v)) return 0;
  const m = vmaMm(v);
  if (mmDead(m)) return 0;
  const pte = pteOffset(mmPgd(m), vpn);
  if (pte == 0) return 0;
  const e = load<u64>(pte);
  if ((e & _PAGE_PRESENT) == 0 || (e & _PAGE_SPECIAL) != 0 || entryPfn(e) != p) return 0;
  return pte;
}

function visit(mode: i32, v: i32, p: u32, pte: usize): void {
  const e = load<u64>(pte);
  const vmf = vmaFlags(v);
  if (mode == RMAP_REFERENCED) {
    // folio_referenced_one
    if ((vmf & VM_LOCKED) != 0) { referencedVmFlags |= VM_LOCKED; walkAbort = true; return; }
    if ((e & _PAGE_ACCESSED) != 0) {
      store<u64>(pte, e & ~_PAGE_ACCESSED);   // ptep_clear_flush_young_notify
      walkCount++;
      countEvent(C_MMSIM_PTES_YOUNG_CLEARED);
      referencedVmFlags |= vmf & VM_EXEC;
    }
    return;
  }
  if (mode == RMAP_MKCLEAN) {
    // page_vma_mkclean_one: shared mappings only; private ones COW instead
    if ((vmf & VM_SHARED) == 0) return;
    if ((e & (_PAGE_DIRTY | _PAGE_RW)) == 0) return;
    store<u64>(pte, e & ~(_PAGE_DIRTY | _PAGE_RW));
    if ((e & _PAGE_DIRTY) != 0) walkCount++;
    return;
  }
  // try_to_unmap_one
  if ((vmf & VM_LOCKED) != 0) {
    // mlock_vma_folio: the page is culled to the unevictable list on putback
    if (!testFlag(p, PG_mlocked)) {
      setFlag(p, PG_mlocked);
      countAdd(C_NR_MLOCK, 1);
      countEvent(C_UNEVICTABLE_PGS_MLOCKED);
    }
    walkAbort = true;
    return;
  }
  const m = vmaMm(v);
  if ((e & _PAGE_DIRTY) != 0) folioMarkDirty(p);     // propagate the hardware dirty bit
  if (testFlag(p, PG_swapbacked)) {
    if (!testFlag(p, PG_swapcache)) {
      // swapbacked but not in the swap cache: the kernel WARNs and aborts the walk
      recordBug(DK_BAD_PTE, p, FN_FOLIO_REMOVE_RMAP_PTE, <f64>e);
      walkAbort = true;
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

/** rmap_walk: visit every PTE mapping `p`. */
function rmapWalk(mode: i32, p: u32): void {
  walkAbort = false;
  walkCount = 0;
  if (mapcount(p) <= 0) return;
  const mp = mapping(p);
  const index = pageIndex(p);
  chargeNs(<i64>cfg(G_COST_RMAP_WALK));
  if ((mp & MAPPING_ANON) != 0) {
    // rmap_walk_anon: the anon_vma's VMAs (one per anon_vma without fork)
    const v = <i32>(mp & ~MAPPING_ANON);
    const pte = vmaPte(v, p, index);
    if (pte != 0) visit(mode, v, p, pte);
    return;
  }
  if (mp == 0) return;
  // rmap_walk_file: i_mmap in VMA order
  const f = <i32>mp - 1;
  const end = immapEnd(f);
  for (let i = immapFirst(f); i < end; i++) {
    const v = immapAt(i);
    const pte = vmaPte(v, p, index);
    if (pte != 0) visit(mode, v, p, pte);
    if (walkAbort || mapcount(p) <= 0) break;
  }
}

/**
 * folio_referenced: count and clear young PTEs mapping `p`; VM_LOCKED/VM_EXEC of the
 * mappings seen go to the caller's scan_control (the kernel's `*vm_flags`).
 */
export function folioReferenced(p: u32, sc: ScanControl): i32 {
  referencedVmFlags = 0;
  rmapWalk(RMAP_REFERENCED, p);
  sc.vm_flags = referencedVmFlags;
  return walkCount;
}

/** try_to_unmap: remove every PTE mapping `p` (anon ones become swap entries). */
export function tryToUnmap(p: u32): void { rmapWalk(RMAP_UNMAP, p); }

/** folio_mkclean: write-protect and clean the shared PTEs mapping `p`; returns how many were dirty. */
export function folioMkclean(p: u32): i32 {
  rmapWalk(RMAP_MKCLEAN, p);
  return walkCount;
}

/** folio_mapped */
@inline export function folioMapped(p: u32): bool { return mapcount(p) > 0; }
