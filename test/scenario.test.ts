import assert from 'node:assert/strict';
import { runScenario } from '../src/engine/engine.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { listBuiltins } from '../src/scenario/builtins.js';
import { listFields } from '../src/scenario/introspect.js';
import { ScenarioError, loadScenario, parseScenarioText, type OverrideSpec } from '../src/scenario/load.js';
import { computeWatermarks, defaultMinFreeKbytes, intSqrt } from '../src/scenario/watermarks.js';
import { MINIMAL } from './helpers.js';

const GiB = 2 ** 30;
const dir = mkdtempSync(join(tmpdir(), 'mmsim-scenario-'));
after(() => rmSync(dir, { recursive: true, force: true }));


function parse(text: string, overrides: OverrideSpec[] = []) {
  return parseScenarioText(text, join(dir, 'test-scenario.yaml'), overrides);
}

/** Asserts that parsing fails with a ScenarioError whose message matches every pattern. */
function assertInvalid(text: string, patterns: RegExp[], overrides: OverrideSpec[] = []): ScenarioError {
  let caught: unknown;
  try {
    parse(text, overrides);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ScenarioError, `expected a ScenarioError, got ${String(caught)}`);
  for (const pattern of patterns) assert.match(caught.message, pattern);
  return caught;
}

describe('built-in scenarios', () => {
  it('are listed with a one-line description each', () => {
    const names = listBuiltins().map((b) => b.name);
    assert.deepEqual(names, ['bench-pressure', 'bench-reference', 'default', 'gup-writeback-bug', 'gup-writeback-bug-dio', 'laptop', 'longterm-movable', 'notifier-pairing', 'numa-1tib', 'oom-reaper-notifiers', 'pinned-dirty-limit', 'small-fits', 'storage-server', 'streaming-mmap', 'thp-gup-split', 'truncate-pinned', 'userptr-direct-reclaim']);
    for (const b of listBuiltins()) {
      assert.ok(b.description.length > 20, `${b.name} has a description`);
      assert.ok(!b.description.includes('\n'));
    }
  });

  for (const { name } of listBuiltins()) {
    it(`${name} validates`, () => assert.equal(loadScenario(name).name, name));
  }

  it('default overcommits memory with swap and streams a file', () => {
    const s = loadScenario('default');
    assert.equal(s.machine.memory, 2 * GiB);
    assert.equal(s.swap.size, 4 * GiB);
    const heap = s.processes.app.vmas.heap;
    assert.ok(heap.size > s.machine.memory, 'the anon working set is larger than RAM');
    assert.ok(s.processes.app.workload[0].writeFraction > 0);
    assert.equal(s.processes.reader.workload[0].op, 'read');
    assert.equal(s.processes.reader.workload[0].pattern, 'sequential');
    assert.equal(s.processes.reader.loop, true);
    assert.equal(s.duration, 10e9);
  });

  it('small-fits keeps everything well below memory', () => {
    const s = loadScenario('small-fits');
    const vmas = Object.values(s.processes).flatMap((p) => Object.values(p.vmas)).reduce((t, v) => t + v.size, 0);
    const files = Object.values(s.files).reduce((t, f) => t + f.size, 0);
    assert.ok(vmas + files < s.machine.memory / 2);
  });

  it('bench-pressure is bench-reference with every access a store, nothing else changed', () => {
    const ref = loadScenario('bench-reference');
    const p = loadScenario('bench-pressure');
    assert.equal(p.processes['bench']!.workload[0]!.writeFraction, 1);
    const strip = (s: typeof p) => JSON.stringify({ ...s, name: '', description: '', processes: { bench: { ...s.processes['bench']!, workload: s.processes['bench']!.workload.map((w) => ({ ...w, writeFraction: 0 })) } } });
    assert.equal(strip(p), strip(ref));
  });

  it('bench-pressure reaches reclaim and swap (on a machine scaled down to 1M frames, the VMA 16x)', () => {
    const s = loadScenario('bench-pressure', ['machine.memory=4GiB', 'processes.bench.vmas.heap.size=64GiB', 'swap.size=64GiB',
      'processes.bench.workload.0.accesses=4000000']);
    const c = runScenario(s).counters;
    assert.equal(c.mmsim_accesses, 4_000_000);
    assert.ok(c.pgscan_kswapd! > 0 && c.pswpout! > 0, JSON.stringify({ pgscan: c.pgscan_kswapd, pswpout: c.pswpout }));
  });

  it('bench-reference is the 64GiB / 1TiB / 50M-access benchmark machine with default sysctls', () => {
    const s = loadScenario('bench-reference');
    assert.equal(s.machine.memory / 4096, 16_777_216);
    assert.equal(s.swap.size, 256 * GiB);
    const procs = Object.values(s.processes);
    assert.equal(procs.length, 1);
    const vmas = Object.values(procs[0].vmas);
    assert.deepEqual(vmas.map((v) => [v.type, v.size]), [['anon', 2 ** 40]]);
    assert.equal(procs[0].workload.length, 1);
    const phase = procs[0].workload[0];
    assert.equal(phase.pattern, 'zipf');
    assert.equal(phase.theta, 0.9);
    assert.equal(phase.scramble, true);
    assert.equal(phase.writeFraction, 0.25);
    assert.equal(phase.accesses, 50_000_000);
    assert.ok(s.duration >= 3600e9, 'the access count, not the clock, ends the run');
    assert.deepEqual(s.vm, {
      swappiness: 60, min_free_kbytes: 0, watermark_scale_factor: 10,
      page_cluster: 3, laptop_mode: 0, lowmem_reserve_ratio: [256, 256, 32],
      dirty_ratio: 20, dirty_background_ratio: 10, dirty_bytes: 0, dirty_background_bytes: 0,
      dirty_expire_centisecs: 3000, dirty_writeback_centisecs: 500,
    });
  });
});

