// Workload generators (inside WASM, no per-access host calls) and the task table they drive:
// each task walks its process's phases — sequential, uniform, Zipf (an alias table over cells
// of ranks, optionally scrambled) or hot/cold positions over a VMA or a file, a read/write mix, a rate —
// and, over ranges whose page tables outgrow the host caches, draws accesses ahead (lookahead).
import { regionAlloc } from './mem';
import { cfg, procCfg, phaseCfg } from './config';
import { PROC_FIRST_PHASE, PROC_N_PHASES, PROC_LOOP_PHASES, PH_OP, PH_TARGET, PH_PATTERN, PH_THETA,
  PH_HOT_FRACTION, PH_HOT_PROBABILITY, PH_ACCESSES, PH_DURATION_NS, PH_SCRAMBLE, PH_START_PAGE, PH_WRITE_FRACTION,
  PH_LENGTH_PAGES, G_N_PHASES, OP_ACCESS, OP_GUEST, OP_DMA, OP_READ, OP_WRITE, OP_SLEEP, OP_PAGE_IDLE, OP_MIGRATE, PAT_SEQUENTIAL, PAT_UNIFORM, PAT_ZIPF,
  TASK_FIXED_FIELDS, LOOKAHEAD } from './generated/abi';
import { pmdEntryAddr, entryAddr, entryPfn, pgtableFrees, isSwapPte, _PAGE_PSE } from './pgtable';
import { swapSlotTouch } from './swap';
import { vmaStart, vmaEnd } from './mm';
import { fileNrPages } from './filemap';
import { nextF64, nextBelow, randomSave, randomRestore, scrambleRank, zipfBuild, zipfDraw, zipfCells, zipfTableBytes, ZIPF_SPAN } from './random';

// Task table: i64 fields.
export const T_CLOCK = 0; export const T_STATE = 1; export const T_PHASE = 2; export const T_PHASE_END = 3; export const T_DONE = 4;
export const T_CURSOR = 5; export const T_NEXT_ISSUE = 6; export const T_SYS_LEFT = 7; export const T_SYS_POS = 8; export const T_POP_VMA = 9;
export const T_POP_VPN = 10; export const T_N = 11; export const T_BASE = 12;
export const T_PEND = 13;        // an access to retry after a throttled sleep: vpn, or -1
export const T_PEND_WRITE = 14;
export const T_IO_RETRY = 15;    // the task's fault or read(2) slept on a page's read and is being retried
export const T_SLICED = 16;      // stopped at the end of a run() slice, not for an event
// Accesses generated ahead of time (see lookahead()): count, next, end-of-pass flag, entries.
export const T_LA_N = 17; export const T_LA_NEXT = 18; export const T_LA_END = 19;
export const T_BDP_AGAIN = 20;   // file + 1 when balance_dirty_pages must check again after its sleep
export const T_SYNC_TARGET = 21; // a sync(2) in progress: the completion count it waits for, or -1
export const T_SYNC_START = 22;
export const T_ZIPF_TABLE = 23;  // the phase's Zipf table
export const T_LA_GEN = 24;      // pgtableFrees when the batch was walked (its PTE addresses stay valid while equal)
export const T_EXIT_STAGE = 25;  // do_exit in progress: where it stands (sched.ts exitStep)
export const T_GUEST_SEQ = 26;   // a guest fault through an interval notifier: mmu_interval_read_begin's seq, 0 = none
export const T_LA = TASK_FIXED_FIELDS;
export { LOOKAHEAD };
/**
 * Ranges of 2^16 pages (256 MiB, 512 KiB of PTEs) or more walk ahead. Under reclaim the rest of
 * the kernel's state crowds their page tables out of the host's caches well before those outgrow
 * them: measured against a threshold of 2^18 pages, a 512 MiB range on a 64 MiB machine
 * 0.91x user time, 256 MiB 0.99x; `default` (a 2.5 GiB heap) 0.71x against 2^22. A function
 * of the scenario only, so results stay deterministic (and are the same either way).
 */
export const LOOKAHEAD_MIN_PAGES: i64 = 1 << 16;
/** Tests turn the walk-ahead off to check that it changes nothing but speed. */
export let walkAhead: bool = true;
export function setWalkAhead(on: bool): void { walkAhead = on; }
export const T_LA_PTE = T_LA + LOOKAHEAD;   // each access's PTE address, or 0 if a table was missing
export const T_STRIDE = T_LA_PTE + LOOKAHEAD;
export const LA_WRITE: i64 = 1 << 62;
export const TS_WAITING = 0; export const TS_POPULATE = 1; export const TS_RUNNING = 2; export const TS_DONE = 3; export const TS_DEAD = 4;
/** Killed: do_exit runs when the task next runs (sched.ts exitStep). */
export const TS_EXITING = 5;

