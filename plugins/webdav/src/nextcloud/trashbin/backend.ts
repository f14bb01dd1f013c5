import type { Readable } from 'node:stream';
import {
  TRASH_DIR_ID, TRASH_DIR_NAME, fileSize, isCozyError, isDir, type FileDoc, type FilesActor, type FilesService, type InstanceRef,
} from '@cozy-ts/kernel';
import { clark, DavErrors, type ByteRangeSpec, type DavBackend, type DavResource, type DeadProperty, type QName } from '@cozy-ts/dav';
import { OC_NS, etagOf } from '../../files-backend.ts';
import { StatMemo } from '../../stat-memo.ts';
import { NC_NS } from '../backend.ts';
import { davFileId, numericFileId } from '../file-ids.ts';
import { candidateNames, deletionTime, memberName, originalLocation, originalName } from './names.ts';

/** A resource of the trash bin: its home, `trash`, `restore`, or a trashed entry (top level or inside a trashed folder). */
export type TrashResource = DavResource & (
  | { kind: 'home' }
  | { kind: 'trash' }
  | { kind: 'restore' }
  | { kind: 'item'; doc: FileDoc; filename: string; location: string; deleted: number }
);

const oc = (name: string): QName => ({ ns: OC_NS, name });
const nc = (name: string): QName => ({ ns: NC_NS, name });

const ITEM_PROPS = [
  nc('trashbin-filename'), nc('trashbin-original-location'), nc('trashbin-deletion-time'), nc('trashbin-title'),
  oc('id'), oc('fileid'), oc('size'), oc('permissions'), nc('has-preview'),
];
const ITEM_KEYS = new Set(ITEM_PROPS.map(clark));

const TRASH_PATH = `/${TRASH_DIR_NAME}`;

function collection(path: string, kind: 'home' | 'trash' | 'restore'): TrashResource {
  return { path, collection: true, kind };
}

function isMissing(err: unknown): boolean {
  // A name the VFS refuses (422) or a path it cannot take (400) names nothing in the trash.
  return isCozyError(err) && (err.status === 404 || err.status === 422 || err.status === 400);
}

/**
 * Nextcloud's trash bin of one user (apps/files_trashbin's Sabre tree) over our trash: `/` holds `trash` and
 * `restore`; `/trash` lists the entries of the trash directory as `<name>.d<deletion time>`; below a trashed
 * folder its entries keep their names. The DAV methods see it read only; restore, destroy and empty are called
 * by the MOVE and DELETE handlers (`routes.ts`) and go to the files service. Built per request.
 */
export class TrashBackend implements DavBackend {
  readonly #stats = new StatMemo<TrashResource | null>();

  constructor(
    private readonly files: FilesService,
    private readonly inst: InstanceRef,
    private readonly actor?: FilesActor,
  ) {}

  /** Our restore: back to its restore path, missing parents made again, a suffix when the name is taken. */
  async restore(res: TrashResource & { kind: 'item' }): Promise<void> {
    await this.files.restore(this.inst, res.doc._id, this.actor ? { actor: this.actor } : {});
    this.#stats.clear();
  }

  /** Removes an entry for good, with its content and versions (a folder with everything below it). */
  async destroy(res: TrashResource & { kind: 'item' }): Promise<void> {
    await this.files.destroy(this.inst, res.doc._id);
    this.#stats.clear();
  }

  async empty(): Promise<void> {
    await this.files.emptyTrash(this.inst);
    this.#stats.clear();
  }

