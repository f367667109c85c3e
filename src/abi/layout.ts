/**
 * The core's memory layout, as far as the host's estimate of it needs (src/engine/memory.ts):
 * the one definition of each capacity and per-item size both sides use. scripts/gen-abi.mjs
 * writes them into assembly/generated/abi.ts, where the core's tables are sized by them.
 */
/** The highest address a region may reach (assembly/mem.ts regionAlloc): wasm32's 4 GiB less 64 KiB. */
export const REGION_LIMIT = 0xFFFF_0000;
/** Bytes per frame: eight parallel u32 arrays indexed by pfn (assembly/page.ts). */
export const FRAME_BYTES = 32;
/** Frame-table slots used as list heads: the LRU and reclaim's scratch lists (assembly/lru.ts)… */
export const NR_LRU_SENTINELS = 9;
/** …two more per reclaimer (its isolation and return lists)… */
export const LRU_SENTINELS_PER_RECLAIMER = 2;
/** …and one buddy free list per zone and order (assembly/alloc.ts). */
export const MAX_NR_ZONES = 4;
export const NR_ORDERS = 11;
/** Each device's read and write completion rings: 2^RING_BITS entries of a u64 time and a u32 page (assembly/blkdev.ts). */
export const RING_BITS = 18;
export const RING_ENTRY_BYTES = 12;
/** Detector records kept in full (assembly/invariants.ts); more are only counted. */
export const DETECTOR_CAP = 4096;
/** Buckets of the age of dirty data at writeback completion, 10 ms each (assembly/writeback.ts). */
export const FLUSH_BUCKETS = 12001;
/** Buckets of direct reclaim call latencies, powers of two of µs (assembly/vmscan.ts). */
export const RECLAIM_HIST_BUCKETS = 32;
/** f64 values per task per sample in the per-task series (assembly/writeback.ts). */
export const TASK_SERIES_FIELDS = 3;
/** A cell of the Zipf table from rank a holds max(1, ⌊a / ZIPF_SPAN⌋) ranks (assembly/random.ts). */
export const ZIPF_SPAN = 256;
/** Swap writes a reclaimer plugs before submitting them (assembly/swap.ts). */
export const PLUG_CAP = 64;
