import type { Readable, Writable } from 'node:stream';
import {
  FilesErrors, KernelErrors, ROOT_DIR_ID, isDir, isFile, newInternalId,
  type ChangeOptions, type ContentRef, type ContentWriter, type DirDoc, type FilesActor, type InstanceRef,
  type NewFileInput, type OverwriteInput, type RegularFileDoc, type VfsContent,
} from '@cozy-ts/kernel';
import { contentError } from './content-errors.ts';
import { newCozyMetadata, touchCozyMetadata, uploadCozyMetadata } from './cozy-metadata.ts';
import type { FilesIndex } from './files-index.ts';
import { uploadMimeAndClass } from './mime.ts';
import { checkName, checkRootChildName, joinPath, uniqueTags } from './names.ts';
import type { Versions } from './versions.ts';
import { isUnderTrash, newFileId, nowIso } from './entries.ts';
import type { VfsService } from './vfs-service.ts';

/** Bodies up to this size are read before the name is checked (under the tree lock, where it counts anyway). */
const EARLY_NAME_CHECK_BYTES = 256 * 1024;

/**
 * Streams a body into a writer without destroying the body on a failure: the rest is drained instead, so the
 * client still reads the error response (413, 412...) rather than a reset connection.
 */
function pump(body: Readable, writer: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      body.unpipe(writer);
      body.resume();
      reject(err);
    };
    writer.once('error', fail);
    body.once('error', fail);
    body.once('close', () => {
      if (!body.readableEnded) fail(KernelErrors.badRequest('The request body was interrupted'));
    });
    writer.once('finish', () => {
      if (settled) return;
      settled = true;
      resolve();
    });
    // An empty body the HTTP layer already read to its end would never emit 'end' again.
    if (body.readableEnded) writer.end();
    else body.pipe(writer);
  });
}

/** {@link pump}, and on a failure the writer's temporary content removed and the error mapped for the client. */
async function pumpOrAbort(body: Readable, writer: ContentWriter, quotaBound: boolean): Promise<void> {
  try {
    await pump(body, writer);
  } catch (err) {
    await writer.abort();
    throw contentError(err, quotaBound);
  }
}

function checkInput(input: OverwriteInput): void {
  if (input.size !== undefined && (!Number.isSafeInteger(input.size) || input.size < 0)) {
    throw KernelErrors.badRequest('Invalid size', { source: { parameter: 'Size' } });
  }
  if (input.md5 !== undefined && input.md5.length !== 16) {
    throw FilesErrors.md5Mismatch('Invalid Content-MD5', { source: { parameter: 'Content-MD5' } });
  }
  for (const [d, parameter] of [[input.createdAt, 'CreatedAt'], [input.updatedAt, 'UpdatedAt']] as const) {
    if (d !== undefined && Number.isNaN(d.getTime())) throw FilesErrors.badTime(undefined, { source: { parameter } });
  }
}

/** Dates as cozy-stack sets them: given or now, and `updated_at` never before `created_at`. */
function dates(createdAt: string, updatedAt: string): { created_at: string; updated_at: string } {
  return { created_at: createdAt, updated_at: updatedAt < createdAt ? createdAt : updatedAt };
}

/**
 * New contents: uploads, overwrites and copies. The body is streamed into the backend's temporary without the
 * tree lock (a slow upload never blocks the instance); the checks are made again and the content made visible
 * under the lock, so a concurrent upload of the same name or a move of the parent cannot slip in between.
 */
export class Uploads {
  constructor(
    private readonly svc: VfsService,
    private readonly index: FilesIndex,
    private readonly vfs: VfsContent,
    private readonly versions: Versions,
  ) {}

