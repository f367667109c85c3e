// Idle page tracking (mm/page_idle.c, /sys/kernel/mm/page_idle/bitmap) as a task's calls over
// the pages a VMA's range maps now (the PFNs /proc/<pid>/pagemap gives it): a write of the
// bitmap marks them idle, clearing their PTEs' young bits and — through
// mmu_notifier_clear_young — the secondary MMUs' (page_idle_clear_pte_refs, then
// folio_set_idle); a read reports which are still idle, after looking at the young bits once
// more. Any use in between ends a page's idle period: a CPU access sets its PTE's young bit, a
// guest's sets the young bit of kvm's translation, a read() or fault through the page cache
// marks the folio accessed. Only pages on an LRU list are looked at (page_idle_get_folio).
// The call yields every BITMAP_CHUNK_BITS pages (cond_resched); it never sleeps.
import { phaseCfg, cfg } from './config';
import { PH_TARGET, PH_PROT_WRITE, G_COST_SCAN_PAGE, C_MMSIM_PAGE_IDLE_MARKED,
  C_MMSIM_PAGE_IDLE_READ_IDLE, C_MMSIM_PAGE_IDLE_READ_BUSY } from './generated/abi';
import { regionAlloc } from './mem';
import { testFlag, setFlag, PG_lru, PG_idle } from './page';
import { pteOffset, entryPfn, _PAGE_PRESENT, _PAGE_SPECIAL } from './pgtable';
import { vmaStart, vmaMm, mmPgd, vmaDetached } from './mm';
import { pageIdleClearPteRefs } from './rmap';
import { countEvent } from './vmstat';
import { mustYield, yieldAt } from './wait';
import { curClock, chargeNs, taskEntity } from './sched';
import { phaseRange, phaseRangeStart } from './workload';

/** page_idle_bitmap_read/write: cond_resched after each 64-bit word of the bitmap. */
const BITMAP_CHUNK_BITS: i64 = 64;

/** Per task: the next page of its call's range (-1: no call under way). */
let cursors: usize = 0;

export function pageIdleInit(tasks: i32): bool {
  cursors = regionAlloc(<u64>(tasks + 1) * 8);
  if (cursors == 0) return false;
  for (let t = 0; t < tasks; t++) store<i64>(cursors + (<usize>t << 3), -1);
  return true;
}

/** Is a page-idle call of task `t` under way (yielded)? */
export function pageIdleInProgress(t: i32): bool { return load<i64>(cursors + (<usize>t << 3)) >= 0; }

/**
 * Task `t`'s page-idle phase `g` from where it stands: mode write marks the range idle, mode
 * read counts the pages still idle (mmsim_page_idle_read_idle) and the others — used since they
 * were marked, or never marked (mmsim_page_idle_read_busy). True when the call is done; false when it yields.
 */
export function pageIdleStep(t: i32, g: i32): bool {
  const v = <i32>phaseCfg(g, PH_TARGET);
  if (vmaDetached(v)) return true;
  const write = phaseCfg(g, PH_PROT_WRITE) != 0;
  const start = phaseRangeStart(g);
  const len = phaseRange(g);
  const ca = cursors + (<usize>t << 3);
  let i = load<i64>(ca);
  if (i < 0) i = 0;
  const e = taskEntity(t);
  const pgd = mmPgd(vmaMm(v));
  const base = vmaStart(v) + start;
  const cost = <i64>cfg(G_COST_SCAN_PAGE);
  while (i < len) {
    const pte = pteOffset(pgd, <u64>(base + i));
    if (pte != 0) {
      const pe = load<u64>(pte);
      if ((pe & _PAGE_PRESENT) != 0 && (pe & _PAGE_SPECIAL) == 0) {
        const p = entryPfn(pe);
        // page_idle_get_folio: pages on an LRU list only
        if (testFlag(p, PG_lru)) {
          chargeNs(cost);
          if (write) {
            pageIdleClearPteRefs(p, e);
            setFlag(p, PG_idle);
            countEvent(C_MMSIM_PAGE_IDLE_MARKED);
          } else if (testFlag(p, PG_idle)) {
            pageIdleClearPteRefs(p, e);
            countEvent(testFlag(p, PG_idle) ? C_MMSIM_PAGE_IDLE_READ_IDLE : C_MMSIM_PAGE_IDLE_READ_BUSY);
          } else countEvent(C_MMSIM_PAGE_IDLE_READ_BUSY);
        }
      }
    }
    i++;
    if (i % BITMAP_CHUNK_BITS == 0 && i < len && mustYield(e, curClock)) {
      store<i64>(ca, i);
      yieldAt(e, curClock);
      return false;
    }
  }
  store<i64>(ca, -1);
  return true;
}
