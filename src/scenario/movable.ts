/**
 * ZONE_MOVABLE from the movablecore= boot parameter, on the host: the same arithmetic the
 * simulated kernel does at init (assembly/alloc.ts, movableZoneStart), so that validation can
 * refuse a layout that leaves too little for the kernel, with the numbers, before any WASM runs.
 */
import type { Machine } from './types.js';

const PAGE_SIZE = 4096;
/** MAX_ORDER_NR_PAGES (1 << MAX_PAGE_ORDER): ZONE_MOVABLE is sized and placed in 4MiB blocks. */
export const MAX_ORDER_NR_PAGES = 1024;
/** Zone ends of the x86-64 layout, in pages: DMA below 16 MiB, DMA32 below 4 GiB. */
const DMA_END = 4096;
const DMA32_END = 1 << 20;

const roundup = (x: number, a: number): number => Math.ceil(x / a) * a;

/** Pages of one node of the machine (the node's own scenario holds only its share already). */
export function nodePages(m: Machine): number {
  return Math.floor(m.memory / (m.movablecoreNodes !== undefined ? 1 : m.nodes) / PAGE_SIZE);
}

/**
 * find_zone_movable_pfns_for_nodes for movablecore= (mm/mm_init.c): required_movablecore is
 * rounded up to MAX_ORDER_NR_PAGES and capped at all memory; kernelcore is the rest of memory,
 * spread evenly over the nodes (kernelcore_node = required_kernelcore / usable_nodes). Returns
 * each node's kernelcore in pages; 0 = no ZONE_MOVABLE (movablecore 0, or all of memory, which
 * leaves required_kernelcore 0 and so, in the kernel too, no movable zone at all).
 */
export function kernelcorePages(m: Machine): number {
  if (m.movablecore <= 0) return 0;
  const nodes = m.movablecoreNodes ?? m.nodes;
  const total = nodePages(m) * nodes;
  const movable = Math.min(total, roundup(Math.floor(m.movablecore / PAGE_SIZE), MAX_ORDER_NR_PAGES));
  const core = total - movable;
  return core <= 0 ? 0 : Math.floor(core / nodes);
}

/**
 * Where a node's ZONE_MOVABLE starts (zone_movable_pfn), in pages from the node's start: its
 * kernelcore from the start of the highest populated zone (movable_zone: Normal, or DMA32 or DMA
 * on a small node), the pages below that counting as kernelcore already; rounded up to
 * MAX_ORDER_NR_PAGES. The node's size when it has no movable zone.
 */
export function movableZoneStart(pages: number, kernelcore: number): number {
  if (kernelcore <= 0) return pages;
  const usable = pages > DMA32_END ? DMA32_END : (pages > DMA_END ? DMA_END : 0);
  const start = roundup(Math.max(usable, kernelcore), MAX_ORDER_NR_PAGES);
  return start >= pages ? pages : start;
}

/** A node's pages outside and inside ZONE_MOVABLE. */
export function movableSplit(m: Machine): { pages: number; kernel: number; movable: number } {
  const pages = nodePages(m);
  const start = movableZoneStart(pages, kernelcorePages(m));
  return { pages, kernel: start, movable: pages - start };
}
