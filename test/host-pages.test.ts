import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import { main } from '../src/cli.js';
import { createCore, runScenario } from '../src/engine/engine.js';
import { AUTO_MIN_BYTES, HOST_HUGE_PAGES_ENV, hostHugePagesMode, prepareHostPages } from '../src/engine/host-pages.js';
import { memoryNeed } from '../src/engine/memory.js';
import { formatResultsJson } from '../src/report/results-json.js';
import { anonScenario } from './helpers.js';

const saved = process.env[HOST_HUGE_PAGES_ENV];
afterEach(() => {
  if (saved === undefined) delete process.env[HOST_HUGE_PAGES_ENV];
  else process.env[HOST_HUGE_PAGES_ENV] = saved;
});

/** Whether this host lets a process ask for huge pages (Linux with THP in madvise or always mode). */
function hostOffersThp(): boolean {
  try {
    return process.platform === 'linux' && /\[(madvise|always)\]/.test(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'));
  } catch {
    return false;
  }
}

function freshMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 1, maximum: 65536 });
}

describe('host huge pages', () => {
  it('reads the mode from MMSIM_HOST_HUGE_PAGES, auto by default', () => {
    delete process.env[HOST_HUGE_PAGES_ENV];
    assert.equal(hostHugePagesMode(), 'auto');
    process.env[HOST_HUGE_PAGES_ENV] = 'off';
    assert.equal(hostHugePagesMode(), 'off');
  });

  it('leaves small instances and the off mode alone, without growing their memory', () => {
    const small = freshMemory();
    assert.deepEqual(prepareHostPages(small, 64 * 2 ** 20, 'auto'), { hugePages: false, how: 'host 4 KiB pages (small instance)' });
    assert.equal(small.buffer.byteLength, 65536);
    const off = freshMemory();
    assert.equal(prepareHostPages(off, 2 * AUTO_MIN_BYTES, 'off').hugePages, false);
    assert.equal(off.buffer.byteLength, 65536);
  });

  it('grows a large instance to its whole layout and advises it where the host offers THP', () => {
    const m = freshMemory();
    const need = AUTO_MIN_BYTES + 12345;
    const r = prepareHostPages(m, need, 'auto');
    assert.equal(r.hugePages, hostOffersThp(), r.how);
    if (r.hugePages) assert.equal(m.buffer.byteLength, Math.ceil(need / 65536) * 65536);
  });

  it('init fits in the memory grown up front, and results are the same bytes with huge pages on or off', () => {
    const s = anonScenario({ memory: '256MiB', heap: '384MiB', duration: '300ms' });
    process.env[HOST_HUGE_PAGES_ENV] = 'on';
    const { core, hostPages } = createCore(s, s.seed);
    assert.equal(hostPages.hugePages, hostOffersThp(), hostPages.how);
    if (hostPages.hugePages) assert.equal(core.memory.buffer.byteLength, Math.ceil(memoryNeed(s).total / 65536) * 65536);
    const on = runScenario(s);
    process.env[HOST_HUGE_PAGES_ENV] = 'off';
    const off = runScenario(s);
    assert.equal(off.wall.hostPages, 'host huge pages off');
    assert.ok(on.counters.pswpout! > 0, 'the run reclaims to swap');
    assert.equal(formatResultsJson(on), formatResultsJson(off));
  });

  it('the CLI refuses a bad mode, from the flag or the environment, with exit status 2', async () => {
    let err = '';
    const io = { stdout: () => {}, stderr: (t: string) => { err += t; }, stderrIsTTY: false };
    assert.equal(await main(['node', 'mmsim', '--host-huge-pages', 'maybe', 'validate', 'default'], io), 2);
    assert.match(err, /--host-huge-pages.*'maybe' is invalid.*auto, on, off/);
    err = '';
    process.env[HOST_HUGE_PAGES_ENV] = 'yes';
    assert.equal(await main(['node', 'mmsim', 'validate', 'default'], io), 2);
    assert.match(err, /MMSIM_HOST_HUGE_PAGES: "yes" is not one of auto, on, off; e\.g\. MMSIM_HOST_HUGE_PAGES=off/);
  });

  it('the CLI flag sets the mode for the engine and its workers', async () => {
    delete process.env[HOST_HUGE_PAGES_ENV];
    const io = { stdout: () => {}, stderr: () => {}, stderrIsTTY: false };
    assert.equal(await main(['node', 'mmsim', '--host-huge-pages', 'off', 'validate', 'default'], io), 0);
    assert.equal(process.env[HOST_HUGE_PAGES_ENV], 'off');
  });
});
