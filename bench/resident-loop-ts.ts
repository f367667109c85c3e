/**
 * The WASM core's resident-hit loop (assembly/sched.ts runTask) written in plain TypeScript,
 * to show what the WASM core buys. Same data layout: a 4-level radix tree of 512-entry tables
 * with 64-bit entries (4 KiB per table), the entry bits of assembly/pgtable.ts, upper-level
 * entries holding the next table's id in the pfn field, the VMA at vpn 1 << 18 as
 * assembly/mm.ts lays it out, and a populated VMA whose PTEs look as a write fault leaves them.
 *
 * What differs, and why it is still fair:
 * - A 64-bit entry is two Uint32Array words (low, high). BigUint64Array would make every load
 *   a BigInt allocation; a Float64Array cannot do bit operations. The upper levels read both
 *   words (a pfn may pass bit 31 of the entry); the leaf test reads only the low word because
 *   every flag a hit looks at lives there.
 * - The random stream is splitmix32 (a Weyl sequence through murmur3's finaliser), not the
 *   core's xoshiro256**: a JS xoshiro256** needs BigInt and would measure BigInt, not the
 *   page-table walk. As in the core, one draw picks the page (multiply-shift into [0, n)) and
 *   one decides read or write.
 * - vpn is a double; the shifts below are exact for every vpn < 2^53 (the level-3 index is
 *   taken by division since its bits 32–35 would not survive a 32-bit shift).
 */

const _PAGE_PRESENT = 1;
const _PAGE_RW = 2;
const _PAGE_ACCESSED = 32;
const _PAGE_DIRTY = 64;
const PFN_SHIFT = 12;
/** First vpn of a process's first VMA (assembly/mm.ts). */
export const VMA_START_VPN = 1 << 18;
const WORDS_PER_TABLE = 1024;   // 512 entries × 2 u32

export interface PageTables {
  words: Uint32Array;     // table id t at words[t * 1024], id 0 unused
  pgd: number;
  pages: number;          // pages mapped from VMA_START_VPN
  tables: number;         // tables in use, PGD included
}

function entryPfn(words: Uint32Array, a: number): number {
  return (words[a]! >>> PFN_SHIFT) + words[a + 1]! * 1048576;   // high word holds pfn bits 20+
}

function storeEntry(words: Uint32Array, a: number, pfn: number, bits: number): void {
  words[a] = ((pfn << PFN_SHIFT) | bits) >>> 0;
  words[a + 1] = Math.floor(pfn / 1048576);
}

/** Build the tables that map `pages` pages from VMA_START_VPN, as MAP_POPULATE for write leaves them. */
export function populateTables(pages: number): PageTables {
  // the bound of assembly/pgtable.ts tablesForRange, plus the PGD and the unused id 0
  const cap = Math.ceil(pages / 512) + Math.ceil(pages / 2 ** 18) + Math.ceil(pages / 2 ** 27) + 3 + 2;
  const words = new Uint32Array(cap * WORDS_PER_TABLE);
  let nextId = 1;
  const pgd = nextId++;
  for (let i = 0; i < pages; i++) {
    const vpn = VMA_START_VPN + i;
    let table = pgd;
    for (let level = 3; level >= 1; level--) {
      const a = table * WORDS_PER_TABLE + ((Math.floor(vpn / 2 ** (9 * level)) & 511) << 1);
      if ((words[a]! | words[a + 1]!) === 0) storeEntry(words, a, nextId++, _PAGE_PRESENT | _PAGE_RW);
      table = entryPfn(words, a);
    }
    // any frame number will do: a resident hit never looks at the frame
    storeEntry(words, table * WORDS_PER_TABLE + ((vpn & 511) << 1), i + 1, _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY);
  }
  return { words, pgd, pages, tables: nextId - 1 };
}

/**
 * `accesses` uniform accesses over the mapped pages, a `writeFraction` of them stores: walk the
 * four levels, and on a present (and, for a store, writable) PTE set young and dirty as the
 * core does. Returns the hits; the tables are fully populated, so every access should hit.
 *
 * Nothing follows the loop but `return`: V8 optimises a long first call on-stack mid-loop, and
 * code after the loop that never ran (building a result object, say) has no type feedback, so
 * the optimised code deoptimises on exit and later calls run slower code.
 */
export function runResidentLoop(pt: PageTables, accesses: number, writeFraction: number, seed: number): number {
  return residentLoop(pt.words, pt.pgd * WORDS_PER_TABLE, pt.pages / 4294967296, writeFraction * 4294967296, accesses, seed | 0);
}

function residentLoop(w: Uint32Array, pgdBase: number, scale: number, writeBelow: number, accesses: number, s: number): number {
  let hits = 0;
  for (let i = 0; i < accesses; i++) {
    s = (s + 0x9e3779b9) | 0;
    let z = Math.imul(s ^ (s >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    const vpn = VMA_START_VPN + (((z ^ (z >>> 16)) >>> 0) * scale >>> 0);
    s = (s + 0x9e3779b9) | 0;
    z = Math.imul(s ^ (s >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    const write = ((z ^ (z >>> 16)) >>> 0) < writeBelow;

    let a = pgdBase + (((vpn / 134217728) & 511) << 1);
    if ((w[a]! | w[a + 1]!) === 0) continue;
    a = ((w[a]! >>> PFN_SHIFT) + w[a + 1]! * 1048576) * WORDS_PER_TABLE + (((vpn >>> 18) & 511) << 1);
    if ((w[a]! | w[a + 1]!) === 0) continue;
    a = ((w[a]! >>> PFN_SHIFT) + w[a + 1]! * 1048576) * WORDS_PER_TABLE + (((vpn >>> 9) & 511) << 1);
    if ((w[a]! | w[a + 1]!) === 0) continue;
    a = ((w[a]! >>> PFN_SHIFT) + w[a + 1]! * 1048576) * WORDS_PER_TABLE + ((vpn & 511) << 1);
    const e = w[a]!;
    if ((e & _PAGE_PRESENT) !== 0 && (!write || (e & _PAGE_RW) !== 0)) {
      const want = (e | _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0)) >>> 0;
      if (want !== e) w[a] = want;
      hits++;
    }
  }
  return hits;
}
