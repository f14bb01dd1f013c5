import { randomBytes } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, ignoreMissing, vfsError } from './fs-errors.ts';
import type { InstanceArea } from './instance-area.ts';

/** Temporaries of writers still open in this process (any LocalVfs of it: tests make several on one root). */
const live = new Set<string>();

const FILE_MODE = 0o600;
const NAME = /^(\d+)-[0-9a-f]+$/;

export interface Temporary {
  path: string;
  handle: FileHandle;
  /** Forgets the temporary once it is renamed into place or removed. */
  release(): void;
}

/**
 * Opens a new temporary file in the instance's `.cozy_tmp`, on the same file system as its destination so the
 * final rename is atomic. Named `<pid>-<random>`: a cleanup can then tell a dead process's leftovers from a
 * live upload of another process sharing the folder.
 */
export async function createTemporary(area: InstanceArea): Promise<Temporary> {
  await area.ensureDir(area.tmpDir);
  const path = join(area.tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
  let handle: FileHandle;
  try {
    // O_EXCL: never reuse an existing entry, and with O_CREAT it never follows a link either.
    handle = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, FILE_MODE);
  } catch (err) {
    throw vfsError(err);
  }
  live.add(path);
  return { path, handle, release: () => live.delete(path) };
}

/** Removes the temporaries whose writer is gone (a crash, a kill -9); returns how many. */
export async function cleanupTemporaries(area: InstanceArea): Promise<number> {
  if (!(await area.existsReal(area.tmpDir))) return 0;
  let entries: Dirent[];
  try {
    entries = await readdir(area.tmpDir, { withFileTypes: true });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 0;
    throw vfsError(err);
  }
  let removed = 0;
  for (const entry of entries) {
    const path = join(area.tmpDir, entry.name);
    if (isLive(entry.name, path)) continue;
    // Anything else in this folder is ours to drop, even a name we would not make (a directory is left alone).
    if (entry.isDirectory()) continue;
    await ignoreMissing(unlink(path));
    removed++;
  }
  return removed;
}

function isLive(name: string, path: string): boolean {
  const pid = Number(NAME.exec(name)?.[1] ?? 0);
  if (pid === 0) return false;
  if (pid === process.pid) return live.has(path);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else; its temporary may be in use.
    return errnoCode(err) === 'EPERM';
  }
}