export let tasks: usize = 0;
let laScratch: usize = 0;   // the PMD entries of a lookahead batch
let laRandom: usize = 0;    // per task: its random stream's state before its lookahead batch was drawn
let laZero: usize = 0;      // a word that stays 0: what the walk-ahead reads for a missing table
let prefetchSink: u64 = 0;  // what the walk-ahead's loads add up to, so that they are kept
@inline export function tf(t: i32, f: i32): i64 { return load<i64>(tasks + (<usize>(t * T_STRIDE + f) << 3)); }
@inline export function setTf(t: i32, f: i32, v: i64): void { store<i64>(tasks + (<usize>(t * T_STRIDE + f) << 3), v); }

/** The pages phase `g`'s target has (a VMA's or a file's). */
function phaseTargetPages(g: i32): i64 {
  const op = <i32>phaseCfg(g, PH_OP);
  const target = <i32>phaseCfg(g, PH_TARGET);
  if (op == OP_ACCESS || op == OP_GUEST || op == OP_DMA || op == OP_PAGE_IDLE || op == OP_MIGRATE) return vmaEnd(target) - vmaStart(target);
  if (op == OP_READ || op == OP_WRITE) return <i64>fileNrPages(target);
  return 0;
}

/** Where the range of phase `g` starts in its target (start, clipped to the target). */
export function phaseRangeStart(g: i32): i64 {
  const total = phaseTargetPages(g);
  const start = <i64>phaseCfg(g, PH_START_PAGE);
  return start > total ? total : start;
}

/** Pages the range of phase `g` of task `t` spans (its target less start, up to length). */
export function phaseRange(g: i32): i64 {
  const total = phaseTargetPages(g);
  const start = phaseRangeStart(g);
  let len = <i64>phaseCfg(g, PH_LENGTH_PAGES);
  if (len == 0 || start + len > total) len = total - start;
  return len;
}

/** The Zipf table of each Zipf phase (0 for the others), by global phase index. */
let zipfTables: usize = 0;

/** Lay out the task table and build the Zipf tables; false if memory ran out. */
export function workloadInit(n: i32): bool {
  tasks = regionAlloc(<u64>(n + 1) * T_STRIDE * 8);
  const nPhases = <i32>cfg(G_N_PHASES);
  zipfTables = regionAlloc(<u64>(nPhases + 1) * 8);
  laScratch = regionAlloc(<u64>LOOKAHEAD * 8);
  laZero = regionAlloc(8);
  laRandom = regionAlloc(<u64>(n + 1) * 32);
  if (tasks == 0 || zipfTables == 0 || laScratch == 0 || laZero == 0 || laRandom == 0) return false;
  store<u64>(laZero, 0);
  let scratchCells: u64 = 0;
  for (let g = 0; g < nPhases; g++) {
    if (<i32>phaseCfg(g, PH_PATTERN) != PAT_ZIPF) continue;
    const len = phaseRange(g);
    if (len > 0) scratchCells = max<u64>(scratchCells, zipfCells(<u64>len, ZIPF_SPAN));
  }
  const scratch = scratchCells > 0 ? regionAlloc(scratchCells * 8) : 0;
  for (let g = 0; g < nPhases; g++) {
    store<u64>(zipfTables + (<usize>g << 3), 0);
    if (<i32>phaseCfg(g, PH_PATTERN) != PAT_ZIPF) continue;
    const len = phaseRange(g);
    if (len <= 0) continue;
    const theta = phaseCfg(g, PH_THETA);
    // phases over the same number of pages with the same skew share one table
    let table: usize = 0;
    for (let e = 0; e < g && table == 0; e++) {
      if (load<u64>(zipfTables + (<usize>e << 3)) != 0 && phaseRange(e) == len && phaseCfg(e, PH_THETA) == theta) {
        table = <usize>load<u64>(zipfTables + (<usize>e << 3));
      }
    }
    if (table == 0) {
      table = regionAlloc(zipfTableBytes(<u64>len, ZIPF_SPAN));
      if (table == 0 || scratch == 0) return false;
      zipfBuild(table, scratch, <u64>len, theta, ZIPF_SPAN);
    }
    store<u64>(zipfTables + (<usize>g << 3), <u64>table);
  }
  return true;
}

export function phaseIndex(t: i32): i32 { return <i32>procCfg(t, PROC_FIRST_PHASE) + <i32>tf(t, T_PHASE); }

