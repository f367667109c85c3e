/**
 * `mmsim compare` through the CLI: the outcome tables of the seed scenarios notifier-pairing
 * (seed-scenarios §5) and oom-reaper-notifiers (§4) as the command prints them, the same bytes
 * for any -j, the JSON and CSV forms, and bad input refused before anything runs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCompare } from '../src/parallel/compare.js';
import { DETECTOR_COUNTERS } from '../src/parallel/compare-report.js';
import { packageRoot } from '../src/util/package.js';
import { cli, compareTable, reader, type Captured } from './cli-helpers.js';
import { rangeCheckYaml } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'mmsim-compare-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface JsonCell { n: number; mean: number | null; ci: number | null; min: number | null; max: number | null; values: (number | null)[] }
interface JsonRow { figure: string; differs: boolean; zero: boolean; columns: JsonCell[] }
interface JsonCompare { columns: { label: string; seedsOk: number }[]; seeds: number[]; rows: JsonRow[] }

/** figure → one entry per column: the per-seed values. */
function valuesByFigure(json: JsonCompare): Map<string, (number | null)[][]> {
  return new Map(json.rows.map((r) => [r.figure, r.columns.map((c) => c.values)]));
}

/** The text table's row titled `title`: its `*` mark and its cells (split on two or more spaces). */
function textRow(text: string, title: string): { marked: boolean; cells: string[] } {
  const line = text.split('\n').find((l) => /^[* ] /.test(l) && l.slice(2).trimStart().startsWith(`${title}  `));
  assert.ok(line, `no row ${title} in\n${text}`);
  const rest = line.slice(2).trimStart().slice(title.length);
  return { marked: line.startsWith('*'), cells: rest.trim().split(/\s{2,}/) };
}

const POLICIES = ['notifiers.policy=2018,ban-multiple,sorted-2020,mainline', '--seeds', '2'];
const REAPERS = ['notifiers.reaper=skip-mm,does-not-block,always-eagain,trylock,trylock-blocking-end'];

