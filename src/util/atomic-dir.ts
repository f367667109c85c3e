/**
 * Writes a directory of files all-or-nothing: the files go to a temporary directory beside the
 * target and are renamed into place only when every one is complete. A failure (a full disk, a
 * formatter that throws) leaves the previous outputs, or nothing, behind — never a mix of old
 * and new files that looks like a finished run.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';

export interface OutputFile {
  name: string;
  /** The content, or a function producing it, called while writing (so a failure is contained). */
  content: string | (() => string);
}

/**
 * Replaces `dir` by a directory holding exactly `files`. An existing `dir` is replaced only if
 * it holds nothing but files of these names (outputs of an earlier run), so pointing `--out` at
 * a directory with other things in it cannot delete them.
 */
export async function writeDirectoryAtomically(dir: string, files: readonly OutputFile[]): Promise<void> {
  const target = resolve(dir);
  const parent = dirname(target);
  await assertReplaceableDirectory(target, files.map((f) => f.name));
  const firstCreated = await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, `.${basename(target)}.tmp-`));
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

/**
 * Throws unless `dir` is absent or holds only files named in `names`; callers check this before
 * a long run so that a bad --out is reported before, not after, the work.
 */
export async function assertReplaceableDirectory(dir: string, names: readonly string[]): Promise<void> {
  const target = resolve(dir);
  const info = await stat(target).catch(() => undefined);
  if (info === undefined) return;
  if (!info.isDirectory()) throw new Error(`${target} exists and is not a directory`);
  const ours = new Set(names);
  const foreign = (await readdir(target)).filter((name) => !ours.has(name));
  if (foreign.length > 0) {
    throw new Error(`${target} already holds other files (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); ` +
      'choose a new or empty output directory');
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