/** Move task `t` to its next phase (or the end of its workload). */
export function enterNextPhase(t: i32, clock: i64): bool {
  unwindLookahead(t);
  let ph = <i32>tf(t, T_PHASE) + 1;
  const n = <i32>procCfg(t, PROC_N_PHASES);
  if (ph >= n) {
    if (procCfg(t, PROC_LOOP_PHASES) == 0 || n == 0) return false;
    ph = 0;
  }
  setTf(t, T_PHASE, ph);
  const g = <i32>procCfg(t, PROC_FIRST_PHASE) + ph;
  const op = <i32>phaseCfg(g, PH_OP);
  const target = <i32>phaseCfg(g, PH_TARGET);
  let total: i64 = 0; let base: i64 = 0;
  if (op == OP_ACCESS || op == OP_GUEST || op == OP_DMA) { total = vmaEnd(target) - vmaStart(target); base = vmaStart(target); }
  else if (op == OP_READ || op == OP_WRITE) total = <i64>fileNrPages(target);
  let start = <i64>phaseCfg(g, PH_START_PAGE);
  if (start > total) start = total;
  let len = <i64>phaseCfg(g, PH_LENGTH_PAGES);
  if (len == 0 || start + len > total) len = total - start;
  setTf(t, T_N, len);
  setTf(t, T_BASE, base + start);
  setTf(t, T_ZIPF_TABLE, <i64>load<u64>(zipfTables + (<usize>g << 3)));
  setTf(t, T_DONE, 0);
  setTf(t, T_CURSOR, 0);
  setTf(t, T_SYS_LEFT, 0);
  setTf(t, T_LA_N, 0); setTf(t, T_LA_NEXT, 0); setTf(t, T_LA_END, 0);
  setTf(t, T_SYNC_TARGET, -1);
  setTf(t, T_NEXT_ISSUE, clock);
  const dur = <i64>phaseCfg(g, PH_DURATION_NS);
  setTf(t, T_PHASE_END, op == OP_SLEEP ? clock + dur : (dur > 0 ? clock + dur : -1));
  return true;
}

/** The next position in [0, n) the phase's pattern gives; -1 when a single sequential pass ends. */
@inline export function nextPosition(t: i32, g: i32, pattern: i32, n: i64, step: i64): i64 {
  if (pattern == PAT_SEQUENTIAL) {
    const c = tf(t, T_CURSOR);
    if (c >= n) {
      if (phaseCfg(g, PH_ACCESSES) == 0 && phaseCfg(g, PH_DURATION_NS) == 0) return -1;
      setTf(t, T_CURSOR, step);
      return 0;
    }
    setTf(t, T_CURSOR, c + step);
    return c;
  }
  let pos: i64;
  if (pattern == PAT_UNIFORM) pos = <i64>nextBelow(t, <u64>n);
  else if (pattern == PAT_ZIPF) {
    const rank = zipfDraw(t, <usize>tf(t, T_ZIPF_TABLE));
    pos = phaseCfg(g, PH_SCRAMBLE) != 0 ? <i64>scrambleRank(rank, <u64>n) : <i64>rank - 1;
  } else {
    let hot = <i64>(<f64>n * phaseCfg(g, PH_HOT_FRACTION));
    if (hot < 1) hot = 1;
    if (hot >= n || nextF64(t) < phaseCfg(g, PH_HOT_PROBABILITY)) pos = <i64>nextBelow(t, <u64>(hot < n ? hot : n));
    else pos = hot + <i64>nextBelow(t, <u64>(n - hot));
  }
  if (step > 1 && pos + step > n) pos = n > step ? n - step : 0;
  return pos;
}

/** One access of a phase: its page in [0, n), with LA_WRITE for a store; -1 when a single pass is over. */
@inline function drawAccess(t: i32, g: i32, pattern: i32, n: i64, wf: f64): i64 {
  const pos = nextPosition(t, g, pattern, n, 1);
  if (pos < 0) return -1;
  const write = wf > 0 && (wf >= 1 || nextF64(t) < wf);
  return pos | (write ? LA_WRITE : 0);
}

/**
 * A phase that ends with accesses drawn ahead and not taken (its duration ran out) must leave
 * the task's random stream where the accesses it took left it, as without the walk-ahead: put
 * back the state from before the batch and draw again only those that were taken.
 */
function unwindLookahead(t: i32): void {
  const taken = <i32>tf(t, T_LA_NEXT);
  if (taken >= <i32>tf(t, T_LA_N)) return;
  const g = phaseIndex(t);
  const pattern = <i32>phaseCfg(g, PH_PATTERN);
  const n = tf(t, T_N);
  const wf = phaseCfg(g, PH_WRITE_FRACTION);
  randomRestore(t, laRandom + (<usize>t << 5));
  for (let i = 0; i < taken; i++) drawAccess(t, g, pattern, n, wf);
  setTf(t, T_LA_N, 0); setTf(t, T_LA_NEXT, 0);
}

