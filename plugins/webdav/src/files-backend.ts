import type { Readable } from 'node:stream';
import {
  FilesErrors, TRASH_DIR_NAME, fileSize, isCozyError, isDir, type FileDoc, type FilesActor, type FilesService, type InstanceRef,
} from '@cozy-ts/kernel';
import {
  applyPropPatch, baseName, DAV_NS, DavErrors, parentPath, type ByteRangeSpec, type DavBackend, type DavResource,
  type DeadProperty, type PropPatchOp, type QName, type WriteInput,
} from '@cozy-ts/dav';
import { StatMemo } from './stat-memo.ts';

/** A DAV resource with the io.cozy.files document behind it. */
export interface FileResource extends DavResource {
  doc: FileDoc;
}

export const OC_NS = 'http://owncloud.org/ns';
/** Where dead properties live: a key of the entry's `metadata`, so they move, copy and trash with the entry. */
export const DEAD_PROPS_KEY = 'davProperties';

const QUOTA_USED: QName = { ns: DAV_NS, name: 'quota-used-bytes' };
const QUOTA_AVAILABLE: QName = { ns: DAV_NS, name: 'quota-available-bytes' };
const OC_FILEID: QName = { ns: OC_NS, name: 'fileid' };
const OC_SIZE: QName = { ns: OC_NS, name: 'size' };
const LIVE: QName[] = [QUOTA_USED, QUOTA_AVAILABLE, OC_FILEID, OC_SIZE];
const LIVE_KEYS = new Set(LIVE.map((q) => `{${q.ns}}${q.name}`));

/** The trash is the VFS's business (DELETE moves there); the DAV tree neither shows nor reaches it. */
function isTrashPath(path: string): boolean {
  return path === `/${TRASH_DIR_NAME}` || path.startsWith(`/${TRASH_DIR_NAME}/`);
}

/** A file's MD5 in hex (cozy stores it in base64); undefined for a directory or a file without one. */
export function md5Hex(doc: FileDoc): string | undefined {
  return isDir(doc) || !doc.md5sum ? undefined : Buffer.from(doc.md5sum, 'base64').toString('hex');
}

/** A strong validator that changes with the content (files) or with any change of the entry (directories). */
export function etagOf(doc: FileDoc): string {
  if (isDir(doc)) return `"${doc._rev}"`;
  return contentEtag(doc.md5sum, doc.size);
}

/** The validator of one content, current or kept as a version: its MD5 (stored in base64) in hex, and its size. */
export function contentEtag(md5sum: string | undefined, size: string | number): string {
  return `"${md5sum ? Buffer.from(md5sum, 'base64').toString('hex') : ''}-${size}"`;
}

function isStatus(err: unknown, status: number): boolean {
  return isCozyError(err) && err.status === status;
}

/**
 * The VFS errors a DAV client must see in DAV terms: a missing parent is 409 (RFC 4918 §9.7.1), the quota 507
 * with `quota-not-exceeded` (RFC 4331); the others keep the VFS's code and status.
 */
function davError(err: unknown): unknown {
  if (!isCozyError(err)) return err;
  switch (err.code) {
    case FilesErrors.parentNotFound.code:
    case FilesErrors.parentInTrash.code:
      return DavErrors.conflict();
    case FilesErrors.quotaExceeded.code:
    case FilesErrors.maxFileSize.code:
      return DavErrors.insufficientStorage(err.detail, { condition: '<D:quota-not-exceeded/>' });
    case FilesErrors.nameTaken.code:
      return DavErrors.conflict('An entry with this name was created meanwhile');
    default:
      return err;
  }
}

async function mapped<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw davError(err);
  }
}

/**
 * One caller's view of an instance's files through the VFS service (the FILES capability): the same tree,
 * quota, versions, trash and doc events as /files. Built per request.
 */
export class FilesDavBackend implements DavBackend {
  #usage?: Promise<{ used: number; quota: number | null }>;
  /** Lookups made during this request: the core stats a path and its parent several times per request. */
  readonly #stats = new StatMemo<FileResource | null>();

  constructor(
    private readonly files: FilesService,
    private readonly inst: InstanceRef,
    private readonly actor?: FilesActor,
  ) {}

