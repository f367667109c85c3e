// The exported ABI, and nothing else (what only tests call is in testing.ts, a build of its own): the host allocates the config blob, fills it, calls
// init(), then run() in slices, and reads counters, the time series, detectors and zone info
// through typed-array views at the addresses these return. All numbers, no strings.
import { pinPolicyInit } from './pin_policy';
import { pinTruncateInit } from './pin_truncate';
import { pageIdleInit } from './page_idle';
import { deviceMemoryInit } from './migrate_device';
import { damonInit, damonSnapshotPtr, damonSnapshotLen, SNAP_FIELDS } from './damon';
import { migrateInit } from './migrate';
import { gupInit, scenarioHasDevices } from './gup';
import { userptrInit } from './userptr';
import { regionsReset, regionAlloc, regionsEnd } from './mem';
import { setConfig, configTablesLoad, cfg, procCfg, vmaCfg, lockCfg } from './config';
import { G_MEMORY_PAGES, G_DURATION_NS, G_SERIES_INTERVAL_NS, G_N_PROCS, G_N_DEVICES, G_SWAP_PAGES,
  G_SWAP_DEVICE, G_VERSION, G_N_LOCKS, G_CHECK, G_MEMCG_STATS_FLUSH_NS, LOCK_KIND, LOCK_KIND_RWSEM, PROC_FIRST_VMA, PROC_N_VMAS, VMA_SIZE_PAGES, NR_COUNTERS, DET_STRIDE,
  STATUS_OK, STATUS_BAD_CONFIG, STATUS_NO_MEMORY, ABI_VERSION } from './generated/abi';
import { pagesInit, nrPages } from './page';
import { vmstatInit, countersBase, seriesBase, seriesRows as rows } from './vmstat';
import { eventsInit, now, lastEventId } from './events';
import { randomInit } from './random';
import { allocInit, zoneInfoFill, nrFreeListSentinels, ZONEINFO_STRIDE, MAX_NR_ZONES } from './alloc';
import { lruInit, lruBatchesInit, lruSentinels, NR_LRU_SENTINELS } from './lru';
import { scanControlsInit } from './scan_control';
import { waitInit, itreeQueueBase } from './wait';
import { mmapLockLayout, mmapLockInit } from './mmap_lock';
import { rmapInit } from './rmap';
import { oomInit } from './oom';
import { mmuNotifierInit } from './mmu_notifier';
import { secondaryInit } from './secondary_mmu';
import { allocContextsInit } from './alloc';
import { pgtableInit, tablesForRange } from './pgtable';
import { thpInit } from './huge_memory';
import { mmLayout, mmInit, vmaStart } from './mm';
import { filemapInit } from './filemap';
import { truncateInit } from './truncate';
import { munmapInit } from './vma';
import { mprotectInit } from './mprotect';
import { swapInit, PLUG_CAP } from './swap';
import { blkInit } from './blkdev';
import { vmscanInit, reclaimHistPtr as rhp, RECLAIM_HIST_BUCKETS } from './vmscan';
import { setRemote as setRemoteTotals, nodeDirtyableMemory, localCompletions as localCompl, dirtyExcludedPages } from './writeback';
import { count } from './vmstat';
import { C_NR_DIRTY, C_NR_WRITEBACK, G_N_VMAS, E_AFTER_TASKS_KDAMOND } from './generated/abi';
import { writebackInit, wbInfoFill, WBINFO_STRIDE, nWbs, taskSeriesPtr as tsp, taskSeriesRowsN, TASK_SERIES_FIELDS, pauseHistPtr as php, pauseHistLen as phl, flushHistPtr as fhp, flushHistLen as fhl } from './writeback';
import { flusherInit } from './flusher';
import { schedInit, runEvents, nrEntities, firstTaskEntity, memcgFlushEntity, liveTaskCount, KSWAPD_ENTITY } from './sched';
import { memcgInit } from './memcontrol';
import { lockingInit, setLockKind, LOCK_MUTEX, LOCK_RWSEM } from './locking';
import { invariantsInit, invariantsScratchInit, setInvariantMode, detectorsBase, detectorsLen as dlen,
  detectorsTotal as dtotal } from './invariants';


/** Reserve `bytes` for the config blob; must be called first (it resets the region allocator). */
export function configAlloc(bytes: i32): usize {
  regionsReset();
  const p = regionAlloc(<u64>bytes);
  setConfig(p, <usize>bytes);
  return p;
}

