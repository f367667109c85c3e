// Transparent huge pages for anonymous memory (mm/huge_memory.c, read at v6.12): the fault that
// maps a 2 MiB folio with one PMD entry (do_huge_pmd_anonymous_page) or the huge zero page,
// the PMD-level faults on such an entry (huge_pmd_set_accessed, do_huge_pmd_wp_page), the
// split of the mapping (__split_huge_pmd_locked) and of the folio (split_huge_page_to_list,
// with can_split_folio's reference check), and the zap (zap_huge_pmd). Each PMD mapping has a
// PTE table deposited beside it (pgtable_trans_huge_deposit), so that its split never has to
// allocate. A THP is only ever mapped whole by its PMD here: PTE-mapped large folios (a
// partial munmap or mprotect, fork) are not modelled, and the scenario checks keep the
// operations that would need them off THP-eligible VMAs.
import { cfg } from './config';
import { G_THP_ENABLED, G_THP_USE_ZERO_PAGE, THP_NEVER, THP_ALWAYS, G_COST_ZERO_FILL,
  C_NR_ANON_PAGES, C_NR_ANON_TRANSPARENT_HUGEPAGES, C_THP_FAULT_ALLOC, C_THP_FAULT_FALLBACK, C_THP_SPLIT_PAGE,
  C_THP_SPLIT_PAGE_FAILED, C_THP_SPLIT_PMD, C_THP_ZERO_PAGE_ALLOC, C_THP_ZERO_PAGE_ALLOC_FAILED, C_MMSIM_ZERO_FILL_FAULTS,
  DK_BAD_PTE, FN_ZAP_HUGE_PMD } from './generated/abi';
import { flags, setFlags, setFlag, testFlag, refcount, setRefcount, mapcount, setMapcount, setMapping, setPageIndex,
  setPagePrivate, folioNrPages, prepCompoundPage, listAdd, mapping, pageIndex,
  PG_swapbacked, PG_anon_exclusive, PG_swapcache, PG_dirty, PG_active, PG_workingset, PG_referenced, PG_mlocked,
  PG_unevictable, PG_uptodate, PG_idle, PG_young, MAPPING_ANON } from './page';
import { allocPagesLight, folioPut, NO_PAGE, gfpHighuserMovableZone, ZONE_NORMAL } from './alloc';
import { entryAddr, entryPfn, mkPte, pmdAlloc, pmdEntryAddr, tableAlloc, tableFree, pgtableDeposit, pgtableWithdraw, pgtableChanged,
  _PAGE_PRESENT, _PAGE_RW, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PSE, _PAGE_SPECIAL, ZERO_PTE } from './pgtable';
import { mmPgd, mmKilled, mmDead, mmAddRss, mmAddPgtables, vmaIsAnon, vmaFlags, vmaStart, vmaEnd, vmaMm, vmaPgoff, vmaUnlinked,
  linearPageIndex, FAULT_OK, FAULT_OOM, FAULT_KILLED, FAULT_RETRY, VM_SHARED, VM_HUGEPAGE, VM_WRITE, VM_LOCKED } from './mm';
import { folioAddLruVma } from './lru';
import { countEvent, countAdd } from './vmstat';
import { chargeNs } from './sched';
import { recordBug } from './invariants';

export const HPAGE_PMD_ORDER: u32 = 9;
export const HPAGE_PMD_NR: i64 = 512;
/** VM_FAULT_FALLBACK: the PMD level could not (or need not) handle it; the small-page path does. */
export const FAULT_FALLBACK: i32 = -1;

let thpEnabled: i32 = THP_NEVER;
let useZeroPage: bool = true;
/** huge_zero_folio: allocated on first use, then kept (its refcount is the kernel's own). */
let hugeZeroPfn: u32 = 0xFFFF_FFFF;   // NO_PAGE

export function thpInit(): void {
  thpEnabled = <i32>cfg(G_THP_ENABLED);
  useZeroPage = cfg(G_THP_USE_ZERO_PAGE) != 0;
  hugeZeroPfn = NO_PAGE;
}

/**
 * thp_vma_allowable_order for the PMD order (anonymous private VMAs: vma_is_anonymous;
 * enabled always, or madvise and VM_HUGEPAGE) and thp_vma_suitable_order at `vpn`: the aligned
 * 2 MiB around it lies inside the VMA.
 */