  /** Bytes the instance may still use (null: no quota), after the checks a known size allows. */
  async #room(inst: InstanceRef, size: number | undefined, freed = 0): Promise<{ quota: number | null; room?: number }> {
    const quota = await this.svc.quota(inst);
    if (quota === null) {
      if (size !== undefined && this.vfs.maxFileSize !== null && size > this.vfs.maxFileSize) throw FilesErrors.maxFileSize();
      return { quota };
    }
    const usage = await this.index.usage(inst);
    const room = Math.max(quota - usage.files - usage.versions + freed, 0);
    if (size !== undefined && size > room) throw FilesErrors.quotaExceeded();
    return { quota, room };
  }

  async #fits(inst: InstanceRef, quota: number | null, bytes: number, freed = 0): Promise<void> {
    if (quota === null) return;
    const usage = await this.index.usage(inst);
    if (usage.files + usage.versions - freed + bytes > quota) throw FilesErrors.quotaExceeded();
  }

  async create(inst: InstanceRef, input: NewFileInput, body: Readable, opts: ChangeOptions): Promise<RegularFileDoc> {
    let writer: ContentWriter;
    let parent: DirDoc;
    let quota: number | null;
    let quotaBound = false;
    let ref: ContentRef;
    try {
      await this.svc.ready(inst);
      checkName(input.name);
      checkInput(input);
      parent = await this.svc.dirOf(inst, input.dirId, 'parent');
      if (isUnderTrash(parent.path)) throw FilesErrors.parentInTrash();
      if (parent._id === ROOT_DIR_ID) checkRootChildName(input.name);
      // The check under the lock decides; this one only spares streaming a big body for nothing. For a small body
      // announced in advance the query costs more than it can save (a DAV client has just looked the name up).
      if (input.size === undefined || input.size > EARLY_NAME_CHECK_BYTES) {
        if (await this.index.child(inst, parent._id, input.name)) throw FilesErrors.nameTaken();
      }
      const room = await this.#room(inst, input.size);
      quota = room.quota;
      quotaBound = room.room !== undefined;
      ref = { id: newFileId(), internalId: newInternalId(), path: joinPath(parent.path, input.name) };
      writer = await this.vfs.createWriter(inst, ref, { expectedSize: input.size, expectedMd5: input.md5, maxSize: room.room });
    } catch (err) {
      body.resume();
      throw contentError(err);
    }
    await pumpOrAbort(body, writer, quotaBound);
    return this.svc.lock.run(inst, async () => {
      let info;
      try {
        const cur = await this.index.tryGet(inst, parent._id);
        if (!cur || !isDir(cur) || cur.path !== parent.path) throw FilesErrors.conflict();
        if (await this.index.child(inst, parent._id, input.name)) throw FilesErrors.nameTaken();
        await this.#fits(inst, quota, writer.bytesWritten);
        info = await writer.commit();
      } catch (err) {
        await writer.abort();
        throw contentError(err, quotaBound);
      }
      const now = nowIso();
      const { mime, class: cls } = uploadMimeAndClass(input.mime, input.name);
      const meta = uploadCozyMetadata(inst, { ...newCozyMetadata(inst, now, opts.actor), ...(input.cozyMetadata ?? {}) }, now, opts.actor);
      const createdAt = input.createdAt?.toISOString() ?? now;
      const doc: RegularFileDoc = {
        _id: ref.id, _rev: '', type: 'file', name: input.name, dir_id: parent._id,
        ...dates(createdAt, input.updatedAt?.toISOString() ?? now),
        size: String(info.size), md5sum: info.md5.toString('base64'), mime, class: cls,
        executable: input.executable ?? false, trashed: false, encrypted: input.encrypted ?? false,
        tags: uniqueTags(input.tags ?? []), internal_vfs_id: ref.internalId, cozyMetadata: meta,
      };
      if (input.metadata && Object.keys(input.metadata).length > 0) doc.metadata = input.metadata;
      const { _rev, ...fresh } = doc;
      void _rev;
      try {
        doc._rev = await this.index.put(inst, fresh, null);
      } catch (err) {
        await this.vfs.deleteFile(inst, ref).catch(() => undefined);
        throw err;
      }
      this.svc.hints.set(inst, ref.path, doc._id, false);
      return doc;
    });
  }

  async overwrite(inst: InstanceRef, id: string, input: OverwriteInput, body: Readable, opts: ChangeOptions): Promise<RegularFileDoc> {
    let writer: ContentWriter;
    let file: RegularFileDoc;
    let quota: number | null;
    let quotaBound = false;
    let ref: ContentRef;
    let keep: boolean;
    try {
      await this.svc.ready(inst);
      checkInput(input);
      const doc = await this.index.get(inst, id);
      if (!isFile(doc)) throw FilesErrors.notFound('This is a directory, not a file');
      file = doc;
      if (opts.ifMatch !== undefined && opts.ifMatch !== file._rev) throw FilesErrors.revMismatch(undefined, { source: { parameter: 'If-Match' } });
      keep = await this.versions.shouldKeep(inst, file, nowIso());
      const room = await this.#room(inst, input.size, keep ? 0 : Number(file.size));
      quota = room.quota;
      quotaBound = room.room !== undefined;
      const current = await this.svc.contentRef(inst, file);
      ref = { id: file._id, internalId: newInternalId(), path: current.path };
      writer = await this.vfs.createWriter(inst, ref, {
        expectedSize: input.size, expectedMd5: input.md5, maxSize: room.room,
        replaces: { internalId: file.internal_vfs_id, keepAsVersion: keep },
      });
    } catch (err) {
      body.resume();
      throw contentError(err);
    }
    await pumpOrAbort(body, writer, quotaBound);
    return this.svc.lock.run(inst, async () => {
      let info;
      let cur: RegularFileDoc;
      try {
        const doc = await this.index.tryGet(inst, id);
        if (!doc || !isFile(doc)) throw FilesErrors.notFound();
        cur = doc;
        if (opts.ifMatch !== undefined && opts.ifMatch !== cur._rev) throw FilesErrors.revMismatch(undefined, { source: { parameter: 'If-Match' } });
        // Another overwrite or a move won the race: this content was made for a place that changed.
        if (cur.internal_vfs_id !== file.internal_vfs_id || (await this.svc.pathOf(inst, cur)) !== ref.path) throw FilesErrors.conflict();
        await this.#fits(inst, quota, writer.bytesWritten, keep ? 0 : Number(cur.size));
        info = await writer.commit();
      } catch (err) {
        await writer.abort();
        throw contentError(err, quotaBound);
      }
      const now = nowIso();
      const { mime, class: cls } = uploadMimeAndClass(input.mime, cur.name);
      const next: RegularFileDoc = {
        ...cur,
        ...dates(input.createdAt?.toISOString() ?? cur.created_at, input.updatedAt?.toISOString() ?? now),
        size: String(info.size), md5sum: info.md5.toString('base64'), mime, class: cls,
        executable: input.executable ?? cur.executable, encrypted: input.encrypted ?? cur.encrypted,
        internal_vfs_id: ref.internalId,
        cozyMetadata: uploadCozyMetadata(inst, { ...touchCozyMetadata(inst, cur.cozyMetadata, now, opts.actor), ...(input.cozyMetadata ?? {}) }, now, opts.actor),
      };
      if (input.tags !== undefined) next.tags = uniqueTags(input.tags);
      if (input.metadata !== undefined) next.metadata = input.metadata;
      try {
        next._rev = await this.index.put(inst, next, cur);
      } catch (err) {
        // Put the previous content back when it was kept; otherwise it is gone and the document still names it.
        if (info.versionKept) {
          await this.vfs.revertVersion(inst, ref, { id: cur._id, internalId: cur.internal_vfs_id }).catch(() => undefined);
          await this.vfs.deleteVersion(inst, { id: cur._id, internalId: ref.internalId }).catch(() => undefined);
        }
        throw err;
      }
      if (keep && info.versionKept) await this.versions.recordKept(inst, cur, now);
      return next;
    });
  }

  /** A copy of a file's current content as a new file in `parent` (caller holds the lock and checked the name). */
  async copyFileLocked(inst: InstanceRef, src: RegularFileDoc, parent: DirDoc, name: string, actor?: FilesActor): Promise<RegularFileDoc> {
    const quota = await this.svc.quota(inst);
    await this.#fits(inst, quota, Number(src.size));
    const from = await this.svc.contentRef(inst, src);
    const to: ContentRef = { id: newFileId(), internalId: newInternalId(), path: joinPath(parent.path, name) };
    let info;
    try {
      info = await this.vfs.copyFile(inst, from, to);
    } catch (err) {
      throw contentError(err, quota !== null);
    }
    const now = nowIso();
    const mc = name === src.name ? { mime: src.mime, class: src.class } : uploadMimeAndClass(undefined, name);
    const doc: Record<string, unknown> & { _id: string } = {
      _id: to.id, type: 'file', name, dir_id: parent._id, created_at: now, updated_at: now,
      size: String(info.size), md5sum: info.md5.toString('base64'), mime: mc.mime, class: mc.class,
      executable: src.executable, trashed: false, encrypted: src.encrypted, tags: [...(src.tags ?? [])],
      internal_vfs_id: to.internalId, cozyMetadata: newCozyMetadata(inst, now, actor),
    };
    if (src.metadata) doc.metadata = src.metadata;
    try {
      doc._rev = await this.index.put(inst, doc, null);
    } catch (err) {
      await this.vfs.deleteFile(inst, to).catch(() => undefined);
      throw err;
    }
    return doc as unknown as RegularFileDoc;
  }
}