describe('mmsim compare notifier-pairing across notifiers.policy (seed-scenarios §5)', () => {
  let text: Captured;
  let json: JsonCompare;
  before(async () => {
    text = await cli('compare', 'notifier-pairing', '--axis', ...POLICIES, '--quiet');
    const j = await cli('compare', 'notifier-pairing', '--axis', ...POLICIES, '--format', 'json', '--quiet');
    assert.equal(j.code, 0, j.stderr);
    json = JSON.parse(j.stdout) as JsonCompare;
  });

  it('prints one table, a column per policy, and exits 0', () => {
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stderr, '');
    assert.match(text.stdout, /^notifier-pairing: notifiers\.policy, 4 columns × 2 seeds \(1, 2\)\n/);
    assert.deepEqual(json.columns.map((c) => c.label), ['policy=2018', 'policy=ban-multiple', 'policy=sorted-2020', 'policy=mainline']);
    assert.deepEqual(json.columns.map((c) => c.seedsOk), [2, 2, 2, 2]);
    assert.deepEqual(textRow(text.stdout, 'seeds').cells, ['2', '2', '2', '2']);
    // fits 120 columns (it aims at 100)
    for (const line of text.stdout.split('\n')) assert.ok(line.length <= 100, `${line.length}: ${line}`);
  });

  it('2018 leaves starts unpaired (the KVM count stays raised); the other policies pair every start', () => {
    const v = valuesByFigure(json);
    const unpaired = v.get('mmsim_notifier_unpaired_start')!;
    assert.deepEqual(unpaired, [[36, 39], [0, 0], [0, 0], [0, 0]]);
    assert.deepEqual(v.get('mmsim_notifier_unpaired_end'), [[0, 0], [0, 0], [0, 0], [0, 0]]);
    const row = textRow(text.stdout, 'notifier_unpaired_start');
    assert.equal(row.marked, true, 'the columns differ: marked');
    assert.deepEqual(row.cells, ['37.5 ± 19.1', '0', '0', '0']);
  });

  it('ban-multiple reaps nothing and kills the spare: oom_kill 2 against 1, the victim\'s memory never freed', () => {
    const v = valuesByFigure(json);
    assert.deepEqual(v.get('oom_kill'), [[1, 1], [2, 2], [1, 1], [1, 1]]);
    assert.deepEqual(v.get('oom_extra_kills'), [[0, 0], [1, 1], [0, 0], [0, 0]]);
    assert.deepEqual(v.get('mmsim_oom_pages_freed'), [[24552, 24552], [7642, 7642], [24552, 24552], [24552, 24552]]);
    assert.deepEqual(v.get('oom_kill_to_freed_ns')![1], [null, null]);
    assert.deepEqual(textRow(text.stdout, 'oom_kill').cells, ['1', '2', '1', '1']);
    assert.deepEqual(textRow(text.stdout, 'extra kills (after the 1st)').cells, ['0', '1', '0', '0']);
    assert.deepEqual(textRow(text.stdout, '1st kill → memory freed').cells, ['2.45s ± 0.64', 'never', '2.45s ± 0.64', '2.45s ± 0.64']);
    // the reaper reaps the victim in its 10 tries under 2018, sorted-2020 and mainline
    assert.deepEqual(v.get('mmsim_oom_reaper_attempts'), [[10, 10], [10, 10], [10, 10], [10, 10]]);
    assert.equal(textRow(text.stdout, 'oom_reaper_attempts').marked, false, 'equal columns: not marked');
    // one end-needer: sorted-2020 never disables non-blocking mode
    assert.deepEqual(v.get('mmsim_nonblock_disabled'), [[0, 0], [0, 0], [0, 0], [0, 0]]);
  });

  it('leaves out the rows that are 0 in every column, and says which', () => {
    const zero = json.rows.filter((r) => r.zero).map((r) => r.figure);
    assert.ok(zero.includes('mmsim_deadlock') && zero.includes('mmsim_notifier_unpaired_end') && zero.includes('pswpout'));
    assert.ok(!json.rows.find((r) => r.figure === 'mmsim_notifier_unpaired_start')!.zero);
    assert.doesNotMatch(text.stdout, /^. {3}deadlock /m);
    assert.match(text.stdout.replace(/\n/g, ' '), new RegExp(`${zero.length} figures are 0 in every column and left out: deadlock, hung_task,`));
  });

  it('the JSON has, per row and column, n, mean, ci, min, max and the per-seed values', () => {
    assert.deepEqual(json.seeds, [1, 2]);
    const cell = json.rows.find((r) => r.figure === 'mmsim_notifier_unpaired_start')!.columns[0]!;
    assert.equal(cell.n, 2);
    assert.equal(cell.mean, 37.5);
    assert.equal(cell.min, 36);
    assert.equal(cell.max, 39);
    // Student's t with 1 degree of freedom: 12.706 × s/√2, s = 2.121
    assert.ok(Math.abs(cell.ci! - 12.7062 * 1.5) < 1e-3, String(cell.ci));
    assert.equal(json.rows.find((r) => r.figure === 'oom_kill')!.differs, true);
  });
});

