/**
 * One simulation = one WASM instance: encode the scenario, init, run in slices of simulated
 * time (for progress), then read counters, series, detectors and zones back as typed-array
 * views. Never loops over pages: everything per page happens inside the core.
 */
import { COUNTERS } from '../abi/counters.js';
import { STATUS, DETECTOR_KINDS, KERNEL_FUNCS, ENTITY_FIXED, ENTITY_AFTER_TASKS, ZONEINFO_FIELDS, WBINFO_FIELDS } from '../abi/config.js';
import type { Scenario } from '../scenario/types.js';
import type { RunResult, DetectorHit, OomKill, ZoneInfo, WbInfo, WritebackFigures, ReclaimFigures, DamonRegion } from '../report/result.js';
import { distribution, log2Distribution } from './histogram.js';
import { ScenarioError } from '../util/errors.js';
import { encodeScenario, type Encoded } from './encode.js';
import { prepareHostPages, type HostPages } from './host-pages.js';
import { checkMemoryNeed, memoryNeed } from './memory.js';
import { instantiateCore, coreModule, type CoreExports } from './wasm.js';
import { runShardedInThread } from './numa.js';

const PAGE_BYTES = 4096;

export interface EngineOptions {
  seed?: number;
  onProgress?: (simulatedNs: number, totalNs: number) => void;
  /** 0 off, 1 check invariants at every sample, 2 also after every shrink_node (slow). */
  invariants?: 0 | 1 | 2;
  /** Simulated ns per run() slice; default: 1/200 of the duration. */
  sliceNs?: number;
  module?: WebAssembly.Module;
  /** Interpose on the instance's exports (tests use it to make run() trap). */
  wrapCore?: (core: CoreExports) => CoreExports;
}

const ZONE_NAMES = ['DMA', 'DMA32', 'Normal', 'Movable'];
const MAX_EVENTS_PER_CALL = 1 << 22;

function entityName(id: number, enc: Encoded): string {
  if (id < 0) return 'none';
  if (id < ENTITY_FIXED.length) return ENTITY_FIXED[id]!;
  const dev = id - ENTITY_FIXED.length;
  if (dev < enc.deviceNames.length) return `device ${enc.deviceNames[dev]}`;
  const task = dev - enc.deviceNames.length;
  if (task < enc.processNames.length) return `task ${enc.processNames[task]}`;
  const after = task - enc.processNames.length;
  if (after < ENTITY_AFTER_TASKS.length) return ENTITY_AFTER_TASKS[after]!;
  // the writeback workers of the second device on (the first's is the fixed flusher)
  const wb = after - ENTITY_AFTER_TASKS.length + 1;
  return wb < enc.deviceNames.length ? `flusher ${enc.deviceNames[wb]}` : `entity ${id}`;
}

/** A lock of the core by name: the scenario's, then each process's mmap_lock, then its VMAs' read locks. */
function lockLabel(id: number, enc: Encoded): string {
  const nDefs = enc.lockNames.length; const nProcs = enc.processNames.length;
  if (id < nDefs) return enc.lockNames[id]!;
  if (id < nDefs + nProcs) return `mmap_lock of ${enc.processNames[id - nDefs]}`;
  if (id < nDefs + 2 * nProcs) return `the VMA locks of ${enc.processNames[id - nDefs - nProcs]} (faults inside them)`;
  // the folio pseudo-locks: one per entity, for a folio it keeps locked while it sleeps
  return `a folio locked by ${entityName(id - nDefs - 2 * nProcs, enc)}`;
}

/** The raw histograms behind RunResult.writeback (merged across the nodes of a sharded machine). */
export interface RawHistograms { pauseHist: number[]; flushHist: number[]; reclaimHist: number[] }

