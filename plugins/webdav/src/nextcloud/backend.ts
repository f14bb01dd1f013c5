import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FileDoc, InstanceRef } from '@cozy-ts/kernel';
import {
  clark, DavErrors, el, type ByteRangeSpec, type DavBackend, type DavResource, type DeadProperty, type PropPatchOp, type QName, type WriteInput, type Xml,
} from '@cozy-ts/dav';
import { OC_NS, md5Hex, type FileResource } from '../files-backend.ts';
import { verifiedBody } from './checksum.ts';
import { davFileId, numericFileId } from './file-ids.ts';
import { parseChunkPath, putChunk } from './chunked-upload.ts';
import { isStagingPath, type Staging } from './staging.ts';
import { permissionLetters, type TreeRights } from './permissions.ts';

export const NC_NS = 'http://nextcloud.org/ns';

const oc = (name: string): QName => ({ ns: OC_NS, name });
const nc = (name: string): QName => ({ ns: NC_NS, name });

const ID = oc('id');
const FILEID = oc('fileid');
const PERMISSIONS = oc('permissions');
const SIZE = oc('size');
const CHECKSUMS = oc('checksums');
const SHARE_TYPES = oc('share-types');
const DATA_FINGERPRINT = oc('data-fingerprint');
const OWNER_ID = oc('owner-id');
const OWNER_NAME = oc('owner-display-name');
const IS_ENCRYPTED = nc('is-encrypted');

const EVERY_ENTRY = [ID, FILEID, PERMISSIONS, SHARE_TYPES, OWNER_ID, OWNER_NAME];
const FILE_ONLY = [SIZE, CHECKSUMS];
const DIR_ONLY = [IS_ENCRYPTED];
const OURS = new Set([...EVERY_ENTRY, ...FILE_ONLY, ...DIR_ONLY, DATA_FINGERPRINT].map(clark));

/** What the Nextcloud view of the tree needs from the request it serves. */
export interface NextcloudView {
  /** Whose tree: its file ids are shown in Nextcloud's numeric form, `oc:id` carries its instance id. */
  inst: InstanceRef;
  rights: TreeRights;
  owner: { id: string; displayName: string };
  /**
   * Changes whenever anything in the instance's tree changes (the files database's changes-feed position): folded
   * into every directory's ETag, see `treeEtag`.
   */
  treeVersion(): Promise<string>;
  /** Called with the document a PUT or MKCOL produced, and with the file a GET reads (for response headers). */
  onWritten(doc: FileDoc): void;
  onRead(doc: FileDoc): void;
  /** The request's `OC-Checksum`: a PUT's body (or the parts, for the PUT completing an `OC-Chunked` upload) must match it. */
  checksum?: string;
  /** Set for a chunked PUT (`OC-Chunked`): where parts are staged, the announced total, the target's conditions. */
  chunked?: { staging: Staging; totalLength?: number; checkTarget(target: DavResource | null): void };
}

/**
 * Nextcloud clients only list a directory again when its ETag changed since their last sync, so a directory's
 * ETag must change when anything below it does, as Nextcloud's do. Our directories' own revision changes only
 * with the directory itself; folding in the version of the whole tree makes every directory's ETag change on any
 * change: a client then lists more folders than needed after a change, but never misses one.
 */
export function treeEtag(dirRev: string, treeVersion: string): string {
  return `"${createHash('sha1').update(`${dirRev}\n${treeVersion}`).digest('hex').slice(0, 24)}"`;
}

/**
 * The files tree as Nextcloud clients see it: the files backend, plus the `oc:` (owncloud.org) and `nc:`
 * (nextcloud.org) properties their sync engine asks for, with values from the file documents and the caller's
 * rights, and directory ETags that change when their content does. Built per request.
 */
export class NextcloudBackend implements DavBackend {
  #version?: Promise<string>;

  constructor(
    private readonly inner: DavBackend,
    private readonly view: NextcloudView,
  ) {}

  get compliance(): string[] | undefined {
    return this.inner.compliance;
  }

