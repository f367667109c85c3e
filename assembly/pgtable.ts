// User page tables: real 4-level radix trees (PGD → PUD → PMD → PTE, 512 entries of 64 bits
// each), allocated from a pool sized at init. Every table is backed by a simulated frame taken
// from the page allocator (GFP_PGTABLE_USER), so page tables cost memory as they do in the
// kernel (NR_PAGETABLE) and their allocation can enter reclaim.
import { regionAlloc } from './mem';
import { setFlags, setRefcount, PG_table } from './page';
import { allocPages, freePages, ZONE_NORMAL, NO_PAGE } from './alloc';
import { countAdd } from './vmstat';
import { C_NR_PAGE_TABLE_PAGES } from './generated/abi';
import { mmDead, mmAddPgtables } from './mm';

// Entry bits (x86-64 names where x86 has them).
export const _PAGE_PRESENT: u64 = 1 << 0;
export const _PAGE_RW: u64 = 1 << 1;
export const _PAGE_ACCESSED: u64 = 1 << 5;   // "young"
export const _PAGE_DIRTY: u64 = 1 << 6;
export const _PAGE_PSE: u64 = 1 << 7;        // a huge leaf at the PMD level (THP, the huge zero page)
/** Non-present entry holding a swap entry (is_swap_pte); the slot sits in the pfn field. */
export const _PAGE_SWP: u64 = 1 << 9;
/** The shared zero page: a special PTE (vm_normal_page() returns no page for it). */
export const _PAGE_SPECIAL: u64 = 1 << 10;
/**
 * Non-present entry holding a migration entry (is_migration_entry, a swap type of its own in the
 * kernel): the pfn of the folio under migration in the pfn field, and in _PAGE_RW,
 * _PAGE_ACCESSED and _PAGE_DIRTY what remove_migration_pte restores — a writable entry
 * (make_writable_migration_entry) and the young and dirty bits (make_migration_entry_young,
 * make_migration_entry_dirty, v6.1). It exists only while the folio is locked by its migrator.
 */
export const _PAGE_MIGRATION: u64 = 1 << 11;
/**
 * Non-present entry for a page in a device's private memory (is_device_private_entry: a swap
 * type of its own): the device memory slot in the pfn field, _PAGE_RW for a writable one
 * (make_writable_device_private_entry). A CPU access faults it back (migrate_to_ram).
 */
export const _PAGE_DEVICE_PRIVATE: u64 = 1 << 8;
@inline export function isDevicePrivatePte(e: u64): bool { return (e & (_PAGE_PRESENT | _PAGE_DEVICE_PRIVATE)) == _PAGE_DEVICE_PRIVATE; }
export const ZERO_PTE: u64 = 0x421;   // _PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_SPECIAL
export const PFN_SHIFT: u64 = 12;
export const PTRS_PER_TABLE: i32 = 512;

let pool: usize = 0;          // table id t lives at pool + t * 4096 (id 0 unused)
let tableFrame: usize = 0;    // u32 per table: the frame that backs it
// pgtable_trans_huge_deposit's lists: a PMD table's deposited PTE tables (u32 per table: the
// first deposited, then each one's next; 0 = none), as the kernel keeps them in pmd_huge_pte
let depositHead: usize = 0;
let depositNext: usize = 0;
let freeIds: usize = 0;       // u32 stack of freed table ids
let nFree: u32 = 0;
let nextId: u32 = 1;
let capTables: u32 = 0;

/** Reserve room for `maxTables` tables (virtual until touched). */
export function pgtableInit(maxTables: u32): bool {
  capTables = maxTables;
  // each table on its own host page: a table's first touch is then one page fault, not two
  // (a table straddling two host pages would be read through the zero page before its write)
  pool = regionAlloc(<u64>(maxTables + 1) * 4096, 4096);
  tableFrame = regionAlloc(<u64>(maxTables + 1) * 4);
  freeIds = regionAlloc(<u64>(maxTables + 1) * 4);
  depositHead = regionAlloc(<u64>(maxTables + 1) * 4);
  depositNext = regionAlloc(<u64>(maxTables + 1) * 4);
  nextId = 1; nFree = 0;
  return pool != 0 && tableFrame != 0 && freeIds != 0 && depositHead != 0 && depositNext != 0;
}

