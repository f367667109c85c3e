/**
 * Rules that span fields, run on a scenario that already passed the schema: references between
 * sections, ranges that must fit their target, and the limits of the machine the simulator can
 * hold. Each issue names the field path, the bad value and something that would be accepted.
 */
import { subscriberHasEnd } from './subscribers.js';
import type { RawIssue } from './schema.js';
import type { Phase, Process, Scenario } from './types.js';
import { formatDuration, formatSize, formatSizeExact } from './units.js';
import { KIB, computeWatermarks } from './watermarks.js';
import { movableSplit } from './movable.js';
import { checkThp } from './thp.js';

/** One WASM instance addresses 4GiB; ~32 bytes of frame metadata per page plus page tables fit 64GiB of RAM. */
export const MAX_MEMORY = 64 * 2 ** 30;
/** x86-64's 47-bit user address space (TASK_SIZE with 4-level page tables). */
export const USER_ADDRESS_SPACE = 2 ** 47;
/** A series this long would be larger than the run's other output put together. */
export const MAX_SERIES_SAMPLES = 1_000_000;
/** Headroom above the watermarks for the kernel and the first allocations of the workload. */
const MEMORY_HEADROOM = 16 * 2 ** 20;

export function checkScenario(s: Scenario): RawIssue[] {
  return [
    ...checkMemory(s),
    ...checkSwap(s),
    ...checkFiles(s),
    ...checkProcesses(s),
    ...checkSeries(s),
    ...checkVm(s),
    ...checkLocks(s),
    ...checkSubscribers(s),
    ...checkPins(s),
    ...checkDamon(s),
    ...checkMovable(s),
    ...checkThp(s),
  ];
}

/**
 * DAMON's targets name processes and their VMAs; a vaddr target needs the two gaps its three
 * regions are cut at; the attributes obey damon_set_attrs (min ≤ max, sample ≤ aggregation).
 */
function checkDamon(s: Scenario): RawIssue[] {
  const issues: RawIssue[] = [];
  const d = s.damon;
  for (const [name, target] of Object.entries(d.targets)) {
    const at = ['damon', 'targets', name];
    const proc = s.processes[name];
    if (!proc) { issues.push({ path: at, message: `"${name}" is not a process; the processes are: ${Object.keys(s.processes).join(', ')} (e.g. targets: { ${Object.keys(s.processes)[0] ?? 'app'}: {} })`, atKey: true }); continue; }
    const vmas = Object.keys(proc.vmas);
    if (target.vma !== '' && !proc.vmas[target.vma]) {
      issues.push({ path: [...at, 'vma'], message: `"${target.vma}" is not a VMA of process ${name}; the VMAs of process ${name} are: ${vmas.join(', ') || 'none'}${vmas.length > 0 ? ` (e.g. vma: ${vmas[0]})` : ''}` });
    } else if (target.vma === '' && vmas.length < 3) {
      issues.push({ path: at, message: `process ${name} has ${vmas.length} VMA${vmas.length === 1 ? '' : 's'}, and the vaddr operations cut an address space into three regions at its two biggest gaps, which take three VMAs; name the one to monitor, e.g. { vma: ${vmas[0] ?? 'heap'} }` });
    }
  }
  if (d.min_nr_regions > d.max_nr_regions) {
    issues.push({ path: ['damon', 'min_nr_regions'], message: `${d.min_nr_regions} is more than max_nr_regions (${d.max_nr_regions}); e.g. min_nr_regions: 10, max_nr_regions: 1000` });
  }
  if (d.sample_interval > d.aggr_interval) {
    issues.push({ path: ['damon', 'sample_interval'], message: `${formatDuration(d.sample_interval)} is longer than aggr_interval (${formatDuration(d.aggr_interval)}), over which the samples are counted; e.g. sample_interval: 5ms, aggr_interval: 100ms` });
  }
  return issues;
}

/**
 * machine.movablecore must leave each node enough memory outside ZONE_MOVABLE for what only it
 * can serve — page tables, the kernel's own allocations, the lower zones' watermarks: at most a
 * MOVABLE:KERNEL ratio of 4:1 (Documentation/admin-guide/mm/memory-hotplug.rst, "ZONE_MOVABLE
 * Sizing Considerations": 3:1 or even 4:1 are fine), and at least four times the min watermark
 * of that memory plus 16MiB, as machine.memory needs for all of it.
 */
