import type { Stats } from 'node:fs';
import { link, lstat, rename, unlink } from 'node:fs/promises';
import { VfsErrors } from '@cozy-ts/kernel';
import { errnoCode, vfsError } from './fs-errors.ts';

/** lstat, or null when nothing is there. Never follows a link. */
export async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw vfsError(err);
  }
}

/** The regular file at `path`, or null; a link or a directory there is refused rather than used. */
export async function regularFileOrNull(path: string): Promise<Stats | null> {
  const st = await lstatOrNull(path);
  if (st?.isSymbolicLink()) throw VfsErrors.unsafePath();
  if (st && !st.isFile()) throw VfsErrors.exists('A directory is at this path');
  return st;
}

/**
 * rename(2) that refuses to replace an existing entry (409), like cozy-stack's safeRename. The check and the
 * rename are two calls: the VFS service's lock is what serialises competing writers. The one replacement
 * allowed is an entry onto itself (a case-only rename on a case-insensitive disk finds the same inode).
 */
export async function renameNoReplace(from: string, to: string): Promise<void> {
  const target = await lstatOrNull(to);
  if (target) {
    const source = await lstatOrNull(from);
    if (!source || source.ino !== target.ino || source.dev !== target.dev) throw VfsErrors.exists();
  }
  try {
    await rename(from, to);
  } catch (err) {
    throw vfsError(err, () => VfsErrors.parentNotFound());
  }
}

// Disks without hard links (FAT, exFAT, some network mounts) answer these.
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EMLINK']);

/**
 * Keeps the file at `path` also under `copy` before `path` gets replaced. A hard link keeps `path` readable
 * throughout (a reader or a crash never sees it missing); where the disk has none, the file is moved, and
 * `undo` moves it back if the replacement fails.
 */
export async function keepAs(path: string, copy: string): Promise<{ undo: () => Promise<void> }> {
  try {
    await linkReplacing(path, copy);
    return { undo: () => unlink(copy).catch(() => {}) };
  } catch (err) {
    if (!NO_HARD_LINKS.has(errnoCode(err) ?? '')) throw vfsError(err);
  }
  await rename(path, copy).catch((err: unknown) => {
    throw vfsError(err);
  });
  return { undo: () => rename(copy, path).catch(() => {}) };
}

/** An entry already at `to` is a leftover of a crash between two steps of an earlier keepAs: replace it. */
async function linkReplacing(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
    await unlink(to);
    await link(from, to);
  }
}
