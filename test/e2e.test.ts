/**
 * The real `mmsim` binary on the real engine: outputs written atomically and byte-identical for
 * the same seed, the vmstat text format, JSON on stdout, and bad input refused with status 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../src/util/package.js';
import { idleYaml, pressureYaml } from './helpers.js';

const bin = join(packageRoot(), 'bin', 'mmsim.js');
const dir = mkdtempSync(join(tmpdir(), 'mmsim-e2e-'));
const mmsim = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

const scenario = join(dir, 'pressure.yaml');
writeFileSync(scenario, pressureYaml('pressure', '500ms', 'uniform'));

test('mmsim run writes vmstat.txt, results.json and series.csv, byte-identical for the same seed', () => {
  const a = mmsim('run', scenario, '--out', join(dir, 'a'), '--quiet');
  const b = mmsim('run', scenario, '--out', join(dir, 'b'), '--quiet');
  assert.equal(a.status, 0, a.stderr);
  assert.equal(b.status, 0, b.stderr);
  for (const f of ['vmstat.txt', 'results.json', 'series.csv']) {
    assert.equal(readFileSync(join(dir, 'a', f), 'utf8'), readFileSync(join(dir, 'b', f), 'utf8'), f);
  }
  const vmstat = readFileSync(join(dir, 'a', 'vmstat.txt'), 'utf8').trim().split('\n');
  assert.ok(vmstat.every((l) => /^[a-z_0-9]+ \d+$/.test(l)), 'name value per line');
  assert.equal(vmstat[0]!.split(' ')[0], 'nr_free_pages');
  const results = JSON.parse(readFileSync(join(dir, 'a', 'results.json'), 'utf8'));
  assert.equal(results.scenario, 'pressure');
  assert.equal(results.seed, 1);
  assert.equal(results.simulatedSeconds, 0.5);
  assert.ok(results.counters.pswpout > 0 && results.counters.pgscan_kswapd > 0);
  assert.ok(!('wall' in results), 'no wall-clock figures in results.json');
  const csv = readFileSync(join(dir, 'a', 'series.csv'), 'utf8').trim().split('\n');
  assert.ok(csv[0]!.startsWith('time_s,nr_free_pages,'));
  assert.equal(csv.length, 1 + 11, 'a row every 50 ms from 0 to 500 ms');
});

test('--seed changes the results; --format json prints them on stdout', () => {
  const r = mmsim('run', scenario, '--out', join(dir, 'c'), '--seed', '7', '--format', 'json');
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.equal(json.seed, 7);
  const first = JSON.parse(readFileSync(join(dir, 'a', 'results.json'), 'utf8'));
  assert.notDeepEqual(json.counters, first.counters);
});

test('the text summary reports reclaim efficiency and wall-clock speed', () => {
  const r = mmsim('run', scenario, '--out', join(dir, 'd'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /kswapd\s+[\d,]+\s+[\d,]+\s+[\d.]+%/);
  assert.match(r.stdout, /simulated accesses per wall second/);
});

test('bad input exits 2 with the field, the value and an example, and writes nothing', () => {
  const out = join(dir, 'bad');
  const r = mmsim('run', scenario, '--out', out, '--set', 'machine.memory=12 GB');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /machine\.memory/);
  assert.match(r.stderr, /12 GB/);
  assert.ok(!existsSync(out));
  const missing = mmsim('run', join(dir, 'nope.yaml'), '--out', out);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope\.yaml/);
  assert.ok(!existsSync(out));
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('bad')), []);
});

test('vm.dirty_bytes below two pages is refused as the kernel\'s dirty_bytes_min does, exit 2', () => {
  const out = join(dir, 'bad-dirty');
  const r = mmsim('run', scenario, '--out', out, '--set', 'vm.dirty_bytes=4KiB');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /vm\.dirty_bytes/);
  assert.match(r.stderr, /4KiB is below the kernel's dirty_bytes_min of 2 pages/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.ok(!existsSync(out));
  assert.equal(mmsim('validate', scenario, '--set', 'vm.dirty_bytes=8KiB').status, 0);
});

test('a lock phase on an unknown lock is bad input: exit 2 naming the field and the locks', () => {
  const r = mmsim('validate', scenario, '--set', 'processes.app.workload.0.op=lock');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /processes\.app\.workload\.0\.target/);
  assert.match(r.stderr, /"heap" is not a lock; define one first, e\.g\. locks: \{ obj: \{ kind: mutex \} \}/);
});

test('a deadlock through the CLI: results.json lists each member, the summary names them, exit 0', () => {
  const yaml = join(dir, 'abba.yaml');
  writeFileSync(yaml, `
name: abba
description: two tasks taking two mutexes in opposite order
duration: 200ms
machine: { memory: 64MiB }
locks: { a: { kind: mutex }, b: { kind: mutex } }
processes:
  t1:
    workload: [{ op: lock, target: a }, { op: sleep, duration: 10ms }, { op: lock, target: b }]
  t2:
    workload: [{ op: lock, target: b }, { op: sleep, duration: 10ms }, { op: lock, target: a }]
`);
  const out = join(dir, 'abba');
  const r = mmsim('run', yaml, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /deadlock at 0\.010s: t1 waits in mutex_lock for b, held by task t2/);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.equal(results.counters.mmsim_deadlock, 1);
  const members = results.detectors.filter((d: { kind: string }) => d.kind === 'mmsim_deadlock');
  assert.deepEqual(members.map((d: { taskName: string; waitsFor: string; owner: string }) => `${d.taskName}/${d.waitsFor}/${d.owner}`).sort(),
    ['t1/b/task t2', 't2/a/task t1']);
});

test('a YAML alias bomb is bad input: exit 2 with the file and the reason, no stack trace', () => {
  const bomb = join(dir, 'aliases.yaml');
  const lines = ['a: &a [x,x,x,x,x,x,x,x,x]'];
  let prev = 'a';
  for (const l of ['b', 'c', 'd', 'e', 'f', 'g', 'h']) { lines.push(`${l}: &${l} [${Array(9).fill(`*${prev}`).join(',')}]`); prev = l; }
  writeFileSync(bomb, lines.join('\n') + '\n');
  for (const cmd of ['validate', 'run']) {
    const r = cmd === 'run' ? mmsim(cmd, bomb, '--out', join(dir, 'bomb-out')) : mmsim(cmd, bomb);
    assert.equal(r.status, 2, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, /aliases\.yaml: Excessive alias count/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  assert.ok(!existsSync(join(dir, 'bomb-out')));
});

test('a command loads only its own modules: validate, scenarios and help never load piscina, vega or vega-lite', () => {
  // A module-resolution hook reports every package the process resolves.
  const hook = join(dir, 'report-packages.mjs');
  writeFileSync(hook, `export async function resolve(spec, context, next) {
  const r = await next(spec, context);
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
  if (m) process.stderr.write('package ' + m[1] + '\\n');
  return r;
}\n`);
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`);
  const packages = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', register, bin, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return new Set([...r.stderr.matchAll(/^package (\S+)$/gm)].map((m) => m[1]));
  };
  const heavy = ['piscina', 'vega', 'vega-lite', 'koffi'];
  for (const args of [['validate', 'default'], ['scenarios'], ['--help'], ['plan', 'dirty', '--help']]) {
    const loaded = packages(...args);
    assert.ok(loaded.has('commander'), `${args.join(' ')}: the hook sees packages`);
    for (const p of heavy) assert.ok(!loaded.has(p), `${args.join(' ')} loads ${p}`);
  }
  // the command that needs them still gets them
  const plan = packages('plan', 'dirty', scenario, '--ratio', '20', '--duration', '100ms', '--out', join(dir, 'lazy-plan'), '--quiet');
  for (const p of ['piscina', 'vega', 'vega-lite']) assert.ok(plan.has(p), `plan dirty loads ${p}`);
});

test('numbers a double cannot hold are named as written in the file or --set, exit 2', () => {
  const file = (name: string, change: (text: string) => string) => {
    const path = join(dir, name);
    writeFileSync(path, change(readFileSync(scenario, 'utf8')));
    return path;
  };
  const digits400 = '9'.repeat(400);
  const cases: [string, RegExp][] = [
    // parsed, this is 9223372036854776000: the message must show the text, not the double
    [file('big-int.yaml', (t) => t.replace('writeFraction: 0.5', 'writeFraction: 0.5, accesses: 9223372036854775808')),
      /big-int\.yaml:\d+:\d+: processes\.app\.workload\.0\.accesses: 9223372036854775808 is too large: numbers in a scenario go up to 2\^53 − 1 = 9007199254740991.*; e\.g\. \d+/],
    // NaN, which JSON shows as null
    [file('nan.yaml', (t) => t.replace('writeFraction: 0.5', 'writeFraction: .nan')),
      /nan\.yaml:\d+:\d+: processes\.app\.workload\.0\.writeFraction: \.nan is not a number; e\.g\. 0\.25/],
    // Infinity as a double: named by its first digits and its length
    [file('huge.yaml', (t) => t.replace('memory: 64MiB', `memory: ${digits400}`)),
      /huge\.yaml:\d+:\d+: machine\.memory: 99999999999999999999… \(400 characters\) is too large.*; e\.g\. 2GiB/],
    [file('inf.yaml', (t) => t.replace('writeFraction: 0.5', 'writeFraction: .inf')),
      /processes\.app\.workload\.0\.writeFraction: \.inf is infinite/],
  ];
  for (const [path, message] of cases) {
    const r = mmsim('validate', path);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /9223372036854776000|null|Infinity/);
  }
  const set = mmsim('validate', scenario, '--set', 'processes.app.workload.0.accesses=18446744073709551616');
  assert.equal(set.status, 2);
  assert.match(set.stderr, /--set processes\.app\.workload\.0\.accesses=18446744073709551616: processes\.app\.workload\.0\.accesses: 18446744073709551616 is too large/);
  // the largest exact integer is still accepted
  assert.equal(mmsim('validate', scenario, '--set', 'processes.app.workload.0.accesses=9007199254740991').status, 0);
});

test('validate and run print the same watermark figure, in pages: every zone of every node summed', () => {
  const idle = (name: string, machine: string, vm = '') => {
    const path = join(dir, `${name}.yaml`);
    writeFileSync(path, idleYaml(name, machine, vm));
    return path;
  };
  const cases = [
    idle('two-zones', '{ memory: 2GiB }'),
    idle('three-zones', '{ memory: 8GiB }', 'vm: { min_free_kbytes: 65536, watermark_scale_factor: 200 }'),
    idle('two-nodes', '{ memory: 1GiB, nodes: 2 }'),
  ];
  for (const path of cases) {
    const v = mmsim('validate', path);
    assert.equal(v.status, 0, v.stderr);
    const validated = /watermarks summed over zones: min ([\d,]+) low ([\d,]+) high ([\d,]+) pages\)/.exec(v.stdout);
    assert.ok(validated, v.stdout);
    const r = mmsim('run', path, '--out', join(dir, `wm-${validated.index}-${path.length}`));
    assert.equal(r.status, 0, r.stderr);
    const ran = /\(watermarks summed over zones: min ([\d,]+), low ([\d,]+), high ([\d,]+) pages\)/.exec(r.stdout);
    assert.ok(ran, r.stdout);
    assert.deepEqual(ran.slice(1), validated.slice(1), path);
    // and the run's own zones add up to it
    const zones = [...r.stdout.matchAll(/^ {2}zone .*min ([\d,]+)\s+low [\d,]+\s+high [\d,]+ pages$/gm)].map((m) => Number(m[1]!.replace(/,/g, '')));
    assert.equal(zones.reduce((a, b) => a + b, 0), Number(ran[1]!.replace(/,/g, '')), path);
    assert.match(r.stdout, /dirty thresholds\s+bg [\d,]+\s+hard [\d,]+ pages \(/);
  }
});

test('run shows an ETA on a terminal, as sweep does', { skip: spawnSync('script', ['--version']).status !== 0 && 'needs script(1) for a terminal' }, () => {
  // script(1) gives the run a pseudo-terminal, where the progress line is drawn once the run
  // has lasted a second of wall time: 300 s simulated take about 4 s (60 s took 0.8 s on a quiet
  // machine, too short for the line)
  const r = spawnSync('script', ['-qec', `"${process.execPath}" "${bin}" run "${scenario}" --duration 300s --out "${join(dir, 'eta')}"`, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /mmsim run pressure: \d+\.\d% of simulated time, ETA (\d+s|\d+m\d\ds)/);
});
