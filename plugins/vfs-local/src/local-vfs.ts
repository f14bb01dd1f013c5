import type { Stats } from 'node:fs';
import { mkdir, opendir, readdir, realpath, rename, rm, rmdir, statfs, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  VFS_TRASH_PATH, VfsErrors, checkFileId, checkThumbnailRef, checkVersionRef, vfsEntrySegments, vfsPathSegments,
  type ByteRange, type ContentInfo, type ContentRef, type ContentStat, type ContentWriter, type InstanceRef,
  type StoredEntry, type VersionRef, type VfsContent, type WriteOptions,
} from '@cozy-ts/kernel';
import { TempFileWriter } from './content-writer.ts';
import { ignoreMissing, vfsError } from './fs-errors.ts';
import { DIR_MODE, InstanceArea, instanceFolder, mkdirOnce, parseThumbnailName } from './instance-area.ts';
import { keepAs, lstatOrNull, regularFileOrNull, renameNoReplace } from './placement.ts';
import { readContent } from './read-content.ts';
import { cleanupTemporaries, createTemporary } from './temporaries.ts';
import { walkArea } from './walk.ts';

export interface LocalVfsOptions {
  /** The folder holding one folder per instance; made if missing. May itself be a link (to a mounted disk). */
  root: string;
  /** fsync every content before it becomes visible (default true). */
  fsync?: boolean;
}

/**
 * `vfs` on a local disk, in cozy-stack's layout: `<root>/<domain>/` mirrors the user's tree, so a self-hoster
 * can read their files directly; versions, thumbnails and temporaries sit in reserved folders beside it.
 * Every name is validated before any I/O, every parent folder is checked to be reached without a link, and
 * every last component is opened or replaced without following one (see README "Guarantees").
 */
export class LocalVfs implements VfsContent {
  readonly kind = 'local';
  readonly addressing = 'path';
  readonly maxFileSize = null;
  readonly #rootPath: string;
  readonly #fsync: boolean;
  #root?: Promise<string>;

  constructor(options: LocalVfsOptions) {
    this.#rootPath = options.root;
    this.#fsync = options.fsync ?? true;
  }

  /** Makes the root folder if needed and resolves its real path once (retried after a failure). */
  prepare(): Promise<string> {
    this.#root ??= (async () => {
      await mkdir(this.#rootPath, { recursive: true, mode: DIR_MODE });
      return realpath(this.#rootPath);
    })().catch((err: unknown) => {
      this.#root = undefined;
      throw err;
    });
    return this.#root;
  }