function checkMovable(s: Scenario): RawIssue[] {
  const m = s.machine;
  if (m.movablecore === 0) return [];
  const nodes = m.nodes;
  const { pages, kernel } = movableSplit(m);
  const nodeBytes = pages * 4096;
  const kernelBytes = kernel * 4096;
  const wm = computeWatermarks(kernelBytes, s.vm);
  const need = Math.ceil(Math.max(nodeBytes / 5, 4 * wm.minFreeKbytes * KIB + MEMORY_HEADROOM) / 2 ** 20) * 2 ** 20;   // whole MiB
  const all = m.movablecore >= m.memory;
  if (!all && kernelBytes >= need) return [];
  const maxMovable = Math.floor((nodeBytes * 0.75) / 2 ** 22) * 2 ** 22 * nodes;     // a 3:1 ratio, in whole 4MiB blocks
  const per = nodes > 1 ? ` per node (${nodes} nodes of ${formatSize(nodeBytes)}: the kernel spreads kernelcore evenly over them)` : '';
  const example = maxMovable > 0 ? `e.g. movablecore: ${formatSizeExact(maxMovable)}` : 'e.g. movablecore: 0, or more memory';
  return [{
    path: ['machine', 'movablecore'],
    message: all
      ? `${formatSizeExact(m.movablecore)} is all of machine.memory (${formatSizeExact(m.memory)}): nothing would be left outside ZONE_MOVABLE for page tables and the kernel; ${example}`
      : `${formatSizeExact(m.movablecore)} leaves ${formatSizeExact(kernelBytes)}${per} outside ZONE_MOVABLE, and page tables and the kernel's allocations (GFP_KERNEL) cannot use ZONE_MOVABLE: ` +
        `at least ${formatSizeExact(need)} must stay out of it (a MOVABLE:KERNEL ratio of at most 4:1, and 4 × the min watermark + 16MiB); ${example}`,
  }];
}

/**
 * Combinations of the two pin axes that make no sense are refused: an action that asks whether
 * a page is pinned learns nothing from track none (nor does dirtyAccounting exclude); refcount-wait waits for the references of a
 * page reclaim finds on the LRU, where off-lru-count never leaves a pinned page.
 */
function checkPins(s: Scenario): RawIssue[] {
  const { track, action, dirtyAccounting } = s.pins;
  if (track === 'none' && dirtyAccounting === 'exclude') {
    return [{ path: ['pins', 'dirtyAccounting'], message: 'exclude leaves dirty pages believed pinned out of the dirty figures, but track none recognises no pin (a pin is an ordinary reference); e.g. track: bias, or dirtyAccounting: count' }];
  }
  if (track === 'none' && action !== 'none' && action !== 'refcount-wait') {
    return [{ path: ['pins', 'action'], message: `${action} acts on pages it believes pinned, but track none recognises no pin (a pin is an ordinary reference); e.g. track: bias, or action: none` }];
  }
  if (track === 'off-lru-count' && s.pins.migrateLongterm && s.machine.movablecore > 0) {
    return [{ path: ['pins', 'migrateLongterm'], message: 'a FOLL_LONGTERM pin migrates its pages out of ZONE_MOVABLE after isolating them from the LRU, and off-lru-count keeps pinned pages off it: the pin would retry forever; e.g. migrateLongterm: false, or track: bias' }];
  }
  if (track === 'off-lru-count' && action === 'refcount-wait') {
    return [{ path: ['pins', 'action'], message: 'refcount-wait waits in try_to_unmap for pages reclaim finds on the LRU, and off-lru-count keeps pinned pages off it: they never meet; e.g. track: bias, or action: per-caller' }];
  }
  const issues: RawIssue[] = [];
  if (track === 'none' && s.pins.truncate !== 'none') {
    issues.push({ path: ['pins', 'truncate'], message: `${s.pins.truncate} acts on pages truncation believes pinned, but track none recognises no pin (a pin is an ordinary reference); e.g. track: bias, or truncate: none` });
  }
  // the revocation fields belong to RDMA registrations (vfio's DMA mappings cannot be revoked)
  for (const [name, p] of Object.entries(s.processes)) {
    p.workload.forEach((ph, i) => {
      if (ph.op !== 'dma' || ph.model === 'rdma-mr') return;
      for (const field of ['revokeLatency', 'revocable'] as const) {
        if (!ph[field]) continue;
        issues.push({ path: ['processes', name, 'workload', i, field], message: `${field} is for rdma-mr registrations, and this dma phase is ${ph.model}${ph.model === 'vfio' ? ' (a VFIO DMA mapping is never revocable)' : ''}; e.g. { op: dma, model: rdma-mr, ${field}: ${field === 'revocable' ? 'true' : '5ms'} }` });
      }
    });
  }
  return issues;
}

