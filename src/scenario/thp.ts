/**
 * Transparent huge pages: which VMAs may get them, and the operations the model does not yet
 * carry over to huge mappings. mmsim maps a THP only whole, by its PMD: what would need a
 * PTE-mapped THP, a huge range in an MMU notifier or a secondary MMU, or the migration of a
 * huge folio is refused here, before the run, rather than simulated wrongly.
 */
import type { RawIssue } from './schema.js';
import type { Scenario, Vma } from './types.js';

/** thp_vma_allowable_order's answer for a VMA under thp.enabled (anonymous private memory only). */
export function thpEligibleVma(s: Scenario, v: Vma): boolean {
  if (v.type !== 'anon' || v.shared) return false;
  return s.thp.enabled === 'always' || (s.thp.enabled === 'madvise' && v.hugepage);
}

export function checkThp(s: Scenario): RawIssue[] {
  const issues: RawIssue[] = [];
  const eligibleAnywhere = Object.values(s.processes).some((p) => Object.values(p.vmas).some((v) => thpEligibleVma(s, v)));
  for (const [name, p] of Object.entries(s.processes)) {
    for (const [vname, v] of Object.entries(p.vmas)) {
      if (v.hugepage && (v.type !== 'anon' || v.shared)) {
        issues.push({ path: ['processes', name, 'vmas', vname, 'hugepage'], message: `true on a ${v.shared ? 'shared ' : ''}${v.type} mapping: only private anonymous memory gets transparent huge pages here (file and shmem THPs are not modelled); e.g. { type: anon, hugepage: true }` });
      }
    }
    const huge = Object.keys(p.vmas).filter((vn) => thpEligibleVma(s, p.vmas[vn]!));
    if (huge.length === 0) continue;
    const why = `VMA ${huge[0]} of process ${name} gets transparent huge pages (thp.enabled: ${s.thp.enabled})`;
    const fix = s.thp.enabled === 'always' ? 'thp.enabled: madvise' : `hugepage: false on VMA ${huge[0]}`;
    const subs = Object.keys(p.subscribers);
    if (subs.length > 0) {
      issues.push({ path: ['processes', name, 'subscribers', subs[0]!], message: `an MMU notifier subscription on an mm with huge mappings: ${why}, and notifier ranges and secondary MMUs over huge pages are not modelled yet; e.g. ${fix}` });
    }
    if (s.damon.targets[name]) {
      issues.push({ path: ['damon', 'targets', name], message: `DAMON's checks of huge mappings are not modelled yet, and ${why}; e.g. ${fix}` });
    }
  }
  // page-idle may name another process's VMA (process:); guest and migrate need a subscriber, refused above
  for (const [name, p] of Object.entries(s.processes)) {
    p.workload.forEach((ph, i) => {
      if (ph.op !== 'page-idle') return;
      const owner = ph.process === '' ? name : ph.process;
      const v = s.processes[owner]?.vmas[ph.target];
      if (v && thpEligibleVma(s, v)) {
        issues.push({ path: ['processes', name, 'workload', i, 'target'], message: `idle page tracking of huge mappings is not modelled yet, and VMA ${ph.target} of process ${owner} gets transparent huge pages (thp.enabled: ${s.thp.enabled}); e.g. ${s.thp.enabled === 'always' ? 'thp.enabled: madvise' : `hugepage: false on VMA ${ph.target}`}` });
      }
    });
  }
  if (eligibleAnywhere && s.machine.movablecore > 0) {
    issues.push({ path: ['machine', 'movablecore'], message: `ZONE_MOVABLE with transparent huge pages: huge folios would land in it, and their migration out of it is not modelled yet; e.g. movablecore: 0, or thp.enabled: never` });
  }
  return issues;
}