  /** Removes the temporaries every instance's dead writers left behind (start-up, after a crash). */
  async cleanupAllTemporaries(): Promise<number> {
    const root = await this.prepare();
    let removed = 0;
    for (const entry of await readdir(root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      removed += await cleanupTemporaries(new InstanceArea(join(root, entry.name)));
    }
    return removed;
  }

  async initInstance(inst: InstanceRef): Promise<void> {
    const area = await this.#area(inst);
    await mkdirOnce(area.dir);
    await area.ensureDir(area.tree(vfsPathSegments(VFS_TRASH_PATH)));
    await area.ensureDir(area.tmpDir);
  }

  async destroyInstance(inst: InstanceRef): Promise<void> {
    const area = await this.#area(inst);
    // rm does not follow links: a planted link in place of the folder is removed, never its target.
    await rm(area.dir, { recursive: true, force: true });
  }

  async cleanupTemporaries(inst: InstanceRef): Promise<number> {
    return cleanupTemporaries(await this.#area(inst));
  }

  async freeSpace(inst: InstanceRef): Promise<number | null> {
    const area = await this.#area(inst);
    const fs = await statfs(area.dir).catch(() => statfs(dirname(area.dir)));
    return fs.bavail * fs.bsize;
  }

  async createDir(inst: InstanceRef, path: string): Promise<void> {
    const segments = vfsEntrySegments(path);
    const area = await this.#area(inst);
    const target = area.tree(segments);
    await area.assertReal(dirname(target));
    await mkdirOnce(target);
  }

  async renameDir(inst: InstanceRef, from: string, to: string): Promise<void> {
    const [src, dst] = [vfsEntrySegments(from), vfsEntrySegments(to)];
    if (to.startsWith(`${from}/`)) throw VfsErrors.forbiddenMove();
    const area = await this.#area(inst);
    const [source, target] = [area.tree(src), area.tree(dst)];
    await area.assertReal(dirname(source), () => VfsErrors.notFound());
    await area.assertReal(dirname(target));
    const st = await lstatOrNull(source);
    if (st?.isSymbolicLink()) throw VfsErrors.unsafePath();
    if (!st?.isDirectory()) throw VfsErrors.notFound('No directory at this path');
    await renameNoReplace(source, target);
  }

  async deleteDir(inst: InstanceRef, path: string): Promise<void> {
    const segments = vfsEntrySegments(path);
    const area = await this.#area(inst);
    const target = area.tree(segments);
    if (!(await area.existsReal(dirname(target)))) return;
    const st = await lstatOrNull(target);
    if (!st) return;
    if (st.isSymbolicLink()) throw VfsErrors.unsafePath();
    if (!st.isDirectory()) throw VfsErrors.exists('A file is at this path');
    await rm(target, { recursive: true, force: true });
  }

  async createWriter(inst: InstanceRef, file: ContentRef, opts: WriteOptions = {}): Promise<ContentWriter> {
    const segments = checkContentRef(file);
    const { replaces } = opts;
    if (replaces) checkVersionRef({ id: file.id, internalId: replaces.internalId });
    if (replaces?.internalId === file.internalId) throw VfsErrors.badId('A new content needs a new internal id');
    if (opts.maxSize !== undefined && (opts.expectedSize ?? 0) > opts.maxSize) throw VfsErrors.tooLarge();
    const area = await this.#area(inst);
    const target = area.tree(segments);
    // Checked now so a client learns of a missing parent or a taken name before sending its body; again at commit.
    await area.assertReal(dirname(target));
    if (!replaces && (await lstatOrNull(target))) throw VfsErrors.exists();
    const place = replaces
      ? (tmp: string) => this.#overwrite(area, tmp, target, { id: file.id, internalId: replaces.internalId }, replaces.keepAsVersion)
      : async (tmp: string) => {
          await area.assertReal(dirname(target));
          await renameNoReplace(tmp, target);
          return false;
        };
    return new TempFileWriter({ temporary: await createTemporary(area), limits: opts, fsync: this.#fsync, place });
  }

  async read(inst: InstanceRef, file: ContentRef, range?: ByteRange): Promise<Readable> {
    const segments = checkContentRef(file);
    const area = await this.#area(inst);
    const target = area.tree(segments);
    await area.assertReal(dirname(target), () => VfsErrors.notFound());
    return readContent(target, range);
  }

  async stat(inst: InstanceRef, file: ContentRef): Promise<ContentStat> {
    const segments = checkContentRef(file);
    const area = await this.#area(inst);
    const target = area.tree(segments);
    await area.assertReal(dirname(target), () => VfsErrors.notFound());
    const st = await fileAt(target);
    return { size: st.size, mtime: st.mtime };
  }

  async moveFile(inst: InstanceRef, file: ContentRef, toPath: string): Promise<void> {
    const [src, dst] = [checkContentRef(file), vfsEntrySegments(toPath)];
    const area = await this.#area(inst);
    const [source, target] = [area.tree(src), area.tree(dst)];
    await area.assertReal(dirname(source), () => VfsErrors.notFound());
    await area.assertReal(dirname(target));
    await fileAt(source);
    await renameNoReplace(source, target);
  }

  async copyFile(inst: InstanceRef, from: ContentRef, to: ContentRef): Promise<ContentInfo> {
    checkContentRef(to);
    const source = await this.read(inst, from);
    let writer: ContentWriter;
    try {
      writer = await this.createWriter(inst, to);
    } catch (err) {
      source.destroy();
      throw err;
    }
    try {
      await pipeline(source, writer);
      return await writer.commit();
    } finally {
      await writer.abort();
    }
  }

  async deleteFile(inst: InstanceRef, file: ContentRef): Promise<void> {
    const segments = checkContentRef(file);
    const area = await this.#area(inst);
    const target = area.tree(segments);
    if (await area.existsReal(dirname(target))) {
      const st = await lstatOrNull(target);
      // unlink never follows: a link found here goes, its target stays. A directory here is not this file's.
      if (st && !st.isDirectory()) await ignoreMissing(unlink(target));
    }
    await deleteVersions(area, file.id);
    await deleteThumbnails(area, file.id);
  }

  async readVersion(inst: InstanceRef, version: VersionRef, range?: ByteRange): Promise<Readable> {
    checkVersionRef(version);
    const area = await this.#area(inst);
    await area.assertReal(area.versionsDir(version.id), () => VfsErrors.notFound());
    return readContent(area.version(version), range);
  }

  async deleteVersion(inst: InstanceRef, version: VersionRef): Promise<void> {
    checkVersionRef(version);
    const area = await this.#area(inst);
    const dir = area.versionsDir(version.id);
    if (!(await area.existsReal(dir))) return;
    await ignoreMissing(unlink(area.version(version)));
    await removeEmptyDir(dir);
  }

  async revertVersion(inst: InstanceRef, file: ContentRef, version: VersionRef): Promise<void> {
    const segments = checkContentRef(file);
    checkVersionRef(version);
    if (version.id !== file.id) throw VfsErrors.badId('The version belongs to another file');
    if (version.internalId === file.internalId) throw VfsErrors.badId('The version is the current content');
    const area = await this.#area(inst);
    const target = area.tree(segments);
    await area.assertReal(dirname(target));
    await area.assertReal(area.versionsDir(version.id), () => VfsErrors.notFound());
    const restored = area.version(version);
    await fileAt(restored);
    const current = await regularFileOrNull(target);
    const kept = current ? await keepAs(target, area.version({ id: file.id, internalId: file.internalId })) : undefined;
    try {
      await rename(restored, target);
    } catch (err) {
      await kept?.undo();
      throw vfsError(err);
    }
  }

  async createThumbnailWriter(inst: InstanceRef, fileId: string, format: string): Promise<ContentWriter> {
    checkThumbnailRef(fileId, format);
    const area = await this.#area(inst);
    const dir = area.thumbsDir(fileId);
    await area.ensureDir(dir);
    const place = async (tmp: string) => {
      await area.assertReal(dir);
      await rename(tmp, area.thumbnail(fileId, format)).catch((err: unknown) => {
        throw vfsError(err);
      });
      return false;
    };
    return new TempFileWriter({ temporary: await createTemporary(area), limits: {}, fsync: this.#fsync, place });
  }

  async readThumbnail(inst: InstanceRef, fileId: string, format: string): Promise<Readable> {
    checkThumbnailRef(fileId, format);
    const area = await this.#area(inst);
    await area.assertReal(area.thumbsDir(fileId), () => VfsErrors.notFound());
    return readContent(area.thumbnail(fileId, format));
  }

  async deleteThumbnails(inst: InstanceRef, fileId: string): Promise<void> {
    checkFileId(fileId);
    await deleteThumbnails(await this.#area(inst), fileId);
  }

  async *walk(inst: InstanceRef): AsyncGenerator<StoredEntry> {
    yield* walkArea(await this.#area(inst));
  }

  async #area(inst: InstanceRef): Promise<InstanceArea> {
    const folder = instanceFolder(inst.domain);
    return new InstanceArea(join(await this.prepare(), folder));
  }

  /** Puts a verified temporary in place of the file's current content, keeping that one as a version if asked. */
  async #overwrite(area: InstanceArea, tmp: string, target: string, old: VersionRef, keep: boolean): Promise<boolean> {
    await area.assertReal(dirname(target));
    const current = await regularFileOrNull(target);
    let kept: { undo: () => Promise<void> } | undefined;
    if (keep && current) {
      await area.ensureDir(area.versionsDir(old.id));
      kept = await keepAs(target, area.version(old));
    }
    try {
      // rename(2) replaces atomically: readers see the old content or the new one, never a mix or nothing.
      await rename(tmp, target);
    } catch (err) {
      await kept?.undo();
      throw vfsError(err);
    }
    return kept !== undefined;
  }
}

function checkContentRef(file: ContentRef): string[] {
  checkVersionRef(file);
  return vfsEntrySegments(file.path);
}

/** The regular file at `path` (404 when absent or not a file, 403 for a link). */
async function fileAt(path: string): Promise<Stats> {
  const st = await lstatOrNull(path);
  if (st?.isSymbolicLink()) throw VfsErrors.unsafePath();
  if (!st?.isFile()) throw VfsErrors.notFound();
  return st;
}

async function deleteVersions(area: InstanceArea, fileId: string): Promise<void> {
  // Only the file's own folder goes: `<id[:4]>` is shared with other files, whose writers may be filling it.
  const dir = area.versionsDir(fileId);
  if (await area.existsReal(dirname(dir))) await rm(dir, { recursive: true, force: true });
}

/** Every format of a file's thumbnails (another id may start with this one: names are parsed, not prefix-matched). */
async function deleteThumbnails(area: InstanceArea, fileId: string): Promise<void> {
  const dir = area.thumbsDir(fileId);
  if (!(await area.existsReal(dir))) return;
  for await (const entry of await opendir(dir)) {
    if (parseThumbnailName(entry.name)?.id === fileId) await ignoreMissing(unlink(join(dir, entry.name)));
  }
}

/** Tidies a file's own versions folder once empty; one still in use stays. */
async function removeEmptyDir(dir: string): Promise<void> {
  await rmdir(dir).catch(() => {});
}