/** The core's ledger of an invalidation is a 32-bit mask: at most 32 subscriptions per mm. */
function checkSubscribers(s: Scenario): RawIssue[] {
  const issues: RawIssue[] = [];
  for (const [name, p] of Object.entries(s.processes)) {
    const n = Object.values(p.subscribers).filter((sub) => sub.registered).length;
    if (n > 32) issues.push({ path: ['processes', name, 'subscribers'], message: `${n} subscriptions on one mm; at most 32 (e.g. remove ${n - 32})` });
    const shadowedBy = new Map<string, string>();
    p.workload.forEach((ph, i) => {
      if (ph.op !== 'guest' || !p.subscribers[ph.subscriber]) return;
      const other = shadowedBy.get(ph.target);
      if (other !== undefined && other !== ph.subscriber) {
        issues.push({ path: ['processes', name, 'workload', i, 'subscriber'], message: `VMA ${ph.target} already goes through ${other}'s secondary MMU in an earlier guest phase; one subscriber per VMA here, e.g. subscriber: ${other}` });
      } else shadowedBy.set(ph.target, ph.subscriber);
    });
    for (const [sname, sub] of Object.entries(p.subscribers)) {
      const at = ['processes', name, 'subscribers', sname];
      if (sub.lock !== '') {
        if (sub.client === 'kvm' || sub.client === 'gru' || sub.client === 'iommu-sva') {
          issues.push({ path: [...at, 'lock'], message: `${sub.client}'s callbacks take no sleeping lock (kvm's mmu_lock is a spinlock, gru counts ranges, iommu-sva flushes a TLB); give the lock to a mirror or generic subscriber, e.g. { client: generic, lock: ${sub.lock} }` });
        } else if (!s.locks[sub.lock]) {
          const known = Object.keys(s.locks);
          issues.push({ path: [...at, 'lock'], message: `${JSON.stringify(sub.lock)} is not a lock of \`locks\`${known.length ? ` (${known.join(', ')})` : ''}; declare it, e.g. locks: { ${sub.lock}: { kind: mutex } }` });
        }
      }
      if (sub.holdUntilEnd) {
        if (sub.lock === '') issues.push({ path: [...at, 'holdUntilEnd'], message: 'holdUntilEnd needs a lock to hold, e.g. { client: generic, lock: obj, implementsEnd: true, holdUntilEnd: true }' });
        else if (!subscriberHasEnd(sub, s.notifiers.policy)) {
          issues.push({ path: [...at, 'holdUntilEnd'], message: `a lock held until invalidate_range_end needs an end, and this ${sub.client} subscriber has none${sub.client === 'mirror' ? ' under notifiers.policy mainline (an interval notifier)' : ''}; e.g. { client: generic, implementsEnd: true }` });
        }
      }
    }
  }
  return issues;
}

/** `mmap_lock` names every process's own mmap_lock in lock phases: no scenario lock may take it. */
function checkLocks(s: Scenario): RawIssue[] {
  return s.locks[MMAP_LOCK]
    ? [{ path: ['locks', MMAP_LOCK], message: `${MMAP_LOCK} is the name of each process's own mmap_lock (op: lock, target: mmap_lock); name this lock otherwise, e.g. obj` }]
    : [];
}

/**
 * vm.dirty_bytes below dirty_bytes_min (2 pages) is refused by the sysctl itself
 * (proc_doulongvec_minmax returns -EINVAL); 0 here means unset, the ratio applies.
 */
function checkVm(s: Scenario): RawIssue[] {
  const min = 2 * 4096;
  const v = s.vm.dirty_bytes;
  if (v === 0 || v >= min) return [];
  return [{
    path: ['vm', 'dirty_bytes'],
    message: `${formatSizeExact(v)} is below the kernel's dirty_bytes_min of 2 pages (8KiB), which the sysctl refuses; e.g. dirty_bytes: 64MiB, or 0 to use dirty_ratio`,
  }];
}

function checkMemory(s: Scenario): RawIssue[] {
  const nodes = s.machine.nodes;
  const memory = s.machine.memory / nodes;           // each node's share
  const path = ['machine', 'memory'];
  if (!Number.isInteger(memory / 4096)) {
    return [{
      path,
      message: `${formatSizeExact(s.machine.memory)} does not split into ${nodes} nodes of whole pages; ` +
        `e.g. memory: ${formatSizeExact(Math.round(memory / 4096) * 4096 * nodes)}`,
    }];
  }
  if (memory > MAX_MEMORY) {
    return [{
      path,
      message: `${formatSize(memory)}${nodes > 1 ? ' per node' : ''} is more than one simulated node holds: ${formatSize(MAX_MEMORY)} ` +
        `(${(MAX_MEMORY / 4096).toLocaleString('en-US')} pages), because one WASM instance addresses 4GiB ` +
        `for frame metadata and page tables; simulate fewer pages or more nodes (machine.nodes), e.g. memory: ${formatSize(MAX_MEMORY * nodes)}` +
        (nodes > 1 ? '' : ' or nodes: ' + Math.ceil(s.machine.memory / MAX_MEMORY)),
    }];
  }
  const wm = computeWatermarks(memory, s.vm);
  const minBytes = wm.minFreeKbytes * KIB;
  const required = 4 * minBytes + MEMORY_HEADROOM;
  if (memory >= required) return [];
  const origin = wm.computed
    ? `min_free_kbytes = int_sqrt(${Math.floor(memory / KIB)} × 16) = ${wm.minFreeKbytes} (the kernel's boot formula)`
    : `vm.min_free_kbytes = ${wm.minFreeKbytes}`;
  return [{
    path,
    message: `${formatSize(memory)}${nodes > 1 ? ' per node' : ''} is too small for its watermarks: ${origin}, and memory must be at least ` +
      `4 × ${formatSizeExact(minBytes)} + 16MiB = ${formatSizeExact(required)}; e.g. memory: ${formatSizeExact(nextPowerOfTwo(required) * nodes)}` +
      (wm.computed ? '' : ' or a smaller vm.min_free_kbytes'),
  }];
}

function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}

function deviceIssue(s: Scenario, path: PropertyKey[], device: string): RawIssue[] {
  if (device in s.devices) return [];
  const known = Object.keys(s.devices);
  const hint = known.length > 0
    ? `devices are: ${known.join(', ')} (e.g. device: ${known[0]})`
    : 'no devices are defined; add one, e.g. devices: { ssd: { readBandwidth: 2GB/s } }';
  const shown = device === '' ? 'missing' : `"${device}" is not a device`;
  return [{ path, message: `${shown}; ${hint}` }];
}