describe('defaults', () => {
  it('are filled in, in base units', () => {
    const s = parse(MINIMAL);
    assert.equal(s.name, 'test-scenario', 'name defaults to the file name');
    assert.equal(s.description, '');
    assert.equal(s.seed, 1);
    assert.equal(s.duration, 10e9);
    assert.deepEqual(s.machine, { memory: GiB, nodes: 1, epoch: 1e6, hz: 1000, readAhead: 128 * 1024, memcgStatsFlush: 0, movablecore: 0 });
    assert.deepEqual(s.vm, {
      swappiness: 60, min_free_kbytes: 0, watermark_scale_factor: 10,
      page_cluster: 3, laptop_mode: 0, lowmem_reserve_ratio: [256, 256, 32],
      dirty_ratio: 20, dirty_background_ratio: 10, dirty_bytes: 0, dirty_background_bytes: 0,
      dirty_expire_centisecs: 3000, dirty_writeback_centisecs: 500,
    });
    assert.deepEqual(s.costs, {
      access: 20, minorFault: 1000, zeroFill: 1000, scanPage: 200, freePage: 100, syscallPage: 500, rmapWalk: 100,
    });
    assert.deepEqual(s.swap, { size: 0, device: '' });
    assert.deepEqual(s.devices, {});
    assert.deepEqual(s.files, {});
    assert.deepEqual(s.series, { interval: 100e6 });
    assert.deepEqual(s.pins, { track: 'bias', action: 'mainline', limit: 0, truncate: 'none', revokeTimeout: 45e9, migrateLongterm: true, dirtyAccounting: 'count' });
    assert.deepEqual(s.userptr, { policy: 'blocking-lock' });
    const app = s.processes.app;
    assert.deepEqual([app.start, app.oom_score_adj, app.loop], [0, 0, false]);
    assert.deepEqual(app.vmas.heap, {
      type: 'anon', size: 256 * 2 ** 20, file: '', offset: 0, shared: false, mlocked: false, exec: false, populate: false, hugepage: false,
    });
    assert.deepEqual(app.workload[0], {
      op: 'access', target: 'heap', pattern: 'sequential', theta: 0.99, hotFraction: 0.2, hotProbability: 0.8,
      writeFraction: 0, rate: 0, accesses: 0, duration: 0, scramble: true, start: 0, length: 0, size: 0, ioSize: 4096, think: 0, mode: 'write', process: '', subscriber: '',
      model: 'rdma-mr', iodepth: 1, device: '', revokeLatency: 0, revocable: false,
    });
  });

  it('a device given as {} gets the documented defaults', () => {
    const s = parse(`${MINIMAL}devices: { ssd: {} }\nswap: { size: 1GiB, device: ssd }\n`);
    assert.deepEqual(s.devices.ssd, {
      readBandwidth: 2e9, writeBandwidth: 1e9, readLatency: 100e3, writeLatency: 200e3, queueDepth: 32,
      minRatio: 0, maxRatio: 100, strictLimit: false,
    });
  });

  it('maps keep the order of the file', () => {
    const s = parse(`${MINIMAL}  zed: { workload: [{ op: sleep }] }\n  alpha: { workload: [{ op: sleep }] }\n`);
    assert.deepEqual(Object.keys(s.processes), ['app', 'zed', 'alpha']);
  });
});