  #treeVersion(): Promise<string> {
    this.#version ??= this.view.treeVersion();
    return this.#version;
  }

  async #dress<R extends DavResource | null>(res: R): Promise<R> {
    if (!res || !res.collection) return res;
    const doc = (res as unknown as FileResource).doc;
    return { ...res, etag: treeEtag(doc._rev ?? '', await this.#treeVersion()) };
  }

  async stat(path: string): Promise<DavResource | null> {
    if (isStagingPath(path)) return null;
    return this.#dress(await this.inner.stat(path));
  }

  async members(collection: DavResource): Promise<DavResource[]> {
    const list = await this.inner.members(collection);
    return Promise.all(list.filter((m) => !isStagingPath(m.path)).map((m) => this.#dress(m)));
  }

  read(resource: DavResource, range?: ByteRangeSpec): Promise<Readable> {
    this.view.onRead((resource as FileResource).doc);
    return this.inner.read(resource, range);
  }

  async write(path: string, input: WriteInput): Promise<DavResource> {
    if (this.view.chunked) return this.#writePart(path, input, this.view.chunked);
    const written = await this.inner.write(path, { ...input, body: verifiedBody(input.body, this.view.checksum) });
    this.view.onWritten((written as FileResource).doc);
    return written;
  }

  /** One part of a chunked upload; the answer has no ETag until the part that completes the file. */
  async #writePart(path: string, input: WriteInput, chunked: NonNullable<NextcloudView['chunked']>): Promise<DavResource> {
    const ref = parseChunkPath(path);
    if (isStagingPath(ref.target)) throw DavErrors.forbidden('This name is reserved');
    const done = await putChunk(chunked.staging, ref, input, chunked.totalLength, async (body, size) => {
      const existing = await this.inner.stat(ref.target);
      if (existing?.collection) throw DavErrors.conflict('A collection has this name');
      chunked.checkTarget(existing);
      return this.inner.write(ref.target, { ...input, body: verifiedBody(body, this.view.checksum), contentLength: size, existing });
    });
    if (!done) return { path, collection: false };
    this.view.onWritten((done as FileResource).doc);
    return done;
  }

  async mkcol(path: string): Promise<DavResource> {
    const made = await this.inner.mkcol(path);
    this.view.onWritten((made as FileResource).doc);
    // Tree version changed with the new directory: this request's directories must not keep the old one.
    this.#version = undefined;
    return this.#dress(made);
  }

  delete(resource: DavResource): Promise<void> {
    return this.inner.delete(resource);
  }

  copy(source: DavResource, destination: string, depth: '0' | 'infinity'): Promise<void> {
    return this.inner.copy(source, destination, depth);
  }

  move(source: DavResource, destination: string): Promise<void> {
    return this.inner.move(source, destination);
  }

  deadProperties(resource: DavResource): Promise<DeadProperty[]> {
    return this.inner.deadProperties(resource);
  }

  patchDeadProperties(resource: DavResource, ops: PropPatchOp[]): Promise<void> {
    return this.inner.patchDeadProperties(resource, ops);
  }

  liveProperties(resource: DavResource): QName[] {
    const inner = (this.inner.liveProperties?.(resource) ?? []).filter((q) => !OURS.has(clark(q)));
    const ours = [...EVERY_ENTRY, ...(resource.collection ? DIR_ONLY : FILE_ONLY), ...(resource.path === '/' ? [DATA_FINGERPRINT] : [])];
    return [...inner, ...ours];
  }

  isProtected(name: QName): boolean {
    return OURS.has(clark(name)) || (this.inner.isProtected?.(name) ?? false);
  }

  async liveProperty(resource: DavResource, name: QName): Promise<Xml | string | undefined> {
    if (!OURS.has(clark(name))) return this.inner.liveProperty?.(resource, name);
    const doc = (resource as FileResource).doc;
    switch (name.ns === OC_NS ? name.name : `nc:${name.name}`) {
      // Nextcloud's shapes (clients parse them, see file-ids.ts): a number, and the padded number + instance id.
      case 'id':
        return davFileId(doc._id, this.view.inst);
      case 'fileid':
        return String(numericFileId(doc._id));
      case 'permissions':
        return permissionLetters(this.view.rights, { collection: resource.collection, root: resource.path === '/' });
      case 'size':
        return resource.contentLength === undefined ? undefined : String(resource.contentLength);
      case 'checksums': {
        const md5 = md5Hex(doc);
        return md5 ? el(oc('checksum'), `MD5:${md5}`) : undefined;
      }
      // Nothing is shared through this server's Nextcloud API: the empty list, as Nextcloud answers for an unshared entry.
      case 'share-types':
        return '';
      // Changes only when a server is restored from a backup (clients then keep their local data): never here.
      case 'data-fingerprint':
        return '';
      case 'owner-id':
        return this.view.owner.id;
      case 'owner-display-name':
        return this.view.owner.displayName;
      // End-to-end encrypted folders are not supported.
      case 'nc:is-encrypted':
        return '0';
      default:
        return undefined;
    }
  }
}
