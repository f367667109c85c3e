import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { COUNTERS } from '../src/abi/counters.js';
import { main, type CliIo, type RunOptions, type RunScenario } from '../src/cli.js';
import type { RunResult } from '../src/report/result.js';
import type { Scenario } from '../src/scenario/types.js';
import { writeDirectoryAtomically } from '../src/util/atomic-dir.js';
import { createProgress } from '../src/util/progress.js';
import { MINIMAL, pressureYaml } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'mmsim-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
function freshDir(): string {
  return join(root, `case-${++dirCount}`);
}

/** A stand-in for the engine: deterministic results derived from the scenario, and a log of calls. */
function fakeEngine(status: 'ok' | 'error' = 'ok') {
  const calls: { scenario: Scenario; options: RunOptions }[] = [];
  const run: RunScenario = (scenario, options) => {
    calls.push({ scenario, options });
    options.onProgress?.(scenario.duration / 2, scenario.duration);
    const counters = Object.fromEntries(COUNTERS.map((c, i) => [c.name, i * 1000 + (options.seed ?? 0)]));
    const result: RunResult = {
      scenario: scenario.name,
      seed: options.seed ?? scenario.seed,
      simulatedSeconds: status === 'ok' ? scenario.duration / 1e9 : 1.5,
      counters,
      detectors: [{ kind: 'bad_pte', timeNs: 5, pfn: 7, task: 1, func: 'handle_mm_fault', value: 3 }],
      detectorsTotal: 1, oomKills: [],
      zones: [{ name: 'Normal', managed: 500_000, min: 1448, low: 1972, high: 2496, lowmemReserve: [0, 0, 0] }],
      wbs: [],
      writeback: { pauses: { count: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 }, flushAge: { count: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 } },
      reclaim: { directLatency: { count: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 } },
      series: { columns: ['time_s', 'nr_free_pages'], rows: [[0.1, 1000], [0.2, 900]] },
      status,
      ...(status === 'error' ? { error: { message: 'trap: unreachable', simulatedNs: 1.5e9, lastEvent: 'kswapd wakeup' } } : {}),
      wall: { seconds: 0.5, accesses: counters.mmsim_accesses },
    };
    return result;
  };
  return { run, calls };
}

interface Captured { code: number; stdout: string; stderr: string; engineLoaded: boolean }

/** `engine: 'real'` runs the simulation engine itself (src/run-command.ts), as `mmsim run` does. */
async function cli(args: string[], options: { engine?: RunScenario | 'real'; tty?: boolean } = {}): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  let engineLoaded = false;
  const io: Partial<CliIo> = {
    stdout: (text) => { stdout += text; },
    stderr: (text) => { stderr += text; },
    stderrIsTTY: options.tty ?? false,
    loadEngine: async () => {
      engineLoaded = true;
      if (options.engine === 'real') return (await import('../src/run-command.js')).runEngine;
      return options.engine ?? fakeEngine().run;
    },
  };
  const code = await main(['node', 'mmsim', ...args], io);
  return { code, stdout, stderr, engineLoaded };
}


function scenarioFile(name: string, text: string): string {
  const path = join(root, name);
  writeFileSync(path, text);
  return path;
}