function checkSwap(s: Scenario): RawIssue[] {
  if (s.swap.size === 0 && s.swap.device === '') return [];
  return deviceIssue(s, ['swap', 'device'], s.swap.device);
}

function checkFiles(s: Scenario): RawIssue[] {
  return [
    ...Object.entries(s.files).flatMap(([name, file]) => deviceIssue(s, ['files', name, 'device'], file.device)),
    ...checkTruncatedFileNodes(s),
  ];
}

/**
 * Each node of a sharded machine is its own instance with its own copy of every file, so a
 * file that a phase truncates or punches must be used on that node alone: a process elsewhere
 * would go on seeing the old size and pages.
 */
function checkTruncatedFileNodes(s: Scenario): RawIssue[] {
  if (s.machine.nodes <= 1) return [];
  const users = new Map<string, { node: number; proc: string }[]>();
  const use = (file: string, node: number, proc: string): void => {
    if (!users.has(file)) users.set(file, []);
    users.get(file)!.push({ node, proc });
  };
  for (const [pname, p] of Object.entries(s.processes)) {
    for (const v of Object.values(p.vmas)) if (v.type === 'file') use(v.file, p.node, pname);
    for (const ph of p.workload) if (ph.op === 'read' || ph.op === 'write' || ph.op === 'truncate' || ph.op === 'punch') use(ph.target, p.node, pname);
  }
  const issues: RawIssue[] = [];
  for (const [pname, p] of Object.entries(s.processes)) {
    p.workload.forEach((ph, i) => {
      if (ph.op !== 'truncate' && ph.op !== 'punch') return;
      const other = (users.get(ph.target) ?? []).find((u) => u.node !== p.node);
      if (!other) return;
      issues.push({
        path: ['processes', pname, 'workload', i, 'target'],
        message: `file ${ph.target} is also used by process ${other.proc} on node ${other.node}, but process ${pname} ${ph.op === 'truncate' ? 'truncates' : 'punches'} it on node ${p.node}: ` +
          `each node of a sharded machine has its own copy of the files; e.g. node: ${p.node} for process ${other.proc}, or a file per node`,
      });
    });
  }
  return issues;
}

function checkProcesses(s: Scenario): RawIssue[] {
  const names = Object.keys(s.processes);
  if (names.length === 0) {
    return [{ path: ['processes'], message: 'no processes; add one, e.g. processes: { app: { workload: [{ op: sleep }] } }' }];
  }
  return names.flatMap((name) => [...checkVmas(s, name, s.processes[name]), ...checkWorkload(s, name, s.processes[name])]);
}

function checkVmas(s: Scenario, procName: string, proc: Process): RawIssue[] {
  const issues: RawIssue[] = [];
  let total = 0;
  for (const [vmaName, vma] of Object.entries(proc.vmas)) {
    const path = ['processes', procName, 'vmas', vmaName];
    total += vma.size;
    if (vma.size > USER_ADDRESS_SPACE) {
      issues.push({
        path: [...path, 'size'],
        message: `${formatSize(vma.size)} is larger than the 128TiB (47-bit) user address space; e.g. size: 1TiB`,
      });
    }
    if (vma.type === 'anon') {
      if (vma.file !== '') {
        issues.push({ path: [...path, 'file'], message: `"${vma.file}" given for an anon VMA; remove it, or set type: file` });
      }
      if (vma.offset !== 0) {
        issues.push({ path: [...path, 'offset'], message: `${formatSize(vma.offset)} given for an anon VMA; remove it, or set type: file` });
      }
      continue;
    }
    const file = s.files[vma.file];
    if (!file) {
      const known = Object.keys(s.files);
      const hint = known.length > 0 ? `files are: ${known.join(', ')} (e.g. file: ${known[0]})` : 'no files are defined; add one under files';
      const shown = vma.file === '' ? 'missing for a file VMA' : `"${vma.file}" is not a file`;
      issues.push({ path: [...path, 'file'], message: `${shown}; ${hint}` });
      continue;
    }
    if (vma.offset + vma.size > file.size) {
      issues.push({
        path: [...path, 'size'],
        message: `offset ${formatSizeExact(vma.offset)} + size ${formatSizeExact(vma.size)} = ${formatSizeExact(vma.offset + vma.size)} ` +
          `runs past the end of file ${vma.file} (${formatSizeExact(file.size)}); e.g. size: ${formatSizeExact(Math.max(file.size - vma.offset, 4096))}`,
      });
    }
  }
  if (total > USER_ADDRESS_SPACE) {
    issues.push({
      path: ['processes', procName, 'vmas'],
      message: `the VMAs add up to ${formatSize(total)}, more than the 128TiB (47-bit) user address space; shrink them`,
    });
  }
  return issues;
}