@inline export function tableAddr(id: u32): usize { return pool + ((<usize>id) << 12); }
@inline export function entryAddr(id: u32, idx: u32): usize { return pool + ((<usize>id) << 12) + ((<usize>idx) << 3); }
@inline export function entryPfn(e: u64): u32 { return <u32>(e >> PFN_SHIFT); }
@inline export function mkPte(pfn: u32, bits: u64): u64 { return ((<u64>pfn) << PFN_SHIFT) | bits; }
@inline export function isSwapPte(e: u64): bool { return (e & (_PAGE_PRESENT | _PAGE_SWP)) == _PAGE_SWP; }
/** is_migration_entry of a non-present PTE. */
@inline export function isMigrationPte(e: u64): bool { return (e & (_PAGE_PRESENT | _PAGE_MIGRATION)) == _PAGE_MIGRATION; }

/** pte_alloc_one / pmd_alloc_one: a zeroed table backed by a frame; 0 if memory ran out. */
export function tableAlloc(): u32 {
  let id: u32;
  let recycled = false;
  if (nFree > 0) { nFree--; id = load<u32>(freeIds + (<usize>nFree << 2)); recycled = true; }
  else { if (nextId > capTables) return 0; id = nextId++; }
  const pfn = allocPages(0, ZONE_NORMAL);
  if (pfn == NO_PAGE) {
    if (recycled) { store<u32>(freeIds + (<usize>nFree << 2), id); nFree++; }
    else nextId--;
    return 0;
  }
  setFlags(pfn, PG_table);
  store<u32>(tableFrame + (<usize>id << 2), pfn);
  store<u32>(depositHead + (<usize>id << 2), 0);
  // a never-used slot is still the zero memory memory.grow gave; only a freed one needs clearing.
  // The fresh slot's host page is written first, though: the walk reads the new table before it
  // stores an entry, and a first read would map the host's zero page, so that the store then
  // takes a second (copy-on-write) host fault
  if (recycled) memory.fill(tableAddr(id), 0, 4096);
  else store<u64>(tableAddr(id), 0);
  countAdd(C_NR_PAGE_TABLE_PAGES, 1);
  return id;
}

/** Tables freed (or huge PMD leaves split) so far: a PTE address remembered across one must be walked again. */
export let pgtableFrees: i64 = 0;
/** A huge PMD leaf became a table entry (a split): addresses remembered for it are stale. */
export function pgtableChanged(): void { pgtableFrees++; }

/** pte_free / free_pgtables for one table: its frame goes back to the allocator. */
export function tableFree(id: u32): void {
  pgtableFrees++;
  const pfn = load<u32>(tableFrame + (<usize>id << 2));
  setFlags(pfn, 0);
  setRefcount(pfn, 0);          // pagetable_free → __free_page drops the allocation's reference
  freePages(pfn, 0);
  countAdd(C_NR_PAGE_TABLE_PAGES, -1);
  store<u32>(freeIds + (<usize>nFree << 2), id); nFree++;
}

@inline function idx(vpn: u64, level: u32): u32 { return <u32>((vpn >> (9 * level)) & 511); }

/**
 * Walk to the PTE of `vpn` (virtual page number) under the PGD `pgd`. Returns the entry's
 * address, or 0 when an intermediate table is missing (nothing was ever mapped there). Where a
 * PMD entry is a huge leaf (_PAGE_PSE: a THP or the huge zero page) it is the entry returned:
 * its present, write, young and dirty bits mean what a PTE's do, for the whole 2 MiB, and its
 * pfn is the folio's head (a page of it is head + (vpn & 511)).
 */
@inline export function pteOffset(pgd: u32, vpn: u64): usize {
  let e = load<u64>(entryAddr(pgd, idx(vpn, 3)));
  if (e == 0) return 0;
  e = load<u64>(entryAddr(entryPfn(e), idx(vpn, 2)));
  if (e == 0) return 0;
  const pmd = entryAddr(entryPfn(e), idx(vpn, 1));
  e = load<u64>(pmd);
  if (e == 0) return 0;
  if ((e & _PAGE_PSE) != 0) return pmd;
  return entryAddr(entryPfn(e), idx(vpn, 0));
}

/** Is `e` a PMD entry that maps 2 MiB itself (pmd_trans_huge, or the huge zero page)? */
@inline export function isHugePmd(e: u64): bool { return (e & _PAGE_PSE) != 0; }

