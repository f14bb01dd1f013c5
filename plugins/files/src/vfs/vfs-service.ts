import type { Readable } from 'node:stream';
import {
  FILES_DOCTYPE, FILES_VERSIONS_DOCTYPE, FilesErrors, KernelErrors, ROOT_DIR_ID, TRASH_DIR_ID, TRASH_DIR_NAME, VFS_TRASH_PATH, isDir, isFile,
  type ChangeOptions, type ContentRef, type CopyTarget, type DirDoc, type DocEventBus, type DirPage, type DiskUsage, type DocumentStore,
  type FileContent, type FileDoc, type FilePatch, type FilesActor, type FilesService, type FileVersionDoc, type InstanceRef,
  type Cache, type InstanceService, type ListOptions, type Locks, type NewDirInput, type NewFileInput, type OverwriteInput,
  type RegularFileDoc, type UpdateOptions, type VfsContent, type WalkEntry,
} from '@cozy-ts/kernel';
import type { FilesConfig } from '../config.ts';
import { ChildNames } from './child-names.ts';
import { contentError } from './content-errors.ts';
import { isUnderTrash, newFileId, nowIso } from './entries.ts';
import { mergeObject, newCozyMetadata, touchCozyMetadata } from './cozy-metadata.ts';
import { FilesIndex } from './files-index.ts';
import { mimeAndClassFromName } from './mime.ts';
import {
  MAX_DEPTH, checkName, checkRootChildName, copyName, joinPath, numberedName, parentPath, pathSegments,
  stripConflictSuffix, suffixedName, uniqueTags,
} from './names.ts';
import { PathHints } from './path-hints.ts';
import { TreeLock } from './tree-lock.ts';
import { Uploads } from './uploads.ts';
import { Versions } from './versions.ts';

export interface VfsServiceDeps {
  store: DocumentStore;
  vfs: VfsContent;
  locks: Locks;
  /** The cluster cache: the tree generation lives there (see {@link ChildNames}); without it no listing is kept. */
  cache?: Cache;
  instances: InstanceService;
  config: FilesConfig;
}

const DEFAULT_PAGE = 30;
const MAX_PAGE = 1000;

function checkIfMatch(doc: FileDoc, ifMatch: string | undefined): void {
  if (ifMatch !== undefined && ifMatch !== doc._rev) throw FilesErrors.revMismatch(undefined, { source: { parameter: 'If-Match' } });
}

function refAt(file: RegularFileDoc, path: string): ContentRef {
  return { id: file._id, internalId: file.internal_vfs_id, path };
}

function checkDate(d: Date | undefined, parameter: string): void {
  if (d !== undefined && Number.isNaN(d.getTime())) throw FilesErrors.badTime(undefined, { source: { parameter } });
}

/**
 * The VFS service: the io.cozy.files tree in the store, contents behind the `vfs` capability. Tree changes run
 * under the instance's tree lock (`#...Locked` methods assume it is held: the lock is not reentrant). Contents
 * change first and documents second, with the content put back when the document write fails, so a crash between
 * the two leaves at worst an orphan content (found by fsck), never a document without its content.
 */
export class VfsService implements FilesService {
  readonly index: FilesIndex;
  readonly lock: TreeLock;
  /** Path to id, as last seen by this process; see {@link PathHints}. */
  readonly hints = new PathHints();
  /**
   * Where statByPath found each file doc it returned (a file doc has no path of its own: it is its parent's path and
   * its name). Keyed by the object, so it lives as long as the caller holds that doc; only readFound trusts it.
   */
  readonly #foundAt = new WeakMap<FileDoc, string>();
  readonly #names: ChildNames | undefined;
  readonly #uploads: Uploads;
  readonly #versions: Versions;
  readonly #ready = new Map<string, Promise<void>>();
  readonly #background = new Set<Promise<void>>();
  #queueTrashJob: ((inst: InstanceRef) => Promise<unknown>) | undefined;
  #off: (() => void) | undefined;

  constructor(private readonly deps: VfsServiceDeps) {
    const names = deps.cache ? new ChildNames(deps.cache) : undefined;
    this.#names = names;
    this.lock = new TreeLock(deps.locks, deps.config.lockWaitMs, names && ((inst) => names.changing(inst)));
    this.index = new FilesIndex(deps.store, (inst) => this.lock.holds(inst));
    this.#versions = new Versions(this.index, deps.vfs, deps.config.versions);
    this.#uploads = new Uploads(this, this.index, deps.vfs, this.#versions);
  }

  get vfs(): VfsContent {
    return this.deps.vfs;
  }

  // ---- instance setup ----

