/**
 * Host huge pages for the core's linear memory. A large scenario's page-table pool and frame
 * arrays are gigabytes read at random: with the host's 4 KiB pages nearly every page-table walk
 * of the simulated kernel is also a TLB miss of the host (a two-level walk inside a VM). Linux
 * backs a range with transparent huge pages when asked with madvise(MADV_HUGEPAGE); Node cannot
 * call madvise, so the call goes through koffi (a foreign-function library with prebuilt
 * binaries). Only the host's paging changes: results are the same bytes either way.
 *
 * Modes (environment variable MMSIM_HOST_HUGE_PAGES, set by the CLI's --host-huge-pages so that
 * worker threads inherit it): `auto` (default) advises instances of at least AUTO_MIN_BYTES,
 * `on` advises every instance, `off` never does.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const HOST_HUGE_PAGES_ENV = 'MMSIM_HOST_HUGE_PAGES';
export const HOST_HUGE_PAGES_MODES = ['auto', 'on', 'off'] as const;
export type HostHugePagesMode = (typeof HOST_HUGE_PAGES_MODES)[number];

/**
 * Below this an instance's tables fit the host's TLB reach well enough, and 2 MiB pages would
 * only round a small run's memory up.
 */
export const AUTO_MIN_BYTES = 256 * 2 ** 20;
const MADV_HUGEPAGE = 14;
const THP_ENABLED = '/sys/kernel/mm/transparent_hugepage/enabled';

export function isHostHugePagesMode(v: string): v is HostHugePagesMode {
  return (HOST_HUGE_PAGES_MODES as readonly string[]).includes(v);
}

/** The mode in effect; an unknown value of the variable counts as `auto`, as the CLI refuses it. */
export function hostHugePagesMode(): HostHugePagesMode {
  const v = process.env[HOST_HUGE_PAGES_ENV] ?? 'auto';
  return isHostHugePagesMode(v) ? v : 'auto';
}

/** The host's THP policy: the bracketed word of /sys/kernel/mm/transparent_hugepage/enabled. */
function thpPolicy(): string | undefined {
  try {
    return /\[(\w+)\]/.exec(readFileSync(THP_ENABLED, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

type Madvise = (addr: ArrayBuffer, len: number, advice: number) => number;
let madviseFn: Madvise | null | undefined;
let madviseError = '';

function loadMadvise(): Madvise | null {
  if (madviseFn !== undefined) return madviseFn;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(lib: string): { func(sig: string): Madvise };
    };
    madviseFn = koffi.load('libc.so.6').func('int madvise(void *addr, size_t len, int advice)');
  } catch (e) {
    madviseFn = null;
    madviseError = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  }
  return madviseFn;
}

/** What the host was asked for, for the summary's wall-clock lines. */
export interface HostPages {
  hugePages: boolean;
  how: string;
}

/**
 * Before init: if the mode and the host allow it, grow a fresh instance's memory to its whole
 * estimated layout `needBytes` (init's regions then fit without growing) and ask for huge pages
 * over it before anything touches it. Never throws: the 4 KiB fallback is correct.
 */
export function prepareHostPages(memory: WebAssembly.Memory, needBytes: number, mode: HostHugePagesMode = hostHugePagesMode()): HostPages {
  if (mode === 'off') return { hugePages: false, how: 'host huge pages off' };
  if (mode === 'auto' && needBytes < AUTO_MIN_BYTES) return { hugePages: false, how: 'host 4 KiB pages (small instance)' };
  if (process.platform !== 'linux') return { hugePages: false, how: `host 4 KiB pages (no transparent huge pages on ${process.platform})` };
  const policy = thpPolicy();
  if (policy === 'always') return { hugePages: true, how: 'host huge pages (THP always)' };
  if (policy !== 'madvise') return { hugePages: false, how: `host 4 KiB pages (THP ${policy ?? 'unknown'})` };
  const madvise = loadMadvise();
  if (madvise === null) return { hugePages: false, how: `host 4 KiB pages (madvise unavailable: ${madviseError})` };
  const pages = Math.ceil(needBytes / 65536);
  const have = memory.buffer.byteLength / 65536;
  try {
    if (pages > have) memory.grow(pages - have);
  } catch {
    return { hugePages: false, how: 'host 4 KiB pages (could not reserve the layout up front)' };
  }
  const rc = madvise(memory.buffer, memory.buffer.byteLength, MADV_HUGEPAGE);
  return rc === 0
    ? { hugePages: true, how: 'host huge pages (madvise)' }
    : { hugePages: false, how: 'host 4 KiB pages (madvise refused)' };
}