/** The table id of the page table that holds the entry at address `a`. */
@inline export function tableOfEntry(a: usize): u32 { return <u32>((a - pool) >> 12); }

/** pgtable_trans_huge_deposit: keep PTE table `t` with the PMD table holding the entry at `pmd`, for the split of the huge mapping there. */
export function pgtableDeposit(pmd: usize, t: u32): void {
  const h = depositHead + (<usize>tableOfEntry(pmd) << 2);
  store<u32>(depositNext + (<usize>t << 2), load<u32>(h));
  store<u32>(h, t);
}

/** pgtable_trans_huge_withdraw: a PTE table deposited with the PMD table holding the entry at `pmd` (0: none, a BUG). */
export function pgtableWithdraw(pmd: usize): u32 {
  const h = depositHead + (<usize>tableOfEntry(pmd) << 2);
  const t = load<u32>(h);
  if (t != 0) store<u32>(h, load<u32>(depositNext + (<usize>t << 2)));
  return t;
}

/**
 * The table under the entry at `a` of mm `m`, allocated if the entry is none (__pud_alloc,
 * __pmd_alloc, __pte_alloc). 0 on OOM — the allocation may also have reclaimed and OOM-killed
 * this very process (freeing its tables) — or where the entry is a huge leaf.
 */
function tableUnder(a: usize, m: i32): u32 {
  let e = load<u64>(a);
  if ((e & _PAGE_PSE) != 0) return 0;       // a huge leaf: the fault's PMD level handles it
  if (e == 0) {
    const t = tableAlloc();
    if (t == 0) return 0;
    if (mmDead(m)) { tableFree(t); return 0; }
    mmAddPgtables(m, 1);
    e = mkPte(t, _PAGE_PRESENT | _PAGE_RW);
    store<u64>(a, e);
  }
  return entryPfn(e);
}

/** pmd_alloc and friends: walk to the PMD entry of `vpn`, allocating missing PUD and PMD tables. 0 on OOM. */
export function pmdAlloc(pgd: u32, vpn: u64, m: i32): usize {
  const pud = tableUnder(entryAddr(pgd, idx(vpn, 3)), m);
  if (pud == 0) return 0;
  const pmd = tableUnder(entryAddr(pud, idx(vpn, 2)), m);
  if (pmd == 0) return 0;
  return entryAddr(pmd, idx(vpn, 1));
}

/** The address of the PMD entry of `vpn`, or 0 when its PUD or PMD table is missing. */
@inline export function pmdEntryAddr(pgd: u32, vpn: u64): usize {
  let e = load<u64>(entryAddr(pgd, idx(vpn, 3)));
  if (e == 0) return 0;
  e = load<u64>(entryAddr(entryPfn(e), idx(vpn, 2)));
  if (e == 0) return 0;
  return entryAddr(entryPfn(e), idx(vpn, 1));
}

/** __pte_alloc and friends: walk to the PTE of `vpn`, allocating missing tables. 0 on OOM (or a huge leaf there). */
export function pteAlloc(pgd: u32, vpn: u64, m: i32): usize {
  const pmd = pmdAlloc(pgd, vpn, m);
  if (pmd == 0) return 0;
  const pt = tableUnder(pmd, m);
  if (pt == 0) return 0;
  return entryAddr(pt, idx(vpn, 0));
}

/**
 * Tables needed at most to map a range of `pages` pages wherever it starts: at each level the
 * range covers ⌈pages / span⌉ tables, plus one when it straddles a boundary.
 */
export function tablesForRange(pages: u64): u64 {
  const pte = ((pages + 511) >> 9) + 1;
  const pmd = ((pages + (1 << 18) - 1) >> 18) + 1;
  const pud = ((pages + (<u64>1 << 27) - 1) >> 27) + 1;
  return pte + pmd + pud;
}

/** Free every table under `pgd` (and the PGD itself): free_pgtables at exit. */
export function freePgtables(pgd: u32): void {
  for (let i: u32 = 0; i < 512; i++) {
    const e3 = load<u64>(entryAddr(pgd, i));
    if (e3 == 0) continue;
    const pud = entryPfn(e3);
    for (let j: u32 = 0; j < 512; j++) {
      const e2 = load<u64>(entryAddr(pud, j));
      if (e2 == 0) continue;
      const pmd = entryPfn(e2);
      for (let k: u32 = 0; k < 512; k++) {
        const e1 = load<u64>(entryAddr(pmd, k));
        if (e1 != 0 && (e1 & _PAGE_PSE) == 0) tableFree(entryPfn(e1));
      }
      tableFree(pmd);
    }
    tableFree(pud);
  }
  tableFree(pgd);
}

