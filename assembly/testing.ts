// The test build (build/mmsim-test.wasm): the ABI of index.ts and, for the tests only, switches
// and self-checks the release build does not ship. Same code, same compiler options.
export * from './index';
import { setWalkAhead as setWalkAheadMode } from './workload';
import { randomSeed, zipfBuild, zipfDraw, zipfCells, zipfMass } from './random';
import { breakInvariant as breakInv } from './invariants';
import { setSkipSecondaryInvalidation } from './secondary_mmu';
import { setRmapPrefetch as setRmapPrefetchMode } from './rmap';
import { shrinkAnonBatches as shrinkAnon } from './vmscan';
import { filemapLookup } from './filemap';
import { flags, refcount, setRefcount } from './page';
import { folioPut as folioPutRef, NO_PAGE } from './alloc';
import { setPageDirtyLock as setPageDirtyLockCore } from './writeback';
import { blockInvalidateFolio as blockInvalidateFolioCore } from './buffer';

/** Walk ahead over large ranges (the default) or not: results must not change (walk-ahead.test). */
export function setWalkAhead(on: i32): void { setWalkAheadMode(on != 0); }
/** Tests of the checker only: break an invariant on purpose (see invariants.ts). */
export function breakInvariant(kind: i32): i32 { return breakInv(kind); }
/** The reclaim batch's page-table prefetch on (default) or off: results must not change (speed-invariance.test). */
export function setRmapPrefetch(on: i32): void { setRmapPrefetchMode(on != 0); }
/** The bench's scanning figures: `batches` batches of shrink_inactive_list (active 0) or shrink_active_list (1) after a run. */
export function shrinkAnonBatches(active: i32, batches: i32): f64 { return <f64>shrinkAnon(active != 0, batches); }
/** Tests of mmsim_stale_secondary_tlb only: invalidations stop removing secondary translations. */
export function skipSecondaryInvalidation(on: i32): void { setSkipSecondaryInvalidation(on != 0); }

// --- a page-cache page from the outside, for the buffer tests (between run() slices) ---
/** The pfn of page `index` of file `f` in the page cache, or -1. */
export function filemapFolio(f: i32, index: u32): i32 { const p = filemapLookup(f, index); return p == NO_PAGE ? -1 : <i32>p; }
/** The PG_* flags of frame `pfn` (page.ts). */
export function folioFlags(pfn: u32): u32 { return flags(pfn); }
export function folioRefcount(pfn: u32): i32 { return refcount(pfn); }
/** folio_get: one more reference, as a get_user_pages (FOLL_GET) reference holds the page. */
export function folioGet(pfn: u32): void { setRefcount(pfn, refcount(pfn) + 1); }
/** folio_put of such a reference. */
export function folioPut(pfn: u32): void { folioPutRef(pfn); }
/** set_page_dirty_lock as the GUP unpin path calls it (writeback.ts); 0 if the folio was locked. */
export function setPageDirtyLock(pfn: u32): i32 { return setPageDirtyLockCore(pfn, -1) ? 1 : 0; }
/** block_invalidate_folio over the whole page, as truncation calls it (buffer.ts); 0 if under writeback. */
export function blockInvalidateFolio(pfn: u32): i32 { return blockInvalidateFolioCore(pfn) ? 1 : 0; }

// --- self-check of the Zipf sampler (tests compare the counts with the exact probabilities) ---
const ZCHECK_CELLS: u64 = 4096;
const ZCHECK_BINS: u32 = 256;
const zcheckTable = memory.data(<i32>(ZCHECK_CELLS * 16 + 80));
const zcheckScratch = memory.data(<i32>(ZCHECK_CELLS * 8));
const zcheckCounts = memory.data(<i32>(ZCHECK_BINS * 8));
/**
 * Draw `samples` ranks of Zipf(n, theta) from a table whose cells widen as rank / `span`
 * (≤ 4096 cells), on random stream 0 seeded with `seed`, and count them in `bins` (≤ 256)
 * equal bins of rank; returns the address of the f64 counts, or 0 if the sizes are out of
 * range. Only for tests: call it on an instance that is not running.
 */
export function zipfSelfCheck(n: f64, theta: f64, samples: i32, span: u32, bins: u32, seed: f64): usize {
  const nn = <u64>n;
  if (nn < 1 || bins < 1 || bins > ZCHECK_BINS || span < 1 || zipfCells(nn, span) > ZCHECK_CELLS) return 0;
  randomSeed(0, <u64>seed);
  for (let i: u32 = 0; i < bins; i++) store<f64>(zcheckCounts + (<usize>i << 3), 0);
  zipfBuild(zcheckTable, zcheckScratch, nn, theta, span);
  for (let k = 0; k < samples; k++) {
    const rank = zipfDraw(0, zcheckTable);
    const a = zcheckCounts + (<usize>(((rank - 1) * <u64>bins) / nn) << 3);
    store<f64>(a, load<f64>(a) + 1);
  }
  return zcheckCounts;
}

/** The mass Σ k^-s over [a, b] that a wide cell of the Zipf table is given (for tests). */
export function zipfMassCheck(a: f64, b: f64, s: f64): f64 { return zipfMass(<u64>a, <u64>b, s); }