/** The byte size of what a phase targets, or an issue saying why the target is wrong. */
function phaseTargetSize(s: Scenario, procName: string, proc: Process, phase: Phase, path: PropertyKey[]): number | RawIssue {
  const targetPath = [...path, 'target'];
  if (phase.op === 'sleep' || phase.op === 'sync') {
    return phase.target === '' ? 0 : { path: targetPath, message: `"${phase.target}" given for a ${phase.op} phase; remove it` };
  }
  if ((phase.op !== 'lock' && phase.op !== 'unlock' || phase.target !== MMAP_LOCK) && phase.op !== 'dma' && phase.op !== 'page-idle') {
    if (phase.process !== '') {
      return { path: [...path, 'process'], message: `"${phase.process}" given, but process names whose mmap_lock a lock/unlock phase takes, whose VMA a dma phase pins, or whose VMA a page-idle phase tracks; remove it, or e.g. op: lock, target: mmap_lock, process: ${phase.process}` };
    }
  }
  if (phase.op === 'page-idle') return otherVmaSize(s, procName, phase, path);
  if (phase.op === 'dma') {
    const issue = phase.model === 'gpu-userptr' ? userptrIssue(s, procName, phase, path) : undefined;
    if (issue) return issue;
    if (phase.model !== 'gpu-userptr' && phase.subscriber !== '') {
      return { path: [...path, 'subscriber'], message: `"${phase.subscriber}" given for model ${phase.model}, whose device has no notifier; remove it, or e.g. model: gpu-userptr` };
    }
    return dmaTargetSize(s, procName, phase, path);
  }
  if ((phase.op === 'lock' || phase.op === 'unlock') && phase.target === MMAP_LOCK) {
    const owner = phase.process === '' ? procName : phase.process;
    if (s.processes[owner]) return 0;
    return { path: [...path, 'process'], message: `"${owner}" is not a process; the processes are: ${Object.keys(s.processes).join(', ')} (e.g. process: ${procName})` };
  }
  if (phase.op === 'lock' || phase.op === 'unlock') {
    const lock = s.locks[phase.target];
    if (lock) {
      return lock.kind === 'mutex' && phase.mode === 'read'
        ? { path: [...path, 'mode'], message: `read given for ${phase.target}, a mutex, which has no shared mode; e.g. mode: write, or locks: { ${phase.target}: { kind: rwsem } }` }
        : 0;
    }
    const known = Object.keys(s.locks);
    const hint = known.length > 0 ? `the locks are: ${known.join(', ')} (e.g. target: ${known[0]})` : 'define one first, e.g. locks: { obj: { kind: mutex } }';
    const shown = phase.target === '' ? `missing; op ${phase.op} needs a lock` : `"${phase.target}" is not a lock`;
    return { path: targetPath, message: `${shown}; ${hint}` };
  }
  if (phase.op === 'migrate') {
    const sub = proc.subscribers[phase.subscriber];
    const devices = Object.entries(proc.subscribers).filter(([, x]) => x.registered && x.client === 'mirror' && x.deviceMemory > 0).map(([n]) => n);
    const eg = devices.length > 0 ? `e.g. subscriber: ${devices[0]}` : `e.g. subscribers: { gpu: { client: mirror, deviceMemory: 64MiB } } and subscriber: gpu`;
    if (!sub || !sub.registered || sub.client !== 'mirror' || sub.deviceMemory === 0) {
      const shown = phase.subscriber === '' ? 'missing; op migrate needs the device (a mirror subscriber with deviceMemory)'
        : !sub ? `"${phase.subscriber}" is not a subscriber of process ${procName}` : !sub.registered ? `${phase.subscriber} is not registered (registered: false)`
        : sub.client !== 'mirror' ? `${phase.subscriber} is a ${sub.client} subscriber, and only a mirror (an HMM device) has private memory` : `${phase.subscriber} has no deviceMemory`;
      return { path: [...path, 'subscriber'], message: `${shown}; ${eg}` };
    }
    const vma = proc.vmas[phase.target];
    if (vma && (vma.type !== 'anon' || vma.shared)) {
      return { path: [...path, 'target'], message: `${phase.target} is a ${vma.shared ? 'shared' : 'file'} mapping, and migrate_vma moves private anonymous pages only; e.g. a VMA { type: anon }` };
    }
  } else if (phase.op !== 'guest' && phase.subscriber !== '') {
    return { path: [...path, 'subscriber'], message: `"${phase.subscriber}" given for a ${phase.op} phase, but only a guest phase goes through a subscriber; remove it, or e.g. op: guest` };
  }
  if (phase.op === 'guest') {
    const sub = proc.subscribers[phase.subscriber];
    const usable = Object.entries(proc.subscribers).filter(([, x]) => x.registered).map(([n]) => n);
    const hint = usable.length > 0 ? `the subscribers of process ${procName} with a secondary MMU are: ${usable.join(', ')} (e.g. subscriber: ${usable[0]})`
      : `give process ${procName} one first, e.g. subscribers: { kvm: { client: kvm } }`;
    if (!sub) {
      const shown = phase.subscriber === '' ? 'missing; op guest needs a subscriber' : `"${phase.subscriber}" is not a subscriber of process ${procName}`;
      return { path: [...path, 'subscriber'], message: `${shown}; ${hint}` };
    }
    if (!sub.registered) {
      return { path: [...path, 'subscriber'], message: `${phase.subscriber} is not registered (registered: false); ${hint}` };
    }
  }
  const [pool, what, whatPlural, example] = isVmaOp(phase)
    ? [proc.vmas, `VMA of process ${procName}`, `the VMAs of process ${procName}`, 'heap']
    : [s.files, 'file', 'the files', 'data'];
  const target = pool[phase.target];
  if (target) return target.size;
  const known = Object.keys(pool);
  const hint = known.length > 0
    ? `${whatPlural} are: ${known.join(', ')} (e.g. target: ${known[0]})`
    : `define one first (e.g. target: ${example})`;
  const shown = phase.target === '' ? `missing; op ${phase.op} needs a ${what}` : `"${phase.target}" is not a ${what}`;
  return { path: targetPath, message: `${shown}; ${hint}` };
}

