/**
 * Output locations are checked before any work, through the real `mmsim` binary: `run --out`,
 * `sweep --out` and `plan dirty --out` refuse an unwritable or read-only directory, a path
 * under a file, an existing file, a directory holding other files, and /proc or /sys (where
 * Node's recursive mkdir would loop forever) — exit 2 with the path and the reason, nothing
 * written, no simulation started. Output directories follow the user's umask, and `run` has
 * one replacement rule for its default out/<scenario> and an explicit --out.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/util/package.js';
import { heapYaml } from './helpers.js';

const bin = join(packageRoot(), 'bin', 'mmsim.js');
const dir = mkdtempSync(join(tmpdir(), 'mmsim-out-'));
// Readable by the unprivileged user the permission cases run as (below).
chmodSync(dir, 0o755);

/** Spawns the CLI; a run that started simulating `long.yaml` would hit the timeout (status null). */
function mmsim(args: string[], options: SpawnSyncOptions = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000, cwd: dir, ...options });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * Permission bits do not stop root, so as root the permission cases run the CLI as `nobody`;
 * as any other user they run as that user, in directories it made read-only.
 */
const unprivileged: SpawnSyncOptions = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

// An hour of simulated accesses: far longer than any timeout here, so exit 2 within the
// timeout shows the refusal came before the simulation.
const long = join(dir, 'long.yaml');
writeFileSync(long, heapYaml('long', '1h'));
const quick = join(dir, 'quick.yaml');
writeFileSync(quick, readFileSync(long, 'utf8').replace('name: long', 'name: quick').replace('duration: 1h', 'duration: 100ms'));

const aFile = join(dir, 'a-file');
writeFileSync(aFile, 'not a directory\n');
const full = join(dir, 'full');
mkdirSync(full);
writeFileSync(join(full, 'thesis.tex'), 'precious');
const readOnly = join(dir, 'read-only');
mkdirSync(readOnly);
chmodSync(readOnly, 0o555);
after(() => {
  chmodSync(readOnly, 0o755);
  rmSync(dir, { recursive: true, force: true });
});

function refused(r: ReturnType<typeof mmsim>, path: string, why: RegExp): void {
  assert.equal(r.status, 2, `exit 2 before any simulation (status ${r.status}): ${r.stderr}`);
  assert.ok(r.stderr.includes(path), `names ${path}: ${r.stderr}`);
  assert.match(r.stderr, why);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(r.stdout, '');
}

const commands: [string, (out: string) => string[], string][] = [
  ['run', (out) => ['run', long, '--out', out], 'run'],
  ['sweep', (out) => ['sweep', long, '--param', 'vm.swappiness=10,60', '--out', out], 'sweep.jsonl'],
  ['plan dirty', (out) => ['plan', 'dirty', long, '--ratio', '10,20', '--out', out], 'plan'],
];

for (const [name, args, leaf] of commands) {
  test(`${name} --out: a path under a file, under /proc or /sys, and an unwritable directory are refused up front`, () => {
    refused(mmsim(args(join(aFile, leaf))), aFile, /is a file, not a directory/);
    // Node's recursive mkdir loops forever on /proc; the check must answer at once
    refused(mmsim(args(`/proc/mmsim-test/${leaf}`)), '/proc/mmsim-test', /\/proc is a kernel interface, not a regular filesystem/);
    refused(mmsim(args(`/sys/mmsim-test/${leaf}`)), '/sys/mmsim-test', /\/sys is a kernel interface/);
    refused(mmsim(args(join(readOnly, 'sub', leaf)), unprivileged), readOnly, /cannot write in .*read-only: permission denied/);
    // a directory this user cannot write (dir is another user's when running as nobody)
    const other = join(dir, `not-mine-${leaf}`);
    mkdirSync(other);
    if (!unprivileged.uid) chmodSync(other, 0o555);
    refused(mmsim(args(join(other, leaf)), unprivileged), other, /permission denied/);
    assert.deepEqual(readdirSync(other), []);
    assert.ok(!existsSync(join(readOnly, 'sub')));
  });
}

test('run and plan dirty refuse an existing file, a directory holding other files and a read-only directory', () => {
  for (const [name, args] of commands.filter(([n]) => n !== 'sweep')) {
    refused(mmsim(args(aFile)), aFile, /exists and is not a directory/);
    refused(mmsim(args(full)), full, /already holds other files \(thesis\.tex\)/);
    assert.deepEqual(readdirSync(full), ['thesis.tex'], name);
    refused(mmsim(args(readOnly), unprivileged), readOnly, /cannot write in .*read-only: permission denied/);
  }
});

test('sweep --out refuses a directory, and an existing JSONL without --resume or --force', () => {
  refused(mmsim(commands[1]![1](full)), full, /is a directory; give a file name/);
  const r = mmsim(commands[1]![1](aFile));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /a-file already exists; add --resume/);
  assert.equal(readFileSync(aFile, 'utf8'), 'not a directory\n');
});

test('output directories follow the umask, not mkdtemp\'s 0700', () => {
  for (const [umask, dirMode, fileMode] of [['022', 0o755, 0o644], ['027', 0o750, 0o640]] as const) {
    const out = join(dir, `umask-${umask}`, 'run');
    const r = spawnSync('sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, bin, 'run', quick, '--quiet', '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(statSync(out).mode & 0o777, dirMode, `${out} under umask ${umask}`);
    assert.equal(statSync(join(out, '..')).mode & 0o777, dirMode, 'the parent it created too');
    for (const f of readdirSync(out)) assert.equal(statSync(join(out, f)).mode & 0o777, fileMode, f);
  }
});

test('run: one rule for out/<scenario> and --out — replaced when empty or holding only run outputs, refused otherwise', () => {
  const work = join(dir, 'work');
  mkdirSync(work);
  // the README's quick start: the same run twice in a row
  for (let i = 0; i < 2; i++) {
    const r = mmsim(['run', quick, '--quiet', '--seed', String(i + 1)], { cwd: work });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(join(work, 'out', 'quick', 'results.json'), 'utf8')).seed, i + 1);
  }
  const explicit = join(work, 'mine');
  mkdirSync(explicit);
  assert.equal(mmsim(['run', quick, '--quiet', '--out', explicit]).status, 0, 'an empty directory is used');
  assert.equal(mmsim(['run', quick, '--quiet', '--out', explicit, '--seed', '5']).status, 0, 'an earlier run\'s outputs are replaced');
  assert.equal(JSON.parse(readFileSync(join(explicit, 'results.json'), 'utf8')).seed, 5);
  // anything else in the directory: refused, the default location exactly like --out
  writeFileSync(join(work, 'out', 'quick', 'notes.txt'), 'mine');
  writeFileSync(join(explicit, 'notes.txt'), 'mine');
  refused(mmsim(['run', quick, '--quiet'], { cwd: work }), join(work, 'out', 'quick'), /already holds other files \(notes\.txt\)/);
  refused(mmsim(['run', quick, '--quiet', '--out', explicit]), explicit, /already holds other files \(notes\.txt\)/);
  assert.equal(readFileSync(join(explicit, 'notes.txt'), 'utf8'), 'mine');
  const help = mmsim(['run', '--help']);
  assert.match(help.stdout, /One rule for the default out\/<scenario> and an explicit --out/);
});