/**
 * Generate the next LOOKAHEAD accesses of an access phase and touch their page-table entries
 * (and the swap slots of swap entries) before any of them is performed, so that the host's
 * cache misses for several walks overlap instead of queueing one behind the other. Only loads
 * happen here: each access is then performed in order as usual, and the random draws are those
 * a run without the walk-ahead makes (a phase that ends early unwinds them: unwindLookahead).
 */
function lookahead(t: i32, g: i32, pattern: i32, n: i64, base: i64, wf: f64, left: i64, pgd: u32): void {
  let k = LOOKAHEAD;
  if (left > 0 && left < <i64>k) k = <i32>left;
  let got = 0;
  randomSave(t, laRandom + (<usize>t << 5));
  for (; got < k; got++) {
    const a = drawAccess(t, g, pattern, n, wf);
    if (a < 0) { setTf(t, T_LA_END, 1); break; }
    setTf(t, T_LA + got, base + a);
  }
  setTf(t, T_LA_N, got); setTf(t, T_LA_NEXT, 0);
  // Level by level: all PMD entries first, then all PTEs, so that the misses of one level
  // overlap. The loops that load what misses do nothing else (the addresses are worked out
  // in the loops before them, a missing table reads a word of zeros), so that the host keeps
  // as many of those loads in flight as its out-of-order window allows.
  const la = tasks + (<usize>(t * T_STRIDE + T_LA) << 3);
  const ptes = tasks + (<usize>(t * T_STRIDE + T_LA_PTE) << 3);
  const scratch = laScratch;
  const zero = laZero;
  for (let i = 0; i < got; i++) {
    const pmd = pmdEntryAddr(pgd, load<u64>(la + (<usize>i << 3)) & ~LA_WRITE);
    store<u64>(scratch + (<usize>i << 3), <u64>select<usize>(pmd, zero, pmd != 0));
  }
  for (let i = 0; i < got; i++) {
    const a = scratch + (<usize>i << 3);
    store<u64>(a, load<u64>(<usize>load<u64>(a)));
  }
  for (let i = 0; i < got; i++) {
    const e = load<u64>(scratch + (<usize>i << 3));
    const vpn = load<u64>(la + (<usize>i << 3));
    let pte: usize = 0;
    if (e != 0) {
      // a huge PMD leaf is itself the entry the access uses (pteOffset's answer)
      pte = (e & _PAGE_PSE) != 0 ? pmdEntryAddr(pgd, vpn & ~LA_WRITE) : entryAddr(entryPfn(e), <u32>(vpn & 511));
    }
    store<i64>(ptes + (<usize>i << 3), <i64>pte);
  }
  for (let i = 0; i < got; i++) {
    const pte = <usize>load<i64>(ptes + (<usize>i << 3));
    store<u64>(scratch + (<usize>i << 3), load<u64>(select<usize>(pte, zero, pte != 0)));
  }
  // a swapped-out page's fault reads its swap cache entry and swap count first (do_swap_page)
  let sink: u64 = 0;
  for (let i = 0; i < got; i++) {
    const e = load<u64>(scratch + (<usize>i << 3));
    if (isSwapPte(e)) sink += <u64>swapSlotTouch(entryPfn(e));
  }
  setTf(t, T_LA_GEN, pgtableFrees);
  prefetchSink += sink;
}

/**
 * The next access of a large range's access phase, drawn LOOKAHEAD at a time (lookahead()):
 * its vpn, with LA_WRITE set for a store; -1 when a single sequential pass is over.
 */
@inline export function nextAccessAhead(t: i32, g: i32, pattern: i32, n: i64, base: i64, wf: f64, left: i64, pgd: u32): i64 {
  let next = tf(t, T_LA_NEXT);
  if (next >= tf(t, T_LA_N)) {
    if (tf(t, T_LA_END) != 0) return -1;
    lookahead(t, g, pattern, n, base, wf, left, pgd);
    next = 0;
    if (tf(t, T_LA_N) == 0) return -1;
  }
  setTf(t, T_LA_NEXT, next + 1);
  return tf(t, T_LA + <i32>next);
}

/**
 * The PTE address the walk-ahead found for the access nextAccessAhead just returned, or 0
 * when it must be walked again (a table was missing, or tables were freed since).
 */
@inline export function aheadPte(t: i32): usize {
  return tf(t, T_LA_GEN) == pgtableFrees ? <usize>tf(t, T_LA_PTE + <i32>tf(t, T_LA_NEXT) - 1) : 0;
}
