// What CONFIG_MEMCG changes for reclaim even without cgroups in use (mm/memcontrol.c): reclaim
// reads the lruvec statistics of the root memory cgroup (mem_cgroup_lruvec(NULL, pgdat)), and
// lruvec_page_state returns the rstat-aggregated copy, not the live per-node counter. The
// periodic flusher (flush_memcg_stats_dwork) refreshes it every FLUSH_TIME = 2 s; reclaim's own
// mem_cgroup_flush_stats_ratelimited flushes only when that flusher is a whole cycle late, which
// never happens here. So the counters that decide deactivation (prepare_scan_control's refault
// test, inactive_is_low, cache_trim_mode) and the workingset size (workingset_test_recent) are
// up to 2 s old — or less, when something reads memory.stat (a forced flush): the scenario
// gives the period (machine.memcgStatsFlush). With 0 (cgroup_disable=memory, or no
// CONFIG_MEMCG) they are the live node counters.
import { regionAlloc } from './mem';
import { countersBase, count } from './vmstat';
import { NR_COUNTERS } from './generated/abi';
import { schedule } from './events';

let enabled = false;
let flushed: usize = 0;        // u64 per counter: the values of the last flush
let flushEntity: i32 = -1;
let flushPeriodNs: i64 = 0;

/** Flush every `periodNs` as `entity`; 0 = no memcg statistics, reclaim reads the live ones. */
export function memcgInit(periodNs: i64, entity: i32): bool {
  enabled = periodNs > 0;
  if (!enabled) return true;
  flushed = regionAlloc(<u64>NR_COUNTERS * 8);
  if (flushed == 0) return false;
  flushEntity = entity;
  flushPeriodNs = periodNs;
  schedule(entity, 0);
  return true;
}

/** The flusher's event at `t`: cgroup_rstat_flush of the root, then again a period later. */
export function memcgFlushStats(t: i64): void {
  memory.copy(flushed, countersBase, <usize>NR_COUNTERS * 8);
  schedule(flushEntity, t + flushPeriodNs);
}

/** lruvec_page_state of the root memcg's lruvec for counter `c` (a node_stat_item). */
@inline export function lruvecPageState(c: i32): u64 {
  return enabled ? load<u64>(flushed + (<usize>c << 3)) : count(c);
}