  async ensureRoot(inst: InstanceRef): Promise<void> {
    await this.deps.vfs.initInstance(inst);
    await this.index.ensureDesign(inst);
    const now = nowIso();
    if (!(await this.index.tryGet(inst, ROOT_DIR_ID))) {
      await this.#putIgnoringConflict(inst, { _id: ROOT_DIR_ID, type: 'directory', path: '/', created_at: now, updated_at: now });
    }
    if (!(await this.index.tryGet(inst, TRASH_DIR_ID))) {
      await this.#putIgnoringConflict(inst, {
        _id: TRASH_DIR_ID, type: 'directory', name: TRASH_DIR_NAME, dir_id: ROOT_DIR_ID, path: VFS_TRASH_PATH, created_at: now, updated_at: now,
      });
    }
  }

  /** Once per process and instance: instances created before the plugin was enabled get their root on first use. */
  ready(inst: InstanceRef): Promise<void> {
    let p = this.#ready.get(inst.prefix);
    if (!p) {
      p = this.ensureRoot(inst);
      this.#ready.set(inst.prefix, p);
      p.catch(() => this.#ready.delete(inst.prefix));
    }
    return p;
  }

  forget(inst: InstanceRef): void {
    this.#ready.delete(inst.prefix);
    this.#names?.forget(inst);
  }

  /** Keeps the index's caches honest: every io.cozy.files write this process sees drops what it may have changed. */
  follow(events: DocEventBus): void {
    this.unfollow();
    this.#off = events.on((e) => {
      if (e.doctype === FILES_DOCTYPE || e.doctype === FILES_VERSIONS_DOCTYPE) this.index.changed(e);
    });
    // Listings follow this process's writes through these events, so they are used only while events are followed.
    this.index.useNames(this.#names);
  }

  unfollow(): void {
    this.#off?.();
    this.#off = undefined;
    this.index.useNames(undefined);
  }

  /** Runs work the caller does not wait for (emptying the trash); `drain` waits for all of it at stop. */
  inBackground(work: () => Promise<void>, onError: (err: unknown) => void): void {
    const p = work().catch(onError);
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
  }

  /**
   * Empties an instance's trash without the caller waiting: as a `trash-files` job when {@link useTrashJobs} was
   * called (the jobs plugin retries it), else in this process's background (drained at stop).
   */
  async emptyTrashLater(inst: InstanceRef, onError: (err: unknown) => void): Promise<void> {
    if (this.#queueTrashJob) {
      await this.#queueTrashJob(inst);
      return;
    }
    this.inBackground(() => this.emptyTrash(inst), onError);
  }

  useTrashJobs(queue: (inst: InstanceRef) => Promise<unknown>): void {
    this.#queueTrashJob = queue;
  }

  async drain(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  async #putIgnoringConflict(inst: InstanceRef, doc: Record<string, unknown> & { _id: string }): Promise<void> {
    try {
      await this.index.put(inst, doc, null);
    } catch (err) {
      if ((err as { status?: number }).status !== 409) throw err;
    }
  }

  // ---- reads ----

  async stat(inst: InstanceRef, id: string): Promise<FileDoc> {
    await this.ready(inst);
    return this.index.get(inst, id);
  }

  /**
   * The entry at a path. A path is a directory's stored `path`, or a file's parent path plus its name; the
   * {@link PathHints} turn the usual case into point reads by id (each checked against the path asked), and the
   * indexes answer the rest: the parent through the path index, the entry itself through the by-parent view.
   */
  async statByPath(inst: InstanceRef, path: string): Promise<FileDoc> {
    await this.ready(inst);
    const segments = pathSegments(path);
    if (segments.length === 0) return this.index.get(inst, ROOT_DIR_ID);
    const full = `/${segments.join('/')}`;
    const name = segments[segments.length - 1] as string;
    const up = parentPath(full);
    const hinted = this.hints.get(inst, full);
    if (hinted?.dir) {
      const doc = await this.index.tryGet(inst, hinted.id);
      if (doc && isDir(doc) && doc.path === full) return doc;
    } else if (hinted) {
      const [doc, parent] = await Promise.all([this.index.tryGet(inst, hinted.id), this.#dirAt(inst, up)]);
      if (doc && isFile(doc) && doc.name === name && parent && doc.dir_id === parent._id) return this.#found(doc, full);
      this.hints.drop(inst, full);
      if (!parent) throw FilesErrors.notFound();
      return this.#childAt(inst, parent, name, full);
    }
    if (hinted) this.hints.drop(inst, full);
    const parent = await this.#dirAt(inst, up);
    if (!parent) throw FilesErrors.notFound();
    return this.#childAt(inst, parent, name, full);
  }

  async #childAt(inst: InstanceRef, parent: DirDoc, name: string, full: string): Promise<FileDoc> {
    const child = await this.index.child(inst, parent._id, name);
    // A directory is where its stored path says; one whose path disagrees with its parent's is not reachable here.
    if (!child || (isDir(child) && child.path !== full)) throw FilesErrors.notFound();
    this.hints.set(inst, full, child._id, isDir(child));
    return isDir(child) ? child : this.#found(child, full);
  }

  #found(file: FileDoc, path: string): FileDoc {
    this.#foundAt.set(file, path);
    return file;
  }

  /** The directory whose stored path is `path`, through its hint when the hint still holds, else the path index. */
  async #dirAt(inst: InstanceRef, path: string): Promise<DirDoc | null> {
    const hint = this.hints.get(inst, path);
    const id = path === '/' ? ROOT_DIR_ID : hint?.dir ? hint.id : undefined;
    if (id !== undefined) {
      const doc = await this.index.tryGet(inst, id);
      if (doc && isDir(doc) && doc.path === path) return doc;
      this.hints.drop(inst, path);
    }
    const dir = (await this.index.dirByPath(inst, path)) as DirDoc | null;
    if (dir) this.hints.set(inst, path, dir._id, true);
    return dir;
  }

  async pathOf(inst: InstanceRef, doc: FileDoc): Promise<string> {
    if (isDir(doc)) return doc.path;
    const parent = await this.index.tryGet(inst, doc.dir_id ?? '');
    if (!parent || !isDir(parent)) throw FilesErrors.notFound('The parent directory of this file does not exist');
    return joinPath(parent.path, doc.name);
  }

  async contentRef(inst: InstanceRef, file: RegularFileDoc): Promise<ContentRef> {
    return refAt(file, await this.pathOf(inst, file));
  }

  async isInside(inst: InstanceRef, id: string, ancestorId: string): Promise<boolean> {
    if (id === ancestorId || ancestorId === ROOT_DIR_ID) return true;
    await this.ready(inst);
    const [doc, ancestor] = await Promise.all([this.index.tryGet(inst, id), this.index.tryGet(inst, ancestorId)]);
    if (!doc || !ancestor || !isDir(ancestor)) return false;
    const path = await this.pathOf(inst, doc).catch(() => null);
    return path !== null && path.startsWith(`${ancestor.path}/`);
  }

  async dirOf(inst: InstanceRef, dirId: string, missing: 'parent' | 'self' = 'self'): Promise<DirDoc> {
    const doc = await this.index.tryGet(inst, dirId);
    if (!doc || !isDir(doc)) throw missing === 'parent' ? FilesErrors.parentNotFound(undefined, { source: { parameter: 'dir-id' } }) : FilesErrors.notFound();
    return doc;
  }

  async listDir(inst: InstanceRef, dirId: string, opts: ListOptions = {}): Promise<DirPage> {
    await this.ready(inst);
    const dir = await this.dirOf(inst, dirId);
    const limit = Math.min(Math.max(Math.trunc(opts.limit ?? DEFAULT_PAGE) || DEFAULT_PAGE, 1), MAX_PAGE);
    const from = opts.cursor ? parseCursor(opts.cursor) : undefined;
    const [page, count] = await Promise.all([this.index.children(inst, dir._id, limit, from), this.index.countChildren(inst, dir._id)]);
    return { docs: page.docs, count, next: page.next ? JSON.stringify([page.next.key, page.next.docId]) : undefined };
  }

  async *children(inst: InstanceRef, dirId: string): AsyncIterable<FileDoc> {
    await this.ready(inst);
    const dir = await this.dirOf(inst, dirId);
    let from: { key: unknown; docId: string } | undefined;
    do {
      const page = await this.index.children(inst, dir._id, 200, from);
      yield* page.docs;
      from = page.next;
    } while (from);
  }

  async *walk(inst: InstanceRef, dirId: string): AsyncIterable<WalkEntry> {
    const dir = await this.dirOf(inst, dirId);
    yield* this.#walk(inst, dir, 0);
  }

  async *#walk(inst: InstanceRef, dir: DirDoc, depth: number): AsyncIterable<WalkEntry> {
    if (depth >= MAX_DEPTH) return;
    for await (const doc of this.children(inst, dir._id)) {
      const path = isDir(doc) ? doc.path : joinPath(dir.path, doc.name);
      yield { doc, path, depth };
      if (isDir(doc)) yield* this.#walk(inst, doc, depth + 1);
    }
  }

  async read(inst: InstanceRef, id: string, range?: { start: number; end?: number }): Promise<FileContent> {
    await this.ready(inst);
    const doc = await this.index.get(inst, id);
    if (!isFile(doc)) throw FilesErrors.notFound('This is a directory, not a file');
    return this.#readContent(inst, doc, await this.pathOf(inst, doc), range);
  }

  /**
   * The content of a file doc the caller just got from statByPath, read where that lookup found it: a download by
   * path (WebDAV GET) read the file and its parent twice otherwise, half of its document reads. Contents are placed
   * by path, so a file moved or replaced since the lookup reads as a 404 or as what is at the path now: the race
   * every read by path has (cozy-stack serves a download by path the same way), only a few milliseconds wider.
   */
  async readFound(inst: InstanceRef, doc: FileDoc, range?: { start: number; end?: number }): Promise<FileContent> {
    await this.ready(inst);
    if (!isFile(doc)) throw FilesErrors.notFound('This is a directory, not a file');
    return this.#readContent(inst, doc, this.#foundAt.get(doc) ?? (await this.pathOf(inst, doc)), range);
  }

  async #readContent(inst: InstanceRef, doc: RegularFileDoc, path: string, range?: { start: number; end?: number }): Promise<FileContent> {
    const size = Number(doc.size);
    const { start, end } = byteRange(size, range);
    const ref = refAt(doc, path);
    try {
      const stream = await this.deps.vfs.read(inst, ref, range ? { start, end } : undefined);
      return { doc, stream, start, end, size };
    } catch (err) {
      throw contentError(err);
    }
  }

  // ---- creation ----

  async createDir(inst: InstanceRef, input: NewDirInput, opts: ChangeOptions = {}): Promise<DirDoc> {
    await this.ready(inst);
    checkName(input.name);
    checkDate(input.createdAt, 'CreatedAt');
    checkDate(input.updatedAt, 'UpdatedAt');
    return this.lock.run(inst, async () => {
      const parent = await this.dirOf(inst, input.dirId, 'parent');
      return this.createDirLocked(inst, parent, input.name, input, opts.actor);
    });
  }

  async createDirLocked(inst: InstanceRef, parent: DirDoc, name: string, input: Partial<NewDirInput>, actor?: FilesActor): Promise<DirDoc> {
    if (isUnderTrash(parent.path)) throw FilesErrors.parentInTrash();
    if (parent._id === ROOT_DIR_ID) checkRootChildName(name);
    if (await this.index.child(inst, parent._id, name)) throw FilesErrors.nameTaken();
    const path = joinPath(parent.path, name);
    if (path.split('/').length > MAX_DEPTH) throw FilesErrors.badPath('Invalid path: too many levels');
    const now = nowIso();
    const createdAt = input.createdAt?.toISOString() ?? now;
    let updatedAt = input.updatedAt?.toISOString() ?? createdAt;
    if (updatedAt < createdAt) updatedAt = createdAt;
    const doc: Record<string, unknown> & { _id: string } = {
      _id: newFileId(), type: 'directory', name, dir_id: parent._id, path, created_at: createdAt, updated_at: updatedAt,
      tags: uniqueTags(input.tags ?? []), cozyMetadata: newCozyMetadata(inst, now, actor),
    };
    if (input.metadata && Object.keys(input.metadata).length > 0) doc.metadata = input.metadata;
    try {
      await this.deps.vfs.createDir(inst, path);
    } catch (err) {
      throw contentError(err);
    }
    try {
      doc._rev = await this.index.put(inst, doc, null);
    } catch (err) {
      await this.deps.vfs.deleteDir(inst, path).catch(() => undefined);
      throw err;
    }
    this.hints.set(inst, path, doc._id, true);
    return doc as unknown as DirDoc;
  }

  async createDirByPath(inst: InstanceRef, path: string, opts: ChangeOptions & { recursive?: boolean } = {}): Promise<DirDoc> {
    await this.ready(inst);
    const segments = pathSegments(path);
    if (segments.length === 0) throw FilesErrors.nameTaken();
    return this.lock.run(inst, () => this.mkdirAllLocked(inst, segments, opts.recursive ?? false, opts.actor));
  }

  /** cozy-stack's MkdirAll when `recursive`; else only the last segment is created and must not exist. */
  async mkdirAllLocked(inst: InstanceRef, segments: string[], recursive: boolean, actor?: FilesActor): Promise<DirDoc> {
    let cur = await this.dirOf(inst, ROOT_DIR_ID);
    for (let i = 0; i < segments.length; i++) {
      const name = segments[i] as string;
      const last = i === segments.length - 1;
      const existing = await this.index.child(inst, cur._id, name);
      if (existing) {
        if (!isDir(existing) || (last && !recursive)) throw FilesErrors.nameTaken();
        cur = existing;
        continue;
      }
      if (!last && !recursive) throw FilesErrors.parentNotFound();
      cur = await this.createDirLocked(inst, cur, name, {}, actor);
    }
    return cur;
  }

  createFile(inst: InstanceRef, input: NewFileInput, body: Readable, opts: ChangeOptions = {}): Promise<RegularFileDoc> {
    return this.#uploads.create(inst, input, body, opts);
  }

  overwriteFile(inst: InstanceRef, id: string, input: OverwriteInput, body: Readable, opts: ChangeOptions = {}): Promise<RegularFileDoc> {
    return this.#uploads.overwrite(inst, id, input, body, opts);
  }

  // ---- changes ----

  async update(inst: InstanceRef, id: string, patch: FilePatch, opts: UpdateOptions = {}): Promise<FileDoc> {
    await this.ready(inst);
    if (patch.name !== undefined) checkName(patch.name);
    checkDate(patch.updatedAt, 'UpdatedAt');
    return this.lock.run(inst, () => this.updateLocked(inst, id, patch, opts));
  }

  async updateLocked(inst: InstanceRef, id: string, patch: FilePatch, opts: UpdateOptions): Promise<FileDoc> {
    const doc = await this.index.get(inst, id);
    checkIfMatch(doc, opts.ifMatch);
    if (doc._id === ROOT_DIR_ID || doc._id === TRASH_DIR_ID) throw FilesErrors.forbidden();
    const next: Record<string, unknown> = { ...doc };
    const now = nowIso();
    if (patch.tags !== undefined) next.tags = uniqueTags(patch.tags);
    if (patch.updatedAt !== undefined) {
      const updatedAt = patch.updatedAt.toISOString();
      if (updatedAt < doc.created_at) throw FilesErrors.badTime(undefined, { source: { parameter: 'UpdatedAt' } });
      next.updated_at = updatedAt;
    }
    if (isFile(doc)) {
      if (patch.executable !== undefined) next.executable = patch.executable;
      if (patch.encrypted !== undefined) next.encrypted = patch.encrypted;
      if (patch.mime !== undefined) next.mime = patch.mime;
      if (patch.class !== undefined) next.class = patch.class;
    }
    if (patch.metadata) next.metadata = mergeObject(doc.metadata, patch.metadata);
    next.cozyMetadata = touchCozyMetadata(inst, doc.cozyMetadata, now, opts.actor);
    if (patch.cozyMetadata) next.cozyMetadata = mergeObject(next.cozyMetadata as Record<string, unknown>, patch.cozyMetadata);

    const name = patch.name ?? doc.name;
    const dirId = patch.dirId ?? doc.dir_id ?? ROOT_DIR_ID;
    if (name === doc.name && dirId === doc.dir_id) {
      next._rev = await this.index.put(inst, next as FileDoc, doc);
      return next as FileDoc;
    }
    // cozy-stack recomputes the type when a rename changes the extension.
    if (isFile(doc) && patch.mime === undefined && patch.class === undefined && extOf(name) !== extOf(doc.name)) {
      const mc = mimeAndClassFromName(name);
      next.mime = mc.mime;
      next.class = mc.class;
    }
    return this.#moveLocked(inst, doc, next, dirId, name, opts);
  }

  /** Renames and/or moves `doc`, writing `next` (its other changes) with the new place. */
  async #moveLocked(inst: InstanceRef, doc: FileDoc, next: Record<string, unknown>, dirId: string, name: string, opts: UpdateOptions): Promise<FileDoc> {
    const oldPath = await this.pathOf(inst, doc);
    const parent = await this.dirOf(inst, dirId, 'parent');
    const fromTrash = isUnderTrash(oldPath);
    const toTrash = isUnderTrash(parent.path);
    if (fromTrash && dirId !== doc.dir_id) throw FilesErrors.alreadyTrashed();
    if (!fromTrash && toTrash) throw FilesErrors.forbiddenMove('Use the trash to put entries in the trash', { source: { parameter: 'dir-id' } });
    if (isDir(doc) && (parent._id === doc._id || parent.path.startsWith(`${doc.path}/`))) {
      throw FilesErrors.forbiddenMove(undefined, { source: { parameter: 'dir-id' } });
    }
    if (parent._id === ROOT_DIR_ID) checkRootChildName(name);
    const existing = await this.index.child(inst, parent._id, name);
    if (existing && existing._id !== doc._id) {
      if (!opts.replace) throw FilesErrors.nameTaken();
      if (isDir(existing) && isDir(doc) && doc.path.startsWith(`${existing.path}/`)) throw FilesErrors.forbiddenMove();
      if (opts.replace === 'trash') await this.trashLocked(inst, existing, opts.actor);
      else await this.destroyLocked(inst, existing);
    }
    const newPath = joinPath(parent.path, name);
    next.name = name;
    next.dir_id = parent._id;
    if (isDir(doc)) next.path = newPath;
    await this.#relocate(inst, doc, oldPath, newPath, next as FileDoc);
    return next as FileDoc;
  }

  /**
   * Moves an entry's content to `newPath` and writes `next` (and, for a directory, the new paths of every directory
   * under it, and `trashed` on the files under it when `trashed` is given). The content goes back on failure.
   */
  async #relocate(inst: InstanceRef, doc: FileDoc, oldPath: string, newPath: string, next: FileDoc, trashed?: boolean): Promise<void> {
    const vfs = this.deps.vfs;
    const moveContent = async (from: string, to: string) => {
      if (from === to) return;
      if (isDir(doc)) await vfs.renameDir(inst, from, to);
      else await vfs.moveFile(inst, { id: doc._id, internalId: doc.internal_vfs_id, path: from }, to);
    };
    try {
      await moveContent(oldPath, newPath);
    } catch (err) {
      throw contentError(err);
    }
    try {
      next._rev = await this.index.put(inst, next, doc);
      if (isDir(doc) && (oldPath !== newPath || trashed !== undefined)) await this.#rewriteSubtree(inst, doc, oldPath, newPath, trashed);
    } catch (err) {
      if (next._rev === doc._rev) await moveContent(newPath, oldPath).catch(() => undefined);
      throw err;
    }
  }

  /** New paths for the directories under a moved one, and `trashed` for its files when it entered or left the trash. */
  async #rewriteSubtree(inst: InstanceRef, dir: DirDoc, oldPath: string, newPath: string, trashed?: boolean): Promise<void> {
    let batch: FileDoc[] = [];
    const flush = async () => {
      if (batch.length > 0) await this.index.bulk(inst, batch);
      batch = [];
    };
    const visit = async (d: DirDoc, depth: number): Promise<void> => {
      if (depth >= MAX_DEPTH) return;
      const kids = trashed === undefined ? await this.index.childDirs(inst, d._id) : await collect(this.children(inst, d._id));
      for (const kid of kids) {
        if (isDir(kid)) {
          const path = newPath + kid.path.slice(oldPath.length);
          if (path !== kid.path) batch.push({ ...kid, path });
          await visit({ ...kid, path: kid.path }, depth + 1);
        } else if (trashed !== undefined && kid.trashed !== trashed) {
          batch.push({ ...kid, trashed });
        }
        if (batch.length >= 200) await flush();
      }
    };
    await visit(dir, 0);
    await flush();
  }

  async copy(inst: InstanceRef, id: string, target: CopyTarget = {}, opts: UpdateOptions = {}): Promise<FileDoc> {
    await this.ready(inst);
    if (target.name !== undefined) checkName(target.name);
    return this.lock.run(inst, async () => {
      const src = await this.index.get(inst, id);
      if (src._id === ROOT_DIR_ID || src._id === TRASH_DIR_ID) throw FilesErrors.forbidden();
      const parent = await this.dirOf(inst, target.dirId ?? src.dir_id ?? ROOT_DIR_ID, 'parent');
      if (isUnderTrash(parent.path)) throw FilesErrors.parentInTrash();
      if (isDir(src) && (parent._id === src._id || parent.path.startsWith(`${src.path}/`))) throw FilesErrors.forbiddenMove();
      let name = target.name;
      if (name === undefined) {
        name = copyName(src.name);
        if (await this.index.child(inst, parent._id, name)) {
          name = await numberedName(name, isFile(src), async (c) => (await this.index.child(inst, parent._id, c)) !== null);
        }
      }
      if (parent._id === ROOT_DIR_ID) checkRootChildName(name);
      const existing = await this.index.child(inst, parent._id, name);
      if (existing) {
        if (!opts.replace || existing._id === src._id) throw FilesErrors.nameTaken();
        if (opts.replace === 'trash') await this.trashLocked(inst, existing, opts.actor);
        else await this.destroyLocked(inst, existing);
      }
      if (isFile(src)) return this.#uploads.copyFileLocked(inst, src, parent, name, opts.actor);
      return this.#copyDirLocked(inst, src, parent, name, opts.actor, 0);
    });
  }

  async #copyDirLocked(inst: InstanceRef, src: DirDoc, parent: DirDoc, name: string, actor: FilesActor | undefined, depth: number): Promise<DirDoc> {
    if (depth >= MAX_DEPTH) throw FilesErrors.badPath('Invalid path: too many levels');
    const copy = await this.createDirLocked(inst, parent, name, { tags: src.tags, metadata: src.metadata }, actor);
    for (const kid of await collect(this.children(inst, src._id))) {
      if (isFile(kid)) await this.#uploads.copyFileLocked(inst, kid, copy, kid.name, actor);
      else await this.#copyDirLocked(inst, kid, copy, kid.name, actor, depth + 1);
    }
    return copy;
  }

  // ---- trash ----

  async trash(inst: InstanceRef, id: string, opts: ChangeOptions = {}): Promise<FileDoc> {
    await this.ready(inst);
    return this.lock.run(inst, async () => {
      const doc = await this.index.get(inst, id);
      checkIfMatch(doc, opts.ifMatch);
      return this.trashLocked(inst, doc, opts.actor);
    });
  }

  async trashLocked(inst: InstanceRef, doc: FileDoc, actor?: FilesActor): Promise<FileDoc> {
    if (doc._id === ROOT_DIR_ID || doc._id === TRASH_DIR_ID) throw FilesErrors.forbidden();
    const oldPath = await this.pathOf(inst, doc);
    if (isUnderTrash(oldPath)) throw FilesErrors.alreadyTrashed();
    const name = await this.#freeName(inst, TRASH_DIR_ID, doc.name);
    const newPath = joinPath(VFS_TRASH_PATH, name);
    const now = nowIso();
    const next: Record<string, unknown> = { ...doc, dir_id: TRASH_DIR_ID, name, restore_path: parentPath(oldPath) };
    next.cozyMetadata = { ...touchCozyMetadata(inst, doc.cozyMetadata, now, actor), trashedAt: now };
    if (isDir(doc)) next.path = newPath;
    else next.trashed = true;
    await this.#relocate(inst, doc, oldPath, newPath, next as FileDoc, isDir(doc) ? true : undefined);
    return next as FileDoc;
  }

  /** `name`, or `name (123456789)` while taken: cozy-stack's suffix for the trash and for restores. */
  async #freeName(inst: InstanceRef, dirId: string, name: string, self?: string): Promise<string> {
    let candidate = name;
    for (let i = 0; i < 100; i++) {
      const existing = await this.index.child(inst, dirId, candidate);
      if (!existing || existing._id === self) return candidate;
      candidate = suffixedName(name);
    }
    throw FilesErrors.nameTaken();
  }

  async restore(inst: InstanceRef, id: string, opts: ChangeOptions = {}): Promise<FileDoc> {
    await this.ready(inst);
    return this.lock.run(inst, async () => {
      const doc = await this.index.get(inst, id);
      checkIfMatch(doc, opts.ifMatch);
      return this.#restoreLocked(inst, doc, opts.actor);
    });
  }

  async #restoreLocked(inst: InstanceRef, doc: FileDoc, actor?: FilesActor): Promise<FileDoc> {
    const oldPath = await this.pathOf(inst, doc);
    if (!isUnderTrash(oldPath) || doc._id === TRASH_DIR_ID) throw FilesErrors.notTrashed();
    const target = await this.#restorePath(inst, oldPath, doc.restore_path);
    const segments = pathSegments(target);
    let dir: DirDoc;
    if (segments.length === 0) dir = await this.dirOf(inst, ROOT_DIR_ID);
    else dir = (await this.index.dirByPath(inst, target) as DirDoc | null) ?? (await this.mkdirAllLocked(inst, segments, true, actor));
    const name = await this.#freeName(inst, dir._id, stripConflictSuffix(doc.name));
    const newPath = joinPath(dir.path, name);
    const next: Record<string, unknown> = { ...doc, dir_id: dir._id, name };
    delete next.restore_path;
    const meta = touchCozyMetadata(inst, doc.cozyMetadata, nowIso(), actor);
    delete meta.trashedAt;
    next.cozyMetadata = meta;
    if (isDir(doc)) next.path = newPath;
    else next.trashed = false;
    await this.#relocate(inst, doc, oldPath, newPath, next as FileDoc, isDir(doc) ? false : undefined);
    return next as FileDoc;
  }

  /** cozy-stack's getRestoreDir: an entry inside a trashed directory goes back under that directory's restore path. */
  async #restorePath(inst: InstanceRef, trashPath: string, restorePath: string | undefined): Promise<string> {
    if (restorePath) return restorePath;
    const rest = trashPath.slice(VFS_TRASH_PATH.length + 1);
    const split = rest.indexOf('/');
    if (split >= 0) {
      const top = await this.index.dirByPath(inst, joinPath(VFS_TRASH_PATH, rest.slice(0, split)));
      if (top && typeof top.restore_path === 'string' && top.restore_path) {
        const inner = parentPath(`/${rest.slice(split + 1)}`);
        return joinPath(joinPath(top.restore_path, stripConflictSuffix(top.name)), inner.slice(1)).replace(/\/$/, '') || '/';
      }
    }
    return '/';
  }

  async destroy(inst: InstanceRef, id: string, opts: ChangeOptions = {}): Promise<void> {
    await this.ready(inst);
    await this.lock.run(inst, async () => {
      const doc = await this.index.get(inst, id);
      checkIfMatch(doc, opts.ifMatch);
      await this.destroyLocked(inst, doc);
    });
  }

  /**
   * Documents first (children before their parents), contents after: a crash in between leaves orphan contents
   * that fsck reports, never a document pointing at nothing.
   */
  async destroyLocked(inst: InstanceRef, doc: FileDoc): Promise<void> {
    if (doc._id === ROOT_DIR_ID || doc._id === TRASH_DIR_ID) throw FilesErrors.forbidden();
    const vfs = this.deps.vfs;
    if (isFile(doc)) {
      const ref = await this.contentRef(inst, doc);
      await this.index.remove(inst, doc);
      await this.#versions.dropAll(inst, doc._id);
      await vfs.deleteFile(inst, ref).catch((err: unknown) => {
        throw contentError(err);
      });
      return;
    }
    const entries: WalkEntry[] = [];
    for await (const e of this.#walk(inst, doc, 0)) entries.push(e);
    entries.sort((a, b) => b.depth - a.depth);
    const deletions = entries.map((e) => ({ ...e.doc, _deleted: true }));
    deletions.push({ ...doc, _deleted: true });
    await this.index.bulk(inst, deletions);
    for (const e of entries) {
      if (!isFile(e.doc)) continue;
      await this.#versions.dropAll(inst, e.doc._id);
      await vfs.deleteFile(inst, { id: e.doc._id, internalId: e.doc.internal_vfs_id, path: e.path }).catch(() => undefined);
    }
    await vfs.deleteDir(inst, doc.path).catch((err: unknown) => {
      throw contentError(err);
    });
  }

  async emptyTrash(inst: InstanceRef): Promise<void> {
    await this.ready(inst);
    // One entry per lock hold, so other changes keep flowing while a big trash empties. An entry that cannot be
    // destroyed is passed over (the cursor moves on) and reported once the rest is done.
    let from: { key: unknown; docId: string } | undefined;
    let failure: unknown;
    do {
      const page = await this.index.children(inst, TRASH_DIR_ID, 50, from);
      for (const doc of page.docs) {
        try {
          await this.lock.run(inst, async () => {
            const cur = await this.index.tryGet(inst, doc._id);
            if (cur && cur.dir_id === TRASH_DIR_ID) await this.destroyLocked(inst, cur);
          });
        } catch (err) {
          failure ??= err;
        }
      }
      from = page.next;
    } while (from);
    if (failure !== undefined) throw failure;
  }

  // ---- versions ----

  async listVersions(inst: InstanceRef, fileId: string): Promise<FileVersionDoc[]> {
    await this.ready(inst);
    return this.#versions.list(inst, fileId);
  }

  async readVersion(inst: InstanceRef, versionId: string, range?: { start: number; end?: number }) {
    await this.ready(inst);
    const version = await this.index.version(inst, versionId);
    const size = Number(version.size);
    const { start, end } = byteRange(size, range);
    const ref = this.#versions.ref(version);
    try {
      const stream = await this.deps.vfs.readVersion(inst, ref, range ? { start, end } : undefined);
      return { version, stream, start, end, size };
    } catch (err) {
      throw contentError(err);
    }
  }

  async revertVersion(inst: InstanceRef, versionId: string, opts: ChangeOptions = {}): Promise<RegularFileDoc> {
    await this.ready(inst);
    return this.lock.run(inst, async () => {
      const version = await this.index.version(inst, versionId);
      const file = await this.index.get(inst, this.#versions.ref(version).id);
      if (!isFile(file)) throw FilesErrors.versionNotFound();
      checkIfMatch(file, opts.ifMatch);
      return this.#versions.revertLocked(inst, file, version, await this.contentRef(inst, file), opts.actor);
    });
  }

  async deleteVersion(inst: InstanceRef, versionId: string): Promise<void> {
    await this.ready(inst);
    await this.lock.run(inst, async () => this.#versions.drop(inst, await this.index.version(inst, versionId)));
  }

  async deleteAllVersions(inst: InstanceRef): Promise<void> {
    await this.ready(inst);
    const all: FileVersionDoc[] = [];
    for await (const v of this.index.allVersions(inst)) all.push(v);
    for (const v of all) await this.lock.run(inst, () => this.#versions.drop(inst, v));
  }

  // ---- quota ----

  async quota(inst: InstanceRef): Promise<number | null> {
    const doc = await this.deps.instances.find(inst.domain);
    const q = doc?.disk_quota;
    return typeof q === 'number' && q > 0 ? q : null;
  }

  async diskUsage(inst: InstanceRef): Promise<DiskUsage> {
    await this.ready(inst);
    const [usage, quota] = await Promise.all([this.index.usage(inst), this.quota(inst)]);
    return { used: usage.files + usage.versions, quota, files: usage.files, versions: usage.versions, trash: usage.trash };
  }
}

function extOf(name: string): string {
  const i = name.lastIndexOf('.');
  return i > 0 ? name.slice(i) : '';
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function parseCursor(cursor: string): { key: unknown; docId: string } {
  try {
    const parts: unknown = JSON.parse(cursor);
    if (Array.isArray(parts) && parts.length === 2 && typeof parts[1] === 'string') return { key: parts[0], docId: parts[1] };
  } catch {
    // reported below
  }
  throw KernelErrors.badRequest(`bad cursor ${cursor.slice(0, 200)}`, { source: { parameter: 'page[cursor]' } });
}

/** The bytes a range asks for; `badRange` (416) when it cannot be served (cozy-stack via http.ServeContent). */
export function byteRange(size: number, range?: { start: number; end?: number }): { start: number; end: number } {
  if (!range) return { start: 0, end: Math.max(size - 1, 0) };
  const end = Math.min(range.end ?? size - 1, size - 1);
  if (!Number.isSafeInteger(range.start) || range.start < 0 || range.start >= size || end < range.start) {
    throw FilesErrors.badRange(undefined, { headers: { 'content-range': `bytes */${size}` } });
  }
  return { start: range.start, end };
}
