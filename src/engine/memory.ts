/**
 * How much of one WASM instance's 4 GiB a scenario needs, computed before init so that a
 * scenario too big for one instance is refused up front with the arithmetic. The terms mirror
 * the regions assembly/index.ts init() reserves (a test checks the estimate against the real
 * layout).
 */
import { DETECTOR_FIELDS, LOOKAHEAD, TASK_FIXED_FIELDS } from '../abi/config.js';
import { COUNTERS } from '../abi/counters.js';
import { DETECTOR_CAP, FLUSH_BUCKETS, FRAME_BYTES, LRU_SENTINELS_PER_RECLAIMER, MAX_NR_ZONES, NR_LRU_SENTINELS, NR_ORDERS,
  RECLAIM_HIST_BUCKETS, REGION_LIMIT, RING_BITS, RING_ENTRY_BYTES, TASK_SERIES_FIELDS, ZIPF_SPAN } from '../abi/layout.js';
import type { Scenario } from '../scenario/types.js';
import { PAGE_SIZE } from './encode.js';

export const INSTANCE_LIMIT = REGION_LIMIT;
const RING_BYTES = 2 * 2 ** RING_BITS * RING_ENTRY_BYTES;   // per device: read and write completion rings
const SLACK = 1 << 20;                           // small tables (events, inodes, static data)
/** A task's fields, its walk-ahead's accesses and their PTEs, and its random stream's state before them. */
const TASK_BYTES = (TASK_FIXED_FIELDS + 2 * LOOKAHEAD) * 8 + 32;
/**
 * Records whose size is a struct's in the core (scan_control, the allocation context, the rmap
 * walk, the MMU notifier range, wait and lock state): budgets per reclaimer, per entity and per
 * lock that the core's layout stays under (test/engine.test.ts checks it with thousands of each).
 */
const RECLAIMER_BYTES = 1536;
const ENTITY_BYTES = 128;
const LOCK_BYTES = 32;
/** Per task: pin_truncate.ts's wait (16 B), page_idle.ts's cursor (8 B), damon.ts's target slots (12 B), migrate_device.ts's cursor (16 B), rounded up. */
const CALL_BYTES = 64;

export interface MemoryNeed {
  total: number;
  terms: { name: string; bytes: number; how: string }[];
}

/** Page tables at most: a PGD per process, and PUD/PMD/PTE tables covering each VMA (+1 per level for a straddled boundary). */
export function maxPageTables(s: Scenario): number {
  let total = 0;
  for (const p of Object.values(s.processes)) {
    total += 1;
    for (const v of Object.values(p.vmas)) {
      const pages = Math.floor(v.size / PAGE_SIZE);
      total += Math.ceil(pages / 512) + Math.ceil(pages / 2 ** 18) + Math.ceil(pages / 2 ** 27) + 3;
    }
  }
  return Math.min(total, Math.floor(s.machine.memory / PAGE_SIZE));
}

/** Cells of the core's Zipf table (assembly/random.ts): a cell from rank a holds max(1, ⌊a/ZIPF_SPAN⌋) ranks. */
function zipfCells(n: number): number {
  let cells = 0;
  for (let a = 1; a <= n; a += Math.max(1, Math.floor(a / ZIPF_SPAN))) cells++;
  return cells;
}

/**
 * Each Zipf phase gets a table of 16 B a cell (phases over as many pages with the same θ share
 * one), and the build shares a scratch of the largest.
 */
function zipfTableBytes(s: Scenario): number {
  let total = 0; let scratch = 0;
  const seen = new Set<string>();
  for (const p of Object.values(s.processes)) {
    for (const ph of p.workload) {
      if (ph.pattern !== 'zipf') continue;
      const target = ph.op === 'access' || ph.op === 'guest' ? p.vmas[ph.target]?.size : (ph.op === 'read' || ph.op === 'write') ? s.files[ph.target]?.size : 0;
      const size = target ?? 0;
      const start = Math.min(ph.start, size);
      const len = Math.floor((ph.length === 0 || start + ph.length > size ? size - start : ph.length) / PAGE_SIZE);
      if (len <= 0) continue;
      const cells = zipfCells(len);
      scratch = Math.max(scratch, cells * 8);
      const key = `${len}/${ph.theta}`;
      if (seen.has(key)) continue;
      seen.add(key);
      total += 64 + (cells + 1) * 16 + 64;   // header, 16 B a cell and a last one, aligned
    }
  }
  return total + scratch;
}

