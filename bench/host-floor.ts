/**
 * The host's floor for `bench-reference`: what any implementation of its page tables must pay
 * on this machine, measured by a plain loop in the same process. The run allocates
 * `pageTableBytes` of page tables (the kernel's own count for this access stream) and every
 * access reads one page-table entry at a random place among them; so the floor is one first
 * touch of that many bytes, 4 KiB at a time, plus one independent random 8-byte load per access
 * (drawn 32 at a time so the loads overlap, as the core's walk-ahead does). No Zipf, no PMD
 * level, no fault handling: the real run can only be slower. It runs in a child process, so that
 * its memory is a fresh process's (as the real run's is) and does not weigh on the RSS figures.
 * Then, apart from the floor, a chase over the same memory: random loads each of whose address
 * depends on the load before, what a walk along a list (isolate_lru_folios' up the LRU) pays.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { prepareHostPages, type HostHugePagesMode } from '../src/engine/host-pages.js';
export interface HostFloor {
  bytes: number;
  /** How the host paged the memory (as for the core's memory: see src/engine/host-pages.ts). */
  hostPages: string;
  touchSeconds: number;
  /** Seconds per 4 KiB first touch. */
  touchPerPage: number;
  loadSeconds: number;
  loadNsPerAccess: number;
  /** ns per load of the chase (each address depends on the load before); not in `seconds`. */
  chaseNsPerLoad: number;
  seconds: number;
  accessesPerSecond: number;
}

function measure(pageTableBytes: number, accesses: number, hugePages: HostHugePagesMode): HostFloor {
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
  if (sink < 0) throw new Error('unreachable');
  const touchSeconds = Number(t1 - t0) / 1e9;
  const loadSeconds = Number(t2 - t1) / 1e9;
  return {
    bytes: pages * 65536, hostPages, touchSeconds, touchPerPage: touchSeconds / (pages * 16),
    loadSeconds, loadNsPerAccess: (loadSeconds * 1e9) / accesses,
    chaseNsPerLoad: Number(t3 - t2) / chaseLoads,
    seconds: touchSeconds + loadSeconds, accessesPerSecond: accesses / (touchSeconds + loadSeconds),
  };
}

/** The floor, measured in a child node process, with the host's huge pages as the core would get them. */
export function hostFloor(pageTableBytes: number, accesses: number, hugePages: HostHugePagesMode): HostFloor {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), String(pageTableBytes), String(accesses), hugePages], { encoding: 'utf8' });
  return JSON.parse(out) as HostFloor;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(JSON.stringify(measure(Number(process.argv[2]), Number(process.argv[3]), process.argv[4] as HostHugePagesMode)));
}