describe('mmsim run', () => {
  it('writes vmstat.txt, results.json and series.csv and prints a summary', async () => {
    const out = freshDir();
    const engine = fakeEngine();
    const r = await cli(['run', 'default', '--out', out], { engine: engine.run });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['results.json', 'series.csv', 'vmstat.txt']);

    const vmstat = readFileSync(join(out, 'vmstat.txt'), 'utf8').trimEnd().split('\n');
    assert.equal(vmstat.length, COUNTERS.length);
    for (const line of vmstat) assert.match(line, /^[a-z0-9_]+ \d+$/);
    assert.equal(vmstat[0], 'nr_free_pages 1');
    const firstSim = vmstat.findIndex((l) => l.startsWith('mmsim_'));
    assert.ok(vmstat.slice(firstSim).every((l) => l.startsWith('mmsim_')), 'simulator counters come after the kernel ones');

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(results), ['scenario', 'seed', 'simulatedSeconds', 'status', 'counters', 'zones', 'wbs', 'writeback', 'reclaim', 'detectorsTotal', 'detectors', 'oomKills']);
    assert.equal(results.scenario, 'default');
    assert.deepEqual(Object.keys(results.counters as object), COUNTERS.map((c) => c.name));
    assert.ok(!readFileSync(join(out, 'results.json'), 'utf8').includes('wall'), 'no wall-clock figures');

    assert.equal(readFileSync(join(out, 'series.csv'), 'utf8'), 'time_s,nr_free_pages\n0.1,1000\n0.2,900\n');

    assert.match(r.stdout, /^default \(seed 1\): 10\.0s simulated, status ok/);
    // the fake engine's counter values are index × 1000 + seed: derive what the summary must show
    const fake = (name: string) => COUNTERS.findIndex((c) => c.name === name) * 1000 + 1;
    const shown = (name: string) => fake(name).toLocaleString('en-US');
    const efficiency = `${((100 * fake('pgsteal_kswapd')) / fake('pgscan_kswapd')).toFixed(1)}%`;
    assert.match(r.stdout, new RegExp(`kswapd\\s+${shown('pgscan_kswapd')}\\s+${shown('pgsteal_kswapd')}\\s+${efficiency.replace('.', '\\.')}`));
    assert.match(r.stdout, new RegExp(`pgmajfault\\s+${shown('pgmajfault')}\\n`));
    assert.match(r.stdout, /free pages\s+1\s+\(4KiB\)\s+below min \(watermarks summed over zones: min 1,448, low 1,972, high 2,496 pages\)/);
    assert.match(r.stdout, /zone Normal\s+managed 500,000\s+min 1,448\s+low 1,972\s+high 2,496 pages\n/);
    assert.match(r.stdout, /direct reclaim time/);
    const accesses = (COUNTERS.findIndex((c) => c.name === 'mmsim_accesses') * 1000 + 1).toLocaleString('en-US');
    const rate = `${((Number(accesses.replace(/,/g, '')) / 0.5) / 1000).toFixed(1)}k/s`;
    assert.match(r.stdout, new RegExp(`wall 0\\.500s, ${accesses} accesses, ${rate.replace('.', '\\.')} simulated accesses per wall second`));
    assert.equal(engine.calls.length, 1);
    assert.equal(engine.calls[0].options.seed, 1);
  });

  it('results.json is byte-identical across runs of the same scenario and seed (the real engine)', async () => {
    // a machine under pressure, so reclaim, swap and the random choices all leave their mark
    const path = scenarioFile('identical.yaml', pressureYaml('identical', '300ms', 'zipf'));
    const [a, b, c] = [freshDir(), freshDir(), freshDir()];
    for (const [out, seed] of [[a, '3'], [b, '3'], [c, '4']] as const) {
      const r = await cli(['run', path, '--out', out, '--quiet', '--seed', seed], { engine: 'real' });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.engineLoaded, 'the engine, not a stand-in, ran');
    }
    const results = JSON.parse(readFileSync(join(a, 'results.json'), 'utf8'));
    assert.ok(results.counters.pswpout > 0 && results.counters.mmsim_accesses > 0, 'the run simulated reclaim and swap');
    for (const file of ['results.json', 'vmstat.txt', 'series.csv']) {
      assert.equal(readFileSync(join(a, file), 'utf8'), readFileSync(join(b, file), 'utf8'), file);
    }
    // and the seed matters, so equal bytes are not a constant
    assert.notEqual(readFileSync(join(c, 'vmstat.txt'), 'utf8'), readFileSync(join(a, 'vmstat.txt'), 'utf8'));
  });

  it('a second run replaces the outputs of the first', async () => {
    const out = freshDir();
    assert.equal((await cli(['run', 'default', '--out', out, '--quiet', '--seed', '3'])).code, 0);
    assert.equal((await cli(['run', 'default', '--out', out, '--quiet', '--seed', '4'])).code, 0);
    assert.equal(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).seed, 4);
    assert.deepEqual(readdirSync(root).filter((name) => name.startsWith('.')), [], 'no temporary directories left');
  });

  it('--seed, --duration, --set and --policy reach the engine', async () => {
    const engine = fakeEngine();
    const r = await cli(['run', 'default', '--out', freshDir(), '--quiet', '--seed', '42', '--duration', '2s',
      '--set', 'vm.swappiness=100', '--policy', 'vm.watermark_scale_factor=200'], { engine: engine.run });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', '--quiet prints nothing');
    assert.equal(r.stderr, '');
    const { scenario, options } = engine.calls[0];
    assert.equal(options.seed, 42);
    assert.equal(scenario.seed, 42);
    assert.equal(scenario.duration, 2e9);
    assert.equal(scenario.vm.swappiness, 100);
    assert.equal(scenario.vm.watermark_scale_factor, 200);
  });

  it('--format json prints the results.json object', async () => {
    const out = freshDir();
    const r = await cli(['run', 'default', '--out', out, '--format', 'json']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, readFileSync(join(out, 'results.json'), 'utf8'));
  });

  it('the default output directory is out/<scenario name>', async () => {
    const cwd = process.cwd();
    const work = freshDir();
    mkdirSync(work);
    process.chdir(work);
    try {
      const r = await cli(['run', scenarioFile('tiny.yaml', MINIMAL), '--quiet']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(existsSync(join(work, 'out', 'tiny', 'results.json')));
    } finally {
      process.chdir(cwd);
    }
  });

  it('a simulation error still writes the outputs and exits 1', async () => {
    const out = freshDir();
    const r = await cli(['run', 'default', '--out', out], { engine: fakeEngine('error').run });
    assert.equal(r.code, 1);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.equal(results.status, 'error');
    assert.deepEqual(results.error, { message: 'trap: unreachable', simulatedNs: 1.5e9, lastEvent: 'kswapd wakeup' });
    assert.match(r.stdout, /error at 1\.500s simulated: trap: unreachable\n {2}last event: kswapd wakeup/);
  });

  describe('bad input exits 2 with the field and value on stderr, writes nothing and never starts the engine', () => {
    const cases: [string, string[], RegExp][] = [
      ['an unknown field', ['--set', 'machine.speed=1'], /machine\.speed: unknown field; valid keys in machine: memory, nodes, epoch, hz, readAhead/],
      ['a space in a size', ['--set', 'machine.memory=12 GB'], /machine\.memory: "12 GB" contains a space.*e\.g\. 12GB/],
      ['a word for a duration', ['--duration', 'fast'], /--duration fast: duration: "fast" is not a duration.*e\.g\. 10s/],
      ['a negative size', ['--set', 'swap.size=-1GiB'], /swap\.size: "-1GiB" is negative/],
      ['a VMA beyond the address space', ['--set', 'processes.app.vmas.heap.size=129TiB'], /processes\.app\.vmas\.heap\.size: 129TiB is larger than the 128TiB/],
      ['a machine smaller than its watermarks', ['--set', 'machine.memory=16MiB'], /machine\.memory: 16MiB is too small for its watermarks.*4 × 512KiB \+ 16MiB = 18MiB/],
      ['a bad --set path', ['--set', 'processes.app.workload.9.theta=1'], /processes\.app\.workload\.9: processes\.app\.workload has 1 entry/],
      ['a bad seed', ['--seed', '-3'], /--seed -3: seed: -3 is outside ≥ 0/],
    ];
    for (const [what, args, message] of cases) {
      it(what, async () => {
        const out = freshDir();
        const r = await cli(['run', 'default', '--out', out, ...args]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, message);
        assert.equal(r.stdout, '');
        assert.equal(existsSync(out), false);
        assert.equal(r.engineLoaded, false);
      });
    }

    it('a missing scenario file', async () => {
      const r = await cli(['run', join(root, 'missing.yaml'), '--out', freshDir()]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /scenario file not found: .*missing\.yaml/);
    });

    it('malformed YAML', async () => {
      const r = await cli(['run', scenarioFile('broken.yaml', 'machine: {memory: 1GiB\n'), '--out', freshDir()]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /malformed YAML in .*broken\.yaml:\n {2}.*broken\.yaml:2:1: /);
    });

    it('an output directory holding other files, which are left alone', async () => {
      const out = freshDir();
      mkdirSync(out);
      writeFileSync(join(out, 'thesis.tex'), 'precious');
      const r = await cli(['run', 'default', '--out', out]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--out .*: .* already holds other files \(thesis\.tex\)/);
      assert.equal(readFileSync(join(out, 'thesis.tex'), 'utf8'), 'precious');
      assert.equal(r.engineLoaded, false);
    });

    it('an unknown option or format', async () => {
      assert.equal((await cli(['run', '--frobnicate'])).code, 2);
      const r = await cli(['run', '--format', 'xml']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /argument 'xml' is invalid. Allowed choices are text, json/);
    });
  });
});