/**
 * A gpu-userptr phase: the driver pins its own process's pages behind its notifier, a
 * registered generic subscriber of that process with the object lock as its `lock` (under
 * userptr.policy interval the driver registers it as an interval notifier).
 */
function userptrIssue(s: Scenario, procName: string, phase: Phase, path: PropertyKey[]): RawIssue | undefined {
  if (phase.process !== '') return { path: [...path, 'process'], message: `"${phase.process}" given, but a gpu-userptr driver pins its own process's memory; remove it` };
  const proc = s.processes[procName]!;
  const sub = proc.subscribers[phase.subscriber];
  const client = 'generic';
  const eg = 'e.g. subscribers: { drv: { client: generic, lock: obj, implementsEnd: true } } and subscriber: drv';
  if (!sub || !sub.registered) {
    const shown = phase.subscriber === '' ? "missing; model gpu-userptr needs the driver's notifier" : !sub ? `"${phase.subscriber}" is not a subscriber of process ${procName}` : `${phase.subscriber} is not registered (registered: false)`;
    return { path: [...path, 'subscriber'], message: `${shown}; ${eg}` };
  }
  if (sub.client !== client) {
    return { path: [...path, 'subscriber'], message: `${phase.subscriber} is a ${sub.client} subscriber; a gpu-userptr driver's notifier is a generic one with the object lock (userptr.policy decides how it behaves); ${eg}` };
  }
  if (sub.lock === '') {
    return { path: [...path, 'subscriber'], message: `${phase.subscriber} takes no lock, but a gpu-userptr driver's notifier takes its object lock; ${eg}` };
  }
  if (s.userptr.policy === 'mayfail' && !s.notifiers.mayfail) {
    return { path: ['userptr', 'policy'], message: 'mayfail needs the core to take a blockable -EAGAIN for success: the MAYFAIL range flag; e.g. notifiers: { mayfail: true }' };
  }
  return undefined;
}

/** A dma phase: the VMA of `process` (or of its own) the device pins, its model's device. */
function dmaTargetSize(s: Scenario, procName: string, phase: Phase, path: PropertyKey[]): number | RawIssue {
  if (phase.model === 'direct-io' && !s.devices[phase.device]) {
    const known = Object.keys(s.devices);
    const shown = phase.device === '' ? 'missing; model direct-io needs the block device that serves its requests' : `"${phase.device}" is not a device`;
    return { path: [...path, 'device'], message: `${shown}; ${known.length > 0 ? `the devices are: ${known.join(', ')} (e.g. device: ${known[0]})` : 'define one first, e.g. devices: { ssd: {} }'}` };
  }
  if (phase.model !== 'direct-io' && phase.device !== '') {
    return { path: [...path, 'device'], message: `"${phase.device}" given for model ${phase.model}, whose DMA does not go through a block device; remove it, or e.g. model: direct-io` };
  }
  return otherVmaSize(s, procName, phase, path);
}

/** A dma or page-idle phase: the VMA of `process` (or of its own) it works on, on the same node. */
function otherVmaSize(s: Scenario, procName: string, phase: Phase, path: PropertyKey[]): number | RawIssue {
  const owner = phase.process === '' ? procName : phase.process;
  const proc = s.processes[owner];
  if (!proc) return { path: [...path, 'process'], message: `"${owner}" is not a process; the processes are: ${Object.keys(s.processes).join(', ')} (e.g. process: ${procName})` };
  if (proc.node !== s.processes[procName]!.node) {
    return { path: [...path, 'process'], message: `process ${owner} runs on node ${proc.node}, but process ${procName} on node ${s.processes[procName]!.node}: ` +
      `each node of a sharded machine is its own instance, so a task of one cannot ${phase.op === 'dma' ? 'pin' : 'track'} the other's pages; e.g. node: ${proc.node}` };
  }
  const target = proc.vmas[phase.target];
  if (target) return target.size;
  const known = Object.keys(proc.vmas);
  const shown = phase.target === '' ? `missing; op ${phase.op} needs a VMA` : `"${phase.target}" is not a VMA of process ${owner}`;
  return { path: [...path, 'target'], message: `${shown}; ${known.length > 0 ? `the VMAs of process ${owner} are: ${known.join(', ')} (e.g. target: ${known[0]})` : `give process ${owner} one first, e.g. vmas: { buf: { type: anon, size: 16MiB } }`}` };
}