@inline export function thpEligible(v: i32, vpn: i64): bool {
  if (thpEnabled == THP_NEVER) return false;
  const fl = vmaFlags(v);
  if (!vmaIsAnon(v) || (fl & VM_SHARED) != 0) return false;
  if (thpEnabled != THP_ALWAYS && (fl & VM_HUGEPAGE) == 0) return false;
  const haddr = vpn & ~(HPAGE_PMD_NR - 1);
  return haddr >= vmaStart(v) && haddr + HPAGE_PMD_NR <= vmaEnd(v);
}

/**
 * __handle_mm_fault at the PMD level for a THP-eligible address: an empty PMD gets a huge page
 * (or the huge zero page on a read), a huge entry is handled in place; FAULT_FALLBACK when the
 * PTE level is to handle it (a PTE table there, no huge page to be had, a write to the huge
 * zero page — split first).
 */
export function hugePmdFault(m: i32, v: i32, vpn: i64, write: bool): i32 {
  const pmd = pmdAlloc(mmPgd(m), <u64>vpn, m);
  if (mmKilled(m)) return FAULT_KILLED;
  if (pmd == 0) return FAULT_OOM;
  const e = load<u64>(pmd);
  if (e == 0) return doHugePmdAnonymousPage(m, v, vpn, pmd, write);
  if ((e & _PAGE_PSE) == 0) return FAULT_FALLBACK;
  if ((e & _PAGE_SPECIAL) != 0) {
    if (!write) return FAULT_OK;
    // do_huge_pmd_wp_page on the huge zero page: __split_huge_pmd, then the PTE fault copies
    splitHugeZeroPmd(pmd);
    return FAULT_FALLBACK;
  }
  // do_huge_pmd_wp_page: the folio is exclusive to this mapping (no fork here): reuse it
  // (huge_pmd_set_accessed for a fault that only needs the young and dirty bits)
  let ne = e | _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0);
  if (write && (vmaFlags(v) & VM_WRITE) != 0) ne |= _PAGE_RW;
  store<u64>(pmd, ne);
  return FAULT_OK;
}

/** The page after `vpn` in mm `m` that a walk by pages must look at: past the whole 2 MiB if a huge PMD maps `vpn`. */
export function mappedHugeEnd(m: i32, vpn: i64): i64 {
  if (thpEnabled == THP_NEVER) return vpn + 1;
  const pmd = pmdEntryAddr(mmPgd(m), <u64>vpn);
  if (pmd == 0 || (load<u64>(pmd) & _PAGE_PSE) == 0) return vpn + 1;
  return (vpn | (HPAGE_PMD_NR - 1)) + 1;
}

/**
 * do_huge_pmd_anonymous_page: a read maps the huge zero page (use_zero_page); otherwise a
 * huge folio, if an order-9 block is free (GFP_TRANSHUGE_LIGHT), cleared, mapped writable and
 * dirty, on the LRU, with a PTE table deposited for its split. The table is allocated as
 * pte_alloc_one does (it may enter reclaim: the fault is then retried).
 */
function doHugePmdAnonymousPage(m: i32, v: i32, vpn: i64, pmd: usize, write: bool): i32 {
  if (!write && useZeroPage) {
    const z = getHugeZeroFolio();
    if (z == NO_PAGE) { countEvent(C_THP_FAULT_FALLBACK); return FAULT_FALLBACK; }
    const dep = tableAlloc();
    if (mmKilled(m)) { if (dep != 0) tableFree(dep); return FAULT_KILLED; }
    if (dep == 0) return FAULT_OOM;
    if (load<u64>(pmd) != 0) { tableFree(dep); return FAULT_RETRY; }
    pgtableDeposit(pmd, dep);
    mmAddPgtables(m, 1);
    store<u64>(pmd, mkPte(z, _PAGE_PRESENT | _PAGE_PSE | _PAGE_SPECIAL | _PAGE_ACCESSED));
    return FAULT_OK;
  }
  const p = allocPagesLight(<i32>HPAGE_PMD_ORDER, gfpHighuserMovableZone());
  if (p == NO_PAGE) { countEvent(C_THP_FAULT_FALLBACK); return FAULT_FALLBACK; }
  prepCompoundPage(p, HPAGE_PMD_ORDER);
  const dep = tableAlloc();
  if (mmKilled(m)) { if (dep != 0) tableFree(dep); folioPut(p); return FAULT_KILLED; }
  if (dep == 0) { folioPut(p); return FAULT_OOM; }
  if (load<u64>(pmd) != 0) { tableFree(dep); folioPut(p); return FAULT_RETRY; }
  // clear_huge_page: 512 pages zeroed
  chargeNs(<i64>cfg(G_COST_ZERO_FILL) * HPAGE_PMD_NR);
  countEvent(C_MMSIM_ZERO_FILL_FAULTS);
  // folio_add_new_anon_rmap(RMAP_EXCLUSIVE) over the whole folio; the alloc reference is the map's
  setFlag(p, PG_swapbacked | PG_anon_exclusive);
  const index = linearPageIndex(v, vpn & ~(HPAGE_PMD_NR - 1));
  const mp = MAPPING_ANON | <u32>v;
  for (let k: u32 = 0; k < <u32>HPAGE_PMD_NR; k++) { setMapping(p + k, mp); setPageIndex(p + k, index + k); }
  setMapcount(p, 1);
  countAdd(C_NR_ANON_PAGES, HPAGE_PMD_NR);
  countAdd(C_NR_ANON_TRANSPARENT_HUGEPAGES, 1);
  mmAddRss(m, true, HPAGE_PMD_NR, 0);
  pgtableDeposit(pmd, dep);
  mmAddPgtables(m, 1);
  const rw = (vmaFlags(v) & VM_WRITE) != 0 ? _PAGE_RW : 0;
  store<u64>(pmd, mkPte(p, _PAGE_PRESENT | _PAGE_PSE | _PAGE_ACCESSED | _PAGE_DIRTY | rw));
  folioAddLruVma(p, (vmaFlags(v) & VM_LOCKED) != 0);
  countEvent(C_THP_FAULT_ALLOC);
  return FAULT_OK;
}