describe('mmsim scenarios, validate, help', () => {
  it('scenarios lists one line per built-in', async () => {
    const r = await cli(['scenarios']);
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => l.split(/\s+/)[0]), ['bench-pressure', 'bench-reference', 'default', 'gup-writeback-bug', 'gup-writeback-bug-dio', 'laptop', 'longterm-movable', 'notifier-pairing', 'numa-1tib', 'oom-reaper-notifiers', 'pinned-dirty-limit', 'small-fits', 'storage-server', 'streaming-mmap', 'thp-gup-split', 'truncate-pinned', 'userptr-direct-reclaim']);
    assert.ok(lines.every((l) => l.length > 40));
  });

  it('validate prints OK and the machine in one line', async () => {
    const r = await cli(['validate', 'default']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'OK default: 2GiB RAM (524,288 pages; watermarks summed over zones: min 1,447 low 1,971 high 2,495 pages), ' +
      '4GiB swap on ssd, 1 file, 2 processes, 10s simulated, seed 1\n');
    assert.equal(r.engineLoaded, false);
  });

  it('validate reports every problem of a file and exits 2', async () => {
    const path = scenarioFile('bad.yaml', MINIMAL.replace('256MiB', '12 GB') + 'vm: { swapiness: 3 }\n');
    const r = await cli(['validate', path]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /bad\.yaml:6:\d+: processes\.app\.vmas\.heap\.size: "12 GB" contains a space/);
    assert.match(r.stderr, /bad\.yaml:9:7: vm\.swapiness: unknown key; valid keys here are swappiness/);
  });

  it('validate --explain lists every field with its default', async () => {
    const r = await cli(['validate', '--explain']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /vm\.swappiness {2}\(integer 0\.\.200; default 60\)\n {6}relative IO cost/);
    assert.match(r.stdout, /machine\.memory {2}\(size, multiple of 4KiB; required\)/);
    assert.match(r.stdout, /processes\.<name>\.workload\.<i>\.theta {2}\(number >0\.\.100; default 0\.99\)/);
    assert.equal((await cli(['validate'])).code, 2, 'without a file or --explain');
  });

  it('help shows examples, for the program and each command', async () => {
    for (const args of [['--help'], ['run', '--help'], ['validate', '--help'], ['scenarios', '--help']]) {
      const r = await cli(args);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Examples?:\n {2}mmsim /);
    }
  });
});

