/**
 * Checks an output location before any work starts, so that a bad `--out` is exit 2 with the
 * path and the reason, not a failure after minutes of simulation.
 *
 * The check is our own, bounded walk instead of `mkdir(…, { recursive: true })`: Node's
 * recursive mkdir loops forever on /proc (mkdir there fails with ENOENT for any parent, so it
 * keeps retrying), and it reports a file in the path as a misleading EEXIST.
 */
import { accessSync, constants, mkdirSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { UsageError } from './errors.js';

export interface OutputCheck {
  /** The option that named the location, for messages: `--out`. */
  flag: string;
  /** What is written there: a directory of files (run, plan) or one file (a sweep's JSONL). */
  kind: 'directory' | 'file';
  /** For a directory: the only names an existing directory may hold to be replaced. */
  ours?: readonly string[];
  /** A good value, shown in messages: `--out out/run1`. */
  example: string;
}

export interface OutputLocation {
  /** The absolute path. */
  target: string;
  /** Directories to create before it, outermost first (they do not exist yet). */
  missing: string[];
  /** Whether `target` itself exists (a directory of earlier outputs, or the file). */
  exists: boolean;
}

/** Filesystems that hold kernel interfaces, not files: writing there is never meant. */
const PSEUDO_FILESYSTEMS = ['/proc', '/sys'];

function under(path: string, top: string): boolean {
  return path === top || path.startsWith(top + sep);
}

/** `permission denied`, `read-only file system`, … from an fs error. */
function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EROFS': return 'read-only file system';
    case 'ELOOP': return 'too many symbolic links';
    case 'ENAMETOOLONG': return 'the name is too long';
    default: return (error as Error).message;
  }
}

/**
 * Throws a UsageError naming `path` and the reason unless the output can be written there:
 * its first existing ancestor is a writable directory on a regular filesystem, and an existing
 * target is of the right kind (for a directory: writable and holding only `ours`; for a file: a
 * regular file). Reads only; creates nothing.
 */
export function checkOutputLocation(path: string, check: OutputCheck): OutputLocation {
  const target = resolve(path);
  const fail = (why: string): never => {
    throw new UsageError(`${check.flag} ${path}: ${why}; e.g. ${check.example}`);
  };
  const refusePseudo = (p: string): void => {
    const top = PSEUDO_FILESYSTEMS.find((t) => under(p, t));
    if (top !== undefined) fail(`${top} is a kernel interface, not a regular filesystem for output files`);
  };
  refusePseudo(target);

  // Walk up to the first path that exists: at most one step per component, so it ends.
  const missing: string[] = [];
  let existing = target;
  let info: Stats;
  for (;;) {
    try {
      info = statSync(existing);
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ENOTDIR: a component above is a file; keep walking to find and name it.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') fail(`cannot look at ${existing}: ${reason(error)}`);
      const parent = dirname(existing);
      if (parent === existing) fail(`no part of the path exists`);
      missing.unshift(existing);
      existing = parent;
    }
  }
  let real = existing;
  try { real = realpathSync(existing); } catch { /* statSync succeeded; keep the resolved name */ }
  refusePseudo(real);

  const writable = (dir: string): void => {
    try {
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch (error) {
      fail(`cannot write in ${dir}: ${reason(error)}`);
    }
  };

  if (existing !== target) {
    // `existing` is an ancestor; the target and the directories between are to be created.
    if (!info.isDirectory()) fail(`${existing} is a file, not a directory, so nothing can be created under it`);
    writable(existing);
    return { target, missing: missing.slice(0, -1), exists: false };
  }

  if (check.kind === 'directory') {
    if (!info.isDirectory()) fail(`${target} exists and is not a directory`);
    let names: string[] = [];
    try { names = readdirSync(target); } catch (error) { fail(`cannot read ${target}: ${reason(error)}`); }
    const ours = new Set(check.ours ?? []);
    const foreign = names.filter((name) => !ours.has(name));
    if (foreign.length > 0) {
      fail(`${target} already holds other files (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); ` +
        'an existing output directory is replaced only when it is empty or holds only the outputs of an earlier run; choose a new or empty directory');
    }
    // The new directory is renamed into the parent and the old one's files are removed.
    writable(target);
  } else {
    if (info.isDirectory()) fail(`${target} is a directory; give a file name`);
    if (!info.isFile()) fail(`${target} exists and is not a regular file`);
  }
  writable(dirname(target));
  return { target, missing: [], exists: true };
}

/** Creates the directories checkOutputLocation found missing, one level at a time. */
export function createMissingDirs(missing: readonly string[]): void {
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