/** mm_get_huge_zero_folio: the huge zero page, allocated (zeroed, not movable) on first use. */
function getHugeZeroFolio(): u32 {
  if (hugeZeroPfn != NO_PAGE) return hugeZeroPfn;
  const z = allocPagesLight(<i32>HPAGE_PMD_ORDER, ZONE_NORMAL);
  if (z == NO_PAGE) { countEvent(C_THP_ZERO_PAGE_ALLOC_FAILED); return NO_PAGE; }
  prepCompoundPage(z, HPAGE_PMD_ORDER);
  chargeNs(<i64>cfg(G_COST_ZERO_FILL) * HPAGE_PMD_NR);
  countEvent(C_THP_ZERO_PAGE_ALLOC);
  hugeZeroPfn = z;
  return z;
}

/** __split_huge_zero_page_pmd: the deposited table filled with small zero-page PTEs, and the PMD pointed at it. */
function splitHugeZeroPmd(pmd: usize): void {
  const t = pgtableWithdraw(pmd);
  for (let k: u32 = 0; k < <u32>HPAGE_PMD_NR; k++) store<u64>(entryAddr(t, k), ZERO_PTE);
  store<u64>(pmd, mkPte(t, _PAGE_PRESENT | _PAGE_RW));
  pgtableChanged();
  countEvent(C_THP_SPLIT_PMD);
}

/**
 * zap_huge_pmd for the huge entry `e` at `pmd` of mm `m`: the entry cleared, its deposited
 * table freed; for a THP, folio_remove_rmap_pmd and the mapping's reference. Returns the pages
 * this freed.
 */
export function zapHugePmd(m: i32, pmd: usize, e: u64): i64 {
  store<u64>(pmd, 0);
  const t = pgtableWithdraw(pmd);
  if (t == 0) recordBug(DK_BAD_PTE, entryPfn(e), FN_ZAP_HUGE_PMD, <f64>e);
  else { tableFree(t); mmAddPgtables(m, -1); }
  if ((e & _PAGE_SPECIAL) != 0) return 0;
  const p = entryPfn(e);
  const nr = <i64>folioNrPages(p);
  const mc = mapcount(p) - 1;
  setMapcount(p, mc);
  if (mc == 0) { countAdd(C_NR_ANON_PAGES, -nr); countAdd(C_NR_ANON_TRANSPARENT_HUGEPAGES, -1); }
  mmAddRss(m, true, -nr, 0);
  const freed = refcount(p) == 1 ? nr : 0;
  folioPut(p);
  return freed;
}

/**
 * change_huge_pmd for mprotect: the whole 2 MiB write-protected, or made writable again where
 * can_change_pmd_writable allows (an exclusive anon folio; never the huge zero page). Returns
 * the pages changed.
 */