/** Phases that walk a range of a VMA or a file (or, punch, cut one out of a file). */
const isRangeOp = (phase: Phase): boolean => phase.op === 'access' || phase.op === 'guest' || phase.op === 'read' || phase.op === 'write' || phase.op === 'dma' || phase.op === 'punch' || phase.op === 'page-idle' || phase.op === 'migrate';
/** Phases whose target is a VMA of the process. */
const isVmaOp = (phase: Phase): boolean => phase.op === 'access' || phase.op === 'guest' || phase.op === 'munmap' || phase.op === 'mprotect' || phase.op === 'migrate';
/** Phases that are one system call, not a stream of accesses. */
const isCallOp = (phase: Phase): boolean => phase.op === 'truncate' || phase.op === 'punch' || phase.op === 'munmap' || phase.op === 'mprotect' || phase.op === 'page-idle' || phase.op === 'migrate';

/** Which node's processes take each lock (a sharded machine keeps one lock table per node). */
function lockNodes(s: Scenario): Map<string, number> {
  const nodes = new Map<string, number>();
  for (const p of Object.values(s.processes)) {
    for (const ph of p.workload) {
      if ((ph.op === 'lock' || ph.op === 'unlock') && ph.target !== MMAP_LOCK && !nodes.has(ph.target)) nodes.set(ph.target, p.node);
    }
  }
  return nodes;
}

/** The lock name that stands for a process's mmap_lock in lock/unlock phases. */
export const MMAP_LOCK = 'mmap_lock';

function checkWorkload(s: Scenario, procName: string, proc: Process): RawIssue[] {
  const issues: RawIssue[] = [];
  const firstNode = s.machine.nodes > 1 ? lockNodes(s) : undefined;
  if (proc.node >= s.machine.nodes) {
    issues.push({
      path: ['processes', procName, 'node'],
      message: `node ${proc.node} does not exist: the machine has ${s.machine.nodes} node${s.machine.nodes > 1 ? 's' : ''} (0..${s.machine.nodes - 1}); e.g. node: 0`,
    });
  }
  issues.push(...checkMappingsOverTime(procName, proc));
  proc.workload.forEach((phase, i) => {
    const path = ['processes', procName, 'workload', i];
    const targetSize = phaseTargetSize(s, procName, proc, phase, path);
    if (typeof targetSize !== 'number') {
      issues.push(targetSize);
    } else if (isRangeOp(phase) && phase.start + phase.length > targetSize) {
      issues.push({
        path: [...path, phase.length > 0 ? 'length' : 'start'],
        message: `start ${formatSizeExact(phase.start)} + length ${formatSizeExact(phase.length)} runs past the end of ` +
          `${phase.target} (${formatSizeExact(targetSize)}); e.g. start: 0, length: ${formatSizeExact(targetSize)}`,
      });
    } else if (isRangeOp(phase) && phase.length === 0 && phase.start >= targetSize) {
      issues.push({
        path: [...path, 'start'],
        message: `${formatSize(phase.start)} leaves nothing of ${phase.target} (${formatSize(targetSize)}); e.g. start: 0`,
      });
    }
    const mmapOwner = (phase.op === 'lock' || phase.op === 'unlock') && phase.target === MMAP_LOCK ? s.processes[phase.process] : undefined;
    if (mmapOwner && mmapOwner.node !== proc.node) {
      issues.push({
        path: [...path, 'process'],
        message: `process ${phase.process} runs on node ${mmapOwner.node}, but process ${procName} on node ${proc.node}: ` +
          `each node of a sharded machine is its own instance, so one cannot take the other's mmap_lock; e.g. node: ${mmapOwner.node}`,
      });
    }
    if (firstNode && (phase.op === 'lock' || phase.op === 'unlock') && phase.target !== MMAP_LOCK && (firstNode.get(phase.target) ?? proc.node) !== proc.node) {
      issues.push({
        path: [...path, 'target'],
        message: `lock ${phase.target} is also taken on node ${firstNode.get(phase.target)}, but process ${procName} runs on node ${proc.node}: ` +
          `each node of a sharded machine is its own instance with its own locks; e.g. node: ${firstNode.get(phase.target)}, or a lock per node`,
      });
    }
    issues.push(...checkCallPhase(s, phase, path));
    if (phase.op === 'fsync' && (phase.duration > 0 || phase.accesses > 0)) {
      // the phase ends when the file's writeback has: a limit would cut its write pass short
      const [field, shown] = phase.duration > 0 ? ['duration', formatDuration(phase.duration)] : ['accesses', String(phase.accesses)];
      issues.push({
        path: [...path, field],
        message: `${shown} given for an fsync phase, which ends when the file's writeback has completed; remove it, e.g. { op: fsync, target: ${phase.target || 'data'} }`,
      });
    }
    if (phase.pattern === 'hotcold' && (phase.hotFraction === 0 || phase.hotFraction === 1)) {
      issues.push({
        path: [...path, 'hotFraction'],
        message: `${phase.hotFraction} leaves no ${phase.hotFraction === 0 ? 'hot' : 'cold'} pages for pattern hotcold; e.g. hotFraction: 0.2`,
      });
    }
  });
  return issues;
}

/**
 * The fields a truncate, punch, munmap or mprotect call takes: each is one call, so neither
 * `duration` nor `accesses`; a truncate's `size` fits its file; munmap and mprotect take a
 * whole VMA (VMAs do not split here), so no start or length.
 */
