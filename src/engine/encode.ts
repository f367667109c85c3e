/**
 * Scenario → config blob for the WASM core (layout: src/abi/config.ts). Names become table
 * indices here; sizes become pages, rates pages per second, times nanoseconds.
 */
import { MMAP_LOCK } from '../scenario/checks.js';
import {
  GLOBAL_FIELDS, DEVICE_FIELDS, FILE_FIELDS, PROC_FIELDS, VMA_FIELDS, PHASE_FIELDS, LOCK_FIELDS,
  VMA_KIND, PHASE_OP, PATTERN, LOCK_KIND, SUBSCRIBER_FIELDS, SUBSCRIBER_CLIENT, NOTIFIER_POLICY, NOTIFIER_REAPER, PINS_TRACK, PINS_ACTION, PINS_TRUNCATE, PINS_DIRTY_ACCOUNTING, DMA_MODEL, USERPTR_POLICY, THP_ENABLED,
} from '../abi/config.js';
import type { Scenario } from '../scenario/types.js';
import { subscriberHasEnd, registrationOrder } from '../scenario/subscribers.js';

export { ABI_VERSION } from '../abi/config.js';
import { ABI_VERSION } from '../abi/config.js';
import { kernelcorePages } from '../scenario/movable.js';
export const PAGE_SIZE = 4096;

type Row<F extends readonly string[]> = Record<F[number], number>;

function pack<F extends readonly string[]>(fields: F, row: Row<F>, out: number[]): void {
  for (const f of fields) {
    const v = row[f as F[number]];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`encode: field ${f} is ${v}`);
    out.push(v);
  }
}

const pages = (bytes: number): number => Math.floor(bytes / PAGE_SIZE);

export interface Encoded {
  blob: Float64Array;
  /** For reports: the names behind the indices. */
  deviceNames: string[];
  fileNames: string[];
  processNames: string[];
  lockNames: string[];
  /** '<subscriber> of <process>', in the core's order. */
  subscriberNames: string[];
  /** Each phase's device, for the DMA detectors: '<model> of <process>' for a dma phase, '' for the others. */
  phaseDevices: string[];
}

