import type { Dir, Dirent } from 'node:fs';
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { VFS_RESERVED_NAMES, type StoredEntry } from '@cozy-ts/kernel';
import { errnoCode } from './fs-errors.ts';
import { THUMBS_DIR, VERSIONS_DIR, parseThumbnailName, type InstanceArea } from './instance-area.ts';

/**
 * Everything stored in an instance's folder: the user's tree, then versions, then thumbnails. Directories are
 * streamed with opendir and visited depth-first with an explicit stack, so memory follows the depth of the tree,
 * not its size. Links and special files are never followed nor reported: they are not content.
 */
export async function* walkArea(area: InstanceArea): AsyncGenerator<StoredEntry> {
  if (!(await area.existsReal(area.dir))) return;
  yield* walkTree(area.dir);
  // Only the top folders need a check: below them, opendir's entries report links as links, never as folders.
  const versions = join(area.dir, VERSIONS_DIR);
  if (await area.existsReal(versions)) yield* walkVersions(versions);
  const thumbs = join(area.dir, THUMBS_DIR);
  if (await area.existsReal(thumbs)) yield* walkThumbnails(thumbs);
}

async function* walkTree(root: string): AsyncGenerator<StoredEntry> {
  const stack: Array<{ dir: string; path: string }> = [{ dir: root, path: '' }];
  for (let next = stack.pop(); next; next = stack.pop()) {
    for await (const entry of entries(next.dir)) {
      if (next.path === '' && VFS_RESERVED_NAMES.includes(entry.name)) continue;
      const path = `${next.path}/${entry.name}`;
      const full = join(next.dir, entry.name);
      if (entry.isDirectory()) {
        yield { kind: 'dir', path };
        stack.push({ dir: full, path });
      } else if (entry.isFile()) {
        const st = await lstat(full);
        yield { kind: 'file', path, size: st.size, mtime: st.mtime };
      }
    }
  }
}

/** `.cozy_versions/<id[:4]>/<id[4:]>/<internalId>` */
async function* walkVersions(root: string): AsyncGenerator<StoredEntry> {
  for await (const head of entries(root)) {
    if (!head.isDirectory()) continue;
    for await (const tail of entries(join(root, head.name))) {
      if (!tail.isDirectory()) continue;
      const dir = join(root, head.name, tail.name);
      for await (const version of entries(dir)) {
        if (!version.isFile()) continue;
        const st = await lstat(join(dir, version.name));
        yield { kind: 'version', id: head.name + tail.name, internalId: version.name, size: st.size, mtime: st.mtime };
      }
    }
  }
}

/** `.thumbs/<id[:4]>/<id>-<format>.jpg` */
async function* walkThumbnails(root: string): AsyncGenerator<StoredEntry> {
  for await (const head of entries(root)) {
    if (!head.isDirectory()) continue;
    for await (const thumb of entries(join(root, head.name))) {
      const parsed = thumb.isFile() ? parseThumbnailName(thumb.name) : null;
      if (!parsed) continue;
      const st = await lstat(join(root, head.name, thumb.name));
      yield { kind: 'thumbnail', ...parsed, size: st.size, mtime: st.mtime };
    }
  }
}

/** A folder's entries, streamed; a folder that is gone (or never was) has none. */
async function* entries(dir: string): AsyncGenerator<Dirent> {
  let handle: Dir;
  try {
    handle = await opendir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return;
    throw err;
  }
  yield* handle;
}