function checkCallPhase(s: Scenario, phase: Phase, path: PropertyKey[]): RawIssue[] {
  if (!isCallOp(phase)) return [];
  const issues: RawIssue[] = [];
  const op = phase.op;
  if (phase.duration !== 0) {
    issues.push({ path: [...path, 'duration'], message: `${formatDuration(phase.duration)} given for op ${op}, which is one call and ends when it returns; remove it (add an op: sleep phase to wait after it)` });
  }
  if (phase.accesses !== 0) {
    issues.push({ path: [...path, 'accesses'], message: `${phase.accesses} given for op ${op}, which is one call; remove it` });
  }
  if (op === 'munmap' || op === 'mprotect' || op === 'truncate') {
    const what = op === 'truncate' ? 'a truncate takes the new size (size), not a range' : `${op} takes a whole VMA here (VMAs do not split)`;
    if (phase.start !== 0) issues.push({ path: [...path, 'start'], message: `${formatSizeExact(phase.start)} given, but ${what}; remove it${op === 'truncate' ? ', e.g. size: ' + formatSizeExact(phase.start) : ''}` });
    if (phase.length !== 0) issues.push({ path: [...path, 'length'], message: `${formatSizeExact(phase.length)} given, but ${what}; remove it` });
  }
  if (op === 'truncate') {
    const file = s.files[phase.target];
    if (file && phase.size > file.size) {
      issues.push({
        path: [...path, 'size'],
        message: `${formatSizeExact(phase.size)} is larger than file ${phase.target} (${formatSizeExact(file.size)}), and a file here never grows past its size under files; ` +
          `e.g. size: ${formatSizeExact(Math.floor(file.size / 2 / 4096) * 4096)}, or a larger files.${phase.target}.size`,
      });
    }
  }
  return issues;
}

/**
 * What munmap and mprotect leave behind, phase after phase (the workload twice over when it
 * loops, since its first phases then follow its last): a VMA munmapped is never mapped again
 * (there is no mmap), so no later phase may access it, go through it as a guest, or mprotect
 * it (-ENOMEM); a VMA made read-only takes no stores (a store would be SIGSEGV) until an
 * mprotect with mode: write. A second munmap of it is allowed (munmap of nothing succeeds).
 */
function checkMappingsOverTime(procName: string, proc: Process): RawIssue[] {
  const issues: RawIssue[] = [];
  const unmappedBy = new Map<string, number>();
  const readOnlyBy = new Map<string, number>();
  const reported = new Set<number>();
  const turns = proc.loop ? 2 : 1;
  for (let turn = 0; turn < turns; turn++) {
    proc.workload.forEach((ph, i) => {
      // (a device pinning another process's VMA cannot be checked so: its pin fails with -EFAULT at run time)
      const ownDma = ph.op === 'dma' && ph.process === '';
      if ((!isVmaOp(ph) && !ownDma) || !proc.vmas[ph.target]) return;
      const path = ['processes', procName, 'workload', i];
      const again = turn > 0 ? " (the workload loops: that phase runs before this one's next turn)" : '';
      const gone = unmappedBy.get(ph.target);
      if (gone !== undefined && ph.op !== 'munmap') {
        if (!reported.has(i)) {
          reported.add(i);
          issues.push({
            path: [...path, 'target'],
            message: `VMA ${ph.target} was unmapped by workload.${gone} (op: munmap) and nothing maps it again${again}; ` +
              `an ${ph.op} of it would ${ph.op === 'mprotect' ? 'fail with ENOMEM' : ph.op === 'dma' ? 'fail to pin it (EFAULT)' : 'be SIGSEGV'}: remove this phase, move the munmap after it, or set loop: false`,
          });
        }
        return;
      }
      if (ph.op === 'munmap') { unmappedBy.set(ph.target, i); return; }
      if (ph.op === 'mprotect') {
        if (ph.mode === 'read') readOnlyBy.set(ph.target, i); else readOnlyBy.delete(ph.target);
        return;
      }
      const ro = readOnlyBy.get(ph.target);
      if (ro !== undefined && ph.writeFraction > 0 && !reported.has(i)) {
        reported.add(i);
        issues.push({
          path: [...path, 'writeFraction'],
          message: `${ph.writeFraction} of the accesses are stores to VMA ${ph.target}, which workload.${ro} made read-only (op: mprotect, mode: read)${again}; ` +
            `${ph.op === 'dma' ? 'a write pin of it fails (EFAULT)' : 'a store there is SIGSEGV'}: e.g. writeFraction: 0, or an { op: mprotect, target: ${ph.target}, mode: write } phase before this one`,
        });
      }
    });
  }
  return issues;
}

function checkSeries(s: Scenario): RawIssue[] {
  const samples = Math.ceil(s.duration / s.series.interval);
  if (samples <= MAX_SERIES_SAMPLES) return [];
  const interval = Math.ceil(s.duration / MAX_SERIES_SAMPLES / 1e6) * 1e6;
  return [{
    path: ['series', 'interval'],
    message: `${formatDuration(s.series.interval)} gives ${samples.toLocaleString('en-US')} samples over the run, more than ` +
      `${MAX_SERIES_SAMPLES.toLocaleString('en-US')}; e.g. interval: ${formatDuration(interval)}`,
  }];
}