/** The shadow tables of the secondary MMUs (assembly/secondary_mmu.ts): one u32 a page of each VMA a guest phase targets. */
function shadowBytes(s: Scenario): number {
  let total = 0;
  for (const p of Object.values(s.processes)) {
    const shadowed = new Set(p.workload.filter((ph) => ph.op === 'guest').map((ph) => ph.target));
    for (const v of shadowed) total += Math.floor((p.vmas[v]?.size ?? 0) / PAGE_SIZE) * 4 + 64;
  }
  return total;
}

/** Each task's device record (assembly/gup.ts): 12 B an entry of its largest dma phase, 32 B a direct-io request. */
function dmaBytes(s: Scenario): number {
  let total = 0;
  for (const p of Object.values(s.processes)) {
    let entries = 0; let reqs = 0;
    for (const ph of p.workload) {
      if (ph.op !== 'dma') continue;
      if (ph.model === 'direct-io') { reqs = Math.max(reqs, ph.iodepth); entries = Math.max(entries, ph.iodepth * Math.max(1, Math.ceil(ph.ioSize / PAGE_SIZE))); }
      else entries = Math.max(entries, Math.floor((s.processes[ph.process || '']?.vmas[ph.target]?.size ?? p.vmas[ph.target]?.size ?? 0) / PAGE_SIZE));
    }
    total += entries * 12 + reqs * 32 + 128;
  }
  return total;
}