describe('mmsim compare oom-reaper-notifiers across notifiers.reaper (seed-scenarios §4)', () => {
  let text: Captured;
  let v: Map<string, (number | null)[][]>;
  before(async () => {
    text = await cli('compare', 'oom-reaper-notifiers', '--axis', ...REAPERS, '--quiet');
    const j = await cli('compare', 'oom-reaper-notifiers', '--axis', ...REAPERS, '--format', 'json', '--quiet');
    assert.equal(j.code, 0, j.stderr);
    v = valuesByFigure(JSON.parse(j.stdout) as JsonCompare);
  });

  it('a column per rule, the headers wrapped to fit', () => {
    assert.equal(text.code, 0, text.stderr);
    for (const line of text.stdout.split('\n')) assert.ok(line.length <= 100, `${line.length}: ${line}`);
    assert.match(text.stdout, /reaper=\n.*trylock-\n.*blocking-\n.*skip-mm .*block .*eagain .*trylock .*end\n/s);
  });

  it('skip-mm, does-not-block and always-eagain reap nothing and kill the spare', () => {
    for (const rule of [0, 1, 2]) {
      assert.deepEqual(v.get('oom_kill')![rule], [2], String(rule));
      assert.deepEqual(v.get('oom_extra_kills')![rule], [1]);
      assert.deepEqual(v.get('oom_kill_to_freed_ns')![rule], [null], 'the victim never freed');
      assert.deepEqual(v.get('mmsim_oom_pages_freed')![rule], [7642], 'only the spare\'s exit freed memory');
    }
    assert.deepEqual(v.get('mmsim_oom_reaper_attempts')!.map((c) => c[0]), [1, 1, 10, 10, 1]);
    assert.deepEqual(v.get('mmsim_oom_reaper_vmas_skipped')![2], [80], 'always-eagain: 10 tries × 8 VMAs');
    assert.deepEqual(textRow(text.stdout, '1st kill → memory freed').cells, ['never', 'never', 'never', '2.50s', '2.00s']);
  });

  it('trylock reaps the victim: nobody else is killed', () => {
    assert.deepEqual(v.get('oom_kill')![3], [1]);
    assert.deepEqual(v.get('mmsim_oom_pages_freed')![3], [24552]);
    assert.deepEqual(v.get('oom_kill_to_freed_ns')![3], [2.5e9]);
    assert.deepEqual(v.get('mmsim_oom_livelock')![3], [0]);
  });

  it('trylock-blocking-end: the reaper blocks in end after a non-blocking start, no second victim: a livelock', () => {
    assert.deepEqual(v.get('mmsim_end_blocked_after_nonblocking_start')!.map((c) => c[0]), [0, 0, 0, 0, 1]);
    assert.deepEqual(v.get('mmsim_oom_livelock')!.map((c) => c[0]), [0, 0, 0, 0, 1]);
    assert.deepEqual(v.get('oom_kill')![4], [1]);
    assert.deepEqual(v.get('mmsim_oom_pages_freed')![4], [3072], 'it stopped after the first VMA');
    assert.deepEqual(textRow(text.stdout, 'oom_livelock'), { marked: true, cells: ['0', '0', '0', '0', '1'] });
    assert.deepEqual(textRow(text.stdout, 'end_blocked_after_nonblocking_start'), { marked: true, cells: ['0', '0', '0', '0', '1'] });
  });
});

describe('mmsim compare: outputs', () => {
  it('the same bytes for -j 1 and -j 2: the table, the JSON and the CSV', async () => {
    const outs: string[] = [];
    for (const j of ['1', '2']) {
      const csv = join(root, `j${j}.csv`);
      const t = await cli('compare', 'notifier-pairing', '--axis', ...POLICIES, '-j', j, '--quiet', '--out', csv);
      const k = await cli('compare', 'notifier-pairing', '--axis', ...POLICIES, '-j', j, '--quiet', '--format', 'json');
      assert.equal(t.code, 0, t.stderr);
      outs.push(`${t.stdout.replace(csv, 'CSV')}\n${k.stdout}\n${readFileSync(csv, 'utf8')}`);
    }
    assert.equal(outs[0], outs[1]);
  });

  it('--out FILE.csv: one line per figure × column with the axis values, statistics and every seed', async () => {
    const csv = join(root, 'new', 'dir', 'pairing.csv');
    const r = await cli('compare', 'notifier-pairing', '--axis', ...POLICIES, '--quiet', '--out', csv);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`CSV \\(one line per figure × column\\): ${csv.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n$`));
    const lines = readFileSync(csv, 'utf8').trimEnd().split('\n');
    assert.equal(lines[0], 'figure,unit,column,notifiers.policy,n,mean,ci95_half_width,ci95_low,ci95_high,min,max,differs,seed_1,seed_2');
    const rows = lines.length - 1;
    assert.equal(rows % 4, 0);
    assert.ok(rows / 4 >= DETECTOR_COUNTERS.length + 10, 'every figure, the zero ones too');
    const unpaired = lines.filter((l) => l.startsWith('mmsim_notifier_unpaired_start,'));
    assert.equal(unpaired.length, 4);
    const [figure, unit, column, policy, n, mean, , , , min, max, differs, s1, s2] = unpaired[0]!.split(',');
    assert.deepEqual([figure, unit, column, policy, n, mean, min, max, differs, s1, s2],
      ['mmsim_notifier_unpaired_start', 'count', 'policy=2018', '2018', '2', '37.5', '36', '39', 'true', '36', '39']);
    const never = lines.find((l) => l.startsWith('oom_kill_to_freed_ns,ns,policy=ban-multiple,'))!;
    assert.match(never, /,0,,,,,,,true,,$/, 'no seed freed the victim: empty values, n 0');
  });

  it('--out DIR writes DIR/<scenario>.compare.csv', async () => {
    const dir = join(root, 'csvdir');
    const r = await cli('compare', 'notifier-pairing', '--axis', 'notifiers.policy=2018,mainline', '--quiet', '--out', dir);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(dir, 'notifier-pairing.compare.csv')));
  });

  it('several axes: a column per combination, labelled by the fields\' last components', async () => {
    const r = await cli('compare', 'oom-reaper-notifiers', '--axis', 'notifiers.reaper=trylock,always-eagain',
      '--axis', 'processes.victim.subscribers.mirror.busy=0,1', '--format', 'json', '--quiet');
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as JsonCompare;
    assert.deepEqual(json.columns.map((c) => c.label),
      ['reaper=trylock busy=0', 'reaper=trylock busy=1', 'reaper=always-eagain busy=0', 'reaper=always-eagain busy=1']);
    // trylock with a mirror that is never busy reaps at the first try; always busy is always-eagain
    assert.deepEqual(valuesByFigure(json).get('oom_kill'), [[1], [2], [2], [2]]);
  });
});

