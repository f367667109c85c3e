// Secondary MMUs: a guest's (KVM's SPTEs, arch/x86/kvm/mmu) or a device's (behind an HMM mirror
// or a driver) own translations of a process's memory. Each VMA a guest phase goes through has
// a shadow table, one u32 a page: the frame + 1 with WRITABLE and YOUNG bits, 0 = none. A guest
// access that finds its translation uses it without touching the primary PTE (so the host
// sees no accessed bit); a miss faults through the primary page tables (kvm_faultin_pfn →
// hva_to_pfn → get_user_pages) and installs one. invalidate_range_start and release remove
// the translations of their range (kvm_unmap_gfn_range, a mirror's invalidate);
// clear_flush_young reports YOUNG and clears it, so a guest's use makes host pages referenced.
//
// mmsim_stale_secondary_tlb: a translation used after the primary mapping was removed and its
// frame freed or given to another page — the memory corruption that a missed invalidation is.
import { regionAlloc } from './mem';
import { cfg, phaseCfg } from './config';
import { G_N_VMAS, G_N_PHASES, PH_OP, PH_TARGET, PH_SUBSCRIBER, OP_GUEST, C_MMSIM_SECONDARY_HITS,
  C_MMSIM_SECONDARY_FAULTS, C_MMSIM_SECONDARY_INVALIDATED, C_MMSIM_STALE_SECONDARY_TLB, DK_STALE_SECONDARY_TLB,
  FN_MMSIM_SECONDARY_ACCESS } from './generated/abi';
import { vmaStart, vmaEnd, vmaMm, vmaIsAnon, vmaFile, mmPgd, mmFirstVma, mmNrVmas, linearPageIndex } from './mm';
import { pteOffset, entryPfn, _PAGE_PRESENT, _PAGE_RW, _PAGE_SPECIAL } from './pgtable';
import { refcount, mapping, pageIndex, MAPPING_ANON } from './page';
import { countEvent, countAdd } from './vmstat';
import { recordDetector } from './invariants';

const S_YOUNG: u32 = 0x8000_0000;
const S_WRITABLE: u32 = 0x4000_0000;
const S_PFN: u32 = 0x3FFF_FFFF;
/** A translation of the shared zero page (a special PTE): read-only, never stale. */
const S_ZERO: u32 = S_PFN;

let nVmas: i32 = 0;
let tableOf: usize = 0;     // usize per VMA: its shadow table, or 0
let subOf: usize = 0;       // i32 per VMA: the subscription whose table it is, -1
let skipInvalidation: bool = false;

@inline function table(v: i32): usize { return load<usize>(tableOf + <usize>v * sizeof<usize>()); }
@inline function owner(v: i32): i32 { return load<i32>(subOf + (<usize>v << 2)); }
@inline function slot(v: i32, vpn: i64): usize { return table(v) + (<usize>(vpn - vmaStart(v)) << 2); }

/** A shadow table for every VMA some guest phase goes through, owned by that phase's subscription. */
export function secondaryInit(): bool {
  nVmas = <i32>cfg(G_N_VMAS);
  tableOf = regionAlloc(<u64>(nVmas + 1) * <u64>sizeof<usize>());
  subOf = regionAlloc(<u64>(nVmas + 1) * 4);
  if (tableOf == 0 || subOf == 0) return false;
  for (let v = 0; v < nVmas; v++) store<i32>(subOf + (<usize>v << 2), -1);
  const nPhases = <i32>cfg(G_N_PHASES);
  for (let g = 0; g < nPhases; g++) {
    if (<i32>phaseCfg(g, PH_OP) != OP_GUEST) continue;
    const v = <i32>phaseCfg(g, PH_TARGET);
    if (table(v) != 0) continue;
    const t = regionAlloc(<u64>(vmaEnd(v) - vmaStart(v)) * 4);
    if (t == 0) return false;
    store<usize>(tableOf + <usize>v * sizeof<usize>(), t);
    store<i32>(subOf + (<usize>v << 2), <i32>phaseCfg(g, PH_SUBSCRIBER));
  }
  skipInvalidation = false;
  return true;
}

/** Does subscription `s` keep translations of some VMA (a guest phase goes through it)? */
export function secondaryHasTable(s: i32): bool {
  for (let v = 0; v < nVmas; v++) if (owner(v) == s) return true;
  return false;
}

/** Tests of the detector only: invalidations stop removing translations (a driver that misses them). */
export function setSkipSecondaryInvalidation(on: bool): void { skipInvalidation = on; }