/** Upper bound of page-table pages the scenario can need (each one also takes a frame). */
function maxPageTables(): f64 {
  configTablesLoad();
  const nProcs = <i32>cfg(G_N_PROCS);
  let total: u64 = 0;
  for (let m = 0; m < nProcs; m++) {
    total += 1;       // PGD
    const first = <i32>procCfg(m, PROC_FIRST_VMA); const n = <i32>procCfg(m, PROC_N_VMAS);
    for (let v = first; v < first + n; v++) total += tablesForRange(<u64>vmaCfg(v, VMA_SIZE_PAGES));
  }
  const cap = <u64>cfg(G_MEMORY_PAGES);
  return <f64>(total < cap ? total : cap);
}

export function init(): i32 {
  if (<i32>cfg(G_VERSION) != ABI_VERSION) return STATUS_BAD_CONFIG;
  configTablesLoad();
  const pages = <u32>cfg(G_MEMORY_PAGES);
  const interval = cfg(G_SERIES_INTERVAL_NS);
  const samples = interval > 0 ? <i32>(cfg(G_DURATION_NS) / interval) + 2 : 2;
  const nProcs = <i32>cfg(G_N_PROCS);
  // reclaimers: kswapd and every task
  const reclaimers = nProcs + 1;
  const lruSlots = lruSentinels(reclaimers);
  const sentinels = lruSlots + nrFreeListSentinels();
  if (!pagesInit(pages, sentinels)) return STATUS_NO_MEMORY;
  if (!vmstatInit(samples)) return STATUS_NO_MEMORY;
  if (!invariantsInit()) return STATUS_NO_MEMORY;
  if (cfg(G_CHECK) != 0 && !invariantsScratchInit(pages, <u32>cfg(G_SWAP_PAGES))) return STATUS_NO_MEMORY;
  const entities = nrEntities(nProcs, <i32>cfg(G_N_DEVICES));
  if (!eventsInit(entities)) return STATUS_NO_MEMORY;
  if (!waitInit(entities, nProcs)) return STATUS_NO_MEMORY;
  if (!rmapInit(entities)) return STATUS_NO_MEMORY;
  const nLockDefs = <i32>cfg(G_N_LOCKS);
  const nLocksAll = mmapLockLayout(nLockDefs, nProcs);
  if (!lockingInit(nLocksAll, entities, firstTaskEntity(<i32>cfg(G_N_DEVICES)))) return STATUS_NO_MEMORY;
  for (let l = 0; l < nLocksAll; l++) {
    setLockKind(l, l >= nLockDefs || <i32>lockCfg(l, LOCK_KIND) == LOCK_KIND_RWSEM ? LOCK_RWSEM : LOCK_MUTEX);
  }
  if (!randomInit(nProcs + 2)) return STATUS_NO_MEMORY;     // the tasks', the drivers', kdamond's
  if (!blkInit()) return STATUS_NO_MEMORY;
  if (!filemapInit()) return STATUS_NO_MEMORY;
  if (!swapInit(<u32>cfg(G_SWAP_PAGES), <i32>cfg(G_SWAP_DEVICE))) return STATUS_NO_MEMORY;
  if (!mmLayout()) return STATUS_NO_MEMORY;
  if (!mmapLockInit(<i32>cfg(G_N_VMAS), nProcs)) return STATUS_NO_MEMORY;
  if (!oomInit(nProcs)) return STATUS_NO_MEMORY;
  if (!truncateInit(nProcs) || !munmapInit(nProcs) || !mprotectInit(nProcs) || !pageIdleInit(nProcs) || !deviceMemoryInit(nProcs)) return STATUS_NO_MEMORY;
  if (!secondaryInit()) return STATUS_NO_MEMORY;
  if (!mmuNotifierInit(nProcs, entities, nProcs, itreeQueueBase(nProcs))) return STATUS_NO_MEMORY;   // random stream nProcs: the drivers'
  if (!pgtableInit(<u32>maxPageTables())) return STATUS_NO_MEMORY;
  lruInit(pages, reclaimers);
  if (!lruBatchesInit(nProcs)) return STATUS_NO_MEMORY;
  if (!scanControlsInit(reclaimers, pages + NR_LRU_SENTINELS, PLUG_CAP)) return STATUS_NO_MEMORY;
  if (!allocContextsInit(nProcs)) return STATUS_NO_MEMORY;
  allocInit(pages + lruSlots);
  if (!vmscanInit(KSWAPD_ENTITY)) return STATUS_NO_MEMORY;
  if (!writebackInit(nProcs, samples)) return STATUS_NO_MEMORY;
  if (!flusherInit()) return STATUS_NO_MEMORY;
  if (!pinPolicyInit(pages, scenarioHasDevices())) return STATUS_NO_MEMORY;
  if (!pinTruncateInit(pages, scenarioHasDevices(), nProcs)) return STATUS_NO_MEMORY;
  if (!migrateInit(nProcs) || !gupInit(nProcs)) return STATUS_NO_MEMORY;
  userptrInit();
  thpInit();
  if (!schedInit()) return STATUS_NO_MEMORY;
  if (!damonInit(firstTaskEntity(<i32>cfg(G_N_DEVICES)) + nProcs + E_AFTER_TASKS_KDAMOND, nProcs + 1)) return STATUS_NO_MEMORY;
  if (!memcgInit(<i64>cfg(G_MEMCG_STATS_FLUSH_NS), memcgFlushEntity(nProcs, <i32>cfg(G_N_DEVICES)))) return STATUS_NO_MEMORY;
  if (!mmInit()) return STATUS_NO_MEMORY;
  return STATUS_OK;
}