describe('mmsim compare: a point that fails', () => {
  it('is left out of its column\'s figures and listed; the exit status is 1', async () => {
    let stdout = '';
    let stderr = '';
    const code = await runCompare('notifier-pairing', { axes: ['notifiers.policy=2018,mainline'], seeds: '2', quiet: true },
      { stdout: (t) => { stdout += t; }, stderr: (t) => { stderr += t; }, stderrIsTTY: false }, { faults: { trapSeeds: [2] } });
    assert.equal(code, 1);
    assert.match(stderr, /^mmsim: 2 of 4 points failed \(left out of their column's figures\):\n {2}policy=2018 seed 2: simulation: /);
    assert.deepEqual(textRow(stdout, 'seeds').cells, ['1 of 2', '1 of 2']);
    assert.deepEqual(textRow(stdout, 'notifier_unpaired_start').cells, ['36', '0']);
  });
});

describe('mmsim compare: bad input is exit 2 before anything runs', () => {
  const refused = async (args: string[], message: RegExp): Promise<void> => {
    const csv = join(root, `refused-${Math.random().toString(36).slice(2)}.csv`);
    const r = await cli('compare', ...args, '--out', csv, '--quiet');
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, message);
    assert.ok(!existsSync(csv), 'nothing written');
  };

  it('a bad value names the field, the value and a good example', async () => {
    await refused(['notifier-pairing', '--axis', 'notifiers.policy=2018,2019'],
      /^mmsim: --axis notifiers\.policy=2018,2019: the value "2019" is refused: notifiers\.policy: 2019 is not one of 2018, ban-multiple, sorted-2020, mainline; e\.g\. --axis notifiers\.policy=2018,ban-multiple,sorted-2020,mainline\n$/);
    await refused(['notifier-pairing', '--axis', 'vm.swappiness=0,500'], /--axis vm\.swappiness=0,500: the value "500" is refused: vm\.swappiness: 500 is outside 0\.\.200; e\.g\. 60\n$/);
  });

  it('an unknown field lists the valid keys', async () => {
    await refused(['notifier-pairing', '--axis', 'notifiers.polcy=2018,mainline'],
      /^mmsim: --axis notifiers\.polcy=2018,mainline: notifiers\.polcy: unknown field; valid keys in notifiers: policy, reaper, mayfail\n$/);
  });

  it('an axis given twice, an axis also fixed by --set, no axis, no values, seeds as an axis', async () => {
    await refused(['notifier-pairing', '--axis', 'notifiers.policy=2018', '--axis', 'notifiers.policy=mainline'], /--axis notifiers\.policy is given twice/);
    await refused(['notifier-pairing', '--axis', 'notifiers.policy=2018,mainline', '--set', 'notifiers.policy=2018'], /both swept \(--axis\) and fixed \(--set/);
    await refused(['notifier-pairing'], /compare needs at least one --axis FIELD=v1,v2,… \(its values are the columns\); e\.g\. mmsim compare notifier-pairing --axis/);
    await refused(['notifier-pairing', '--axis', 'notifiers.policy='], /bad --axis notifiers\.policy=: no values/);
    await refused(['notifier-pairing', '--axis', 'seed=1,2'], /seeds are swept with --seeds N/);
    await refused(['notifier-pairing', '--axis', 'notifiers.policy=2018,2018'], /value 2018 appears twice/);
  });

  it('an output location that cannot be written, and a bad -j or --seeds', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    const r = await cli('compare', 'notifier-pairing', '--axis', 'notifiers.policy=2018', '--out', join(file, 'x.csv'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is a file, not a directory/);
    const d = await cli('compare', 'notifier-pairing', '--axis', 'notifiers.policy=2018', '--out', file);
    assert.equal(d.code, 2, 'a file where the directory should be');
    mkdirSync(join(root, 'dir.csv'));
    const c = await cli('compare', 'notifier-pairing', '--axis', 'notifiers.policy=2018', '--out', join(root, 'dir.csv'));
    assert.equal(c.code, 2);
    assert.match(c.stderr, /is a directory; give a file name/);
    await refused(['notifier-pairing', '--axis', 'notifiers.policy=2018', '-j', '0'], /-j 0: the number of worker threads/);
    await refused(['notifier-pairing', '--axis', 'notifiers.policy=2018', '--seeds', 'x'], /--seeds "x" is not an integer/);
  });

  it('from the shell: the message alone, no stack trace', () => {
    const r = spawnSync(process.execPath, [join(packageRoot(), 'bin', 'mmsim.js'), 'compare', 'notifier-pairing', '--axis', 'notifiers.reaper=sometimes'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^mmsim: --axis notifiers\.reaper=sometimes: the value "sometimes" is refused: .*; e\.g\. --axis notifiers\.reaper=skip-mm,does-not-block,always-eagain,trylock,trylock-blocking-end\n$/);
  });
});

describe('detector counters', () => {
  it('are the counters whose hits results.json lists under detectors (their doc says so)', () => {
    for (const name of ['mmsim_deadlock', 'mmsim_hung_task', 'mmsim_oom_livelock', 'mmsim_notifier_unpaired_start',
      'mmsim_notifier_unpaired_end', 'mmsim_end_blocked_after_nonblocking_start', 'mmsim_bug']) {
      assert.ok(DETECTOR_COUNTERS.includes(name), name);
    }
    for (const name of ['oom_kill', 'mmsim_oom_reaper_attempts', 'mmsim_nonblock_disabled', 'pgscan_kswapd']) {
      assert.ok(!DETECTOR_COUNTERS.includes(name), `${name} is a figure, not a detector`);
    }
  });
});

describe('mmsim compare --figure: counters of the user\'s choice as rows', () => {
  it('shows kvm rangeCheck\'s retries for a guest behind a sleeping invalidation, and refuses a name that is no counter', async () => {
    const file = join(root, 'rangecheck.yaml');
    writeFileSync(file, rangeCheckYaml());
    const r = await cli('compare', file, '--axis', 'processes.vm.subscribers.kvm.rangeCheck=true,false',
      '--figure', 'mmsim_kvm_fault_retries,mmsim_notifier_sleeps', '--figure', 'mmsim_secondary_faults', '--quiet');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /asked for \(--figure\)/);
    const retries = textRow(r.stdout, 'kvm_fault_retries');
    assert.ok(retries.marked);
    assert.equal(retries.cells[0], '0');
    assert.ok(Number(retries.cells[1]!.replace(/,/g, '')) > 900_000, retries.cells[1]);
    assert.deepEqual(textRow(r.stdout, 'notifier_sleeps').cells, ['1', '1']);
    assert.deepEqual(textRow(r.stdout, 'secondary_faults').cells, ['16,384', '16,384']);
    const bad = await cli('compare', file, '--axis', 'processes.vm.subscribers.kvm.rangeCheck=true,false', '--figure', 'kvm_fault_retries');
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /--figure kvm_fault_retries: "kvm_fault_retries" is not a counter .*; e\.g\. --figure mmsim_kvm_fault_retries/);
  });
});

describe('mmsim compare --figure pgscan_direct: a counter of its own, not the summed pgscan row', () => {
  it('shows kswapd\'s and direct reclaim\'s scans apart, and they add up to pgscan', async () => {
    const v = reader(await compareTable('bench-pressure', 'vm.swappiness', ['60'], '--set', 'machine.memory=256MiB',
      '--set', 'processes.bench.vmas.heap.size=4GiB', '--set', 'swap.size=4GiB', '--set', 'processes.bench.workload.0.accesses=1000000',
      '--figure', 'pgscan_kswapd,pgscan_direct'));
    const kswapd = v('pgscan_kswapd', '60'); const direct = v('pgscan_direct', '60');
    assert.ok(kswapd > 0 && direct > 0, `kswapd ${kswapd}, direct ${direct}`);
    assert.equal(kswapd + direct, v('pgscan', '60'));
  });
});
