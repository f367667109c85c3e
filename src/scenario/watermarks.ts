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

/** A zone's managed pages and its watermarks, in pages, as /proc/zoneinfo shows them. */
export interface ZoneWatermarks {
  name: string;
  managed: number;
  min: number;
  low: number;
  high: number;
}

/** Zone ends of the x86-64 layout, in 4 KiB pages: DMA below 16 MiB, DMA32 below 4 GiB. */
const DMA_END = 4096;
const DMA32_END = 1 << 20;

/**
 * Models __setup_per_zone_wmarks() (mm/page_alloc.c) over the zones of one node of
 * `memoryBytes`, as the simulated kernel lays them out: pages_min = min_free_kbytes in pages,
 * each zone's min its share pages_min × managed / lowmem_pages (rounded down, so the zones'
 * sum can fall a page or two short of pages_min), then the gap max(min / 4, managed ×
 * watermark_scale_factor / 10000) to low and again to high.
 */
export function zoneWatermarks(memoryBytes: number, vm: VmSysctls): ZoneWatermarks[] {
  const pages = Math.floor(memoryBytes / (PAGE_KIB * KIB));
  const zones = [
    { name: 'DMA', managed: Math.min(pages, DMA_END) },
    { name: 'DMA32', managed: Math.max(0, Math.min(pages, DMA32_END) - DMA_END) },
    { name: 'Normal', managed: Math.max(0, pages - DMA32_END) },
  ].filter((z) => z.managed > 0);
  const minFreeKbytes = vm.min_free_kbytes === 0 ? defaultMinFreeKbytes(memoryBytes) : vm.min_free_kbytes;
  const pagesMin = Math.floor(minFreeKbytes / PAGE_KIB);
  const lowmem = zones.reduce((sum, z) => sum + z.managed, 0);
  return zones.map((z) => {
    const min = Math.floor((pagesMin * z.managed) / lowmem);
    const gap = Math.max(Math.floor(min / 4), Math.floor((z.managed * vm.watermark_scale_factor) / 10000));
    return { ...z, min, low: min + gap, high: min + 2 * gap };
  });
}

/**
 * The machine's watermarks as the run summary states them: every zone of every node summed
 * (each of `nodes` nodes holds memory / nodes and computes its own reserves), the figure that
 * free pages are compared with.
 */
export function machineWatermarks(memoryBytes: number, nodes: number, vm: VmSysctls): { min: number; low: number; high: number } {
  const zones = zoneWatermarks(memoryBytes / nodes, vm);
  const sum = (pick: (z: ZoneWatermarks) => number): number => nodes * zones.reduce((total, z) => total + pick(z), 0);
  return { min: sum((z) => z.min), low: sum((z) => z.low), high: sum((z) => z.high) };
}