/** Read everything the core exposes into a RunResult (also after a trap). */
export function collect(core: CoreExports, s: Scenario, seed: number, enc: Encoded, raw?: RawHistograms): Omit<RunResult, 'status' | 'wall'> {
  const buf = core.memory.buffer;
  const rawCounters = new BigUint64Array(buf, core.countersPtr(), core.countersLen());
  const counters: Record<string, number> = {};
  COUNTERS.forEach((c, i) => { counters[c.name] = Number(rawCounters[i]!); });
  const stride = core.seriesStride();
  const rowsN = core.seriesRows();
  const series = new Float64Array(buf, core.seriesPtr(), rowsN * stride);
  // per-task columns: pages dirtied, the dirty rate since the previous sample, time throttled, last pause
  const nTasks = enc.processNames.length;
  const tf = core.taskSeriesFields();
  const tseries = new Float64Array(buf, core.taskSeriesPtr(), core.taskSeriesRows() * nTasks * tf);
  const rows: number[][] = [];
  for (let r = 0; r < rowsN; r++) {
    const row = Array.from(series.subarray(r * stride, (r + 1) * stride));
    row[0] = row[0]! / 1e9;
    for (let t = 0; t < nTasks; t++) {
      const at = (rr: number, f: number) => tseries[(rr * nTasks + t) * tf + f] ?? 0;
      const dt = r > 0 ? row[0]! - rows[r - 1]![0]! : 0;
      const rate = r > 0 && dt > 0 ? (at(r, 0) - at(r - 1, 0)) / dt : 0;
      row.push(at(r, 0), Math.round(rate), at(r, 1), at(r, 2));
    }
    rows.push(row);
  }
  const taskColumns = enc.processNames.flatMap((p) => [
    `task_${p}_dirtied_pages`, `task_${p}_dirty_rate_pages_s`, `task_${p}_throttled_ns`, `task_${p}_pause_ns`]);
  const dstride = core.detectorStride();
  const dlen = core.detectorsLen();
  const det = new Float64Array(buf, core.detectorsPtr(), dlen * dstride);
  const detectors: DetectorHit[] = [];
  const oomKills: OomKill[] = [];
  let oomRecords = 0;
  for (let i = 0; i < dlen; i++) {
    const d = det.subarray(i * dstride, (i + 1) * dstride);
    const hit: DetectorHit = {
      kind: `mmsim_${DETECTOR_KINDS[d[0]!] ?? 'unknown'}`, timeNs: d[1]!, pfn: d[2]!,
      task: d[3]!, func: KERNEL_FUNCS[d[4]!] ?? 'unknown', value: d[5]!,
    };
    if (hit.kind === 'mmsim_oom_kill' || hit.kind === 'mmsim_oom_freed') oomRecords++;
    if (hit.kind === 'mmsim_oom_kill') {
      // reports, not detectors: a kill carries the victim's rss in its pfn slot
      oomKills.push({
        timeNs: hit.timeNs, task: hit.task, taskName: enc.processNames[hit.task] ?? String(hit.task), badness: hit.value,
        rssPages: hit.pfn, reapedAtNs: null, reapedPages: 0, exitAtNs: null, exitFreedPages: 0,
      });
      continue;
    }
    if (hit.kind === 'mmsim_oom_freed') {
      // …and the freeing of its memory, by the reaper or its exit, the pages in the pfn slot
      const kill = [...oomKills].reverse().find((k) => k.task === hit.task);
      if (kill && hit.func === 'exit_mmap') { kill.exitAtNs = hit.timeNs; kill.exitFreedPages = hit.pfn; }
      else if (kill) { kill.reapedAtNs = hit.timeNs; kill.reapedPages += hit.pfn; }
      continue;
    }
    if (hit.kind.startsWith('mmsim_notifier_') || hit.kind === 'mmsim_end_blocked_after_nonblocking_start' || hit.kind === 'mmsim_stale_secondary_tlb') {
      hit.taskName = enc.processNames[d[3]!] ?? String(d[3]);
      hit.subscriber = enc.subscriberNames[d[7]!] ?? String(d[7]);
    } else if (hit.kind === 'mmsim_dma_write_after_clean' || hit.kind === 'mmsim_dma_after_free' || hit.kind === 'mmsim_dma_after_truncate') {
      // the device's task, and the device (its phase in the owner slot)
      hit.taskName = enc.processNames[d[3]!] ?? String(d[3]);
      hit.device = enc.phaseDevices[d[7]!] ?? String(d[7]);
    } else if (hit.kind === 'mmsim_oom_livelock') {
      hit.taskName = enc.processNames[d[3]!] ?? String(d[3]);
    } else if (hit.kind === 'mmsim_bug_writeback_no_buffers') {
      // the writer: a task (its fsync) or a kthread (the flusher), by the entity in the owner slot
      hit.taskName = d[3]! >= 0 ? enc.processNames[d[3]!] ?? String(d[3]) : entityName(d[7]!, enc);
      hit.file = enc.fileNames[d[5]!] ?? String(d[5]);
      hit.device = s.files[hit.file]?.device ?? 'unknown';
    }
    if (d[6]! >= 0) {
      // a lock detector: the task by name, the lock it waits for and that lock's owner
      // a kthread member (kswapd, the flusher) by its entity, which the pfn slot carries
      hit.taskName = d[3]! >= 0 ? enc.processNames[d[3]!] ?? String(d[3]) : entityName(d[2]!, enc);
      hit.pfn = -1;
      hit.waitsFor = lockLabel(d[6]!, enc);
      hit.owner = entityName(d[7]!, enc);
    }
    detectors.push(hit);
  }
  const zstride = core.zoneInfoStride();
  const zptr = core.zoneInfoPtr();
  const zinfo = new Float64Array(core.memory.buffer, zptr, core.zoneCount() * zstride);
  const zones: ZoneInfo[] = [];
  for (let z = 0; z < core.zoneCount(); z++) {
    const a = zinfo.subarray(z * zstride, (z + 1) * zstride);
    const f = (name: typeof ZONEINFO_FIELDS[number]) => a[ZONEINFO_FIELDS.indexOf(name)]!;
    if (f('managed') <= 0) continue;
    const reserve = ZONEINFO_FIELDS.indexOf('reserveDma');
    zones.push({ name: ZONE_NAMES[z]!, managed: f('managed'), min: f('min'), low: f('low'), high: f('high'), lowmemReserve: Array.from(a.subarray(reserve, reserve + 4)) });
  }
  const wstride = core.wbInfoStride();
  const wptr = core.wbInfoPtr();
  const winfo = new Float64Array(core.memory.buffer, wptr, core.wbCount() * wstride);
  const wbs: WbInfo[] = enc.deviceNames.map((device, d) => {
    const a = winfo.subarray(d * wstride, (d + 1) * wstride);
    const f = (name: typeof WBINFO_FIELDS[number]) => a[WBINFO_FIELDS.indexOf(name)]!;
    return {
      device, dirtied: f('dirtied'), written: f('written'), dirty: f('dirty'), writeback: f('writeback'),
      writeBandwidth: f('writeBandwidth'), dirtyRatelimit: f('dirtyRatelimit'), wbThresh: f('wbThresh'),
      completionShare: f('completionShare'),
    };
  });
  const pauseHist = Array.from(new BigUint64Array(buf, core.pauseHistPtr(), core.pauseHistLen()), Number);
  const flushHist = Array.from(new BigUint64Array(buf, core.flushHistPtr(), core.flushHistLen()), Number);
  const reclaimHist = Array.from(new BigUint64Array(buf, core.reclaimHistPtr(), core.reclaimHistLen()), Number);
  if (raw) { raw.pauseHist = pauseHist; raw.flushHist = flushHist; raw.reclaimHist = reclaimHist; }
  const reclaim: ReclaimFigures = { directLatency: log2Distribution(reclaimHist, counters['mmsim_direct_reclaim_max_ns'] ?? 0) };
  const writeback: WritebackFigures = {
    pauses: distribution(pauseHist, 1000 / s.machine.hz),
    flushAge: distribution(flushHist, 10),
  };
  const damon = damonRegions(core, s, enc);
  return {
    scenario: s.name, seed, simulatedSeconds: core.nowNs() / 1e9, plannedSeconds: s.duration / 1e9, counters, detectors,
    detectorsTotal: core.detectorsTotal() - oomRecords, oomKills, zones, wbs, writeback, reclaim, ...(damon ? { damon } : {}),
    series: { columns: ['time_s', ...COUNTERS.map((c) => c.name), ...taskColumns], rows },
  };
}

