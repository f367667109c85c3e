/**
 * The kernel's boot-time watermark arithmetic, done on the host so that a machine too small for
 * its own reserves is refused with the numbers, before any WASM runs. The simulated kernel does
 * the same computation per zone; this is the single-node approximation used for validation and
 * summaries.
 */
import type { VmSysctls } from './types.js';

export const KIB = 1024;
const PAGE_KIB = 4;

/** Floor of the square root, exact for every safe integer (the kernel's int_sqrt()). */
export function intSqrt(n: number): number {
  let root = Math.floor(Math.sqrt(n));
  while (root * root > n) root--;
  while ((root + 1) * (root + 1) <= n) root++;
  return root;
}

/**
 * Models calculate_min_free_kbytes() (mm/page_alloc.c): min_free_kbytes = int_sqrt(lowmem_kbytes
 * * 16), clamped to [128, 262144]. At boot nr_free_buffer_pages() is about all of RAM, which is
 * what lowmem_kbytes stands for here.
 */
export function defaultMinFreeKbytes(memoryBytes: number): number {
  const lowmemKbytes = Math.floor(memoryBytes / KIB);
  return Math.min(262144, Math.max(128, intSqrt(lowmemKbytes * 16)));
}

export interface Watermarks {
  minFreeKbytes: number;
  /** true when vm.min_free_kbytes was 0 and the kernel formula chose the value. */
  computed: boolean;
  /** Pages, as in /proc/zoneinfo. */
  min: number;
  low: number;
  high: number;
}

/**
 * Models __setup_per_zone_wmarks() for one zone holding all memory: min = min_free_kbytes in
 * pages; the gap to low and to high is max(min/4, managed * watermark_scale_factor / 10000).
 */
export function computeWatermarks(memoryBytes: number, vm: VmSysctls): Watermarks {
  const computed = vm.min_free_kbytes === 0;
  const minFreeKbytes = computed ? defaultMinFreeKbytes(memoryBytes) : vm.min_free_kbytes;
  const managedPages = Math.floor(memoryBytes / (PAGE_KIB * KIB));
  const min = Math.floor(minFreeKbytes / PAGE_KIB);
  const gap = Math.max(Math.floor(min / 4), Math.floor((managedPages * vm.watermark_scale_factor) / 10000));
  return { minFreeKbytes, computed, min, low: min + gap, high: min + 2 * gap };
}