export function memoryNeed(s: Scenario): MemoryNeed {
  const frames = Math.floor(s.machine.memory / PAGE_SIZE);
  const tables = maxPageTables(s);
  const samples = s.series.interval > 0 ? Math.floor(s.duration / s.series.interval) + 2 : 2;
  const filePages = Object.values(s.files).reduce((a, f) => a + Math.floor(f.size / PAGE_SIZE), 0);
  // a file that some phase truncates or punches keeps a bitmap of its holes (assembly/filemap.ts)
  const holeFiles = new Set(Object.values(s.processes).flatMap((p) => p.workload.filter((ph) => ph.op === 'truncate' || ph.op === 'punch').map((ph) => ph.target)));
  const holeBytes = [...holeFiles].reduce((a, f) => a + Math.ceil(Math.floor((s.files[f]?.size ?? 0) / PAGE_SIZE) / 8) + 8, 0);
  const swapPages = Math.floor(s.swap.size / PAGE_SIZE);
  const nDevices = Object.keys(s.devices).length;
  const nProcs = Object.keys(s.processes).length;
  const reclaimers = nProcs + 1;
  const sentinels = NR_LRU_SENTINELS + LRU_SENTINELS_PER_RECLAIMER * reclaimers + MAX_NR_ZONES * NR_ORDERS;
  const pauseBuckets = Math.max(1, Math.floor(s.machine.hz / 5)) + 1;   // MAX_PAUSE in jiffies, and one
  const terms = [
    // the sentinels: LRU and scratch lists, two lists per reclaimer, buddy free lists
    // each field's array starts skewed by an eighth of 4 KiB more than the one before (page.ts frameArray)
    { name: 'frame table', bytes: FRAME_BYTES * (frames + sentinels) + 8 * 4096, how: `${FRAME_BYTES} B × ${frames} frames` },
    { name: 'page tables', bytes: tables * (4096 + 16), how: `≤ ${tables} tables × 4 KiB (each VMA fully mapped)` },
    { name: 'page cache slots', bytes: filePages * 4 + holeBytes, how: `4 B × ${filePages} file pages, and a bit a page of the files truncated or punched` },
    { name: 'swap map and swap cache', bytes: swapPages * 5, how: `5 B × ${swapPages} swap slots` },
    { name: 'device queues', bytes: nDevices * RING_BYTES, how: `${nDevices} devices × ${RING_BYTES} B` },
    { name: 'time series', bytes: samples * (COUNTERS.length + 1) * 8, how: `${samples} samples × ${COUNTERS.length + 1} values` },
    { name: 'per-task series', bytes: samples * (nProcs + 1) * TASK_SERIES_FIELDS * 8, how: `${samples} samples × ${nProcs} tasks × ${TASK_SERIES_FIELDS} values` },
    { name: 'histograms and detectors', bytes: (FLUSH_BUCKETS + DETECTOR_CAP * DETECTOR_FIELDS.length + pauseBuckets + RECLAIM_HIST_BUCKETS) * 8,
      how: `flush ages, pauses, reclaim latencies, ${DETECTOR_CAP} detector records` },
    { name: 'device tags', bytes: Object.values(s.devices).reduce((a, d) => a + d.queueDepth * 8, 0), how: 'queueDepth × 8 B per device' },
    { name: 'Zipf tables', bytes: zipfTableBytes(s), how: `16 B a cell of each Zipf phase; a cell from rank a holds max(1, a/${ZIPF_SPAN}) ranks` },
    { name: 'secondary MMUs', bytes: shadowBytes(s), how: '4 B a page of each VMA a guest phase goes through (its shadow translations)' },
    { name: 'task table', bytes: (nProcs + 1) * TASK_BYTES, how: `${nProcs} tasks × ${TASK_BYTES} B (fields and the walk-ahead's ${LOOKAHEAD} accesses)` },
    { name: 'reclaimers and lock waiters', bytes: reclaimers * RECLAIMER_BYTES + (nProcs + 8 + Object.keys(s.devices).length) * ENTITY_BYTES + Object.keys(s.locks).length * LOCK_BYTES,
      how: 'a scan_control and an allocation record per task and kswapd, wait and lock state per entity' },
    { name: 'small tables', bytes: SLACK, how: 'events, inodes, static data' },
    { name: 'per-task call records', bytes: (nProcs + 1) * CALL_BYTES, how: `${nProcs} tasks × ${CALL_BYTES} B (truncation's pin waits, page-idle cursors, DAMON target slots)` },
  ];
  const devicePages = Object.values(s.processes).reduce((n, p) => n + Object.values(p.subscribers).reduce((k, sub) => k + Math.floor(sub.deviceMemory / PAGE_SIZE), 0), 0);
  if (devicePages > 0) terms.push({ name: 'device memory', bytes: (devicePages + 1) * 8, how: `8 B × ${devicePages} device-private pages (migrate_device.ts: owner, free list)` });
  const damonTargets = Object.keys(s.damon.targets).length;
  if (damonTargets > 0) {
    // assembly/damon.ts: per target 2 × max_nr_regions + 16 regions of 48 B and as many 40 B snapshot records, and a scratch list
    const cap = 2 * s.damon.max_nr_regions + 16;
    terms.push({ name: 'DAMON regions', bytes: (damonTargets + 2) * cap * 88, how: `${damonTargets} targets × ${cap} regions × 88 B (regions, the last aggregation's copy), and a scratch list` });
  }
  if (Object.values(s.processes).some((p) => p.workload.some((ph) => ph.op === 'dma'))) {
    const extras = [s.pins.track === 'off-lru-count' ? 'off-lru pin counts' : '', s.pins.truncate === 'williams' ? 'long-term pin counts' : ''].filter((x) => x !== '');
    const perFrame = 2 + 2 * extras.length;
    terms.push({ name: 'DMA pins', bytes: frames * perFrame + dmaBytes(s),
      how: `${perFrame} B × ${frames} frames (the devices' references${extras.map((x) => `, ${x}`).join('')}), the devices' page lists` });
  }
  if (s.check) terms.push({ name: 'checking mode', bytes: frames * 5 + swapPages * 4 + 64, how: `5 B × ${frames} frames, 4 B × ${swapPages} swap slots (check: true)` });
  return { total: terms.reduce((a, t) => a + t.bytes, 0), terms };
}

const GiB = 2 ** 30;
const fmt = (b: number): string => `${(b / GiB).toFixed(2)} GiB`;

/** The refusal message for a scenario that does not fit one instance, or undefined if it fits. */
export function checkMemoryNeed(s: Scenario, need: MemoryNeed = memoryNeed(s)): string | undefined {
  if (need.total <= INSTANCE_LIMIT) return undefined;
  const lines = need.terms.map((t) => `  ${t.name.padEnd(24)} ${fmt(t.bytes).padStart(10)}  (${t.how})`);
  return [
    `scenario "${s.name}" needs ${fmt(need.total)} inside one WASM instance, which addresses at most ${fmt(INSTANCE_LIMIT)}:`,
    ...lines,
    'Make it smaller (machine.memory, VMA sizes, swap.size, file sizes, duration/series.interval),',
    'or split it into NUMA shards (one instance per node) when sharding is available.',
  ].join('\n');
}