/** DAMON's last aggregation, its regions placed in the targets' VMAs (undefined: DAMON off). */
function damonRegions(core: CoreExports, s: Scenario, enc: Encoded): DamonRegion[] | undefined {
  if (Object.keys(s.damon.targets).length === 0) return undefined;
  const stride = core.damonRegionStride();
  const a = new Float64Array(core.memory.buffer, core.damonRegionsPtr(), core.damonRegionsLen() * stride);
  // each process's VMAs in the core's order, with their first pages
  const vmaOf: { name: string; start: number; end: number }[][] = [];
  let v = 0;
  for (const pn of enc.processNames) {
    vmaOf.push(Object.entries(s.processes[pn]!.vmas).map(([name, vma]) => {
      const start = core.vmaStartPage(v++);
      return { name, start, end: start + vma.size / PAGE_BYTES };
    }));
  }
  const out: DamonRegion[] = [];
  for (let i = 0; i < core.damonRegionsLen(); i++) {
    const [proc, start, end, nrAccesses, age] = Array.from(a.subarray(i * stride, i * stride + 5)) as [number, number, number, number, number];
    const vma = vmaOf[proc]!.find((x) => start >= x.start && start < x.end);
    out.push({ process: enc.processNames[proc]!, vma: vma?.name ?? '', offset: vma ? (start - vma.start) * PAGE_BYTES : 0, bytes: (end - start) * PAGE_BYTES, nrAccesses, age });
  }
  return out;
}

