import type { Readable } from 'node:stream';
import {
  isCozyError, isFile, type DocumentStore, type FileVersionDoc, type FilesActor, type FilesService, type InstanceRef, type RegularFileDoc,
} from '@cozy-ts/kernel';
import { DavErrors, type ByteRangeSpec, type DavBackend, type DavResource, type DeadProperty } from '@cozy-ts/dav';
import { contentEtag, etagOf } from '../../files-backend.ts';
import { StatMemo } from '../../stat-memo.ts';
import { resolveClientFileId } from '../file-ids.ts';

/** A resource of the versions home: itself, `versions`, `restore`, a file's versions, or one version. */
export type VersionsResource = DavResource & (
  | { kind: 'home' }
  | { kind: 'versions' }
  | { kind: 'restore' }
  | { kind: 'file'; file: RegularFileDoc }
  | { kind: 'version'; file: RegularFileDoc; version: FileVersionDoc; name: string }
);

function collection(path: string, kind: 'home' | 'versions' | 'restore'): VersionsResource {
  return { path, collection: true, kind };
}

/**
 * The names of a file's versions, oldest first: Nextcloud names a version by its timestamp (Unix seconds of its
 * modification time), and the Android app rebuilds the name from `getlastmodified`, so that is the name. Two
 * versions of the same second (only possible when a client set the modification times) would clash: the later
 * ones get `-2`, `-3`...
 */
export function versionNames(versions: FileVersionDoc[]): Map<string, FileVersionDoc> {
  const out = new Map<string, FileVersionDoc>();
  for (const v of versions) {
    const base = String(Math.floor(Date.parse(v.updated_at) / 1000));
    let name = base;
    for (let i = 2; out.has(name); i++) name = `${base}-${i}`;
    out.set(name, v);
  }
  return out;
}

/**
 * Nextcloud's versions of one user (apps/files_versions's Sabre tree) over our versions: `/versions/<file id>/`
 * (the numeric `oc:fileid`, see file-ids.ts)
 * lists a file's old contents, each a file named by its timestamp; `/restore` is where a version is MOVEd to
 * become current. The DAV methods see it read only; revert and delete are called by the MOVE and DELETE handlers
 * (`routes.ts`) and go to the files service. Built per request.
 */
export class VersionsBackend implements DavBackend {
  /** This request's lookups: the DAV core stats a path several times, and each costs an id lookup and a read. */
  readonly #stats = new StatMemo<VersionsResource | null>();
  readonly #versions = new StatMemo<Map<string, FileVersionDoc>>();

  constructor(
    private readonly files: FilesService,
    private readonly store: DocumentStore,
    private readonly inst: InstanceRef,
    private readonly actor?: FilesActor,
  ) {}

  /** Our revert: the version becomes the file's content, the replaced content is kept as a version. */
  async revert(res: VersionsResource & { kind: 'version' }): Promise<void> {
    await this.files.revertVersion(this.inst, res.version._id, this.actor ? { actor: this.actor } : {});
    this.#forget();
  }

  async deleteVersion(res: VersionsResource & { kind: 'version' }): Promise<void> {
    await this.files.deleteVersion(this.inst, res.version._id);
    this.#forget();
  }

  #forget(): void {
    this.#stats.clear();
    this.#versions.clear();
  }

  /**
   * A file of the tree (not a folder, not in the trash), by the id a client sent (Nextcloud's number, `oc:id`'s
   * form, or our document id); null otherwise, 409 for a number more than one file has.
   */
  async #file(clientId: string): Promise<RegularFileDoc | null> {
    const id = await resolveClientFileId(this.store, this.inst, clientId);
    try {
      const doc = await this.files.stat(this.inst, id);
      return isFile(doc) && !doc.trashed ? doc : null;
    } catch (err) {
      if (isCozyError(err) && (err.status === 404 || err.status === 400 || err.status === 422)) return null;
      throw err;
    }
  }

  #named(file: RegularFileDoc): Promise<Map<string, FileVersionDoc>> {
    return this.#versions.get(file._id, (id) => this.files.listVersions(this.inst, id).then(versionNames));
  }

  #fileResource(path: string, file: RegularFileDoc): VersionsResource {
    return { path, collection: true, kind: 'file', file, etag: etagOf(file), lastModified: new Date(file.updated_at), displayName: file.name };
  }

  #versionResource(path: string, file: RegularFileDoc, version: FileVersionDoc, name: string): VersionsResource {
    return {
      path, collection: false, kind: 'version', file, version, name,
      etag: contentEtag(version.md5sum, version.size),
      lastModified: new Date(version.updated_at),
      contentLength: Number(version.size),
      contentType: file.mime || 'application/octet-stream',
    };
  }

  stat(path: string): Promise<VersionsResource | null> {
    return this.#stats.get(path, (p) => this.#lookup(p));
  }

  async #lookup(path: string): Promise<VersionsResource | null> {
    if (path === '/') return collection('/', 'home');
    if (path === '/versions') return collection(path, 'versions');
    if (path === '/restore') return collection(path, 'restore');
    const [first, id, name, ...rest] = path.slice(1).split('/');
    if (first !== 'versions' || id === undefined || rest.length) return null;
    const file = await this.#file(id);
    if (!file) return null;
    if (name === undefined) return this.#fileResource(path, file);
    const version = (await this.#named(file)).get(name);
    return version ? this.#versionResource(path, file, version, name) : null;
  }

  async members(res: DavResource): Promise<VersionsResource[]> {
    const r = res as VersionsResource;
    if (r.kind === 'home') return [collection('/versions', 'versions'), collection('/restore', 'restore')];
    // Nextcloud lists no files under `versions/` (they are reached by id), and nothing is ever in `restore/`.
    if (r.kind !== 'file') return [];
    return [...(await this.#named(r.file))].map(([name, v]) => this.#versionResource(`${r.path}/${name}`, r.file, v, name));
  }

  async read(res: DavResource, range?: ByteRangeSpec): Promise<Readable> {
    const r = res as VersionsResource;
    if (r.kind !== 'version') throw DavErrors.notFound();
    return (await this.files.readVersion(this.inst, r.version._id, range ? { start: range.start, end: range.end } : undefined)).stream;
  }

  async write(): Promise<DavResource> {
    throw DavErrors.forbidden('Versions are made by writing the file');
  }

  async mkcol(): Promise<DavResource> {
    throw DavErrors.forbidden();
  }

  async delete(): Promise<void> {
    throw DavErrors.forbidden();
  }

  async copy(): Promise<void> {
    throw DavErrors.forbidden('Versions cannot be copied');
  }

  async move(): Promise<void> {
    throw DavErrors.forbidden('Versions only move to the restore folder');
  }

  async deadProperties(): Promise<DeadProperty[]> {
    return [];
  }

  async patchDeadProperties(): Promise<void> {
    throw DavErrors.forbidden('Versions carry no properties here');
  }
}

