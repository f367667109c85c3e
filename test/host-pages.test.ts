import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { main } from '../src/cli.js';
import { createCore, runScenario } from '../src/engine/engine.js';
import { AUTO_MIN_BYTES, HOST_HUGE_PAGES_ENV, hostHugePagesMode, prepareHostPages } from '../src/engine/host-pages.js';
import { memoryNeed } from '../src/engine/memory.js';
import { formatResultsJson } from '../src/report/results-json.js';
import { packageRoot } from '../src/util/package.js';
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

  it('the CLI flag (or the variable) sets the mode for the engine and its worker threads', () => {
    // Through the binary: the summary's last line says what the instance was given. With
    // machine.nodes 2 and -j 2 every node runs on a worker thread (the line is node 0's).
    const dir = mkdtempSync(join(tmpdir(), 'mmsim-hostpages-'));
    try {
      const scenario = join(dir, 'two-nodes.yaml');
      writeFileSync(scenario, `
name: two-nodes
description: two small nodes, each on its own worker thread
duration: 50ms
machine: { memory: 256MiB, nodes: 2 }
processes:
  a: { node: 0, vmas: { heap: { type: anon, size: 32MiB } }, workload: [{ op: access, target: heap }] }
  b: { node: 1, vmas: { heap: { type: anon, size: 32MiB } }, workload: [{ op: access, target: heap }] }
`);
      const bin = join(packageRoot(), 'bin', 'mmsim.js');
      const env = { ...process.env };
      delete env[HOST_HUGE_PAGES_ENV];
      const hostLine = (args: string[], extraEnv: Record<string, string> = {}) => {
        const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...env, ...extraEnv } });
        assert.equal(r.status, 0, r.stderr);
        return /^wall .*; (host .*)$/m.exec(r.stdout)?.[1];
      };
      for (const [what, run] of [['the main thread', ['run', 'small-fits', '--duration', '1ms']], ['worker threads', ['run', scenario, '-j', '2']]] as const) {
        const out = (mode: string) => ['--out', join(dir, `${what}-${mode}`)];
        // these instances are small: auto leaves them on 4 KiB pages, on asks for huge pages anyway
        assert.equal(hostLine([...run, ...out('auto')]), 'host 4 KiB pages (small instance)', what);
        assert.equal(hostLine(['--host-huge-pages', 'off', ...run, ...out('off')]), 'host huge pages off', what);
        const on = hostLine(['--host-huge-pages', 'on', ...run, ...out('on')]);
        assert.ok(on !== undefined && on !== 'host huge pages off' && !on.includes('small instance'), `${what}: --host-huge-pages on reached it: ${on}`);
        if (hostOffersThp()) assert.match(on, /^host huge pages \((madvise|THP always)\)$/);
        assert.equal(hostLine([...run, ...out('env-off')], { [HOST_HUGE_PAGES_ENV]: 'off' }), 'host huge pages off', `${what}, from the environment`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