describe('progress line', () => {
  function sink(isTTY: boolean) {
    const writes: string[] = [];
    return { writes, sink: { isTTY, write: (text: string) => { writes.push(text); } } };
  }

  it('waits a second, redraws at most 10 times a second, and erases itself', () => {
    let now = 0;
    const { writes, sink: s } = sink(true);
    const p = createProgress({ sink: s, enabled: true, label: 'run:', now: () => now });
    p.update(1, 10);
    assert.equal(writes.length, 0, 'nothing before one second');
    now = 1000;
    p.update(5, 10);
    now = 1050;
    p.update(6, 10);
    now = 1100;
    p.update(7, 10);
    // ETA: the wall time so far scaled by what remains, 1 s × 0.5 / 0.5 and 1.1 s × 0.3 / 0.7
    assert.deepEqual(writes, ['\r\x1b[Krun: 50.0% of simulated time, ETA 1s', '\r\x1b[Krun: 70.0% of simulated time, ETA 0s']);
    p.finish();
    assert.equal(writes.at(-1), '\r\x1b[K');
  });

  it('stays silent when stderr is not a terminal or with --quiet', () => {
    for (const [isTTY, enabled] of [[false, true], [true, false]]) {
      let now = 0;
      const { writes, sink: s } = sink(isTTY);
      const p = createProgress({ sink: s, enabled, label: 'run:', now: () => now });
      now = 5000;
      p.update(5, 10);
      p.finish();
      assert.deepEqual(writes, []);
    }
  });
});

describe('atomic output directory', () => {
  const failing = [
    { name: 'vmstat.txt', content: 'nr_free_pages 1\n' },
    { name: 'results.json', content: () => { throw new Error('formatter failed'); } },
  ];

  it('leaves nothing behind when a file cannot be produced', async () => {
    const parent = freshDir();
    const out = join(parent, 'nested', 'run');
    await assert.rejects(writeDirectoryAtomically(out, failing), /formatter failed/);
    assert.equal(existsSync(parent), false, 'directories created for the output are removed again');
  });

  it('keeps the previous outputs intact when a new write fails', async () => {
    const out = freshDir();
    await writeDirectoryAtomically(out, [{ name: 'vmstat.txt', content: 'old\n' }]);
    await assert.rejects(writeDirectoryAtomically(out, failing), /formatter failed/);
    assert.deepEqual(readdirSync(out), ['vmstat.txt']);
    assert.equal(readFileSync(join(out, 'vmstat.txt'), 'utf8'), 'old\n');
    assert.deepEqual(readdirSync(root).filter((name) => name.startsWith('.')), [], 'no temporary directories left');
  });
});
