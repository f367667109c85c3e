// Deterministic random numbers for workload generators: xoshiro256** seeded through splitmix64,
// one stream per task, and Zipf sampling from an alias table over cells of ranks whose widths
// grow with the rank (O(1) a draw, exact probabilities, a table of a few thousand cells).
// Math here is AssemblyScript's own (compiled into the module), so results do not depend on
// the host's libm.
import { ZIPF_SPAN as LAYOUT_ZIPF_SPAN } from './generated/abi';
import { regionAlloc } from './mem';

let states: usize = 0; // 4 × u64 per stream

export function randomInit(streams: i32): bool {
  states = regionAlloc(<u64>streams * 32);
  return states != 0;
}

export function splitmix64(x: u64): u64 {
  let z = x + 0x9E3779B97F4A7C15;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
  return z ^ (z >> 31);
}

export function randomSeed(stream: i32, seed: u64): void {
  const a = states + (<usize>stream << 5);
  let x = seed ^ (<u64>(stream + 1) * 0xD1B54A32D192ED03);
  for (let i = 0; i < 4; i++) {
    x = splitmix64(x);
    store<u64>(a + (<usize>i << 3), x);
  }
}

/** Copy stream `stream`'s state to the 32 bytes at `dst` (randomRestore puts it back). */
export function randomSave(stream: i32, dst: usize): void { memory.copy(dst, states + (<usize>stream << 5), 32); }
export function randomRestore(stream: i32, src: usize): void { memory.copy(states + (<usize>stream << 5), src, 32); }

@inline function rotl(x: u64, k: u64): u64 { return (x << k) | (x >> (64 - k)); }

/** xoshiro256** next 64 bits. */
@inline export function nextU64(stream: i32): u64 {
  const a = states + (<usize>stream << 5);
  const s0 = load<u64>(a); const s1 = load<u64>(a, 8); const s2 = load<u64>(a, 16); const s3 = load<u64>(a, 24);
  const result = rotl(s1 * 5, 7) * 9;
  const t = s1 << 17;
  const n2 = s2 ^ s0; const n3 = s3 ^ s1;
  store<u64>(a, s0 ^ n3); store<u64>(a, s1 ^ n2, 8);
  store<u64>(a, n2 ^ t, 16); store<u64>(a, rotl(n3, 45), 24);
  return result;
}

/** Uniform double in [0, 1). */
@inline export function nextF64(stream: i32): f64 { return <f64>(nextU64(stream) >> 11) * 1.1102230246251565e-16; }

/** Uniform integer in [0, n) (Lemire's multiply-shift, bias below 2^-32 for n < 2^32). */
@inline export function nextBelow(stream: i32, n: u64): u64 {
  const x = nextU64(stream) >> 32;
  return (x * n) >> 32;
}

/**
 * Spread ranks over [0, n) as YCSB's scrambled Zipf does, but by a fixed permutation rather
 * than hash-mod-n (which would map about a third of the ranks onto others and shrink the
 * working set): odd multiplications and xor-shifts are bijections of [0, 2^bits), and
 * cycle-walking restricts that permutation to [0, n).
 */
export function scrambleRank(rank: u64, n: u64): u64 {
  if (n <= 1) return 0;
  const bits = 64 - clz<u64>(n - 1);
  const mask: u64 = bits >= 64 ? <u64>-1 : ((<u64>1 << bits) - 1);
  const shift: u64 = <u64>((bits + 1) >> 1);
  let x = (rank - 1) & mask;
  do {
    x = (x * 0x9E3779B97F4A7C15) & mask; x ^= x >> shift;
    x = (x * 0xBF58476D1CE4E5B9) & mask; x ^= x >> shift;
    x = (x * 0x94D049BB133111EB) & mask; x ^= x >> shift;
  } while (x >= n);
  return x;
}

// --- Zipf(n, s) by an alias table over cells (Walker/Vose) ---------------------------------------
// Cells of consecutive ranks whose widths grow with the rank: a cell starting at rank a holds
// max(1, ⌊a / ZIPF_SPAN⌋) ranks, so the first ZIPF_SPAN·2 ranks are a cell each and a 2^28-page
// range needs about 3,800 cells (≈ 60 KiB, cache-resident). Each cell is weighted by its exact
// mass; a draw picks a cell with one random number and one lookup, and a wider cell then picks
// its rank by rejection from the uniform, accepting k with probability (k/a)^-s — that is
// k^-s / a^-s — so every rank comes out with probability k^-s / H(n, s). Within a cell k/a < 1 +
// 1/ZIPF_SPAN, so a fixed squeeze accepts nearly every proposal without computing a power.
export const ZIPF_SPAN: u32 = <u32>LAYOUT_ZIPF_SPAN;
// Table header (u64/f64 slots), then 16 B a cell: its alias entry (u32 threshold, u32 alias)
// and its first rank, side by side so that a draw reads one place; a last cell holds n + 1.
const ZH_CELLS = 8; const ZH_S = 16; const ZH_SQUEEZE = 24;
const ZH_BYTES: usize = 64;

/** Width of the cell that starts at rank a. */
@inline function cellWidth(a: u64, span: u32): u64 { const w = a / <u64>span; return w < 1 ? 1 : w; }

/** Cells of the Zipf table of n ranks. */
export function zipfCells(n: u64, span: u32): u64 {
  let cells: u64 = 0;
  for (let a: u64 = 1; a <= n; a += cellWidth(a, span)) cells++;
  return cells;
}
/** Bytes of the table of n ranks: the header, and 16 B a cell plus the last one. */
export function zipfTableBytes(n: u64, span: u32): u64 { return <u64>ZH_BYTES + (zipfCells(n, span) + 1) * 16; }