/** Advance the simulation to `untilNs` or by at most `maxEvents` events. */
export function run(untilNs: f64, maxEvents: i32): i32 { return runEvents(<i64>untilNs, maxEvents); }

export function nowNs(): f64 { return <f64>now; }
export function lastEntity(): i32 { return lastEventId; }
export function countersPtr(): usize { return countersBase; }
export function countersLen(): i32 { return NR_COUNTERS; }
export function seriesPtr(): usize { return seriesBase; }
export function seriesRows(): i32 { return rows; }
export function seriesStride(): i32 { return NR_COUNTERS + 1; }
export function detectorsPtr(): usize { return detectorsBase; }
export function detectorsLen(): i32 { return dlen; }
export function detectorsTotal(): f64 { return <f64>dtotal; }
export function detectorStride(): i32 { return DET_STRIDE; }
export function zoneInfoPtr(): usize { return zoneInfoFill(); }
export function zoneInfoStride(): i32 { return ZONEINFO_STRIDE; }
export function zoneCount(): i32 { return MAX_NR_ZONES; }
export function memoryEnd(): f64 { return <f64>regionsEnd(); }
export function framesCount(): f64 { return <f64>nrPages; }
export function setInvariants(mode: i32): void { setInvariantMode(mode); }
export function wbInfoPtr(): usize { return wbInfoFill(); }
export function wbInfoStride(): i32 { return WBINFO_STRIDE; }
export function wbCount(): i32 { return nWbs; }
/** balance_dirty_pages sleeps per jiffy (u64 counts, index = jiffies, last = MAX_PAUSE). */
export function pauseHistPtr(): usize { return php(); }
export function pauseHistLen(): i32 { return phl(); }
/** Age of dirty data at writeback completion, 10 ms buckets (u64 counts; the last = older). */
export function flushHistPtr(): usize { return fhp(); }
export function flushHistLen(): i32 { return fhl(); }
/** Direct reclaim call latencies: u64 counts, bucket b = [2^b, 2^(b+1)) µs (see vmscan.ts). */
export function reclaimHistPtr(): usize { return rhp(); }
export function reclaimHistLen(): i32 { return RECLAIM_HIST_BUCKETS; }
/** Per-task series: rows × tasks × (dirtied pages, throttled ns, last pause ns), f64. */
export function taskSeriesPtr(): usize { return tsp(); }
export function taskSeriesRows(): i32 { return taskSeriesRowsN(); }
export function taskSeriesFields(): i32 { return TASK_SERIES_FIELDS; }

// --- a node of a sharded machine (see writeback.ts) ---
/** The other nodes' totals as of the last epoch boundary. */
export function setRemote(dirty: f64, fileDirty: f64, dirtyable: f64, completions: f64): void {
  setRemoteTotals(<i64>dirty, <i64>fileDirty, <i64>dirtyable, <i64>completions);
}
/** This node's NR_FILE_DIRTY + NR_WRITEBACK. */
// (as the throttling figures count them: less the dirty pages pins.dirtyAccounting leaves out)
export function localDirty(): f64 { return <f64>(<i64>(count(C_NR_DIRTY) + count(C_NR_WRITEBACK)) - dirtyExcludedPages()); }
export function localFileDirty(): f64 { return <f64>(<i64>count(C_NR_DIRTY) - dirtyExcludedPages()); }
export function localDirtyable(): f64 { return <f64>nodeDirtyableMemory(); }
export function localCompletions(): f64 { return <f64>localCompl(); }
/** Tasks whose workload has not ended yet. */
export function tasksLive(): i32 { return liveTaskCount(); }
/** DAMON's regions at its last aggregation: damonRegionsLen() records of damonRegionStride() f64 (process, start and end page, nr_accesses, age). */
export function damonRegionsPtr(): usize { return damonSnapshotPtr(); }
export function damonRegionsLen(): i32 { return damonSnapshotLen(); }
export function damonRegionStride(): i32 { return SNAP_FIELDS; }
/** Where VMA `v` starts (its first page): the layout the host reports addresses against. */
export function vmaStartPage(v: i32): f64 { return <f64>vmaStart(v); }
