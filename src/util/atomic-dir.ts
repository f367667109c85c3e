/**
 * Writes a directory of files all-or-nothing: the files go to a temporary directory beside the
 * target and are renamed into place only when every one is complete. A failure (a full disk, a
 * formatter that throws) leaves the previous outputs, or nothing, behind — never a mix of old
 * and new files that looks like a finished run.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { checkOutputLocation, type OutputCheck } from './out-path.js';

export interface OutputFile {
  name: string;
  /** The content, or a function producing it, called while writing (so a failure is contained). */
  content: string | (() => string);
}

/**
 * Replaces `dir` by a directory holding exactly `files`. An existing `dir` is replaced only if
 * it holds nothing but files of these names (outputs of an earlier run), so pointing `--out` at
 * a directory with other things in it cannot delete them (`check.ours` widens the names, for
 * outputs that are not always written). Callers run checkOutputLocation with
 * the same names before the work, so that a bad location is reported before, not after it.
 */
export async function writeDirectoryAtomically(dir: string, files: readonly OutputFile[], check: Partial<Omit<OutputCheck, 'kind'>> = {}): Promise<void> {
  const { target, missing } = checkOutputLocation(dir, {
    flag: check.flag ?? 'output directory', example: check.example ?? 'out/run1',
    kind: 'directory', ours: check.ours ?? files.map((f) => f.name),
  });
  const parent = dirname(target);
  // One level at a time, along the path the check walked (never a recursive mkdir; see out-path.ts).
  for (const d of missing) await mkdir(d).catch((error: NodeJS.ErrnoException) => { if (error.code !== 'EEXIST') throw error; });
  const firstCreated = missing[0];
  // mkdir, not mkdtemp: mkdtemp makes the directory 0700, and it becomes the output directory;
  // mkdir's default mode 0777 is reduced by the user's umask, as for any directory they create.
  const staging = join(parent, `.${basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
  await mkdir(staging);
  try {
    for (const file of files) {
      const content = typeof file.content === 'function' ? file.content() : file.content;
      await writeFile(join(staging, file.name), content);
    }
    await swapIntoPlace(staging, target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    if (firstCreated !== undefined) await removeEmptyDirs(parent, firstCreated);
    throw error;
  }
}

/** Moves the old directory aside first, and back if the new one cannot take its place. */
async function swapIntoPlace(staging: string, target: string): Promise<void> {
  const exists = await stat(target).then(() => true, () => false);
  if (!exists) {
    await rename(staging, target);
    return;
  }
  const aside = join(dirname(target), `.${basename(target)}.old-${randomBytes(4).toString('hex')}`);
  await rename(target, aside);
  try {
    await rename(staging, target);
  } catch (error) {
    await rename(aside, target);
    throw error;
  }
  await rm(aside, { recursive: true, force: true });
}

/** Removes `dir` and its parents up to and including `top`, as long as they are empty. */
async function removeEmptyDirs(dir: string, top: string): Promise<void> {
  let current = dir;
  for (;;) {
    const removed = await rmdir(current).then(() => true, () => false);
    if (!removed || current === top || relative(top, current).startsWith('..')) return;
    current = dirname(current);
  }
}