describe('bad input', () => {
  it('an unknown field names its path and lists the valid keys', () => {
    const error = assertInvalid(MINIMAL.replace('{ memory: 1GiB }', '{ memory: 1GiB, speed: fast }'),
      [/machine\.speed: unknown key; valid keys here are memory, nodes, epoch, hz, readAhead/, /test-scenario\.yaml:2:\d+/]);
    assert.equal(error.issues[0].path, 'machine.speed');
  });

  it('"12 GB" (a space) names the field and the value', () => {
    assertInvalid(MINIMAL.replace('size: 256MiB', 'size: 12 GB'),
      [/processes\.app\.vmas\.heap\.size: "12 GB" contains a space; write the number and unit together, e\.g\. 12GB/]);
  });

  it('"fast" as a duration names the field and the value', () => {
    assertInvalid(`${MINIMAL}duration: fast\n`, [/duration: "fast" is not a duration.*e\.g\. 10s/]);
  });

  it('a negative size is refused', () => {
    assertInvalid(MINIMAL.replace('size: 256MiB', 'size: -1GiB'), [/processes\.app\.vmas\.heap\.size: "-1GiB" is negative/]);
  });

  it('a size that is not a whole number of pages is refused with the nearest page multiples', () => {
    assertInvalid(MINIMAL.replace('1GiB', '400MB'), [/machine\.memory: "400MB" \(400000000 bytes\) is not a multiple of the 4KiB page size; e\.g\. 390624KiB or 390628KiB/]);
  });

  it('a VMA larger than the 47-bit address space is refused, as is a sum above it', () => {
    assertInvalid(MINIMAL.replace('size: 256MiB', 'size: 256TiB'),
      [/processes\.app\.vmas\.heap\.size: 256TiB is larger than the 128TiB \(47-bit\) user address space; e\.g\. size: 1TiB/]);
    const two = MINIMAL.replace('heap: { type: anon, size: 256MiB }', 'heap: { type: anon, size: 100TiB }\n      more: { type: anon, size: 100TiB }');
    assertInvalid(two, [/processes\.app\.vmas: the VMAs add up to 200TiB, more than the 128TiB/]);
  });

  it('a machine smaller than its watermarks is refused with the arithmetic', () => {
    const error = assertInvalid(MINIMAL.replace('1GiB', '16MiB').replace('256MiB', '4MiB'), [
      /machine\.memory: 16MiB is too small for its watermarks/,
      /min_free_kbytes = int_sqrt\(16384 × 16\) = 512/,
      /at least 4 × 512KiB \+ 16MiB = 18MiB; e\.g\. memory: 32MiB/,
    ]);
    assert.equal(error.issues.length, 1);
    assertInvalid(`${MINIMAL}vm: { min_free_kbytes: 262144 }\n`, [/vm\.min_free_kbytes = 262144.*4 × 256MiB \+ 16MiB = 1040MiB; e\.g\. memory: 2GiB or a smaller vm\.min_free_kbytes/]);
  });

  it('more memory than one instance holds is refused; exactly 64GiB is allowed', () => {
    assertInvalid(MINIMAL.replace('1GiB', '65GiB'), [/machine\.memory: 65GiB is more than one simulated node holds: 64GiB \(16,777,216 pages\).*WASM instance addresses 4GiB.*fewer pages/]);
    assert.equal(parse(MINIMAL.replace('1GiB', '64GiB')).machine.memory, 64 * GiB);
  });

  it('ranges: theta > 0, fractions in [0,1], swappiness 0..200, watermark_scale_factor 1..3000, seed 0..2^53-1', () => {
    assertInvalid(MINIMAL.replace('target: heap', 'target: heap, pattern: zipf, theta: 0'), [/workload\.0\.theta: 0 is outside >0\.\.100/]);
    assertInvalid(MINIMAL.replace('target: heap', 'target: heap, writeFraction: 1.5'), [/workload\.0\.writeFraction: 1\.5 is outside 0\.\.1; e\.g\. 0\.25/]);
    assertInvalid(`${MINIMAL}vm: { swappiness: 201 }\n`, [/vm\.swappiness: 201 is outside 0\.\.200; e\.g\. 60/]);
    assertInvalid(`${MINIMAL}vm: { watermark_scale_factor: 0 }\n`, [/vm\.watermark_scale_factor: 0 is outside 1\.\.3000/]);
    assertInvalid(`${MINIMAL}seed: -1\n`, [/seed: -1 is outside ≥ 0/]);
    assertInvalid(`${MINIMAL}seed: 9007199254740992\n`, [/seed: 9007199254740992 is too large: numbers in a scenario go up to 2\^53 − 1 = 9007199254740991/]);
    assert.equal(parse(`${MINIMAL}seed: 9007199254740991\n`).seed, 9007199254740991);
    assertInvalid(`${MINIMAL}seed: 1.5\n`, [/seed: 1\.5 is not a whole number/]);
    assertInvalid(`${MINIMAL}machine: { memory: 1GiB, hz: 200 }\n`.replace('machine: { memory: 1GiB }\n', ''), [/machine\.hz: 200 is not one of 100, 250, 300, 1000/]);
  });

  it('references: vma.file, phase targets, devices', () => {
    assertInvalid(MINIMAL.replace('type: anon', 'type: file'), [/processes\.app\.vmas\.heap\.file: missing for a file VMA; no files are defined/]);
    assertInvalid(MINIMAL.replace('type: anon', 'type: anon, file: data'), [/processes\.app\.vmas\.heap\.file: "data" given for an anon VMA; remove it, or set type: file/]);
    assertInvalid(MINIMAL.replace('target: heap', 'target: stack'), [/processes\.app\.workload\.0\.target: "stack" is not a VMA of process app; the VMAs of process app are: heap \(e\.g\. target: heap\)/]);
    assertInvalid(MINIMAL.replace('op: access, target: heap', 'op: read, target: heap'), [/workload\.0\.target: "heap" is not a file; define one first/]);
    assertInvalid(MINIMAL.replace('op: access, target: heap', 'op: access'), [/workload\.0\.target: missing; op access needs a VMA of process app/]);
    assertInvalid(`${MINIMAL}swap: { size: 1GiB }\n`, [/swap\.device: missing; no devices are defined/]);
    assertInvalid(`${MINIMAL}devices: { ssd: {} }\nswap: { size: 1GiB, device: hdd }\n`, [/swap\.device: "hdd" is not a device; devices are: ssd \(e\.g\. device: ssd\)/]);
    assertInvalid(`${MINIMAL}devices: { ssd: {} }\nfiles: { data: { size: 1GiB, device: nvme } }\n`, [/files\.data\.device: "nvme" is not a device/]);
    assert.equal(parse(`${MINIMAL}swap: { size: 0 }\n`).swap.device, '', 'no swap needs no device');
  });

  it('a file VMA and a phase range must fit their target', () => {
    const withFile = `${MINIMAL}devices: { ssd: {} }\nfiles: { data: { size: 1GiB, device: ssd } }\n`;
    const mapped = withFile.replace('heap: { type: anon, size: 256MiB }', 'heap: { type: file, file: data, offset: 900MiB, size: 256MiB }');
    assertInvalid(mapped, [/processes\.app\.vmas\.heap\.size: offset 900MiB \+ size 256MiB = 1156MiB runs past the end of file data \(1GiB\); e\.g\. size: 124MiB/]);
    assert.equal(parse(mapped.replace('900MiB', '768MiB')).processes.app.vmas.heap.offset, 768 * 2 ** 20);
    assertInvalid(MINIMAL.replace('target: heap', 'target: heap, start: 200MiB, length: 100MiB'),
      [/workload\.0\.length: start 200MiB \+ length 100MiB runs past the end of heap \(256MiB\)/]);
  });

  it('a series interval that would give more than a million samples is refused', () => {
    assertInvalid(`${MINIMAL}duration: 1h\nseries: { interval: 1ms }\n`,
      [/series\.interval: 1ms gives 3,600,000 samples over the run, more than 1,000,000; e\.g\. interval: 4ms/]);
  });

  it('a missing file names the path', () => {
    assert.throws(() => loadScenario(join(dir, 'nope.yaml')), (error: unknown) =>
      error instanceof ScenarioError && /scenario file not found: .*nope\.yaml/.test(error.message));
    assert.throws(() => loadScenario('no-such-builtin'), /unknown scenario "no-such-builtin": built-ins are bench-pressure, bench-reference, default, gup-writeback-bug, gup-writeback-bug-dio, laptop, longterm-movable, notifier-pairing, numa-1tib, oom-reaper-notifiers, pinned-dirty-limit, small-fits, storage-server, streaming-mmap, thp-gup-split, truncate-pinned, userptr-direct-reclaim/);
  });

  it('malformed YAML gives the line and column', () => {
    const path = join(dir, 'broken.yaml');
    writeFileSync(path, 'machine:\n  memory: [1GiB\nprocesses: {}\n');
    assert.throws(() => loadScenario(path), (error: unknown) =>
      error instanceof ScenarioError && /malformed YAML in .*broken\.yaml:\n {2}.*broken\.yaml:3:1: /.test(error.message));
  });

  it('JSON files are read, with JSON strictness and line/column errors', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({
      machine: { memory: '1GiB' },
      processes: { app: { vmas: { heap: { type: 'anon', size: '64MiB' } }, workload: [{ op: 'access', target: 'heap' }] } },
    }, null, 2));
    assert.equal(loadScenario(good).name, 'good');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{\n  "machine": { "memory": "1GiB", }\n}\n');
    assert.throws(() => loadScenario(bad), /malformed JSON in .*bad\.json:\n {2}.*bad\.json:2:\d+: /);
    const invalid = join(dir, 'invalid.json');
    writeFileSync(invalid, '{\n  "machine": {\n    "memory": "12 GB"\n  }\n}\n');
    assert.throws(() => loadScenario(invalid), /invalid\.json:3:15: machine\.memory: "12 GB" contains a space/);
  });
});

