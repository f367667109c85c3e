// Raw linear-memory regions. The core never uses `new`, arrays or strings: every table is a
// region carved once at init from a bump pointer above __heap_base, so the hot paths are plain
// loads and stores and nothing allocates after init. Memory grows with memory.grow; pages that
// are reserved but never touched cost the host nothing (the OS maps them lazily).

import { REGION_LIMIT } from './generated/abi';

let brk: usize = 0;

/** Start allocating regions at the first aligned address after the static data. */
export function regionsReset(): void {
  brk = (__heap_base + 63) & ~(<usize>63);
}

/** Bytes that allocating `bytes` more would bring the memory to (for the host's estimate). */
export function regionsEnd(): usize { return brk; }

/**
 * Reserve `bytes` (rounded to 64) and return the region's address, aligned to `align` bytes (a
 * power of two, at least 64), or 0 if the 4 GiB wasm32 space cannot hold it. Regions are
 * zero-filled: memory.grow gives zeroed pages and regions are never reused.
 */
export function regionAlloc(bytes: u64, align: u64 = 64): usize {
  const size = (bytes + 63) & ~(<u64>63);
  const start = (<u64>brk + align - 1) & ~(align - 1);
  const end = start + size;
  if (end > REGION_LIMIT) return 0;
  const needPages = <i32>((end + 0xFFFF) >> 16);
  const have = memory.size();
  if (needPages > have) {
    if (memory.grow(needPages - have) < 0) return 0;
  }
  brk = <usize>end;
  return <usize>start;
}