  #item(path: string, doc: FileDoc, filename: string, location: string, deleted: number): TrashResource {
    const res: TrashResource = {
      path, collection: isDir(doc), kind: 'item', doc, filename, location, deleted,
      etag: etagOf(doc), lastModified: new Date(doc.updated_at), created: new Date(doc.created_at), displayName: filename,
    };
    if (!isDir(doc)) {
      res.contentLength = fileSize(doc);
      res.contentType = doc.mime || 'application/octet-stream';
    }
    return res;
  }

  #top(path: string, doc: FileDoc): TrashResource {
    const filename = originalName(doc.name);
    return this.#item(path, doc, filename, originalLocation(doc.restore_path, filename), deletionTime(doc));
  }

  #inner(parent: TrashResource & { kind: 'item' }, doc: FileDoc): TrashResource {
    return this.#item(`${parent.path}/${doc.name}`, doc, doc.name, `${parent.location}/${doc.name}`, parent.deleted);
  }

  stat(path: string): Promise<TrashResource | null> {
    return this.#stats.get(path, (p) => this.#lookup(p));
  }

  async #lookup(path: string): Promise<TrashResource | null> {
    if (path === '/') return collection('/', 'home');
    if (path === '/restore') return collection(path, 'restore');
    if (path === '/trash') return collection(path, 'trash');
    const [first, member, ...rest] = path.slice(1).split('/');
    if (first !== 'trash' || member === undefined) return null;
    const top = await this.#member(member);
    if (!top || top.kind !== 'item') return null;
    let res: TrashResource = top;
    // Each step below a trashed folder is one lookup by name in its parent, the way the trash is shown.
    for (const name of rest) {
      if (res.kind !== 'item' || !isDir(res.doc)) return null;
      const doc = await this.#child(res.doc.path, name);
      if (!doc) return null;
      res = this.#inner(res, doc);
    }
    return res;
  }

  async #child(dirPath: string, name: string): Promise<FileDoc | null> {
    try {
      return await this.files.statByPath(this.inst, `${dirPath}/${name}`);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async #member(member: string): Promise<TrashResource | null> {
    for (const name of candidateNames(member)) {
      const doc = await this.#child(TRASH_PATH, name);
      if (doc && doc.dir_id === TRASH_DIR_ID && memberName(doc) === member) return this.#top(`/trash/${member}`, doc);
    }
    return null;
  }

  async members(res: DavResource): Promise<TrashResource[]> {
    const r = res as TrashResource;
    if (r.kind === 'home') return [collection('/restore', 'restore'), collection('/trash', 'trash')];
    if (r.kind === 'restore') return [];
    const out: TrashResource[] = [];
    if (r.kind === 'trash') {
      for await (const doc of this.files.children(this.inst, TRASH_DIR_ID)) out.push(this.#top(`/trash/${memberName(doc)}`, doc));
      return out;
    }
    if (!isDir(r.doc)) return [];
    for await (const doc of this.files.children(this.inst, r.doc._id)) out.push(this.#inner(r, doc));
    return out;
  }

  async read(res: DavResource, range?: ByteRangeSpec): Promise<Readable> {
    const r = res as TrashResource;
    if (r.kind !== 'item') throw DavErrors.notFound();
    return (await this.files.read(this.inst, r.doc._id, range ? { start: range.start, end: range.end } : undefined)).stream;
  }

  async write(): Promise<DavResource> {
    throw DavErrors.forbidden('Nothing can be written into the trash bin');
  }

  async mkcol(): Promise<DavResource> {
    throw DavErrors.forbidden('Nothing can be created in the trash bin');
  }

  async delete(): Promise<void> {
    throw DavErrors.forbidden();
  }

  async copy(): Promise<void> {
    throw DavErrors.forbidden('Trashed entries cannot be copied');
  }

  async move(): Promise<void> {
    throw DavErrors.forbidden('Trashed entries only move to the restore folder');
  }

  async deadProperties(): Promise<DeadProperty[]> {
    return [];
  }

  async patchDeadProperties(): Promise<void> {
    throw DavErrors.forbidden('Trashed entries carry no properties');
  }

  liveProperties(res: DavResource): QName[] {
    return (res as TrashResource).kind === 'item' ? ITEM_PROPS : [];
  }

  isProtected(name: QName): boolean {
    return ITEM_KEYS.has(clark(name));
  }

  async liveProperty(res: DavResource, name: QName): Promise<string | undefined> {
    const r = res as TrashResource;
    if (r.kind !== 'item') return undefined;
    switch (`${name.ns === NC_NS ? 'nc' : 'oc'}:${name.name}`) {
      case 'nc:trashbin-filename':
      case 'nc:trashbin-title':
        return r.filename;
      case 'nc:trashbin-original-location':
        return r.location;
      case 'nc:trashbin-deletion-time':
        return String(r.deleted);
      // The ids the entry had before the trash (the Android app parses `oc:fileid` here too).
      case 'oc:id':
        return davFileId(r.doc._id, this.inst);
      case 'oc:fileid':
        return String(numericFileId(r.doc._id));
      case 'oc:size':
        return String(await this.#size(r.doc));
      // Nextcloud's fixed answer for every trashed entry: it may be read and deleted.
      case 'oc:permissions':
        return 'GD';
      // No previews are served over the Nextcloud API.
      case 'nc:has-preview':
        return 'false';
      default:
        return undefined;
    }
  }

  /** A file's size, or the sum of the files below a folder (clients show it for trashed folders). */
  async #size(doc: FileDoc): Promise<number> {
    if (!isDir(doc)) return fileSize(doc);
    let n = 0;
    for await (const e of this.files.walk(this.inst, doc._id)) n += fileSize(e.doc);
    return n;
  }
}