/** Is frame `p` still the page VMA `v` maps at `vpn` (the same anon page or file index), though perhaps unmapped? */
function samePage(v: i32, vpn: i64, p: u32): bool {
  if (refcount(p) == 0) return false;                         // freed
  const index = linearPageIndex(v, vpn);
  if (vmaIsAnon(v)) return mapping(p) == (MAPPING_ANON | <u32>v) && pageIndex(p) == index;
  return mapping(p) == <u32>(vmaFile(v) + 1) && pageIndex(p) == index;
}

/**
 * A guest or device access of `vpn` in VMA `v` through its secondary MMU: true if a
 * translation served it (marked young); false for a guest fault. A translation whose frame the
 * primary page tables no longer map, and that was freed or reused, is a stale one: recorded,
 * and dropped.
 */
export function secondaryAccess(v: i32, vpn: i64, write: bool): bool {
  const a = slot(v, vpn);
  const e = load<u32>(a);
  if (e == 0 || (write && (e & S_WRITABLE) == 0)) return false;
  const pfnBits = e & S_PFN;
  if (pfnBits != S_ZERO) {
    const p = pfnBits - 1;
    const pte = pteOffset(mmPgd(vmaMm(v)), vpn);
    const pe = pte != 0 ? load<u64>(pte) : 0;
    if (((pe & _PAGE_PRESENT) == 0 || entryPfn(pe) != p) && !samePage(v, vpn, p)) {
      countEvent(C_MMSIM_STALE_SECONDARY_TLB);
      recordDetector(DK_STALE_SECONDARY_TLB, p, vmaMm(v), FN_MMSIM_SECONDARY_ACCESS, <f64>vpn, -1, owner(v));
      store<u32>(a, 0);
      return false;
    }
  }
  if ((e & S_YOUNG) == 0) store<u32>(a, e | S_YOUNG);
  countEvent(C_MMSIM_SECONDARY_HITS);
  return true;
}

/** After the guest fault's hva_to_pfn: the translation of what the primary PTE at `pte` maps (writable if it is). */
export function secondaryInstall(v: i32, vpn: i64, pte: usize): void {
  const pe = pte != 0 ? load<u64>(pte) : 0;
  if ((pe & _PAGE_PRESENT) == 0) return;
  const e = (pe & _PAGE_SPECIAL) != 0 ? S_ZERO : ((entryPfn(pe) + 1) | ((pe & _PAGE_RW) != 0 ? S_WRITABLE : 0));
  store<u32>(slot(v, vpn), e | S_YOUNG);
  countEvent(C_MMSIM_SECONDARY_FAULTS);
}

/** Subscription `s` invalidates [start, end) of mm `m`: its translations there go. */
export function secondaryInvalidate(s: i32, m: i32, start: i64, end: i64): void {
  if (skipInvalidation) return;
  const first = mmFirstVma(m); const last = first + mmNrVmas(m);
  for (let v = first; v < last; v++) {
    if (owner(v) != s) continue;
    const lo = start > vmaStart(v) ? start : vmaStart(v);
    const hi = end < vmaEnd(v) ? end : vmaEnd(v);
    let gone: i64 = 0;
    for (let vpn = lo; vpn < hi; vpn++) {
      const a = slot(v, vpn);
      if (load<u32>(a) != 0) { store<u32>(a, 0); gone++; }
    }
    if (gone > 0) countAdd(C_MMSIM_SECONDARY_INVALIDATED, gone);
  }
}

/** Subscription `s`'s test_young of `vpn` in mm `m`: is its translation young (left so)? */
export function secondaryTestYoung(s: i32, m: i32, vpn: i64): bool {
  const first = mmFirstVma(m); const last = first + mmNrVmas(m);
  for (let v = first; v < last; v++) {
    if (owner(v) != s || vpn < vmaStart(v) || vpn >= vmaEnd(v)) continue;
    return (load<u32>(slot(v, vpn)) & S_YOUNG) != 0;
  }
  return false;
}

/** Subscription `s`'s clear_flush_young of `vpn` in mm `m`: was its translation young (now cleared)? */
export function secondaryClearYoung(s: i32, m: i32, vpn: i64): bool {
  const first = mmFirstVma(m); const last = first + mmNrVmas(m);
  for (let v = first; v < last; v++) {
    if (owner(v) != s || vpn < vmaStart(v) || vpn >= vmaEnd(v)) continue;
    const a = slot(v, vpn);
    const e = load<u32>(a);
    if ((e & S_YOUNG) == 0) return false;
    store<u32>(a, e & ~S_YOUNG);
    return true;
  }
  return false;
}