export function changeHugePmd(pmd: usize, write: bool): i64 {
  const e = load<u64>(pmd);
  if (!write) { if ((e & _PAGE_RW) != 0) store<u64>(pmd, e & ~_PAGE_RW); return HPAGE_PMD_NR; }
  if ((e & (_PAGE_RW | _PAGE_SPECIAL)) == 0 && testFlag(entryPfn(e), PG_anon_exclusive)) store<u64>(pmd, e | _PAGE_RW);
  return HPAGE_PMD_NR;
}

/**
 * can_split_folio(folio, caller_pins): the references are the mappings, the swap cache's (an
 * anon folio in it) and the caller's — anything more (a GUP reference, a pin) and a split would
 * lose track of it.
 */
export function canSplitFolio(p: u32, callerPins: i32): bool {
  const extra = testFlag(p, PG_swapcache) ? <i32>folioNrPages(p) : 0;
  return mapcount(p) == refcount(p) - extra - callerPins;
}

/** The flags __split_folio_to_order gives each new folio from the old one (PG_anon_exclusive: __split_huge_pmd_locked's, per page). */
const SPLIT_FLAGS: u32 = PG_referenced | PG_swapbacked | PG_swapcache | PG_mlocked | PG_uptodate | PG_active | PG_workingset |
  PG_unevictable | PG_dirty | PG_anon_exclusive | PG_idle | PG_young;

/**
 * split_folio_to_list for the anon THP `p`, isolated by the caller (its one reference) off the
 * LRU: unmap_folio's split of the PMD mapping (TTU_SPLIT_HUGE_PMD), the refcount frozen
 * (folio_ref_freeze fails on an extra reference: thp_split_page_failed), then each page its
 * own folio with the folio's flags, its mapping's reference and the isolation's, put on `list`
 * right after `p` (lru_add_split_folio: reclaim goes on with them next, in page order). False
 * if the split failed: nothing changed.
 */
export function splitFolioToList(p: u32, list: u32): bool {
  if (!canSplitFolio(p, 1)) { countEvent(C_THP_SPLIT_PAGE_FAILED); return false; }
  const nr = folioNrPages(p);
  const mapped = mapcount(p) > 0;
  if (mapped && !splitHugePmdOfFolio(p)) { countEvent(C_THP_SPLIT_PAGE_FAILED); return false; }
  const keep = flags(p) & SPLIT_FLAGS;
  const mc = mapped ? 1 : 0;
  for (let k = nr - 1; k >= 1; k--) {
    const q = p + k;
    setFlags(q, keep);
    setMapcount(q, mc);
    setRefcount(q, mc + 1);
    setPagePrivate(q, 0);
    listAdd(q, list);
  }
  setFlags(p, keep);
  countEvent(C_THP_SPLIT_PAGE);
  return true;
}

/**
 * __split_huge_pmd_locked for the PMD that maps THP `p` (found through its anon_vma: the VMA and
 * the address of its index): the deposited table withdrawn and filled with PTEs of the
 * folio's pages, each with the PMD's write, young and dirty bits (a dirty PMD dirties the
 * folio), and the PMD pointed at it. False if no such PMD is found (a BUG).
 */
function splitHugePmdOfFolio(p: u32): bool {
  const mp = mapping(p);
  if ((mp & MAPPING_ANON) == 0) return false;
  const v = <i32>(mp & ~MAPPING_ANON);
  const m = vmaMm(v);
  if (vmaUnlinked(v) || mmDead(m)) return false;
  const vpn = vmaStart(v) + (<i64>pageIndex(p) - vmaPgoff(v));
  if (vpn < vmaStart(v) || vpn >= vmaEnd(v)) return false;
  const pmd = pmdEntryAddr(mmPgd(m), <u64>vpn);
  if (pmd == 0) return false;
  const e = load<u64>(pmd);
  if ((e & _PAGE_PSE) == 0 || (e & _PAGE_SPECIAL) != 0 || entryPfn(e) != p) return false;
  const t = pgtableWithdraw(pmd);
  if (t == 0) return false;
  const bits = _PAGE_PRESENT | (e & (_PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY));
  for (let k: u32 = 0; k < <u32>HPAGE_PMD_NR; k++) store<u64>(entryAddr(t, k), mkPte(p + k, bits));
  if ((e & _PAGE_DIRTY) != 0) setFlag(p, PG_dirty);
  store<u64>(pmd, mkPte(t, _PAGE_PRESENT | _PAGE_RW));
  pgtableChanged();
  // folio_remove_rmap_pmd + the PTEs' rmap: no longer PMD-mapped
  countAdd(C_NR_ANON_TRANSPARENT_HUGEPAGES, -1);
  countEvent(C_THP_SPLIT_PMD);
  return true;
}
