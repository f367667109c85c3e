/**
 * The terminal summary of a run: the counters a memory-management engineer looks at first
 * (reclaim efficiency, faults, swap, direct-reclaim stalls, free memory against the
 * watermarks), then how fast the simulator ran.
 */
import { formatSize } from '../scenario/units.js';
import { formatCount, formatPercent, formatPerSecond, formatSeconds } from '../util/format.js';
import type { DetectorHit, RunResult, ZoneInfo } from './result.js';

const PAGE_SIZE = 4096;

export interface SummaryOptions {
  /** Where the output files went, shown on the last line. */
  outDir?: string;
}

export function formatSummary(result: RunResult, options: SummaryOptions = {}): string {
  const c = (name: string): number => result.counters[name] ?? 0;
  const lines: string[] = [];
  const row = (label: string, ...cells: string[]): void => {
    lines.push(`  ${label.padEnd(20)}${cells.map((cell) => cell.padStart(14)).join('')}`.trimEnd());
  };

  lines.push(`${result.scenario} (seed ${result.seed}): ${formatSeconds(result.simulatedSeconds)} simulated, status ${result.status}`);
  const planned = result.plannedSeconds;
  if (!result.error && planned !== undefined && result.simulatedSeconds < planned) {
    const killed = c('oom_kill') > 0 ? `, ${formatCount(c('oom_kill'))} killed by the OOM killer` : '';
    lines.push(`  ended early: every workload ended at ${formatSeconds(result.simulatedSeconds)} of ${formatSeconds(planned)} ` +
      `(${formatCount(c('mmsim_tasks_finished'))} finished${killed})`);
  }
  if (result.error) {
    lines.push(`  error at ${formatSeconds(result.error.simulatedNs / 1e9)} simulated: ${result.error.message}`);
    lines.push(`  last event: ${result.error.lastEvent}`);
  }

  lines.push('memory');
  const free = c('nr_free_pages');
  row('free pages', formatCount(free), `(${formatSize(free * PAGE_SIZE)})`, `  ${watermarkPosition(free, result.zones)}`);
  for (const zone of result.zones) {
    row(`zone ${zone.name}`, `managed ${formatCount(zone.managed)}`, `min ${formatCount(zone.min)}`,
      `low ${formatCount(zone.low)}`, `high ${formatCount(zone.high)}`);
    lines[lines.length - 1] += ' pages';
  }
  row('anon LRU pages', formatCount(c('nr_active_anon') + c('nr_inactive_anon')));
  row('file LRU pages', formatCount(c('nr_active_file') + c('nr_inactive_file')));

  lines.push('faults');
  row('pgfault', formatCount(c('pgfault')));
  row('pgmajfault', formatCount(c('pgmajfault')));

  lines.push('reclaim                         scanned        stolen    efficiency');
  row('kswapd', formatCount(c('pgscan_kswapd')), formatCount(c('pgsteal_kswapd')),
    formatPercent(c('pgsteal_kswapd'), c('pgscan_kswapd')));
  row('direct', formatCount(c('pgscan_direct')), formatCount(c('pgsteal_direct')),
    formatPercent(c('pgsteal_direct'), c('pgscan_direct')));
  const allocstalls = c('allocstall_dma') + c('allocstall_dma32') + c('allocstall_normal') + c('allocstall_movable');
  row('allocstall', formatCount(allocstalls));
  row('direct reclaim time', formatSeconds(c('mmsim_direct_reclaim_ns') / 1e9), `${formatCount(c('mmsim_direct_reclaim_calls'))} calls`);
  const lat = result.reclaim?.directLatency;
  if (lat && lat.count > 0) {
    row('  call latency', `p50 ≤ ${formatMs(lat.p50Ms)}`, `p99 ≤ ${formatMs(lat.p99Ms)}`, `max ${formatMs(lat.maxMs)}`);
  }
  const throttled = c('mmsim_reclaim_throttle_congested') + c('mmsim_reclaim_throttle_noprogress') + c('mmsim_reclaim_throttle_isolated') + c('mmsim_kswapd_throttles');
  if (throttled > 0) row('reclaim_throttle', `${formatCount(throttled)} sleeps`, formatSeconds(c('mmsim_reclaim_throttled_ns') / 1e9));

  lines.push('swap');
  row('pswpout', formatCount(c('pswpout')), `(${formatSize(c('pswpout') * PAGE_SIZE)})`);
  row('pswpin', formatCount(c('pswpin')), `(${formatSize(c('pswpin') * PAGE_SIZE)})`);

  lines.push('writeback');
  row('dirtied / written', formatCount(c('nr_dirtied')), formatCount(c('nr_written')));
  const [bg, hard] = [c('nr_dirty_background_threshold'), c('nr_dirty_threshold')];
  row('dirty thresholds', `bg ${formatCount(bg)}`, `hard ${formatCount(hard)}`);
  lines[lines.length - 1] += ` pages (${formatSize(bg * PAGE_SIZE)}, ${formatSize(hard * PAGE_SIZE)})`;
  row('throttled', `${formatSeconds(c('mmsim_dirty_throttle_ns') / 1e9)}`, `${formatCount(c('mmsim_bdp_pauses'))} pauses`,
    `max ${formatSeconds(c('mmsim_bdp_pause_max_ns') / 1e9)}`);
  if (c('mmsim_fsync_calls') > 0) {
    row('fsync', `${formatCount(c('mmsim_fsync_calls'))} calls`, formatSeconds(c('mmsim_fsync_ns') / 1e9),
      `max ${formatSeconds(c('mmsim_fsync_max_ns') / 1e9)}`);
    lines[lines.length - 1] += `  (${formatCount(c('mmsim_fsync_pages'))} pages written by fsync itself)`;
  }

  if (c('mmsim_gup_pages') + c('mmsim_pin_refused') > 0) {
    // what the devices took, and what truncation did about it (seed 002)
    lines.push('DMA pins');
    row('pages taken', formatCount(c('mmsim_gup_pages')), `${formatCount(c('mmsim_nr_pinned'))} held`, `${formatCount(c('mmsim_pin_refused'))} refused`);
    row('DMA writes / reads', formatCount(c('mmsim_dma_writes')), formatCount(c('mmsim_dma_reads')));
    if (c('mmsim_truncated_pages') + c('mmsim_truncate_failed') > 0) {
      row('truncate vs pins', `${formatCount(c('mmsim_truncate_removed_pinned'))} removed`, `${formatCount(c('mmsim_truncate_pin_waits'))} waits`,
        formatSeconds(c('mmsim_truncate_pin_wait_ns') / 1e9), `${formatCount(c('mmsim_truncate_failed'))} failed`);
      if (c('mmsim_truncate_blocked_forever') > 0) lines[lines.length - 1] += `  (${formatCount(c('mmsim_truncate_blocked_forever'))} blocked at the end)`;
    }
    if (c('mmsim_pin_revoke_requests') > 0) {
      row('revocations', `${formatCount(c('mmsim_pin_revoke_requests'))} asked`, `${formatCount(c('mmsim_pin_revocations'))} answered`,
        `${formatCount(c('mmsim_pin_revocations_sync'))} by kernel`, `${formatCount(c('mmsim_pin_revoke_unanswered'))} stuck`);
    }
  }

  if (result.damon) {
    // what DAMON reported at its last aggregation (damo report's last record)
    lines.push('DAMON');
    row('regions', formatCount(c('mmsim_damon_nr_regions')), `${formatCount(c('mmsim_damon_aggregations'))} aggr.`);
    row('working set', formatSize(c('mmsim_damon_wss_pages') * PAGE_SIZE), `young ${formatPercent(c('mmsim_damon_checks_young'), c('mmsim_damon_checks'))}`);
    lines[lines.length - 1] += ' of the access checks (regions accessed in the last aggregation interval)';
  }

  lines.push('io');
  row('pgpgin', `${formatSize(c('pgpgin') * 1024)}`);
  row('pgpgout', `${formatSize(c('pgpgout') * 1024)}`);
  row('oom_kill', formatCount(c('oom_kill')));
  row('detectors', formatCount(result.detectorsTotal));
  if (c('mmsim_deadlock') + c('mmsim_hung_task') > 0) row('deadlocks / hung', formatCount(c('mmsim_deadlock')), formatCount(c('mmsim_hung_task')));
  for (const d of result.detectors.filter((h) => h.waitsFor !== undefined).slice(0, 6)) {
    lines.push(`    ${d.kind === 'mmsim_deadlock' ? 'deadlock' : 'hung task'} at ${formatSeconds(d.timeNs / 1e9)}: ${d.taskName} waits in ${d.func} for ${d.waitsFor}, held by ${d.owner}`);
  }
  // notifier detectors, one line per kind and subscription: how many, and the first
  const groups = new Map<string, { first: DetectorHit; n: number }>();
  for (const d of result.detectors.filter((h) => h.subscriber !== undefined)) {
    const key = `${d.kind} ${d.subscriber}`;
    const g = groups.get(key);
    if (g) g.n++; else groups.set(key, { first: d, n: 1 });
  }
  for (const { first: d, n } of groups.values()) {
    lines.push(`    ${d.kind.replace(/^mmsim_/, '').replace(/_/g, ' ')}: ${d.subscriber}, ${formatCount(n)} listed, the first at ${formatSeconds(d.timeNs / 1e9)} (${d.func})`);
  }
  // writeback that met a dirty page without buffers: how many, and the first
  const noBuffers = result.detectors.filter((h) => h.kind === 'mmsim_bug_writeback_no_buffers');
  if (noBuffers.length > 0) {
    const d = noBuffers[0]!;
    lines.push(`    writeback of a dirty page without buffers (the ext4 BUG): ${formatCount(c('mmsim_bug_writeback_no_buffers'))}, the first at ${formatSeconds(d.timeNs / 1e9)}: ` +
      `pfn ${d.pfn} of ${d.file} on ${d.device}, by ${d.taskName} (${d.func})`);
  }
  // DMA into pages truncation took out of their file: how many, and the first
  const afterTruncate = result.detectors.filter((h) => h.kind === 'mmsim_dma_after_truncate');
  if (afterTruncate.length > 0) {
    const d = afterTruncate[0]!;
    lines.push(`    DMA to pages truncated while pinned: ${formatCount(c('mmsim_dma_after_truncate'))}, the first at ${formatSeconds(d.timeNs / 1e9)}: ` +
      `pfn ${d.pfn}, by ${d.device}`);
  }
  for (const d of result.detectors.filter((h) => h.kind === 'mmsim_oom_livelock')) {
    lines.push(`    OOM livelock at ${formatSeconds(d.timeNs / 1e9)}: allocations still wait for ${d.taskName}, killed ${formatSeconds(d.value / 1e9)} earlier`);
  }
  const kills = result.oomKills;
  for (const k of kills.slice(0, 6)) {
    const reaped = k.reapedAtNs === null ? '' : `; the OOM reaper freed ${formatCount(k.reapedPages)} pages at ${formatSeconds(k.reapedAtNs / 1e9)}`;
    const exited = k.exitAtNs === null ? '; it did not exit' : `; its exit freed ${formatCount(k.exitFreedPages)} pages at ${formatSeconds(k.exitAtNs / 1e9)}`;
    lines.push(`    OOM kill at ${formatSeconds(k.timeNs / 1e9)}: ${k.taskName} (badness ${formatCount(k.badness)} pages, rss ${formatCount(k.rssPages)})${reaped}${exited}`);
  }
  if (kills.length > 6) lines.push(`    … ${formatCount(kills.length - 6)} more OOM kills in results.json`);

  const accesses = c('mmsim_accesses');
  lines.push(`wall ${formatSeconds(result.wall.seconds)}, ${formatCount(accesses)} accesses, ` +
    `${result.wall.seconds > 0 ? formatPerSecond(accesses / result.wall.seconds) : '-'} simulated accesses per wall second` +
    (result.wall.hostPages ? `; ${result.wall.hostPages}` : ''));
  if (options.outDir !== undefined) lines.push(`outputs in ${options.outDir}`);
  return `${lines.join('\n')}\n`;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 1 ? `${ms.toFixed(ms >= 100 ? 0 : 1)} ms` : `${Math.round(ms * 1000)} µs`;
}

/** Where free memory stands against the node's watermarks (summed over zones, as kswapd balances them). */
function watermarkPosition(free: number, zones: readonly ZoneInfo[]): string {
  if (zones.length === 0) return '';
  const sum = (pick: (z: ZoneInfo) => number): number => zones.reduce((total, z) => total + pick(z), 0);
  const [min, low, high] = [sum((z) => z.min), sum((z) => z.low), sum((z) => z.high)];
  const position = free < min ? 'below min' : free < low ? 'between min and low' : free < high ? 'between low and high' : 'above high';
  return `${position} (watermarks summed over zones: min ${formatCount(min)}, low ${formatCount(low)}, high ${formatCount(high)} pages)`;
}
