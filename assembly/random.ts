// Deterministic random numbers for workload generators: xoshiro256** seeded through splitmix64,
// one stream per task, and Zipf sampling by rejection-inversion (Hörmann and Derflinger 1996,
// as Apache Commons' RejectionInversionZipfSampler), O(1) per sample with no per-item table.
// Math here is AssemblyScript's own (compiled into the module), so results do not depend on
// the host's libm.
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

// --- Zipf by rejection-inversion -----------------------------------------------------------

function helper1(x: f64): f64 { return Math.abs(x) > 1e-8 ? Math.log1p(x) / x : 1.0 - x * (0.5 - x * (0.3333333333333333 - 0.25 * x)); }
function helper2(x: f64): f64 { return Math.abs(x) > 1e-8 ? Math.expm1(x) / x : 1.0 + x * 0.5 * (1.0 + x * 0.3333333333333333 * (1.0 + 0.25 * x)); }
@inline function zh(s: f64, x: f64): f64 { return Math.exp(-s * Math.log(x)); }
@inline function zhIntegral(s: f64, x: f64): f64 { const lx = Math.log(x); return helper2((1.0 - s) * lx) * lx; }
@inline function zhIntegralInverse(s: f64, x: f64): f64 {
  let t = x * (1.0 - s);
  if (t < -1.0) t = -1.0;
  return Math.exp(helper1(t) * x);
}

/** Precomputed constants of one Zipf(n, s) distribution: 4 f64 at `z`. */
export function zipfPrepare(z: usize, n: f64, s: f64): void {
  store<f64>(z, s);
  store<f64>(z, zhIntegral(s, 1.5) - 1.0, 8);
  store<f64>(z, zhIntegral(s, n + 0.5), 16);
  store<f64>(z, 2.0 - zhIntegralInverse(s, zhIntegral(s, 2.5) - zh(s, 2.0)), 24);
}

/** A rank in [1, n]; rank 1 is the most popular. */
export function zipfSample(stream: i32, z: usize, n: f64): u64 {
  const s = load<f64>(z); const hx1 = load<f64>(z, 8); const hn = load<f64>(z, 16); const sv = load<f64>(z, 24);
  for (;;) {
    const u = hn + nextF64(stream) * (hx1 - hn);
    const x = zhIntegralInverse(s, u);
    let k = Math.floor(x + 0.5);
    if (k < 1.0) k = 1.0; else if (k > n) k = n;
    if (k - x <= sv || u >= zhIntegral(s, k + 0.5) - zh(s, k)) return <u64>k;
  }
  return 1;
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

// --- Zipf by an alias table (Walker/Vose), for ranges up to ZIPF_ALIAS_MAX pages ---------------
// O(1) with one random number and one table lookup; the table (8 bytes a rank) is built once at
// init from the exact probabilities k^-s / H(n, s). Larger ranges use rejection-inversion.
export const ZIPF_ALIAS_MAX: u64 = 1 << 20;

/**
 * Build the alias table of Zipf(n, s) at `table` (u32 threshold, u32 alias per rank), using
 * `scratch` (8 bytes a rank) for Vose's work lists.
 */
export function zipfAliasBuild(table: usize, scratch: usize, n: u32, s: f64): void {
  let total: f64 = 0;
  for (let k: u32 = 1; k <= n; k++) total += Math.exp(-s * Math.log(<f64>k));
  // scaled probabilities n·p_k, kept in the table's slots as f64 while the lists are built
  const small = scratch; const large = scratch + (<usize>n << 2);
  let ns: u32 = 0; let nl: u32 = 0;
  const prob = table;                     // f64 view over the table during construction
  for (let i: u32 = 0; i < n; i++) {
    const q = Math.exp(-s * Math.log(<f64>(i + 1))) / total * <f64>n;
    store<f64>(prob + (<usize>i << 3), q);
    if (q < 1.0) { store<u32>(small + (<usize>ns << 2), i); ns++; }
    else { store<u32>(large + (<usize>nl << 2), i); nl++; }
  }
  // pair each small rank with a large one that tops it up to 1 (Vose)
  while (ns > 0 && nl > 0) {
    ns--; const l = load<u32>(small + (<usize>ns << 2));
    const g = load<u32>(large + (<usize>(nl - 1) << 2));
    const ql = load<f64>(prob + (<usize>l << 3));
    const qg = load<f64>(prob + (<usize>g << 3)) + ql - 1.0;
    // rank l: kept with probability ql, otherwise g
    const thr = ql >= 1.0 ? 0xFFFF_FFFF : <u32>(ql * 4294967296.0);
    store<u64>(prob + (<usize>l << 3), (<u64>g << 32) | <u64>thr);
    store<f64>(prob + (<usize>g << 3), qg);
    if (qg < 1.0) { nl--; store<u32>(small + (<usize>ns << 2), g); ns++; }
  }
  // what is left has probability 1 (up to rounding): always itself
  while (nl > 0) { nl--; const g = load<u32>(large + (<usize>nl << 2)); store<u64>(prob + (<usize>g << 3), (<u64>g << 32) | 0xFFFF_FFFF); }
  while (ns > 0) { ns--; const l = load<u32>(small + (<usize>ns << 2)); store<u64>(prob + (<usize>l << 3), (<u64>l << 32) | 0xFFFF_FFFF); }
}

/** A rank in [1, n] from the alias table. */
@inline export function zipfAliasSample(stream: i32, table: usize, n: u64): u64 {
  const r = nextU64(stream);
  const i = ((r >> 32) * n) >> 32;
  const e = load<u64>(table + (<usize>i << 3));
  return ((<u32>r) < <u32>e ? i : (e >> 32)) + 1;
}