describe('--set overrides', () => {
  it('are parsed as YAML scalars and validated like the file', () => {
    const s = parse(MINIMAL, ['vm.swappiness=100', 'machine.memory=4GiB', 'processes.app.workload.0.theta=0.9', 'description=hello']);
    assert.equal(s.vm.swappiness, 100);
    assert.equal(s.machine.memory, 4 * GiB);
    assert.equal(s.processes.app.workload[0].theta, 0.9);
    assert.equal(s.description, 'hello');
  });

  it('the last one wins, and an explicit label shows in errors', () => {
    assert.equal(parse(MINIMAL, ['vm.swappiness=10', 'vm.swappiness=20']).vm.swappiness, 20);
    assertInvalid(MINIMAL, [/--seed x: seed: "x" is not an integer/], [{ set: 'seed=x', label: '--seed x' }]);
  });

  it('a bad value is reported against the --set option', () => {
    const error = assertInvalid(MINIMAL, [/--set vm\.swappiness=300: vm\.swappiness: 300 is outside 0\.\.200/], ['vm.swappiness=300']);
    assert.equal(error.issues[0].source, '--set vm.swappiness=300');
  });

  it('an unknown path names it and lists the valid keys at that level', () => {
    assertInvalid(MINIMAL, [/bad option --set vm\.swapiness=3:\n {2}vm\.swapiness: unknown field; valid keys in vm: swappiness, min_free_kbytes/], ['vm.swapiness=3']);
    assertInvalid(MINIMAL, [/processes\.db: processes has no entry "db"; existing: app/], ['processes.db.start=1s']);
    assertInvalid(MINIMAL, [/processes\.app\.workload\.4: processes\.app\.workload has 1 entry; use an index 0\.\.0/], ['processes.app.workload.4.theta=1']);
    assertInvalid(MINIMAL, [/machine\.memory: machine\.memory is a value, not a section; e\.g\. --set machine\.memory=2GiB/], ['machine.memory.x=1']);
    assertInvalid(MINIMAL, [/expected FIELD=VALUE/], ['vm.swappiness']);
  });
});