  #resource(path: string, doc: FileDoc): FileResource {
    const res: FileResource = {
      path,
      collection: isDir(doc),
      etag: etagOf(doc),
      lastModified: new Date(doc.updated_at),
      created: new Date(doc.created_at),
      displayName: path === '/' ? '' : doc.name,
      doc,
    };
    if (!isDir(doc)) {
      res.contentLength = fileSize(doc);
      res.contentType = doc.mime || 'application/octet-stream';
    }
    return res;
  }

  #doc(res: DavResource): FileDoc {
    return (res as FileResource).doc;
  }

  stat(path: string): Promise<FileResource | null> {
    return this.#stats.get(path, (p) => this.#lookup(p));
  }

  async #lookup(path: string): Promise<FileResource | null> {
    if (isTrashPath(path)) return null;
    try {
      return this.#resource(path, await this.files.statByPath(this.inst, path));
    } catch (err) {
      if (isStatus(err, 404)) return null;
      throw err;
    }
  }

  /**
   * Runs a change, then forgets what this request looked up (before the change it is still true, so the change
   * itself may use it: a PUT checks its parent once).
   */
  async #mutate<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      this.#stats.clear();
      this.#usage = undefined;
    }
  }

  async #parentDir(path: string): Promise<FileDoc> {
    if (isTrashPath(path)) throw DavErrors.forbidden('The trash is not reachable over WebDAV');
    const parent = await this.stat(parentPath(path));
    if (!parent || !parent.collection) throw DavErrors.conflict();
    return parent.doc;
  }

  async members(collection: DavResource): Promise<FileResource[]> {
    const out: FileResource[] = [];
    for await (const doc of this.files.children(this.inst, this.#doc(collection)._id)) {
      const path = collection.path === '/' ? `/${doc.name}` : `${collection.path}/${doc.name}`;
      if (!isTrashPath(path)) out.push(this.#resource(path, doc));
    }
    return out;
  }

  async read(resource: DavResource, range?: ByteRangeSpec): Promise<Readable> {
    const content = await mapped(this.files.readFound(this.inst, this.#doc(resource), range ? { start: range.start, end: range.end } : undefined));
    return content.stream;
  }

  write(path: string, input: WriteInput): Promise<FileResource> {
    return this.#mutate(() => this.#write(path, input));
  }

  async #write(path: string, input: WriteInput): Promise<FileResource> {
    const onAbort = () => input.body.destroy(new Error('The client went away during the upload'));
    input.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const meta = {
        ...(input.contentLength !== undefined ? { size: input.contentLength } : {}),
        ...(input.contentType && !/^application\/octet-stream\b/i.test(input.contentType) ? { mime: input.contentType.split(';')[0].trim() } : {}),
      };
      const existing = input.existing ? this.#doc(input.existing) : null;
      const mtime = input.mtime;
      let doc: FileDoc;
      if (existing) {
        // The VFS refuses a modification time before the creation time; such a client mtime is dropped.
        const keep = mtime && mtime.toISOString() >= existing.created_at ? { updatedAt: mtime } : {};
        doc = await mapped(this.files.overwriteFile(this.inst, existing._id, { ...meta, ...keep }, input.body, { actor: this.actor }));
      } else {
        const parent = await this.#parentDir(path);
        const times = mtime ? { createdAt: mtime, updatedAt: mtime } : {};
        doc = await mapped(this.files.createFile(this.inst, { ...meta, ...times, dirId: parent._id, name: baseName(path) }, input.body, { actor: this.actor }));
      }
      return this.#resource(path, doc);
    } catch (err) {
      if (!input.body.destroyed) input.body.destroy();
      throw err;
    } finally {
      input.signal.removeEventListener('abort', onAbort);
    }
  }

  mkcol(path: string): Promise<FileResource> {
    return this.#mutate(() => this.#mkcol(path));
  }

  async #mkcol(path: string): Promise<FileResource> {
    const parent = await this.#parentDir(path);
    return this.#resource(path, await mapped(this.files.createDir(this.inst, { dirId: parent._id, name: baseName(path) }, { actor: this.actor })));
  }

  /**
   * DELETE moves the entry to the trash, as cozy's apps do; it can be restored from /files or the Drive app.
   * ifMatch: the revision seen at the request's path, so a DELETE racing a MOVE of the same entry never trashes
   * it at the place it was moved to (412 instead).
   */
  delete(resource: DavResource): Promise<void> {
    const doc = this.#doc(resource);
    return this.#mutate(() => mapped(this.files.trash(this.inst, doc._id, { ifMatch: doc._rev, actor: this.actor })).then(() => undefined));
  }

  copy(source: DavResource, destination: string, depth: '0' | 'infinity'): Promise<void> {
    return this.#mutate(() => this.#copy(source, destination, depth));
  }

  async #copy(source: DavResource, destination: string, depth: '0' | 'infinity'): Promise<void> {
    const parent = await this.#parentDir(destination);
    const doc = this.#doc(source);
    if (isDir(doc) && depth === '0') {
      const props = this.#deadProps(doc);
      await mapped(this.files.createDir(this.inst, {
        dirId: parent._id, name: baseName(destination), ...(props.length ? { metadata: { [DEAD_PROPS_KEY]: props } } : {}),
      }, { actor: this.actor }));
      return;
    }
    await mapped(this.files.copy(this.inst, doc._id, { dirId: parent._id, name: baseName(destination) }, { actor: this.actor }));
  }

  move(source: DavResource, destination: string): Promise<void> {
    return this.#mutate(() => this.#move(source, destination));
  }

  async #move(source: DavResource, destination: string): Promise<void> {
    const parent = await this.#parentDir(destination);
    const doc = this.#doc(source);
    // ifMatch: the entry is moved by id, so without it a second concurrent MOVE of the same path would move the
    // entry again from wherever the first one put it, and both answer 201 (412 instead).
    await mapped(this.files.update(this.inst, doc._id, { dirId: parent._id, name: baseName(destination) }, { ifMatch: doc._rev, actor: this.actor }));
  }

  #deadProps(doc: FileDoc): DeadProperty[] {
    const raw = (doc.metadata as Record<string, unknown> | undefined)?.[DEAD_PROPS_KEY];
    if (!Array.isArray(raw)) return [];
    return raw.filter((p): p is DeadProperty => !!p && typeof p === 'object' && typeof p.ns === 'string' && typeof p.name === 'string' && typeof p.xml === 'string');
  }

  async deadProperties(resource: DavResource): Promise<DeadProperty[]> {
    return this.#deadProps(this.#doc(resource));
  }

  patchDeadProperties(resource: DavResource, ops: PropPatchOp[]): Promise<void> {
    return this.#mutate(() => this.#patchDeadProperties(resource, ops));
  }

  async #patchDeadProperties(resource: DavResource, ops: PropPatchOp[]): Promise<void> {
    const doc = this.#doc(resource);
    if (resource.path === '/') throw DavErrors.forbidden('The root carries no dead properties');
    const next = applyPropPatch(this.#deadProps(doc), ops);
    // ifMatch: a concurrent PROPPATCH fails with 412 rather than one silently losing the other's properties.
    await mapped(this.files.update(this.inst, doc._id, { metadata: { [DEAD_PROPS_KEY]: next.length ? next : null } }, { ifMatch: doc._rev, actor: this.actor }));
  }

  liveProperties(): QName[] {
    return LIVE;
  }

  isProtected(name: QName): boolean {
    return LIVE_KEYS.has(`{${name.ns}}${name.name}`);
  }

  #diskUsage(): Promise<{ used: number; quota: number | null }> {
    this.#usage ??= this.files.diskUsage(this.inst);
    return this.#usage;
  }

  async liveProperty(resource: DavResource, name: QName): Promise<string | undefined> {
    const doc = this.#doc(resource);
    if (name.ns === OC_NS) return name.name === 'fileid' ? doc._id : resource.collection ? undefined : String(fileSize(doc));
    if (!resource.collection) return undefined;
    const usage = await this.#diskUsage();
    if (name.name === 'quota-used-bytes') return String(usage.used);
    // RFC 4331: no value when the space is unlimited.
    return usage.quota === null ? undefined : String(Math.max(0, usage.quota - usage.used));
  }
}