/** k^-s summed over [a, b]: exactly for small ranks, else by Euler–Maclaurin (error far below 2^-32). */
export function zipfMass(a: u64, b: u64, s: f64): f64 {
  if (a < 1024 || b - a < 8) {
    let m: f64 = 0;
    for (let k = a; k <= b; k++) m += Math.exp(-s * Math.log(<f64>k));
    return m;
  }
  // ∫ x^-s over [a − ½, b + ½] (midpoint rule), as A^(1−s)·expm1((1−s)L)/(1−s) with L = ln(B/A),
  // less the first correction term (f'(B) − f'(A))/24
  const A = <f64>a - 0.5; const B = <f64>b + 0.5;
  const L = Math.log1p((B - A) / A);
  const y = (1.0 - s) * L;
  const e = Math.abs(y) > 1e-8 ? Math.expm1(y) / y : 1.0 + y * 0.5;
  const integral = Math.exp((1.0 - s) * Math.log(A)) * e * L;
  return integral + s / 24.0 * (Math.exp(-(s + 1.0) * Math.log(B)) - Math.exp(-(s + 1.0) * Math.log(A)));
}

/**
 * Build the table of Zipf(n, s) at `table` (zipfTableBytes bytes), using `scratch` (8 B a
 * cell) for Vose's work lists.
 */
export function zipfBuild(table: usize, scratch: usize, n: u64, s: f64, span: u32): void {
  const cells = zipfCells(n, span);
  store<u64>(table, cells, ZH_CELLS); store<f64>(table, s, ZH_S);
  store<f64>(table, Math.exp(-s * Math.log1p(1.0 / <f64>span)) * (1.0 - 1e-12), ZH_SQUEEZE);
  const cell = table + ZH_BYTES;
  const first = cell + 8;
  let total: f64 = 0;
  let a: u64 = 1;
  for (let i: u64 = 0; i < cells; i++) {
    const w = cellWidth(a, span);
    const b = a + w - 1 < n ? a + w - 1 : n;
    const m = zipfMass(a, b, s);
    store<u64>(first + (<usize>i << 4), a);
    store<f64>(cell + (<usize>i << 4), m);
    total += m;
    a = b + 1;
  }
  store<u64>(first + (<usize>cells << 4), n + 1);
  // scaled probabilities cells·p_i, kept in the cells as f64 while the lists are built
  const small = scratch; const large = scratch + (<usize>cells << 2);
  let ns: u32 = 0; let nl: u32 = 0;
  const scale = <f64>cells / total;
  for (let i: u32 = 0; i < <u32>cells; i++) {
    const c = cell + (<usize>i << 4);
    const q = load<f64>(c) * scale;
    store<f64>(c, q);
    if (q < 1.0) { store<u32>(small + (<usize>ns << 2), i); ns++; }
    else { store<u32>(large + (<usize>nl << 2), i); nl++; }
  }
  // pair each small cell with a large one that tops it up to 1 (Vose)
  while (ns > 0 && nl > 0) {
    ns--; const l = load<u32>(small + (<usize>ns << 2));
    const g = load<u32>(large + (<usize>(nl - 1) << 2));
    const ql = load<f64>(cell + (<usize>l << 4));
    const qg = load<f64>(cell + (<usize>g << 4)) + ql - 1.0;
    // cell l: kept with probability ql, otherwise g
    const thr = ql >= 1.0 ? 0xFFFF_FFFF : <u32>(ql * 4294967296.0);
    store<u64>(cell + (<usize>l << 4), (<u64>g << 32) | <u64>thr);
    store<f64>(cell + (<usize>g << 4), qg);
    if (qg < 1.0) { nl--; store<u32>(small + (<usize>ns << 2), g); ns++; }
  }
  // what is left has probability 1 (up to rounding): always itself
  while (nl > 0) { nl--; const g = load<u32>(large + (<usize>nl << 2)); store<u64>(cell + (<usize>g << 4), (<u64>g << 32) | 0xFFFF_FFFF); }
  while (ns > 0) { ns--; const l = load<u32>(small + (<usize>ns << 2)); store<u64>(cell + (<usize>l << 4), (<u64>l << 32) | 0xFFFF_FFFF); }
}

/** A rank in [1, n] from the table; rank 1 is the most popular. */
@inline export function zipfDraw(stream: i32, table: usize): u64 {
  const cells = load<u64>(table, ZH_CELLS);
  const r = nextU64(stream);
  const i = ((r >> 32) * cells) >> 32;
  const e = load<u64>(table + ZH_BYTES + (<usize>i << 4));
  const c = (<u32>r) < <u32>e ? i : (e >> 32);
  const at = table + ZH_BYTES + (<usize>c << 4);
  const a = load<u64>(at, 8);
  const w = load<u64>(at, 24) - a;
  return w == 1 ? a : zipfInCell(stream, table, a, w);
}

/** The rank within a cell of `w` ranks from `a`: uniform proposals, accepted with probability (k/a)^-s. */
function zipfInCell(stream: i32, table: usize, a: u64, w: u64): u64 {
  const squeeze = load<f64>(table, ZH_SQUEEZE); const s = load<f64>(table, ZH_S);
  for (;;) {
    const r = nextU64(stream);
    const k = a + (((r >> 32) * w) >> 32);
    const u = <f64>(<u32>r) * 2.3283064365386963e-10;
    if (u < squeeze || u < Math.exp(-s * Math.log(<f64>k / <f64>a))) return k;
  }
  return a;
}