describe('field reference', () => {
  const fields = listFields();
  const byPath = new Map(fields.map((f) => [f.path, f]));

  it('lists every field with a description', () => {
    // top 5 (check) + machine 7 (movablecore) + vm 12 + costs 7 + device 8 + swap 2 + file 2 + kernel 1 + lock 1 + process 4
    // + vma 8 + phase 16 + series 1, the notifiers and subscribers, pins 5 (track, action, limit, migrateLongterm, dirtyAccounting)
    // and the dma phase's model, iodepth, device; notifiers.mayfail, userptr.policy; truncate's size;
    // pins.truncate, pins.revokeTimeout, the phase's revokeLatency and revocable; damon's 7; a subscriber's deviceMemory
    assert.equal(fields.length, 113);
    for (const f of fields) assert.ok(f.description.length > 5, `${f.path} has a description`);
    for (const path of ['machine.memory', 'vm.lowmem_reserve_ratio', 'costs.rmapWalk', 'devices.<name>.queueDepth',
      'swap.device', 'files.<name>.size', 'processes.<name>.vmas.<name>.populate', 'processes.<name>.workload.<i>.think',
      'series.interval', 'kernel.hung_task_timeout_secs', 'locks.<name>.kind', 'check', 'processes.<name>.workload.<i>.mode',
      'pins.track', 'pins.action', 'pins.limit', 'pins.dirtyAccounting', 'processes.<name>.workload.<i>.model', 'processes.<name>.workload.<i>.iodepth']) {
      assert.ok(byPath.has(path), path);
    }
  });

  it('shows the kernel defaults as written in a file', () => {
    const defaults: Record<string, string | undefined> = {
      'vm.swappiness': '60', 'vm.min_free_kbytes': '0', 'vm.watermark_scale_factor': '10',
      'vm.page_cluster': '3', 'vm.laptop_mode': '0',
      'vm.lowmem_reserve_ratio': '[256,256,32]', 'machine.readAhead': '128KiB', 'machine.hz': '1000',
      'series.interval': '100ms', seed: '1', duration: '10s', 'machine.memory': undefined,
      'processes.<name>.workload.<i>.theta': '0.99', 'processes.<name>.workload.<i>.ioSize': '4KiB',
    };
    for (const [path, text] of Object.entries(defaults)) assert.equal(byPath.get(path)?.defaultText, text, path);
  });
});

describe('watermarks', () => {
  it('follow calculate_min_free_kbytes and __setup_per_zone_wmarks', () => {
    assert.equal(intSqrt(33_554_432), 5792);
    assert.equal(intSqrt(2 ** 52), 2 ** 26);
    assert.equal(defaultMinFreeKbytes(2 * GiB), 5792);
    assert.equal(defaultMinFreeKbytes(1024 * 1024), 128);
    assert.equal(defaultMinFreeKbytes(512 * 1024), 128, 'clamped below');
    assert.equal(defaultMinFreeKbytes(8 * 2 ** 40), 262144, 'clamped above');
    assert.equal(defaultMinFreeKbytes(64 * GiB), 32768);
    const vm = loadScenario('default').vm;
    assert.deepEqual(computeWatermarks(2 * GiB, vm), { minFreeKbytes: 5792, computed: true, min: 1448, low: 1972, high: 2496 });
  });
});