export function encodeScenario(s: Scenario, seed: number, opts: { noEarlyEnd?: boolean } = {}): Encoded {
  const deviceNames = Object.keys(s.devices);
  const fileNames = Object.keys(s.files);
  const processNames = Object.keys(s.processes);
  const lockNames = Object.keys(s.locks);
  // the core's subscriber table: grouped by mm, each mm's in registration order
  const subscriberIndex = new Map<string, number>();
  for (const pname of processNames) {
    for (const [sname] of registrationOrder(s.processes[pname]!.subscribers)) subscriberIndex.set(`${sname} of ${pname}`, subscriberIndex.size);
  }
  const devIndex = (name: string): number => {
    const i = deviceNames.indexOf(name);
    if (i < 0) throw new Error(`encode: unknown device ${name}`);
    return i;
  };
  const fileIndex = (name: string): number => {
    const i = fileNames.indexOf(name);
    if (i < 0) throw new Error(`encode: unknown file ${name}`);
    return i;
  };

  const devices: number[] = [];
  for (const name of deviceNames) {
    const d = s.devices[name]!;
    pack(DEVICE_FIELDS, {
      readPagesPerSec: d.readBandwidth / PAGE_SIZE, writePagesPerSec: d.writeBandwidth / PAGE_SIZE,
      readLatencyNs: d.readLatency, writeLatencyNs: d.writeLatency, queueDepth: d.queueDepth,
      minRatio: d.minRatio, maxRatio: d.maxRatio, strictLimit: d.strictLimit ? 1 : 0,
    }, devices);
  }
  const files: number[] = [];
  for (const name of fileNames) {
    const f = s.files[name]!;
    pack(FILE_FIELDS, { sizePages: pages(f.size), device: devIndex(f.device) }, files);
  }
  // VMAs are numbered across the processes in order (a dma phase may target another's)
  const firstVmaOf = new Map<string, number>();
  let vmaCount = 0;
  for (const pn of processNames) { firstVmaOf.set(pn, vmaCount); vmaCount += Object.keys(s.processes[pn]!.vmas).length; }
  const vmaIndex = (pn: string, vn: string): number => firstVmaOf.get(pn)! + Object.keys(s.processes[pn]!.vmas).indexOf(vn);
  const procs: number[] = []; const vmas: number[] = []; const phases: number[] = [];
  const phaseDevices: string[] = [];
  let nVmas = 0; let nPhases = 0;
  for (const pname of processNames) {
    const p = s.processes[pname]!;
    const vmaNames = Object.keys(p.vmas);
    const firstVma = nVmas;
    for (const vname of vmaNames) {
      const v = p.vmas[vname]!;
      pack(VMA_FIELDS, {
        kind: VMA_KIND[v.type], sizePages: pages(v.size), file: v.type === 'file' ? fileIndex(v.file) : -1,
        pgoff: pages(v.offset), shared: v.shared ? 1 : 0, mlocked: v.mlocked ? 1 : 0, exec: v.exec ? 1 : 0,
        populate: v.populate ? 1 : 0, hugepage: v.hugepage ? 1 : 0,
      }, vmas);
      nVmas++;
    }
    const firstPhase = nPhases;
    for (const ph of p.workload) {
      let target = -1;
      if (ph.op === 'access' || ph.op === 'guest' || ph.op === 'munmap' || ph.op === 'mprotect' || ph.op === 'migrate') target = firstVma + vmaNames.indexOf(ph.target);
      else if (ph.op === 'dma' || ph.op === 'page-idle') target = vmaIndex(ph.process || pname, ph.target);
      else if (ph.op === 'read' || ph.op === 'write' || ph.op === 'truncate' || ph.op === 'punch' || ph.op === 'fsync') target = fileIndex(ph.target);
      else if (ph.op === 'lock' || ph.op === 'unlock') {
        // the core numbers each process's mmap_lock after the scenario's locks (assembly/mmap_lock.ts)
        target = ph.target === MMAP_LOCK ? lockNames.length + processNames.indexOf(ph.process || pname) : lockNames.indexOf(ph.target);
      }
      pack(PHASE_FIELDS, {
        op: PHASE_OP[ph.op], target, pattern: PATTERN[ph.pattern], theta: ph.theta,
        hotFraction: ph.hotFraction, hotProbability: ph.hotProbability, writeFraction: ph.writeFraction,
        ratePerSec: ph.rate, accesses: ph.accesses, durationNs: ph.duration, scramble: ph.scramble ? 1 : 0,
        startPage: pages(ph.start), lengthPages: pages(ph.length), ioPages: Math.max(1, Math.ceil(ph.ioSize / PAGE_SIZE)),
        thinkNs: ph.think, lockWrite: ph.mode === 'write' ? 1 : 0,
        subscriber: ph.op === 'guest' || ph.op === 'migrate' || (ph.op === 'dma' && ph.model === 'gpu-userptr') ? subscriberIndex.get(`${ph.subscriber} of ${pname}`) ?? -1 : -1,
        model: DMA_MODEL[ph.model], iodepth: ph.iodepth,
        remoteMm: ph.op === 'dma' && ph.process !== '' ? processNames.indexOf(ph.process) : -1,
        ioDevice: ph.op === 'dma' && ph.device !== '' ? devIndex(ph.device) : -1,
        revokeLatencyNs: ph.revokeLatency, revocable: ph.revocable ? 1 : 0,
        sizePages: pages(ph.size), protWrite: ph.mode === 'write' ? 1 : 0,
      }, phases);
      phaseDevices.push(ph.op === 'dma' ? `${ph.model} of ${pname}` : '');
      nPhases++;
    }
    pack(PROC_FIELDS, {
      firstVma, nVmas: vmaNames.length, firstPhase, nPhases: p.workload.length, startNs: p.start,
      oomScoreAdj: p.oom_score_adj, loopPhases: p.loop ? 1 : 0,
      damonTarget: !s.damon.targets[pname] ? -2 : s.damon.targets[pname]!.vma === '' ? -1 : firstVma + vmaNames.indexOf(s.damon.targets[pname]!.vma),
    }, procs);
  }

  const G = GLOBAL_FIELDS.length;
  const devicesOff = G;
  const filesOff = devicesOff + devices.length;
  const procsOff = filesOff + files.length;
  const vmasOff = procsOff + procs.length;
  const phasesOff = vmasOff + vmas.length;
  const locksOff = phasesOff + phases.length;
  const locks: number[] = [];
  for (const name of lockNames) pack(LOCK_FIELDS, { kind: LOCK_KIND[s.locks[name]!.kind] }, locks);
  const subscribersOff = locksOff + locks.length;
  const subscribers: number[] = [];
  const subscriberNames: string[] = [];
  const userptrSub = (pname: string, sname: string): boolean =>
    s.processes[pname]!.workload.some((ph) => ph.op === 'dma' && ph.model === 'gpu-userptr' && ph.subscriber === sname);
  processNames.forEach((pname, m) => {
    for (const [sname, sub] of registrationOrder(s.processes[pname]!.subscribers)) {
      subscriberNames.push(`${sname} of ${pname}`);
      pack(SUBSCRIBER_FIELDS, {
        // a gpu-userptr driver under userptr.policy interval registers an interval notifier: no end
        mm: m, client: SUBSCRIBER_CLIENT[sub.client], busy: sub.busy,
        implementsEnd: subscriberHasEnd(sub, s.notifiers.policy) && !(userptrSub(pname, sname) && s.userptr.policy === 'interval') ? 1 : 0,
        lock: sub.lock === '' ? -1 : lockNames.indexOf(sub.lock), holdUntilEnd: sub.holdUntilEnd ? 1 : 0, latencyNs: sub.latency,
        rangeCheck: sub.rangeCheck ? 1 : 0,
        userptrTask: userptrSub(pname, sname) ? m : -1,
        devicePages: pages(sub.deviceMemory),
      }, subscribers);
    }
  });
  const head: number[] = [];
  pack(GLOBAL_FIELDS, {
    version: ABI_VERSION,
    memoryPages: pages(s.machine.memory), hz: s.machine.hz, seed, durationNs: s.duration,
    seriesIntervalNs: s.series.interval,
    swappiness: s.vm.swappiness, minFreeKbytes: s.vm.min_free_kbytes,
    watermarkScaleFactor: s.vm.watermark_scale_factor,
    pageCluster: s.vm.page_cluster, laptopMode: s.vm.laptop_mode,
    lowmemReserveDma: s.vm.lowmem_reserve_ratio[0], lowmemReserveDma32: s.vm.lowmem_reserve_ratio[1],
    lowmemReserveNormal: s.vm.lowmem_reserve_ratio[2], readAheadPages: pages(s.machine.readAhead),
    dirtyRatio: s.vm.dirty_ratio, dirtyBackgroundRatio: s.vm.dirty_background_ratio,
    dirtyBytes: s.vm.dirty_bytes, dirtyBackgroundBytes: s.vm.dirty_background_bytes,
    dirtyExpireCentisecs: s.vm.dirty_expire_centisecs, dirtyWritebackCentisecs: s.vm.dirty_writeback_centisecs,
    noEarlyEnd: opts.noEarlyEnd ? 1 : 0,
    swapPages: pages(s.swap.size), swapDevice: s.swap.size > 0 ? devIndex(s.swap.device) : -1,
    costAccess: s.costs.access, costMinorFault: s.costs.minorFault, costZeroFill: s.costs.zeroFill,
    costScanPage: s.costs.scanPage, costFreePage: s.costs.freePage, costSyscallPage: s.costs.syscallPage,
    costRmapWalk: s.costs.rmapWalk,
    devicesOff, nDevices: deviceNames.length, filesOff, nFiles: fileNames.length, procsOff,
    nProcs: processNames.length, vmasOff, nVmas, phasesOff, nPhases, locksOff, nLocks: lockNames.length,
    hungTaskTimeoutNs: s.kernel.hung_task_timeout_secs * 1e9, check: s.check ? 1 : 0, memcgStatsFlushNs: s.machine.memcgStatsFlush,
    subscribersOff, nSubscribers: subscriberNames.length, notifierPolicy: NOTIFIER_POLICY[s.notifiers.policy],
    notifierReaper: NOTIFIER_REAPER[s.notifiers.reaper],
    notifierMayfail: s.notifiers.mayfail ? 1 : 0, userptrPolicy: USERPTR_POLICY[s.userptr.policy],
    pinsTrack: PINS_TRACK[s.pins.track], pinsAction: PINS_ACTION[s.pins.action], pinsLimitPages: pages(s.pins.limit),
    pinsTruncate: PINS_TRUNCATE[s.pins.truncate], pinsRevokeTimeoutNs: s.pins.revokeTimeout,
    damonOn: Object.keys(s.damon.targets).length > 0 ? 1 : 0, damonSampleNs: s.damon.sample_interval, damonAggrNs: s.damon.aggr_interval,
    damonUpdateNs: s.damon.update_interval, damonMinNrRegions: s.damon.min_nr_regions, damonMaxNrRegions: s.damon.max_nr_regions, damonStartNs: s.damon.start,
    kernelcorePages: kernelcorePages(s.machine), pinsMigrateLongterm: s.pins.migrateLongterm ? 1 : 0,
    pinsDirtyAccounting: PINS_DIRTY_ACCOUNTING[s.pins.dirtyAccounting],
    thpEnabled: THP_ENABLED[s.thp.enabled], thpUseZeroPage: s.thp.useZeroPage ? 1 : 0,
  }, head);
  const blob = Float64Array.from([...head, ...devices, ...files, ...procs, ...vmas, ...phases, ...locks, ...subscribers]);
  return { blob, deviceNames, fileNames, processNames, lockNames, subscriberNames, phaseDevices };
}
