/**
 * The host's floor for `bench-reference`: what any implementation of its page tables must pay
 * on this machine, measured by a plain loop in the same process. The run allocates
 * `pageTableBytes` of page tables (the kernel's own count for this access stream) and every
 * access reads one page-table entry at a random place among them; so the floor is one first
 * touch of that many bytes, 4 KiB at a time, plus one independent random 8-byte load per access
 * (drawn 32 at a time so the loads overlap, as the core's walk-ahead does). No Zipf, no PMD
 * level, no fault handling: the real run can only be slower. It runs in a child process, so that
 * its memory is a fresh process's (as the real run's is) and does not weigh on the RSS figures.
 * Then, apart from the floor, two loops over the same memory in the bounds of what the core can
 * do: the same independent loads in WebAssembly, GATHER_BATCH at a time in a loop of nothing but
 * loads, as the core's walk-ahead and batch prefetch gather theirs (the JS loop above pays its
 * own overhead too); and a chase, random loads each of whose address depends on the load before,
 * what a walk along a list (isolate_lru_folios' up the LRU) pays.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';
import { LOOKAHEAD } from '../src/abi/config.js';
import { prepareHostPages, type HostHugePagesMode } from '../src/engine/host-pages.js';

/** Loads a batch in the gathered loop: as many as the walk-ahead draws. */
export const GATHER_BATCH = LOOKAHEAD;

/**
 * The gathered loop, compiled as the core is (asc -O3, AssemblyScript's minimal `stub` runtime): a batch of random word
 * addresses, then a loop that only loads them (each value stored back in place of its address),
 * then a loop that uses the values, so that no load can be left out.
 */
const GATHER_SOURCE = `
export function gather(words: u32, steps: i32, batch: i32, scratch: usize): u64 {
  let s: u64 = 0x9E3779B97F4A7C15;
  let acc: u64 = 0;
  for (let done = 0; done < steps; done += batch) {
    for (let i = 0; i < batch; i++) {
      s ^= s << 13; s ^= s >> 7; s ^= s << 17;
      store<u64>(scratch + (<usize>i << 3), <u64>((<usize>(<u32>s & (words - 1))) << 3));
    }
    for (let i = 0; i < batch; i++) { const a = scratch + (<usize>i << 3); store<u64>(a, load<u64>(<usize>load<u64>(a))); }
    for (let i = 0; i < batch; i++) acc += load<u64>(scratch + (<usize>i << 3));
  }
  return acc;
}`;

interface GatherExports { gather(words: number, steps: number, batch: number, scratch: number): bigint }

async function gatherModule(mem: WebAssembly.Memory): Promise<GatherExports> {
  const out = await asc.compileString(GATHER_SOURCE, { optimizeLevel: 3, shrinkLevel: 0, runtime: 'stub', importMemory: true, noAssert: true });
  if (out.error || !out.binary) throw new Error(`the gathered loop did not compile: ${out.stderr.toString()}`);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(out.binary)), { env: { memory: mem, abort: () => {} } });
  return instance.exports as unknown as GatherExports;
}
export interface HostFloor {
  bytes: number;
  /** How the host paged the memory (as for the core's memory: see src/engine/host-pages.ts). */
  hostPages: string;
  touchSeconds: number;
  /** Seconds per 4 KiB first touch. */
  touchPerPage: number;
  loadSeconds: number;
  loadNsPerAccess: number;
  /** ns per load of the gathered WebAssembly loop (GATHER_BATCH independent loads a batch); not in `seconds`. */
  gatheredNsPerLoad: number;
  /** ns per load of the chase (each address depends on the load before); not in `seconds`. */
  chaseNsPerLoad: number;
  seconds: number;
  accessesPerSecond: number;
}

async function measure(pageTableBytes: number, accesses: number, hugePages: HostHugePagesMode): Promise<HostFloor> {
  const pages = Math.ceil(pageTableBytes / 65536);
  const mem = new WebAssembly.Memory({ initial: 1, maximum: pages });
  const hostPages = prepareHostPages(mem, pages * 65536, hugePages).how;
  if (mem.buffer.byteLength < pages * 65536) mem.grow(pages - mem.buffer.byteLength / 65536);
  const words = new Float64Array(mem.buffer);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < words.length; i += 512) words[i] = 1;
  const t1 = process.hrtime.bigint();
  const batch = new Int32Array(32);
  const mask = 2 ** Math.floor(Math.log2(words.length)) - 1;
  let x = 0x9e3779b9 | 0;
  let sink = 0;
  for (let done = 0; done < accesses; done += batch.length) {
    for (let i = 0; i < batch.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; batch[i] = x & mask; }
    for (let i = 0; i < batch.length; i++) sink += words[batch[i]!]!;
  }
  const t2 = process.hrtime.bigint();
  // the chase: the loaded word (0 or 1) goes into the next address, so no load can start before
  // the one before it has returned
  const chaseLoads = Math.min(accesses, 2_000_000);
  let at = 0;
  for (let i = 0; i < chaseLoads; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; at = (x ^ words[at]!) & mask; }
  const t3 = process.hrtime.bigint();
  sink += at;
  // the gathered loop, over as many words as the JS loop (its batch is kept in the first words)
  const gathered = await gatherModule(mem);
  const gatherWords = mask + 1;
  const gatherLoads = Math.min(accesses, 20_000_000);
  gathered.gather(gatherWords, GATHER_BATCH * 1024, GATHER_BATCH, 0); // tier-up, out of the timing
  const t4 = process.hrtime.bigint();
  sink += Number(gathered.gather(gatherWords, gatherLoads, GATHER_BATCH, 0) & 1n);
  const t5 = process.hrtime.bigint();
  if (sink < 0) throw new Error('unreachable');
  const touchSeconds = Number(t1 - t0) / 1e9;
  const loadSeconds = Number(t2 - t1) / 1e9;
  return {
    bytes: pages * 65536, hostPages, touchSeconds, touchPerPage: touchSeconds / (pages * 16),
    loadSeconds, loadNsPerAccess: (loadSeconds * 1e9) / accesses,
    gatheredNsPerLoad: Number(t5 - t4) / gatherLoads,
    chaseNsPerLoad: Number(t3 - t2) / chaseLoads,
    seconds: touchSeconds + loadSeconds, accessesPerSecond: accesses / (touchSeconds + loadSeconds),
  };
}

/**
 * The floor, measured in a child node process, with the host's huge pages as the core would get them.
 * `--no-liftoff`: the gathered loop is one long call, and a call begun in V8's baseline code stays
 * there, so it is compiled by the optimizing tier from the start, as the core's hot loops end up.
 */
export function hostFloor(pageTableBytes: number, accesses: number, hugePages: HostHugePagesMode): HostFloor {
  const out = execFileSync(process.execPath, ['--no-liftoff', fileURLToPath(import.meta.url), String(pageTableBytes), String(accesses), hugePages], { encoding: 'utf8' });
  return JSON.parse(out) as HostFloor;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(JSON.stringify(await measure(Number(process.argv[2]), Number(process.argv[3]), process.argv[4] as HostHugePagesMode)));
}