// free_pgd_range's granules, in pages: a PTE table maps a PMD_SIZE, a PMD table a PUD_SIZE, a
// PUD table a PGDIR_SIZE (P4D is folded with 4-level tables)
const PMD_PAGES: i64 = 512;
const PUD_PAGES: i64 = 1 << 18;
const PGDIR_PAGES: i64 = 1 << 27;

/** `end - 1 > ceiling - 1` in unsigned arithmetic: a ceiling of 0 is the top of the address space. */
@inline function pastCeiling(end: i64, ceiling: i64): bool { return ceiling != 0 && end - 1 > ceiling - 1; }

/**
 * free_pgd_range over [addr, end) (page numbers) of mm `m` with PGD `pgd`, as munmap's
 * free_pgtables calls it: `floor` is the end of the VMA below (0: none) and `ceiling` the start
 * of the one above (0: none), so that a table is freed only if no other VMA can use it. Every
 * PTE table in the range goes, and each PMD or PUD table whose whole span lies inside
 * [floor, ceiling); the entries pointing at them are cleared.
 */
export function freePgdRange(m: i32, pgd: u32, addr: i64, end: i64, floor: i64, ceiling: i64): void {
  addr &= ~(PMD_PAGES - 1);
  if (addr < floor) addr += PMD_PAGES;
  if (ceiling != 0) { ceiling &= ~(PMD_PAGES - 1); if (ceiling == 0) return; }
  if (pastCeiling(end, ceiling)) end -= PMD_PAGES;
  if (addr > end - 1) return;
  while (addr < end) {
    const next = min<i64>((addr + PGDIR_PAGES) & ~(PGDIR_PAGES - 1), end);
    const a = entryAddr(pgd, idx(<u64>addr, 3));
    if (load<u64>(a) != 0) freePudRange(m, a, addr, next, floor, ceiling);
    addr = next;
  }
}

/** free_pud_range: the PMD tables under [addr, end), then the PUD table at `pgdEntry` if its span is free. */
function freePudRange(m: i32, pgdEntry: usize, addr: i64, end: i64, floor: i64, ceiling: i64): void {
  const pud = entryPfn(load<u64>(pgdEntry));
  let start = addr;
  while (addr < end) {
    const next = min<i64>((addr + PUD_PAGES) & ~(PUD_PAGES - 1), end);
    const a = entryAddr(pud, idx(<u64>addr, 2));
    if (load<u64>(a) != 0) freePmdRange(m, a, addr, next, floor, ceiling);
    addr = next;
  }
  start &= ~(PGDIR_PAGES - 1);
  if (start < floor) return;
  if (ceiling != 0) { ceiling &= ~(PGDIR_PAGES - 1); if (ceiling == 0) return; }
  if (pastCeiling(end, ceiling)) return;
  store<u64>(pgdEntry, 0);
  tableFree(pud);
  mmAddPgtables(m, -1);
}

/** free_pmd_range: every PTE table under [addr, end) (free_pte_range), then the PMD table at `pudEntry` if its span is free. */
function freePmdRange(m: i32, pudEntry: usize, addr: i64, end: i64, floor: i64, ceiling: i64): void {
  const pmd = entryPfn(load<u64>(pudEntry));
  let start = addr;
  while (addr < end) {
    const next = min<i64>((addr + PMD_PAGES) & ~(PMD_PAGES - 1), end);
    const a = entryAddr(pmd, idx(<u64>addr, 1));
    const e = load<u64>(a);
    // (a huge leaf was zapped before, with its deposited table: never one here)
    if (e != 0 && (e & _PAGE_PSE) == 0) { store<u64>(a, 0); tableFree(entryPfn(e)); mmAddPgtables(m, -1); }
    addr = next;
  }
  start &= ~(PUD_PAGES - 1);
  if (start < floor) return;
  if (ceiling != 0) { ceiling &= ~(PUD_PAGES - 1); if (ceiling == 0) return; }
  if (pastCeiling(end, ceiling)) return;
  store<u64>(pudEntry, 0);
  tableFree(pmd);
  mmAddPgtables(m, -1);
}