/** Set up an instance for `s` (throws ScenarioError when it cannot fit). */
export function createCore(s: Scenario, seed: number, module?: WebAssembly.Module, opts: { noEarlyEnd?: boolean } = {}): { core: CoreExports; enc: Encoded; hostPages: HostPages } {
  const need = memoryNeed(s);
  const refusal = checkMemoryNeed(s, need);
  if (refusal) throw new ScenarioError(refusal);
  const enc = encodeScenario(s, seed, opts);
  const core = instantiateCore(module ?? coreModule());
  const hostPages = prepareHostPages(core.memory, need.total);
  const ptr = core.configAlloc(enc.blob.byteLength);
  new Float64Array(core.memory.buffer, ptr, enc.blob.length).set(enc.blob);
  const st = core.init();
  if (st !== STATUS.ok) {
    throw new ScenarioError(st === STATUS.noMemory
      ? `scenario "${s.name}" did not fit in one WASM instance (init ran out of its 4 GiB); make it smaller`
      : `scenario "${s.name}": the WASM core refused the config (status ${st})`);
  }
  return { core, enc, hostPages };
}

export function runScenario(s: Scenario, opts: EngineOptions = {}): RunResult {
  if (s.machine.nodes > 1) return runShardedInThread(s, opts);
  const seed = opts.seed ?? s.seed;
  const t0 = process.hrtime.bigint();
  const created = createCore(s, seed, opts.module);
  const enc = created.enc;
  const hostPages = created.hostPages.how;
  const core = opts.wrapCore ? opts.wrapCore(created.core) : created.core;
  core.setInvariants(Math.max(opts.invariants ?? 0, s.check ? 1 : 0));
  const slice = opts.sliceNs ?? Math.max(1e6, Math.ceil(s.duration / 200));
  let status: RunResult['status'] = 'ok';
  let error: RunResult['error'];
  try {
    let until = 0;
    for (;;) {
      until = Math.min(s.duration, until + slice);
      let st: number;
      do { st = core.run(until, MAX_EVENTS_PER_CALL); } while (st === STATUS.budget);
      opts.onProgress?.(Math.min(until, s.duration), s.duration);
      if (st === STATUS.finished) break;
    }
  } catch (e) {
    status = 'error';
    error = {
      message: e instanceof Error ? e.message : String(e),
      simulatedNs: core.nowNs(),
      lastEvent: entityName(core.lastEntity(), enc),
    };
  }
  const out = collect(core, s, seed, enc);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { ...out, status, ...(error ? { error } : {}), wall: { seconds, accesses: out.counters['mmsim_accesses'] ?? 0, hostPages } };
}
